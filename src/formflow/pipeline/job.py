"""From a claimed file to the register and the outbox: the steps, stage by stage
(``Pipeline.stages``, run by ``Pipeline._run``).

    lock         an exclusive flock on the dropped file, held to the end
    claim        os.rename into inbox/.processing/ (formflow.outbox.folders.claim)
                 (a link or special file: claimed unopened, then refuse_special)
                 the claim in the register (formflow.pipeline.claims), held to the end
    ── the stages, with both held (recovery takes them on a claim left behind) ──────
    take     hash_file          SHA-256 of the bytes
             note_claim         register: the file and its attempt number      COMMIT
    read     check_duplicate    the same bytes already processed → duplicate
             read_form          intake: a Challenge, or RejectedForm(reasons)
    ── plan, write, record: again while the register changed under it (at most 5) ──
    plan     plan               engine: events_for + apply → the new record and
                                transitions (a short transaction, for a consistent read)
    write    write_documents    render into outbox/.staging/CLAIM/REFERENCE/ (no lock held)
             draft_notices      one covering .eml per document, staged beside it
    record   (one register transaction, BEGIN IMMEDIATE: one writer at a time)
             check_duplicate    again: another job may have had the same bytes
             still_current      the record is as plan read it, the file names still free;
                                else discard what was staged and plan again
             record             challenge, events, documents, notices, outcome   COMMIT
    ── after the commit, each step safe to repeat ──────────────────────────────────
    publish  publish            staged files → outbox/REFERENCE/ (os.replace, never
                                overwriting)
             file_original      archive to var/archive/REFERENCE/ or to inbox/rejected/

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
claim, so recovery leaves a staging folder alone while the claim is held (a live job)
and otherwise publishes what the register lists and discards the rest. The deadline
sweep writes without the register's lock too, under a claim of its own staging folder
(and a lock file beside it, ``deadlines.staging_lock``) that recovery likewise respects.

Across watchers and machines: a job holds its claim twice. On this machine by the
flock (recovery skips a file or staging folder whose flock is held, at no cost to the
register); everywhere by a row in the register's ``claims`` table, which decides
(``formflow.pipeline.claims``): taken just after the rename, renewed by a heartbeat
while the job runs, released when it ends. Recovery on any machine takes a claim over
only when its owner is proved dead (its heartbeat older than ``[folders]
takeover_seconds`` by the database server's clock, or a process of this machine and boot
that has gone), by a conditional UPDATE only one machine wins; and ``_finish``, in the
commit's transaction, refuses to record a file whose claim another has taken over
(``ClaimLost``). So two servers may share one inbox, outbox and archive on a network
share (``[folders] shared``, watching with --poll) with one PostgreSQL register; with
SQLite, var/ must be on a local disk (the register refuses a network file system), and
only the watchers of one machine share a home.

Deadline chasing (``chase_deadlines``, in ``formflow.pipeline.deadlines``) and events
recorded for someone (``act``, in ``formflow.pipeline.events``) use the same
write/draft/record/publish steps, from ``formflow.pipeline.outputs``.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from formflow.core.engine import Assessment
from formflow.core.planning import Plan, likely_duplicates, plan_form, refuse_unregistered
from formflow.core.record import Challenge
from formflow.errors import ChallengeBusy, FormflowError, RejectedForm
from formflow.form import ACCEPTED_SUFFIXES
from formflow.intake.safety import OLD_WORD, SAVE_AS_DOCX
from formflow.outbox import files, folders
from formflow.pipeline import notices
from formflow.pipeline.claims import ClaimLost
from formflow.pipeline.deadlines import DeadlineSweep, forget_dead_locks, staging_lock
from formflow.pipeline.events import RecordedEvents
from formflow.pipeline.outputs import Staged, Written
from formflow.pipeline.result import Outcome, Result

log = logging.getLogger(__name__)

UNKNOWN_SENDER = "not known: the file could not be read as a form"
"""The inbox is a shared folder: a file that is not a readable form names nobody."""

MAX_PLANS = 5
"""Times a job plans and renders again because another job changed its challenge first."""


# --- the job -----------------------------------------------------------------------


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
    assessments: tuple[Assessment, ...] = ()
    """Each of the plan's transitions' records, assessed once: its documents take it, and
    the register the last one's (the record the plan leaves)."""
    stale: bool = False
    """Set by still_current: the register changed after the plan; plan again."""
    outcome: Outcome | None = None
    reference: str | None = None
    message: str = ""
    advice: str = FormflowError.advice
    """A rejected file's note ends with it: what the form's maker does next."""
    written: list[Written] = field(default_factory=list)
    staged: list[Staged] = field(default_factory=list)

    @property
    def claim(self) -> str:
        return self.claimed.name

    @property
    def sender(self) -> str:
        """Who the audit trail names for the file: the person its plan names behind its
        first event, else whoever the form says answered or raised it."""
        if self.plan is not None and self.plan.actors:
            return self.plan.actors[0]
        form = self.incoming
        if form is None:
            return UNKNOWN_SENDER
        answered = form.response.by if form.response else None
        return answered or form.raised_by.name or UNKNOWN_SENDER

    @property
    def settled(self) -> bool:
        """A step has decided how the file ends, or found the plan stale: the rest of its
        stage is skipped."""
        return self.outcome is not None or self.stale


