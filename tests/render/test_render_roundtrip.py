"""A form formflow writes, filled in and dropped back, reads as the same challenge plus the
new entries: Word with tags, Word after LibreOffice (tags gone), and the fillable PDF."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader, PdfWriter
from render_fixtures import NELINCS, SETTINGS, TODAY, assessed, stage_two, strip_tags

from formflow.core.record import Action, Challenge, Response
from formflow.intake import read_form
from formflow.policy_catalogue import built_in
from formflow.render import write_form, write_next_stage

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"

RESPONSE = Response(
    "Plan reviewed at a meeting on 12/11.", dt.date(2025, 11, 12), "Sam Okafor", True
)
ANSWERED_ON = RESPONSE.date
"""The day the filled form comes back: a response is never dated after it arrives."""
NEW_ACTION = Action("Hold the review", dt.date(2025, 11, 20), "Sam Okafor")
TEXT = {
    "response_text": RESPONSE.text,
    "response_by": RESPONSE.by,
    "response_date": "12/11/2025",
    "action_1": NEW_ACTION.action,
    "action_1_by_when": "20/11/2025",
    "action_1_by_whom": NEW_ACTION.by_whom,
}
TICKED = ("response_resolved",)


def fill_docx(path: Path) -> None:
    """Set control contents with lxml, as Word does when a person types."""
    import zipfile

    source = zipfile.ZipFile(path)
    root = etree.fromstring(source.read("word/document.xml"))
    for sdt in root.iter(f"{{{W}}}sdt"):
        tag = sdt.find(f"{{{W}}}sdtPr/{{{W}}}tag")
        name = tag.get(f"{{{W}}}val") if tag is not None else None
        texts = list(sdt.iter(f"{{{W}}}t"))
        if name in TEXT:
            texts[0].text = TEXT[name]
        elif name in TICKED:
            sdt.find(f".//{{{W14}}}checked").set(f"{{{W14}}}val", "1")
            texts[0].text = "☒"
    data = {i.filename: source.read(i.filename) for i in source.infolist()}
    data["word/document.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    with zipfile.ZipFile(path, "w") as out:
        for name, content in data.items():
            out.writestr(name, content)


def fill_pdf(path: Path) -> None:
    writer = PdfWriter(clone_from=path)
    values: dict[str, str] = {**TEXT, **{name: "/on" for name in TICKED}}
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    writer.write(path)


def as_read(challenge: Challenge) -> Challenge:
    """What a form of ``challenge`` reads back as: its Date of Notification is the day the
    challenge was notified, never the day its current stage was raised."""
    return replace(challenge, date_of_notification=challenge.notified_on)


def expected() -> object:
    return as_read(replace(stage_two(), response=RESPONSE, actions=(NEW_ACTION,)))


def test_next_stage_docx_reads_back_as_the_same_challenge(tmp_path: Path) -> None:
    docx, _ = write_next_stage(
        stage_two(), NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(stage_two())
    )
    assert read_form(docx, policies=built_in(), settings=SETTINGS, today=TODAY) == as_read(
        stage_two()
    )
    fill_docx(docx)
    assert read_form(docx, policies=built_in(), settings=SETTINGS, today=ANSWERED_ON) == expected()


def test_next_stage_docx_reads_back_after_libreoffice_drops_the_tags(tmp_path: Path) -> None:
    docx, _ = write_next_stage(
        stage_two(), NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(stage_two())
    )
    fill_docx(docx)
    stripped = strip_tags(docx, tmp_path / "stripped.docx")
    assert b"w:tag " not in stripped.read_bytes()
    assert (
        read_form(stripped, policies=built_in(), settings=SETTINGS, today=ANSWERED_ON) == expected()
    )


def test_next_stage_pdf_reads_back_through_its_fields(tmp_path: Path) -> None:
    _, pdf = write_next_stage(
        stage_two(), NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(stage_two())
    )
    assert read_form(pdf, policies=built_in(), settings=SETTINGS, today=TODAY) == as_read(
        stage_two()
    )
    fill_pdf(pdf)
    assert read_form(pdf, policies=built_in(), settings=SETTINGS, today=ANSWERED_ON) == expected()


@pytest.mark.parametrize("as_pdf", [False, True])
def test_prefilled_form_reads_back(tmp_path: Path, as_pdf: bool) -> None:
    challenge = stage_two()
    path = tmp_path / ("form.pdf" if as_pdf else "form.docx")
    write_form(challenge, NELINCS, SETTINGS, path, today=TODAY, pdf=as_pdf)
    assert read_form(path, policies=built_in(), settings=SETTINGS, today=TODAY) == as_read(
        challenge
    )


def test_pdf_checkbox_on_state_is_weasyprints_own(tmp_path: Path) -> None:
    _, pdf = write_next_stage(
        stage_two(), NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(stage_two())
    )
    fields = PdfReader(pdf).get_fields() or {}
    assert fields["stage_2"]["/V"] == "/on"
    assert fields["stage_1"]["/V"] == "/Off"
    assert fields["response_resolved"]["/_States_"] == ["/on", "/Off"]
