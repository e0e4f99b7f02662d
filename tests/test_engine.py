"""The stage engine: a transition table per policy covering every event, and properties."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import make_challenge
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import (
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
    Withdraw,
    apply,
    assess,
    events_for,
    status_of,
)
from formflow.core.record import (
    STANDARD_LADDER,
    Action,
    Cafcass,
    Challenge,
    Decision,
    IroDecision,
    LegalStatus,
    Person,
    RaisedBy,
    Response,
    Role,
    Stage,
    StageOutcome,
)
from formflow.errors import TransitionError
from formflow.policy_catalogue import built_in

CALENDAR = WorkingCalendar()
MON = dt.date(2025, 11, 3)  # a Monday with no bank holiday near it
ALL_PREREQUISITES = {
    "iro_manager_consulted": MON,
    "nominated_officer_informed": MON,
    "service_manager_agreement": MON,
    "head_of_service_approval": MON,
}


def raised(policy_id: str, stage: Stage, **overrides: object) -> Challenge:
    """A challenge just raised at ``stage`` under ``policy_id`` on MON."""
    challenge = make_challenge(policy=policy_id, **overrides)
    return apply(challenge, Raise(stage, MON), built_in()(policy_id), CALENDAR).challenge


def run(challenge: Challenge, *events: Event) -> Challenge:
    policy = built_in()(challenge.policy)
    for event in events:
        challenge = apply(challenge, event, policy, CALENDAR).challenge
    return challenge


def later(days: int) -> dt.date:
    return MON + dt.timedelta(days=days)


NOT_RESOLVED = Respond(later(2), resolved=False, text="We do not agree.", by="A Manager")
RESOLVED = Respond(
    later(2),
    resolved=True,
    text="Agreed.",
    by="A Manager",
    actions=(Action("Convene a review", later(10), "Social Worker"),),
)
CP_CHILD = {
    "child": replace(make_challenge().child, legal_status=LegalStatus.CHILD_PROTECTION_PLAN)
}
CP_CHAIR = {"raised_by": RaisedBy("Harriet Oduya", Role.CP_CHAIR)}
PREREQUISITES_MET = {"cafcass": Cafcass(prerequisites=ALL_PREREQUISITES)}
WITHDRAW = Withdraw(later(1), "Raised in error.")
CLOSE = CloseUnresolved(later(1), "The child has moved to another authority.")
REOPEN = ActionsNotImplemented(later(14), "The review was not held.")
EXTEND = ExtendDeadline(later(1), later(14), "A meeting is set for 17 November.")
REASSIGN = Reassign(later(1), Person("Sam Okafor", "Team Manager"), "Priya Raman is on leave.")
AMEND = Amend(later(1), "case_number", "LCS-000124", "Typed wrongly.")
MERGE = MergeInto(later(1), "PC-2025-ZZZZZZ", "The same form saved twice.")
LATE = LateResponse(later(9), Stage.ONE, Response("Agreed after all.", None, "A Manager", True))


@dataclass(frozen=True)
class Row:
    """One line of a policy's transition table."""

    name: str
    policy: str
    start: Stage
    events: tuple[Event, ...]
    status: Status | None = None
    stage: Stage | None = None
    outcomes: tuple[StageOutcome, ...] = ()
    error: str | None = None
    overrides: tuple[tuple[str, object], ...] = ()


def row(name: str, policy: str, start: Stage, *events: Event, **expect: object) -> Row:
    overrides = expect.pop("overrides", {})
    assert isinstance(overrides, dict)
    return Row(name, policy, start, events, overrides=tuple(overrides.items()), **expect)  # type: ignore[arg-type]


