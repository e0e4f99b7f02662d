"""From a claimed file to the register and the outbox: one explicit list of steps.

    lock         an exclusive flock on the dropped file, held to the end
    claim        os.rename into inbox/.processing/ (formflow.outbox.folders.claim)
                 (a link or special file: claimed unopened, then refuse_special)
    ── the steps, with that flock held (recovery takes it on a claim left behind) ──
    hash_file            SHA-256 of the bytes
    note_claim           register: the file and its attempt number      COMMIT
    check_duplicate      the same bytes already processed → duplicate
    read_form            intake: a Challenge, or RejectedForm(reasons)
    ── repeated until the register did not change under it (at most 5 times) ──────────
    plan                 engine: events_for + apply → the new record and transitions
                         (a short transaction, for a consistent read of the record)
    write_documents      render into outbox/.staging/CLAIM/REFERENCE/   (no lock held)
    draft_notices        one covering .eml per document, staged beside it
    ── one register transaction (BEGIN IMMEDIATE: one writer at a time) ─────────────
    check_duplicate      again: another job may have had the same bytes
    still_current        the record is as plan read it, the file names still free;
                         else discard what was staged and plan again
    record               challenge, events, documents, notices, file outcome   COMMIT
    ── after the commit, each step safe to repeat ──────────────────────────────────
    publish              staged files → outbox/REFERENCE/ (os.replace, never overwriting)
    file_original        archive to var/archive/REFERENCE/ or move to inbox/rejected/

Rendering is most of a form's time, so it happens outside the write lock: several jobs
(threads of one watcher, or two watchers) render at once and take turns only to commit.
``still_current`` is what makes that safe: a plan made from a record that has since
changed is never committed.

Crash safety (kill -9 at any instant, then a restart):

* Before the claim: the file is still in the inbox; the start-up rescan finds it.
* Claimed, before the commit: the transaction never happened. The claimed file is
  still in ``.processing/``; recovery (start-up and every rescan) takes its flock, throws
  away whatever was staged for it (nothing staged is in the register), and runs the steps
  again. ``note_claim`` counts attempts for the log, but a file is never set aside for
  them: a watcher killed from outside (a reboot loop, an operator restarting it) while it
  worked on a correct form says nothing about the form. The one evidence that a file
  itself breaks formflow is the reading child dying on it, which ``read_form`` turns into
  a rejection (``formflow.intake.pdf_reader``); Word forms are size-, zip- and XML-checked
  before lxml parses them (``formflow.intake.safety``).
* After the commit: the register says how the file ended. Recovery publishes whatever
  is still staged (only files the register lists; ``publish`` is idempotent because a
  moved file is no longer staged) and archives or rejects the original (archive names
  are the unique claim name; ``reject`` recognises the note it already wrote).

So every input ends archived once or rejected once; a new challenge's reference exists
in the outbox only if the register has it; nothing is left in ``.processing/``.
A file's outputs are staged in ``outbox/.staging/CLAIM/`` only while its job holds the
claim's flock, so recovery leaves a staging folder alone while that flock is held (a
live job) and otherwise publishes what the register lists and discards the rest. The
deadline sweep stages inside its transaction, so recovery under the same lock is safe.

Two watchers may share one home on one machine (flock and SQLite locking are local);
SQLite must not live on a network share. The inbox itself may be a share (use --poll).

Deadline chasing (``chase_deadlines``) uses the same write/draft/record/publish steps.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from pathlib import Path

from formflow import notices
from formflow.core.engine import (
    Document,
    Event,
    ResponseOverdue,
    Transition,
    apply,
    assess,
    check_mergeable,
)
from formflow.core.planning import (
    Plan,
    chases,
    likely_duplicates,
    plan_form,
    refuse_likely_duplicate,
)
from formflow.core.record import Challenge
from formflow.errors import ChallengeBusy, FormflowError, RejectedForm
from formflow.form import ACCEPTED_SUFFIXES
from formflow.outbox import files, folders
from formflow.pipeline.result import Outcome, Result
from formflow.pipeline.services import Services
from formflow.register import Register

log = logging.getLogger(__name__)

MAX_PLANS = 5
"""Times a job plans and renders again because another job changed its challenge first."""


# --- the job -----------------------------------------------------------------------


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


@dataclass(frozen=True)
class Acted:
    """What an event recorded for someone did: the transition, and the paths under
    outbox/ of the documents and covering emails it published."""

    transition: Transition
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class Written:
    transition: Transition
    kind: Document
    paths: tuple[Path, ...]
    step: int = 0


@dataclass
class Job:
    claimed: Path
    name: str
    sha256: str = ""
    attempts: int = 0
    incoming: Challenge | None = None
    plan: Plan | None = None
    previous: Challenge | None = None
    """The register's record when the plan was made (None for a new challenge)."""
    stale: bool = False
    """Set by still_current: the register changed after the plan; plan again."""
    outcome: Outcome | None = None
    reference: str | None = None
    message: str = ""
    written: list[Written] = field(default_factory=list)
    staged: list[Staged] = field(default_factory=list)

    @property
    def claim(self) -> str:
        return self.claimed.name


