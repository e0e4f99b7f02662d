"""Where a challenge stands: its status, who must respond and by when, what is overdue,
which agreed actions are due a check and which duties to record are outstanding."""

from __future__ import annotations

import datetime as dt

from formflow.core.calendar import WorkingCalendar
from formflow.core.engine.deadlines import challenge_start, deadline, no_due_date
from formflow.core.engine.events import Assessment, Status
from formflow.core.policy import Policy
from formflow.core.record import (
    Challenge,
    ClosureKind,
)


def status_of(challenge: Challenge) -> Status:
    if challenge.closure is not None:
        return {
            ClosureKind.RESOLVED: Status.RESOLVED,
            ClosureKind.CLOSED_UNRESOLVED: Status.CLOSED_UNRESOLVED,
            ClosureKind.REFERRED_TO_CAFCASS: Status.REFERRED_TO_CAFCASS,
            ClosureKind.WITHDRAWN: Status.WITHDRAWN,
            ClosureKind.MERGED: Status.MERGED,
        }[challenge.closure.kind]
    if challenge.cafcass.consideration_date is not None:
        return Status.CAFCASS_CONSIDERATION
    return Status.AWAITING_RESPONSE


def assess(
    challenge: Challenge, policy: Policy, calendar: WorkingCalendar, today: dt.date
) -> Assessment:
    stage = policy.stage(challenge.stage)
    status = status_of(challenge)
    awaiting = status is Status.AWAITING_RESPONSE
    given_role = challenge.addressed_to.role if challenge.addressed_to else None
    when = (
        deadline(
            policy,
            challenge.stage,
            challenge.date_of_notification,
            calendar,
            challenge_start(challenge, policy),
            challenge.due_extended_to,
            challenge.details,
        )
        if awaiting
        else None
    )
    checks = (
        tuple(a for a in challenge.actions if a.by_when is not None and a.by_when <= today)
        if status is Status.RESOLVED
        else ()
    )
    return Assessment(
        status=status,
        stage=stage.stage,
        responder=stage.responding(given_role) if awaiting else None,
        responder_name=challenge.addressed_to.name if awaiting and challenge.addressed_to else None,
        copy_to=stage.copy_to,
        raised_on=challenge.date_of_notification,
        due=when.due if when else None,
        overall_target=when.overall_target if when else None,
        first_contact_due=when.first_contact_due if when else None,
        overdue=(
            when is not None
            and when.due is not None
            and today > when.due
            and challenge.response is None  # answered, and waiting for the IRO's decision
        ),
        actions_to_check=checks,
        warnings=when.warnings if when else (),
        outstanding=outstanding_duties(challenge, policy),
        due_note=no_due_date(challenge, policy) if when and when.due is None else "",
    )


def outstanding_duties(challenge: Challenge, policy: Policy) -> tuple[str, ...]:
    """Each duty to record at a level the challenge has reached that has no date yet."""
    reached = {h.stage for h in challenge.history} | {challenge.stage}
    return tuple(
        f"Outstanding at {level.stage.label}: {duty}. Give the date it was done in "
        f"'{field.label}' on the form."
        for level in policy.stages
        if level.stage in reached
        for duty, field in zip(level.duties, level.duty_fields(), strict=True)
        if not challenge.details.get(field.id)
    )