AWAIT = Status.AWAITING_RESPONSE
S = Stage
TABLE = [
    # nelincs: informal then four stages, all bypassable, CAFCASS any time and concurrent
    row("raise informally", "nelincs", S.INFORMAL, status=AWAIT, stage=S.INFORMAL),
    row("bypass to stage 3", "nelincs", S.THREE, status=AWAIT, stage=S.THREE),
    row(
        "informal not resolved",
        "nelincs",
        S.INFORMAL,
        NOT_RESOLVED,
        stage=S.ONE,
        outcomes=(StageOutcome.NOT_RESOLVED,),
    ),
    row("stage 1 resolved", "nelincs", S.ONE, RESOLVED, status=Status.RESOLVED, stage=S.ONE),
    row("stage 1 not resolved", "nelincs", S.ONE, NOT_RESOLVED, status=AWAIT, stage=S.TWO),
    row(
        "stage 2 overdue",
        "nelincs",
        S.TWO,
        ResponseOverdue(later(8)),
        stage=S.THREE,
        outcomes=(StageOutcome.RESPONSE_OVERDUE,),
    ),
    row(
        "overdue too early",
        "nelincs",
        S.TWO,
        ResponseOverdue(later(7)),
        error="not overdue until after 2025-11-10",
    ),
    row(
        "stage 2 actions not implemented",
        "nelincs",
        S.TWO,
        RESOLVED,
        ActionsNotImplemented(later(14)),
        stage=S.THREE,
        outcomes=(StageOutcome.ACTIONS_NOT_IMPLEMENTED,),
    ),
    row(
        "stage 4 actions not implemented",
        "nelincs",
        S.FOUR,
        RESOLVED,
        ActionsNotImplemented(later(14)),
        stage=S.FOUR,
        status=AWAIT,
    ),
    row(
        "actions not implemented before resolution",
        "nelincs",
        S.ONE,
        ActionsNotImplemented(later(3)),
        error="awaiting response",
    ),
    row(
        "stage 4 not resolved, child in care",
        "nelincs",
        S.FOUR,
        NOT_RESOLVED,
        status=Status.CAFCASS_CONSIDERATION,
        stage=S.FOUR,
    ),
    row(
        "stage 4 not resolved, child protection",
        "nelincs",
        S.FOUR,
        NOT_RESOLVED,
        status=Status.CLOSED_UNRESOLVED,
        overrides=CP_CHILD,
    ),
    row(
        "CAFCASS without prerequisites",
        "nelincs",
        S.ONE,
        RequestCafcass(later(1)),
        error="Nominated Officer",
    ),
    row(
        "CAFCASS concurrent",
        "nelincs",
        S.ONE,
        RequestCafcass(later(1)),
        status=AWAIT,
        stage=S.ONE,
        overrides=PREREQUISITES_MET,
    ),
    row(
        "CAFCASS for a child protection plan",
        "nelincs",
        S.ONE,
        RequestCafcass(later(1)),
        error="only for a child in care",
        overrides=CP_CHILD,
    ),
    row(
        "CAFCASS after consideration",
        "nelincs",
        S.FOUR,
        NOT_RESOLVED,
        RequestCafcass(later(3)),
        status=Status.REFERRED_TO_CAFCASS,
        overrides=PREREQUISITES_MET,
    ),
    row(
        "close after consideration",
        "nelincs",
        S.FOUR,
        NOT_RESOLVED,
        CloseUnresolved(later(3), "IRO decided not to refer."),
        status=Status.CLOSED_UNRESOLVED,
    ),
    row("respond twice", "nelincs", S.ONE, RESOLVED, RESOLVED, error="is resolved"),
    row(
        "response dated before raising",
        "nelincs",
        S.ONE,
        Respond(later(-3), resolved=True),
        error="before Stage 1 was raised on 3 November 2025",
    ),
    # the events business support record for someone, and the IRO's decisions
    row("withdraw", "nelincs", S.TWO, WITHDRAW, status=Status.WITHDRAWN, stage=S.TWO),
    row("withdraw a resolved one", "nelincs", S.ONE, RESOLVED, WITHDRAW, error="is resolved"),
    row("withdraw without a reason", "nelincs", S.ONE, Withdraw(later(1), " "), error="reason"),
    row(
        "withdraw dated before the stage",
        "nelincs",
        S.ONE,
        Withdraw(later(-1), "Raised in error."),
        error="Stage 1 was raised on 3 November 2025",
    ),
    row("close while awaiting", "nelincs", S.ONE, CLOSE, status=Status.CLOSED_UNRESOLVED),
    row("close a withdrawn one", "nelincs", S.ONE, WITHDRAW, CLOSE, error="is withdrawn"),
    row("close without a reason", "nelincs", S.ONE, CloseUnresolved(later(1), ""), error="reason"),
    row("reopen a withdrawn one", "nelincs", S.ONE, WITHDRAW, REOPEN, error="is withdrawn"),
    row(
        "refer a withdrawn one to CAFCASS",
        "nelincs",
        S.ONE,
        WITHDRAW,
        RequestCafcass(later(2)),
        error="is withdrawn",
        overrides=PREREQUISITES_MET,
    ),
    row("extend", "nelincs", S.ONE, EXTEND, status=AWAIT, stage=S.ONE),
    row(
        "extended, not yet overdue",
        "nelincs",
        S.ONE,
        EXTEND,
        ResponseOverdue(later(8)),
        error="until after 2025-11-17",
    ),
    row(
        "extended, then overdue", "nelincs", S.ONE, EXTEND, ResponseOverdue(later(15)), stage=S.TWO
    ),
    row(
        "extend to an earlier date",
        "nelincs",
        S.ONE,
        ExtendDeadline(later(1), later(4), "Agreed."),
        error="must be to a later date",
    ),
    row(
        "extend to a Saturday",
        "nelincs",
        S.ONE,
        ExtendDeadline(later(1), later(12), "Agreed."),
        error="not a working day",
    ),
    row("extend a withdrawn one", "nelincs", S.ONE, WITHDRAW, EXTEND, error="is withdrawn"),
    row("extend a resolved one", "nelincs", S.ONE, RESOLVED, EXTEND, error="is resolved"),
    row("reassign", "nelincs", S.ONE, REASSIGN, status=AWAIT, stage=S.ONE),
    row("reassign twice to one", "nelincs", S.ONE, REASSIGN, REASSIGN, error="already with"),
    row("reassign a resolved one", "nelincs", S.ONE, RESOLVED, REASSIGN, error="is resolved"),
    row(
        "reassign without a name",
        "nelincs",
        S.ONE,
        Reassign(later(1), Person(None, "Team Manager"), "Leave."),
        error="Name the manager",
    ),
    row("amend a case number", "nelincs", S.ONE, AMEND, status=AWAIT),
    row(
        "amend an unknown field",
        "nelincs",
        S.ONE,
        Amend(later(1), "stage", "3", "Typo."),
        error="cannot amend 'stage'",
    ),
    row(
        "amend a date of birth after notification",
        "nelincs",
        S.ONE,
        Amend(later(1), "date_of_birth", later(1), "Typo."),
        error="not before the Date of Notification",
    ),
    row("amend to the same value", "nelincs", S.ONE, AMEND, AMEND, error="already has"),
    row("amend a withdrawn one", "nelincs", S.ONE, WITHDRAW, AMEND, status=Status.WITHDRAWN),
    row("merge", "nelincs", S.ONE, MERGE, status=Status.MERGED),
    row("merge a closed one", "nelincs", S.ONE, CLOSE, MERGE, error="is closed unresolved"),
    row(
        "merge into itself",
        "nelincs",
        S.ONE,
        MergeInto(later(1), "PC-2025-7KQ3XM", "Same."),
        error="into itself",
    ),
    row(
        "late response",
        "nelincs",
        S.ONE,
        ResponseOverdue(later(8)),
        LATE,
        stage=S.TWO,
        status=AWAIT,
        outcomes=(StageOutcome.RESPONSE_OVERDUE,),
    ),
    row(
        "late response twice",
        "nelincs",
        S.ONE,
        ResponseOverdue(later(8)),
        LATE,
        LATE,
        error="already recorded",
    ),
    row(
        "a different answer to a stage answered in time is kept beside it",
        "nelincs",
        S.ONE,
        NOT_RESOLVED,
        LATE,
        status=AWAIT,
        stage=S.TWO,
    ),
    # rotherham: bypass of a formal stage not stated, reverts to the stage last exited, stage 4
    # back to 3, CAFCASS not concurrent
    row("start at stage 2 on the IRO's decision", "rotherham", S.TWO, status=AWAIT, stage=S.TWO),
    row("informal may be skipped", "rotherham", S.ONE, status=AWAIT, stage=S.ONE),
    row("informal not resolved", "rotherham", S.INFORMAL, NOT_RESOLVED, stage=S.ONE),
    row(
        "stage 1 actions not implemented",
        "rotherham",
        S.ONE,
        RESOLVED,
        ActionsNotImplemented(later(14)),
        stage=S.TWO,
    ),
    row(
        "stage 2 actions not implemented",
        "rotherham",
        S.ONE,
        NOT_RESOLVED,
        RESOLVED,
        ActionsNotImplemented(later(14)),
        stage=S.TWO,
        outcomes=(StageOutcome.NOT_RESOLVED, StageOutcome.ACTIONS_NOT_IMPLEMENTED),
    ),
    row(
        "stage 4 actions not implemented",
        "rotherham",
        S.ONE,
        NOT_RESOLVED,
        NOT_RESOLVED,
        NOT_RESOLVED,
        RESOLVED,
        ActionsNotImplemented(later(20)),
        stage=S.THREE,
    ),
    row(
        "stage 4 overdue: the guidance does not say what follows",
        "rotherham",
        S.ONE,
        NOT_RESOLVED,
        NOT_RESOLVED,
        NOT_RESOLVED,
        ResponseOverdue(dt.date(2025, 11, 20)),
        error="does not move the challenge on by itself: the IRO decides",
    ),
    row(
        "CAFCASS ends the escalation",
        "rotherham",
        S.ONE,
        RequestCafcass(later(1)),
        status=Status.REFERRED_TO_CAFCASS,
        overrides=PREREQUISITES_MET,
    ),
    row(
        "CAFCASS needs head of service approval",
        "rotherham",
        S.ONE,
        RequestCafcass(later(1)),
        error="Head of Service",
        overrides={"cafcass": Cafcass(prerequisites={"service_manager_agreement": MON})},
    ),
    # ops-flowchart: no informal stage, bypass not stated, CAFCASS only after stage 4
    row("no informal stage", "ops-flowchart", S.INFORMAL, error="has no level Informal;"),
    # bypass not stated: starting past stage 1 is the IRO's recorded decision, not refused
    row("start at stage 2", "ops-flowchart", S.TWO, status=AWAIT, stage=S.TWO),
    row(
        "CAFCASS before stage 4",
        "ops-flowchart",
        S.TWO,
        RequestCafcass(later(1)),
        error="only after the last stage",
    ),
    row(
        "CAFCASS too early",
        "ops-flowchart",
        S.ONE,
        RequestCafcass(later(1)),
        error="only after the last stage",
    ),
    row(
        "stage 4 then CAFCASS",
        "ops-flowchart",
        S.ONE,
        NOT_RESOLVED,
        NOT_RESOLVED,
        NOT_RESOLVED,
        NOT_RESOLVED,
        RequestCafcass(later(4)),
        status=Status.REFERRED_TO_CAFCASS,
    ),
    row(
        "stage 4 child protection closes",
        "ops-flowchart",
        S.ONE,
        NOT_RESOLVED,
        NOT_RESOLVED,
        NOT_RESOLVED,
        NOT_RESOLVED,
        status=Status.CLOSED_UNRESOLVED,
        overrides=CP_CHILD,
    ),
    row(
        "stage 3 actions not implemented",
        "ops-flowchart",
        S.ONE,
        NOT_RESOLVED,
        NOT_RESOLVED,
        RESOLVED,
        ActionsNotImplemented(later(14)),
        stage=S.FOUR,
    ),
    row("stage 1 overdue", "ops-flowchart", S.ONE, ResponseOverdue(later(8)), stage=S.TWO),
    # cic-issues: IRO only, children in care only, any level, CAFCASS concurrent with no prerequisites
    row("CP chair refused", "cic-issues", S.ONE, error="raised by an IRO", overrides=CP_CHAIR),
    row(
        "child protection plan refused",
        "cic-issues",
        S.ONE,
        error="does not cover",
        overrides=CP_CHILD,
    ),
    row("start at stage 4", "cic-issues", S.FOUR, status=AWAIT, stage=S.FOUR),
    row(
        "concurrent CAFCASS",
        "cic-issues",
        S.TWO,
        RequestCafcass(later(1)),
        status=AWAIT,
        stage=S.TWO,
    ),
    # cic-issues states no route after stage 4, for agreed actions or for a missed timeframe
    row("stage 4 not resolved", "cic-issues", S.FOUR, NOT_RESOLVED, status=AWAIT, stage=S.FOUR),
    row(
        "stage 3 actions not implemented",
        "cic-issues",
        S.THREE,
        RESOLVED,
        ActionsNotImplemented(later(14)),
        error="give the level with `formflow reopen --stage LEVEL`",
    ),
    row(
        "stage 3 actions not implemented, the IRO chooses stage 4",
        "cic-issues",
        S.THREE,
        RESOLVED,
        ActionsNotImplemented(later(14), "Not done", S.FOUR),
        stage=S.FOUR,
    ),
    row(
        "informal overdue",
        "cic-issues",
        S.INFORMAL,
        ResponseOverdue(later(8)),
        error="does not move the challenge on by itself: the IRO decides",
    ),
    # A named person's decision to move on (a procedure that waits for it, or any time)
    row(
        "stage 1 escalated by the IRO's decision",
        "nelincs",
        S.ONE,
        Escalate(later(8), "Jo Bloggs", "No response after a reminder."),
        status=AWAIT,
        stage=S.TWO,
        outcomes=(StageOutcome.ESCALATED,),
    ),
    row(
        "no level above stage 4 to escalate to",
        "nelincs",
        S.FOUR,
        Escalate(later(8), "Jo Bloggs", "Not satisfied."),
        error="top of the nelincs procedure",
    ),
]


