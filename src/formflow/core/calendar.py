"""Working days in England: weekends, England and Wales bank holidays, local closure days.

Convention (DOMAIN.md): the day of notification is day 0; a form received on a
non-working day counts as received on the next working day; "within N working days"
means by the end of the Nth working day after day 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import holidays

from formflow.errors import CalendarError

# gov.uk publishes bank holidays about two years ahead. The library computes the
# regular ones for any year, but one-off days (a coronation, a state funeral) arrive
# only with an upgrade, so dates after this year carry a warning.
CONFIRMED_UNTIL = 2027

_LIBRARY = holidays.country_holidays("GB", subdiv="ENG")
FIRST_YEAR: int = _LIBRARY.start_year
LAST_YEAR: int = _LIBRARY.end_year


@cache
def bank_holidays(year: int) -> frozenset[dt.date]:
    """England and Wales bank holidays in ``year`` (subdivision ENG: Easter Monday and the
    August bank holiday are missing without it)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CalendarError(
            f"The bank holiday calendar covers {FIRST_YEAR} to {LAST_YEAR}; "
            f"{year} is outside it, so no working-day deadline can be counted."
        )
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days count. Closure days and extra bank holidays come from configuration."""

    closure_days: frozenset[dt.date] = frozenset()
    extra_bank_holidays: frozenset[dt.date] = frozenset()
    confirmed_until: int = CONFIRMED_UNTIL

    def is_working_day(self, day: dt.date) -> bool:
        return (
            day.weekday() < 5
            and day not in bank_holidays(day.year)
            and day not in self.extra_bank_holidays
            and day not in self.closure_days
        )

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` itself when it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def day_zero(self, received: dt.date) -> dt.date:
        """The day counting starts from: a form received on a non-working day counts as
        received on the next working day."""
        return self.next_working_day(received)

    def add_working_days(self, received: dt.date, n: int) -> dt.date:
        """The Nth working day after day 0 (day 0 itself for n = 0)."""
        if n < 0:
            raise CalendarError(f"A timescale cannot be negative ({n} working days).")
        day = self.day_zero(received)
        for _ in range(n):
            day = self.next_working_day(day + dt.timedelta(days=1))
        return day

    def working_days_between(self, received: dt.date, end: dt.date) -> int:
        """How many working days after day 0 have passed by ``end`` (0 on day 0 or before)."""
        day = self.day_zero(received)
        count = 0
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day) and day <= end:
                count += 1
        return count

    def warnings(self, days: Iterable[dt.date]) -> list[str]:
        """Plain-English warnings for dates whose bank holidays are not yet confirmed."""
        years = sorted({d.year for d in days if d.year > self.confirmed_until})
        return [
            f"Bank holidays for {year} are not yet confirmed by gov.uk: the date assumes the "
            "regular pattern. Add any one-off bank holiday to [calendar] extra_bank_holidays "
            "in formflow.toml."
            for year in years
        ]


def uk_date(day: dt.date | None) -> str:
    """``3 November 2025``, the way council letters write dates."""
    return f"{day.day} {day:%B %Y}" if day else ""
