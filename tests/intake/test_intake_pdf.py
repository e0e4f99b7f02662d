"""Fillable PDFs: AcroForm fields named by tag; a checkbox is ticked unless it is /Off."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
from collections.abc import Callable
from functools import cache
from typing import Any

import pikepdf
import pytest
from form_builders import pdf_form
from intake_cases import EXPECTED_OFFICIAL, OFFICIAL, parse
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject

from formflow import form
from formflow.errors import RejectedForm
from formflow.intake.catalogue import main_fields
from formflow.intake.pdf_reader import ENCRYPTED, NO_FIELDS


@cache
def official_pdf() -> bytes:
    actions = [f for row in range(1, form.MAX_ACTIONS + 1) for f in form.action_fields(row)]
    return pdf_form(OFFICIAL, [*main_fields(), *actions])


def with_state(
    data: bytes, tag: str, state: str | None, keys: tuple[str, ...] = ("/V", "/AS")
) -> bytes:
    """The PDF with checkbox ``tag``'s ``keys`` set to ``state`` (None: no value at all)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    for page in writer.pages:
        for annotation in page.get("/Annots", []):
            widget = annotation.get_object()
            if widget.get("/T") != tag:
                continue
            for key in keys:
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


def test_checkbox_with_no_value_is_read_from_the_state_its_widget_shows() -> None:
    no_value = with_state(official_pdf(), "theme_safeguarding", None, keys=("/V",))
    shown = with_state(no_value, "theme_safeguarding", "/on", keys=("/AS",))
    assert "safeguarding" in parse(shown, ".pdf").themes
    hidden = with_state(no_value, "theme_safeguarding", "/Off", keys=("/AS",))
    assert "safeguarding" not in parse(hidden, ".pdf").themes


def edited(data: bytes, edit: Callable[[pikepdf.Pdf], None], **save: Any) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf, warnings.catch_warnings():
        # pikepdf warns when widgets are left out of /AcroForm: here that is the point.
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
        edit(pdf)
        out = io.BytesIO()
        pdf.save(out, **save)
        return out.getvalue()


def widget(pdf: pikepdf.Pdf, tag: str) -> pikepdf.Dictionary:
    return next(w for page in pdf.pages for w in page.obj["/Annots"] if w.get("/T") == tag)


def test_a_form_whose_catalogue_lost_its_acroform_is_read_from_its_widgets() -> None:
    def drop_acroform(pdf: pikepdf.Pdf) -> None:
        del pdf.Root["/AcroForm"]

    assert parse(edited(official_pdf(), drop_acroform), ".pdf") == EXPECTED_OFFICIAL


def test_a_field_nested_in_groups_is_named_by_its_own_name_and_inherits_its_value() -> None:
    """Acrobat nests fields (page1.child_name) and keeps the value on the parent field
    whose widgets are its kids; the widget itself has no name, type or value."""

    def nest(pdf: pikepdf.Pdf) -> None:
        kid = widget(pdf, "child_name")
        field = pdf.make_indirect(
            pikepdf.Dictionary(T="child_name", FT=kid.FT, V=kid.V, Kids=pikepdf.Array([kid]))
        )
        group = pdf.make_indirect(pikepdf.Dictionary(T="page1", Kids=pikepdf.Array([field])))
        field.Parent = group
        kid.Parent = field
        for key in ("/T", "/FT", "/V"):
            del kid[key]
        fields = pdf.Root.AcroForm.Fields
        fields.append(group)
        del fields[next(i for i, f in enumerate(fields) if f.objgen == kid.objgen)]

    assert parse(edited(official_pdf(), nest), ".pdf") == EXPECTED_OFFICIAL


@pytest.mark.parametrize("revision", [4, 6], ids=["AES-128", "AES-256"])
def test_an_aes_encrypted_form_that_opens_without_a_password_is_read(revision: int) -> None:
    """Restricting printing or copying encrypts a PDF under an empty open password."""
    lock = pikepdf.Encryption(owner="business-support", user="", R=revision)
    data = edited(official_pdf(), lambda pdf: None, encryption=lock)
    assert parse(data, ".pdf") == EXPECTED_OFFICIAL


def test_an_aes_encrypted_form_that_needs_a_password_is_refused_as_such() -> None:
    lock = pikepdf.Encryption(owner="business-support", user="open-sesame", R=6)
    with pytest.raises(RejectedForm) as caught:
        parse(edited(official_pdf(), lambda pdf: None, encryption=lock), ".pdf")
    assert caught.value.reasons == [ENCRYPTED]


def test_flattened_pdf_has_no_fields_to_read() -> None:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(RejectedForm) as caught:
        parse(out.getvalue(), ".pdf")
    assert caught.value.reasons == [NO_FIELDS]


def test_only_the_reading_child_loads_qpdf() -> None:
    """The service never opens a PDF form itself; qpdf would cost it 5 MB for nothing."""
    loaded = (
        "import sys, formflow.cli, formflow.intake, formflow.pipeline, formflow.render; "
        "print('pikepdf' in sys.modules)"
    )
    found = subprocess.run([sys.executable, "-c", loaded], capture_output=True, check=True)
    assert found.stdout.strip() == b"False"
    assert parse(official_pdf(), ".pdf") == EXPECTED_OFFICIAL  # and the child still reads