@pytest.mark.parametrize("case", TABLE, ids=[f"{r.policy}: {r.name}" for r in TABLE])
def test_transition_table(case: Row) -> None:
    def play() -> Challenge:
        challenge = raised(case.policy, case.start, **dict(case.overrides))
        return run(challenge, *case.events)

    if case.error:
        with pytest.raises(TransitionError, match=case.error):
            play()
        return
    result = play()
    if case.status:
        assert status_of(result) is case.status
    if case.stage:
        assert result.stage == case.stage
    if case.outcomes:
        assert tuple(h.outcome for h in result.history) == case.outcomes


def test_every_event_kind_appears_in_every_policy_table() -> None:
    kinds = {Raise, Respond, ResponseOverdue, ActionsNotImplemented, RequestCafcass}
    for policy_id in ("nelincs", "rotherham", "ops-flowchart", "cic-issues"):
        seen = {type(e) for r in TABLE if r.policy == policy_id for e in r.events} | {Raise}
        assert kinds <= seen, policy_id


def test_every_event_has_a_row_that_applies_it_and_one_that_refuses_it() -> None:
    every = set(Event.__args__)  # type: ignore[attr-defined]
    applied = {type(r.events[-1]) for r in TABLE if r.events and not r.error} | {Raise}
    refused = {type(r.events[-1]) if r.events else Raise for r in TABLE if r.error}
    assert applied == every
    assert refused == every


