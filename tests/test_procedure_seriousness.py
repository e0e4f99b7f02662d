"""The rest of issue 24 part 2, driven with Westvale, a fictional procedure
(tests/data/policies/westvale.json): entry points chosen by seriousness, a condition on a
referral to CAFCASS, duties to record, and a contest window whose end is acceptance."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import make_challenge
from filled_forms import fill_docx, fill_pdf
from formflow.cli import main
from formflow.config import Settings
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import (
    Document,
    Raise,
    RequestCafcass,
    ResponseOverdue,
    Status,
    Transition,
    apply,
    assess,
    status_of,
)
from formflow.core.planning import chases
from formflow.core.record import Stage
from formflow.errors import TransitionError
from formflow.outbox.folders import Home
from formflow.pipeline.notices import covering_email
from formflow.policy_catalogue import read_policy_file
from formflow.render.context import next_stage_summary
from formflow.store.register import Register
from service.test_council_form import drop, pipeline_for, text_of

POLICIES = Path(__file__).parent / "data" / "policies"
WESTVALE = read_policy_file(POLICIES / "westvale.json")
EASTBROOK = read_policy_file(POLICIES / "eastbrook.json")
CALENDAR = WorkingCalendar()
MON = dt.date(2025, 11, 3)
CASE_ALERT = Stage("case-alert")
MANAGEMENT_ALERT = Stage("management-alert")
REVIEW = Stage("review")
DUTY_FIELD = "recorded_case_alert_1"


def raised(stage: Stage, **overrides: object) -> Transition:
    challenge = make_challenge(policy="westvale", **overrides)
    return apply(challenge, Raise(stage, MON), WESTVALE, CALENDAR)


# --- entry points chosen by seriousness ---------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "said", "not_said"),
    [
        (CASE_ALERT, "Raised at Case Alert with the Team Manager;", "bypassed"),
        (
            MANAGEMENT_ALERT,
            "Raised at Management Alert (the procedure lets a challenge start here for a "
            "serious matter) with the Service Manager;",
            "bypassed",
        ),
        (
            REVIEW,
            "The procedure does not say whether Case Alert or Management Alert may be "
            "bypassed: bypassed on the IRO's decision.",
            "start here",
        ),
    ],
)
def test_a_challenge_starts_at_either_entry_point_and_neither_bypasses_the_other(
    stage: Stage, said: str, not_said: str
) -> None:
    message = raised(stage).message
    assert said in message
    assert not_said not in message


def test_an_entry_point_is_named_on_the_form_and_in_policies_show(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    shutil.copy(POLICIES / "westvale.json", tmp_path / "policies")
    shown = CliRunner().invoke(main, ["policies", "show", "westvale", "--home", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "a challenge may start here for a serious matter" in shown.output
    assert (
        "A challenge may start at Management Alert for a serious matter: the levels below it "
        "are then not bypassed but not needed." in WESTVALE.stage(MANAGEMENT_ALERT).terms()
    )


# --- a condition on CAFCASS -----------------------------------------------------------------


def test_a_referral_to_cafcass_waits_for_the_iro_to_confirm_the_procedures_condition() -> None:
    alert = raised(CASE_ALERT).challenge
    with pytest.raises(TransitionError) as refused:
        apply(alert, RequestCafcass(MON), WESTVALE, CALENDAR)
    assert (
        "The IRO confirms the condition for a referral: only where the child's human rights "
        "have been breached" in str(refused.value)
    )
    confirmed = replace(alert, cafcass=replace(alert.cafcass, prerequisites={"condition": MON}))
    referral = apply(confirmed, RequestCafcass(MON), WESTVALE, CALENDAR)
    assert referral.documents == (Document.CAFCASS_PACK,)
    assert referral.challenge.cafcass.requested


def test_a_procedure_without_a_condition_asks_for_no_confirmation() -> None:
    assert not [p for p in EASTBROOK.cafcass.prerequisites if p.id == "condition"]


# --- duties to record ----------------------------------------------------------------------


def test_a_duty_to_record_is_outstanding_until_the_form_gives_its_date() -> None:
    alert = raised(CASE_ALERT).challenge
    outstanding = (
        "Outstanding at Case Alert: the alert and response are recorded on the child's file. "
        "Give the date it was done in 'Case Alert: the alert and response are recorded on the "
        "child's file (date done)' on the form."
    )
    assert outstanding in assess(alert, WESTVALE, CALENDAR, MON).outstanding
    done = replace(alert, details={DUTY_FIELD: MON.isoformat()})
    assert assess(done, WESTVALE, CALENDAR, MON).outstanding == ()


def test_a_duty_at_a_level_not_reached_is_not_outstanding() -> None:
    management = raised(MANAGEMENT_ALERT).challenge
    outstanding = assess(management, WESTVALE, CALENDAR, MON).outstanding
    assert list(outstanding) == [
        "Outstanding at Management Alert: the alert and response are recorded on the child's "
        "file. Give the date it was done in 'Management Alert: the alert and response are "
        "recorded on the child's file (date done)' on the form."
    ]


# --- a contest window ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "status"),
    [
        (dt.date(2025, 11, 8), None),  # the fifth calendar day: still open to contest
        (dt.date(2025, 11, 11), Status.RESOLVED),  # due moves to Monday 10th; Tuesday accepts
    ],
)
def test_a_contest_window_ends_in_acceptance_not_escalation(
    today: dt.date, status: Status | None
) -> None:
    review = raised(REVIEW).challenge
    swept = chases([review], lambda _: WESTVALE, Settings(), today, lambda *_: False)
    if status is None:
        assert swept == []
        with pytest.raises(TransitionError, match="not overdue"):
            apply(review, ResponseOverdue(today), WESTVALE, CALENDAR)
        return
    assert [c.overdue for c in swept] == [True]
    accepted = apply(review, ResponseOverdue(today), WESTVALE, CALENDAR)
    assert status_of(accepted.challenge) is status
    assert accepted.challenge.stage == REVIEW  # nothing escalates
    assert accepted.message == (
        "Resolved at Review recommendations. Not contested by the end of 10 November 2025: "
        "under the procedure what was put at Review recommendations stands."
    )
    assert accepted.documents == (Document.FINAL_RECORD,)


# --- the schema --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"entry": {"when": "for a serious matter"}', '"entry": {}'),
        ('"on_timeout": "accept"', '"on_timeout": "accepted"'),
        ('"record": ["the alert', '"record": [""], "x": ["the alert'),
        ('"condition": "only where', '"condition": {"when": "only where'),
    ],
)
def test_the_schema_refuses_a_malformed_construct(tmp_path: Path, old: str, new: str) -> None:
    text = (POLICIES / "westvale.json").read_text(encoding="utf-8")
    broken = text.replace(old, new, 1)
    assert broken != text
    (tmp_path / "westvale.json").write_text(broken, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["policies", "check", "--home", str(tmp_path), str(tmp_path / "westvale.json")]
    )
    assert result.exit_code != 0, result.output


# --- through a dropped Word form -------------------------------------------------------------

PERSON = {
    "date_of_notification": "03/11/2025",
    "raised_by_name": "Morwenna Pentreath",
    "child_name": "Tegan Example",
    "child_date_of_birth": "09/02/2014",
    "child_case_number": "LCS-000123",
    "concern": "The pathway plan has not been reviewed since the placement move.",
}


@pytest.fixture
def home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "home")
    home.create()
    (home.root / "policies").mkdir()
    shutil.copy(POLICIES / "westvale.json", home.root / "policies")
    (home.root / "formflow.toml").write_text(
        '[council]\nname = "Westvale Council"\ndefault_policy = "westvale"\n'
    )
    return home


def test_a_word_form_asks_for_the_condition_and_the_duty_and_the_register_keeps_the_date(
    home: Home,
) -> None:
    blank = home.root / "blank.docx"
    made = CliRunner().invoke(main, ["new", "--home", str(home.root), "-o", str(blank)])
    assert made.exit_code == 0, made.output
    xml = text_of(blank)
    assert "only where the child's human rights have been breached" in xml
    assert "Case Alert: the alert and response are recorded on the child's file (date done)" in xml
    filled = fill_docx(
        blank,
        home.root / "filled.docx",
        {**PERSON, "detail_" + DUTY_FIELD: "04/11/2025"},
        ("stage_case_alert", "raised_by_iro", "status_child_in_care"),
    )
    with Register(home.database) as register:
        record = register.challenge(drop(pipeline_for(home, register, MON), home, filled))
    assert record is not None and record.details[DUTY_FIELD] == "2025-11-04"
    assert assess(record, WESTVALE, CALENDAR, MON).outstanding == ()


def test_a_pdf_form_carries_the_date_a_duty_was_done_to_the_register(home: Home) -> None:
    blank = home.root / "blank.pdf"
    made = CliRunner().invoke(main, ["new", "--home", str(home.root), "--pdf", "-o", str(blank)])
    assert made.exit_code == 0, made.output
    filled = fill_pdf(
        blank,
        home.root / "filled.pdf",
        {**PERSON, "detail_" + DUTY_FIELD: "04/11/2025"},
        ("stage_case_alert", "raised_by_iro", "status_child_in_care"),
    )
    with Register(home.database) as register:
        record = register.challenge(drop(pipeline_for(home, register, MON), home, filled))
    assert record is not None and record.details[DUTY_FIELD] == "2025-11-04"


def test_an_outstanding_duty_is_on_the_next_form_its_email_and_the_dashboard() -> None:
    alert = raised(CASE_ALERT)
    outstanding = "Outstanding at Case Alert: the alert and response are recorded on the child's"
    summary = next_stage_summary(
        alert.challenge, WESTVALE, assess(alert.challenge, WESTVALE, CALENDAR, MON)
    )
    assert any(r.label == "Outstanding" and outstanding in r.value for r in summary)
    message = covering_email(
        alert.challenge, WESTVALE, Settings(), Document.NEXT_STAGE_FORM, (), summary=alert.message
    )
    assert outstanding in message.get_content()


def test_tick_ends_an_uncontested_window_resolved_through_the_cli(home: Home) -> None:
    blank = home.root / "blank.docx"
    made = CliRunner().invoke(main, ["new", "--home", str(home.root), "-o", str(blank)])
    assert made.exit_code == 0, made.output
    filled = fill_docx(
        blank,
        home.root / "review.docx",
        PERSON,
        ("stage_review", "raised_by_iro", "status_child_in_care"),
    )
    with Register(home.database) as register:
        reference = drop(pipeline_for(home, register, MON), home, filled)
    ticked = CliRunner().invoke(main, ["tick", "--home", str(home.root), "--today", "2025-11-11"])
    assert ticked.exit_code == 0, ticked.output
    with Register(home.database) as register:
        record = register.challenge(reference)
    assert record is not None and record.stage == REVIEW
    assert status_of(record) is Status.RESOLVED
    assert record.closure is not None
    assert record.closure.reason == (
        "Not contested by the end of 10 November 2025: under the procedure what was put at "
        "Review recommendations stands."
    )
