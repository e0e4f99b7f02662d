"""Every document kind formflow writes, checked for what disabled readers need (the Public
Sector Bodies Accessibility Regulations 2018): tagged PDF/UA-1 PDFs with a title, the
language and a reading order; Word files with real headings, header rows, a title and a
language. Checked with a real PDF toolchain: pikepdf (qpdf), poppler's pdfinfo and
pdfplumber's reading of the structure tree."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import docx
import pikepdf
import pytest
from lxml import etree
from pdf_checks import pdfinfo, text_in_tag_order, untagged_text
from render_fixtures import NELINCS, SETTINGS, TODAY, assessed, stage_two

from formflow.core.engine import Respond, apply
from formflow.core.record import Action, Closure, ClosureKind
from formflow.form import BODY_FIELDS, HEADER_FIELDS
from formflow.render import (
    write_cafcass_pack,
    write_closure_note,
    write_final_record,
    write_form,
    write_next_stage,
)
from formflow.resources import templates_dir

REFERENCE = "PC-2025-7KQ3XM"
TITLES = {
    "blank": "Challenge and resolution form",
    "next-stage": f"Stage 2 challenge form {REFERENCE}",
    "final": f"Final record {REFERENCE}",
    "closure": f"Challenge closed: not resolved {REFERENCE}",
    "checklist": f"CAFCASS referral pack: checklist {REFERENCE}",
    "report": f"IRO report to CAFCASS legal (draft) {REFERENCE}",
    "bundle": f"CAFCASS referral bundle {REFERENCE}",
}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Each document kind, as .pdf and (but the bundle) .docx."""
    out = tmp_path_factory.mktemp("documents")
    plan = (Action("Hold the review", dt.date(2025, 11, 20), "Ifan Jenkins"),)
    answer = Respond(dt.date(2025, 11, 12), True, "Agreed.", "Sam Okafor", actions=plan)
    resolved = apply(stage_two(), answer, NELINCS, SETTINGS.calendar).challenge
    closed = replace(
        stage_two(),
        closure=Closure(dt.date(2025, 12, 1), ClosureKind.CLOSED_UNRESOLVED, "Not resolved."),
    )
    folder = out / "supplied"
    folder.mkdir()
    write_form(None, NELINCS, SETTINGS, folder / "1 Care Order.pdf", today=TODAY, pdf=True)
    written = {
        "next-stage": write_next_stage(
            stage_two(), NELINCS, SETTINGS, out / "n", today=TODAY, assessment=assessed(stage_two())
        ),
        "final": write_final_record(resolved, NELINCS, SETTINGS, out / "f", today=TODAY),
        "closure": write_closure_note(closed, NELINCS, SETTINGS, out / "c", today=TODAY),
        "checklist": write_cafcass_pack(
            stage_two(), NELINCS, SETTINGS, out / "k", today=TODAY, supplied=folder
        ),
    }
    kinds: dict[str, dict[str, Path]] = {
        "blank": {
            ".pdf": templates_dir() / "challenge-form.pdf",
            ".docx": templates_dir() / "challenge-form.docx",
        }
    }
    for kind, paths in written.items():
        for path in paths:
            if "bundle" in path.name:
                kinds["bundle"] = {".pdf": path}
            elif "iro-report" in path.name:
                kinds["report"] = {".docx": path}
            else:
                kinds.setdefault(kind, {})[path.suffix] = path
    return kinds


PDF_KINDS = ["blank", "next-stage", "final", "closure", "checklist", "bundle"]
DOCX_KINDS = ["blank", "next-stage", "final", "closure", "checklist", "report"]


@pytest.mark.parametrize("kind", PDF_KINDS)
def test_every_pdf_is_tagged_pdf_ua_with_title_and_language(
    documents: dict[str, dict[str, Path]], kind: str
) -> None:
    path = documents[kind][".pdf"]
    with pikepdf.open(path) as pdf:
        assert bool(pdf.Root.MarkInfo.Marked) is True
        tree = pdf.Root.StructTreeRoot
        assert len(tree.K) >= 1 and "/ParentTree" in tree
        assert str(pdf.Root.Lang) == "en-GB"
        assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle) is True
        metadata = pdf.open_metadata()
        assert metadata.get("pdfuaid:part") == "1"
        assert metadata.get("dc:title") == TITLES[kind]
        for page in pdf.pages:
            if "/Annots" in page.obj:
                assert page.obj.Tabs == pikepdf.Name.S  # fields in the order of the tags
    info = pdfinfo(path)
    assert info["Tagged"] == "yes"
    assert info["Title"] == TITLES[kind]
    assert untagged_text(path) == "", "text neither tagged nor marked as an artifact"


