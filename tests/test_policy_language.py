"""The version 2 policy language: the seven things the seed language could not say, each
written in a fictional council's file (tests/data/policies/northtown.json) and carried out
by the engine, and the migration of version 1 files with the same deadlines."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import make_challenge
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import (
    Escalate,
    Raise,
    Respond,
    ResponseOverdue,
    Status,
    apply,
    assess,
    deadline,
)
from formflow.core.planning import chases
from formflow.core.policy import Policy, migrate, policy_from_dict, warnings
from formflow.core.record import Challenge, Role, Stage, StageOutcome
from formflow.errors import PolicyError, TransitionError
from formflow.policy_catalogue import built_in, read_policy_file

DATA = Path(__file__).parent / "data"
NORTHTOWN = read_policy_file(DATA / "policies" / "northtown.json")
CALENDAR = WorkingCalendar()
MON = dt.date(2025, 11, 3)

PRE_FORMAL = Stage("pre-formal")
CASE_ALERT = Stage("case-alert")
CP_ALERT = Stage("cp-alert")
MANAGEMENT = Stage("management-alert")
AGREED = Stage("agreed")
DIRECTOR = Stage("director")


def northtown(stage: Stage, role: Role | None = Role.IRO, **details: str) -> Challenge:
    """A Northtown challenge raised at ``stage`` on MON."""
    challenge = make_challenge(
        policy="northtown",
        raised_by=replace(make_challenge().raised_by, role=role),
        details=details,
    )
    return apply(challenge, Raise(stage, MON), NORTHTOWN, CALENDAR).challenge


def play(challenge: Challenge, *events: object) -> Challenge:
    for event in events:
        challenge = apply(challenge, event, NORTHTOWN, CALENDAR).challenge  # type: ignore[arg-type]
    return challenge


NOT_RESOLVED = Respond(MON + dt.timedelta(days=1), resolved=False, text="No.", by="A Manager")


# --- 1. a level with no fixed timescale -------------------------------------------------


def test_a_level_as_agreed_has_no_due_date_and_is_never_chased() -> None:
    challenge = northtown(PRE_FORMAL)
    seen = assess(challenge, NORTHTOWN, CALENDAR, MON + dt.timedelta(days=400))
    assert seen.due is None and not seen.overdue
    assert (
        chases([challenge], lambda _: NORTHTOWN, _Settings(), MON + dt.timedelta(days=400), _never)
        == []
    )
    with pytest.raises(TransitionError, match="no due date"):
        apply(challenge, ResponseOverdue(MON + dt.timedelta(days=400)), NORTHTOWN, CALENDAR)


def test_a_date_the_iro_sets_on_the_form_is_the_due_date() -> None:
    challenge = northtown(AGREED, agreed_response_date="2025-11-20")
    assert assess(challenge, NORTHTOWN, CALENDAR, MON).due == dt.date(2025, 11, 20)
    unset = northtown(AGREED)
    assert assess(unset, NORTHTOWN, CALENDAR, MON).due is None
    raised = apply(
        replace(make_challenge(policy="northtown"), details={}),
        Raise(AGREED, MON),
        NORTHTOWN,
        CALENDAR,
    )
    assert "no due date until the form gives 'Response agreed by'" in raised.message


# --- 2. the council's own names and number of levels ------------------------------------


def test_six_named_levels_are_climbed_in_order_under_their_own_names() -> None:
    challenge = northtown(PRE_FORMAL, review_date="2025-11-03")
    assert challenge.stage.label == "Pre-formal"
    challenge = play(challenge, NOT_RESOLVED)
    assert challenge.stage == CASE_ALERT and challenge.stage.label == "Case Alert"
    challenge = play(challenge, Respond(MON + dt.timedelta(days=2), resolved=False))
    # the IRO's ladder skips the CP chair's own level
    assert challenge.stage == MANAGEMENT and challenge.stage.label == "Management Alert"
    challenge = play(challenge, Respond(MON + dt.timedelta(days=3), resolved=False))
    assert challenge.stage == AGREED
    challenge = play(challenge, Respond(MON + dt.timedelta(days=4), resolved=False))
    assert challenge.stage == DIRECTOR
    assert [h.stage.label for h in challenge.history] == [
        "Pre-formal",
        "Case Alert",
        "Management Alert",
        "Agreed date",
    ]
    ended = play(challenge, Respond(MON + dt.timedelta(days=5), resolved=False))
    assert assess(ended, NORTHTOWN, CALENDAR, MON).status is Status.CAFCASS_CONSIDERATION


def test_a_record_keeps_the_level_names_so_it_reads_without_its_procedure() -> None:
    challenge = play(northtown(PRE_FORMAL, review_date="2025-11-03"), NOT_RESOLVED)
    again = Challenge.from_dict(json.loads(json.dumps(challenge.to_dict())))
    assert again == challenge
    assert again.stage.label == "Case Alert" and again.history[0].stage.label == "Pre-formal"


def test_a_level_name_becomes_a_safe_file_name_part() -> None:
    assert Stage("x", "Stage 2 / Alert: \u201cmanagement\u201d").slug == "stage-2-alert-management"
    assert Stage("2").slug == "stage-2"


# --- 3. escalation decided by a person ---------------------------------------------------


def test_a_missed_deadline_reminds_once_and_waits_for_the_iros_decision() -> None:
    challenge = northtown(CASE_ALERT, review_date="2025-11-03")
    late = MON + dt.timedelta(days=14)
    assert assess(challenge, NORTHTOWN, CALENDAR, late).overdue
    with pytest.raises(TransitionError, match="the IRO decides"):
        apply(challenge, ResponseOverdue(late), NORTHTOWN, CALENDAR)
    [chase] = chases([challenge], lambda _: NORTHTOWN, _Settings(), late, _never)
    assert not chase.overdue and chase.awaiting_decision == "timeout:case-alert:2025-11-03"
    assert chases([challenge], lambda _: NORTHTOWN, _Settings(), late, _always) == []
    moved = apply(
        challenge, Escalate(late, "Morwenna Pentreath", "No response."), NORTHTOWN, CALENDAR
    )
    assert moved.challenge.stage == MANAGEMENT
    assert moved.challenge.history[-1].outcome is StageOutcome.ESCALATED
    assert "Decided by Morwenna Pentreath: No response." in moved.message


def test_escalating_needs_a_reason() -> None:
    with pytest.raises(TransitionError, match="reason"):
        apply(northtown(CASE_ALERT), Escalate(MON, "Morwenna Pentreath", " "), NORTHTOWN, CALENDAR)


# --- 4. timers counted from another date -------------------------------------------------


@pytest.mark.parametrize(
    ("review", "due"),
    [
        ("2025-11-03", dt.date(2025, 11, 10)),  # Monday review: the following Monday
        ("2025-12-19", dt.date(2025, 12, 30)),  # Friday before Christmas: over 25 and 26 Dec
        ("2025-10-31", dt.date(2025, 11, 7)),  # a review before the alert was raised
    ],
)
def test_five_working_days_following_the_review(review: str, due: dt.date) -> None:
    challenge = northtown(CASE_ALERT, review_date=review)
    assert assess(challenge, NORTHTOWN, CALENDAR, MON).due == due


def test_without_the_review_date_the_level_has_no_due_date_yet() -> None:
    challenge = northtown(CASE_ALERT)
    assert assess(challenge, NORTHTOWN, CALENDAR, MON).due is None


def test_a_later_form_giving_the_review_date_sets_the_deadline() -> None:
    from formflow.core.engine import with_form_updates

    challenge = northtown(CASE_ALERT)
    updated = with_form_updates(
        challenge, replace(challenge, details={"review_date": "2025-11-03"})
    )
    assert assess(updated, NORTHTOWN, CALENDAR, MON).due == dt.date(2025, 11, 10)


# --- 5. alternative and joint responders -------------------------------------------------


def test_alternative_responders_are_named_as_either() -> None:
    assert NORTHTOWN.stage(CASE_ALERT).responder == "ATM or TM"
    addressed = northtown(CASE_ALERT).addressed_to
    assert addressed is not None and addressed.role == "ATM or TM"
    assert assess(northtown(CASE_ALERT), NORTHTOWN, CALENDAR, MON).responder == "ATM or TM"


def test_a_joint_level_is_resolved_only_when_every_responder_agrees() -> None:
    challenge = northtown(MANAGEMENT)
    alone = Respond(MON, resolved=True, by="Head of QA", agreed_by=("Head of QA",))
    with pytest.raises(TransitionError, match="does not record the agreement of IRO"):
        apply(challenge, alone, NORTHTOWN, CALENDAR)
    both = replace(alone, agreed_by=("IRO", "Head of QA"))
    resolved = apply(challenge, both, NORTHTOWN, CALENDAR).challenge
    assert assess(resolved, NORTHTOWN, CALENDAR, MON).status is Status.RESOLVED
    assert resolved.response is not None and resolved.response.agreed_by == ("IRO", "Head of QA")
    # not resolved needs no one's agreement
    apply(challenge, Respond(MON, resolved=False), NORTHTOWN, CALENDAR)


# --- 6. separate ladders for CP chairs and IROs ------------------------------------------


def test_cp_chairs_and_iros_climb_different_ladders() -> None:
    ids = [s.stage.id for s in NORTHTOWN.ladder(Role.CP_CHAIR)]
    assert ids == ["pre-formal", "case-alert", "cp-alert", "management-alert", "director"]
    assert NORTHTOWN.next_stage(CASE_ALERT, Role.CP_CHAIR) == CP_ALERT
    assert NORTHTOWN.next_stage(CASE_ALERT, Role.IRO) == MANAGEMENT
    chair = northtown(CASE_ALERT, Role.CP_CHAIR, review_date="2025-11-03")
    assert play(chair, NOT_RESOLVED).stage == CP_ALERT
    with pytest.raises(
        TransitionError, match="no level Agreed date for a challenge raised by a CP chair"
    ):
        northtown(AGREED, Role.CP_CHAIR)


def test_a_role_not_stated_is_asked_for_only_because_the_ladders_differ() -> None:
    with pytest.raises(TransitionError, match="does not say which raised this challenge"):
        northtown(CASE_ALERT, role=None)
    # the seed procedures have one ladder: no role needed
    unstated = make_challenge(raised_by=replace(make_challenge().raised_by, role=None))
    apply(unstated, Raise(Stage.ONE, MON), built_in()("nelincs"), CALENDAR)


# --- 7. not stated in the source --------------------------------------------------------


def test_what_the_source_does_not_state_is_warned_and_never_invented() -> None:
    found = warnings(NORTHTOWN)
    assert any("Director: the source does not state timescale" in w for w in found)
    assert any("Director: the source does not state responder" in w for w in found)
    director = northtown(DIRECTOR)
    assert assess(director, NORTHTOWN, CALENDAR, MON).due is None
    assert (
        assess(director, NORTHTOWN, CALENDAR, MON).responder == "responder not stated in the source"
    )


# --- calendar days and hours -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "stage", "due"),
    [
        (MON, MANAGEMENT, dt.date(2025, 11, 13)),  # 10 calendar days: Thursday
        (dt.date(2025, 11, 5), MANAGEMENT, dt.date(2025, 11, 17)),  # lands on Saturday: Monday
        (dt.date(2025, 12, 16), MANAGEMENT, dt.date(2025, 12, 29)),  # lands on Boxing Day
        (MON, CP_ALERT, dt.date(2025, 11, 5)),  # 48 hours: the 2nd working day
        (dt.date(2025, 12, 24), CP_ALERT, dt.date(2025, 12, 30)),  # over Christmas
    ],
)
def test_calendar_day_and_hour_timescales(raised: dt.date, stage: Stage, due: dt.date) -> None:
    assert deadline(NORTHTOWN, stage, raised, CALENDAR).due == due


# --- the language's own rules -----------------------------------------------------------


def _northtown_data() -> dict[str, object]:
    data = json.loads((DATA / "policies" / "northtown.json").read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["levels"][4]["timescale"].update(set_on_form="nowhere"), "not a date field"),
        (
            lambda d: d["levels"][1].update(counted_from="meeting_date"),
            "counts from 'meeting_date'",
        ),
        (
            lambda d: (
                d["levels"][2].update(for_roles=["CP chair"]) or d.update(raised_by_roles=["IRO"])
            ),
            "may not raise",
        ),
        (lambda d: d["levels"][3].update(on_actions_not_implemented="stage-9"), "does not have"),
        (lambda d: d["fields"].append(d["fields"][0]), "its own id"),
    ],
)
def test_references_the_schema_cannot_check_are_refused(
    tmp_path: Path, change: object, message: str
) -> None:
    data = _northtown_data()
    change(data)  # type: ignore[operator]
    path = tmp_path / "northtown.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PolicyError, match=message):
        read_policy_file(path)


@pytest.mark.parametrize(
    "level",
    [
        {"timescale": {"working_days": 5, "hours": 4}},
        {"timescale": {"weeks": 2}},
        {"responder": {"any_of": ["TM"]}},
        {"on_timeout": {"remind": "IRO"}},
        {"bypass": True},
    ],
)
def test_a_malformed_level_is_refused_by_the_schema(
    tmp_path: Path, level: dict[str, object]
) -> None:
    data = _northtown_data()
    data["levels"][1].update(level)  # type: ignore[index]
    path = tmp_path / "northtown.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PolicyError, match="at levels/1"):
        read_policy_file(path)


# --- migration of version 1 --------------------------------------------------------------

SEEDS_AS_VERSION_1 = sorted(p.stem for p in (DATA / "policy-v1").glob("*.json"))
MIGRATED = DATA / "policy-v1-migrated"
"""What each version 1 file migrates to: the shipped procedures as they were before they
were traced to their sources, which version 1 could not say "not stated" in."""


@pytest.mark.parametrize("policy_id", SEEDS_AS_VERSION_1)
def test_each_seed_migrates_to_exactly_its_version_2_file(policy_id: str) -> None:
    old = json.loads((DATA / "policy-v1" / f"{policy_id}.json").read_text())
    assert policy_from_dict(migrate(old)) == read_policy_file(MIGRATED / f"{policy_id}.json")


@pytest.mark.parametrize("policy_id", SEEDS_AS_VERSION_1)
def test_a_version_1_file_in_a_home_is_read_with_the_same_deadlines(
    tmp_path: Path, policy_id: str
) -> None:
    path = tmp_path / f"{policy_id}.json"
    path.write_text((DATA / "policy-v1" / f"{policy_id}.json").read_text())
    old = read_policy_file(path)
    assert old == read_policy_file(MIGRATED / f"{policy_id}.json")


@given(
    st.sampled_from(SEEDS_AS_VERSION_1),
    st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)),
    st.integers(0, 4),
)
def test_migrated_deadlines_are_v1_working_days(
    policy_id: str, raised: dt.date, index: int
) -> None:
    old = json.loads((DATA / "policy-v1" / f"{policy_id}.json").read_text())
    stages = old["stages"]
    rule = stages[min(index, len(stages) - 1)]
    policy: Policy = built_in()(policy_id)
    expected = CALENDAR.add_working_days(raised, rule["timescale_working_days"])
    assert deadline(policy, Stage(rule["stage"]), raised, CALENDAR).due == expected


class _Settings:
    calendar = CALENDAR


def _never(_reference: str, _key: str) -> bool:
    return False


def _always(_reference: str, _key: str) -> bool:
    return True


def test_a_response_with_no_due_date_says_why() -> None:
    notes = {
        stage: assess(northtown(stage), NORTHTOWN, CALENDAR, MON).due_note
        for stage in (PRE_FORMAL, CASE_ALERT, AGREED, DIRECTOR)
    }
    assert notes == {
        PRE_FORMAL: "no fixed timescale (a timescale appropriate to the child's needs)",
        CASE_ALERT: "no due date until the form gives 'Date of the review or conference'",
        AGREED: "no due date until the form gives 'Response agreed by'",
        DIRECTOR: "timescale not stated in the source",
    }
    dated = northtown(CASE_ALERT, review_date="2025-11-03")
    assert assess(dated, NORTHTOWN, CALENDAR, MON).due_note == ""


def test_a_ladder_with_a_level_as_agreed_sets_no_bound_on_a_late_notification() -> None:
    from formflow.core.engine import ladder_working_days, notification_warnings

    assert ladder_working_days(NORTHTOWN) is None
    assert ladder_working_days(built_in()("nelincs")) == 21
    old = make_challenge(policy="northtown", date_of_notification=dt.date(2024, 1, 8))
    assert notification_warnings(old, NORTHTOWN, CALENDAR, MON) == ()
