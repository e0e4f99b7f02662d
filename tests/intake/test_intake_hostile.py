"""Hostile and broken files: each refused quickly, with a reason, before any parser runs."""

from __future__ import annotations

import io
import os
import signal
import struct
import threading
import time
import zipfile
from pathlib import Path

import pytest
from form_builders import Style, official_form, replace_part
from intake_cases import EXPECTED_OFFICIAL, OFFICIAL, TODAY, parse
from pypdf import PdfWriter

from formflow.errors import RejectedForm
from formflow.intake import MAX_FILE_BYTES, read_form
from formflow.intake.pdf_reader import CHILD_DEATHS_TO_BLAME, UNREADABLE, WORKER, read_pdf
from formflow.intake.safety import DAMAGED
from formflow.policy_catalogue import built_in

FORM = official_form(OFFICIAL, Style.CONTROLS)
MACROS = "This file contains macros"
BOMB = "zip bomb"


def rejection(data: bytes, suffix: str = ".docx") -> list[str]:
    with pytest.raises(RejectedForm) as caught:
        parse(data, suffix)
    return caught.value.reasons


def with_entry(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return out.getvalue()


def macro_enabled(data: bytes) -> bytes:
    types = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml")
    types = types.replace(
        b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        b"application/vnd.ms-word.document.macroEnabled.main+xml",
    )
    return replace_part(data, "[Content_Types].xml", types)


@pytest.mark.parametrize("suffix", [".docx", ".docm"])
@pytest.mark.parametrize(
    "make",
    [
        lambda d: with_entry(d, "word/vbaProject.bin", b"\x00" * 64),
        macro_enabled,
    ],
    ids=["vbaProject.bin", "macro-enabled content type"],
)
def test_macro_enabled_packages_are_refused(make: object, suffix: str) -> None:
    assert MACROS in rejection(make(FORM), suffix)[-1]  # type: ignore[operator]


def test_zip_bomb_by_compression_ratio() -> None:
    assert BOMB in rejection(with_entry(FORM, "word/media/image1.png", b"\x00" * 4_000_000))[0]


def test_zip_bomb_by_entry_count() -> None:
    out = io.BytesIO(FORM)
    with zipfile.ZipFile(out, "a") as archive:
        for n in range(1001):
            archive.writestr(f"customXml/item{n}.bin", b"")
    assert BOMB in rejection(out.getvalue())[0]


def _understate_sizes(data: bytes, name: bytes) -> bytes:
    """Rewrite the headers of ``name`` to declare 100 bytes, whatever it inflates to."""
    patched = bytearray(data)
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := patched.find(signature, start)) >= 0:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if patched[name_at : name_at + len(name)] == name:
                struct.pack_into("<I", patched, start + size_at, 100)
            start += 4
    return bytes(patched)


def test_zip_headers_that_lie_about_size_are_caught_while_reading() -> None:
    assert rejection(_understate_sizes(FORM, b"word/document.xml")) == [DAMAGED]


@pytest.mark.parametrize("part", ["word/document.xml", "word/styles.xml"])
@pytest.mark.parametrize(
    "declaration",
    [b'<!DOCTYPE w:document [<!ENTITY who "x">]>', b'<!ENTITY who SYSTEM "file:///etc/passwd">'],
    ids=["doctype", "entity"],
)
def test_doctype_or_entity_in_any_part_is_refused(part: str, declaration: bytes) -> None:
    xml = zipfile.ZipFile(io.BytesIO(FORM)).read(part)
    end_of_prolog = xml.index(b"?>") + 2
    hostile = replace_part(FORM, part, xml[:end_of_prolog] + declaration + xml[end_of_prolog:])
    assert "DOCTYPE or ENTITY" in rejection(hostile)[0]