@pytest.mark.parametrize("kind", ["blank", "next-stage"])
def test_every_fillable_field_has_its_printed_label_as_its_name_and_a_tag(
    documents: dict[str, dict[str, Path]], kind: str
) -> None:
    path = documents[kind][".pdf"]
    printed = text_in_tag_order(path)
    with pikepdf.open(path) as pdf:
        forms = _form_elements(pdf)
        widgets = [a for p in pdf.pages for a in p.obj.get("/Annots", []) if a.Subtype == "/Widget"]
        assert len(widgets) >= 70
        for widget in widgets:
            name = str(widget.get("/TU", ""))
            # An action's cell is named by its row and column headings ("Action 2, by when").
            parts = [p.strip().lower() for p in name.split(",")]
            assert name and all(p in printed.lower() for p in parts), (
                f"{widget.T}: no accessible name from its label"
            )
            assert int(widget.StructParent) in forms, f"{widget.T} is not in the tags"


@pytest.mark.parametrize("kind", ["next-stage", "final"])
def test_each_agreed_action_in_a_pdf_is_a_numbered_row_of_a_real_table(
    documents: dict[str, dict[str, Path]], kind: str
) -> None:
    """A screen reader announces which action a cell belongs to: each action a table row
    whose first cell is a header numbering it, and each field named by its action."""
    with pikepdf.open(documents[kind][".pdf"]) as pdf:
        rows = _elements(pdf.Root.StructTreeRoot, "/TR")
        cells = [[str(k.S) for k in row.K if isinstance(k, pikepdf.Dictionary)] for row in rows]
        assert ["/TH", "/TD", "/TD", "/TD"] in cells
        fields = {str(f.T): str(f.get("/TU", "")) for f in pdf.Root.AcroForm.Fields}
    assert fields["action_1"] == "Action 1"
    assert fields["action_1_by_when"] == "Action 1, by when"
    if kind == "next-stage":
        assert fields["history_1_action_1_by_whom"] == "Earlier stage 1, action 1, by whom"
    printed = text_in_tag_order(documents[kind][".pdf"])
    assert "Action 1" in printed and "No." in printed


@pytest.mark.parametrize("kind", ["next-stage", "final"])
def test_a_filled_field_is_in_the_tags_once_as_its_field(
    documents: dict[str, dict[str, Path]], kind: str
) -> None:
    """A reader hears a filled one-line field's value from the field itself. WeasyPrint's
    form stylesheet also lays the value out as hidden text, which the tags held as a Span
    beside the field over nothing drawn (and cost layout time): formflow.css leaves it out."""
    with pikepdf.open(documents[kind][".pdf"]) as pdf:
        beside = _beside_one_line_fields(pdf)
    assert {"child_name", "history_1_stage"} <= beside.keys()
    assert all(kinds == ["/Form"] for kinds in beside.values()), beside


MULTILINE = 1 << 12
"""A text field's Multiline flag (/Ff bit 13): WeasyPrint's textarea."""


def _beside_one_line_fields(pdf: pikepdf.Pdf) -> dict[str, list[str]]:
    """For each one-line text field, by name: the kinds of the structure elements that
    share its parent, its own /Form included."""
    found = {}
    for parent in _elements(pdf.Root.StructTreeRoot, "/NonStruct"):
        kinds = [str(k.S) for k in parent.K if isinstance(k, pikepdf.Dictionary)]
        for form in (k for k in parent.K if isinstance(k, pikepdf.Dictionary)):
            if form.S != "/Form":
                continue
            widget = next(k.Obj for k in form.K if "/Obj" in k)
            if widget.FT == "/Tx" and not int(widget.get("/Ff", 0)) & MULTILINE:
                found[str(widget.T)] = kinds
    return found


def _elements(node: pikepdf.Object, kind: str) -> list[pikepdf.Object]:
    """Every structure element of ``kind`` below ``node``."""
    found, pending = [], [node]
    while pending:
        element = pending.pop()
        kids = element.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                if kind == kid.S:
                    found.append(kid)
                pending.append(kid)
    return found


