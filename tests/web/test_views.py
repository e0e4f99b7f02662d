"""The pages' read model: every event shown whatever its columns, the filters and sort,
and the charts."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_support import DUE_LATER, NOT_IN_CARE, NOW, OVERDUE, TODAY, fill_register, home_on

from conftest import make_challenge
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import assess
from formflow.core.record import Person, RaisedBy, Role, Stage, StageOutcome, StageRecord
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.store.register import MIGRATIONS, ListRanks, OpenList, Register
from formflow.web import charts, views


@pytest.fixture
def on_either(tmp_path: Path, register_url: str) -> Iterator[Register]:
    """The filled register, on each engine."""
    home = home_on(tmp_path, register_url)
    fill_register(home)
    with Register(home.register) as register:
        yield register


def test_an_event_of_a_new_kind_with_new_columns_is_shown_whole(tmp_path: Path) -> None:
    """A column the register does not know yet (a newer formflow's, say) is shown too."""
    home = Home(tmp_path)
    fill_register(home)
    db = sqlite3.connect(home.database)
    db.execute("ALTER TABLE events ADD COLUMN who TEXT")
    db.execute("ALTER TABLE events ADD COLUMN why TEXT")
    db.execute("ALTER TABLE events ADD COLUMN new_until TEXT")
    db.execute(
        "INSERT INTO events (reference, at, what, who, why, new_until) VALUES (?, ?, ?, ?, ?, ?)",
        (OVERDUE, "2025-11-12T10:00:00", "extend", "Priya Raman", "Sickness", "2025-11-21"),
    )
    db.commit()
    db.close()
    with Register(home.database) as register:
        page = views.challenge_page(
            register, OVERDUE, built_in(), WorkingCalendar(), TODAY, lambda r: tmp_path / r
        )
    assert page is not None
    extend = next(e for e in page.timeline if e.what == "extend")
    assert extend.who == "Priya Raman" and extend.why == "Sickness"
    assert extend.when == "12 November 2025, 10:00"
    assert ("new until", "21 November 2025") in extend.details


def test_event_entry_takes_who_and_why_from_whichever_column_has_them() -> None:
    row = {
        "id": 1,
        "reference": OVERDUE,
        "at": "2025-11-03T10:00:00",
        "what": "file",
        "file": "claim--a.docx",
        "sha256": "ab" * 32,
        "outcome": "processed",
        "message": "Raised at Stage 1.",
    }
    entry = views.event_entry(row)
    assert entry.what == "Form received: Raised at Stage 1." and entry.who == ""
    assert entry.details == ()


def listed(root: Path, chosen: OpenList | None = None) -> list[views.OpenRow]:
    """The open list's first page, as the dashboard reads it."""
    chosen = chosen or OpenList()
    with Register(Home(root).database) as register:
        procedures = views.Procedures(built_in())
        offered = views.choices(register.open_summary(chosen, chosen, TODAY).kinds, procedures)
        found = register.open_list(chosen, offered.ranks, 0, views.PAGE_SIZE)
        return views.open_rows(found, procedures, TODAY)


def test_open_rows_come_from_the_register_without_closed_ones(tmp_path: Path) -> None:
    fill_register(Home(tmp_path))
    rows = listed(tmp_path)
    assert [r.reference for r in rows] == [OVERDUE, DUE_LATER, NOT_IN_CARE]
    first = rows[0]
    assert first.overdue and first.days_to_due == -10 and first.child == "T.E."
    assert first.responder == "Team Manager"
    assert not rows[1].overdue and rows[1].level == "Stage 2"


def test_a_challenge_page_for_an_unknown_or_malformed_reference_is_none(
    on_either: Register,
) -> None:
    for reference in ["PC-2025-ZZZZZZ", "'; DROP TABLE challenges; --"]:
        page = views.challenge_page(
            on_either, reference, built_in(), WorkingCalendar(), TODAY, Path
        )
        assert page is None
    assert on_either.references()


SORTED_BY: dict[str, Callable[[views.OpenRow], Any]] = {
    "reference": lambda r: r.reference,
    "child": lambda r: r.child,
    "procedure": lambda r: (r.procedure_name.lower(), r.procedure),
    "level": lambda r: r.rank,
    # by whom it is addressed to: "Team Manager (Priya Raman)", a role alone first
    "responder": lambda r: r.responder.partition("(")[2].lower(),
    "iro": lambda r: r.iro.lower(),
    "team": lambda r: r.team.lower(),
    "due": lambda r: r.due or dt.date.max,
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(views.SORT_KEYS),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["", "nelincs", "barnet"]),
)
def test_the_register_filters_and_sorts_exactly_the_matching_rows(
    filled: Path, key: str, descending: bool, overdue_only: bool, procedure: str
) -> None:
    every = listed(filled)
    chosen = listed(
        filled,
        OpenList(
            procedure=procedure,
            overdue_on=TODAY if overdue_only else None,
            sort=key,
            descending=descending,
        ),
    )
    assert {r.reference for r in chosen} == {
        r.reference
        for r in every
        if (not procedure or r.procedure == procedure) and (r.overdue or not overdue_only)
    }
    keys = [SORTED_BY[key](r) for r in chosen]
    assert keys == sorted(keys, reverse=descending)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test register and 30 more open challenges, under two procedures at each
    level, with IROs, teams and due dates in no particular order."""
    root = tmp_path_factory.mktemp("register")
    fill_register(Home(root))
    barnet = built_in()("barnet")
    with Register(Home(root).database) as register:
        for n in range(30):
            policy = barnet if n % 2 else built_in()("nelincs")
            stage = policy.stages[n % len(policy.stages)].stage
            challenge = make_challenge(
                reference=f"PC-2025-{n:06d}",
                policy=policy.id,
                stage=stage,
                date_of_notification=dt.date(2025, 10, 1) + dt.timedelta(days=(n * 7) % 45),
                raised_by=RaisedBy(
                    ("Zoe Quill", "ann Bright", "Morwenna Pentreath")[n % 3], Role.IRO
                ),
                team=("Fostering Team", "children in Care Team 1", "")[n % 3] or None,
                addressed_to=Person(("Priya Raman", "sam Other", "Bea Hill")[n % 3]),
            )
            register.save_challenge(
                challenge, assess(challenge, policy, WorkingCalendar(), TODAY), NOW
            )
    return root


def test_a_chart_has_a_bar_and_a_value_per_label_and_escapes_labels() -> None:
    svg = charts.bar_chart("Themes <2025>", [("Placement & care", 3), ("<script>", 0)])
    assert svg.startswith("<svg") and svg.count("<rect") == 2
    assert "Placement &amp; care" in svg and "&lt;script&gt;" in svg and "<script>" not in svg
    assert "<title>Themes &lt;2025&gt;</title>" in svg
    assert ">3<" in svg and ">0<" in svg
    assert charts.bar_chart("Empty", []).count("<rect") == 0


def test_the_year_counts_each_month(on_either: Register) -> None:
    page = views.year_page(on_either, 2025, WorkingCalendar())
    assert sum(page.per_month) == 4 and page.per_month[10] == 4
    assert page.years == [2025]


def test_a_level_with_no_fixed_timescale_shows_why_it_has_no_date(tmp_path: Path) -> None:
    """Barnet's informal level has "a timescale appropriate to the child's needs"."""
    fill_register(Home(tmp_path))
    reference = "PC-2025-EEEEEE"
    barnet = built_in()("barnet")
    challenge = make_challenge(
        reference=reference, policy="barnet", stage=barnet.named(Stage.INFORMAL)
    )
    with Register(Home(tmp_path).database) as register:
        register.save_challenge(challenge, assess(challenge, barnet, WorkingCalendar(), TODAY), NOW)
    row = next(r for r in listed(tmp_path) if r.reference == reference)
    assert row.level == "Informal resolution" and row.due is None
    assert row.due_text == "No date set" and not row.overdue
    with Register(Home(tmp_path).database) as register:
        page = views.challenge_page(register, reference, built_in(), WorkingCalendar(), TODAY, Path)
    assert page is not None
    assert page.assessment.due_note == (
        "no fixed timescale (a timescale that is appropriate to the child's needs)"
    )


