"""The stage engine: pure functions over a challenge, its policy, the calendar and a date.

``assess`` says where a challenge stands (who must respond, by when, what is overdue);
``apply`` turns one event into the next state of the record, or refuses it with a
``TransitionError`` whose message says why. Nothing here reads a clock or a file.

    Raise ──► awaiting response ──Respond(resolved)──► resolved, actions tracked
                 │   ▲                                   │
                 │   └──── ActionsNotImplemented ◄───────┘
                 ├─Respond(not resolved) / ResponseOverdue──► next stage (awaiting response)
                 │                                         └─ top of the ladder:
                 │                                             child in care ► CAFCASS consideration
                 │                                             otherwise     ► closed unresolved
                 └─RequestCafcass──► referred (or concurrent with the escalation)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from formflow.core.calendar import WorkingCalendar, uk_date
from formflow.core.policy import (
    COUNTED_FROM_CHALLENGE_START,
    COUNTED_FROM_RAISED,
    Policy,
    StagePolicy,
    TimescaleKind,
)
from formflow.core.record import (
    Action,
    Challenge,
    Closure,
    ClosureKind,
    Decision,
    IroDecision,
    Person,
    Response,
    Role,
    Stage,
    StageOutcome,
    StageRecord,
)
from formflow.errors import TransitionError


class Status(StrEnum):
    AWAITING_RESPONSE = "awaiting response"
    RESOLVED = "resolved"
    CAFCASS_CONSIDERATION = "CAFCASS consideration"
    REFERRED_TO_CAFCASS = "referred to CAFCASS"
    CLOSED_UNRESOLVED = "closed unresolved"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


CLOSED = frozenset(
    {Status.CLOSED_UNRESOLVED, Status.REFERRED_TO_CAFCASS, Status.WITHDRAWN, Status.MERGED}
)
"""Statuses no later event of the ladder changes (a resolved challenge may still re-open)."""


class Document(StrEnum):
    """What a transition asks the shell to write."""

    NEXT_STAGE_FORM = "next-stage form"
    FINAL_RECORD = "final record"
    CAFCASS_PACK = "CAFCASS pack"
    CLOSURE_NOTE = "closure note"
    IRO_NOTE = "note to the IRO"
    """A covering email only: something the IRO must decide on."""


# --- events -------------------------------------------------------------------------


@dataclass(frozen=True)
class Raise:
    """The IRO/CP chair raises the challenge at ``stage`` (informal or formal) on ``on``."""

    stage: Stage
    on: dt.date


@dataclass(frozen=True)
class Respond:
    """The responder's answer to the current stage."""

    on: dt.date
    resolved: bool
    text: str | None = None
    by: str | None = None
    actions: tuple[Action, ...] = ()
    agreed_by: tuple[str, ...] = ()
    """At a level with joint responders: those the response records as satisfied."""


@dataclass(frozen=True)
class ResponseOverdue:
    """No response by the stage's due date, noticed on ``on``."""

    on: dt.date


@dataclass(frozen=True)
class Escalate:
    """A named person decides to move the challenge to the next level (where the procedure
    leaves escalation after a missed deadline, or after a response, to their decision)."""

    on: dt.date
    by: str
    reason: str


@dataclass(frozen=True)
class ActionsNotImplemented:
    """The actions agreed at resolution were not carried out, or did not work: the IRO
    re-opens the challenge where the procedure says."""

    on: dt.date
    reason: str = ""
    stage: Stage | None = None
    """The level the IRO chose, where the procedure does not say where the challenge returns."""


@dataclass(frozen=True)
class RequestCafcass:
    on: dt.date


@dataclass(frozen=True)
class CloseUnresolved:
    """The IRO decides to close the challenge unresolved: while a response is awaited, or
    after CAFCASS consideration instead of referring."""

    on: dt.date
    reason: str


@dataclass(frozen=True)
class Withdraw:
    """The IRO withdraws the challenge: raised in error, or the matter is now resolved."""

    on: dt.date
    reason: str


@dataclass(frozen=True)
class ExtendDeadline:
    """An agreed extension of the current stage's response deadline to ``to``."""

    on: dt.date
    to: dt.date
    reason: str


@dataclass(frozen=True)
class Reassign:
    """The current stage is handed to another responder (sickness, a change of team)."""

    on: dt.date
    to: Person
    reason: str


AMENDABLE: dict[str, str] = {
    "case_number": "LCS number",
    "child_name": "Name of Child",
    "date_of_birth": "DoB",
    "social_worker": "Social Worker",
    "team": "Team",
    "team_manager": "Team Manager",
    "raised_by_name": "From (the IRO or CP chair)",
    "concern": "The concern",
}
"""Details business support may correct (``formflow amend``), with the form's label."""

CHILD_DETAILS = frozenset({"case_number", "child_name", "date_of_birth"})
"""Amended silently in messages: the audit trail never carries a child's details."""


@dataclass(frozen=True)
class Amend:
    """A detail typed wrongly is corrected (``field`` is a key of ``AMENDABLE``)."""

    on: dt.date
    field: str
    value: str | dt.date
    reason: str


@dataclass(frozen=True)
class MergeInto:
    """This challenge is the same as ``into`` (same child, same concern): it closes, and
    the other carries on."""

    on: dt.date
    into: str
    reason: str


@dataclass(frozen=True)
class LateResponse:
    """A response to ``stage`` that arrived after that stage had moved on, or that differs
    from the answer it already had: kept against that stage, and the IRO told."""

    on: dt.date
    stage: Stage
    response: Response


Event = (
    Raise
    | Respond
    | ResponseOverdue
    | Escalate
    | ActionsNotImplemented
    | RequestCafcass
    | CloseUnresolved
    | Withdraw
    | ExtendDeadline
    | Reassign
    | Amend
    | MergeInto
    | LateResponse
)


@dataclass(frozen=True)
class Transition:
    challenge: Challenge
    message: str
    """One sentence for the audit trail and the notice to the IRO; no child's name."""
    documents: tuple[Document, ...] = ()


