"""Fictional filled two-page challenge forms for the benchmark, made once and varied cheaply.

``write_form`` renders one Word form (and one fillable PDF) whose concern carries a
marker; each further form is the same package with the marker in ``word/document.xml``
replaced by its number (about 10 ms, against about 100 ms for a render). Every variant
has a blank reference (so the register assigns a new one) and different bytes (so the
duplicate check, by SHA-256, never fires): each dropped form is a new challenge.
Every name here is invented.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from formflow.config import Settings
from formflow.core.record import Challenge, Child, LegalStatus, RaisedBy, Role, Stage
from formflow.policy_catalogue import built_in
from formflow.render import write_form

MARKER = b"BENCH000000"
TODAY = dt.date.today()


def challenge(reference: str | None = None, marker: str = MARKER.decode()) -> Challenge:
    """A fictional stage 1 challenge for a child in care, notified today."""
    return Challenge(
        reference=reference,
        policy="nelincs",
        date_of_notification=TODAY,
        raised_by=RaisedBy("Morwenna Pentreath", Role.IRO),
        child=Child("Tegan Example", dt.date(2014, 2, 9), "LCS-000123", LegalStatus.CHILD_IN_CARE),
        stage=Stage.ONE,
        concern=(
            f"Contact plan {marker} has not been reviewed since the placement move in "
            "September; the child's views on family time are not recorded."
        ),
        social_worker="Ifan Jenkins",
        team="Children in Care Team 2",
        team_manager="Priya Raman",
        themes=frozenset({"drift_delay_planning", "management_oversight"}),
        # Every variant is for the same fictional child, so each is ticked as a separate
        # challenge (otherwise the second would be refused as a likely duplicate).
        separate_challenge=reference is None,
    )


def make_template(folder: Path, *, pdf: bool = False) -> Path:
    """Render the form once (docx, or fillable PDF) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("template.pdf" if pdf else "template.docx")
    return write_form(challenge(), built_in()("nelincs"), Settings(), path, today=TODAY, pdf=pdf)


class Variants:
    """The template's bytes with the marker replaced by a number: a new challenge each."""

    def __init__(self, template: Path) -> None:
        with zipfile.ZipFile(template) as package:
            self.entries = [(info, package.read(info.filename)) for info in package.infolist()]
        document = dict((i.filename, d) for i, d in self.entries)["word/document.xml"]
        if document.count(MARKER) != 1:
            raise RuntimeError("the marker is not in word/document.xml exactly once")

    def data(self, n: int) -> bytes:
        marker = f"BENCH{n:06d}".encode()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
            for info, data in self.entries:
                if info.filename == "word/document.xml":
                    data = data.replace(MARKER, marker)
                package.writestr(info, data)
        return buffer.getvalue()

    def write(self, n: int, path: Path) -> Path:
        path.write_bytes(self.data(n))
        return path
