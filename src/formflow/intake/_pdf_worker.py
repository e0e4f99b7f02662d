"""Reading a PDF's form fields inside a child process with a memory limit.

The fields are read with pikepdf (qpdf): in C++, about seven times faster than pypdf on
our two-page form, and it opens AES-encrypted forms. Any PDF library can be made to fail
or to loop by hostile bytes, so an untrusted PDF is only ever opened here: the child caps
its own address space before it looks at a byte of any file, the parent gives each file
a time limit and reads back plain JSON (never a pickle), and replaces the child after
any failure (see ``pdf_reader``).
"""

from __future__ import annotations

import io
import json
import logging
import resource
import warnings
from multiprocessing.connection import Connection
from typing import Any

import pikepdf

from formflow.intake.pdf_replies import REPLY_DAMAGED, REPLY_ENCRYPTED

MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024
"""Address space for the child, interpreter and qpdf included (about 30 MB of it)."""

UNTICKED = ("", "/Off", "Off")


def serve(connection: Connection) -> None:
    """The child's whole life: limit itself, then answer one PDF at a time until the parent
    closes the pipe. Any failure is answered and then the parent retires this child."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    # qpdf logs, and pikepdf warns of, each repair of a sloppy file; the person is told
    # the outcome instead.
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    while True:
        # The parent gone (a kill -9 of the service) ends the child quietly: between files
        # that is an end of file; in the middle of a file's bytes, or of the answer, an
        # OSError ("got end of file during message", a broken pipe).
        try:
            data = connection.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            connection.send_bytes(json.dumps(_answer(data)).encode("utf-8"))
        except OSError:
            return


def _answer(data: bytes) -> dict[str, Any]:
    try:
        return {"fields": read_fields(data)}
    except pikepdf.PasswordError:
        return {"error": REPLY_ENCRYPTED}
    except Exception:  # any failure of qpdf on hostile bytes means the same to the person
        return {"error": REPLY_DAMAGED}


def read_fields(data: bytes) -> dict[str, str | bool]:
    """AcroForm fields by their own (last) name: text as typed, checkboxes as their state.

    An empty user password only restricts printing or copying, so such a form opens; one
    that needs a password raises ``pikepdf.PasswordError``.
    """
    with pikepdf.open(io.BytesIO(data)) as pdf:
        fields = pdf.acroform.fields or _catalogue_mended(pdf).fields
        named = ((_own_name(field), field) for field in fields)
        return {name: _value(field) for name, field in named if name}


def _own_name(field: pikepdf.AcroFormField) -> str:
    """``child_name`` of ``page1.child_name``. qpdf lists a field's widgets as its terminal
    fields; a widget has no name of its own, so its field's name is the last part."""
    return field.fully_qualified_name.rsplit(".", 1)[-1]


def _value(field: pikepdf.AcroFormField) -> str | bool:
    """qpdf resolves what a field inherits from its parents (its type, its value)."""
    if field.field_type == "/Btn":
        state = field.value
        if state is None:
            state = _appearance_state(field.obj)
        # States in the wild are /Yes, /On, /on, /1 or any name: all but /Off tick.
        return state is not None and str(state) not in UNTICKED
    return field.value_as_string.replace("\r\n", "\n").replace("\r", "\n")


def _appearance_state(field: pikepdf.Object) -> Any:
    """A checkbox with no /V: the state its (first) widget shows."""
    for widget in field.get("/Kids", None) or [field]:
        if isinstance(widget, pikepdf.Dictionary) and "/AS" in widget:
            return widget["/AS"]
    return None


def _catalogue_mended(pdf: pikepdf.Pdf) -> pikepdf.AcroForm:
    """A form whose catalogue lost its AcroForm (some tools drop it) still shows its fields
    on its pages: the named widgets found there become the form's fields, in this copy."""
    widgets = [
        widget
        for page in pdf.pages
        for widget in page.obj.get("/Annots", None) or []
        if isinstance(widget, pikepdf.Dictionary)
        and widget.get("/Subtype") == "/Widget"
        and "/T" in widget
    ]
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array(widgets))
    pdf.acroform.invalidate_cache()
    return pdf.acroform