@dataclass(frozen=True)
class Assessment:
    status: Status
    stage: Stage
    responder: str | None
    """The role that must respond now, where someone must."""
    responder_name: str | None
    copy_to: tuple[str, ...]
    raised_on: dt.date
    due: dt.date | None
    overall_target: dt.date | None
    """The cumulative target from the start of the challenge, where the policy states one."""
    first_contact_due: dt.date | None
    overdue: bool
    actions_to_check: tuple[Action, ...]
    """Agreed actions whose by-when date has come: the IRO checks they were done."""
    warnings: tuple[str, ...]
    due_note: str = ""
    """Why a response awaited has no due date ("no fixed timescale (as agreed)"); empty
    when it has one or nothing is awaited."""
    outstanding: tuple[str, ...] = ()
    """Duties to record at the levels reached that have no date yet, one sentence each."""


# --- deadlines ----------------------------------------------------------------------


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


# --- assessment ---------------------------------------------------------------------


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
        due_note=_no_due_date(challenge, policy) if when and when.due is None else "",
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


# --- transitions --------------------------------------------------------------------


def apply(
    challenge: Challenge, event: Event, policy: Policy, calendar: WorkingCalendar
) -> Transition:
    """The next state after ``event``; a ``TransitionError`` says why an event is refused."""
    if challenge.policy != policy.id:
        raise TransitionError(
            f"This challenge follows the {challenge.policy} procedure, not {policy.id}."
        )
    transition = _dispatch(challenge, event, policy, calendar)
    _require_in_order(challenge, event)  # after the state's own refusal, which says more
    return transition


def _dispatch(
    challenge: Challenge, event: Event, policy: Policy, calendar: WorkingCalendar
) -> Transition:
    match event:
        case Raise():
            return _raise(challenge, event, policy, calendar)
        case Respond():
            return _respond(challenge, event, policy, calendar)
        case ResponseOverdue():
            return _overdue(challenge, event, policy, calendar)
        case Escalate():
            return _escalate_by_decision(challenge, event, policy, calendar)
        case ActionsNotImplemented():
            return _actions_not_implemented(challenge, event, policy, calendar)
        case RequestCafcass():
            return _request_cafcass(challenge, event, policy)
        case CloseUnresolved():
            return _close_unresolved(challenge, event)
        case Withdraw():
            return _withdraw(challenge, event)
        case ExtendDeadline():
            return _extend(challenge, event, policy, calendar)
        case Reassign():
            return _reassign(challenge, event)
        case Amend():
            return _amend(challenge, event)
        case MergeInto():
            return _merge_into(challenge, event)
        case LateResponse():
            return _late_response(challenge, event)


WHAT: dict[type, str] = {
    Respond: "record a response",
    ResponseOverdue: "treat the response as overdue",
    Escalate: "escalate it",
    ActionsNotImplemented: "re-open it",
    RequestCafcass: "refer it to CAFCASS",
    CloseUnresolved: "close it unresolved",
    Withdraw: "withdraw it",
    ExtendDeadline: "extend the deadline",
    Reassign: "hand it on",
    Amend: "amend it",
    MergeInto: "merge it",
    LateResponse: "record a late response",
}
"""What each event does to a challenge, in the words a refusal uses."""


def _require_in_order(challenge: Challenge, event: Event) -> None:
    """One rule for every event's date: never before the moment it answers (the current
    stage raised; a resolution for what follows one; the earlier stage a late answer is
    to; the challenge itself for a CAFCASS request). A new challenge has no earlier day;
    a response says it in the form's words (``_respond``)."""
    if isinstance(event, Raise | Respond):
        return
    since = _since(challenge, event)
    if since is None or event.on >= since[0]:
        return
    raise TransitionError(
        f"Cannot {WHAT[type(event)]} on {uk_date(event.on)}: {since[1]} on "
        f"{uk_date(since[0])}, so the date must be on or after that day."
    )


def _since(challenge: Challenge, event: Event) -> tuple[dt.date, str] | None:
    """The earliest day ``event`` may be dated, and what happened on it."""
    label = challenge.stage.label
    if isinstance(event, LateResponse):
        raised = [h.raised_on for h in challenge.history if h.stage == event.stage]
        return (raised[-1], f"{event.stage.label} was raised") if raised else None
    if isinstance(event, RequestCafcass):
        return challenge.notified_on, "the challenge was notified"
    closure = challenge.closure
    if closure is not None and closure.date >= challenge.date_of_notification:
        return closure.date, f"the challenge was {closure.kind.value} at {label}"
    return challenge.date_of_notification, f"{label} was raised"


def _require_status(challenge: Challenge, allowed: set[Status], what: str) -> None:
    status = status_of(challenge)
    if status not in allowed:
        raise TransitionError(f"Cannot {what}: the challenge is {status.value}.")


def _check_coverage(challenge: Challenge, policy: Policy) -> None:
    """A role or legal status the record does not state is not held against it."""
    role = challenge.raised_by.role
    if role is not None and role not in policy.raised_by_roles:
        roles = " or ".join(sorted(r.value for r in policy.raised_by_roles))
        raise TransitionError(
            f"The {policy.id} procedure is for challenges raised by an {roles}, "
            f"not by a {role.value}."
        )
    status = challenge.child.legal_status
    if status is not None and status not in policy.children:
        raise TransitionError(
            f"The {policy.id} procedure does not cover a child whose legal status is "
            f"'{status.value}'."
        )


def _require_ladder(challenge: Challenge, policy: Policy) -> tuple[StagePolicy, ...]:
    """The ladder this challenge climbs. Where IROs and CP chairs climb different ones, the
    record must say which the person raising it is: the one rule that needs the role."""
    role = challenge.raised_by.role
    if role is None and policy.has_role_ladders:
        raise TransitionError(
            f"The {policy.id} procedure has different levels for IROs and CP chairs, and "
            "the form does not say which raised this challenge: tick 'IRO' or 'CP chair' "
            "(or write '(IRO)' or '(CP chair)' after the name) and drop it again."
        )
    return policy.ladder(role)


