"""A procedure that says what its council wrote and nothing more (issue 24 part 1): every
field may be "not stated", leaving one out is an error, and where the source is silent
formflow decides nothing by itself: the IRO is asked, and the decision is recorded."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import make_challenge
from formflow.cli import main
from formflow.config import Settings
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import (
    ActionsNotImplemented,
    Document,
    Escalate,
    Raise,
    RequestCafcass,
    Respond,
    ResponseOverdue,
    Status,
    apply,
    status_of,
)
from formflow.core.planning import chases
from formflow.core.record import Challenge, Child, LegalStatus, Person, Stage, StageOutcome
from formflow.errors import PolicyError, TransitionError
from formflow.pipeline.notices import covering_email
from formflow.policy_catalogue import policy_data, read_policy_file

POLICIES = Path(__file__).parent / "data" / "policies"
SOUTHMOOR = read_policy_file(POLICIES / "southmoor.json")
CALENDAR = WorkingCalendar()
MON = dt.date(2025, 11, 3)
ALERT = Stage("alert")
MANAGEMENT = Stage("management")


def southmoor(stage: Stage = ALERT, **overrides: object) -> Challenge:
    challenge = make_challenge(policy="southmoor", **overrides)
    return apply(challenge, Raise(stage, MON), SOUTHMOOR, CALENDAR).challenge


def play(challenge: Challenge, *events: object) -> Challenge:
    for event in events:
        challenge = apply(challenge, event, SOUTHMOOR, CALENDAR).challenge  # type: ignore[arg-type]
    return challenge


NOT_RESOLVED = Respond(MON, resolved=False, text="Not agreed.")


def test_leaving_on_timeout_out_is_an_error_not_a_silent_escalation() -> None:
    data = json.loads((POLICIES / "northtown.json").read_text(encoding="utf-8"))
    del data["levels"][1]["on_timeout"]
    with pytest.raises(PolicyError, match="'on_timeout' is a required property"):
        policy_data(json.dumps(data), "northtown.json")


def test_policies_check_lists_every_not_stated_with_where_it_sits(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["policies", "check", "--home", str(tmp_path), str(POLICIES / "southmoor.json")]
    )
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("Warning:")]
    assert len(warned) == 13, warned
    for where in (
        "The procedure: the source does not state children (at children;",
        "The procedure: the source does not state cafcass.concurrent (at cafcass.concurrent;",
        "Level 1 (name not stated): the source does not state name (at levels[0].name;",
        "Level 1 (name not stated): the source does not state on_not_resolved "
        "(at levels[0].on_not_resolved; it says: 'if the matter is not resolved",
        "Management Alert: the source does not state responder (at levels[1].responder;",
    ):
        assert any(line.startswith(f"Warning: {where}") for line in warned), where
    assert "valid policy 'southmoor' with 13 warning(s)" in result.output


def test_a_level_whose_name_is_not_stated_is_shown_by_its_place() -> None:
    assert SOUTHMOOR.stage(ALERT).stage.label == "Level 1 (name not stated)"


def test_an_unresolved_response_waits_for_the_iro_and_the_decision_is_recorded() -> None:
    raised = southmoor()
    asked = apply(raised, NOT_RESOLVED, SOUTHMOOR, CALENDAR)
    assert asked.challenge.stage == ALERT
    assert status_of(asked.challenge) is Status.AWAITING_RESPONSE
    assert asked.documents == (Document.IRO_NOTE,)
    assert asked.message == (
        "The procedure does not say what happens when Level 1 (name not stated) is not "
        "resolved: decide with `formflow escalate`, `close` or `withdraw`."
    )
    email = covering_email(
        asked.challenge, SOUTHMOOR, Settings(), Document.IRO_NOTE, (), summary=asked.message
    )
    assert "decide with `formflow escalate`" in email.get_content()
    escalated = apply(
        asked.challenge,
        Escalate(MON, "Morwenna Pentreath", "No plan agreed"),
        SOUTHMOOR,
        CALENDAR,
    )
    assert escalated.challenge.stage == MANAGEMENT
    assert escalated.challenge.history[-1].outcome is StageOutcome.ESCALATED
    assert "Decided by Morwenna Pentreath: No plan agreed" in escalated.message


def test_a_missed_deadline_the_procedure_says_nothing_of_waits_for_the_iro() -> None:
    raised = southmoor()
    late = dt.date(2025, 11, 11)  # 5 working days from Monday 3rd end on Monday 10th
    (chase,) = chases([raised], lambda _: SOUTHMOOR, Settings(), late, lambda *_: False)
    assert (chase.overdue, chase.awaiting_decision is not None) == (False, True)
    with pytest.raises(TransitionError, match="the IRO decides"):
        apply(raised, ResponseOverdue(late), SOUTHMOOR, CALENDAR)
    answered = apply(raised, NOT_RESOLVED, SOUTHMOOR, CALENDAR).challenge
    assert chases([answered], lambda _: SOUTHMOOR, Settings(), late, lambda *_: False) == []


def test_going_past_a_level_with_bypass_not_stated_is_the_iros_recorded_decision() -> None:
    transition = apply(
        make_challenge(policy="southmoor"), Raise(MANAGEMENT, MON), SOUTHMOOR, CALENDAR
    )
    assert transition.challenge.stage == MANAGEMENT
    assert transition.message.endswith(
        "The procedure does not say whether Level 1 (name not stated) may be bypassed: "
        "bypassed on the IRO's decision."
    )


def test_reopening_where_the_procedure_is_silent_asks_for_the_level() -> None:
    resolved = play(southmoor(), Respond(MON, resolved=True, text="Agreed."))
    with pytest.raises(TransitionError, match="formflow reopen --stage LEVEL"):
        apply(resolved, ActionsNotImplemented(MON, "Not done"), SOUTHMOOR, CALENDAR)
    chosen = apply(
        resolved, ActionsNotImplemented(MON, "Not done", MANAGEMENT), SOUTHMOOR, CALENDAR
    )
    assert chosen.challenge.stage == MANAGEMENT


def test_children_not_stated_accepts_any_legal_status() -> None:
    child = Child(
        "Cai Example", dt.date(2015, 5, 5), "LCS-000777", LegalStatus.CHILD_PROTECTION_PLAN
    )
    assert southmoor(child=child).stage == ALERT


def test_a_responder_not_stated_keeps_the_role_the_form_gives() -> None:
    """Issue 24 part 3 item 2: the role the IRO typed is neither overwritten nor replaced by
    "responder not stated in the source" in the record or the email."""
    typed = Person("Priya Raman", "Head of Service")
    challenge = southmoor(MANAGEMENT, addressed_to=typed)
    assert challenge.addressed_to == typed
    email = covering_email(
        challenge, SOUTHMOOR, Settings(), Document.NEXT_STAGE_FORM, (), summary="Raised."
    )
    assert email["To"] == '"Priya Raman, Head of Service (address needed)":;'
    untyped = southmoor(MANAGEMENT, addressed_to=Person("Priya Raman", None))
    assert (
        covering_email(
            untyped, SOUTHMOOR, Settings(), Document.NEXT_STAGE_FORM, (), summary="Raised."
        )["To"]
        == '"Priya Raman, Responder (address needed)":;'
    )


def test_cafcass_not_mentioned_leaves_the_referral_and_the_closing_to_the_iro() -> None:
    top = play(southmoor(MANAGEMENT), NOT_RESOLVED)
    assert status_of(top) is Status.CAFCASS_CONSIDERATION
    referred = apply(southmoor(MANAGEMENT), RequestCafcass(MON), SOUTHMOOR, CALENDAR)
    assert status_of(referred.challenge) is Status.AWAITING_RESPONSE
    assert "does not say whether it may: close or withdraw" in referred.message
    at_top = apply(southmoor(MANAGEMENT), NOT_RESOLVED, SOUTHMOOR, CALENDAR)
    assert "The procedure does not mention CAFCASS" in at_top.message
    assert top.closure is None  # nothing closed by itself
