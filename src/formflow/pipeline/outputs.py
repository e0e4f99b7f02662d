"""What a form's job, the deadline sweep and an event recorded for someone share: writing
a transition's documents and covering emails into a staging folder under names free in
the outbox, recording the new state in the register, and publishing after the commit."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from formflow.core.engine import (
    Assessment,
    Document,
    Status,
    Transition,
    assess,
    current_due,
    status_of,
)
from formflow.core.record import Challenge
from formflow.outbox import files, folders
from formflow.pipeline import notices
from formflow.pipeline.claims import ClaimLost
from formflow.pipeline.services import Services
from formflow.store.register import Register

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Staged:
    """One file staged for the outbox, with what the register records for it."""

    reference: str
    path: str
    """Under outbox/: ``REFERENCE/NAME``."""
    kind: Document | None = None
    """The document kind; None for a covering email."""
    subject: str = ""
    recipients: str = ""
    step: int = 0
    """Which of the job's transitions wrote it (its event in the register)."""
    supersedes: str = ""
    """Where the earlier copy it replaces goes: ``REFERENCE/superseded/NAME``, or ""."""

    @property
    def new_path(self) -> str:
        """The path under outbox/ that this file adds to the register."""
        return self.supersedes or self.path


REPLACED_BY_A_NEWER_COPY = frozenset(
    {Document.NEXT_STAGE_FORM, Document.FINAL_RECORD, Document.CLOSURE_NOTE}
)
"""Documents read as they stand (a due date, the agreed plan): a newer copy takes the plain
name and the earlier one moves to ``superseded/``, so nobody answers an out-of-date form.
Each CAFCASS packing stays beside the last (``... (2).pdf``), as the README says."""


@dataclass(frozen=True)
class Written:
    transition: Transition
    kind: Document
    paths: tuple[Path, ...]
    step: int = 0


