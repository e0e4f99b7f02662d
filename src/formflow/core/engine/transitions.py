"""``apply``: one event turns a challenge into its next state, or is refused with a
``TransitionError`` whose message says why and what to do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from formflow.core.calendar import WorkingCalendar, uk_date
from formflow.core.engine.assessment import status_of
from formflow.core.engine.deadlines import current_due, no_due_date
from formflow.core.engine.dropped_form import answered_entry, answers_to, same_answer
from formflow.core.engine.events import (
    AMENDABLE,
    CHILD_DETAILS,
    CLOSED,
    ActionsNotImplemented,
    Amend,
    CloseUnresolved,
    Document,
    Escalate,
    Event,
    ExtendDeadline,
    LateResponse,
    MergeInto,
    Raise,
    Reassign,
    RequestCafcass,
    Respond,
    ResponseOverdue,
    Status,
    Transition,
    Withdraw,
)
from formflow.core.policy import (
    Policy,
    StagePolicy,
)
from formflow.core.record import (
    Challenge,
    Closure,
    ClosureKind,
    Person,
    Response,
    Role,
    Stage,
    StageOutcome,
    StageRecord,
)
from formflow.errors import TransitionError


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
    return f"response due by the end of {uk_date(due)}" if due else no_due_date(challenge, policy)


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
    if any(same_answer(event.response, kept) for kept in answers_to(challenge, event.stage)):
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
        index = answered_entry(challenge, event.stage)
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