OLE2 = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 504


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (OLE2 + "EncryptedPackage".encode("utf-16-le"), "protected with a password"),
        (
            OLE2 + "WordDocument".encode("utf-16-le"),
            "This is an old Word 97-2003 document (.doc), which formflow cannot read.",
        ),
        (OLE2 + "Workbook".encode("utf-16-le"), "not a Word document"),
        (b"{\\rtf1\\ansi Tegan}", "Rich Text (.rtf)"),
        (b"Just some notes about a challenge.", "neither a Word document (.docx) nor a PDF"),
        (FORM[: len(FORM) // 2], DAMAGED),
        (b"", "This file is empty (0 bytes)"),
    ],
    ids=["encrypted office", "old doc", "old excel", "rtf", "text", "truncated docx", "empty"],
)
def test_files_that_are_not_readable_forms(data: bytes, expected: str) -> None:
    assert expected in rejection(data)[0]


def test_other_office_packages_are_not_word_documents() -> None:
    types = zipfile.ZipFile(io.BytesIO(FORM)).read("[Content_Types].xml")
    sheet = types.replace(b"wordprocessingml.document.main", b"spreadsheetml.sheet.main")
    assert "not a Word document" in rejection(replace_part(FORM, "[Content_Types].xml", sheet))[0]


def test_file_over_the_size_cap_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.docx"
    with big.open("wb") as stream:
        stream.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(RejectedForm) as caught:
        read_form(big, policies=built_in(), today=TODAY)
    assert "MB a challenge form can be" in caught.value.reasons[0]


def _blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_encrypted_pdf_is_refused() -> None:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    assert "PDF is protected with a password" in rejection(out.getvalue(), ".pdf")[0]


LOOPING_PDF = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [3 0 R] >> >> endobj
2 0 obj << /Type /Pages /Kids [2 0 R] /Count 1 >> endobj
3 0 obj << /FT /Tx /T (child_name) /Parent 3 0 R /Kids [3 0 R] >> endobj
xref
0 4
0000000000 65535 f
trailer << /Size 4 /Root 1 0 R /Prev 9 >>
startxref
9
%%EOF
"""

ABSURD_PDF = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [] /Count 999999999999 >> endobj
3 0 obj << /Length 99999999999999 /Filter /FlateDecode >> stream
x\x9c
endstream endobj
trailer << /Size 2147483647 /Root 1 0 R >>
%%EOF
"""


@pytest.mark.parametrize(
    "data",
    [LOOPING_PDF, ABSURD_PDF, _blank_pdf()[:200]],
    ids=["self-referencing", "absurd sizes", "truncated"],
)
def test_broken_or_hostile_pdfs_are_refused(data: bytes) -> None:
    assert rejection(data, ".pdf")


def test_pdf_worker_that_does_not_answer_in_time_is_killed() -> None:
    with pytest.raises(RejectedForm) as caught:
        read_pdf(_blank_pdf(), seconds=0)
    assert caught.value.reasons == [UNREADABLE]


def test_type_is_decided_by_content_and_a_mismatch_is_named() -> None:
    reasons = rejection(_blank_pdf(), ".docx")
    assert reasons[0].startswith("The file is named with .docx but its content is a PDF")
    assert parse(FORM, ".pdf").to_dict() == EXPECTED_OFFICIAL.to_dict()