class Outputs:
    """The register and home a pipeline works on, and the outputs it stages and records."""

    def __init__(self, register: Register, services: Services) -> None:
        self.register = register
        self.services = services
        self.home = services.home

    def _publish(self, job_dir: Path) -> None:
        published, discarded = folders.publish(
            job_dir, self.home.outbox, self.register.has_output, self.home.file_mode
        )
        for path in discarded:
            log.info("discarded %s: never committed", path.name)
        for path in published:
            log.debug("published %s", path.name)

    def _taken(self, staged: Sequence[Staged], reference: str) -> set[str]:
        return {s.path.split("/", 1)[1] for s in staged if s.reference == reference}

    def _assess(self, challenge: Challenge, today: dt.date) -> Assessment:
        """A record's assessment: made once, for its documents and for the register."""
        policy = self.services.policies(challenge.policy)
        return assess(challenge, policy, self.services.settings.calendar, today)

    def _write(
        self,
        job_dir: Path,
        transition: Transition,
        assessment: Assessment,
        staged: list[Staged],
        step: int = 0,
    ) -> list[Written]:
        """Render a transition's documents into ``job_dir/REFERENCE/`` under names free in
        the outbox, so publishing never overwrites an earlier document. ``assessment`` is
        the transition's record's (``_assess``)."""
        challenge = transition.challenge
        reference = challenge.reference
        assert reference is not None
        policy = self.services.policies(challenge.policy)
        today = self.services.now().date()
        out: list[Written] = []
        for kind in transition.documents:
            if kind is Document.IRO_NOTE:  # a covering email with nothing attached
                out.append(Written(transition, kind, (), step))
                continue
            scratch = files.private_dir(job_dir / f".scratch-{secrets.token_hex(4)}")
            try:
                written = self.services.writer(kind)(
                    challenge,
                    policy,
                    self.services.settings,
                    scratch,
                    today=today,
                    assessment=assessment,
                )
                moved = self._stage_files(job_dir, reference, kind, written, staged, step)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            out.append(Written(transition, kind, moved, step))
        return out

    def _stage_files(
        self,
        job_dir: Path,
        reference: str,
        kind: Document,
        written: Sequence[Path],
        staged: list[Staged],
        step: int = 0,
    ) -> tuple[Path, ...]:
        """Move ``written`` into ``job_dir/REFERENCE/`` under names free in the outbox
        (``x (2).pdf`` beside an earlier ``x.pdf``), each staged as a ``kind`` document;
        a newer copy of a document ``REPLACED_BY_A_NEWER_COPY`` takes the earlier one's
        name instead, the earlier one staged for ``superseded/``."""
        target = files.private_dir(job_dir / reference)
        outbox = self.home.outbox_for(reference)
        moved: list[Path] = []
        for path in written:
            taken = self._taken(staged, reference)
            earlier = outbox / path.name
            supersedes = ""
            if kind in REPLACED_BY_A_NEWER_COPY and path.name not in taken and earlier.is_file():
                name = path.name
                aside = folders.free_name(
                    outbox / folders.SUPERSEDED_FOLDER, name, self._set_aside(staged, reference)
                )
                folders.set_aside(earlier, target / folders.SUPERSEDED_FOLDER / aside)
                supersedes = f"{reference}/{folders.SUPERSEDED_FOLDER}/{aside}"
            else:
                name = folders.free_name(outbox, path.name, taken)
            final = target / name
            shutil.move(path, final)  # a rename, or a copy where the file was made elsewhere
            final.chmod(files.FILE_MODE)
            moved.append(final)
            staged.append(
                Staged(reference, f"{reference}/{name}", kind, step=step, supersedes=supersedes)
            )
        return tuple(moved)

    def _set_aside(self, staged: Sequence[Staged], reference: str) -> set[str]:
        return {
            s.supersedes.rsplit("/", 1)[1]
            for s in staged
            if s.reference == reference and s.supersedes
        }

    def _draft(self, job_dir: Path, written: Written, staged: list[Staged]) -> None:
        challenge = written.transition.challenge
        assert challenge.reference is not None
        policy = self.services.policies(challenge.policy)
        # The due date a next-stage form's email gives, as ``assess`` would give it: the
        # one full assessment of the record is made once, when it is recorded.
        asks_for_response = (
            written.kind is Document.NEXT_STAGE_FORM
            and status_of(challenge) is Status.AWAITING_RESPONSE
        )
        email = notices.covering_email(
            challenge,
            policy,
            self.services.settings,
            written.kind,
            written.paths,
            summary=written.transition.message,
            due=current_due(challenge, policy, self.services.settings.calendar)
            if asks_for_response
            else None,
        )
        slug = notices.draft_name(written.kind, challenge)
        self._stage_email(job_dir, challenge.reference, slug, email, staged, written.step)

    def _stage_email(
        self,
        job_dir: Path,
        reference: str,
        slug: str,
        email: EmailMessage,
        staged: list[Staged],
        step: int = 0,
    ) -> None:
        target = files.private_dir(job_dir / reference)
        name = folders.free_name(
            self.home.outbox_for(reference),
            f"{reference}-{slug}.eml",
            self._taken(staged, reference),
        )
        files.write_private(target / name, email.as_bytes())
        missing = notices.roles_unaddressed(email)
        if missing:
            # Roles only: a log names the reference, never a person (the draft names them).
            log.warning(
                "%s: the draft %s has no address for the %s: fill it in before sending, or "
                "add it to [directory] in formflow.toml",
                reference,
                name,
                "; ".join(missing),
            )
        staged.append(
            Staged(
                reference,
                f"{reference}/{name}",
                None,
                str(email["Subject"]),
                notices.recipients_text(email),
                step,
            )
        )

    def _record_state(
        self,
        challenge: Challenge,
        transitions: Sequence[Transition],
        staged: Sequence[Staged],
        file: str | None,
        *,
        assessment: Assessment | None = None,
        actors: Sequence[str | None] = (),
        reasons: Sequence[str | None] = (),
    ) -> None:
        """Save ``challenge`` with ``assessment``, the one made for its documents; a record
        that had none written is assessed here."""
        reference = challenge.reference
        assert reference is not None
        at = self.services.now()
        if assessment is None:
            assessment = self._assess(challenge, at.date())
        self.register.save_challenge(challenge, assessment, at)
        events: list[int] = []
        for i, transition in enumerate(transitions):
            event = self.register.add_event(
                reference,
                "transition",
                at,
                file=file,
                outcome=status_of(transition.challenge).value,  # as this event left it
                message=transition.message,
                actor=actors[i] if i < len(actors) else None,
                reason=reasons[i] if i < len(reasons) else None,
            )
            events.append(event)
        for item in staged:
            made_by = events[item.step] if item.step < len(events) else None
            if item.supersedes:
                self.register.supersede_document(item.path, item.supersedes)
            if item.kind is not None:
                self.register.add_document(item.reference, item.kind.value, item.path, at, made_by)
            else:
                self.register.add_notice(
                    item.reference, item.path, item.subject, item.recipients, at, made_by
                )

    @contextmanager
    def _staging(
        self, kind: str, held: Callable[[Path], AbstractContextManager[object]] | None = None
    ) -> Iterator[Path]:
        """A staging folder under outbox/.staging/ for work that is not a dropped file (a
        command, the deadline sweep); what was staged is published once recorded, or
        thrown away on failure. Without ``held``, the caller stages and records inside one
        register transaction, held here, and publishing follows its commit. With it (a
        chase, which writes without the register's lock and records in a transaction of
        its own), ``held(folder)`` is held while the folder is staged and published, so
        that recovery, which takes a staging folder whose owner is dead, leaves it alone."""
        job_dir = self.home.staging / (
            f"{kind}-{self.services.now():%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        )
        recording = nullcontext() if held else self.register.transaction()
        with held(job_dir) if held else nullcontext():
            try:
                with recording:
                    yield job_dir
            except ClaimLost:  # the folder is the new owner's to publish or throw away
                raise
            except BaseException:
                shutil.rmtree(job_dir, ignore_errors=True)
                raise
            if job_dir.exists():
                self._publish(job_dir)
        self.services.on_change()