def test_escalation_records_the_stage_that_ended() -> None:
    challenge = raised("nelincs", Stage.ONE, addressed_to=None)
    transition = apply(challenge, NOT_RESOLVED, built_in()("nelincs"), CALENDAR)
    [ended] = transition.challenge.history
    assert ended.stage == Stage.ONE
    assert ended.raised_on == MON
    assert ended.due == dt.date(2025, 11, 10)
    assert ended.response == Response("We do not agree.", later(2), "A Manager", False)
    assert transition.challenge.addressed_to is not None
    assert transition.challenge.addressed_to.role == "Service Manager"
    assert transition.documents == (Document.NEXT_STAGE_FORM,)
    assert "Tegan" not in transition.message


def test_resolution_finalises_and_tracks_actions() -> None:
    challenge = run(raised("nelincs", Stage.ONE), RESOLVED)
    assert challenge.closure is not None
    before = assess(challenge, built_in()("nelincs"), CALENDAR, later(9))
    due = assess(challenge, built_in()("nelincs"), CALENDAR, later(10))
    assert before.actions_to_check == ()
    assert [a.action for a in due.actions_to_check] == ["Convene a review"]
    assert due.responder is None and due.due is None


def test_assessment_names_responder_due_date_and_overall_target() -> None:
    policy = built_in()("nelincs")
    challenge = run(raised("nelincs", Stage.ONE), NOT_RESOLVED)
    assessment = assess(challenge, policy, CALENDAR, later(8))
    assert assessment.status is Status.AWAITING_RESPONSE
    assert assessment.responder == "Service Manager"
    assert assessment.due == dt.date(2025, 11, 12)  # raised Wed 5 Nov, 5 working days
    assert assessment.overall_target == dt.date(2025, 11, 17)  # 10 from Mon 3 Nov
    assert assessment.overdue is False
    assert assess(challenge, policy, CALENDAR, dt.date(2025, 11, 13)).overdue is True