def _raise(
    challenge: Challenge, event: Raise, policy: Policy, calendar: WorkingCalendar
) -> Transition:
    _check_coverage(challenge, policy)
    ladder = _require_ladder(challenge, policy)
    levels = [s.stage for s in ladder]
    if event.stage not in levels:
        raise TransitionError(
            f"The {policy.id} procedure has no level {policy.named(event.stage).label}"
            f"{_for_whom(challenge, policy)}; start at {levels[0].label}."
        )
    stage = policy.stage(event.stage)
    done = {h.stage for h in challenge.history}
    # An entry point chosen by seriousness is a way in, not a bypass of the levels below.
    below = (
        [] if stage.entry_when and not challenge.history else ladder[: levels.index(event.stage)]
    )
    passed = [s for s in below if s.stage not in done]
    blocking = [s for s in passed if s.may_be_bypassed is False]
    if blocking:
        raise TransitionError(
            f"The {policy.id} procedure does not allow {blocking[0].stage.label} to be "
            f"bypassed: raise the challenge at {blocking[0].stage.label} first."
        )
    raised = replace(
        challenge,
        stage=stage.stage,
        date_of_notification=event.on,
        addressed_to=_addressee(challenge.addressed_to, stage),
        response=None,
        closure=None,
    )
    return Transition(
        raised,
        f"Raised at {stage.stage.label}{_entered(stage, below)}{_with_responder(stage)}; "
        f"{_due_words(raised, policy, calendar)}.{_bypass_decided(passed)}",
        (Document.NEXT_STAGE_FORM,),
    )


def _entered(stage: StagePolicy, below: Sequence[StagePolicy]) -> str:
    """`` (where the procedure lets a challenge start here for a serious matter)``: the
    entry point's condition, on the record, when no level below it was climbed."""
    if not stage.entry_when or below:
        return ""
    return f" (the procedure lets a challenge start here {stage.entry_when})"


def _with_responder(stage: StagePolicy) -> str:
    """`` with the Team Manager``; nothing where the procedure does not say who responds."""
    if stage.responders.not_stated is not None:
        return ""
    if stage.for_information:
        return f" for the information of the {stage.responder}"
    return f" with the {stage.responding(None)}"


def _bypass_decided(passed: list[StagePolicy]) -> str:
    """The IRO's decision, recorded, to go past a level the procedure does not say may be
    bypassed."""
    unstated = [s.stage.label for s in passed if s.may_be_bypassed is None]
    if not unstated:
        return ""
    return (
        f" The procedure does not say whether {' or '.join(unstated)} may be bypassed: "
        "bypassed on the IRO's decision."
    )


def _for_whom(challenge: Challenge, policy: Policy) -> str:
    role = challenge.raised_by.role
    if not (role and policy.has_role_ladders):
        return ""
    return f" for a challenge raised by {'an' if role is Role.IRO else 'a'} {role.value}"


def _due_words(challenge: Challenge, policy: Policy, calendar: WorkingCalendar) -> str:
    """``response due by the end of 8 December 2026``, or why there is no due date."""
    due = current_due(challenge, policy, calendar)
    return f"response due by the end of {uk_date(due)}" if due else _no_due_date(challenge, policy)


def _no_due_date(challenge: Challenge, policy: Policy) -> str:
    rules = policy.stage(challenge.stage)
    if not rules.timescale.counts:
        return rules.timescale.described(policy.field_label)
    missing = rules.timescale.field or rules.counted_from
    return f"no due date until the form gives '{policy.field_label(missing)}'"


def _addressee(current: Person | None, stage: StagePolicy) -> Person:
    """Keep the named person the form gives; the role is the policy's responder (the one
    the form gives, where the procedure sets an order and it is one of them), or the role
    the form gives where the procedure does not say who responds."""
    if stage.responders.not_stated is not None:
        return Person(current.name, current.role) if current else Person(None, None)
    if current is None:
        return Person(None, stage.responding(None))
    return Person(current.name, stage.responding(current.role))


def _respond(
    challenge: Challenge, event: Respond, policy: Policy, calendar: WorkingCalendar
) -> Transition:
    _refuse_answer_to_closed(challenge)
    _require_status(challenge, {Status.AWAITING_RESPONSE}, "record a response")
    _refuse_answer_for_information(challenge, policy)
    if event.on < challenge.date_of_notification:
        raise TransitionError(
            f"The response is dated {uk_date(event.on)}, before {challenge.stage.label} was "
            f"raised on {uk_date(challenge.date_of_notification)}: correct 'Date of response' "
            "to the date the response was written (on or after that day), or leave it blank "
            "to use the day the form arrives."
        )
    _require_joint_agreement(challenge, event, policy)
    answered = replace(
        challenge,
        response=Response(event.text, event.on, event.by, event.resolved, event.agreed_by),
        actions=event.actions or challenge.actions,
    )
    if not event.resolved:
        return _escalate(answered, StageOutcome.NOT_RESOLVED, event.on, policy, calendar)
    finalised = replace(
        answered,
        closure=Closure(event.on, ClosureKind.RESOLVED, f"Resolved at {challenge.stage.label}."),
    )
    return Transition(
        finalised,
        f"Resolved at {challenge.stage.label}; {len(finalised.actions)} agreed "
        f"{'action' if len(finalised.actions) == 1 else 'actions'} tracked.",
        (Document.FINAL_RECORD,),
    )


def _refuse_answer_for_information(challenge: Challenge, policy: Policy) -> None:
    rules = policy.stage(challenge.stage)
    if rules.for_information:
        raise TransitionError(
            f"Nobody responds at {challenge.stage.label}: the procedure raises it for the "
            f"information of the {rules.responder} only, so this response has not been "
            "recorded. The IRO ends the challenge with `formflow close` or `withdraw`."
        )


def _refuse_answer_to_closed(challenge: Challenge) -> None:
    """A response to a challenge that was withdrawn, merged or closed before anyone
    answered: nothing on the form is wrong, and the note says where things stand."""
    closure = challenge.closure
    if closure is None or status_of(challenge) not in CLOSED:
        return
    raise TransitionError(
        f"{challenge.reference} was {closure.kind.value} on {uk_date(closure.date)} "
        f"({closure.reason.rstrip('.')}), so this response has not been recorded.",
        advice=(
            "Nothing needs correcting on this form, and no response is needed for "
            f"{challenge.reference}."
            + (
                " If the response still matters, give it on the latest form formflow sent "
                "for the challenge it was merged into."
                if closure.kind is ClosureKind.MERGED
                else ""
            )
        ),
    )


