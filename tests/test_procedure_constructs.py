"""What published procedures say that version 2 could not (issue 24 part 2), each written
into the language, the engine, the forms and the emails, and driven with Eastbrook, a
fictional procedure that uses them all (tests/data/policies/eastbrook.json): a fallback
responder, who raises a level, who must be satisfied beside who responds, and a level for
information only."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import make_challenge
from filled_forms import fill_docx
from formflow.cli import main
from formflow.config import Settings
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import (
    Document,
    Escalate,
    Raise,
    Reassign,
    Respond,
    Transition,
    apply,
    assess,
)
from formflow.core.planning import chases
from formflow.core.record import Challenge, Person, Stage
from formflow.errors import TransitionError
from formflow.outbox.folders import Home
from formflow.pipeline import Outcome
from formflow.pipeline.notices import covering_email, read_eml
from formflow.policy_catalogue import read_policy_file
from formflow.render.context import Row, next_stage_summary
from formflow.store.register import Register
from service.test_council_form import pipeline_for, text_of

POLICIES = Path(__file__).parent / "data" / "policies"
EASTBROOK = read_policy_file(POLICIES / "eastbrook.json")
CALENDAR = WorkingCalendar()
MON = dt.date(2025, 11, 3)
CASE_ALERT = Stage("case-alert")
SERVICE_MANAGER = Stage("service-manager")
HEAD_OF_SERVICE = Stage("head-of-service")
DIRECTOR = Stage("director")


def raised(stage: Stage) -> Transition:
    return apply(make_challenge(policy="eastbrook"), Raise(stage, MON), EASTBROOK, CALENDAR)


def email_for(transition: Transition) -> str:
    message = covering_email(
        transition.challenge,
        EASTBROOK,
        Settings(),
        Document.NEXT_STAGE_FORM,
        (),
        summary=transition.message,
    )
    return f"To: {message['To']}\nCc: {message['Cc']}\n{message.get_content()}"


def summary_of(challenge: Challenge) -> list[Row]:
    return next_stage_summary(challenge, EASTBROOK, assess(challenge, EASTBROOK, CALENDAR, MON))


# --- a level for information only -------------------------------------------------------


def test_a_level_for_information_only_asks_no_response_and_sets_no_due_date() -> None:
    report = raised(DIRECTOR)
    assert report.message.startswith(
        "Raised at Report to the Director for the information of the Director; "
        "for information only: nobody responds and nothing is due."
    )
    assessment = assess(report.challenge, EASTBROOK, CALENDAR, MON)
    assert (assessment.due, assessment.overdue, assessment.responder) == (None, False, "Director")
    a_year_on = MON + dt.timedelta(days=365)
    assert (
        chases([report.challenge], lambda _: EASTBROOK, Settings(), a_year_on, lambda *_: False)
        == []
    )
    assert Row(
        "Your response is due by",
        "No response is asked: the procedure raises this level for information only.",
    ) in summary_of(report.challenge)
    email = email_for(report)
    assert email.startswith('To: "Director (address needed)"')
    assert "For the information of the Director: nobody responds to Report to the Director" in email


def test_a_response_to_a_level_for_information_only_is_refused_with_what_to_do() -> None:
    with pytest.raises(TransitionError, match="Nobody responds at Report to the Director") as e:
        apply(raised(DIRECTOR).challenge, Respond(MON, True, "Noted."), EASTBROOK, CALENDAR)
    assert "`formflow close` or `withdraw`" in str(e.value)


def test_a_level_for_information_only_may_give_no_timescale_and_must_give_none(
    tmp_path: Path,
) -> None:
    text = (POLICIES / "eastbrook.json").read_text(encoding="utf-8")
    timed = text.replace(
        '"raised_by": "Head of Quality Assurance",\n      "bypass"',
        '"raised_by": "Head of Quality Assurance",\n      "timescale": {"working_days": 5},\n'
        '      "bypass"',
    )
    assert timed != text
    (tmp_path / "eastbrook.json").write_text(timed, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["policies", "check", "--home", str(tmp_path), str(tmp_path / "eastbrook.json")]
    )
    assert result.exit_code != 0
    assert "levels/3" in result.output or "levels[3]" in result.output, result.output


# --- a fallback responder -----------------------------------------------------------------


def test_a_fallback_responder_is_asked_only_when_the_level_is_handed_to_them() -> None:
    alert = raised(CASE_ALERT)
    assert alert.message.startswith("Raised at Case Alert with the Team Manager;")
    assert alert.challenge.addressed_to == Person(None, "Team Manager")
    email = email_for(alert)
    assert "Duty Team Manager" not in email.splitlines()[0]  # the To: line
    assert (
        "If the Team Manager is unavailable, the Duty Team Manager responds: hand the "
        "challenge on with `formflow reassign`." in email
    )
    handed = apply(
        alert.challenge,
        Reassign(MON, Person("Dilys Example", "Duty Team Manager"), "Team Manager on leave"),
        EASTBROOK,
        CALENDAR,
    )
    assert assess(handed.challenge, EASTBROOK, CALENDAR, MON).responder == "Duty Team Manager"
    assert email_for(handed).startswith('To: "Dilys Example, Duty Team Manager (address needed)"')
    assert Row("For the attention of", "Dilys Example, Duty Team Manager") in summary_of(
        handed.challenge
    )


# --- who raises a level ---------------------------------------------------------------------


def test_who_raises_a_level_is_on_its_form_its_email_and_policies_show(tmp_path: Path) -> None:
    level = raised(SERVICE_MANAGER)
    assert Row(
        "Under the procedure", "Under the procedure the IRO Manager raises Service Manager Alert."
    ) in summary_of(level.challenge)
    email = email_for(level)
    assert "IRO Manager (address needed)" in email.splitlines()[1]  # copied in
    assert "Under the procedure the IRO Manager raises Service Manager Alert." in email
    (tmp_path / "policies").mkdir()
    shutil.copy(POLICIES / "eastbrook.json", tmp_path / "policies")
    shown = CliRunner().invoke(main, ["policies", "show", "eastbrook", "--home", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "Service Manager Alert: Service Manager, 5 working days; raised by the IRO Manager;" in (
        shown.output
    )
    assert (
        "Level 3 (name not stated): Head of Service, 10 working days; raised by the Head of "
        "Quality Assurance; resolved when the IRO and Head of Quality Assurance are satisfied;"
    ) in shown.output


# --- who must be satisfied apart from who responds ------------------------------------------


def test_a_level_is_resolved_only_when_those_who_must_be_satisfied_agree() -> None:
    level = raised(HEAD_OF_SERVICE).challenge
    agreed_by_one = Respond(MON, True, "Plan agreed.", by="Head of Service", agreed_by=("IRO",))
    with pytest.raises(TransitionError) as refused:
        apply(level, agreed_by_one, EASTBROOK, CALENDAR)
    assert str(refused.value).startswith(
        "Level 3 (name not stated) is resolved only when the IRO and Head of Quality "
        "Assurance are satisfied, and the form does not record the agreement of Head of "
        "Quality Assurance"
    )
    both = Respond(MON, True, "Plan agreed.", agreed_by=("IRO", "Head of Quality Assurance"))
    assert apply(level, both, EASTBROOK, CALENDAR).documents == (Document.FINAL_RECORD,)
    assert "resolved only when the IRO and Head of Quality Assurance are satisfied" in (
        email_for(raised(HEAD_OF_SERVICE))
    )


# --- end to end through a real Word form ----------------------------------------------------

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
    shutil.copy(POLICIES / "eastbrook.json", home.root / "policies")
    (home.root / "formflow.toml").write_text(
        '[council]\nname = "Eastbrook Council"\ndefault_policy = "eastbrook"\n'
    )
    return home


def handle(home: Home, register: Register, form: Path) -> tuple[Outcome, str]:
    """How the dropped form ended: its challenge's reference, or why it was rejected."""
    result = pipeline_for(home, register, MON).handle(
        Path(shutil.copy(form, home.inbox / form.name))
    )
    if result.outcome is Outcome.REJECTED:
        return result.outcome, result.message
    return result.outcome, result.reference or ""


