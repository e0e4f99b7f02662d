"""Hostile-input checks, made before any parser sees a byte of a dropped file.

The file type is decided by its content (magic bytes), never by its name. A Word file
is a zip package: its central directory is checked for size, entry count, compression
ratio and macros before anything is inflated, and every part is then read with a hard
cap because a zip's declared sizes can lie. Any DOCTYPE or ENTITY declaration in an XML
part rejects the file: python-docx and lxml would otherwise drop text silently or, with
other settings, expand entities.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

from lxml import etree

from formflow.errors import RejectedForm

MAX_FILE_BYTES = 20 * 1024 * 1024
"""A two-page form is tens of kilobytes; 20 MiB leaves room for pasted photographs."""

MAX_ZIP_ENTRIES = 1000
MAX_PART_BYTES = 50 * 1024 * 1024
MAX_TOTAL_UNCOMPRESSED = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
"""Word's XML compresses about 10:1; zip bombs reach 1000:1 and more."""
RATIO_CHECKED_ABOVE = 1024 * 1024
"""Tiny parts can have any ratio without harm, so the ratio is checked above this size."""

_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_MACRO_CONTENT_TYPES = (
    b"application/vnd.ms-word.document.macroenabled",
    b"application/vnd.ms-word.template.macroenabled",
    b"application/vnd.ms-office.vbaproject",
)
_WORD_MAIN_CONTENT_TYPES = (
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
)
_DECLARATIONS = tuple(
    marker.encode(encoding)
    for marker in ("<!doctype", "<!entity")
    for encoding in ("ascii", "utf-16-le", "utf-16-be")
)
# Word never writes "<!" in a part, so a plain substring test (fast, in C) clears nearly
# every part; only a part that has one gets the case-blind search. In UTF-16 each letter
# is one ASCII byte beside a zero, so IGNORECASE covers all three encodings.
_OPENERS = tuple("<!".encode(encoding) for encoding in ("ascii", "utf-16-le", "utf-16-be"))
_DECLARATION = re.compile(b"|".join(re.escape(m) for m in _DECLARATIONS), re.IGNORECASE)

DAMAGED = (
    "This file is damaged or incomplete (it may not have finished copying): "
    "open it, save it again, and drop the saved copy."
)
EMPTY = (
    "This file is empty (0 bytes), so there is nothing to read: this often happens when a "
    "save or a copy did not finish."
)
SAVE_AGAIN = (
    "Open the form where it was filled in, save it again, and drop the saved copy into the inbox."
)
SAVE_AS_DOCX = (
    "Open it in Word, choose File > Save As, pick 'Word Document (*.docx)' under 'Save as "
    "type', save it, and drop the .docx into the inbox."
)
OLD_WORD = "This is an old Word 97-2003 document (.doc), which formflow cannot read."
NOT_A_FORM_FILE = (
    "formflow cannot read this file: it is neither a Word document (.docx) nor a PDF. "
    "Please save the challenge form as .docx or as a fillable PDF."
)


class FileKind(StrEnum):
    DOCX = "Word document"
    PDF = "PDF"


@dataclass(frozen=True)
class Package:
    """A checked Word package: the XML parts by name, each already read under the caps."""

    parts: dict[str, bytes]
    main_part: str


def file_kind(data: bytes) -> FileKind:
    """What the bytes are, or a rejection saying what they are instead."""
    if not data:
        raise RejectedForm([EMPTY], advice=SAVE_AGAIN)
    if data[:1024].find(b"%PDF-") >= 0:
        return FileKind.PDF
    if data.startswith(_ZIP_MAGICS):
        return FileKind.DOCX
    if data.startswith(_OLE2_MAGIC):
        raise _ole2_rejection(data)
    if data.lstrip().startswith(b"{\\rtf"):
        raise RejectedForm(
            ["This is a Rich Text (.rtf) file, which formflow cannot read."], advice=SAVE_AS_DOCX
        )
    raise RejectedForm([NOT_A_FORM_FILE])


def _ole2_rejection(data: bytes) -> RejectedForm:
    # An OLE2 compound file holding "EncryptedPackage" is a password-protected .docx;
    # one holding "WordDocument" is the old binary .doc. Stream names are UTF-16LE.
    if "EncryptedPackage".encode("utf-16-le") in data:
        return RejectedForm(
            ["This Word file is protected with a password, so formflow cannot read it."],
            advice="Remove the password in Word (File > Info > Protect Document > Encrypt "
            "with Password, clear it), save, and drop it into the inbox again.",
        )
    if "WordDocument".encode("utf-16-le") in data:
        return RejectedForm([OLD_WORD], advice=SAVE_AS_DOCX)
    return RejectedForm(
        ["This is an old-style Microsoft Office file that is not a Word document."],
        advice="Send the challenge form as .docx or as a fillable PDF.",
    )


