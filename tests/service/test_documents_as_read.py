"""The documents formflow writes, read as their readers read them (issue 22): the text
pdftotext extracts from each PDF, as a viewer or a printout shows it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_support import PROCESSED_ON, Service, cli

from filled_forms import answer
from formflow.store.register import Register

WHO = ("--by", "Morwenna Pentreath, IRO")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with Register(tmp_path / "var" / "formflow.db") as register:
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
