"""The pure planners: what one form does to a challenge's record, and what one tick of
the deadline sweep must chase. They decide; ``formflow.pipeline`` reads the register,
writes the documents and commits what they decided."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from formflow.core.calendar import WorkingCalendar, uk_date
from formflow.core.engine import (
    AMENDABLE,
    COMPARED,
    Event,
    ResponseOverdue,
    Transition,
    actor_of,
    apply,
    assess,
    current_due,
    events_for,
    has_answer,
    notification_warnings,
    reason_of,
    with_form_updates,
)
from formflow.core.policy import COUNTED_FROM_CHALLENGE_START, COUNTED_FROM_RAISED, Policy
from formflow.core.record import Action, Challenge
from formflow.errors import TransitionError


class HasCalendar(Protocol):
    """What the sweep needs of the settings: the council's working calendar."""

    @property
    def calendar(self) -> WorkingCalendar: ...


@dataclass(frozen=True)
class Plan:
    challenge: Challenge
    transitions: tuple[Transition, ...]
    message: str
    actors: tuple[str, ...] = ()
    """Who the form names behind each transition, for the audit trail."""
    reasons: tuple[str | None, ...] = ()
    warnings: tuple[str, ...] = ()


def plan_form(
    previous: Challenge | None,
    incoming: Challenge,
    received: dt.date,
    policy: Policy,
    calendar: WorkingCalendar,
) -> Plan:
    """What a form does to the register's record: the events it carries, applied in turn.
    Raises TransitionError (as the engine does) when the policy refuses one."""
    events: list[Event] = events_for(previous, incoming, received)
    state = (
        with_form_updates(previous, incoming)
        if previous is not None
        else replace(incoming, iro_decision=None, separate_challenge=False)
    )
    warnings = (
        details_not_taken(previous, incoming)
        if previous
        else notification_warnings(incoming, policy, calendar, received)
    )
    transitions: list[Transition] = []
    actors: list[str] = []
    for event in events:
        actors.append(actor_of(event, state))
        transition = apply(state, event, policy, calendar)
        transitions.append(transition)
        state = transition.challenge
    _refuse_due_before_raised(previous, state, policy, calendar)
    if transitions and warnings:  # said in the raising's email too, where the IRO sees it
        transitions[0] = replace(
            transitions[0], message=" ".join((transitions[0].message, *warnings))
        )
        message = " ".join(t.message for t in transitions)
    elif transitions:
        message = " ".join(t.message for t in transitions)
    elif previous is not None and state != previous:
        message = (
            f"The form updates the record ({', '.join(updated_parts(previous, state))}); "
            "the stage is unchanged."
        )
    else:
        message = (
            f"The form adds nothing new: formflow compared {COMPARED} with the register's "
            f"record of {state.reference} at {state.stage.label} and found nothing changed."
        )
    if not transitions and warnings:
        message = " ".join((message, *warnings))
    return Plan(
        state,
        tuple(transitions),
        message,
        tuple(actors),
        tuple(reason_of(e) for e in events),
        warnings,
    )


def _refuse_due_before_raised(
    previous: Challenge | None, state: Challenge, policy: Policy, calendar: WorkingCalendar
) -> None:
    """A due date that comes from a date the form gives (set on the form, or counted from
    one) may not fall before the level was raised: the challenge would be overdue at once,
    and escalated by the next chase. Said only when the form gave or changed that date."""
    rules = policy.stage(state.stage)
    field = rules.timescale.field or (
        rules.counted_from
        if rules.counted_from not in (COUNTED_FROM_RAISED, COUNTED_FROM_CHALLENGE_START)
        else None
    )
    if field is None or (previous and previous.details.get(field) == state.details.get(field)):
        return
    due = current_due(state, policy, calendar)
    if due is None or due >= state.date_of_notification:
        return
    raise TransitionError(
        f"'{policy.field_label(field)}' ({uk_date(dt.date.fromisoformat(state.details[field]))}) "
        f"gives a response due date of {uk_date(due)}, before {state.stage.label} was raised "
        f"on {uk_date(state.date_of_notification)}: correct '{policy.field_label(field)}' and "
        "drop the form again."
    )


