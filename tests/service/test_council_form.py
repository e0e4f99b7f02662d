"""The form follows the policy: a council whose procedure has its own levels and its own
questions (Northtown, fictional: tests/data/policies/northtown.json) gets a form with
those levels and questions from ``formflow new --policy``; the form, filled in Word or a
PDF reader, is read with the same catalogue, and the challenge climbs that council's
ladder: its own level names on every document, a missed deadline that waits for the
IRO's decision, ``formflow escalate``, and a joint level resolved only with both
agreements."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from filled_forms import fill_docx, fill_pdf
from formflow.cli import main
from formflow.config import load_settings
from formflow.core.record import Stage, StageOutcome
from formflow.outbox.folders import Home
from formflow.pipeline import Outcome, Pipeline, Services
from formflow.policy_catalogue import PolicyCatalogue
from formflow.store.register import Register

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "intake"))
from form_builders import as_libreoffice

DATA = Path(__file__).resolve().parents[1] / "data"
MONDAY = dt.date(2025, 11, 3)
PERSON = {
    "date_of_notification": "03/11/2025",
    "raised_by_name": "Morwenna Pentreath",
    "child_name": "Tegan Example",
    "child_date_of_birth": "09/02/2014",
    "child_case_number": "LCS-000123",
    "concern": "The pathway plan has not been reviewed since the placement move.",
    "detail_review_date": "3rd November 2025",
    "detail_alert_type": "case alert",
}
TICKED = ("stage_case_alert", "raised_by_iro", "status_child_in_care")


@pytest.fixture
def home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "home")
    home.create()
    (home.root / "policies").mkdir()
    shutil.copy(DATA / "policies" / "northtown.json", home.root / "policies")
    (home.root / "formflow.toml").write_text(
        '[council]\nname = "Northtown Council"\ndefault_policy = "northtown"\n'
    )
    return home


def blank_form(home: Home, name: str, *extra: str) -> Path:
    target = home.root / name
    made = CliRunner().invoke(
        main, ["new", "--policy", "northtown", "--home", str(home.root), "-o", str(target), *extra]
    )
    assert made.exit_code == 0, made.output
    return target


def text_of(docx: Path) -> str:
    with zipfile.ZipFile(docx) as package:
        return package.read("word/document.xml").decode()


def pipeline_for(home: Home, register: Register, today: dt.date) -> Pipeline:
    settings = load_settings(home=home.root)
    policies = PolicyCatalogue.for_home(home.root, settings)
    noon = dt.datetime.combine(today, dt.time(12))
    return Pipeline(register, Services(home, settings, policies, now=lambda: noon))


def drop(pipeline: Pipeline, home: Home, form: Path) -> str:
    dropped = Path(shutil.copy(form, home.inbox / form.name))
    result = pipeline.handle(dropped)
    assert result.outcome is Outcome.PROCESSED, result.message
    assert result.reference is not None
    return result.reference


def test_new_writes_the_councils_levels_and_questions(home: Home) -> None:
    xml = text_of(blank_form(home, "blank.docx"))
    for words in (
        "Pre-formal",
        "Case Alert",
        "ATM or TM – within 5 working days",
        "Alert</w:t>",
        "Head of Service – within 48 hours (CP chair only)",
        "IRO and Head of QA jointly – within 10 calendar days",
        "by the date set on the form",
        "3a. What this procedure also asks",
        "Date of the review or conference",
        "Alert type: Case Alert or Management Alert.",
    ):
        assert words in xml, words
    assert 'w:val="stage_case_alert"' in xml and 'w:val="detail_review_date"' in xml
    assert "Stage 3" not in xml  # no standard level this council does not have


@pytest.mark.parametrize("kind", ["docx", "pdf"])
def test_a_filled_council_form_is_read_with_its_own_levels_and_questions(
    home: Home, kind: str
) -> None:
    blank = blank_form(home, f"blank.{kind}", *(["--pdf"] if kind == "pdf" else []))
    fill = fill_pdf if kind == "pdf" else fill_docx
    filled = fill(blank, home.root / f"filled.{kind}", PERSON, TICKED)
    with Register(home.database) as register:
        reference = drop(pipeline_for(home, register, MONDAY), home, filled)
        record = register.challenge(reference)
    assert record is not None
    assert record.stage == Stage("case-alert") and record.stage.label == "Case Alert"
    assert record.details == {"review_date": "2025-11-03", "alert_type": "Case Alert"}
    outbox = sorted(p.name for p in (home.outbox / reference).iterdir())
    assert f"{reference}-case-alert-form.docx" in outbox, outbox
    form = text_of(home.outbox / reference / f"{reference}-case-alert-form.docx")
    assert "10 November 2025" in form  # five working days following the review


def test_a_wrong_choice_is_named_with_the_options(home: Home) -> None:
    blank = blank_form(home, "blank.docx")
    filled = fill_docx(
        blank, home.root / "filled.docx", {**PERSON, "detail_alert_type": "Red alert"}, TICKED
    )
    with Register(home.database) as register:
        result = pipeline_for(home, register, MONDAY).handle(
            Path(shutil.copy(filled, home.inbox / filled.name))
        )
    assert result.outcome is Outcome.REJECTED
    assert "'Alert type' has 'Red alert': write one of Case Alert or Management Alert." in (
        result.message
    )


def test_the_ladder_waits_for_the_iro_then_needs_both_joint_agreements(home: Home) -> None:
    filled = fill_docx(blank_form(home, "blank.docx"), home.root / "filled.docx", PERSON, TICKED)
    late = dt.date(2025, 11, 17)
    with Register(home.database) as register:
        reference = drop(pipeline_for(home, register, MONDAY), home, filled)
        rehearsed = CliRunner().invoke(
            main, ["tick", "--today", late.isoformat(), "--rehearse", "--home", str(home.root)]
        )
        assert rehearsed.exit_code == 0, rehearsed.output
        for _ in range(2):  # the second sweep sends nothing more
            pipeline_for(home, register, late).chase_deadlines(late)
        record = register.challenge(reference)
        assert record is not None and record.stage == Stage("case-alert")
        reminders = [e for e in register.events(reference) if e.what == "reminder"]
        assert len(reminders) == 1
        assert "the IRO decides whether to escalate" in (reminders[0].message or "")
        assert f"{reference}  {reminders[0].message}" in rehearsed.output  # the same words
    drafts = list((home.outbox / reference).glob("*response-overdue*.eml"))
    assert len(drafts) == 1
    escalated = CliRunner().invoke(
        main,
        [
            "escalate",
            reference,
            "--by",
            "Morwenna Pentreath, IRO",
            "--reason",
            "No response after the reminder.",
            "--on",
            late.isoformat(),
            "--home",
            str(home.root),
        ],
    )
    assert escalated.exit_code == 0, escalated.output
    assert "escalated to Management Alert" in escalated.output
    with Register(home.database) as register:
        record = register.challenge(reference)
        assert record is not None and record.stage.label == "Management Alert"
        assert record.history[-1].outcome is StageOutcome.ESCALATED
        form = home.outbox / reference / f"{reference}-management-alert-form.docx"
        one = fill_docx(
            form,
            home.root / "one.docx",
            {"response_text": "Agreed plan.", "response_by": "Sam Okafor, Head of QA"},
            ("response_resolved",),
        )
        result = pipeline_for(home, register, late).handle(
            Path(shutil.copy(one, home.inbox / one.name))
        )
        assert result.outcome is Outcome.REJECTED
        assert "does not record the agreement of IRO and Head of QA" in result.message
        both = fill_docx(
            form,
            home.root / "both.docx",
            {"response_text": "Agreed plan.", "response_by": "Sam Okafor, Head of QA"},
            ("response_resolved", "agreed_iro", "agreed_head_of_qa"),
        )
        # Saved by LibreOffice: the agreement ticks are found by their labels.
        (home.inbox / both.name).write_bytes(as_libreoffice(both.read_bytes()))
        result = pipeline_for(home, register, late).handle(home.inbox / both.name)
        assert result.outcome is Outcome.PROCESSED, result.message
        record = register.challenge(reference)
        assert record is not None and record.response is not None
        assert record.response.agreed_by == ("IRO", "Head of QA")
        assert record.closure is not None and record.closure.kind.value == "resolved"
    assert "Agreed by the Head of QA" in text_of(form)


def test_a_council_form_saved_by_libreoffice_is_read_by_the_procedures_labels(
    home: Home,
) -> None:
    """LibreOffice drops every control's tag: the levels, the procedure's own questions
    and its joint agreements are then found by the labels the procedure gave them."""
    filled = fill_docx(blank_form(home, "blank.docx"), home.root / "filled.docx", PERSON, TICKED)
    saved = home.root / "saved by libreoffice.docx"
    saved.write_bytes(as_libreoffice(filled.read_bytes()))
    assert 'w:val="stage_case_alert"' not in text_of(saved)
    with Register(home.database) as register:
        reference = drop(pipeline_for(home, register, MONDAY), home, saved)
        record = register.challenge(reference)
    assert record is not None and record.stage == Stage("case-alert")
    assert record.details == {"review_date": "2025-11-03", "alert_type": "Case Alert"}
