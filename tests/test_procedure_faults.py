"""Faults found while writing councils' published procedures into the policy language
(issue 24 part 3), each against the fictional Northtown procedure."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from pypdf import PdfReader

from conftest import make_challenge
from formflow.cli import main
from formflow.config import Settings
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import Escalate, Raise, apply, assess
from formflow.core.planning import plan_form
from formflow.core.record import Challenge, Stage
from formflow.errors import TransitionError
from formflow.policy_catalogue import read_policy_file
from formflow.render import write_next_stage
from formflow.render.context import level_rows
from formflow.reports.tables import status_rows

NORTHTOWN_FILE = Path(__file__).parent / "data" / "policies" / "northtown.json"
NORTHTOWN = read_policy_file(NORTHTOWN_FILE)
CALENDAR = WorkingCalendar()
MON = dt.date(2025, 11, 3)
AGREED = Stage("agreed")


def agreed(on: str | None) -> Challenge:
    """A new Northtown form at the level whose due date the IRO sets on the form."""
    details = {"agreed_response_date": on} if on else {}
    return replace(
        make_challenge(policy="northtown", reference="PC-2025-AGREED"),
        stage=AGREED,
        date_of_notification=MON,
        details=details,
    )


# --- 4. a date set on the form before the level was raised --------------------------------


def test_a_due_date_set_before_the_level_was_raised_is_refused() -> None:
    with pytest.raises(TransitionError, match="'Response agreed by' \\(31 October 2025\\)"):
        plan_form(None, agreed("2025-10-31"), MON, NORTHTOWN, CALENDAR)
    plan = plan_form(None, agreed("2025-11-20"), MON, NORTHTOWN, CALENDAR)
    assert assess(plan.challenge, NORTHTOWN, CALENDAR, MON).due == dt.date(2025, 11, 20)


def test_a_later_form_that_leaves_the_date_alone_is_not_refused_for_it() -> None:
    registered = plan_form(None, agreed(None), MON, NORTHTOWN, CALENDAR).challenge
    later = plan_form(registered, agreed("2025-11-21"), MON, NORTHTOWN, CALENDAR)
    assert later.challenge.details["agreed_response_date"] == "2025-11-21"
    with pytest.raises(TransitionError, match="before Agreed"):
        plan_form(registered, agreed("2025-10-29"), MON, NORTHTOWN, CALENDAR)


# --- 5. one rule for a due date that falls on a day off -----------------------------------


@pytest.mark.parametrize(
    ("set_on_form", "due"),
    [
        ("2025-11-20", dt.date(2025, 11, 20)),  # a Thursday: as set
        ("2025-11-22", dt.date(2025, 11, 24)),  # a Saturday: the Monday after
        ("2025-12-25", dt.date(2025, 12, 29)),  # Christmas Day: past Boxing Day and a weekend
    ],
)
def test_a_date_set_on_the_form_on_a_day_off_moves_to_the_next_working_day(
    set_on_form: str, due: dt.date
) -> None:
    plan = plan_form(None, agreed(set_on_form), MON, NORTHTOWN, CALENDAR)
    assert assess(plan.challenge, NORTHTOWN, CALENDAR, MON).due == due


# --- 10. new with pre-fill starts at the procedure's first level ------------------------


def test_new_prefilled_starts_at_the_first_level_where_there_is_no_level_1(
    tmp_path: Path,
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "northtown.json").write_bytes(
        (Path(__file__).parent / "data" / "policies" / "northtown.json").read_bytes()
    )
    result = CliRunner().invoke(
        main,
        [
            "new", "--policy", "northtown", "--child-name", "Cai Example",
            "--child-dob", "2015-05-05", "--case-number", "LCS-000777",
            "--raised-by", "Morwenna Pentreath", "--home", str(tmp_path),
            "-o", str(tmp_path / "form.docx"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "form.docx").is_file()


# --- 1. a level with no due date: no "Please respond by ." ------------------------------


@pytest.mark.parametrize("pdf", [False, True], ids=["Word", "PDF"])
def test_a_level_with_no_due_date_does_not_print_respond_by_nothing(
    tmp_path: Path, pdf: bool
) -> None:
    director = replace(make_challenge(policy="northtown"), stage=Stage("director"))
    raised = apply(director, Raise(Stage("director"), MON), NORTHTOWN, CALENDAR).challenge
    assessment = assess(raised, NORTHTOWN, CALENDAR, MON)
    written = write_next_stage(
        raised, NORTHTOWN, Settings(), tmp_path, today=MON, assessment=assessment
    )
    form = next(p for p in written if p.suffix == (".pdf" if pdf else ".docx"))
    text = _text(form)
    assert "respond by ." not in text
    assert "No date is set: timescale not stated in the source." in text


def _text(path: Path) -> str:
    if path.suffix == ".pdf":
        return " ".join((page.extract_text() or "") for page in PdfReader(path).pages)
    document = Document(str(path))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


# --- 6. status --json: a date or null, and the reason in its own field --------------------


def test_status_gives_a_date_or_null_with_the_reason_apart() -> None:
    director = replace(make_challenge(policy="northtown"), stage=Stage("director"))
    raised = apply(director, Raise(Stage("director"), MON), NORTHTOWN, CALENDAR).challenge
    (row,) = status_rows([raised], lambda _: NORTHTOWN, CALENDAR, MON)
    assert (row.due, row.due_note) == (None, "timescale not stated in the source")
    case_alert = replace(make_challenge(policy="northtown"), details={"review_date": "2025-11-03"})
    on_time = apply(case_alert, Raise(Stage("case-alert"), MON), NORTHTOWN, CALENDAR)
    (row,) = status_rows([on_time.challenge], lambda _: NORTHTOWN, CALENDAR, MON)
    assert (row.due, row.due_note) == ("2025-11-10", "")


# --- 8. wording ---------------------------------------------------------------------------


def test_wording_names_levels_as_the_council_does() -> None:
    with pytest.raises(
        TransitionError,
        match="has no level Stage 1 for a challenge raised by an IRO; start at Pre-formal",
    ):
        apply(make_challenge(policy="northtown"), Raise(Stage.ONE, MON), NORTHTOWN, CALENDAR)
    case_alert = replace(make_challenge(policy="northtown"), details={"review_date": "2025-11-03"})
    raised = apply(case_alert, Raise(Stage("case-alert"), MON), NORTHTOWN, CALENDAR).challenge
    escalated = apply(raised, Escalate(MON, "Morwenna Pentreath", "No reply"), NORTHTOWN, CALENDAR)
    assert escalated.message.startswith("Case Alert escalated to Management Alert with the ")


def test_due_names_a_field_by_its_label_and_never_an_unstated_responder(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "northtown.json").write_bytes(NORTHTOWN_FILE.read_bytes())
    runner = CliRunner()
    director = runner.invoke(
        main,
        ["due", "--policy", "northtown", "--stage", "director", "--from", "2025-11-03",
         "--home", str(tmp_path)],
    )  # fmt: skip
    assert director.exit_code == 0, director.output
    assert "not stated in the source responds" not in director.output
    assert "the source does not say who responds" in director.output
    shown = runner.invoke(main, ["policies", "show", "northtown", "--home", str(tmp_path)])
    assert "counted from 'Date of the review or conference'" in shown.output
    assert "review_date" not in shown.output.replace("[review_date, date]", "")


# --- 9. a blank form's level counted from another date says from which -----------------------


def test_the_blank_form_says_what_a_timescale_counts_from() -> None:
    rows = {r["label"]: r["guidance"] for r in level_rows(NORTHTOWN, None)}
    assert rows["Case Alert"] == (
        "ATM or TM – within 5 working days of the 'Date of the review or conference'"
    )
