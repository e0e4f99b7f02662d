"""Fillable PDFs: AcroForm fields named by tag; a checkbox is ticked unless it is /Off."""

from __future__ import annotations

import io
from functools import cache

import pytest
from form_builders import pdf_form
from intake_cases import EXPECTED_OFFICIAL, OFFICIAL, parse
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject

from formflow import form
from formflow.errors import RejectedForm
from formflow.intake.catalogue import main_fields
from formflow.intake.pdf_reader import NO_FIELDS


@cache
def official_pdf() -> bytes:
    actions = [f for row in range(1, form.MAX_ACTIONS + 1) for f in form.action_fields(row)]
    return pdf_form(OFFICIAL, [*main_fields(), *actions])


def with_state(data: bytes, tag: str, state: str | None) -> bytes:
    """The PDF with checkbox ``tag`` set to ``state`` (None: no value at all)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    for page in writer.pages:
        for annotation in page.get("/Annots", []):
            widget = annotation.get_object()
            if widget.get("/T") != tag:
                continue
            for key in ("/V", "/AS"):
                if state is None:
                    widget.pop(key, None)
                else:
                    widget[NameObject(key)] = NameObject(state)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_weasyprint_fillable_pdf_reads_to_the_expected_record() -> None:
    assert parse(official_pdf(), ".pdf").to_dict() == EXPECTED_OFFICIAL.to_dict()


@pytest.mark.parametrize(
    ("state", "ticked"),
    [
        ("/on", True),
        ("/Yes", True),
        ("/On", True),
        ("/1", True),
        ("/Ticked", True),
        ("/Off", False),
        (None, False),
    ],
)
def test_checkbox_is_ticked_for_any_state_but_off(state: str | None, ticked: bool) -> None:
    challenge = parse(with_state(official_pdf(), "theme_safeguarding", state), ".pdf")
    assert ("safeguarding" in challenge.themes) is ticked


def test_flattened_pdf_has_no_fields_to_read() -> None:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(RejectedForm) as caught:
        parse(out.getvalue(), ".pdf")
    assert caught.value.reasons == [NO_FIELDS]
