"""A child's own record: the bundle holds every challenge about them, exactly their
files and nobody else's, and an index naming everyone else the record names."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader
from service_support import CHILD_NAME, cli, on_both_engines, open_register, raise_and_withdraw

from formflow.outbox.folders import Home
from formflow.reports.subject_access import names_in

UNCLE = "Jordan Example"
OTHER_CHILD = "Rowan Sample"


@pytest.fixture
def home(tmp_path: Path) -> Home:
    """Three challenges about one child (one concern naming an uncle, one with a PDF
    document), and one about another child."""
    root = tmp_path / "home"
    with open_register(root) as register:
        for n in range(3):
            concern = (
                f"Contact with {UNCLE} has stopped." if n == 0 else f"The plan has drifted ({n})."
            )
            raise_and_withdraw(register, root, concern=concern)
        raise_and_withdraw(register, root, case="LCS-000456", name=OTHER_CHILD)
        reference = next(
            c.reference for c in register.challenges() if c.concern.startswith("Contact")
        )
        assert reference is not None
        pdf = pikepdf.Pdf.new()
        pdf.add_blank_page()
        pdf.save(Home(root).outbox / reference / f"{reference}-review-minutes.pdf")
        register.add_document(
            reference,
            "review minutes",
            f"{reference}/{reference}-review-minutes.pdf",
            dt.datetime(2025, 11, 3),
        )
    return Home(root)


def files_of(home: Home, references: set[str]) -> set[str]:
    found = set()
    for reference in references:
        for folder, kind in ((home.archive, "originals"), (home.outbox, "documents")):
            for path in (folder / reference).rglob("*"):
                if path.is_file():
                    name = path.name.split("--", 1)[1] if kind == "originals" else path.name
                    found.add(f"{reference}/{kind}/{name}")
    return found


@on_both_engines
def test_the_bundle_holds_exactly_the_childs_records_and_names_the_others(
    home: Home, tmp_path: Path
) -> None:
    out = tmp_path / "sar"
    out.mkdir()
    code, output = cli(
        home.root, "subject-access", "--case", "LCS-000123", "--out", str(out), "--by", "Ada Lovell"
    )
    assert code == 0, output
    with open_register(home.root) as register:
        mine = {c.reference for c in register.challenges() if c.child.case_number == "LCS-000123"}
        theirs = {c.reference for c in register.challenges()} - mine
        trail = [(e.reference, e.what, e.actor) for e in register.events()]
    assert len(mine) == 3 and all(r in output for r in mine)
    assert all((r, "subject access", "Ada Lovell") in trail for r in mine)
    assert not any(r == t and what == "subject access" for t in theirs for r, what, _ in trail)

    (bundle_zip,) = out.glob("*.zip")
    (bundle_pdf,) = out.glob("*.pdf")
    with zipfile.ZipFile(bundle_zip) as opened:
        entries = set(opened.namelist())
        records = "".join(opened.read(n).decode() for n in entries if n.endswith("record.json"))
    assert entries - {"bundle.pdf"} - {f"{r}/record.json" for r in mine} == files_of(home, mine)
    assert OTHER_CHILD not in records and CHILD_NAME in records

    reader = PdfReader(bundle_pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "SUBJECT ACCESS BUNDLE" in text
    assert all(r in text for r in mine) and not any(r in text for r in theirs)
    assert UNCLE in text and "to check" in text and "Ifan Jenkins" in text
    assert "review-minutes.pdf" in text and "in the zip only" in text
    assert len(reader.pages) >= 2  # the index, then the PDF document


@on_both_engines
def test_by_name_and_date_of_birth_and_only_into_a_folder_given(home: Home, tmp_path: Path) -> None:
    code, output = cli(
        home.root,
        "subject-access",
        "--name",
        "rowan  sample",
        "--date-of-birth",
        "2014-02-09",
        "--out",
        str(tmp_path / "missing"),
        "--by",
        "Ada Lovell",
    )
    assert code == 2 and "does not exist" in output
    (tmp_path / "sar").mkdir()
    code, output = cli(
        home.root,
        "subject-access",
        "--name",
        "rowan  sample",
        "--date-of-birth",
        "2014-02-09",
        "--out",
        str(tmp_path / "sar"),
        "--by",
        "Ada Lovell",
    )
    assert code == 0 and "1 challenge(s)" in output
    code, output = cli(
        home.root,
        "subject-access",
        "--case",
        "LCS-999999",
        "--out",
        str(tmp_path / "sar"),
        "--by",
        "Ada Lovell",
    )
    assert code == 1 and "No challenge in the register is about that child" in output


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Contact with Jordan Example has stopped.", ["Jordan Example"]),
        ("The Team Manager met Mrs Ana-Maria O'Neill on Monday.", ["Ana-Maria O'Neill"]),
        ("Discussed at the Child Protection Conference.", []),
        ("jordan example was not told.", []),  # missed: the index says so
    ],
)
def test_names_typed_in_the_text_are_found_as_capitalised_words(
    text: str, names: list[str]
) -> None:
    assert names_in(text) == names