def _form_elements(pdf: pikepdf.Pdf) -> set[int]:
    """The structure keys of the annotations a /Form element holds."""
    nums = pdf.Root.StructTreeRoot.ParentTree.Nums
    keys = set()
    for n in range(0, len(nums), 2):
        value = nums[n + 1]
        if isinstance(value, pikepdf.Dictionary) and value.get("/S") == "/Form":
            keys.add(int(nums[n]))
    return keys


def _in_order(text: str, parts: list[str]) -> None:
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} is not read after {parts[max(parts.index(part) - 1, 0)]!r}"
        at = found + len(part)


@pytest.mark.parametrize("kind", ["next-stage", "final"])
def test_the_form_is_read_in_the_forms_order(
    documents: dict[str, dict[str, Path]], kind: str
) -> None:
    """Text in tag order: the title, the summary, then the sections and their labels in
    the order of the form (formflow.form), the earlier stages before the response."""
    text = text_in_tag_order(documents[kind][".pdf"])
    sections = [
        "CHALLENGE AND RESOLUTION FORM",
        "1. About this challenge",
        *(f.label for f in HEADER_FIELDS[:3]),
        "2. The child",
        "3. Stage of escalation",
        "4. Informal stage",
        "5. The concern",
        *(f.label for f in BODY_FIELDS),
        "6. Themes and issues",
        "What has happened so far",
        "Earlier stage 1:",
        "7. Recommended action",
        "8. Response to the challenge",
        "9. Final comments",
    ]
    _in_order(text, sections)
    summary = "Your response is due by" if kind == "next-stage" else "Resolved at"
    _in_order(text, ["CHALLENGE AND RESOLUTION FORM", summary, "1. About this challenge"])


def test_the_bundle_is_read_index_first_then_each_item_as_bundled(
    documents: dict[str, dict[str, Path]],
) -> None:
    path = documents["bundle"][".pdf"]
    _in_order(
        text_in_tag_order(path), ["CAFCASS REFERRAL BUNDLE", "Contents", "1. About this challenge"]
    )
    with pikepdf.open(path) as pdf:
        parts = [k for k in pdf.Root.StructTreeRoot.K[0].K if k.get("/S") == "/Part"]
        assert [str(p.T) for p in parts] == [
            "Bundled item 1. Final Care Order and final Care Plan filed in proceedings"
        ]
        assert [str(f.T) for f in parts[0].K] == ["1 Care Order.pdf"]


def _docx_xml(path: Path, part: str) -> str:
    return zipfile.ZipFile(path).read(part).decode("utf-8")


@pytest.mark.parametrize("kind", DOCX_KINDS)
def test_every_word_file_has_headings_header_rows_title_and_language(
    documents: dict[str, dict[str, Path]], kind: str
) -> None:
    path = documents[kind][".docx"]
    document = docx.Document(str(path))
    assert document.core_properties.title == TITLES[kind]
    assert document.core_properties.language == "en-GB"
    body = _docx_xml(path, "word/document.xml")
    assert body.count('w:pStyle w:val="Heading1"') == 1
    assert 'w:pStyle w:val="Heading2"' in body
    tables = re.findall(r"<w:tbl>.*?</w:tbl>", body, re.DOTALL)
    headed = [t for t in tables if "<w:tblHeader/>" in t]
    assert headed, "no table has a header row"
    styles = _docx_xml(path, "word/styles.xml")
    assert re.findall(r'<w:lang w:val="([^"]+)"', styles) == ["en-GB"]
    for picture in re.findall(r"<wp:docPr [^>]*>", body):
        assert re.search(r'descr="[^"]+"', picture), f"a picture without alt text: {picture}"


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.mark.parametrize("kind", DOCX_KINDS)
def test_every_word_table_starts_with_a_header_row_of_column_headings(
    documents: dict[str, dict[str, Path]], kind: str
) -> None:
    """What Word's accessibility checker asks: each table's first row marked as its header
    row (w:tblHeader), holding the headings of its columns; no table used for a box."""
    body = etree.fromstring(_docx_xml(documents[kind][".docx"], "word/document.xml").encode())
    headings = []
    for table in body.iter(f"{W}tbl"):
        first = table.find(f"{W}tr")
        assert first is not None
        assert first.find(f"{W}trPr/{W}tblHeader") is not None, _row_text(first)
        headings.append([_row_text(c) for c in first.findall(f"{W}tc")])
        assert all(headings[-1]), headings[-1]
    assert headings
    if kind != "blank":  # the summary of labels and values, with its column headings
        assert ["Item", "Details"] in headings


def _row_text(element: etree._Element) -> str:
    return "".join(element.itertext())
