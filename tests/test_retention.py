"""The retention schedule: tables of dates around a 75th birthday, a death before 18, a
hold and an open challenge, and properties that hold for any dates."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formflow.core.record import ClosureKind, LegalStatus
from formflow.core.retention import (
    Anchor,
    Facts,
    Rule,
    Schedule,
    add_years,
    assess,
    schedule_from_settings,
)
from formflow.errors import ConfigError

IN_CARE = Rule(
    "Child in care: 75th birthday",
    75,
    Anchor.BIRTH,
    frozenset({"child in care", "both"}),
    died_before_18_years=15,
)
PROTECTION = Rule(
    "Child protection: 35 years", 35, Anchor.LAST_EVENT, frozenset({"child protection plan"})
)
WITHDRAWN = Rule(
    "Withdrawn: 2 years", 2, Anchor.CLOSURE, closed_as=frozenset({ClosureKind.WITHDRAWN})
)
OTHER = Rule("Other: 6 years after closure", 6, Anchor.CLOSURE)
SCHEDULE = Schedule((IN_CARE, PROTECTION, WITHDRAWN, OTHER))

BORN = dt.date(1951, 6, 15)  # 75 on 15 June 2026


def facts(**overrides: object) -> Facts:
    base: dict[str, object] = {
        "reference": "PC-2010-7KQ3XM",
        "legal_status": LegalStatus.CHILD_IN_CARE,
        "date_of_birth": BORN,
        "closed_on": dt.date(1965, 3, 1),
        "closed_as": ClosureKind.RESOLVED,
        "last_event": dt.date(1965, 3, 1),
    }
    base.update(overrides)
    return Facts(**base)  # type: ignore[arg-type]


CASES = [
    # (what, facts, today, state, period ends)
    (
        "the day before the 75th birthday",
        facts(),
        dt.date(2026, 6, 14),
        "kept",
        dt.date(2026, 6, 15),
    ),
    ("on the 75th birthday", facts(), dt.date(2026, 6, 15), "kept", dt.date(2026, 6, 15)),
    ("the day after", facts(), dt.date(2026, 6, 16), "due for disposal", dt.date(2026, 6, 15)),
    (
        "in care and on a plan: the in-care rule",
        facts(legal_status=LegalStatus.BOTH),
        dt.date(2026, 6, 16),
        "due for disposal",
        dt.date(2026, 6, 15),
    ),
    (
        "died at 10: 15 years after the death",
        facts(died_on=dt.date(1961, 6, 14)),
        dt.date(1976, 6, 15),
        "due for disposal",
        dt.date(1976, 6, 14),
    ),
    (
        "died the day before the 18th birthday",
        facts(died_on=dt.date(1969, 6, 14)),
        dt.date(1984, 6, 14),
        "kept",
        dt.date(1984, 6, 14),
    ),
    (
        "died on the 18th birthday: the 75th birthday rule",
        facts(died_on=dt.date(1969, 6, 15)),
        dt.date(2000, 1, 1),
        "kept",
        dt.date(2026, 6, 15),
    ),
    (
        "held: never due",
        facts(held=True),
        dt.date(2090, 1, 1),
        "held",
        dt.date(2026, 6, 15),
    ),
    (
        "open: never due",
        facts(closed_on=None, closed_as=None),
        dt.date(2090, 1, 1),
        "open",
        None,
    ),
    (
        "child protection: 35 years from the last event",
        facts(legal_status=LegalStatus.CHILD_PROTECTION_PLAN, last_event=dt.date(1966, 1, 10)),
        dt.date(2001, 1, 11),
        "due for disposal",
        dt.date(2001, 1, 10),
    ),
    (
        "no legal status stated, withdrawn: 2 years from closure",
        facts(legal_status=None, closed_as=ClosureKind.WITHDRAWN),
        dt.date(1967, 3, 2),
        "due for disposal",
        dt.date(1967, 3, 1),
    ),
    (
        "no legal status stated: the catch-all rule",
        facts(legal_status=None),
        dt.date(1971, 3, 1),
        "kept",
        dt.date(1971, 3, 1),
    ),
    (
        "born on 29 February: the 75th birthday falls on 1 March",
        facts(date_of_birth=dt.date(1952, 2, 29)),
        dt.date(2027, 3, 1),
        "kept",
        dt.date(2027, 3, 1),
    ),
]


@pytest.mark.parametrize(
    ("what", "given_facts", "today", "state", "ends"), CASES, ids=[c[0] for c in CASES]
)
def test_the_schedule_decides_what_is_due(
    what: str, given_facts: Facts, today: dt.date, state: str, ends: dt.date | None
) -> None:
    verdict = assess(given_facts, SCHEDULE, today)
    assert (verdict.state, verdict.ends_on) == (state, ends)


def test_no_rules_dispose_of_nothing() -> None:
    verdict = assess(facts(), Schedule(), dt.date(2200, 1, 1))
    assert not Schedule().configured
    assert (verdict.state, verdict.due) == ("no rule covers it", False)


dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))


@given(born=dates, today=dates, held=st.booleans(), closed=st.booleans(), died=st.none() | dates)
def test_only_a_closed_unheld_record_past_its_period_is_ever_due(
    born: dt.date, today: dt.date, held: bool, closed: bool, died: dt.date | None
) -> None:
    given_facts = facts(
        date_of_birth=born,
        held=held,
        died_on=died,
        closed_on=born if closed else None,
        closed_as=ClosureKind.RESOLVED if closed else None,
    )
    verdict = assess(given_facts, SCHEDULE, today)
    if verdict.due:
        assert closed and not held
        assert verdict.ends_on is not None and today > verdict.ends_on
        assert assess(given_facts, SCHEDULE, today + dt.timedelta(days=1)).due


@given(born=dates, today=dates)
def test_a_child_in_care_who_lived_past_18_is_kept_until_the_75th_birthday(
    born: dt.date, today: dt.date
) -> None:
    verdict = assess(facts(date_of_birth=born), SCHEDULE, today)
    birthday = add_years(born, 75)
    assert verdict.due == (today > birthday)
    assert birthday.year == born.year + 75 and birthday >= born.replace(year=birthday.year, day=1)


def test_the_schedule_is_read_from_formflow_toml() -> None:
    schedule = schedule_from_settings(
        {
            "rule": [
                {
                    "name": "Looked-after",
                    "legal_status": ["Child in care", "both"],
                    "from": "birth",
                    "years": 75,
                    "died_before_18_years": 15,
                },
                {"name": "Withdrawn", "closed_as": "withdrawn", "from": "closure", "years": 2},
            ]
        }
    )
    assert schedule.rules == (
        Rule("Looked-after", 75, Anchor.BIRTH, frozenset({"child in care", "both"}), None, 15),
        Rule("Withdrawn", 2, Anchor.CLOSURE, None, frozenset({ClosureKind.WITHDRAWN})),
    )
    assert schedule_from_settings(None) == Schedule()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"from": "birth"}, "needs years"),
        ({"from": "death", "years": 1}, "from names death"),
        ({"from": "birth", "years": "75"}, "whole number of years"),
        ({"from": "birth", "years": 5, "legal_status": "adopted"}, "legal_status names adopted"),
        ({"from": "birth", "years": 5, "keep": True}, "has keep"),
    ],
)
def test_a_rule_formflow_cannot_use_is_refused_plainly(
    rule: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        schedule_from_settings({"rule": [rule]})


def test_the_readme_example_schedule_is_one_formflow_reads() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = readme.split("```toml\n[[retention.rule]]", 1)[1].split("```", 1)[0]
    schedule = schedule_from_settings(tomllib.loads("[[retention.rule]]" + example)["retention"])
    assert [r.anchor for r in schedule.rules] == [
        Anchor.BIRTH,
        Anchor.LAST_EVENT,
        Anchor.CLOSURE,
        Anchor.CLOSURE,
    ]
    in_care = facts(died_on=dt.date(1960, 1, 1))
    assert assess(in_care, schedule, dt.date(1975, 1, 2)).due
