"""Documents made ahead: while a person reads a dashboard action's confirmation page.

The confirmation page already knows exactly what the action will do (the engine's
transition, from the challenge as the page drew it). Its documents are then made in the
background, by the same writers the pipeline calls, while the person reads the page and
decides. When they confirm, the pipeline asks for each document as it always does; a
document made ahead from exactly the same inputs (the record after the event, its
procedure, its assessment, the day) is handed over instead of being made again, so the
person waits for the register and the files, not for a PDF's layout (about 0.4 s of
CPU for a challenge form). Anything else (a changed record, another day, an action
never confirmed, a making that failed) is simply made again by the real writer: the
documents are the same either way, because the same function made them from the same
inputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from formflow.config import Settings
from formflow.core.engine import Assessment, Document
from formflow.core.policy import Policy
from formflow.core.record import Challenge
from formflow.outbox import files
from formflow.pipeline.services import DocumentWriter

log = logging.getLogger(__name__)

KEPT = 16
"""Documents made ahead and not yet taken, at most (a form's pair is about 250 KB)."""
KEPT_SECONDS = 15 * 60
"""How long a confirmation page may stay open before its documents are let go."""
WAITING = 2
"""Makings queued behind the one under way, at most: past that a confirmation page makes
nothing ahead, so a burst of pages never queues work nobody waits for."""

Made = tuple[tuple[str, bytes], ...]
"""A writer's files, by name, as bytes."""


@dataclass(frozen=True)
class _Key:
    kind: Document
    policy: Policy
    inputs: str
    """A digest of the record, its assessment and the day."""


def _key(
    kind: Document, challenge: Challenge, policy: Policy, today: dt.date, assessment: Assessment
) -> _Key:
    record = json.dumps(challenge.to_dict(), sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(f"{record}\n{assessment!r}\n{today.isoformat()}".encode())
    return _Key(kind, policy, digest.hexdigest())


class DocumentsAhead:
    """The documents of confirmation pages now open, made or being made in one thread.

    One per dashboard, for its settings: a document is handed over only to a writer
    called with the same ``settings`` object, so nothing made under other settings is
    ever used."""

    def __init__(
        self,
        settings: Settings,
        scratch: Path,
        writers: Callable[[Document], DocumentWriter],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._scratch = scratch
        self._writers = writers
        self._clock = clock
        self._made: OrderedDict[_Key, tuple[float, Future[Made]]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="formflow-ahead")
        # A server killed while making leaves its scratch behind: documents about children.
        shutil.rmtree(scratch, ignore_errors=True)

    def prepare(
        self,
        challenge: Challenge,
        policy: Policy,
        today: dt.date,
        assessment: Assessment,
        kinds: Iterable[Document],
    ) -> None:
        """Start making ``kinds`` for ``challenge`` (the record as the action would leave
        it); returns at once."""
        for kind in kinds:
            if kind is Document.IRO_NOTE:  # a covering email only: nothing to make
                continue
            key = _key(kind, challenge, policy, today, assessment)
            with self._lock:
                self._let_go_of_old()
                if key in self._made or self._queued() >= WAITING:
                    continue
                writer = self._writers(kind)
                made = self._pool.submit(self._make, writer, challenge, policy, today, assessment)
                self._made[key] = (self._clock(), made)
                while len(self._made) > KEPT:
                    _, (_, dropped) = self._made.popitem(last=False)
                    dropped.cancel()

    def writers(self) -> Mapping[Document, DocumentWriter]:
        """The pipeline's writers, each handing over a document made ahead when there is
        one for exactly its inputs."""
        return _Writers(self)

    def writer(self, kind: Document) -> DocumentWriter:
        """``kind``'s real writer, handing over instead what was made ahead for exactly the
        inputs it is called with."""
        real = self._writers(kind)

        def write(
            challenge: Challenge,
            policy: Policy,
            settings: Settings,
            outdir: Path,
            *,
            today: dt.date,
            assessment: Assessment,
        ) -> list[Path]:
            made = self.take(kind, challenge, policy, settings, today, assessment)
            if made is None:
                return real(challenge, policy, settings, outdir, today=today, assessment=assessment)
            for name, data in made:
                (outdir / name).write_bytes(data)
            return [outdir / name for name, _ in made]

        return write

    def close(self) -> None:
        """Stop making: what is queued is dropped, what is under way is finished."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._made.clear()

    def take(
        self,
        kind: Document,
        challenge: Challenge,
        policy: Policy,
        settings: Settings,
        today: dt.date,
        assessment: Assessment,
    ) -> Made | None:
        """The files made ahead for exactly these inputs (waiting for them if they are
        being made), or None; each is handed over once. One still queued behind other
        pages' is dropped: the caller makes it at once instead of waiting for theirs."""
        if settings is not self.settings:
            return None
        key = _key(kind, challenge, policy, today, assessment)
        with self._lock:
            entry = self._made.pop(key, None)
        if entry is None or entry[1].cancel():  # still queued: made now, not after others
            return None
        try:
            return entry[1].result()
        except Exception:  # made again by the real writer, which says what is wrong
            log.warning("a %s made ahead failed; making it now", kind.value, exc_info=True)
            return None

    def _make(
        self,
        writer: DocumentWriter,
        challenge: Challenge,
        policy: Policy,
        today: dt.date,
        assessment: Assessment,
    ) -> Made:
        scratch = files.private_dir(self._scratch / secrets.token_hex(8))
        try:
            paths = writer(
                challenge, policy, self.settings, scratch, today=today, assessment=assessment
            )
            return tuple((path.name, path.read_bytes()) for path in paths)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _queued(self) -> int:
        return sum(1 for _, made in self._made.values() if not made.running() and not made.done())

    def _let_go_of_old(self) -> None:
        oldest = self._clock() - KEPT_SECONDS
        for key in [key for key, (started, _) in self._made.items() if started < oldest]:
            self._made.pop(key)[1].cancel()


class _Writers(Mapping[Document, DocumentWriter]):
    """The pipeline's writers (``Services.writers``) through ``DocumentsAhead.writer``."""

    def __init__(self, ahead: DocumentsAhead) -> None:
        self._ahead = ahead

    def __getitem__(self, kind: Document) -> DocumentWriter:
        return self._ahead.writer(kind)

    def __iter__(self) -> Iterator[Document]:
        return iter(Document)

    def __len__(self) -> int:
        return len(Document)