def _require_joint_agreement(challenge: Challenge, event: Respond, policy: Policy) -> None:
    """A level with joint responders, or people who must be satisfied beside the responder,
    is resolved only when every one of them is satisfied."""
    rules = policy.stage(challenge.stage)
    if not event.resolved:
        return
    missing = [r for r in rules.must_agree if r not in event.agreed_by]
    if missing:
        raise TransitionError(
            f"{challenge.stage.label} is resolved only when the {' and '.join(rules.must_agree)} are "
            "satisfied, and "
            "the form does not record the agreement of " + " and ".join(missing) + ": tick "
            "'Agreed by' for each of them, or tick 'Not resolved', and drop it again."
        )


def _overdue(
    challenge: Challenge, event: ResponseOverdue, policy: Policy, calendar: WorkingCalendar
) -> Transition:
    _require_status(challenge, {Status.AWAITING_RESPONSE}, "treat the response as overdue")
    rules = policy.stage(challenge.stage)
    if rules.decided_by is not None:
        raise TransitionError(
            f"Under the {policy.id} procedure a missed deadline at {challenge.stage.label} "
            f"does not move the challenge on by itself: the {rules.decided_by} decides "
            "(formflow escalate)."
        )
    due = current_due(challenge, policy, calendar)
    if due is None:
        raise TransitionError(
            f"{challenge.stage.label} has no due date, so its response cannot be overdue."
        )
    if event.on <= due:
        raise TransitionError(
            f"The {challenge.stage.label} response is not overdue until after {due.isoformat()}."
        )
    if rules.accepted_on_timeout:
        return _accepted(challenge, due, event.on)
    return _escalate(challenge, StageOutcome.RESPONSE_OVERDUE, event.on, policy, calendar)


def _accepted(challenge: Challenge, due: dt.date, on: dt.date) -> Transition:
    """A contest window closed: what was put at the level stands, and the challenge ends
    resolved, on the day the sweep finds nobody contested it."""
    reason = (
        f"Not contested by the end of {uk_date(due)}: under the procedure what was put at "
        f"{challenge.stage.label} stands."
    )
    ended = replace(challenge, closure=Closure(on, ClosureKind.RESOLVED, reason))
    return Transition(
        ended, f"Resolved at {challenge.stage.label}. {reason}", (Document.FINAL_RECORD,)
    )


def _move_to(
    challenge: Challenge,
    target: Stage,
    outcome: StageOutcome,
    on: dt.date,
    policy: Policy,
    calendar: WorkingCalendar,
) -> Challenge:
    """The current stage goes into history as it ended; the challenge opens ``target``."""
    ended = StageRecord(
        stage=challenge.stage,
        raised_on=challenge.date_of_notification,
        outcome=outcome,
        due=current_due(replace(challenge, due_extended_to=None), policy, calendar),
        addressed_to=challenge.addressed_to,
        concern=challenge.concern,
        actions=challenge.actions,
        response=challenge.response,
        further_responses=challenge.further_responses,
    )
    return replace(
        challenge,
        stage=policy.named(target),
        date_of_notification=on,
        due_extended_to=None,
        addressed_to=_addressee(None, policy.stage(target)),
        actions=(),
        response=None,
        further_responses=(),
        final_comments=None,
        closure=None,
        history=(*challenge.history, ended),
    )


def _escalate(
    challenge: Challenge,
    outcome: StageOutcome,
    on: dt.date,
    policy: Policy,
    calendar: WorkingCalendar,
) -> Transition:
    rule = policy.stage(challenge.stage).on_not_resolved
    if rule is None and outcome is not StageOutcome.ESCALATED:
        return _ask_the_iro(challenge, outcome)
    decided = outcome is StageOutcome.ESCALATED and rule is None
    target = _next_level(challenge, policy) if rule == "next" or decided else None
    if target is not None:
        moved = _move_to(challenge, target, outcome, on, policy, calendar)
        what = (
            f"{challenge.stage.label} escalated"
            if outcome is StageOutcome.ESCALATED
            else f"{challenge.stage.label} {outcome.value}: escalated"
        )
        return Transition(
            moved,
            f"{what} to {moved.stage.label}{_with_responder(policy.stage(target))}; "
            f"{_due_words(moved, policy, calendar)}.",
            (Document.NEXT_STAGE_FORM,),
        )
    return _end_of_ladder(challenge, outcome, on, policy)


def _ask_the_iro(challenge: Challenge, outcome: StageOutcome) -> Transition:
    """The procedure does not say where the challenge goes: nothing moves, and the IRO is
    asked to decide."""
    what = "is not resolved" if outcome is StageOutcome.NOT_RESOLVED else "is not answered in time"
    return Transition(
        challenge,
        f"The procedure does not say what happens when {challenge.stage.label} {what}: "
        "decide with `formflow escalate`, `close` or `withdraw`.",
        (Document.IRO_NOTE,),
    )


def _next_level(challenge: Challenge, policy: Policy) -> Stage | None:
    _require_ladder(challenge, policy)
    return policy.next_stage(challenge.stage, challenge.raised_by.role)


def _escalate_by_decision(
    challenge: Challenge, event: Escalate, policy: Policy, calendar: WorkingCalendar
) -> Transition:
    _require_status(challenge, {Status.AWAITING_RESPONSE}, "escalate it")
    _require_reason(event.reason, "escalate it")
    if _next_level(challenge, policy) is None:
        raise TransitionError(
            f"{challenge.stage.label} is the top of the {policy.id} procedure: there is no "
            "level to escalate to. Close the challenge, or refer it to CAFCASS where the "
            "child is in care."
        )
    moved = _escalate(challenge, StageOutcome.ESCALATED, event.on, policy, calendar)
    return replace(moved, message=f"{moved.message} Decided by {event.by}: {event.reason}")


def _cafcass_open_to(challenge: Challenge, policy: Policy) -> bool:
    """Whether the procedure's CAFCASS route may be open to this child. A legal status the
    record does not state keeps it open: the referral itself asks for it; so does a route
    the procedure does not mention: the IRO decides."""
    available = policy.cafcass.available is not False
    status = challenge.child.legal_status
    if status is None:
        return available and any(s.in_care for s in policy.cafcass.eligible)
    return available and status.in_care and status in policy.cafcass.eligible


