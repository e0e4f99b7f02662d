"""When a response is due: a level's due date, the first contact and the cumulative
target, counted on the working calendar from the day the procedure says."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from formflow.core.calendar import WorkingCalendar
from formflow.core.policy import (
    COUNTED_FROM_CHALLENGE_START,
    COUNTED_FROM_RAISED,
    Policy,
    StagePolicy,
    TimescaleKind,
)
from formflow.core.record import (
    Challenge,
    Stage,
)


def stage_due(
    stage: StagePolicy,
    raised_on: dt.date,
    calendar: WorkingCalendar,
    started: dt.date | None = None,
    details: dict[str, str] | None = None,
) -> dt.date | None:
    """When a response to a level raised on ``raised_on`` is due, or None when the level
    has no due date: no fixed timescale, none stated, or a date the form has not given.
    ``started`` is the challenge's start; ``details`` the answers to the form's own fields."""
    timescale = stage.timescale
    if timescale.kind is TimescaleKind.SET_ON_FORM:  # on a day off: the next working day
        day = _detail_date(details, timescale.field)
        return calendar.next_working_day(day) if day else None
    start = _counted_from(stage, raised_on, started, details)
    if start is None or timescale.amount is None:
        return None
    match timescale.kind:
        case TimescaleKind.WORKING_DAYS:
            return calendar.add_working_days(start, timescale.amount)
        case TimescaleKind.HOURS:
            return calendar.add_working_days(start, math.ceil(timescale.amount / 24))
        case _:  # calendar days: a last day that is not a working day moves to the next one,
            # as a date set on the form does: one rule for every due date that is a day
            return calendar.next_working_day(start + dt.timedelta(days=timescale.amount))


def _counted_from(
    stage: StagePolicy,
    raised_on: dt.date,
    started: dt.date | None,
    details: dict[str, str] | None,
) -> dt.date | None:
    if stage.counted_from == COUNTED_FROM_RAISED:
        return raised_on
    if stage.counted_from == COUNTED_FROM_CHALLENGE_START:
        return started or raised_on
    return _detail_date(details, stage.counted_from)


def _detail_date(details: dict[str, str] | None, field: str | None) -> dt.date | None:
    value = (details or {}).get(field or "")
    return dt.date.fromisoformat(value) if value else None


def current_due(challenge: Challenge, policy: Policy, calendar: WorkingCalendar) -> dt.date | None:
    """The current level's response due date: as extended by agreement, else as the
    procedure says (None where it sets none)."""
    return challenge.due_extended_to or stage_due(
        policy.stage(challenge.stage),
        challenge.date_of_notification,
        calendar,
        challenge_start(challenge, policy),
        challenge.details,
    )


def first_contact_due(
    stage: StagePolicy, raised_on: dt.date, calendar: WorkingCalendar
) -> dt.date | None:
    """A milestone set in hours (cic-issues: a 1:1 discussion within 48 hours), counted as
    whole working days after day 0, rounded up: 48 hours is the 2nd working day."""
    if stage.first_contact_within_hours is None:
        return None
    return calendar.add_working_days(raised_on, math.ceil(stage.first_contact_within_hours / 24))


def challenge_start(challenge: Challenge, policy: Policy) -> dt.date:
    """When the formal challenge began: the first formal level raised, in history or now."""
    formal = [h.raised_on for h in challenge.history if _is_formal(policy, h.stage)]
    if formal:
        return formal[0]
    return challenge.date_of_notification


def _is_formal(policy: Policy, stage: Stage) -> bool:
    return policy.stage(stage).formal if policy.has_stage(stage) else stage != Stage.INFORMAL


@dataclass(frozen=True)
class Deadline:
    day_zero: dt.date
    due: dt.date | None
    """None: the level has no due date (no fixed timescale, none stated, or not yet set)."""
    overall_target: dt.date | None
    """The cumulative target from the start of the challenge, where the policy states one."""
    first_contact_due: dt.date | None
    warnings: tuple[str, ...]


def deadline(
    policy: Policy,
    stage: Stage,
    raised_on: dt.date,
    calendar: WorkingCalendar,
    challenge_started: dt.date | None = None,
    extended_to: dt.date | None = None,
    details: dict[str, str] | None = None,
) -> Deadline:
    """When a response to ``stage`` raised on ``raised_on`` is due under ``policy``."""
    rules = policy.stage(stage)
    due = extended_to or stage_due(rules, raised_on, calendar, challenge_started, details)
    target = (
        calendar.add_working_days(challenge_started or raised_on, rules.cumulative_working_days)
        if rules.cumulative_working_days is not None
        else None
    )
    contact = first_contact_due(rules, raised_on, calendar)
    dates = [d for d in (due, target, contact) if d is not None]
    return Deadline(
        day_zero=calendar.day_zero(raised_on),
        due=due,
        overall_target=target,
        first_contact_due=contact,
        warnings=tuple(calendar.warnings(dates)),
    )


def no_due_date(challenge: Challenge, policy: Policy) -> str:
    rules = policy.stage(challenge.stage)
    if not rules.timescale.counts:
        return rules.timescale.described(policy.field_label)
    missing = rules.timescale.field or rules.counted_from
    return f"no due date until the form gives '{policy.field_label(missing)}'"
