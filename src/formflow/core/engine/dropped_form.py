"""What a dropped form means: the events that take the register's record to the form's,
and the record the form leaves once its updates are merged; with who acted in an event
and why, and the warnings a form's dates draw."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from formflow.core.calendar import WorkingCalendar, uk_date
from formflow.core.engine.assessment import status_of
from formflow.core.engine.events import (
    ActionsNotImplemented,
    CloseUnresolved,
    Escalate,
    Event,
    LateResponse,
    Raise,
    RequestCafcass,
    Respond,
    ResponseOverdue,
    Withdraw,
)
from formflow.core.policy import Policy
from formflow.core.record import (
    Action,
    Challenge,
    Decision,
    IroDecision,
    Response,
    Stage,
    StageOutcome,
)
from formflow.errors import TransitionError


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
    if any(same_answer(response, kept) for kept in answers_to(previous, previous.stage)):
        return []
    if previous.response is None:
        return [_answer(response, actions, received)]
    if response.resolved is None:
        raise TransitionError(_no_outcome(still_due=False))
    return [LateResponse(response.date or received, previous.stage, response)]


def answers_to(challenge: Challenge, stage: Stage) -> list[Response]:
    """Every answer the record keeps for ``stage``, now and each earlier time it was raised."""
    now = [challenge.response, *challenge.further_responses] if challenge.stage == stage else []
    earlier = [
        r
        for h in challenge.history
        if h.stage == stage
        for r in (h.response, h.late_response, *h.further_responses)
    ]
    return [r for r in (*now, *earlier) if r is not None]


def same_answer(incoming: Response, kept: Response) -> bool:
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
            and same_answer(response, ended.response)
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
    answered_entry(previous, incoming.stage)
    if any(same_answer(response, kept) for kept in answers_to(previous, incoming.stage)):
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


def answered_entry(challenge: Challenge, stage: Stage) -> int:
    """The latest time ``stage`` ended in the history (a form answers that one)."""
    entries = [i for i, h in enumerate(challenge.history) if h.stage == stage]
    if not entries:
        raise TransitionError(
            f"The form is ticked {stage.label}, but this challenge is at "
            f"{challenge.stage.label} and never reached {stage.label}: fill in the latest "
            "form formflow sent for it."
        )
    return entries[-1]