def details_not_taken(previous: Challenge, incoming: Challenge) -> tuple[str, ...]:
    """A returned form whose details differ from the register's (the concern edited while
    the form was still open in Word, say): the register keeps its own, since an answer
    must not rewrite what was raised, but the difference is said, with how to make it.
    Only the details' names are said: a log never carries a child's details."""
    changed = [
        field
        for field in AMENDABLE
        if _detail(incoming, field) and _detail(incoming, field) != _detail(previous, field)
    ]
    if not changed:
        return ()
    named = [f"'{AMENDABLE[f]}'" for f in changed]
    labels = " and ".join(filter(None, (", ".join(named[:-1]), named[-1])))
    reference = previous.reference
    return (
        f"The form changes {labels}, which a returned form does not change: the register "
        f"keeps what {reference} was raised with. If the change is needed, make it with "
        f'formflow amend {reference} {changed[0]} "NEW VALUE" --by NAME --reason WHY'
        f"{' (once for each)' if len(changed) > 1 else ''}.",
    )


def _detail(challenge: Challenge, field: str) -> str:
    """One of ``AMENDABLE``'s details as the form shows it, spaces evened out."""
    child = challenge.child
    value = {
        "case_number": child.case_number,
        "child_name": child.name,
        "date_of_birth": child.date_of_birth.isoformat() if child.date_of_birth else "",
        "social_worker": challenge.social_worker,
        "team": challenge.team,
        "team_manager": challenge.team_manager,
        "raised_by_name": challenge.raised_by.name,
        "concern": challenge.concern,
    }[field]
    return " ".join((value or "").split())


def updated_parts(previous: Challenge, updated: Challenge) -> list[str]:
    """What ``with_form_updates`` changed, in the form's words."""
    parts = {
        "the CAFCASS prerequisites": previous.cafcass != updated.cafcass,
        "the themes": previous.themes != updated.themes,
        "the outcome and impact": previous.outcome_impact != updated.outcome_impact,
        "the final comments": previous.final_comments != updated.final_comments,
    }
    return [name for name, changed in parts.items() if changed] or ["details"]


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def likely_duplicates(open_challenges: Sequence[Challenge], incoming: Challenge) -> list[str]:
    """The open challenges a form without a reference may be a copy of: the same LCS
    number, or the same name and date of birth."""
    child = incoming.child
    return [
        c.reference or ""
        for c in open_challenges
        if _same_name(c.child.case_number, child.case_number)
        or (_same_name(c.child.name, child.name) and c.child.date_of_birth == child.date_of_birth)
    ]


def refuse_unregistered(open_challenges: Sequence[Challenge], incoming: Challenge) -> None:
    """A form the register has no record for (no reference, or one it does not know): not
    a second challenge for a child with an open one, and, where the form gives a
    reference, no answer or decision that could only belong to a registered challenge."""
    _refuse_likely_duplicate(open_challenges, incoming)
    if incoming.reference is not None:
        _refuse_answers_to_unknown(incoming)


def _refuse_answers_to_unknown(incoming: Challenge) -> None:
    """A reference the register does not have (mistyped, or from another home) on a form
    that answers or decides: recording it as a new challenge would drop the answer."""
    filled = [
        section
        for section, present in (
            ("the response section", has_answer(incoming.response)),
            ("the IRO's decision section", incoming.iro_decision is not None),
        )
        if present
    ]
    if not filled:
        return
    sections = " and ".join(filled)
    raise TransitionError(
        f"{sections[0].upper()}{sections[1:]} {'are' if len(filled) > 1 else 'is'} filled in, "
        f"but formflow has no challenge {incoming.reference}: nothing has been recorded. "
        "Write the reference exactly as on the form formflow sent (formflow status lists "
        "the open ones) and drop it again."
    )


def _refuse_likely_duplicate(open_challenges: Sequence[Challenge], incoming: Challenge) -> None:
    """A form the register has no record for (no reference, or one it does not know), for
    a child who has an open challenge, is not opened as a second challenge unless the IRO
    marked it as a separate one."""
    if incoming.separate_challenge:
        return
    matches = likely_duplicates(open_challenges, incoming)
    if not matches:
        return
    found = {c.reference: c for c in open_challenges}
    listed = "; ".join(
        f"{ref} ({found[ref].stage.label}, notified {uk_date(found[ref].notified_on)})"
        for ref in matches
    )
    unknown = (
        f"This form's 'Reference' {incoming.reference} is not in the register"
        if incoming.reference
        else "This form has no 'Reference'"
    )
    raise TransitionError(
        f"{unknown}, and the child already has an open challenge: {listed} "
        "(the same LCS number, or the same name and date of birth). Nothing has been recorded.",
        advice=f"If the form is about that challenge, write {matches[0]} in 'Reference' (or "
        "fill in the latest form formflow sent for it) and drop it again. If it is a separate "
        "challenge about another concern, tick 'Separate challenge for this child' in "
        "section 11 (the IRO's decision) and drop it again.",
    )


