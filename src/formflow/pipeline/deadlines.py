"""The deadline sweep (``formflow tick``, and hourly inside ``watch``): each challenge
whose response is overdue moves on as its procedure says, and the IRO is reminded once of
each agreed action whose date has come. ``core.planning.chases`` decides; this writes,
drafts, records and publishes, each challenge in its own transaction."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from formflow.core.engine import (
    DEADLINE_ACTOR,
    Assessment,
    ResponseOverdue,
    Transition,
    apply,
)
from formflow.core.planning import chases
from formflow.core.policy import Policy
from formflow.core.record import Challenge
from formflow.errors import FormflowError
from formflow.pipeline import notices
from formflow.pipeline.outputs import Outputs, Staged
from formflow.pipeline.result import Outcome, Result

log = logging.getLogger(__name__)


class DeadlineSweep(Outputs):
    """The sweep over every challenge in the register; ``Pipeline`` is one."""

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
        """Chase one challenge, decided again under the register's lock: a challenge chased
        already (by an earlier round, or another watcher) is left as it is."""
        try:
            with self._staging("tick") as job_dir:
                messages = self._chase_one(reference, today, job_dir)
        except FormflowError as exc:
            log.warning("%s: deadline not chased: %s", reference, exc)
            return []
        return [Result("(deadline)", Outcome.PROCESSED, reference, m) for m in messages]

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
        assessment: Assessment | None = None  # without a transition, _record_state assesses
        if chase.overdue:
            transition = apply(
                challenge, ResponseOverdue(today), policy, self.services.settings.calendar
            )
            assessment = self._assess(transition.challenge, self.services.now().date())
            for written in self._write(job_dir, transition, assessment, staged):
                self._draft(job_dir, written, staged)
            transitions.append(transition)
            messages.append(transition.message)
            challenge = transition.challenge
            log.info("%s: response overdue: %s", reference, transition.message)
        if chase.awaiting_decision:
            messages.append(
                self._remind_of_timeout(
                    challenge, policy, chase.awaiting_decision, today, job_dir, staged
                )
            )
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
                actor=DEADLINE_ACTOR,
            )
            messages.append(f"IRO reminded to check an agreed action due {when}.")
            log.info("%s: IRO reminded of action %s", reference, reminder.key)
        self._record_state(
            challenge,
            transitions,
            staged,
            None,
            assessment=assessment,
            actors=[DEADLINE_ACTOR] * len(transitions),
        )
        return messages

    def _remind_of_timeout(
        self,
        challenge: Challenge,
        policy: Policy,
        key: str,
        today: dt.date,
        job_dir: Path,
        staged: list[Staged],
    ) -> str:
        """A missed deadline where the procedure waits for a person's decision: remind the
        responder and tell that person, once; the challenge stays where it is."""
        assert challenge.reference is not None
        email = notices.timeout_email(challenge, policy, self.services.settings)
        self._stage_email(job_dir, challenge.reference, "response-overdue", email, staged)
        self.register.add_reminder(challenge.reference, key, today)
        decider = policy.stage(challenge.stage).decided_by
        message = (
            f"{challenge.stage.label} response overdue: the responder is reminded and the "
            f"{decider} decides whether to escalate (formflow escalate)."
        )
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
