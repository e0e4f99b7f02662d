"""Events business support record for someone (withdraw, close, extend ...): applied by
the engine, staged, recorded and published as a dropped form's are."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from formflow.core.engine import Event, Transition, apply, check_mergeable
from formflow.core.record import Challenge
from formflow.errors import ChallengeChanged, FormflowError
from formflow.pipeline.outputs import Outputs, Staged

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Acted:
    """What an event recorded for someone did: the transition, and the paths under
    outbox/ of the documents and covering emails it published."""

    transition: Transition
    outputs: tuple[str, ...]


def record_version(challenge: Challenge) -> str:
    """A short fingerprint of the record as it stands: a page that acts on a challenge
    carries it, and the action is refused when the register's record no longer has it."""
    text = json.dumps(challenge.to_dict(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class RecordedEvents(Outputs):
    """Events recorded from the command line; ``Pipeline`` is one."""

    def act(
        self,
        reference: str,
        event: Event,
        *,
        by: str,
        reason: str | None,
        merge_into: str | None = None,
        seen: str | None = None,
    ) -> Acted:
        """An event business support record for someone: applied by the engine, its
        documents and covering emails staged, everything committed in one register
        transaction (the watcher's jobs see the record before or after, never half), then
        published into outbox/REFERENCE/ as a dropped form's are. ``merge_into`` names the
        challenge kept when ``event`` merges this one into it. ``seen`` is the
        ``record_version`` of the record the person decided on (a dashboard page): checked
        inside the transaction, so a form the watcher recorded meanwhile is never
        overruled unseen."""
        with self._staging("cli") as job_dir:
            challenge = self._registered(reference)
            if seen is not None and seen != record_version(challenge):
                raise ChallengeChanged(
                    f"{reference} has changed since you opened it (a form or another person "
                    "has recorded something), so nothing has been recorded. Open the "
                    "challenge again, check what changed, and decide again."
                )
            if merge_into is not None:
                check_mergeable(self._registered(merge_into), challenge)
            policy = self.services.policies(challenge.policy)
            transition = apply(challenge, event, policy, self.services.settings.calendar)
            assessment = self._assess(transition.challenge, self.services.now().date())
            staged: list[Staged] = []
            for written in self._write(job_dir, transition, assessment, staged):
                self._draft(job_dir, written, staged)
            self._record_state(
                transition.challenge,
                [transition],
                staged,
                None,
                assessment=assessment,
                actors=[by],
                reasons=[reason],
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