@dataclass(frozen=True)
class Reminder:
    reference: str
    key: str
    action: Action


@dataclass(frozen=True)
class Chase:
    """What the deadline sweep does for one challenge."""

    reference: str
    overdue: bool
    """The response is overdue and the procedure moves the challenge on by itself."""
    reminders: tuple[Reminder, ...] = ()
    awaiting_decision: str | None = None
    """The response is overdue where the procedure waits for a named person's decision:
    the key under which the one reminder to the responder and that person is recorded."""


def action_key(index: int, action: Action) -> str:
    when = action.by_when.isoformat() if action.by_when else "-"
    return f"{index}:{when}:{action.action[:60]}"


def chases(
    challenges: Sequence[Challenge],
    policies: Callable[[str], Policy],
    settings: HasCalendar,
    today: dt.date,
    reminded: Callable[[str, str], bool],
) -> list[Chase]:
    """For each challenge: is the response overdue, and which agreed actions whose date
    has come has the IRO not yet been reminded of."""
    out: list[Chase] = []
    for challenge in challenges:
        assert challenge.reference is not None
        policy = policies(challenge.policy)
        assessment = assess(challenge, policy, settings.calendar, today)
        due_actions = tuple(
            Reminder(challenge.reference, key, action)
            for i, action in enumerate(challenge.actions, start=1)
            if action in assessment.actions_to_check
            and not reminded(challenge.reference, key := action_key(i, action))
        )
        waits = assessment.overdue and policy.stage(challenge.stage).decided_by is not None
        decision = _decision_key(challenge) if waits else None
        if decision and reminded(challenge.reference, decision):
            decision = None
        escalate = assessment.overdue and not waits
        if escalate or due_actions or decision:
            out.append(Chase(challenge.reference, escalate, due_actions, decision))
    return out


def awaiting_decisions(
    challenges: Sequence[Challenge],
    policies: Callable[[str], Policy],
    settings: HasCalendar,
    today: dt.date,
) -> list[str]:
    """Responses overdue where the procedure waits for a person's decision, in words: the
    sweep reminds once, and they stay overdue until that person decides."""
    waiting = []
    for challenge in challenges:
        policy = policies(challenge.policy)
        decider = policy.stage(challenge.stage).decided_by
        assessment = assess(challenge, policy, settings.calendar, today)
        if decider and assessment.overdue and assessment.due:
            waiting.append(
                f"{challenge.reference}  {challenge.stage.label} response overdue since "
                f"{uk_date(assessment.due)}: waiting for the {decider}'s decision "
                "(formflow escalate, withdraw or close)."
            )
    return waiting


def _decision_key(challenge: Challenge) -> str:
    """One reminder per level raised (a level raised again is a new wait)."""
    return f"timeout:{challenge.stage.id}:{challenge.date_of_notification.isoformat()}"


def decision_awaited(challenge: Challenge, policy: Policy) -> str:
    """The audit trail's words for a missed deadline where the procedure waits for a
    person to decide whether to escalate."""
    return (
        f"{challenge.stage.label} response overdue: the responder is reminded and the "
        f"{policy.stage(challenge.stage).decided_by} decides whether to escalate "
        "(formflow escalate)."
    )


def action_reminder(reminder: Reminder) -> str:
    """The audit trail's words for the IRO reminded of an agreed action."""
    by_when = reminder.action.by_when
    return (
        f"IRO reminded to check an agreed action due {by_when.isoformat() if by_when else 'now'}."
    )


def rehearse(
    challenges: Sequence[Challenge],
    policies: Callable[[str], Policy],
    settings: HasCalendar,
    day: dt.date,
    reminded: Callable[[str, str], bool],
) -> list[tuple[str, str]]:
    """What the sweep would do on ``day``, for each challenge it would chase, in the words
    of its audit trail; nothing is changed (``formflow tick --today DAY --rehearse``)."""
    by_reference = {c.reference: c for c in challenges}
    said: list[tuple[str, str]] = []
    for chase in chases(challenges, policies, settings, day, reminded):
        challenge = by_reference[chase.reference]
        policy = policies(challenge.policy)
        if chase.overdue:
            moved = apply(challenge, ResponseOverdue(day), policy, settings.calendar)
            said.append((chase.reference, moved.message))
        if chase.awaiting_decision:
            said.append((chase.reference, decision_awaited(challenge, policy)))
        said += [(chase.reference, action_reminder(r)) for r in chase.reminders]
    return said
