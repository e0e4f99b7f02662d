"""A person filling in a form formflow wrote: typed into Word's content controls (as Word
saves them) or into the PDF's fields (as a PDF reader saves them). Fictional text only."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Collection, Mapping
from pathlib import Path

from lxml import etree
from pypdf import PdfWriter

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"


def fill_docx(
    form: Path, target: Path, text: Mapping[str, str], ticked: Collection[str] = ()
) -> Path:
    """``form`` with the controls tagged in ``text`` typed over and those in ``ticked``
    ticked, saved as ``target``."""
    with zipfile.ZipFile(form) as source:
        parts = {i.filename: source.read(i.filename) for i in source.infolist()}
    root = etree.fromstring(parts["word/document.xml"])
    for sdt in root.iter(W + "sdt"):
        tag = sdt.find(f"{W}sdtPr/{W}tag")
        name = tag.get(W + "val") if tag is not None else None
        texts = list(sdt.iter(W + "t"))
        if name in text:
            texts[0].text = text[name]
            for extra in texts[1:]:
                extra.text = ""
        elif name in ticked:
            sdt.find(f".//{W14}checked").set(W14 + "val", "1")  # type: ignore[union-attr]
            texts[0].text = "☒"
    parts["word/document.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    with zipfile.ZipFile(target, "w") as out:
        for name, content in parts.items():
            out.writestr(name, content)
    return target


def fill_pdf(
    form: Path, target: Path, text: Mapping[str, str], ticked: Collection[str] = ()
) -> Path:
    """The fillable PDF with fields typed into and boxes ticked, saved as ``target``."""
    writer = PdfWriter(clone_from=form)
    values: dict[str, str] = {**text, **{name: "/on" for name in ticked}}
    for page in writer.pages:
        writer.update_page_form_field_values(page, values, auto_regenerate=False)
    writer.write(target)
    return target


def answer(form: Path, target: Path, on: dt.date) -> Path:
    """The manager's answer typed into the form's controls, as Word saves it."""
    typed = {
        "response_text": "We do not agree that the plan has drifted.",
        "response_by": "Priya Raman",
        "response_date": on.strftime("%d/%m/%Y"),
    }
    return fill_docx(form, target, typed, ticked=("response_not_resolved",))