SPECIAL_FILE = (
    "This is a link (a shortcut) or a special file, not a form saved in the inbox, so "
    "formflow did not open it. Save the form itself into the inbox, or copy it there."
)


def _rejection_note(job: Job) -> str:
    return (
        f"formflow could not use {files.printable(job.name)}.\n\n{job.message}\n\n"
        "Correct the form and drop it into the inbox again.\n"
    )


class Pipeline:
    """The steps, over one register and one home folder."""

    def __init__(self, register: Register, services: Services) -> None:
        self.register = register
        self.services = services
        self.home = services.home

    # --- entry points --------------------------------------------------------------

    def handle(self, path: Path) -> Result:
        """Lock ``path`` in the inbox, claim it, and run it through the steps.

        The lock comes before the claim: flock holds the file, not its name, so it moves
        with the rename and a live job's claim is never unlocked. Claimed first, a file
        could be taken over by recovery (this watcher's rescan or another watcher's)
        between the rename and the lock, and its own job would end as skipped. A link or
        special file is never opened: it is claimed as it is and refused."""
        special = folders.is_special(path)  # never opened, so never locked
        with nullcontext(True) if special else folders.held(path) as mine:
            claimed = folders.claim(path, self.home.claims, self.services.now()) if mine else None
            if claimed is None:
                return Result(path.name, Outcome.SKIPPED, message="claimed by another watcher")
            if special:
                return self.refuse_special(claimed)
            return self._run_locked(Job(claimed, folders.original_name(claimed)))

    def refuse_special(self, claimed: Path) -> Result:
        """Reject a claimed link, named pipe, socket or device without opening it: a link's
        file lives elsewhere (anything on this machine the service can read) and a pipe
        never ends. The entry itself is moved, never what it points to."""
        name = folders.original_name(claimed)
        job = Job(claimed, name, outcome=Outcome.REJECTED, message=SPECIAL_FILE)
        try:
            self.file_original(job)
        except FileNotFoundError:  # recovery elsewhere filed it between claim and now
            return Result(job.name, Outcome.SKIPPED, message="another watcher has it")
        log.info("%s: rejected (a link or special file, not opened)", job.claim)
        return Result(job.name, Outcome.REJECTED, None, job.message, job.claimed)

    def run_claimed(self, claimed: Path) -> Result:
        """The steps for a file left in the claim folder (recovery), once its lock is free."""
        job = Job(claimed, folders.original_name(claimed))
        with folders.held(claimed) as mine:
            if not mine:
                return Result(job.name, Outcome.SKIPPED, message="another watcher has it")
            return self._run_locked(job)

    def _run_locked(self, job: Job) -> Result:
        try:
            return self._run(job)
        except Exception:
            log.exception("%s: unexpected error; it stays claimed and is retried", job.claim)
            return Result(job.name, Outcome.RETRY, message="unexpected error, see the log")

    def recover(self) -> list[Result]:
        """Finish what a killed process left: staged outputs, then claimed files."""
        self.publish_staged()
        results: list[Result] = []
        if not self.home.claims.exists():
            return results
        for claimed in sorted(self.home.claims.iterdir()):
            if claimed.name.startswith("."):
                continue
            if folders.is_special(claimed):
                result = self.refuse_special(claimed)
            elif claimed.is_file():
                result = self.run_claimed(claimed)
            else:
                continue
            if result.outcome is not Outcome.SKIPPED:
                log.info("%s: recovered as %s", claimed.name, result.outcome.value)
                results.append(result)
        return results

    def publish_staged(self) -> None:
        """Publish what the register lists of each dead job's staging folder and discard
        the rest. A file's job stages only while it holds its claim's flock, so a folder
        whose claim is locked belongs to a live job (this process's or another's) and is
        left alone; the deadline sweep stages inside a transaction, so under the same
        lock its leftovers are dead too."""
        if not self.home.staging.exists():
            return
        for job_dir in sorted(p for p in self.home.staging.iterdir() if p.is_dir()):
            claimed = self.home.claims / job_dir.name
            unclaimed = folders.held(claimed) if claimed.exists() else nullcontext(True)
            with unclaimed as dead:
                if dead:
                    with self.register.transaction():
                        self._publish(job_dir)

    # --- the steps ----------------------------------------------------------------

    def _run(self, job: Job) -> Result:
        record = self.register.file(job.claim)
        if record is None or record.outcome is None:
            self.hash_file(job)
            self.note_claim(job)
            self._steps_to_commit(job)
            if job.outcome is not None:
                self.services.on_change()
        else:
            job.outcome = Outcome(record.outcome)
            job.reference = record.reference
            job.message = record.message or ""
            log.info("%s: finishing after a restart (%s)", job.claim, job.outcome.value)
        for step in (self.publish, self.file_original):
            step(job)
        assert job.outcome is not None
        return Result(job.name, job.outcome, job.reference, job.message, job.claimed)

    def _steps_to_commit(self, job: Job) -> None:
        try:
            with self.register.transaction():
                self.check_duplicate(job)
            if job.outcome is not None:
                return
            self.read_form(job)
            for _ in range(MAX_PLANS):
                self._render_then_commit(job)
                if job.outcome is not None:
                    return
            raise ChallengeBusy(
                f"{job.claim}: {job.reference} changed {MAX_PLANS} times while this form's "
                "documents were written; it is tried again at the next rescan"
            )
        except FormflowError as exc:
            reasons = exc.reasons if isinstance(exc, RejectedForm) else [str(exc)]
            job.outcome = Outcome.REJECTED
            job.reference = job.incoming.reference if job.incoming else None
            job.message = "\n".join(f"- {r}" if len(reasons) > 1 else r for r in reasons)
            log.info("%s: rejected (%s)", job.claim, type(exc).__name__)
            with self.register.transaction():
                self._discard_staged(job)
                self._finish(job)

    def _render_then_commit(self, job: Job) -> None:
        """Plan from the register as it is, render without the write lock, then commit
        unless the register changed meanwhile (``job.outcome`` stays None: plan again)."""
        self._discard_staged(job)
        job.stale = False
        with self.register.transaction():
            self.plan(job)
        self.write_documents(job)
        self.draft_notices(job)
        with self.register.transaction():
            for step in (self.check_duplicate, self.still_current, self.record):
                step(job)
                if job.outcome is not None or job.stale:
                    break

    def _finish(self, job: Job) -> None:
        """Record how the file ended (inside the caller's transaction)."""
        assert job.outcome is not None
        self.register.finish_file(
            job.claim,
            outcome=job.outcome.value,
            reference=job.reference,
            message=job.message,
            at=self.services.now(),
        )

    def hash_file(self, job: Job) -> None:
        job.sha256 = folders.sha256_of(job.claimed)

    def note_claim(self, job: Job) -> None:
        job.attempts = self.register.note_claim(
            job.claim, job.name, job.sha256, self.services.now()
        )
        if job.attempts > 1:
            log.info(
                "%s: attempt %d (formflow stopped while working on it)", job.claim, job.attempts
            )

    def read_form(self, job: Job) -> None:
        suffix = job.claimed.suffix.lower()
        if suffix not in ACCEPTED_SUFFIXES:
            raise RejectedForm(
                [
                    "formflow reads Word (.docx) and PDF challenge forms; this file is "
                    f"{suffix or 'without an extension'}."
                ]
            )
        received = self.services.now().date()
        job.incoming = self.services.read_form(
            job.claimed,
            policies=self.services.policies,
            settings=self.services.settings,
            today=received,
        )

    def check_duplicate(self, job: Job) -> None:
        earlier = self.register.processed_copy(job.sha256)
        if earlier is None:
            return
        on = (earlier.finished_at or earlier.claimed_at)[:10]
        job.outcome = Outcome.DUPLICATE
        job.reference = earlier.reference
        job.message = (
            f"This file was already processed on {on} as {earlier.reference}, so it has not "
            "been processed again."
        )
        log.info("%s: duplicate of %s (%s)", job.claim, earlier.claim, earlier.reference)
        self._finish(job)

    def plan(self, job: Job) -> None:
        assert job.incoming is not None
        incoming = job.incoming
        previous = self.register.challenge(incoming.reference) if incoming.reference else None
        job.previous = previous
        if incoming.reference is None:
            refuse_likely_duplicate(self.register.challenges(open_only=True), incoming)
            reference = self.register.assign_reference(incoming.date_of_notification.year)
            incoming = replace(incoming, reference=reference)
            log.info("%s: new challenge, reference %s assigned", job.claim, reference)
        for inference in incoming.inferred:
            # The reason quotes the form's labels and the words that settled it, never a name.
            log.info(
                "%s: %s %s inferred as '%s': %s",
                job.claim,
                incoming.reference,
                inference.field,
                inference.value,
                inference.reason,
            )
        policy = self.services.policies(incoming.policy)
        received = self.services.now().date()
        job.plan = plan_form(previous, incoming, received, policy, self.services.settings.calendar)
        job.reference = job.plan.challenge.reference
        job.message = job.plan.message

    def write_documents(self, job: Job) -> None:
        assert job.plan is not None
        for step, transition in enumerate(job.plan.transitions):
            job.written += self._write(self._job_dir(job.claim), transition, job.staged, step)

    def draft_notices(self, job: Job) -> None:
        for written in job.written:
            self._draft(self._job_dir(job.claim), written, job.staged)

    def still_current(self, job: Job) -> None:
        """In the commit's transaction: is the register still as ``plan`` read it? The
        same record (or, for a new challenge, its reference still free), and no document
        name the job chose taken by a job that committed first."""
        assert job.reference is not None
        record = self.register.challenge(job.reference)
        names_taken = any(self.register.has_output(s.path) for s in job.staged)
        # A copy of the same new challenge may have committed first: plan again to refuse it.
        copied = (
            job.previous is None
            and job.incoming is not None
            and not job.incoming.separate_challenge
            and bool(likely_duplicates(self.register.challenges(open_only=True), job.incoming))
        )
        if record == job.previous and not names_taken and not copied:
            return
        job.stale = True
        log.info(
            "%s: %s changed while its documents were written; planning again",
            job.claim,
            job.reference,
        )

    def record(self, job: Job) -> None:
        assert job.plan is not None and job.reference is not None
        plan = job.plan
        self._record_state(
            plan.challenge,
            plan.transitions,
            job.staged,
            job.claim,
            actors=plan.actors,
            reasons=plan.reasons,
        )
        job.outcome = Outcome.PROCESSED
        self._finish(job)
        log.info("%s: processed as %s: %s", job.claim, job.reference, job.message)
        for warning in plan.warnings:
            log.warning("%s: %s: %s", job.claim, job.reference, warning)

    def publish(self, job: Job) -> None:
        job_dir = self.home.staging / job.claim
        if job_dir.exists():
            self._publish(job_dir)

    def file_original(self, job: Job) -> None:
        if job.outcome is Outcome.PROCESSED:
            assert job.reference is not None
            job.claimed = folders.archive(job.claimed, self.home.archive / job.reference)
            return
        note = job.message if job.outcome is Outcome.DUPLICATE else _rejection_note(job)
        job.claimed = folders.reject(job.claimed, self.home.rejected, note)

    # --- shared by files and the deadline sweep ---------------------------------------

    def _job_dir(self, job: str) -> Path:
        return folders.job_dir(self.home, job)

    def _discard_staged(self, job: Job) -> None:
        job.staged.clear()
        job.written.clear()
        job_dir = self.home.staging / job.claim
        if job_dir.exists():
            shutil.rmtree(job_dir)

    def _publish(self, job_dir: Path) -> None:
        published, discarded = folders.publish(job_dir, self.home.outbox, self.register.has_output)
        for path in discarded:
            log.info("discarded %s: never committed", path.name)
        for path in published:
            log.debug("published %s", path.name)

    def _taken(self, staged: Sequence[Staged], reference: str) -> set[str]:
        return {s.path.split("/", 1)[1] for s in staged if s.reference == reference}

    def _write(
        self, job_dir: Path, transition: Transition, staged: list[Staged], step: int = 0
    ) -> list[Written]:
        """Render a transition's documents into ``job_dir/REFERENCE/`` under names free in
        the outbox, so publishing never overwrites an earlier document."""
        challenge = transition.challenge
        reference = challenge.reference
        assert reference is not None
        policy = self.services.policies(challenge.policy)
        today = self.services.now().date()
        target = files.private_dir(job_dir / reference)
        outbox = self.home.outbox_for(reference)
        out: list[Written] = []
        for kind in transition.documents:
            if kind is Document.IRO_NOTE:  # a covering email with nothing attached
                out.append(Written(transition, kind, (), step))
                continue
            scratch = files.private_dir(job_dir / f".scratch-{secrets.token_hex(4)}")
            try:
                written = self.services.writer(kind)(
                    challenge, policy, self.services.settings, scratch, today=today
                )
                moved: list[Path] = []
                for path in written:
                    name = folders.free_name(outbox, path.name, self._taken(staged, reference))
                    final = target / name
                    path.replace(final)
                    final.chmod(0o600)
                    moved.append(final)
                    staged.append(Staged(reference, f"{reference}/{name}", kind, step=step))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            out.append(Written(transition, kind, tuple(moved), step))
        return out

    def _draft(self, job_dir: Path, written: Written, staged: list[Staged]) -> None:
        challenge = written.transition.challenge
        assert challenge.reference is not None
        policy = self.services.policies(challenge.policy)
        due = assess(
            challenge, policy, self.services.settings.calendar, self.services.now().date()
        ).due
        email = notices.covering_email(
            challenge,
            policy,
            self.services.settings,
            written.kind,
            written.paths,
            summary=written.transition.message,
            due=due if written.kind is Document.NEXT_STAGE_FORM else None,
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
        missing = notices.unaddressed(email)
        if missing:
            # Roles only: a log names the reference, never a person (the draft names them).
            log.warning(
                "%s: the draft %s has no address for the %s: fill it in before sending, or "
                "add it to [directory] in formflow.toml",
                reference,
                name,
                "; ".join(label.rsplit(", ", 1)[-1] for label in missing),
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
        actors: Sequence[str | None] = (),
        reasons: Sequence[str | None] = (),
    ) -> None:
        reference = challenge.reference
        assert reference is not None
        at = self.services.now()
        policy = self.services.policies(challenge.policy)
        assessment = assess(challenge, policy, self.services.settings.calendar, at.date())
        self.register.save_challenge(challenge, assessment, at)
        events: list[int] = []
        for i, transition in enumerate(transitions):
            event = self.register.add_event(
                reference,
                "transition",
                at,
                file=file,
                outcome=assessment.status.value,
                message=transition.message,
                actor=actors[i] if i < len(actors) else None,
                reason=reasons[i] if i < len(reasons) else None,
            )
            events.append(event)
        for item in staged:
            made_by = events[item.step] if item.step < len(events) else None
            if item.kind is not None:
                self.register.add_document(item.reference, item.kind.value, item.path, at, made_by)
            else:
                self.register.add_notice(
                    item.reference, item.path, item.subject, item.recipients, at, made_by
                )

    @contextmanager
    def _staging(self, kind: str) -> Iterator[Path]:
        """A staging folder for work that is not a dropped file (the deadline sweep, a
        command): the caller stages and records inside one register transaction, held
        here; what it staged is published after the commit, or thrown away on failure."""
        job_dir = self.home.staging / (
            f"{kind}-{self.services.now():%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        )
        try:
            with self.register.transaction():
                yield job_dir
        except BaseException:
            shutil.rmtree(job_dir, ignore_errors=True)
            raise
        if job_dir.exists():
            self._publish(job_dir)
        self.services.on_change()

    # --- events recorded for someone (the CLI) ----------------------------------------

    def act(
        self,
        reference: str,
        event: Event,
        *,
        by: str,
        reason: str | None,
        merge_into: str | None = None,
    ) -> Acted:
        """An event business support record for someone: applied by the engine, its
        documents and covering emails staged, everything committed in one register
        transaction (the watcher's jobs see the record before or after, never half), then
        published into outbox/REFERENCE/ as a dropped form's are. ``merge_into`` names the
        challenge kept when ``event`` merges this one into it."""
        with self._staging("cli") as job_dir:
            challenge = self._registered(reference)
            if merge_into is not None:
                check_mergeable(self._registered(merge_into), challenge)
            policy = self.services.policies(challenge.policy)
            transition = apply(challenge, event, policy, self.services.settings.calendar)
            staged: list[Staged] = []
            for written in self._write(job_dir, transition, staged):
                self._draft(job_dir, written, staged)
            self._record_state(
                transition.challenge, [transition], staged, None, actors=[by], reasons=[reason]
            )
            if merge_into is not None:
                self.register.add_event(
                    merge_into,
                    "merged",
                    self.services.now(),
                    message=f"{reference} was merged into this challenge.",
                    actor=by,
                    reason=reason,
                )
        log.info("%s: %s (by %s)", reference, transition.message, by)
        return Acted(transition, tuple(s.path for s in staged))

    def _registered(self, reference: str) -> Challenge:
        challenge = self.register.challenge(reference)
        if challenge is None:
            raise FormflowError(
                f"There is no challenge {reference} in the register: check the reference "
                "(formflow status lists the open ones)."
            )
        return challenge

    # --- deadlines --------------------------------------------------------------------

    def chase_deadlines(self, today: dt.date) -> list[Result]:
        """Move on every challenge whose response is overdue, and remind the IRO of agreed
        actions whose date has come (once each). Each challenge in its own transaction."""
        results: list[Result] = []
        for chase in chases(
            self.register.challenges(),
            self.services.policies,
            self.services.settings,
            today,
            self.register.reminded,
        ):
            try:
                with self._staging("tick") as job_dir:
                    messages = self._chase_one(chase.reference, today, job_dir)
            except FormflowError as exc:
                log.warning("%s: deadline not chased: %s", chase.reference, exc)
                continue
            for message in messages:
                results.append(Result("(deadline)", Outcome.PROCESSED, chase.reference, message))
        return results

    def _chase_one(self, reference: str, today: dt.date, job_dir: Path) -> list[str]:
        challenge = self.register.challenge(reference)
        if challenge is None:
            return []
        # Decide again under the lock: another watcher may have chased it a moment ago.
        fresh = chases(
            [challenge],
            self.services.policies,
            self.services.settings,
            today,
            self.register.reminded,
        )
        if not fresh:
            return []
        chase = fresh[0]
        messages: list[str] = []
        staged: list[Staged] = []
        policy = self.services.policies(challenge.policy)
        transitions: list[Transition] = []
        if chase.overdue:
            transition = apply(
                challenge, ResponseOverdue(today), policy, self.services.settings.calendar
            )
            for written in self._write(job_dir, transition, staged):
                self._draft(job_dir, written, staged)
            transitions.append(transition)
            messages.append(transition.message)
            challenge = transition.challenge
            log.info("%s: response overdue: %s", reference, transition.message)
        for reminder in chase.reminders:
            email = notices.reminder_email(
                challenge, policy, self.services.settings, reminder.action
            )
            self._stage_email(job_dir, reference, "action-reminder", email, staged)
            self.register.add_reminder(reference, reminder.key, today)
            when = reminder.action.by_when.isoformat() if reminder.action.by_when else "now"
            self.register.add_event(
                reference,
                "reminder",
                self.services.now(),
                message=f"IRO reminded to check an agreed action due {when}.",
            )
            messages.append(f"IRO reminded to check an agreed action due {when}.")
            log.info("%s: IRO reminded of action %s", reference, reminder.key)
        self._record_state(challenge, transitions, staged, None)
        return messages

    # --- notices ----------------------------------------------------------------------

    def send_notices(self) -> int:
        """Send every unsent draft that has a real address, when [smtp] is configured."""
        smtp = notices.smtp_settings(self.services.settings)
        if smtp is None:
            return 0
        sent = 0
        for notice in self.register.unsent_notices():
            path = self.home.outbox / notice.path
            if not path.exists():
                continue
            message = notices.read_eml(path)
            to = notices.send(message, smtp)
            if to:
                self.register.mark_sent(notice.id, self.services.now())
                log.info("%s: notice %s sent", notice.reference, path.name)
                sent += 1
        return sent