@pytest.mark.parametrize(
    "name",
    [
        "challenge form (final).docx",
        "fórmulaire ñ 表.docx",
        "-leading-dash.docx",
        "x" * 200 + ".docx",
    ],
    ids=["spaces", "unicode", "leading dash", "very long"],
)
def test_odd_file_names_work(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(FORM)
    assert (
        read_form(path, policies=built_in(), today=TODAY).to_dict() == EXPECTED_OFFICIAL.to_dict()
    )


def test_one_pdf_worker_serves_many_files_and_a_late_one_is_replaced() -> None:
    """Starting a process per file cost more than reading the form; a worker that fails
    or is late is killed, and the next file is read by a fresh one."""
    assert WORKER.ask(_blank_pdf(), 5) == {"fields": {}}
    first = WORKER.pid
    assert WORKER.ask(_blank_pdf(), 5) == {"fields": {}}
    assert WORKER.pid == first
    assert first is not None
    os.kill(first, signal.SIGSTOP)  # late for certain: a 0 s limit raced a quick answer
    with pytest.raises(RejectedForm):
        WORKER.ask(_blank_pdf(), 0.5)
    assert WORKER.pid is None
    _wait_until_dead(first)
    assert WORKER.ask(_blank_pdf(), 5) == {"fields": {}}
    assert WORKER.pid not in (None, first)


def test_a_hostile_pdf_retires_the_worker() -> None:
    WORKER.ask(_blank_pdf(), 5)
    before = WORKER.pid
    assert rejection(LOOPING_PDF, ".pdf")
    assert WORKER.pid != before


def test_a_pdf_worker_killed_between_files_does_not_reject_the_next() -> None:
    WORKER.ask(_blank_pdf(), 5)
    killed = WORKER.pid
    assert killed is not None
    os.kill(killed, signal.SIGKILL)
    _wait_until_dead(killed)
    assert WORKER.ask(_blank_pdf(), 5) == {"fields": {}}
    assert WORKER.pid != killed


def _wait_until_dead(pid: int, seconds: float = 5) -> None:
    """Until the kernel shows ``pid`` as a zombie or gone (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still running after {seconds} s")


@pytest.mark.parametrize(
    "block",
    [
        "<w:tbl>" + "<w:tr><w:tc><w:p/></w:tc><w:tc><w:p/></w:tc></w:tr>" * 2500 + "</w:tbl>",
        "<w:p><w:r><w:t>Lorem</w:t></w:r></w:p>" * 4500,
    ],
    ids=["5,000 table cells", "4,500 paragraphs"],
)
def test_a_document_far_larger_than_a_form_is_refused_before_reading(block: str) -> None:
    """Label reading is linear in the document (60,000 table rows took 30 s): a document
    that cannot be a challenge form is refused before it can hold the watcher."""
    form = official_form(OFFICIAL, Style.CONTROLS)
    xml = zipfile.ZipFile(io.BytesIO(form)).read("word/document.xml")
    body = xml.index(b"<w:body>") + len(b"<w:body>")
    data = replace_part(form, "word/document.xml", xml[:body] + block.encode() + xml[body:])
    [reason] = rejection(data, ".docx")
    assert "far more than a challenge form" in reason


def test_a_pdf_worker_killed_from_outside_while_reading_does_not_reject_the_file() -> None:
    """A kill from outside (an operator, the kernel short of memory for the whole machine)
    says nothing about the form: it is read again in a fresh child."""
    WORKER.ask(_blank_pdf(), 5)
    reading = WORKER.pid
    assert reading is not None
    os.kill(reading, signal.SIGSTOP)  # the child takes the file but cannot answer yet
    answer: list[dict[str, object]] = []
    asking = threading.Thread(target=lambda: answer.append(WORKER.ask(_blank_pdf(), 10)))
    asking.start()
    time.sleep(0.2)
    os.kill(reading, signal.SIGKILL)
    asking.join(timeout=15)
    assert answer == [{"fields": {}}]
    assert WORKER.pid not in (None, reading)


def test_a_file_the_reading_child_dies_on_twice_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deaths: list[int] = []

    def dies(self: object, data: bytes, seconds: float) -> object:
        deaths.append(1)
        raise EOFError("the child died")

    monkeypatch.setattr(type(WORKER), "_exchange", dies)
    with pytest.raises(RejectedForm) as caught:
        WORKER.ask(_blank_pdf(), 5)
    assert caught.value.reasons == [UNREADABLE]
    assert len(deaths) == CHILD_DEATHS_TO_BLAME == 2


@pytest.mark.parametrize("typed", ["../policies/nelincs", "/etc/passwd", "nelincs.json"])
def test_a_procedure_typed_as_a_path_is_refused_not_followed(typed: str) -> None:
    with pytest.raises(RejectedForm) as caught:
        parse(official_form({**OFFICIAL, "policy": typed}, Style.CONTROLS))
    assert caught.value.reasons == [
        f"'Procedure' has '{typed}', which formflow does not know. There is no policy "
        f"'{typed}'. The policies available are: barnet, cic-issues, nelincs, nottinghamshire, "
        "ops-flowchart, peterborough, rotherham."
    ]