def test_rotherham_copy_list_comes_from_the_policy() -> None:
    challenge = raised("rotherham", Stage.ONE)
    assessment = assess(challenge, built_in()("rotherham"), CALENDAR, MON)
    assert assessment.copy_to == (
        "Social Worker",
        "Service Manager of the responsible team",
        "IRO/CPC Service Manager",
    )


def test_an_event_under_the_wrong_policy_is_refused() -> None:
    with pytest.raises(TransitionError, match="follows the nelincs procedure"):
        apply(make_challenge(), Raise(Stage.ONE, MON), built_in()("rotherham"), CALENDAR)


# --- what a dropped form means ------------------------------------------------------


def test_a_new_form_is_raised_at_its_stage() -> None:
    incoming = make_challenge(stage=Stage.TWO)
    assert events_for(None, incoming, MON) == [Raise(Stage.TWO, incoming.date_of_notification)]


def test_a_returned_form_with_a_response_is_a_response() -> None:
    previous = raised("nelincs", Stage.ONE)
    incoming = replace(previous, response=Response("Agreed.", None, "A Manager", True))
    assert events_for(previous, incoming, later(3)) == [
        Respond(later(3), True, "Agreed.", "A Manager", ())
    ]


def test_a_returned_form_that_adds_nothing_has_no_events() -> None:
    previous = raised("nelincs", Stage.ONE)
    assert events_for(previous, previous, later(3)) == []


