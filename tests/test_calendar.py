"""Working-day deadlines: a tracked table of cases, and properties that hold for any date."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formflow.core.calendar import WorkingCalendar, bank_holidays
from formflow.core.engine import deadline
from formflow.core.record import Stage
from formflow.errors import CalendarError
from formflow.policy_catalogue import built_in

CASES = list(
    csv.DictReader((Path(__file__).parent / "data" / "deadline_cases.csv").read_text().splitlines())
)


def _optional(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_deadline_table(case: dict[str, str]) -> None:
    closures = frozenset(dt.date.fromisoformat(d) for d in case["closure_days"].split(";") if d)
    when = deadline(
        built_in()(case["policy"]),
        Stage(case["stage"]),
        dt.date.fromisoformat(case["raised_on"]),
        WorkingCalendar(closure_days=closures),
        _optional(case["challenge_start"]),
    )
    assert when.due == dt.date.fromisoformat(case["due"])
    assert when.overall_target == _optional(case["overall_target"])
    assert when.first_contact_due == _optional(case["first_contact_due"])


# gov.uk's weekday bank holidays for England and Wales, as DOMAIN.md lists them.
GOV_UK_WEEKDAY_BANK_HOLIDAYS = {
    2022: [
        "01-03",
        "04-15",
        "04-18",
        "05-02",
        "06-02",
        "06-03",
        "08-29",
        "09-19",
        "12-26",
        "12-27",
    ],
    2023: ["01-02", "04-07", "04-10", "05-01", "05-08", "05-29", "08-28", "12-25", "12-26"],
    2024: ["01-01", "03-29", "04-01", "05-06", "05-27", "08-26", "12-25", "12-26"],
    2025: ["01-01", "04-18", "04-21", "05-05", "05-26", "08-25", "12-25", "12-26"],
    2026: ["01-01", "04-03", "04-06", "05-04", "05-25", "08-31", "12-25", "12-28"],
    2027: ["01-01", "03-26", "03-29", "05-03", "05-31", "08-30", "12-27", "12-28"],
}


@pytest.mark.parametrize("year", sorted(GOV_UK_WEEKDAY_BANK_HOLIDAYS))
def test_bank_holidays_match_gov_uk(year: int) -> None:
    expected = {dt.date.fromisoformat(f"{year}-{md}") for md in GOV_UK_WEEKDAY_BANK_HOLIDAYS[year]}
    assert {d for d in bank_holidays(year) if d.weekday() < 5} == expected


def test_extra_bank_holiday_from_configuration_counts() -> None:
    one_off = dt.date(2028, 6, 2)  # a fictional future one-off day, announced after the release
    calendar = WorkingCalendar(extra_bank_holidays=frozenset({one_off}))
    assert not calendar.is_working_day(one_off)
    assert calendar.add_working_days(dt.date(2028, 6, 1), 1) == dt.date(2028, 6, 5)


def test_unconfirmed_years_warn_and_confirmed_ones_do_not() -> None:
    calendar = WorkingCalendar()
    assert calendar.warnings([dt.date(2027, 12, 31)]) == []
    [warning] = calendar.warnings([dt.date(2028, 1, 4), dt.date(2028, 2, 1)])
    assert "2028" in warning and "extra_bank_holidays" in warning


def test_a_year_outside_the_library_is_refused() -> None:
    with pytest.raises(CalendarError, match="outside"):
        WorkingCalendar().add_working_days(dt.date(2150, 1, 5), 5)


def test_negative_timescale_is_refused() -> None:
    with pytest.raises(CalendarError):
        WorkingCalendar().add_working_days(dt.date(2025, 1, 6), -1)


# --- properties ---------------------------------------------------------------------

dates = st.dates(min_value=dt.date(2022, 1, 1), max_value=dt.date(2027, 10, 31))
timescales = st.integers(min_value=1, max_value=30)
calendar = WorkingCalendar()


@given(dates, timescales)
def test_a_due_date_is_a_working_day_after_day_zero(received: dt.date, n: int) -> None:
    due = calendar.add_working_days(received, n)
    assert calendar.is_working_day(due)
    assert due > calendar.day_zero(received) >= received


@given(dates, st.integers(min_value=0, max_value=29))
def test_due_dates_grow_with_the_timescale(received: dt.date, n: int) -> None:
    assert calendar.add_working_days(received, n + 1) > calendar.add_working_days(received, n)


@given(dates, timescales, st.integers(min_value=0, max_value=60))
def test_a_closure_day_never_makes_a_deadline_earlier(
    received: dt.date, n: int, offset: int
) -> None:
    closed = WorkingCalendar(closure_days=frozenset({received + dt.timedelta(days=offset)}))
    assert closed.add_working_days(received, n) >= calendar.add_working_days(received, n)


@given(dates, timescales)
def test_counting_back_gives_the_timescale(received: dt.date, n: int) -> None:
    due = calendar.add_working_days(received, n)
    assert calendar.working_days_between(received, due) == n


@given(dates)
def test_day_zero_is_the_first_working_day_on_or_after_receipt(received: dt.date) -> None:
    zero = calendar.day_zero(received)
    assert calendar.is_working_day(zero)
    skipped = (received + dt.timedelta(days=i) for i in range((zero - received).days))
    assert not any(calendar.is_working_day(d) for d in skipped)
