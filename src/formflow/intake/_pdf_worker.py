"""Reading a PDF's form fields inside a child process with a memory limit.

pypdf raises ordinary exceptions on malformed files and has had infinite-loop bugs, so an
untrusted PDF is only ever opened here: the child caps its own address space before it
looks at a byte of any file, the parent gives each file a time limit and reads back plain
JSON (never a pickle), and replaces the child after any failure (see ``pdf_reader``).
"""

from __future__ import annotations

import io
import json
import logging
import resource
import warnings
from multiprocessing.connection import Connection
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.generic import DictionaryObject

MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024
"""Address space for the child, interpreter and pypdf included (about 100 MB of it)."""

ENCRYPTED = "encrypted"
DAMAGED = "damaged"


def serve(connection: Connection) -> None:
    """The child's whole life: limit itself, then answer one PDF at a time until the parent
    closes the pipe. Any failure is answered and then the parent retires this child."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    # pypdf logs each repair of a sloppy file; the person is told the outcome instead.
    logging.disable(logging.CRITICAL)
    while True:
        try:
            data = connection.recv_bytes()
        except EOFError:
            return
        connection.send_bytes(json.dumps(_answer(data)).encode("utf-8"))


def _answer(data: bytes) -> dict[str, Any]:
    try:
        return {"fields": read_fields(data)}
    except _Encrypted:
        return {"error": ENCRYPTED}
    except Exception:  # any failure of pypdf on hostile bytes means the same to the person
        return {"error": DAMAGED}


class _Encrypted(Exception):
    pass


def read_fields(data: bytes) -> dict[str, str | bool]:
    """AcroForm fields by their last name part: text as typed, checkboxes as their state."""
    with warnings.catch_warnings():
        # pypdf warns about every repair it makes to a sloppy file; none changes a value.
        warnings.simplefilter("ignore")
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and _cannot_open(reader):
            raise _Encrypted
        fields = reader.get_fields() or {}
        found = {_short(name): _value(f) for name, f in fields.items()}
        if not found:
            found = _widget_values(reader)
    return found


def _cannot_open(reader: PdfReader) -> bool:
    """An empty user password only restricts printing or copying; anything else locks it."""
    try:
        return bool(reader.decrypt("") == PasswordType.NOT_DECRYPTED)
    except Exception:  # AES without a crypto library, or a broken encryption dictionary
        return True


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _value(field: Any) -> str | bool:
    value = field.get("/V")
    if field.get("/FT") == "/Btn":
        if value is None:
            value = _appearance_state(field)
        return value is not None and str(value) not in ("", "/Off", "Off")
    if value is None:
        return ""
    return str(value).replace("\r\n", "\n").replace("\r", "\n")


def _appearance_state(field: Any) -> Any:
    """A checkbox with no /V: the state its (first) widget shows."""
    for kid in field.get("/Kids", []) or [field]:
        kid = kid.get_object()
        if isinstance(kid, DictionaryObject) and "/AS" in kid:
            return kid["/AS"]
    return None


def _widget_values(reader: PdfReader) -> dict[str, str | bool]:
    """Widgets that name themselves but hang from no AcroForm (a form with a broken catalogue)."""
    found: dict[str, str | bool] = {}
    for page in reader.pages:
        for annotation in page.get("/Annots", []) or []:
            widget = annotation.get_object()
            if widget.get("/Subtype") == "/Widget" and "/T" in widget:
                found[_short(str(widget["/T"]))] = _value(widget)
    return found