def _end_of_ladder(
    challenge: Challenge, outcome: StageOutcome, on: dt.date, policy: Policy
) -> Transition:
    label = challenge.stage.label
    if _cafcass_open_to(challenge, policy):
        considering = replace(challenge, cafcass=replace(challenge.cafcass, consideration_date=on))
        unstated = (
            " The record does not say whether the child is in care: a referral needs it stated."
            if challenge.child.in_care is None
            else ""
        ) + (
            " The procedure does not mention CAFCASS: refer, or close the challenge with "
            "`formflow close`."
            if policy.cafcass.available is None
            else ""
        )
        return Transition(
            considering,
            f"{label} {outcome.value} at the top of the procedure: the IRO considers a "
            f"referral to CAFCASS.{unstated}",
            (Document.CAFCASS_PACK,),
        )
    reason = (
        f"{label} {outcome.value} at the top of the {policy.id} procedure. A referral to "
        "CAFCASS is open only to children in care, so the challenge is closed unresolved."
    )
    closed = replace(challenge, closure=Closure(on, ClosureKind.CLOSED_UNRESOLVED, reason))
    return Transition(closed, reason, (Document.CLOSURE_NOTE,))


def _actions_not_implemented(
    challenge: Challenge, event: ActionsNotImplemented, policy: Policy, calendar: WorkingCalendar
) -> Transition:
    _require_status(challenge, {Status.RESOLVED}, "re-open it for actions not implemented")
    target = event.stage or policy.return_level(challenge.stage, challenge.raised_by.role)
    if target is None:
        raise TransitionError(
            f"The procedure does not say where the challenge goes when the actions agreed at "
            f"{challenge.stage.label} are not implemented: decide, and give the level with "
            "`formflow reopen --stage LEVEL`."
        )
    moved = _move_to(
        challenge, target, StageOutcome.ACTIONS_NOT_IMPLEMENTED, event.on, policy, calendar
    )
    ended = replace(moved.history[-1], reason=event.reason.strip() or None)
    reopened = replace(moved, history=(*moved.history[:-1], ended))
    why = f" ({event.reason})" if event.reason else ""
    return Transition(
        reopened,
        f"Agreed actions from {challenge.stage.label} not implemented or not effective{why}: "
        f"the challenge returns to {reopened.stage.label}"
        f"{_with_responder(policy.stage(target))}.",
        (Document.NEXT_STAGE_FORM,),
    )


def _request_cafcass(challenge: Challenge, event: RequestCafcass, policy: Policy) -> Transition:
    rules = policy.cafcass
    legal_status = challenge.child.legal_status
    if legal_status is None:
        raise TransitionError(
            "A referral to CAFCASS is only for a child in care (Regulation 45), and the record "
            "does not say whether this child is in care: state it on the form (tick 'Child in "
            "care', or write '(child in care)' after the child's name) and drop it again."
        )
    if not legal_status.in_care:
        raise TransitionError(
            "A referral to CAFCASS is only for a child in care (Regulation 45); this child's "
            f"legal status is '{legal_status.value}'."
        )
    if not _cafcass_open_to(challenge, policy):
        raise TransitionError(f"The {policy.id} procedure has no CAFCASS referral route.")
    status = status_of(challenge)
    if status in CLOSED:
        raise TransitionError(f"Cannot refer to CAFCASS: the challenge is {status.value}.")
    if rules.when == "after_final_stage" and status is not Status.CAFCASS_CONSIDERATION:
        raise TransitionError(
            f"The {policy.id} procedure refers to CAFCASS only after the last stage has ended "
            "unresolved."
        )
    missing = [
        p.label
        for p in rules.prerequisites
        if (done := challenge.cafcass.prerequisites.get(p.id)) is None or done > event.on
    ]
    if missing:
        raise TransitionError(
            "Before the referral to CAFCASS, the procedure requires, with a date on or before "
            f"{event.on.isoformat()}: " + "; ".join(missing) + "."
        )
    requested = replace(
        challenge.cafcass, requested=True, request_date=event.on, consideration_date=None
    )
    concurrent = rules.concurrent is not False and status is Status.AWAITING_RESPONSE
    if concurrent:
        unstated = (
            " The procedure does not say whether it may: close or withdraw the challenge if "
            "it should stop."
            if rules.concurrent is None
            else ""
        )
        return Transition(
            replace(challenge, cafcass=requested),
            f"Referral to CAFCASS requested; the escalation continues alongside it.{unstated}",
            (Document.CAFCASS_PACK,),
        )
    reason = "Referred to CAFCASS (Regulation 45)."
    referred = replace(
        challenge,
        cafcass=requested,
        closure=Closure(event.on, ClosureKind.REFERRED_TO_CAFCASS, reason),
    )
    return Transition(referred, reason, (Document.CAFCASS_PACK,))


def _require_reason(reason: str, what: str) -> None:
    if not reason.strip():
        raise TransitionError(f"Give the reason to {what}: it goes on the record.")


def _ended_by_iro(
    challenge: Challenge, on: dt.date, reason: str, kind: ClosureKind, what: str
) -> Challenge:
    """The IRO ends an open challenge (closes it unresolved, or withdraws it)."""
    _require_status(challenge, {Status.AWAITING_RESPONSE, Status.CAFCASS_CONSIDERATION}, what)
    _require_reason(reason, what)
    return replace(
        challenge,
        cafcass=replace(challenge.cafcass, consideration_date=None),
        closure=Closure(on, kind, reason),
    )


def _close_unresolved(challenge: Challenge, event: CloseUnresolved) -> Transition:
    closed = _ended_by_iro(
        challenge, event.on, event.reason, ClosureKind.CLOSED_UNRESOLVED, "close it unresolved"
    )
    return Transition(
        closed,
        f"Closed unresolved at {challenge.stage.label} by the IRO's decision: {event.reason}",
        (Document.CLOSURE_NOTE,),
    )


def _withdraw(challenge: Challenge, event: Withdraw) -> Transition:
    withdrawn = _ended_by_iro(
        challenge, event.on, event.reason, ClosureKind.WITHDRAWN, "withdraw it"
    )
    return Transition(
        withdrawn,
        f"Withdrawn at {challenge.stage.label} by the IRO: {event.reason.rstrip('.')}. "
        "No response is needed.",
        (Document.CLOSURE_NOTE,),
    )


