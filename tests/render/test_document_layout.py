"""The documents as a manager reads them: drawn by poppler, checked where a fault was seen."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

from pdf_checks import Page, pages, raster
from render_fixtures import NELINCS, SETTINGS, TODAY, assessed, stage_two

from formflow.core.engine import Respond, apply
from formflow.core.record import Action, Challenge
from formflow.render import write_final_record, write_next_stage

DPI = 144
POINT = DPI / 72


def stage_three() -> Challenge:
    answer = Respond(dt.date(2025, 11, 12), False, "No.", "Sam Okafor")
    return apply(stage_two(), answer, NELINCS, SETTINGS.calendar).challenge


def _page_with(shown: list[Page], text: str) -> tuple[int, Page]:
    found = [(n, p) for n, p in enumerate(shown, start=1) if text in p.text()]
    assert found, f"no page has {text!r}"
    return found[0]


def test_each_earlier_stage_is_one_block_with_its_stage_and_date(tmp_path: Path) -> None:
    """Split over two pages, stage 1's block went on without its Stage and Raised on rows."""
    _docx, pdf = write_next_stage(
        stage_three(), NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(stage_three())
    )
    shown = pages(pdf)
    text = " ".join(p.text() for p in shown)
    for n in (1, 2):
        assert text.count(f"Earlier stage {n}:") == 1, f"earlier stage {n} is split"
        _, page = _page_with(shown, f"Earlier stage {n}:")
        block = page.text().split(f"Earlier stage {n}:", 1)[1]
        for label in ("Stage", "Raised on", "Response due", "Addressed to", "Outcome"):
            assert label in block, f"earlier stage {n} has no {label} row on its page"


def test_the_due_date_and_the_overall_target_say_which_binds(tmp_path: Path) -> None:
    _docx, pdf = write_next_stage(
        stage_three(), NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(stage_three())
    )
    text = " ".join(p.text() for p in pages(pdf))
    assert "Your response is due by 19 November 2025: 5 working days from 12 November 2025." in text
    assert "This is the date you must respond by." in text
    assert (
        "Overall target (not your deadline) 24 November 2025: the procedure aims to settle" in text
    )
    assert "of its start on 3 November 2025." in text


def test_final_record_rows_are_never_slivers(tmp_path: Path) -> None:
    """Empty action rows were drawn 5 pt high: every row of the action table is a line of
    text high, and there are only the agreed actions."""
    plan = (Action("Hold the review", dt.date(2025, 11, 20), "Ifan Jenkins"),)
    answer = Respond(dt.date(2025, 11, 12), True, "Agreed.", "Sam Okafor", actions=plan)
    resolved = apply(stage_two(), answer, NELINCS, SETTINGS.calendar).challenge
    _docx, pdf = write_final_record(resolved, NELINCS, SETTINGS, tmp_path, today=TODAY)
    shown = pages(pdf)
    number, page = _page_with(shown, "7. Recommended action")
    heading = next(w for w in page.words if w.text == "Recommended")
    after = [w for w in page.words if w.text == "8." and w.y0 > heading.y0]
    bottom = after[0].y0 - 10 if after else page.height - 60  # above the next table
    drawn = raster(pdf, number, DPI)
    column = round((page.width - 60) * POINT)  # inside the table, right of any text
    rules = drawn.rules_down(column, round(heading.y1 * POINT), round(bottom * POINT))
    heights = [(b - a) / POINT for a, b in itertools.pairwise(rules)]
    assert heights, "no action table rows found"
    assert min(heights) >= 12, f"rows {heights} pt high"
    assert len(heights) <= 3, f"{len(heights)} rows for one agreed action"
