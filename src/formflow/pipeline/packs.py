"""``formflow pack`` for a challenge in the register: the CAFCASS pack is part of its
record. The pack is built outside the register's write lock (a bundle of a year's review
records takes minutes, and the watcher waits at most two for the lock), then staged,
recorded as a "pack" event with its documents and published into outbox/REFERENCE/ as
an event's documents are: under free names, so an earlier pack is never overwritten."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from formflow.core.engine import Document
from formflow.pipeline.events import RecordedEvents
from formflow.pipeline.outputs import Staged
from formflow.pipeline.services import DocumentWriter

log = logging.getLogger(__name__)

PACKED = "The CAFCASS pack was built from the IRO's folder of documents."


@dataclass(frozen=True)
class Packed:
    reference: str
    outputs: tuple[str, ...]
    """Paths under outbox/ of the pack's documents, as published."""


class CafcassPacks(RecordedEvents):
    """CAFCASS packs built for challenges in the register."""

    def pack(self, reference: str, write: DocumentWriter, *, by: str) -> Packed:
        """Build the pack with ``write`` (the CAFCASS writer, given the IRO's folder),
        then record and publish it; ``by`` is who built it."""
        challenge = self._registered(reference)
        today = self.services.now().date()
        policy = self.services.policies(challenge.policy)
        assessment = self._assess(challenge, today)
        # var/ is the service's own disk: a half-built pack is never seen on the share,
        # and recovery (which clears outbox/.staging/) never takes it for a dead job's.
        with tempfile.TemporaryDirectory(dir=self.home.var, prefix=".pack-") as scratch:
            written = write(
                challenge,
                policy,
                self.services.settings,
                Path(scratch),
                today=today,
                assessment=assessment,
            )
            staged: list[Staged] = []
            with self._staging("pack") as job_dir:
                self._stage_files(job_dir, reference, Document.CAFCASS_PACK, written, staged)
                at = self.services.now()
                event = self.register.add_event(reference, "pack", at, message=PACKED, actor=by)
                for item in staged:
                    self.register.add_document(
                        reference, Document.CAFCASS_PACK.value, item.path, at, event
                    )
        log.info("%s: CAFCASS pack recorded (by %s)", reference, by)
        return Packed(reference, tuple(s.path for s in staged))