def _extend(
    challenge: Challenge, event: ExtendDeadline, policy: Policy, calendar: WorkingCalendar
) -> Transition:
    _require_status(challenge, {Status.AWAITING_RESPONSE}, "extend the response deadline")
    _require_reason(event.reason, "extend the deadline")
    current = current_due(challenge, policy, calendar)
    if current is None:
        raise TransitionError(
            f"{challenge.stage.label} has no due date under the {policy.id} procedure "
            f"({policy.stage(challenge.stage).timescale.described(policy.field_label)}), so "
            "there is nothing to extend."
        )
    if event.to <= current:
        raise TransitionError(
            f"The {challenge.stage.label} response is already due by {uk_date(current)}: an "
            "extension must be to a later date."
        )
    if event.to < event.on:
        raise TransitionError(
            f"{uk_date(event.to)} has already passed (the extension is recorded on "
            f"{uk_date(event.on)}): extend to that day or a later working day."
        )
    if not calendar.is_working_day(event.to):
        raise TransitionError(f"{uk_date(event.to)} is not a working day: extend to a working day.")
    extended = replace(challenge, due_extended_to=event.to)
    return Transition(
        extended,
        f"{challenge.stage.label} response deadline extended from {uk_date(current)} to "
        f"{uk_date(event.to)}: {event.reason}",
        (Document.NEXT_STAGE_FORM,),
    )


def _reassign(challenge: Challenge, event: Reassign) -> Transition:
    _require_status(challenge, {Status.AWAITING_RESPONSE}, "hand it to another responder")
    _require_reason(event.reason, "hand it on")
    if not event.to.name or not event.to.role:
        raise TransitionError("Name the manager who takes it on, and their role.")
    if event.to == challenge.addressed_to:
        raise TransitionError(
            f"{challenge.stage.label} is already with {event.to.name}, {event.to.role}."
        )
    moved = replace(challenge, addressed_to=event.to)
    return Transition(
        moved,
        f"{challenge.stage.label} handed to {event.to.name}, {event.to.role}: {event.reason}",
        (Document.NEXT_STAGE_FORM,),
    )


def _amend(challenge: Challenge, event: Amend) -> Transition:
    if event.field not in AMENDABLE:
        raise TransitionError(
            f"formflow cannot amend '{event.field}': amend one of {', '.join(AMENDABLE)}."
        )
    _require_reason(event.reason, "amend it")
    value = event.value
    if event.field == "date_of_birth":
        if not isinstance(value, dt.date):
            raise TransitionError("Give the date of birth as a date, such as 2014-02-09.")
        if value >= challenge.notified_on:
            raise TransitionError(
                f"A date of birth of {uk_date(value)} is not before the Date of Notification "
                f"({uk_date(challenge.notified_on)}): check it."
            )
    elif not isinstance(value, str) or not value.strip():
        raise TransitionError(f"Give the new value of {AMENDABLE[event.field]}.")
    amended = _with_detail(challenge, event.field, value)
    if amended == challenge:
        raise TransitionError(f"{AMENDABLE[event.field]} already has that value.")
    label = AMENDABLE[event.field]
    shown = "" if event.field in CHILD_DETAILS else f" to '{value}'"
    return Transition(amended, f"{label} corrected{shown}: {event.reason}")


def _with_detail(challenge: Challenge, name: str, value: str | dt.date) -> Challenge:
    text = value.strip() if isinstance(value, str) else ""
    child = challenge.child
    match name:
        case "case_number":
            return replace(challenge, child=replace(child, case_number=text))
        case "child_name":
            return replace(challenge, child=replace(child, name=text))
        case "date_of_birth":
            assert isinstance(value, dt.date)
            return replace(challenge, child=replace(child, date_of_birth=value))
        case "raised_by_name":
            return replace(challenge, raised_by=replace(challenge.raised_by, name=text))
        case "social_worker":
            return replace(challenge, social_worker=text)
        case "team":
            return replace(challenge, team=text)
        case "team_manager":
            return replace(challenge, team_manager=text)
        case _:
            return replace(challenge, concern=text)


def _merge_into(challenge: Challenge, event: MergeInto) -> Transition:
    if event.into == challenge.reference:
        raise TransitionError("A challenge cannot be merged into itself.")
    _require_status(
        challenge,
        {Status.AWAITING_RESPONSE, Status.CAFCASS_CONSIDERATION, Status.RESOLVED},
        "merge it",
    )
    _require_reason(event.reason, "merge it")
    reason = f"Merged into {event.into}: {event.reason}"
    merged = replace(challenge, closure=Closure(event.on, ClosureKind.MERGED, reason))
    return Transition(merged, reason, (Document.CLOSURE_NOTE,))


def check_mergeable(kept: Challenge, merged: Challenge) -> None:
    """Two challenges may be merged only when they are about the same child and the one
    kept is still open."""
    if kept.child.case_number != merged.child.case_number:
        raise TransitionError(
            f"{merged.reference} and {kept.reference} have different LCS numbers, so they are "
            "not the same child: correct the LCS number first (formflow amend) if one is "
            "wrong."
        )
    status = status_of(kept)
    if status not in {Status.AWAITING_RESPONSE, Status.CAFCASS_CONSIDERATION}:
        raise TransitionError(
            f"Cannot merge into {kept.reference}: it is {status.value}, so nothing would carry "
            f"on. Merge {kept.reference} into {merged.reference} instead, or re-open "
            f"{kept.reference} first (formflow reopen) if its concern is live again."
            if status is Status.RESOLVED
            else f"Cannot merge into {kept.reference}: it is {status.value}."
        )


