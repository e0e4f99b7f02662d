"""Notes on files formflow could not use, read as the person who dropped them reads them
(issue 22): each says what is wrong in plain words, and its last line is what to do next,
fitting the reason; a returned form whose details differ says which were not taken."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfWriter
from service_support import PROCESSED_ON, Service, new_form, open_register

from filled_forms import answer, fill_docx
from formflow.pipeline import Outcome

CORRECT_THE_FORM = "Correct the form and drop it into the inbox again."


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with open_register(tmp_path) as register:
        yield Service(tmp_path, register)


def _rejected_note(service: Service, path: Path) -> tuple[str, str]:
    """The note's text and its last line."""
    result = service.drop(path)
    assert result.outcome in (Outcome.REJECTED, Outcome.DUPLICATE), result.message
    note = service.note(result)
    return note, note.strip().splitlines()[-1]


def _scan(path: Path) -> Path:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    path.write_bytes(out.getvalue())
    return path


def test_an_empty_file_is_said_to_be_empty_and_to_be_saved_again(
    service: Service, tmp_path: Path
) -> None:
    empty = tmp_path / "stage1 challenge.docx"
    empty.write_bytes(b"")
    note, last = _rejected_note(service, empty)
    assert "This file is empty (0 bytes)" in note
    assert "save or a copy did not finish" in note
    assert "neither a Word document" not in note
    assert last.startswith("Open the form where it was filled in, save it again")


def test_a_doc_file_is_told_how_to_save_it_as_docx(service: Service, tmp_path: Path) -> None:
    old = tmp_path / "challenge.doc"
    old.write_bytes(b"\xd0\xcf\x11\xe0 an old Word file")
    note, last = _rejected_note(service, old)
    assert "old Word 97-2003 document (.doc)" in note
    assert "this file is .doc" not in note
    assert last.startswith("Open it in Word, choose File > Save As, pick 'Word Document (*.docx)'")


def test_a_scan_is_told_to_send_the_fillable_form(service: Service, tmp_path: Path) -> None:
    note, last = _rejected_note(service, _scan(tmp_path / "scanned challenge.pdf"))
    assert "probably a scan" in note
    assert last != CORRECT_THE_FORM
    assert last.startswith("A scan or printed copy cannot be read: fill in the challenge form")


def test_the_same_file_twice_is_told_nothing_needs_doing(service: Service, tmp_path: Path) -> None:
    form = new_form(tmp_path, "challenge.docx")
    reference = service.drop(form).reference
    note, last = _rejected_note(service, form)
    assert f"already processed on 2026-12-01 as {reference}" in note
    assert last == "Nothing needs doing: this copy changes nothing and can be deleted."


def test_a_second_challenge_for_the_same_child_ends_with_how_to_send_it(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised("first.docx")
    note, last = _rejected_note(service, new_form(tmp_path, "second.docx", concern="Contact."))
    assert "the child already has an open challenge" in note
    assert last.startswith(f"If the form is about that challenge, write {reference}")
    assert CORRECT_THE_FORM not in note


def test_a_returned_form_with_a_changed_concern_says_it_was_not_taken_and_how_to_amend(
    service: Service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The IRO edits the concern on the stage 1 form (still open in Word) and it comes
    back with the manager's answer: the answer is recorded, the register keeps the concern
    it was raised with, and the message and log say so, with the amend command."""
    reference = service.raised()
    raised_with = service.record(reference).concern
    form = service.outbox(reference, "stage-1-form.docx")
    edited = fill_docx(form, tmp_path / "edited.docx", {"concern": "A rewritten concern."})
    answered = answer(edited, tmp_path / "answered.docx", PROCESSED_ON.date())
    with caplog.at_level("WARNING"):
        result = service.drop(answered)
    assert result.outcome is Outcome.PROCESSED, result.message
    assert service.record(reference).concern == raised_with
    said = (
        "The form changes 'The concern', which a returned form does not change: the "
        f"register keeps what {reference} was raised with. If the change is needed, make it "
        f'with formflow amend {reference} concern "NEW VALUE" --by NAME --reason WHY.'
    )
    assert said in result.message
    assert said in caplog.text
    assert "A rewritten concern" not in caplog.text


def test_a_form_sent_back_unchanged_says_nothing_about_details(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")
    answered = answer(form, tmp_path / "answered.docx", PROCESSED_ON.date())
    result = service.drop(answered)
    assert result.outcome is Outcome.PROCESSED
    assert "a returned form does not change" not in result.message
