"""A fillable PDF's fields, read by a limited child process (see ``_pdf_worker``).

Children come from a forkserver that has already imported pypdf (importing it takes
over half a second), so each file costs a fork rather than a new interpreter; the parent
waits at most ``PDF_SECONDS`` and kills the child if it has not answered. As with any
multiprocessing use, a program calling this must keep its work under
``if __name__ == "__main__":`` (the forkserver imports the main module once).
"""

from __future__ import annotations

import json
import multiprocessing
from functools import cache
from multiprocessing.context import BaseContext
from typing import Any

from formflow.errors import RejectedForm
from formflow.intake import _pdf_worker
from formflow.intake.catalogue import RawForm

PDF_SECONDS = 5
MAX_REPLY_BYTES = 8 * 1024 * 1024

NO_FIELDS = (
    "This PDF has no form fields to read: it may have been printed or flattened. "
    "Please send the fillable form (Word or fillable PDF)."
)
ENCRYPTED = (
    "This PDF is protected with a password, so formflow cannot read it: save a copy "
    "without the password and drop that instead."
)
UNREADABLE = (
    "This PDF could not be read safely (it is damaged, or built to take too much time "
    "or memory): save the form again from the program that filled it, and drop the new copy."
)


@cache
def _context() -> BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", _pdf_worker.__name__])
    return context


def read_pdf(data: bytes, seconds: int = PDF_SECONDS) -> RawForm:
    reply = _ask_worker(data, seconds)
    error = reply.get("error")
    if error == _pdf_worker.ENCRYPTED:
        raise RejectedForm([ENCRYPTED])
    fields = reply.get("fields")
    if error is not None or not isinstance(fields, dict):
        raise RejectedForm([UNREADABLE])
    if not fields:
        raise RejectedForm([NO_FIELDS])
    return {str(k): v for k, v in fields.items() if isinstance(v, str | bool)}


def _ask_worker(data: bytes, seconds: int) -> dict[str, Any]:
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(  # type: ignore[attr-defined]
        target=_pdf_worker.serve, args=(sender, data, seconds), daemon=True
    )
    started = False
    try:
        worker.start()
        started = True
        sender.close()
        if not receiver.poll(seconds):
            raise RejectedForm([UNREADABLE])
        reply = json.loads(receiver.recv_bytes(MAX_REPLY_BYTES))
    except (EOFError, OSError, ValueError) as exc:
        raise RejectedForm([UNREADABLE]) from exc
    finally:
        sender.close()
        receiver.close()
        if started:
            worker.kill()
            worker.join()
            worker.close()
    return reply if isinstance(reply, dict) else {}
