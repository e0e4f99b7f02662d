"""The deadline sweep (``formflow tick``, and hourly inside ``watch``): each challenge
whose response is overdue moves on as its procedure says, and the IRO is reminded once of
each agreed action whose date has come. ``core.planning.chases`` decides; this writes,
drafts, records and publishes, each challenge in its own transaction."""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from formflow.core.engine import (
    DEADLINE_ACTOR,
    Assessment,
    ResponseOverdue,
    Transition,
    apply,
)
from formflow.core.planning import Chase, action_reminder, chases, decision_awaited
from formflow.core.policy import Policy
from formflow.core.record import Challenge
from formflow.errors import FormflowError
from formflow.outbox import files, folders
from formflow.pipeline import notices
from formflow.pipeline.claims import ClaimLost, Claims
from formflow.pipeline.outputs import Outputs, Staged
from formflow.pipeline.result import Outcome, Result

log = logging.getLogger(__name__)


MAX_CHASES = 5
"""Times one challenge is decided and written again because the register changed while
its documents were written (a form for it, an event recorded for someone)."""


@dataclass
class _ChaseWrite:
    """What a chase wrote: the record it leaves, the transition and its assessment."""

    challenge: Challenge
    transitions: list[Transition] = field(default_factory=list)
    assessment: Assessment | None = None
    """The transition's record's; without a transition, ``_record_state`` assesses."""


LOCK_SUFFIX = ".lock"


def staging_lock(job_dir: Path) -> Path:
    """The file beside a chase's staging folder that its chase holds (``flock``) while it
    writes without the register's lock."""
    return job_dir.with_name(f"{job_dir.name}{LOCK_SUFFIX}")


def forget_dead_locks(staging: Path) -> None:
    """Remove each chase's lock file that has no staging folder beside it and that nobody
    holds: its chase was killed after taking the lock and before making the folder (or
    after publishing it), and a leftover would stay for ever. One removed just before a
    live chase takes its flock costs that chase nothing: its claim in the register still
    keeps recovery away from its folder."""
    for lock in staging.glob(f"*{LOCK_SUFFIX}") if staging.is_dir() else ():
        if lock.with_name(lock.name.removesuffix(LOCK_SUFFIX)).exists():
            continue  # recovery takes the folder, and its lock with it
        with folders.held(lock) as dead:
            if dead:
                lock.unlink(missing_ok=True)


@contextmanager
def held_while_written(job_dir: Path) -> Iterator[None]:
    """Hold ``staging_lock(job_dir)`` for the block; the lock file goes with it."""
    lock = staging_lock(job_dir)
    files.private_dir(lock.parent)
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, files.FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