def suffix_note(suffix: str, kind: FileKind) -> str | None:
    """A sentence when the file's name says one type and its content another."""
    expected = {".docx": FileKind.DOCX, ".docm": FileKind.DOCX, ".pdf": FileKind.PDF}
    named = expected.get(suffix.lower())
    if named is kind:
        return None
    shown = suffix or "no extension"
    return f"The file is named with {shown} but its content is a {kind.value}; formflow read it as a {kind.value}."


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise RejectedForm(
            [
                f"This file is {size / 1024 / 1024:.0f} MB, more than the "
                f"{MAX_FILE_BYTES // 1024 // 1024} MB a challenge form can be: remove pictures "
                "or attachments from it, or send them separately, and drop it again."
            ]
        )


def open_package(data: bytes) -> Package:
    """The XML parts of a Word package, after every hostile-input check has passed."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RejectedForm([DAMAGED]) from exc
    with archive:
        entries = archive.infolist()
        _check_directory(entries)
        parts = {
            info.filename: _read_capped(archive, info) for info in entries if _is_xml(info.filename)
        }
    content_types = parts.get("[Content_Types].xml")
    if content_types is None:
        raise RejectedForm(["This is a zip archive, not a Word document: " + NOT_A_FORM_FILE])
    _check_declarations(parts)
    _check_macros(content_types)
    main_part = _main_part(parts)
    if main_part not in parts or not _is_word(content_types):
        raise RejectedForm(
            [
                "This Office file is not a Word document (it may be a spreadsheet or a "
                "presentation): please send the challenge form as .docx or as a fillable PDF."
            ]
        )
    return Package(parts, main_part)


def _check_directory(entries: list[zipfile.ZipInfo]) -> None:
    bomb = (
        "This file unpacks to far more data than a Word document holds (it looks like a "
        "zip bomb), so formflow will not open it. Please save the form again from Word."
    )
    if len(entries) > MAX_ZIP_ENTRIES:
        raise RejectedForm([bomb])
    total = 0
    for info in entries:
        if PurePosixPath(info.filename).name.lower() == "vbaproject.bin":
            raise RejectedForm([_MACROS])
        if info.flag_bits & 0x1:
            raise RejectedForm([DAMAGED])
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        too_big = info.file_size > MAX_PART_BYTES or total > MAX_TOTAL_UNCOMPRESSED
        if too_big or (info.file_size > RATIO_CHECKED_ABOVE and ratio > MAX_COMPRESSION_RATIO):
            raise RejectedForm([bomb])


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """One part, never more than MAX_PART_BYTES, whatever its header declares."""
    try:
        with archive.open(info) as stream:
            data = stream.read(MAX_PART_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise RejectedForm([DAMAGED]) from exc
    if len(data) > MAX_PART_BYTES:
        raise RejectedForm([DAMAGED])
    return data


def _is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels"))


def _check_declarations(parts: dict[str, bytes]) -> None:
    for data in parts.values():
        if any(opener in data for opener in _OPENERS) and _DECLARATION.search(data):
            raise RejectedForm(
                [
                    "This file contains XML declarations (DOCTYPE or ENTITY) that Word never "
                    "writes, so formflow will not read it: open the form in Word, save it "
                    "as .docx, and drop it again."
                ]
            )


_MACROS = (
    "This file contains macros (it is a macro-enabled Word document), which formflow "
    "never opens: in Word choose File > Save As > Word Document (.docx), then drop the "
    "new file."
)


def _check_macros(content_types: bytes) -> None:
    lowered = content_types.lower()
    if any(kind in lowered for kind in _MACRO_CONTENT_TYPES):
        raise RejectedForm([_MACROS])


def _is_word(content_types: bytes) -> bool:
    return any(kind in content_types for kind in _WORD_MAIN_CONTENT_TYPES)


_PACKAGE_RELS = "_rels/.rels"
_OFFICE_DOCUMENT = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
)


def _main_part(parts: dict[str, bytes]) -> str:
    """The main document part named by the package relationships (usually word/document.xml)."""
    rels = parts.get(_PACKAGE_RELS)
    if rels is None:
        return "word/document.xml"
    root = parse_xml(rels)
    for rel in root:
        if rel.get("Type") == _OFFICE_DOCUMENT:
            return (rel.get("Target") or "").lstrip("/")
    return "word/document.xml"


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=True
)


def parse_xml(data: bytes) -> etree._Element:
    """Parse one already-checked part; malformed XML is a damaged file."""
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise RejectedForm([DAMAGED]) from exc
