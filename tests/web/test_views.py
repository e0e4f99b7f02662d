"""The pages' read model: every event shown whatever its columns, the filters and sort,
and the charts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from web_support import DUE_LATER, NOT_IN_CARE, NOW, OVERDUE, TODAY, fill_register

from conftest import make_challenge
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import assess
from formflow.core.record import STANDARD_LADDER, Stage
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.store.register import Register
from formflow.web import charts, views


def connect(root: Path) -> sqlite3.Connection:
    home = Home(root)
    fill_register(home)
    db = sqlite3.connect(home.database)
    db.row_factory = sqlite3.Row
    return db


def test_an_event_of_a_new_kind_with_new_columns_is_shown_whole(tmp_path: Path) -> None:
    db = connect(tmp_path)
    db.execute("ALTER TABLE events ADD COLUMN who TEXT")
    db.execute("ALTER TABLE events ADD COLUMN why TEXT")
    db.execute("ALTER TABLE events ADD COLUMN new_until TEXT")
    db.execute(
        "INSERT INTO events (reference, at, what, who, why, new_until) VALUES (?, ?, ?, ?, ?, ?)",
        (OVERDUE, "2025-11-12T10:00:00", "extend", "Priya Raman", "Sickness", "2025-11-21"),
    )
    db.commit()
    page = views.challenge_page(
        db, OVERDUE, built_in(), WorkingCalendar(), TODAY, lambda r: tmp_path / r
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


def test_open_rows_come_from_the_register_without_closed_ones(tmp_path: Path) -> None:
    rows = views.open_rows(connect(tmp_path), built_in(), TODAY)
    assert [r.reference for r in rows] == [OVERDUE, DUE_LATER, NOT_IN_CARE]
    first = rows[0]
    assert first.overdue and first.days_to_due == -10 and first.child == "T.E."
    assert first.responder == "Team Manager"
    assert not rows[1].overdue and rows[1].level == "Stage 2"


def test_a_challenge_page_for_an_unknown_or_malformed_reference_is_none(tmp_path: Path) -> None:
    db = connect(tmp_path)
    for reference in ["PC-2025-ZZZZZZ", "'; DROP TABLE challenges; --"]:
        assert (
            views.challenge_page(db, reference, built_in(), WorkingCalendar(), TODAY, Path) is None
        )
    assert views.open_rows(db, built_in(), TODAY)


stages = st.sampled_from(STANDARD_LADDER)
open_row = st.builds(
    views.OpenRow,
    reference=st.from_regex(r"PC-2025-[0-9A-Z]{6}", fullmatch=True),
    child=st.just("A.B."),
    procedure=st.sampled_from(["nelincs", "rotherham"]),
    stage=stages,
    rank=st.integers(0, 4),
    status=st.just("awaiting response"),
    responder=st.text(max_size=5),
    iro=st.sampled_from(["Ann", "Bob"]),
    team=st.sampled_from(["", "Team 1"]),
    due=st.one_of(st.none(), st.dates()),
    days_to_due=st.none(),
    overdue=st.booleans(),
)


@given(st.lists(open_row, max_size=30), st.sampled_from(list(views.SORT_KEYS)), st.booleans())
def test_filtering_keeps_exactly_the_matching_rows_in_order(
    rows: list[views.OpenRow], key: str, overdue_only: bool
) -> None:
    chosen = views.select(
        rows, views.Filters(procedure="nelincs", overdue_only=overdue_only, sort=key)
    )
    assert sorted(map(id, chosen)) == sorted(
        id(r) for r in rows if r.procedure == "nelincs" and (r.overdue or not overdue_only)
    )
    keys = [views.SORT_KEYS[key](r) for r in chosen]
    assert keys == sorted(keys)


def test_a_chart_has_a_bar_and_a_value_per_label_and_escapes_labels() -> None:
    svg = charts.bar_chart("Themes <2025>", [("Placement & care", 3), ("<script>", 0)])
    assert svg.startswith("<svg") and svg.count("<rect") == 2
    assert "Placement &amp; care" in svg and "&lt;script&gt;" in svg and "<script>" not in svg
    assert "<title>Themes &lt;2025&gt;</title>" in svg
    assert ">3<" in svg and ">0<" in svg
    assert charts.bar_chart("Empty", []).count("<rect") == 0


def test_the_year_counts_each_month(tmp_path: Path) -> None:
    page = views.year_page(connect(tmp_path), 2025, WorkingCalendar())
    assert sum(page.per_month) == 4 and page.per_month[10] == 4
    assert page.years == [2025]


def test_a_level_with_no_fixed_timescale_shows_why_it_has_no_date(tmp_path: Path) -> None:
    """Barnet's informal level has "a timescale appropriate to the child's needs"."""
    db = connect(tmp_path)
    reference = "PC-2025-EEEEEE"
    barnet = built_in()("barnet")
    challenge = make_challenge(
        reference=reference, policy="barnet", stage=barnet.named(Stage.INFORMAL)
    )
    with Register(Home(tmp_path).database) as register:
        register.save_challenge(challenge, assess(challenge, barnet, WorkingCalendar(), TODAY), NOW)
    row = next(r for r in views.open_rows(db, built_in(), TODAY) if r.reference == reference)
    assert row.level == "Informal resolution" and row.due is None
    assert row.due_text == "No date set" and not row.overdue
    page = views.challenge_page(db, reference, built_in(), WorkingCalendar(), TODAY, Path)
    assert page is not None
    assert page.assessment.due_note == (
        "no fixed timescale (a timescale that is appropriate to the child's needs)"
    )
