"""Three councils' published procedures as policies (Barnet, Nottinghamshire, Peterborough):
each file passes ``formflow policies check`` with only the warnings its notes explain, and
its due dates match a table worked out by hand against bank holidays typed by hand from
gov.uk, not taken from the ``holidays`` library."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from conftest import make_challenge
from formflow.cli import main
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import Raise, Respond, Status, apply, assess, deadline
from formflow.core.record import Challenge, LegalStatus, RaisedBy, Role, Stage
from formflow.errors import TransitionError
from formflow.policy_catalogue import built_in
from formflow.resources import policies_dir

DATA = Path(__file__).parent / "data"
COUNCILS = ["barnet", "nottinghamshire", "peterborough"]


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader((DATA / name).read_text(encoding="utf-8").splitlines()))


BANK_HOLIDAYS_BY_HAND = frozenset(
    dt.date.fromisoformat(row["date"]) for row in _rows("bank_holidays_by_hand.csv")
)
CASES = _rows("council_deadline_cases.csv")


@dataclass(frozen=True)
class HandTypedCalendar(WorkingCalendar):
    """Weekends and the bank holidays typed by hand from gov.uk, and nothing else: the
    expected dates in the table were counted against exactly this list."""

    bank_holidays: frozenset[dt.date] = BANK_HOLIDAYS_BY_HAND

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.bank_holidays


CALENDAR = HandTypedCalendar()


# --- policies check ----------------------------------------------------------------------

# What `policies check` must warn about, and nothing else: every value the stored source
# does not state.
_UNROUTED = ("bypass", "on_not_resolved", "on_actions_not_implemented", "on_timeout")
EXPECTED_WARNINGS = {
    "barnet": {
        ("The procedure", "cafcass.concurrent"),
        ("The procedure", "cafcass.prerequisites"),
        *(
            ("Informal resolution", what)
            for what in ("on_not_resolved", "on_actions_not_implemented", "on_timeout")
        ),
        *(("Practice Alert", what) for what in ("on_actions_not_implemented", "on_timeout")),
        *(
            ("Level 3 (name not stated)", what)
            for what in ("name", "responder", "timescale", *_UNROUTED[1:])
        ),
    },
    "nottinghamshire": {
        ("The procedure", "cafcass.eligible"),
        ("The procedure", "cafcass.prerequisites"),
        *(("IRO Alert", what) for what in _UNROUTED),
        *(("Formal Dispute Resolution", what) for what in ("responder", "timescale", *_UNROUTED)),
        *(("CPC Alert", what) for what in ("timescale", *_UNROUTED)),
        *(("Service Managers informed", what) for what in ("timescale", *_UNROUTED)),
    },
    "peterborough": {
        ("The procedure", "children"),
        *(
            ("The procedure", f"cafcass.{what}")
            for what in ("available", "eligible", "when", "concurrent", "prerequisites")
        ),
        *(
            ("Discussion with the Social Worker", what)
            for what in ("bypass", "on_actions_not_implemented", "on_timeout")
        ),
        *(("Case Alert", what) for what in ("timescale", *_UNROUTED)),
        *(("Management Alert", what) for what in ("timescale", *_UNROUTED)),
    },
}
WARNING = re.compile(r"^Warning: (?P<level>[^:]+): the source does not state (?P<what>[\w.]+) ")


def _warnings(output: str) -> set[tuple[str, str]]:
    found = set()
    for line in output.splitlines():
        match = WARNING.match(line)
        if match:
            found.add((match["level"], match["what"]))
    return found


@pytest.mark.parametrize("council", COUNCILS)
def test_each_council_passes_policies_check_with_only_the_warnings_expected(
    council: str,
) -> None:
    result = CliRunner().invoke(
        main, ["policies", "check", str(policies_dir() / f"{council}.json")]
    )
    assert result.exit_code == 0, result.output
    assert f"valid policy '{council}'" in result.output
    warned = [line for line in result.output.splitlines() if line.startswith("Warning:")]
    assert _warnings(result.output) == EXPECTED_WARNINGS[council]
    assert len(warned) == len(EXPECTED_WARNINGS[council]), warned


@pytest.mark.parametrize("council", COUNCILS)
def test_every_warning_is_explained_in_the_notes(council: str) -> None:
    notes = built_in()(council).notes
    for level, what in EXPECTED_WARNINGS[council]:
        # The procedure's own fields: the note names the field ("children", "CAFCASS").
        named = (
            level if level != "The procedure" else what.split(".")[0].replace("cafcass", "CAFCASS")
        )
        assert any(named in note.choice and "not_stated" in note.choice for note in notes), (
            f"no note explains why {level}'s {what} is not stated"
        )


@pytest.mark.parametrize("council", COUNCILS)
def test_each_council_cites_its_public_source(council: str) -> None:
    source = json.loads((policies_dir() / f"{council}.json").read_text(encoding="utf-8"))["source"]
    assert source["council"] == built_in()(council).council
    assert dt.date.fromisoformat(source["retrieved"])
    assert source["urls"] and all(u.startswith(("http://", "https://")) for u in source["urls"])


# --- due dates from the hand-made bank holiday list ------------------------------------


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@pytest.mark.parametrize("case", CASES, ids=[f"{c['policy']}: {c['case']}" for c in CASES])
def test_due_dates_worked_out_by_hand(case: dict[str, str]) -> None:
    policy = built_in()(case["policy"])
    form_fields = [f.id for f in policy.fields]
    details = {form_fields[0]: case["form_date"]} if case["form_date"] else {}
    when = deadline(
        policy,
        Stage(case["level"]),
        dt.date.fromisoformat(case["raised_on"]),
        CALENDAR,
        _date(case["challenge_start"]),
        details=details,
    )
    assert when.due == _date(case["due"])
    assert when.overall_target == _date(case["overall_target"])


def test_the_hand_typed_list_covers_what_the_brief_names() -> None:
    names = {row["holiday"] for row in _rows("bank_holidays_by_hand.csv")}
    assert {
        "Good Friday",
        "Easter Monday",
        "Early May bank holiday",
        "Summer bank holiday",
    } <= names
    assert "Boxing Day (substitute day)" in names and "Christmas Day (substitute day)" in names
    assert {d.year for d in BANK_HOLIDAYS_BY_HAND} == {2026, 2027}


@given(st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 10)))
def test_a_practice_alert_is_due_on_the_fifth_working_day_after_day_zero(raised: dt.date) -> None:
    due = deadline(built_in()("barnet"), Stage("1"), raised, CALENDAR).due
    assert due is not None and CALENDAR.is_working_day(due)
    day_zero = CALENDAR.day_zero(raised)
    between = [
        day_zero + dt.timedelta(days=n)
        for n in range(1, (due - day_zero).days + 1)
        if CALENDAR.is_working_day(day_zero + dt.timedelta(days=n))
    ]
    assert len(between) == 5


# --- Nottinghamshire's CP chair ladder (the form cannot carry it yet: see the notes) -----

NOTTINGHAMSHIRE = built_in()("nottinghamshire")
RAISED = dt.date(2026, 11, 2)
SERVICE_MANAGERS = (
    "Service Manager, Independent Chair Service",
    "Service Manager of the operational social work team",
)


def cp_chair_challenge(level: str) -> Challenge:
    challenge = make_challenge(
        policy="nottinghamshire",
        raised_by=RaisedBy("Morwenna Pentreath", Role.CP_CHAIR),
        child=replace(make_challenge().child, legal_status=LegalStatus.CHILD_PROTECTION_PLAN),
    )
    return apply(challenge, Raise(Stage(level), RAISED), NOTTINGHAMSHIRE, CALENDAR).challenge


def test_a_cp_chair_climbs_the_cpc_ladder_not_the_iros() -> None:
    assert [s.stage.label for s in NOTTINGHAMSHIRE.ladder(Role.CP_CHAIR)] == [
        "CPC Alert",
        "Service Managers informed",
    ]
    assert [s.stage.label for s in NOTTINGHAMSHIRE.ladder(Role.IRO)] == [
        "IRO Alert",
        "Formal Dispute Resolution",
    ]
    with pytest.raises(TransitionError, match="raised by a CP chair; start at CPC Alert"):
        cp_chair_challenge("1")


def test_immediate_risk_goes_straight_to_both_service_managers_who_must_both_agree() -> None:
    urgent = cp_chair_challenge("cpc-service-managers")
    seen = assess(urgent, NOTTINGHAMSHIRE, CALENDAR, RAISED + dt.timedelta(days=60))
    assert seen.due is None and not seen.overdue  # no timescale stated: never chased
    one = Respond(RAISED, resolved=True, by="A Manager", agreed_by=SERVICE_MANAGERS[:1])
    with pytest.raises(TransitionError, match="does not record the agreement"):
        apply(urgent, one, NOTTINGHAMSHIRE, CALENDAR)
    both = replace(one, agreed_by=SERVICE_MANAGERS)
    resolved = apply(urgent, both, NOTTINGHAMSHIRE, CALENDAR).challenge
    assert assess(resolved, NOTTINGHAMSHIRE, CALENDAR, RAISED).status is Status.RESOLVED


def test_an_unresolved_cpc_alert_waits_for_the_cp_chairs_decision() -> None:
    """6.12 does not say where an unresolved alert goes: nothing moves by itself."""
    alert = cp_chair_challenge("cpc-alert")
    not_resolved = Respond(RAISED, resolved=False, text="No.", by="A Manager")
    asked = apply(alert, not_resolved, NOTTINGHAMSHIRE, CALENDAR)
    assert asked.challenge.stage.label == "CPC Alert"
    assert asked.message == (
        "The procedure does not say what happens when CPC Alert is not resolved: "
        "decide with `formflow escalate`, `close` or `withdraw`."
    )
    assert assess(asked.challenge, NOTTINGHAMSHIRE, CALENDAR, RAISED).status is (
        Status.AWAITING_RESPONSE
    )


def test_immediate_risk_is_an_entry_point_not_a_bypass_of_the_cpc_alert() -> None:
    urgent = cp_chair_challenge("cpc-service-managers")
    raised = apply(urgent, Raise(Stage("cpc-service-managers"), RAISED), NOTTINGHAMSHIRE, CALENDAR)
    assert "bypassed" not in raised.message
    assert raised.message.startswith(
        "Raised at Service Managers informed (the procedure lets a challenge start here where "
        "information presented to a conference or complex Strategy Meeting shows that a child "
        "is at immediate risk of harm)"
    )