class DeadlineSweep(Outputs):
    """The sweep over every challenge in the register; ``Pipeline`` is one."""

    @cached_property
    def claims(self) -> Claims:
        """Who has a claimed file or staging folder, in this pipeline's register."""
        return Claims(self.register, self.services.settings.takeover_seconds)

    def chase_deadlines(self, today: dt.date) -> list[Result]:
        """Move on every challenge whose response is overdue, and remind the IRO of agreed
        actions whose date has come (once each). Each challenge in its own transaction."""
        results: list[Result] = []
        for reference in self.due_chases(today):
            results += self.chase(reference, today)
        return results

    def due_chases(self, today: dt.date) -> list[str]:
        """The challenges a sweep on ``today`` must chase, in the register's order; the
        watcher chases them a few at a time between files (``chase``)."""
        return [
            chase.reference
            for chase in chases(
                self.register.challenges(),
                self.services.policies,
                self.services.settings,
                today,
                self.register.reminded,
            )
        ]

    def chase(self, reference: str, today: dt.date) -> list[Result]:
        """Chase one challenge. Its documents are written without the register's write
        lock, which the jobs of dropped forms want meanwhile, and committed only if the
        register still says what the chase was decided on (decided again, under the lock):
        a challenge changed meanwhile is decided and written again, at most ``MAX_CHASES``
        times, then left for the next sweep; one chased already (by an earlier round, or
        another watcher) is left as it is."""
        try:
            for _ in range(MAX_CHASES):
                with self._staging("tick", self._chase_held) as job_dir:
                    messages = self._chase_once(reference, today, job_dir)
                if messages is not None:
                    return [Result("(deadline)", Outcome.PROCESSED, reference, m) for m in messages]
        except FormflowError as exc:
            log.warning("%s: deadline not chased: %s", reference, exc)
            return []
        except ClaimLost as exc:
            log.warning("%s: deadline not chased: %s", reference, exc)
            return []
        log.info(
            "%s: changed while the sweep wrote its documents: left for the next sweep", reference
        )
        return []

    def _chase_once(self, reference: str, today: dt.date, job_dir: Path) -> list[str] | None:
        """Decide, write without the lock, then commit if the decision still holds: the
        messages, or None when the register changed meanwhile (all staged is thrown away)."""
        with self.register.reading():
            decided = self._decide(reference, today)
        if decided is None:
            return []
        challenge, chase = decided
        staged: list[Staged] = []
        write = self._write_chase(challenge, chase, today, job_dir, staged)
        with self.register.transaction():
            self.claims.still_mine(job_dir.name)
            if self._decide(reference, today) != decided or any(
                self.register.has_output(s.path) for s in staged
            ):
                shutil.rmtree(job_dir, ignore_errors=True)
                return None
            return self._record_chase(write, chase, today, staged)

    def _decide(self, reference: str, today: dt.date) -> tuple[Challenge, Chase] | None:
        challenge = self.register.challenge(reference)
        if challenge is None:
            return None
        fresh = chases(
            [challenge],
            self.services.policies,
            self.services.settings,
            today,
            self.register.reminded,
        )
        return (challenge, fresh[0]) if fresh else None

    def _write_chase(
        self,
        challenge: Challenge,
        chase: Chase,
        today: dt.date,
        job_dir: Path,
        staged: list[Staged],
    ) -> _ChaseWrite:
        """Stage what a chase sends and writes; nothing is recorded yet."""
        assert challenge.reference is not None
        policy = self.services.policies(challenge.policy)
        write = _ChaseWrite(challenge)
        if chase.overdue:
            transition = apply(
                challenge, ResponseOverdue(today), policy, self.services.settings.calendar
            )
            write.assessment = self._assess(transition.challenge, self.services.now().date())
            for written in self._write(job_dir, transition, write.assessment, staged):
                self._draft(job_dir, written, staged)
            write.transitions.append(transition)
            write.challenge = transition.challenge
        if chase.awaiting_decision:
            email = notices.timeout_email(write.challenge, policy, self.services.settings)
            self._stage_email(job_dir, challenge.reference, "response-overdue", email, staged)
        for reminder in chase.reminders:
            email = notices.reminder_email(
                write.challenge, policy, self.services.settings, reminder.action
            )
            self._stage_email(job_dir, challenge.reference, "action-reminder", email, staged)
        return write

    def _record_chase(
        self, write: _ChaseWrite, chase: Chase, today: dt.date, staged: list[Staged]
    ) -> list[str]:
        """In the commit's transaction: the new state, the reminders and their events."""
        challenge = write.challenge
        reference = chase.reference
        policy = self.services.policies(challenge.policy)
        messages = [t.message for t in write.transitions]
        for transition in write.transitions:
            log.info("%s: response overdue: %s", reference, transition.message)
        if chase.awaiting_decision:
            messages.append(
                self._remind_of_timeout(challenge, policy, chase.awaiting_decision, today)
            )
        for reminder in chase.reminders:
            self.register.add_reminder(reference, reminder.key, today)
            message = action_reminder(reminder)
            self.register.add_event(
                reference, "reminder", self.services.now(), message=message, actor=DEADLINE_ACTOR
            )
            messages.append(message)
            log.info("%s: IRO reminded of action %s", reference, reminder.key)
        self._record_state(
            challenge,
            write.transitions,
            staged,
            None,
            assessment=write.assessment,
            actors=[DEADLINE_ACTOR] * len(write.transitions),
        )
        return messages

    @contextmanager
    def _chase_held(self, job_dir: Path) -> Iterator[None]:
        """A chase's staging folder claimed in the register and its lock file held
        (``held_while_written``) for the block: ``_staging`` holds it while the chase's
        documents are written without the register's lock, and published."""
        with self.claims.held(job_dir.name) as mine, held_while_written(job_dir):
            if not mine:  # a fresh random name: only a register that cannot be written
                raise ClaimLost(f"{job_dir.name}: could not be claimed in the register")
            yield

    def _remind_of_timeout(
        self,
        challenge: Challenge,
        policy: Policy,
        key: str,
        today: dt.date,
    ) -> str:
        """A missed deadline where the procedure waits for a person's decision: the
        responder is reminded and that person told, once (the email is staged by
        ``_write_chase``); the challenge stays where it is."""
        assert challenge.reference is not None
        self.register.add_reminder(challenge.reference, key, today)
        decider = policy.stage(challenge.stage).decided_by
        message = decision_awaited(challenge, policy)
        self.register.add_event(
            challenge.reference,
            "reminder",
            self.services.now(),
            message=message,
            actor=DEADLINE_ACTOR,
        )
        log.info(
            "%s: response overdue, waiting for the %s's decision", challenge.reference, decider
        )
        return message