Step = Callable[[Job], None]
"""One step: it takes the job and fills in what it found."""


@dataclass(frozen=True)
class Stages:
    """A file's steps, stage by stage, in the order ``Pipeline._run`` runs them (the
    module docstring says what each step does and why the stages are where they are)."""

    take: tuple[Step, ...]
    """Once, first: the file's hash and the register's note of the claim (COMMIT)."""
    read: tuple[Step, ...]
    """The same bytes processed before (its own short transaction)? Else the form."""
    plan: tuple[Step, ...]
    """In a short transaction: a consistent read of the record, and the plan made on it."""
    write: tuple[Step, ...]
    """With no lock held: the documents and their covering emails, staged."""
    record: tuple[Step, ...]
    """In one register transaction: still the record the plan read? Then commit it."""
    publish: tuple[Step, ...]
    """After the commit, each safe to repeat (also when a restart finds the job recorded)."""


def run_steps(job: Job, steps: tuple[Step, ...]) -> None:
    """Each step in turn, until one settles the job."""
    for step in steps:
        step(job)
        if job.settled:
            return


SPECIAL_FILE = (
    "This is a link (a shortcut) or a special file, not a form saved in the inbox, so "
    "formflow did not open it. Save the form itself into the inbox, or copy it there."
)


DUPLICATE_ADVICE = "Nothing needs doing: this copy changes nothing and can be deleted."


def _rejection_note(job: Job) -> str:
    return f"formflow could not use {files.printable(job.name)}.\n\n{job.message}\n\n{job.advice}\n"


