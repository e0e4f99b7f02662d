"""Faults found while writing councils' published procedures into the policy language
(issue 24 part 3), each against the fictional Northtown procedure."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import make_challenge
from formflow.cli import main
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import assess
from formflow.core.planning import plan_form
from formflow.core.record import Challenge, Stage
from formflow.errors import TransitionError
from formflow.policy_catalogue import read_policy_file

NORTHTOWN = read_policy_file(Path(__file__).parent / "data" / "policies" / "northtown.json")
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
