"""How long each challenge is kept: the council's retention schedule, as values.

A schedule is a list of rules read from ``[retention]`` in ``formflow.toml``; the first
rule that matches a closed challenge (by the child's legal status and how the challenge
closed) sets its period: a number of years from the child's date of birth, from the
closure, or from the challenge's last event. A schedule with no rules disposes of
nothing. An open challenge, or one under a legal hold, is never due, whatever its period.

Pure: the facts (dates, holds, a recorded death) come in as values, with ``today``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from formflow.core.record import Challenge, ClosureKind, LegalStatus
from formflow.errors import ConfigError

NOT_STATED = "not stated"
"""The legal status a rule names for a record that does not state one."""
ADULTHOOD_YEARS = 18


class Anchor(StrEnum):
    """The date a period is counted from."""

    BIRTH = "birth"
    CLOSURE = "closure"
    LAST_EVENT = "last event"


@dataclass(frozen=True)
class Rule:
    name: str
    years: int
    anchor: Anchor
    legal_statuses: frozenset[str] | None = None
    """The legal statuses it covers (``LegalStatus`` values or ``not stated``); None: all."""
    closed_as: frozenset[ClosureKind] | None = None
    """How the challenge closed; None: however it closed."""
    died_before_18_years: int | None = None
    """Years from the child's death instead, when the child died before 18."""

    def covers(self, legal_status: LegalStatus | None, closed_as: ClosureKind | None) -> bool:
        status = legal_status.value if legal_status else NOT_STATED
        if self.legal_statuses is not None and status not in self.legal_statuses:
            return False
        return self.closed_as is None or closed_as in self.closed_as


@dataclass(frozen=True)
class Schedule:
    rules: tuple[Rule, ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.rules)

    def rule_for(
        self, legal_status: LegalStatus | None, closed_as: ClosureKind | None
    ) -> Rule | None:
        return next((r for r in self.rules if r.covers(legal_status, closed_as)), None)


@dataclass(frozen=True)
class Facts:
    """What the period of one challenge depends on."""

    reference: str
    legal_status: LegalStatus | None
    date_of_birth: dt.date
    closed_on: dt.date | None
    """None while the challenge is open."""
    closed_as: ClosureKind | None
    last_event: dt.date
    """The last thing that happened in the challenge's life (views of it do not count)."""
    died_on: dt.date | None = None
    held: bool = False


@dataclass(frozen=True)
class Verdict:
    reference: str
    rule: Rule | None
    ends_on: dt.date | None
    """The last day of the period; None while open, or when no rule covers it."""
    open: bool
    held: bool
    due: bool
    """Closed, not held, and ``ends_on`` is past: it may be disposed of."""

    @property
    def state(self) -> str:
        """One phrase for a records manager."""
        if self.held:
            return "held"
        if self.open:
            return "open"
        if self.rule is None:
            return "no rule covers it"
        return "due for disposal" if self.due else "kept"