def test_a_form_for_another_stage_is_refused() -> None:
    previous = raised("nelincs", Stage.ONE)
    with pytest.raises(TransitionError, match="fill in the latest form"):
        events_for(previous, replace(previous, stage=Stage.THREE), later(3))


# --- properties ---------------------------------------------------------------------

outcomes = st.lists(st.booleans(), min_size=1, max_size=6)


@given(outcomes, st.sampled_from(["nelincs", "rotherham", "ops-flowchart", "cic-issues"]))
def test_any_run_of_responses_climbs_the_ladder_and_ends_cleanly(
    answers: list[bool], policy_id: str
) -> None:
    policy = built_in()(policy_id)
    challenge = raised(policy_id, policy.first_stage)
    day = MON
    for resolved in answers:
        if status_of(challenge) is not Status.AWAITING_RESPONSE:
            break
        day += dt.timedelta(days=1)
        before = challenge.stage
        challenge = apply(challenge, Respond(day, resolved), policy, CALENDAR).challenge
        if not resolved and status_of(challenge) is Status.AWAITING_RESPONSE:
            if policy.stage(before).on_not_resolved is None:  # not stated: the IRO decides
                assert challenge.stage == before
                break
            assert STANDARD_LADDER.index(challenge.stage) > STANDARD_LADDER.index(before)
    status = status_of(challenge)
    assert status in set(Status)
    assert len(challenge.history) <= len(policy.stages)


