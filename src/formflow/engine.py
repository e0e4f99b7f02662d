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
from dataclasses import dataclass, replace
from enum import StrEnum

from formflow.calendar import WorkingCalendar
from formflow.errors import TransitionError
from formflow.policy import Policy, StagePolicy
from formflow.record import (
    STAGE_ORDER,
    Action,
    Challenge,
    Closure,
    ClosureKind,
    Person,
    Response,
    Stage,
    StageOutcome,
    StageRecord,
)


class Status(StrEnum):
    AWAITING_RESPONSE = "awaiting response"
    RESOLVED = "resolved"
    CAFCASS_CONSIDERATION = "CAFCASS consideration"
    REFERRED_TO_CAFCASS = "referred to CAFCASS"
    CLOSED_UNRESOLVED = "closed unresolved"


class Document(StrEnum):
    """What a transition asks the shell to write."""

    NEXT_STAGE_FORM = "next-stage form"
    FINAL_RECORD = "final record"
    CAFCASS_PACK = "CAFCASS pack"
    CLOSURE_NOTE = "closure note"


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


@dataclass(frozen=True)
class ResponseOverdue:
    """No response by the stage's due date, noticed on ``on``."""

    on: dt.date


@dataclass(frozen=True)
class ActionsNotImplemented:
    """The actions agreed at resolution were not carried out, or did not work."""

    on: dt.date


@dataclass(frozen=True)
class RequestCafcass:
    on: dt.date


@dataclass(frozen=True)
class CloseUnresolved:
    """The IRO decides, after CAFCASS consideration, not to refer."""

    on: dt.date
    reason: str


Event = Raise | Respond | ResponseOverdue | ActionsNotImplemented | RequestCafcass | CloseUnresolved


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


# --- deadlines ----------------------------------------------------------------------


def stage_due(stage: StagePolicy, raised_on: dt.date, calendar: WorkingCalendar) -> dt.date:
    return calendar.add_working_days(raised_on, stage.timescale_working_days)


def first_contact_due(
    stage: StagePolicy, raised_on: dt.date, calendar: WorkingCalendar
) -> dt.date | None:
    """A milestone set in hours (cic-issues: a 1:1 discussion within 48 hours), counted as
    whole working days after day 0, rounded up: 48 hours is the 2nd working day."""
    if stage.first_contact_within_hours is None:
        return None
    return calendar.add_working_days(raised_on, math.ceil(stage.first_contact_within_hours / 24))


def challenge_start(challenge: Challenge) -> dt.date:
    """When the formal challenge began: the first formal stage raised, in history or now."""
    formal = [h.raised_on for h in challenge.history if h.stage is not Stage.INFORMAL]
    if formal:
        return formal[0]
    return challenge.date_of_notification


