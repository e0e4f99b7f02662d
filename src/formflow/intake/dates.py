"""UK dates as people type them: day first, always; a guess is never made.

Accepted: 03/11/2025, 3/11/25, 3.11.25, 3-11-2025, 3rd November 2025, 3 Nov 2025,
Monday 3 November 2025, November 3, 2025 (a written month cannot be misread), 2025-11-03.
A date without a year ("3 November") is an error.

Two-digit years: "25" is 2025 when 2025 is no later than next year; otherwise the date is
refused and the person asked for the full year. Every date on a challenge form (a
notification, a due date, a child's birth) falls after 2000, so a year such as "98" is a
typing slip or an adult's date, never something to turn silently into 1998.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_WEEKDAYS = re.compile(r"^(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day|nesday|rsday|urday)?$")
_DAY = re.compile(r"^(\d{1,2})(st|nd|rd|th)?$")
_SEPARATORS = re.compile(r"[\s,/.\-]+")


class DateProblem(StrEnum):
    UNREADABLE = "unreadable"
    NO_YEAR = "no year"
    SHORT_YEAR = "short year"
    NOT_ON_CALENDAR = "not on the calendar"


class DateError(ValueError):
    def __init__(self, problem: DateProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def parse_uk_date(text: str, today: dt.date) -> dt.date:
    """The date ``text`` means, or ``DateError`` saying why it cannot be read without guessing."""
    tokens = [
        token
        for token in _SEPARATORS.split(text.strip().lower())
        if token and token != "of" and not _WEEKDAYS.match(token)
    ]
    months = [token for token in tokens if token in _MONTHS]
    if len(months) > 1 or not tokens:
        raise DateError(DateProblem.UNREADABLE)
    if months:
        day, month, year = _written(tokens, _MONTHS[months[0]])
    else:
        day, month, year = _numeric(tokens)
    return _make(day, month, _full_year(year, today))


def _written(tokens: list[str], month: int) -> tuple[int, int, str]:
    numbers = [token for token in tokens if token not in _MONTHS]
    if len(tokens) == 2 and len(numbers) == 1 and _DAY.match(numbers[0]):
        raise DateError(DateProblem.NO_YEAR)
    if len(tokens) != 3 or len(numbers) != 2:
        raise DateError(DateProblem.UNREADABLE)
    day = _DAY.match(numbers[0])
    if day is None or not numbers[1].isdigit() or len(numbers[1]) not in (2, 4):
        raise DateError(DateProblem.UNREADABLE)
    return int(day.group(1)), month, numbers[1]


def _numeric(tokens: list[str]) -> tuple[int, int, str]:
    if not all(token.isdigit() for token in tokens):
        raise DateError(DateProblem.UNREADABLE)
    if len(tokens) == 2 and all(len(token) <= 2 for token in tokens):
        raise DateError(DateProblem.NO_YEAR)
    if len(tokens) != 3:
        raise DateError(DateProblem.UNREADABLE)
    first, second, third = tokens
    if len(first) == 4 and len(second) <= 2 and len(third) <= 2:
        return int(third), int(second), first
    if len(first) <= 2 and len(second) <= 2 and len(third) in (2, 4):
        return int(first), int(second), third
    raise DateError(DateProblem.UNREADABLE)


def _full_year(year: str, today: dt.date) -> int:
    if len(year) == 4:
        return int(year)
    full = 2000 + int(year)
    if full > today.year + 1:
        raise DateError(DateProblem.SHORT_YEAR)
    return full


def _make(day: int, month: int, year: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise DateError(DateProblem.NOT_ON_CALENDAR) from None


def uk(date: dt.date) -> str:
    """A date as the form shows it: 03/11/2025."""
    return date.strftime("%d/%m/%Y")