def _late_response(challenge: Challenge, event: LateResponse) -> Transition:
    """Kept against its stage: the late answer a stage that moved on never had, or a
    further answer beside the one it had. The IRO decides what follows."""
    late = replace(event.response, date=event.response.date or event.on)
    if any(_same_answer(event.response, kept) for kept in _answers_to(challenge, event.stage)):
        raise TransitionError(
            f"This response to {event.stage.label} is already recorded; this form adds nothing new."
        )
    earlier: Response | None
    if event.stage == challenge.stage:
        if challenge.response is None:
            raise TransitionError(f"{event.stage.label} has no response yet: this one is not late.")
        kept = replace(challenge, further_responses=(*challenge.further_responses, late))
        earlier = challenge.response
    else:
        index = _answered_entry(challenge, event.stage)
        ended = challenge.history[index]
        history = list(challenge.history)
        if ended.response is None and ended.late_response is None:
            history[index] = replace(ended, late_response=late)
        else:
            history[index] = replace(ended, further_responses=(*ended.further_responses, late))
        kept = replace(challenge, history=tuple(history))
        earlier = ended.response or ended.late_response
    said = (
        f"{event.stage.label} ({_outcome_words(late)}, dated {uk_date(late.date or event.on)}"
        f"{_from(late)})"
    )
    kept_as = (
        f"A further response to {said} differs from the {_outcome_words(earlier)} response"
        f"{_from(earlier)} recorded; it is kept beside it."
        if earlier is not None
        else f"A late response to {said} arrived after {event.stage.label} moved on; it is "
        f"recorded against {event.stage.label}."
    )
    return Transition(kept, f"{kept_as} {_what_follows(challenge)}", (Document.IRO_NOTE,))


def _answered_entry(challenge: Challenge, stage: Stage) -> int:
    """The latest time ``stage`` ended in the history (a form answers that one)."""
    entries = [i for i, h in enumerate(challenge.history) if h.stage == stage]
    if not entries:
        raise TransitionError(
            f"The form is ticked {stage.label}, but this challenge is at "
            f"{challenge.stage.label} and never reached {stage.label}: fill in the latest "
            "form formflow sent for it."
        )
    return entries[-1]


def _outcome_words(response: Response) -> str:
    return {True: "resolved", False: "not resolved", None: "no outcome ticked"}[response.resolved]


def _from(response: Response) -> str:
    return f", from {response.by}" if response.by else ""


def _what_follows(challenge: Challenge) -> str:
    """What the IRO may do, given where the challenge stands now."""
    status = status_of(challenge)
    where = f"{challenge.reference} is {status.value} at {challenge.stage.label}"
    match status:
        case Status.AWAITING_RESPONSE:
            return (
                f"The IRO decides what follows: {where} and carries on unless the IRO "
                "withdraws or closes it (formflow withdraw, formflow close)."
            )
        case Status.RESOLVED:
            return (
                f"The IRO decides what follows: {where} and stays so unless the IRO re-opens "
                "it (formflow reopen)."
            )
        case Status.CAFCASS_CONSIDERATION:
            return f"The IRO decides what follows: {where}; the decision on a referral stands."
        case _:
            return f"{where}, so nothing follows from it unless the IRO decides otherwise."


# --- what a dropped form means --------------------------------------------------------


def events_for(previous: Challenge | None, incoming: Challenge, received: dt.date) -> list[Event]:
    """The events a form carries, given the register's record for its reference (or None).

    A new challenge is raised at the stage ticked; a filled response section is a
    response (dated as written, else as received); a response to a stage that has since
    timed out is a late response to that stage; a newly ticked CAFCASS box is a request;
    the IRO's decision is a re-opening, a closure or a withdrawal. A form that adds
    nothing yields no events. A response with no outcome ticked is refused, never
    dropped."""
    if previous is None:
        if incoming.iro_decision is not None:
            raise TransitionError(
                "The IRO's decision section is filled in, but formflow has no challenge with "
                "this reference yet: leave that section empty on a new challenge."
            )
        return [
            Raise(incoming.stage, incoming.date_of_notification),
            *_requests(None, incoming, received),
        ]
    _refuse_repeated_reopening(previous, incoming)
    if incoming.stage != previous.stage:
        return _late(previous, incoming, received)
    events: list[Event] = []
    response = incoming.response
    if has_answer(response):
        assert response is not None
        events += _answers(previous, response, incoming.actions, received)
    events += _requests(previous, incoming, received)
    if incoming.iro_decision is not None:
        events.append(_decided(incoming.iro_decision, received))
    return events


def _no_outcome(still_due: bool) -> str:
    return (
        "The response section is filled in, but neither 'Resolved' nor 'Not resolved' is "
        "ticked: tick the one that applies and drop the form again (on a form without those "
        "boxes, begin the response with the words 'Resolved' or 'Not resolved'). Nothing has "
        "been recorded yet" + (", and the response is still due." if still_due else ".")
    )


def _answers(
    previous: Challenge, response: Response, actions: tuple[Action, ...], received: dt.date
) -> list[Event]:
    """The response on a form for the current stage: the answer awaited; nothing, where it
    is a copy of an answer already kept; else a further answer, kept beside the first."""
    if any(_same_answer(response, kept) for kept in _answers_to(previous, previous.stage)):
        return []
    if previous.response is None:
        return [_answer(response, actions, received)]
    if response.resolved is None:
        raise TransitionError(_no_outcome(still_due=False))
    return [LateResponse(response.date or received, previous.stage, response)]


def _answers_to(challenge: Challenge, stage: Stage) -> list[Response]:
    """Every answer the record keeps for ``stage``, now and each earlier time it was raised."""
    now = [challenge.response, *challenge.further_responses] if challenge.stage == stage else []
    earlier = [
        r
        for h in challenge.history
        if h.stage == stage
        for r in (h.response, h.late_response, *h.further_responses)
    ]
    return [r for r in (*now, *earlier) if r is not None]


def _same_answer(incoming: Response, kept: Response) -> bool:
    """The form repeats an answer already kept: the same words, and no outcome, name or
    date that differs (a form re-saved may lose a tick; a blank date takes the kept one)."""

    def words(text: str | None) -> str:
        return " ".join((text or "").casefold().split())

    return (
        words(incoming.text) == words(kept.text)
        and incoming.resolved in (None, kept.resolved)
        and (incoming.by is None or words(incoming.by) == words(kept.by))
        and incoming.date in (None, kept.date)
    )