def test_a_register_from_before_roles_lists_a_managers_challenges_once_migrated(
    tmp_path: Path,
) -> None:
    """Migration 4 copies the names out of each record and whom it was addressed to at
    every level, so a manager's list is right from the first start after the upgrade."""
    path = tmp_path / "formflow.db"
    earlier = make_challenge(
        reference="PC-2025-OLDOLD",
        stage=Stage.TWO,
        addressed_to=Person("Hannah Senior", "Service Manager"),
        history=(
            StageRecord(
                Stage.ONE,
                dt.date(2025, 10, 1),
                StageOutcome.ESCALATED,
                addressed_to=Person("Priya Raman", "Team Manager"),
            ),
        ),
    )
    with Register(path, migrations=MIGRATIONS[:3]) as old:
        old._execute(
            "INSERT INTO challenges (reference, policy, record, status, stage, raised_on, "
            "created, updated) VALUES (?, 'nelincs', ?, 'awaiting response', '2', "
            "'2025-10-01', '2025-10-01', '2025-10-01')",
            ("PC-2025-OLDOLD", json.dumps(earlier.to_dict())),
        )
    with Register(path) as register:
        for person, team, found in [
            ("priya raman", None, ["PC-2025-OLDOLD"]),
            ("Hannah Senior", None, ["PC-2025-OLDOLD"]),
            (None, "Children in Care Team 2", ["PC-2025-OLDOLD"]),
            ("Sam Other", "Fostering Team", []),
        ]:
            rows = register.open_list(OpenList(restricted_to=(person, team)), ListRanks(), 0, 50)
            assert [r["reference"] for r in rows] == found, (person, team)
        (row,) = register.open_list(OpenList(search="lcs-000123"), ListRanks(), 0, 50)
        assert (row["child"], row["iro"]) == ("Tegan Example", "Morwenna Pentreath")