def test_a_word_form_climbs_to_a_level_that_needs_two_agreements_then_informs_the_director(
    home: Home,
) -> None:
    blank = home.root / "blank.docx"
    made = CliRunner().invoke(main, ["new", "--home", str(home.root), "-o", str(blank)])
    assert made.exit_code == 0, made.output
    xml = text_of(blank)
    for words in (
        "Team Manager (or, when unavailable, the Duty Team Manager) – within 5 working days",
        "Service Manager – within 5 working days; raised by the IRO Manager",
        "resolved when the IRO and Head of Quality Assurance are satisfied",
        "Director – for information only: nobody responds and nothing is due",
    ):
        assert words in xml, words
    filled = fill_docx(
        blank,
        home.root / "filled.docx",
        PERSON,
        ("stage_head_of_service", "raised_by_iro", "status_child_in_care"),
    )
    with Register(home.database) as register:
        outcome, reference = handle(home, register, filled)
        assert outcome is Outcome.PROCESSED, reference
        form = home.outbox / reference / f"{reference}-level-3-name-not-stated-form.docx"
        assert "Agreed by the Head of Quality Assurance" in text_of(form)
        answer = {"response_text": "Plan agreed.", "response_by": "Sam Okafor, Head of Service"}
        one = fill_docx(form, home.root / "one.docx", answer, ("response_resolved", "agreed_iro"))
        outcome, message = handle(home, register, one)
        assert outcome is Outcome.REJECTED
        assert "does not record the agreement of Head of Quality Assurance" in message
        unresolved = fill_docx(
            form, home.root / "unresolved.docx", answer, ("response_not_resolved",)
        )
        assert handle(home, register, unresolved) == (Outcome.PROCESSED, reference)
        record = register.challenge(reference)
        assert record is not None and record.stage == DIRECTOR
    report = home.outbox / reference / f"{reference}-report-to-the-director-form.docx"
    assert "No response is asked: the procedure raises this level for information only." in (
        text_of(report)
    )
    (draft,) = (home.outbox / reference).glob("*report-to-the-director*.eml")
    body = read_eml(draft).get_body(preferencelist=("plain",))
    assert body is not None and "nobody responds to Report to the Director" in body.get_content()


def test_escalating_past_the_level_for_information_only_is_refused() -> None:
    report = raised(DIRECTOR).challenge
    with pytest.raises(TransitionError):
        apply(report, Escalate(MON, "Morwenna Pentreath", "Still no plan"), EASTBROOK, CALENDAR)