def _refuse_repeated_reopening(previous: Challenge, incoming: Challenge) -> None:
    """A final record whose re-opening is already recorded, saved again with 'Re-open'
    still ticked, is not a second re-opening (nor its response a second resolution)."""
    decision, response = incoming.iro_decision, incoming.response
    if decision is None or decision.decision is not Decision.REOPEN or response is None:
        return
    for index, ended in enumerate(previous.history):
        if not (
            ended.outcome is StageOutcome.ACTIONS_NOT_IMPLEMENTED
            and ended.response is not None
            and _same_answer(response, ended.response)
        ):
            continue
        following = previous.history[index + 1 :]
        reopened_on = following[0].raised_on if following else previous.date_of_notification
        raise TransitionError(
            f"This is the final record of {ended.stage.label}, and its re-opening was already "
            f"recorded on {uk_date(reopened_on)}: {previous.reference} is now "
            f"{status_of(previous).value} at {previous.stage.label}. Nothing has been recorded.",
            advice="Nothing needs doing with this form: the re-opened stage's form has gone "
            "to its responder.",
        )


def has_answer(response: Response | None) -> bool:
    return response is not None and any(
        v is not None for v in (response.text, response.by, response.date, response.resolved)
    )


def _answer(response: Response, actions: tuple[Action, ...], received: dt.date) -> Respond:
    if response.resolved is None:
        raise TransitionError(_no_outcome(still_due=True))
    return Respond(
        on=response.date or received,
        resolved=response.resolved,
        text=response.text,
        by=response.by,
        actions=actions,
        agreed_by=response.agreed_by,
    )


def _late(previous: Challenge, incoming: Challenge, received: dt.date) -> list[Event]:
    """A form for an earlier stage: an answer it never had, or one beside the answer it
    had (kept, the IRO told); nothing where the form repeats one already kept."""
    response = incoming.response
    if response is None or not has_answer(response):
        raise TransitionError(
            f"The form is ticked {incoming.stage.label}, but this challenge is at "
            f"{previous.stage.label}: fill in the latest form formflow sent for it."
        )
    _answered_entry(previous, incoming.stage)
    if any(_same_answer(response, kept) for kept in _answers_to(previous, incoming.stage)):
        return []
    return [LateResponse(response.date or received, incoming.stage, response)]


def _requests(previous: Challenge | None, incoming: Challenge, received: dt.date) -> list[Event]:
    if incoming.cafcass.requested and not (previous and previous.cafcass.requested):
        return [RequestCafcass(incoming.cafcass.request_date or received)]
    return []


def _decided(decision: IroDecision, received: dt.date) -> Event:
    on = decision.date or received
    reason = decision.reason or ""
    if not reason and decision.decision is not Decision.REOPEN:
        raise TransitionError(
            f"The IRO's decision is to {decision.decision.value}, but "
            "'Reason for the IRO's decision' is empty: write the reason, as it goes on the "
            "record, and drop the form again."
        )
    match decision.decision:
        case Decision.REOPEN:
            return ActionsNotImplemented(on, reason)
        case Decision.CLOSE:
            return CloseUnresolved(on, reason)
        case Decision.WITHDRAW:
            return Withdraw(on, reason)


COMPARED = (
    "the stage, the response and its outcome, the agreed actions, the CAFCASS request "
    "and its prerequisites, the themes, the outcome and impact, the final comments and "
    "the IRO's decision"
)
"""What a returned form is compared with the register's record on, said when it adds
nothing."""


def with_form_updates(previous: Challenge, incoming: Challenge) -> Challenge:
    """The register's record with what the person filling the form may add or correct:
    prerequisites met, themes, impact, final comments, and a role or legal status the
    register's record did not state. Stage, dates and history stay the register's."""
    return replace(
        _with_stated(previous, incoming),
        cafcass=replace(
            previous.cafcass,
            prerequisites={**previous.cafcass.prerequisites, **incoming.cafcass.prerequisites},
        ),
        themes=incoming.themes or previous.themes,
        outcome_impact=incoming.outcome_impact or previous.outcome_impact,
        final_comments=incoming.final_comments or previous.final_comments,
        details={**previous.details, **incoming.details},
    )


DEADLINE_ACTOR = "formflow (deadline)"
"""Who the audit trail names for what the deadline sweep does by itself."""


def actor_of(event: Event, before: Challenge) -> str:
    """Who a form names as the person behind ``event`` (``before``: the record it applies
    to), for the audit trail."""
    match event:
        case Respond() if event.by:
            return event.by
        case LateResponse() if event.response.by:
            return event.response.by
        case Respond() | LateResponse():
            who = before.addressed_to
            return (who.name or who.role or "the responder") if who else "the responder"
        case ResponseOverdue():
            return DEADLINE_ACTOR
        case Escalate():
            return event.by
        case _:
            return before.raised_by.name


def reason_of(event: Event) -> str | None:
    """The reason an event carries, where it carries one."""
    reason = getattr(event, "reason", None)
    return reason if isinstance(reason, str) and reason else None


def ladder_working_days(policy: Policy) -> int | None:
    """The working days the whole procedure allows, every level one after another; None
    where a level is not counted in working days (as agreed, a date set on the form),
    so the procedure sets no bound."""
    days = [s.timescale.working_days for s in policy.stages]
    return None if None in days else sum(d for d in days if d is not None)


def notification_warnings(
    incoming: Challenge, policy: Policy, calendar: WorkingCalendar, received: dt.date
) -> tuple[str, ...]:
    """A new challenge notified longer ago than the whole procedure allows is accepted
    (it may be entered late) but said, so someone checks the date."""
    total = ladder_working_days(policy)
    if total is None or calendar.add_working_days(incoming.date_of_notification, total) >= received:
        return ()
    return (
        f"Check the Date of Notification: {uk_date(incoming.date_of_notification)} is more "
        f"than the {total} working days the whole {policy.id} procedure allows before this "
        f"form arrived on {uk_date(received)}. Deadlines are counted from that date, so "
        "this stage may already be overdue.",
    )


def _with_stated(previous: Challenge, incoming: Challenge) -> Challenge:
    """What a later form states (or settles) where the register's record said nothing."""
    role, status = previous.raised_by.role, previous.child.legal_status
    filled = {
        path
        for path, before, now in (
            ("raised_by.role", role, incoming.raised_by.role),
            ("child.legal_status", status, incoming.child.legal_status),
        )
        if before is None and now is not None
    }
    if not filled:
        return previous
    return replace(
        previous,
        raised_by=replace(previous.raised_by, role=role or incoming.raised_by.role),
        child=replace(previous.child, legal_status=status or incoming.child.legal_status),
        inferred=(*previous.inferred, *(i for i in incoming.inferred if i.field in filled)),
    )
