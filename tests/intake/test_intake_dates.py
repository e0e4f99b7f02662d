"""UK dates as typed, never read month first, and the seed form's team box split."""

from __future__ import annotations

import datetime as dt

import pytest

from formflow.intake.dates import DateError, DateProblem, parse_uk_date
from formflow.intake.normalise import clean_long, split_team

TODAY = dt.date(2025, 11, 20)
NOV_3 = dt.date(2025, 11, 3)


@pytest.mark.parametrize(
    "typed",
    [
        "03/11/2025",
        "3/11/25",
        "3.11.25",
        "3-11-2025",
        "3rd November 2025",
        "3 Nov 2025",
        "3 Nov. 2025",
        "Monday 3 November 2025",
        "Monday, 3rd of November 2025",
        "November 3, 2025",
        "2025-11-03",
        "  03 / 11 / 2025 ",
        "3 nov 25",
    ],
)
def test_uk_dates_in_every_common_form(typed: str) -> None:
    assert parse_uk_date(typed, TODAY) == NOV_3


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("31/02/2025", DateProblem.NOT_ON_CALENDAR),
        ("11/23/2025", DateProblem.NOT_ON_CALENDAR),
        ("3 November", DateProblem.NO_YEAR),
        ("03/11", DateProblem.NO_YEAR),
        ("3/11/98", DateProblem.SHORT_YEAR),
        ("3/11/27", DateProblem.SHORT_YEAR),
        ("next Tuesday", DateProblem.UNREADABLE),
        ("3 November 2025 or 4 December 2025", DateProblem.UNREADABLE),
        ("3/11/202", DateProblem.UNREADABLE),
        ("2025/11", DateProblem.UNREADABLE),
    ],
)
def test_dates_that_need_a_guess_are_errors(typed: str, problem: DateProblem) -> None:
    with pytest.raises(DateError) as caught:
        parse_uk_date(typed, TODAY)
    assert caught.value.problem is problem


def test_two_digit_year_pivot_is_next_year() -> None:
    assert parse_uk_date("1/1/26", TODAY) == dt.date(2026, 1, 1)
    assert parse_uk_date("9/2/14", TODAY) == dt.date(2014, 2, 9)


@pytest.mark.parametrize(
    ("typed", "team", "manager"),
    [
        ("Children in Care Team 2 / Priya Raman", "Children in Care Team 2", "Priya Raman"),
        (
            "Team: Children in Care Team 2; Manager: Priya Raman",
            "Children in Care Team 2",
            "Priya Raman",
        ),
        ("Children in Care Team 2 - TM: Priya Raman", "Children in Care Team 2", "Priya Raman"),
        (
            "Children in Care Team 2 (Team Manager: Priya Raman)",
            "Children in Care Team 2",
            "Priya Raman",
        ),
        ("Children in Care / Leaving Care", "Children in Care / Leaving Care", None),
        ("Locality Team North Priya Raman", "Locality Team North Priya Raman", None),
        ("Team 2 / Priya Raman / Ifan Jenkins", "Team 2 / Priya Raman / Ifan Jenkins", None),
    ],
)
def test_team_and_team_manager_split_only_when_unambiguous(
    typed: str, team: str, manager: str | None
) -> None:
    assert split_team(typed) == (team, manager)


def test_long_text_keeps_line_breaks_and_collapses_spaces() -> None:
    typed = "\n\n  First   line \r\nSecond\tline\n\n\n\nThird  \n"
    assert clean_long(typed) == "First line\nSecond line\n\nThird"
