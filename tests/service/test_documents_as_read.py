"""The documents formflow writes, read as their readers read them (issue 22): the text
pdftotext extracts from each PDF, as a viewer or a printout shows it."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader
from service_support import PROCESSED_ON, Service, cli, open_register

from filled_forms import answer, fill_docx, fill_pdf

WHO = ("--by", "Morwenna Pentreath, IRO")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with open_register(tmp_path) as register:
        yield Service(tmp_path, register)


def _text(pdf: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.fail("pdftotext (poppler-utils) is needed: make test installs it")
    run = subprocess.run([tool, "-layout", str(pdf), "-"], capture_output=True, check=True)
    return run.stdout.decode()


def _footers(text: str) -> list[str]:
    return [line for line in text.splitlines() if "OFFICIAL-SENSITIVE" in line]


def test_every_page_of_the_pdf_form_has_the_reference_in_its_footer(service: Service) -> None:
    reference = service.raised()
    text = _text(service.outbox(reference, "stage-1-form.pdf"))
    footers = _footers(text)
    assert footers and len(footers) == text.count("\f")
    assert all(reference in line for line in footers), footers


def test_a_closure_note_has_the_reference_in_its_footer(service: Service) -> None:
    reference = service.raised()
    code, output = cli(service.home.root, "withdraw", reference, *WHO, "--reason", "In error")
    assert code == 0, output
    footers = _footers(_text(service.outbox(reference, "closure-note.pdf")))
    assert footers and all(reference in line for line in footers), footers


def test_a_withdrawn_challenge_is_not_awaiting_a_response(service: Service) -> None:
    reference = service.raised()
    code, output = cli(service.home.root, "withdraw", reference, *WHO, "--reason", "In error")
    assert code == 0, output
    text = " ".join(_text(service.outbox(reference, "closure-note.pdf")).split())
    assert "Awaiting response" not in text
    assert "No response needed: the challenge was" in text


def test_the_stage_2_form_speaks_in_sentences(service: Service, tmp_path: Path) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")
    service.drop(answer(form, tmp_path / "answered.docx", PROCESSED_ON.date()))
    text = " ".join(_text(service.outbox(reference, "stage-2-form.pdf")).split())
    assert "this challenge comes to you after 1 earlier stage." in text
    assert "(s)" not in text


def test_a_reopened_challenges_form_says_why_it_was_reopened(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")
    typed = {
        "response_text": "Agreed.",
        "response_by": "Priya Raman",
        "response_date": "01/12/2026",
    }
    resolved = fill_docx(form, tmp_path / "resolved.docx", typed, ("response_resolved",))
    assert service.drop(resolved).outcome.value == "processed"
    why = "The review was not held by 1 December"
    code, output = cli(
        service.home.root, "reopen", reference, "--by", "Morwenna Pentreath, IRO", "--reason", why
    )
    assert code == 0, output
    text = " ".join(_text(service.outbox(reference, "stage-2-form.pdf")).split())
    assert "re-opened because the actions agreed at Stage 1 were not implemented" in text
    assert f"not effective. The reason given: “{why}.”" in text
    assert f"Stage 1, actions not implemented: {why}" in text  # the earlier-stage history


def test_an_extended_deadline_replaces_the_form_and_keeps_the_old_one(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    due = PROCESSED_ON.date() + dt.timedelta(days=30)
    while not service.pipeline.services.settings.calendar.is_working_day(due):
        due += dt.timedelta(days=1)
    code, output = cli(
        service.home.root, "extend", reference, "--to", due.isoformat(), *WHO, "--reason", "Leave"
    )
    assert code == 0, output
    folder = service.home.outbox / reference
    assert not [p.name for p in folder.iterdir() if "(2).docx" in p.name or "(2).pdf" in p.name]
    new_date = f"{due.day} {due:%B %Y}"
    assert new_date in " ".join(_text(service.outbox(reference, "stage-1-form.pdf")).split())
    old = folder / "superseded" / f"{reference}-stage-1-form.pdf"
    assert new_date not in " ".join(_text(old).split())
    kept = {d.path for d in service.register.documents(reference)}
    assert f"{reference}/superseded/{reference}-stage-1-form.docx" in kept
    assert f"{reference}/{reference}-stage-1-form.docx" in kept
    code, output = cli(service.home.root, "check")
    assert code == 0, output
    assert cli(service.home.root, "backup", str(tmp_path / "copy"))[0] == 0
    code, output = cli(tmp_path / "restored", "restore", str(tmp_path / "copy"))
    assert code == 0, output
    restored = tmp_path / "restored" / "outbox" / reference / "superseded" / old.name
    assert restored.read_bytes() == old.read_bytes()


NELINCS = "IRO and CP Chair Professional Challenge and Escalation Process (North East Lincolnshire)"


def _word_text(docx: Path) -> str:
    with zipfile.ZipFile(docx) as package:
        xml = package.read("word/document.xml")
    return "".join(etree.fromstring(xml).itertext())


def test_forms_name_the_procedure_and_a_form_showing_the_name_comes_back_in(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    pdf = service.outbox(reference, "stage-1-form.pdf")
    fields = PdfReader(pdf).get_fields() or {}
    assert fields["policy"].get("/V") == NELINCS
    assert "Procedure: nelincs" not in _text(pdf)
    word = service.outbox(reference, "stage-1-form.docx")
    assert NELINCS in _word_text(word) and "nelincs" not in _word_text(word)
    answered = fill_pdf(
        pdf,
        tmp_path / "answered.pdf",
        {"response_text": "Agreed.", "response_by": "Priya Raman", "response_date": "01/12/2026"},
        ("response_not_resolved",),
    )
    result = service.drop(answered)
    assert result.outcome.value == "processed", result.message
    assert service.record(reference).policy == "nelincs"
    assert NELINCS in _word_text(service.outbox(reference, "stage-2-form.docx"))
    code, shown = cli(service.home.root, "show", reference)
    assert code == 0 and shown.splitlines()[0] == f"{reference}  {NELINCS}  Stage 2", shown
