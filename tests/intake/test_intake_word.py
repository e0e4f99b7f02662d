"""Word forms: content controls, legacy form fields, labels, and the seed 003 layout."""

from __future__ import annotations

import io
import zipfile

import pytest
from form_builders import (
    Style,
    checkbox_sdt,
    legacy_checkbox,
    official_form,
    seed_form,
    strip_tags,
    swap_checkbox_glyphs,
)
from intake_cases import (
    DATE_STYLES,
    EXPECTED_NEXT_STAGE,
    EXPECTED_OFFICIAL,
    EXPECTED_SEED,
    NEXT_STAGE,
    OFFICIAL,
    TEMPLATE_SYNTAX,
    parse,
    seed_values,
)
from lxml import etree

from formflow.form import Field
from formflow.intake.docx_reader import W14, W, control_value, legacy_checked


@pytest.mark.parametrize("style", list(Style))
def test_official_form_reads_in_every_style(style: Style) -> None:
    assert parse(official_form(OFFICIAL, style)).to_dict() == EXPECTED_OFFICIAL.to_dict()


@pytest.mark.parametrize("style", list(Style))
def test_official_form_reads_by_labels_once_libreoffice_drops_the_tags(style: Style) -> None:
    stripped = strip_tags(official_form(OFFICIAL, style))
    assert b"w:tag " not in stripped
    assert parse(stripped).to_dict() == EXPECTED_OFFICIAL.to_dict()


def _hidden(item: Field) -> str:
    return "·"


@pytest.mark.parametrize("style", [Style.CONTROLS, Style.LEGACY])
def test_tags_and_legacy_names_are_read_without_any_label(style: Style) -> None:
    data = official_form(OFFICIAL, style, label=_hidden)
    assert parse(data).to_dict() == EXPECTED_OFFICIAL.to_dict()


def _document(data: bytes) -> etree._Element:
    return etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml"))


@pytest.mark.parametrize(
    ("placement", "path"),
    [
        ("body", "w:body/w:sdt"),
        ("inline in a paragraph", "//w:p/w:sdt"),
        ("around a table", "//w:sdt/w:sdtContent/w:tbl"),
        ("around a row", "//w:tbl/w:sdt/w:sdtContent/w:tr"),
        ("inside a cell", "//w:tc/w:sdt"),
    ],
)
def test_official_fixture_uses_every_content_control_placement(placement: str, path: str) -> None:
    root = _document(official_form(OFFICIAL, Style.CONTROLS, label=_hidden))
    namespaces = {"w": W[1:-1]}
    assert root.xpath(path, namespaces=namespaces), placement


@pytest.mark.parametrize("stripped", [False, True])
def test_checkbox_control_state_wins_over_its_glyph(stripped: bool) -> None:
    data = swap_checkbox_glyphs(official_form(OFFICIAL, Style.CONTROLS))
    data = strip_tags(data) if stripped else data
    assert parse(data).to_dict() == EXPECTED_OFFICIAL.to_dict()


@pytest.mark.parametrize(
    ("value", "ticked"), [("1", True), ("true", True), ("0", False), ("false", False)]
)
def test_checkbox_control_values(value: str, ticked: bool) -> None:
    box = checkbox_sdt("stage_1", ticked=True)
    box.find(f".//{W14}checked").set(f"{W14}val", value)
    props = box.find(f"{W}sdtPr")
    assert control_value(box, props) is ticked


@pytest.mark.parametrize(
    ("checked", "ticked"),
    [("", True), ("1", True), ("true", True), ("0", False), ("false", False), (None, False)],
)
def test_legacy_checkbox_values(checked: str | None, ticked: bool) -> None:
    begin = legacy_checkbox("stage_1", checked)[0]
    assert legacy_checked(begin.find(f".//{W}checkBox")) is ticked


@pytest.mark.parametrize("stripped", [False, True])
def test_next_stage_form_reads_earlier_stages(stripped: bool) -> None:
    data = official_form(NEXT_STAGE, Style.CONTROLS, history=1)
    data = strip_tags(data) if stripped else data
    assert parse(data).to_dict() == EXPECTED_NEXT_STAGE.to_dict()


def test_template_syntax_typed_into_a_field_is_kept_verbatim() -> None:
    assert parse(official_form(OFFICIAL, Style.PLAIN)).outcome_impact == TEMPLATE_SYNTAX


LOOSE_LABELS = {
    "date_of_notification": "Date of notifcation:",
    "child_name": "NAME OF CHILD",
    "social_worker": "Social  worker :",
    "final_comments": "Child Protection / IRO Service Manager's final comments",
    "outcome_impact": "Outcome and impact for the child or young person",
}


def _loose(item: Field) -> str:
    return LOOSE_LABELS.get(item.tag, item.label)


def test_labels_match_despite_case_punctuation_and_small_wording_changes() -> None:
    data = official_form(OFFICIAL, Style.PLAIN, label=_loose)
    assert parse(data).to_dict() == EXPECTED_OFFICIAL.to_dict()


TICK_STYLES = [("☒", "☐"), ("☑", ""), ("✓", ""), ("✔", ""), ("X", ""), ("x", "☐"), ("Yes", "No")]


@pytest.mark.parametrize(("tick", "untick"), TICK_STYLES)
@pytest.mark.parametrize("merged", [False, True], ids=["plain cells", "merged cells"])
def test_seed_layout_reads_each_tick_style(tick: str, untick: str, merged: bool) -> None:
    data = seed_form(seed_values(DATE_STYLES["03/11/2025"]), tick, untick, merged)
    assert parse(data).to_dict() == EXPECTED_SEED.to_dict()


@pytest.mark.parametrize("style", list(DATE_STYLES))
def test_seed_layout_reads_each_date_style(style: str) -> None:
    data = seed_form(seed_values(DATE_STYLES[style]))
    assert parse(data).to_dict() == EXPECTED_SEED.to_dict()
