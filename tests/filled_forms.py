"""Forms filled in as a person fills them in Word, for tests anywhere under tests/."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"


def answer(form: Path, target: Path, on: dt.date) -> Path:
    """The manager's answer typed into the form's controls, as Word saves it."""
    typed = {
        "response_text": "We do not agree that the plan has drifted.",
        "response_by": "Priya Raman",
        "response_date": on.strftime("%d/%m/%Y"),
    }
    with zipfile.ZipFile(form) as source:
        parts = {i.filename: source.read(i.filename) for i in source.infolist()}
    root = etree.fromstring(parts["word/document.xml"])
    for sdt in root.iter(W + "sdt"):
        tag = sdt.find(f"{W}sdtPr/{W}tag")
        name = tag.get(W + "val") if tag is not None else None
        texts = list(sdt.iter(W + "t"))
        if name in typed:
            texts[0].text = typed[name]
        elif name == "response_not_resolved":
            sdt.find(f".//{W14}checked").set(W14 + "val", "1")  # type: ignore[union-attr]
            texts[0].text = "☒"
    parts["word/document.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    with zipfile.ZipFile(target, "w") as out:
        for name, content in parts.items():
            out.writestr(name, content)
    return target