def add_years(day: dt.date, years: int) -> dt.date:
    """The anniversary ``years`` on; 29 February falls on 1 March in a year without one,
    the later of the two days, so nothing is disposed of a day early."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def facts_of(
    challenge: Challenge,
    last_event: dt.date,
    *,
    died_on: dt.date | None = None,
    held: bool = False,
) -> Facts:
    assert challenge.reference is not None
    closure = challenge.closure
    return Facts(
        reference=challenge.reference,
        legal_status=challenge.child.legal_status,
        date_of_birth=challenge.child.date_of_birth,
        closed_on=closure.date if closure else None,
        closed_as=closure.kind if closure else None,
        last_event=max(last_event, closure.date) if closure else last_event,
        died_on=died_on,
        held=held,
    )


def period_ends(rule: Rule, facts: Facts) -> dt.date:
    """The last day ``rule`` keeps the challenge in ``facts`` (which must be closed)."""
    assert facts.closed_on is not None
    died_young = facts.died_on is not None and facts.died_on < add_years(
        facts.date_of_birth, ADULTHOOD_YEARS
    )
    if died_young and rule.died_before_18_years is not None:
        assert facts.died_on is not None
        return add_years(facts.died_on, rule.died_before_18_years)
    start = {
        Anchor.BIRTH: facts.date_of_birth,
        Anchor.CLOSURE: facts.closed_on,
        Anchor.LAST_EVENT: facts.last_event,
    }[rule.anchor]
    return add_years(start, rule.years)


def assess(facts: Facts, schedule: Schedule, today: dt.date) -> Verdict:
    """Whether the challenge in ``facts`` may be disposed of on ``today``: the day after
    its period ends, never while it is open or held."""
    is_open = facts.closed_on is None
    rule = None if is_open else schedule.rule_for(facts.legal_status, facts.closed_as)
    ends_on = None if rule is None else period_ends(rule, facts)
    due = ends_on is not None and not facts.held and today > ends_on
    return Verdict(facts.reference, rule, ends_on, is_open, facts.held, due)


def review(facts: Iterable[Facts], schedule: Schedule, today: dt.date) -> list[Verdict]:
    """Every challenge's verdict, the longest overdue first, then by reference."""
    verdicts = [assess(f, schedule, today) for f in facts]
    return sorted(verdicts, key=lambda v: (v.ends_on or dt.date.max, v.reference))


# --- the schedule from [retention] in formflow.toml ------------------------------------

_LEGAL_STATUSES = frozenset({s.value for s in LegalStatus} | {NOT_STATED})
_CLOSURES = {k.value: k for k in ClosureKind}


def _words(value: Any, where: str, allowed: Iterable[str]) -> frozenset[str]:
    """A string or a list of strings, each one of ``allowed`` (compared in lower case)."""
    items = [value] if isinstance(value, str) else value
    known = {a.lower(): a for a in allowed}
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{where} must be one of, or a list of: {', '.join(sorted(known))}.")
    unknown = [str(i) for i in items if not isinstance(i, str) or i.lower() not in known]
    if unknown:
        raise ConfigError(
            f"{where} names {', '.join(unknown)}, which is not one of: {', '.join(sorted(known))}."
        )
    return frozenset(known[i.lower()] for i in items)


def _years(table: dict[str, Any], key: str, where: str) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 150:
        raise ConfigError(f"{where} {key} must be a whole number of years (0 to 150).")
    return value


def _rule(table: Any, number: int) -> Rule:
    where = f"[[retention.rule]] number {number} in formflow.toml:"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table with years and from.")
    unknown = set(table) - {
        "name",
        "years",
        "from",
        "legal_status",
        "closed_as",
        "died_before_18_years",
    }
    if unknown:
        raise ConfigError(
            f"{where} has {', '.join(sorted(unknown))}, which formflow does not know."
        )
    years = _years(table, "years", where)
    if years is None:
        raise ConfigError(f"{where} needs years, such as years = 75.")
    anchor = _words(table.get("from"), f"{where} from", [a.value for a in Anchor])
    status = table.get("legal_status")
    closed = table.get("closed_as")
    return Rule(
        name=str(table.get("name") or f"rule {number}"),
        years=years,
        anchor=Anchor(next(iter(anchor))),
        legal_statuses=None
        if status is None
        else _words(status, f"{where} legal_status", _LEGAL_STATUSES),
        closed_as=None
        if closed is None
        else frozenset(_CLOSURES[c] for c in _words(closed, f"{where} closed_as", _CLOSURES)),
        died_before_18_years=_years(table, "died_before_18_years", where),
    )


def schedule_from_settings(section: Any) -> Schedule:
    """The schedule in ``[retention]`` (the parsed TOML table, or None when absent)."""
    if section is None:
        return Schedule()
    rules = section.get("rule", []) if isinstance(section, dict) else None
    if not isinstance(rules, list):
        raise ConfigError(
            "[retention] in formflow.toml holds its rules as [[retention.rule]] tables."
        )
    return Schedule(tuple(_rule(table, n) for n, table in enumerate(rules, start=1)))