class Pipeline(DeadlineSweep, RecordedEvents):
    """The steps, over one register and one home folder; the deadline sweep and events
    recorded for someone come from their own modules, sharing ``Outputs``."""

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
            return self._run_claimed(claimed, special)

    def _run_claimed(self, claimed: Path, special: bool) -> Result:
        """The steps for ``claimed``, while this process holds its claim in the register
        (``formflow.pipeline.claims``): another server's recovery may have taken a claim
        whose row it found missing between the rename and now."""
        with self.claims.held(claimed.name) as ours:
            if not ours:
                return Result(claimed.name, Outcome.SKIPPED, message="another server has it")
            if special:
                return self.refuse_special(claimed)
            return self._run_locked(Job(claimed, folders.original_name(claimed)))

    def process(self, files: Sequence[Path], each: Callable[[Result], None]) -> list[Result]:
        """``formflow process``: finish what a killed process left, then drop each file
        into the inbox and run it through the steps as the watcher would (``each`` hears
        how it ended), then send the drafts."""
        self.recover()
        results: list[Result] = []
        for file in files:
            result = self.handle(folders.drop(file, self.home.inbox))
            each(result)
            results.append(result)
        self.send_notices()
        return results

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
        """The steps for a file left in the claim folder (recovery), once its lock is free
        (no process of this machine works on it) and its owner in the register is proved
        dead (nor one of another machine)."""
        with folders.held(claimed) as mine:
            if not mine:
                name = folders.original_name(claimed)
                return Result(name, Outcome.SKIPPED, message="another watcher has it")
            return self._run_claimed(claimed, special=False)

    def _run_locked(self, job: Job) -> Result:
        try:
            return self._run(job)
        except ClaimLost as exc:
            log.warning("%s; it is left to that server", exc)
            return Result(job.name, Outcome.SKIPPED, message="taken over by another server")
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
                result = self._run_claimed(claimed, special=True)
            elif claimed.is_file():
                result = self.run_claimed(claimed)
            else:
                continue
            if result.outcome is not Outcome.SKIPPED:
                log.info("%s: recovered as %s", claimed.name, result.outcome.value)
                results.append(result)
        folders_of_claims = (self.home.claims, self.home.staging)
        self.claims.forget_dead(
            {p.name for folder in folders_of_claims if folder.exists() for p in folder.iterdir()}
        )
        return results

    def publish_staged(self) -> None:
        """Publish what the register lists of each dead job's staging folder and discard
        the rest. A file's job stages only while it holds its claim's flock, so a folder
        whose claim is locked belongs to a live job (this process's or another's) and is
        left alone, as is a deadline chase's whose lock file is held (``staging_lock``);
        an event recorded for someone stages inside a transaction, so under the same lock
        its leftovers are dead too."""
        if not self.home.staging.exists():
            return
        forget_dead_locks(self.home.staging)
        for job_dir in sorted(p for p in self.home.staging.iterdir() if p.is_dir()):
            claimed = self.home.claims / job_dir.name
            lock = claimed if claimed.exists() else staging_lock(job_dir)
            unheld = folders.held(lock) if lock.exists() else nullcontext(True)
            with unheld as dead_here:
                if not dead_here:  # a live job of this machine: no need to ask the register
                    continue
                with self.claims.held(job_dir.name) as dead:
                    if dead:
                        with self.register.transaction():
                            self._publish(job_dir)
                        staging_lock(job_dir).unlink(missing_ok=True)  # a dead chase's

    # --- the steps ----------------------------------------------------------------

    def stages(self) -> Stages:
        """The steps, in order. Looked up on each run, so a test may replace one."""
        return Stages(
            take=(self.hash_file, self.note_claim),
            read=(self.check_duplicate, self.read_form),
            plan=(self.plan,),
            write=(self.write_documents, self.draft_notices),
            record=(self.check_duplicate, self.still_current, self.record),
            publish=(self.publish, self.file_original),
        )

    def _run(self, job: Job) -> Result:
        stages = self.stages()
        finished = self.register.file(job.claim)
        if finished is None or finished.outcome is None:
            run_steps(job, stages.take)
            self._run_to_commit(job, stages)
            if job.outcome is not None:
                self.services.on_change()
        else:
            job.outcome = Outcome(finished.outcome)
            job.reference = finished.reference
            job.message = finished.message or ""
            log.info("%s: finishing after a restart (%s)", job.claim, job.outcome.value)
        for step in stages.publish:  # every one: the job is settled and each is repeatable
            step(job)
        assert job.outcome is not None
        return Result(job.name, job.outcome, job.reference, job.message, job.claimed)

    def _run_to_commit(self, job: Job, stages: Stages) -> None:
        """Read, then plan, write and record, again while the register changed under the
        plan (at most ``MAX_PLANS`` times). A ``FormflowError`` rejects the file."""
        try:
            run_steps(job, stages.read)
            if job.outcome is not None:  # a duplicate
                return
            for _ in range(MAX_PLANS):
                self._discard_staged(job)
                job.stale = False
                with self.register.transaction():
                    run_steps(job, stages.plan)
                run_steps(job, stages.write)
                with self.register.transaction():
                    run_steps(job, stages.record)
                if job.outcome is not None:
                    return
            raise ChallengeBusy(
                f"{job.reference} changed {MAX_PLANS} times while this form's documents "
                "were written, so it was not recorded."
            )
        except FormflowError as exc:
            reasons = exc.reasons if isinstance(exc, RejectedForm) else [str(exc)]
            job.outcome = Outcome.REJECTED
            job.reference = self._known(job.incoming.reference if job.incoming else None)
            job.message = "\n".join(f"- {r}" if len(reasons) > 1 else r for r in reasons)
            job.advice = exc.advice
            log.info("%s: rejected (%s)", job.claim, type(exc).__name__)
            with self.register.transaction():
                self._discard_staged(job)
                self._finish(job)

    def _known(self, reference: str | None) -> str | None:
        """A rejected form's reference, where the register has that challenge: a mistyped
        or never-registered one names nothing (its note still quotes it)."""
        return reference if reference and self.register.challenge(reference) else None

    def _finish(self, job: Job) -> None:
        """Record how the file ended (inside the caller's transaction), if its claim is
        still this process's (``ClaimLost`` undoes the transaction otherwise)."""
        assert job.outcome is not None
        self.claims.still_mine(job.claim)
        self.register.finish_file(
            job.claim,
            outcome=job.outcome.value,
            reference=job.reference,
            message=job.message,
            at=self.services.now(),
            actor=job.sender,
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
        if suffix == ".doc":
            raise RejectedForm([OLD_WORD], advice=SAVE_AS_DOCX)
        if suffix not in ACCEPTED_SUFFIXES:
            raise RejectedForm(
                [
                    "formflow reads Word (.docx) and PDF challenge forms, and this file is "
                    f"{f'a {suffix} file' if suffix else 'without an extension'}."
                ],
                advice="Save the challenge form as .docx or as a fillable PDF, and drop that "
                "into the inbox.",
            )
        received = self.services.now().date()
        job.incoming = self.services.read_form(
            job.claimed,
            policies=self.services.policies,
            settings=self.services.settings,
            today=received,
        )

    def check_duplicate(self, job: Job) -> None:
        """In a transaction of its own, or joining the record stage's."""
        with self.register.transaction():
            earlier = self.register.processed_copy(job.sha256)
            if earlier is None:
                return
            on = (earlier.finished_at or earlier.claimed_at)[:10]
            job.outcome = Outcome.DUPLICATE
            job.reference = earlier.reference
            job.message = (
                f"This file was already processed on {on} as {earlier.reference}, so it has "
                "not been processed again."
            )
            log.info("%s: duplicate of %s (%s)", job.claim, earlier.claim, earlier.reference)
            self._finish(job)

    def plan(self, job: Job) -> None:
        assert job.incoming is not None
        incoming = job.incoming
        previous = self.register.challenge(incoming.reference) if incoming.reference else None
        job.previous = previous
        if previous is None:
            refuse_unregistered(self.register.challenges(open_only=True), incoming)
        if incoming.reference is None:
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
        job.assessments = tuple(self._assess(t.challenge, received) for t in job.plan.transitions)
        job.reference = job.plan.challenge.reference
        job.message = job.plan.message

    def write_documents(self, job: Job) -> None:
        assert job.plan is not None
        for step, transition in enumerate(job.plan.transitions):
            assessment = job.assessments[step]
            job.written += self._write(
                self._job_dir(job.claim), transition, assessment, job.staged, step
            )

    def draft_notices(self, job: Job) -> None:
        for written in job.written:
            self._draft(self._job_dir(job.claim), written, job.staged)

    def still_current(self, job: Job) -> None:
        """In the commit's transaction: is the register still as ``plan`` read it? The
        same record (or, for a new challenge, its reference still free), and no document
        name the job chose taken by a job that committed first."""
        assert job.reference is not None
        record = self.register.challenge(job.reference)
        names_taken = any(self.register.has_output(s.new_path) for s in job.staged)
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
            assessment=job.assessments[-1] if job.assessments else None,
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
        duplicate = job.outcome is Outcome.DUPLICATE
        note = f"{job.message}\n\n{DUPLICATE_ADVICE}\n" if duplicate else _rejection_note(job)
        job.claimed = folders.reject(job.claimed, self.home.rejected, note, self.home.file_mode)

    # --- the job's staging folder -----------------------------------------------------

    def _job_dir(self, job: str) -> Path:
        return folders.job_dir(self.home, job)

    def _discard_staged(self, job: Job) -> None:
        job.staged.clear()
        job.written.clear()
        job_dir = self.home.staging / job.claim
        if job_dir.exists():
            shutil.rmtree(job_dir)

    # --- notices ----------------------------------------------------------------------

    def send_notices(self) -> int:
        """Send every unsent draft that has a real address, when [smtp] is configured."""
        return notices.send_unsent(
            self.register, self.home.outbox, self.services.settings, self.services.now
        )