def test_an_extension_moves_the_due_date_and_the_next_stage_clears_it() -> None:
    policy = built_in()("nelincs")
    extended = run(raised("nelincs", Stage.ONE), EXTEND)
    assert assess(extended, policy, CALENDAR, later(12)).due == later(14)
    assert assess(extended, policy, CALENDAR, later(12)).overdue is False
    moved = run(extended, NOT_RESOLVED)
    assert moved.due_extended_to is None


def test_a_child_detail_amended_is_not_in_the_message() -> None:
    transition = apply(raised("nelincs", Stage.ONE), AMEND, built_in()("nelincs"), CALENDAR)
    assert "LCS-000124" not in transition.message
    assert transition.challenge.child.case_number == "LCS-000124"


def test_a_response_with_no_outcome_tick_is_refused_naming_both_boxes() -> None:
    previous = raised("nelincs", Stage.ONE)
    incoming = replace(previous, response=Response("We will meet.", None, "A Manager", None))
    with pytest.raises(TransitionError, match="neither 'Resolved' nor 'Not resolved'"):
        events_for(previous, incoming, later(3))


def test_a_form_for_a_stage_that_timed_out_carries_a_late_response() -> None:
    previous = run(raised("nelincs", Stage.ONE), ResponseOverdue(later(8)))
    answer = Response("Agreed.", None, "A Manager", True)
    incoming = replace(previous, stage=Stage.ONE, response=answer)
    assert events_for(previous, incoming, later(9)) == [LateResponse(later(9), Stage.ONE, answer)]


@pytest.mark.parametrize(
    ("decision", "event"),
    [
        (IroDecision(Decision.REOPEN, "Not done.", later(14)), REOPEN.__class__),
        (IroDecision(Decision.CLOSE, "Moved away."), CloseUnresolved),
        (IroDecision(Decision.WITHDRAW, "In error."), Withdraw),
    ],
)
def test_the_iros_decision_on_a_form_is_an_event(decision: IroDecision, event: type) -> None:
    previous = raised("nelincs", Stage.ONE)
    [made] = events_for(previous, replace(previous, iro_decision=decision), later(3))
    assert isinstance(made, event)


def test_a_decision_to_close_needs_its_reason() -> None:
    previous = raised("nelincs", Stage.ONE)
    incoming = replace(previous, iro_decision=IroDecision(Decision.CLOSE))
    with pytest.raises(TransitionError, match="'Reason for the IRO's decision' is empty"):
        events_for(previous, incoming, later(3))


LIFE_EVENTS = st.sampled_from(
    [
        *(NOT_RESOLVED, RESOLVED, WITHDRAW, CLOSE, REOPEN, EXTEND, REASSIGN, AMEND, MERGE, LATE),
        *(ResponseOverdue(later(30)), RequestCafcass(later(2))),
    ]
)