@dataclass(frozen=True)
class Deadline:
    day_zero: dt.date
    due: dt.date
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
) -> Deadline:
    """When a response to ``stage`` raised on ``raised_on`` is due under ``policy``."""
    rules = policy.stage(stage)
    due = stage_due(rules, raised_on, calendar)
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
    when = (
        deadline(
            policy,
            challenge.stage,
            challenge.date_of_notification,
            calendar,
            challenge_start(challenge),
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
        stage=challenge.stage,
        responder=stage.responder if awaiting else None,
        responder_name=challenge.addressed_to.name if awaiting and challenge.addressed_to else None,
        copy_to=stage.copy_to,
        raised_on=challenge.date_of_notification,
        due=when.due if when else None,
        overall_target=when.overall_target if when else None,
        first_contact_due=when.first_contact_due if when else None,
        overdue=when is not None and today > when.due,
        actions_to_check=checks,
        warnings=when.warnings if when else (),
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
    match event:
        case Raise():
            return _raise(challenge, event, policy, calendar)
        case Respond():
            return _respond(challenge, event, policy, calendar)
        case ResponseOverdue():
            return _overdue(challenge, event, policy, calendar)
        case ActionsNotImplemented():
            return _actions_not_implemented(challenge, event, policy, calendar)
        case RequestCafcass():
            return _request_cafcass(challenge, event, policy)
        case CloseUnresolved():
            return _close_unresolved(challenge, event)


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


def _skipped_stages(policy: Policy, stage: Stage) -> list[StagePolicy]:
    return [s for s in policy.stages if STAGE_ORDER.index(s.stage) < STAGE_ORDER.index(stage)]


def _raise(
    challenge: Challenge, event: Raise, policy: Policy, calendar: WorkingCalendar
) -> Transition:
    _check_coverage(challenge, policy)
    if not policy.has_stage(event.stage):
        raise TransitionError(
            f"The {policy.id} procedure has no {event.stage.label.lower()} stage; "
            f"start at {policy.first_stage.label}."
        )
    done = {h.stage for h in challenge.history}
    blocking = [
        s
        for s in _skipped_stages(policy, event.stage)
        if not s.may_be_bypassed and s.stage not in done
    ]
    if blocking:
        raise TransitionError(
            f"The {policy.id} procedure does not allow {blocking[0].stage.label} to be "
            f"bypassed: raise the challenge at {blocking[0].stage.label} first."
        )
    stage = policy.stage(event.stage)
    raised = replace(
        challenge,
        stage=event.stage,
        date_of_notification=event.on,
        addressed_to=_addressee(challenge.addressed_to, stage),
        response=None,
        closure=None,
    )
    due = stage_due(stage, event.on, calendar)
    return Transition(
        raised,
        f"Raised at {event.stage.label} with the {stage.responder}; response due {due.isoformat()}.",
        (Document.NEXT_STAGE_FORM,),
    )


def _addressee(current: Person | None, stage: StagePolicy) -> Person:
    """Keep the named person the form gives; the role is always the policy's responder."""
    return Person(current.name if current else None, stage.responder)


def _respond(
    challenge: Challenge, event: Respond, policy: Policy, calendar: WorkingCalendar
) -> Transition:
    _require_status(challenge, {Status.AWAITING_RESPONSE}, "record a response")
    if event.on < challenge.date_of_notification:
        raise TransitionError(
            f"The response is dated {event.on.isoformat()}, before the challenge was raised "
            f"on {challenge.date_of_notification.isoformat()}."
        )
    answered = replace(
        challenge,
        response=Response(event.text, event.on, event.by, event.resolved),
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
        f"Resolved at {challenge.stage.label}; {len(finalised.actions)} agreed action(s) tracked.",
        (Document.FINAL_RECORD,),
    )


def _overdue(
    challenge: Challenge, event: ResponseOverdue, policy: Policy, calendar: WorkingCalendar
) -> Transition:
    _require_status(challenge, {Status.AWAITING_RESPONSE}, "treat the response as overdue")
    due = stage_due(policy.stage(challenge.stage), challenge.date_of_notification, calendar)
    if event.on <= due:
        raise TransitionError(
            f"The {challenge.stage.label} response is not overdue until after {due.isoformat()}."
        )
    return _escalate(challenge, StageOutcome.RESPONSE_OVERDUE, event.on, policy, calendar)


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
        due=stage_due(policy.stage(challenge.stage), challenge.date_of_notification, calendar),
        addressed_to=challenge.addressed_to,
        concern=challenge.concern,
        actions=challenge.actions,
        response=challenge.response,
    )
    return replace(
        challenge,
        stage=target,
        date_of_notification=on,
        addressed_to=Person(None, policy.stage(target).responder),
        actions=(),
        response=None,
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
    stage = policy.stage(challenge.stage)
    target = policy.next_stage(challenge.stage) if stage.on_not_resolved == "next" else None
    if target is not None:
        moved = _move_to(challenge, target, outcome, on, policy, calendar)
        due = stage_due(policy.stage(target), on, calendar)
        return Transition(
            moved,
            f"{challenge.stage.label} {outcome.value}: escalated to {target.label} with the "
            f"{policy.stage(target).responder}; response due {due.isoformat()}.",
            (Document.NEXT_STAGE_FORM,),
        )
    return _end_of_ladder(challenge, outcome, on, policy)


def _cafcass_open_to(challenge: Challenge, policy: Policy) -> bool:
    """Whether the procedure's CAFCASS route may be open to this child. A legal status the
    record does not state keeps it open: the referral itself asks for it."""
    status = challenge.child.legal_status
    if status is None:
        return policy.cafcass.available and any(s.in_care for s in policy.cafcass.eligible)
    return policy.cafcass.available and status.in_care and status in policy.cafcass.eligible


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
    _require_status(challenge, {Status.RESOLVED}, "reopen it for actions not implemented")
    rule = policy.stage(challenge.stage).on_actions_not_implemented
    if rule == "same":
        target = challenge.stage
    elif rule == "next":
        target = policy.next_stage(challenge.stage) or challenge.stage
    else:
        target = Stage(rule)
    reopened = _move_to(
        challenge, target, StageOutcome.ACTIONS_NOT_IMPLEMENTED, event.on, policy, calendar
    )
    return Transition(
        reopened,
        f"Agreed actions from {challenge.stage.label} not implemented: the challenge returns "
        f"to {target.label} with the {policy.stage(target).responder}.",
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
    if status in {Status.REFERRED_TO_CAFCASS, Status.CLOSED_UNRESOLVED}:
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
    concurrent = rules.concurrent and status is Status.AWAITING_RESPONSE
    if concurrent:
        return Transition(
            replace(challenge, cafcass=requested),
            "Referral to CAFCASS requested; the escalation continues alongside it.",
            (Document.CAFCASS_PACK,),
        )
    reason = "Referred to CAFCASS (Regulation 45)."
    referred = replace(
        challenge,
        cafcass=requested,
        closure=Closure(event.on, ClosureKind.REFERRED_TO_CAFCASS, reason),
    )
    return Transition(referred, reason, (Document.CAFCASS_PACK,))


def _close_unresolved(challenge: Challenge, event: CloseUnresolved) -> Transition:
    _require_status(challenge, {Status.CAFCASS_CONSIDERATION}, "close it without a referral")
    closed = replace(
        challenge,
        cafcass=replace(challenge.cafcass, consideration_date=None),
        closure=Closure(event.on, ClosureKind.CLOSED_UNRESOLVED, event.reason),
    )
    return Transition(closed, event.reason, (Document.CLOSURE_NOTE,))


# --- what a dropped form means --------------------------------------------------------


def events_for(previous: Challenge | None, incoming: Challenge, received: dt.date) -> list[Event]:
    """The events a form carries, given the register's record for its reference (or None).

    A new challenge is raised at the stage ticked; a filled response section is a
    response (dated as written, else as received); a newly ticked CAFCASS box is a
    request. A form that adds nothing yields no events.
    """
    events: list[Event] = []
    if previous is None:
        events.append(Raise(incoming.stage, incoming.date_of_notification))
    elif incoming.stage is not previous.stage:
        raise TransitionError(
            f"The form is ticked {incoming.stage.label}, but this challenge is at "
            f"{previous.stage.label}: fill in the latest form formflow sent for it."
        )
    answered_before = previous is not None and previous.response is not None
    response = incoming.response
    if response is not None and response.resolved is not None and not answered_before:
        events.append(
            Respond(
                on=response.date or received,
                resolved=response.resolved,
                text=response.text,
                by=response.by,
                actions=incoming.actions,
            )
        )
    if incoming.cafcass.requested and not (previous and previous.cafcass.requested):
        events.append(RequestCafcass(incoming.cafcass.request_date or received))
    return events


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