@given(st.lists(LIFE_EVENTS, max_size=8), st.sampled_from(["nelincs", "rotherham", "cic-issues"]))
def test_any_run_of_real_events_is_applied_or_refused_and_an_ended_challenge_stays_ended(
    events: list[Event], policy_id: str
) -> None:
    """Whatever people do, in whatever order: each event is applied or refused with a
    TransitionError (never another error), and once withdrawn, merged or closed, every
    later event is refused but a correction of a detail or a late answer to an earlier
    stage (recorded, never lost)."""
    policy = built_in()(policy_id)
    challenge = raised(policy_id, policy.first_stage, **PREREQUISITES_MET)
    for event in events:
        ended = status_of(challenge) in CLOSED
        try:
            challenge = apply(challenge, event, policy, CALENDAR).challenge
        except TransitionError as refused:
            assert str(refused)
            continue
        if not isinstance(event, Amend | LateResponse):
            assert not ended, f"{type(event).__name__} changed an ended challenge"


def test_a_decision_on_a_new_form_is_refused() -> None:
    incoming = make_challenge(reference=None, iro_decision=IroDecision(Decision.CLOSE, "x"))
    with pytest.raises(TransitionError, match="leave that section empty on a new challenge"):
        events_for(None, incoming, MON)


# --- what a returned form's answer means (events_for) -------------------------------------

NELINCS = built_in()("nelincs")
ANSWERED = run(raised("nelincs", S.ONE), RESOLVED)
"""Stage 1 resolved by 'A Manager' on later(2), saying 'Agreed.'."""


def _form(response: Response | None, **overrides: object) -> Challenge:
    return replace(ANSWERED, response=response, closure=None, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "response", "expected"),
    [
        ("the same answer", Response("Agreed.", later(2), "A Manager", True), []),
        ("retyped, undated", Response("  AGREED. ", None, "a manager", None), []),
        ("another manager's", Response("We do not agree.", None, "B Manager", False), [False]),
        ("the outcome changed", Response("Agreed.", later(3), "A Manager", False), [False]),
    ],
)
def test_an_answer_to_an_answered_stage_is_kept_unless_a_copy(
    name: str, response: Response, expected: list[bool]
) -> None:
    events = events_for(ANSWERED, _form(response), later(5))
    assert [e.response.resolved for e in events if isinstance(e, LateResponse)] == expected, name
    assert len(events) == len(expected), name


def test_a_different_answer_without_an_outcome_is_refused_and_nothing_is_said_due() -> None:
    with pytest.raises(TransitionError, match="neither 'Resolved' nor") as refused:
        events_for(ANSWERED, _form(Response("Something else.", None, "B", None)), later(5))
    assert "still due" not in str(refused.value)


def test_a_further_answer_is_kept_beside_the_first_and_the_iro_told() -> None:
    further = Response("We do not agree.", later(4), "B Manager", False)
    moved = apply(ANSWERED, LateResponse(later(4), S.ONE, further), NELINCS, CALENDAR)
    assert moved.challenge.response == ANSWERED.response
    assert moved.challenge.further_responses == (further,)
    assert moved.documents == (Document.IRO_NOTE,)
    assert "stays so unless the IRO re-opens it" in moved.message
    reopened = run(moved.challenge, REOPEN)
    assert reopened.history[-1].further_responses == (further,)  # kept as the stage ends


def test_a_final_record_saved_again_with_reopen_ticked_is_refused() -> None:
    reopened = run(ANSWERED, REOPEN)
    resaved = _form(  # the final record of Stage 1; the challenge has gone on to Stage 2
        ANSWERED.response,
        iro_decision=IroDecision(Decision.REOPEN, "Reworded reason", None),
    )
    with pytest.raises(TransitionError, match="re-opening was already recorded") as refused:
        events_for(reopened, resaved, later(20))
    assert refused.value.advice.startswith("Nothing needs doing")
