"""A fillable PDF's fields, read by a limited child process (see ``_pdf_worker``).

One long-lived child reads the PDFs, one at a time: starting a process per file cost
about 30 ms, more than reading a form. The parent waits at most ``PDF_SECONDS`` for each
answer; a child that is late, dies, or fails on a file is killed and the next file gets a
fresh one, so a hostile file can neither hang the service nor leave state behind. As
with any multiprocessing use, a program calling this must keep its work under
``if __name__ == "__main__":``.

Only the child imports pikepdf (``_pdf_worker``): the service never opens a PDF form
itself, and qpdf would cost it 5 MB of resident memory for nothing.
"""

from __future__ import annotations

import atexit
import json
import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from formflow.errors import RejectedForm
from formflow.intake.catalogue import RawForm
from formflow.intake.pdf_replies import REPLY_ENCRYPTED

log = logging.getLogger(__name__)

PDF_SECONDS = 5
CHILD_DEATHS_TO_BLAME = 2
"""Times the reading child must die on one file before the file is blamed for it."""
MAX_REPLY_BYTES = 8 * 1024 * 1024

NO_FIELDS = (
    "This PDF has no form fields to read: it is probably a scan, or a form that was "
    "printed or flattened."
)
SEND_FILLABLE = (
    "A scan or printed copy cannot be read: fill in the challenge form in Word or as the "
    "fillable PDF, and drop that into the inbox."
)
ENCRYPTED = (
    "This PDF is protected with a password, so formflow cannot read it: save a copy "
    "without the password and drop that instead."
)
UNREADABLE = (
    "This PDF could not be read safely (it is damaged, or built to take too much time "
    "or memory): save the form again from the program that filled it, and drop the new copy."
)


class PdfWorker:
    """The child process that reads PDFs, started on first use and replaced after a failure."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def ask(self, data: bytes, seconds: float) -> dict[str, Any]:
        """The child's JSON reply for ``data``; UNREADABLE when it is late, or dies on the
        file twice. One death could be a kill from outside (an operator, the kernel short
        of memory for the whole machine); a second, in a fresh child, is the file's doing."""
        with self._lock:
            if self._process is not None and not self._process.is_alive():
                self.stop()  # it died between files (killed from outside): not this file's doing
            for chance in range(1, CHILD_DEATHS_TO_BLAME + 1):
                try:
                    reply = self._exchange(data, seconds)
                except (ValueError, TimeoutError) as exc:  # before OSError: TimeoutError is one
                    self.stop()
                    raise RejectedForm([UNREADABLE]) from exc
                except (EOFError, OSError) as exc:
                    self.stop()
                    if chance < CHILD_DEATHS_TO_BLAME:
                        log.warning("the PDF reader died on a file; reading it again in a new one")
                        continue
                    raise RejectedForm([UNREADABLE]) from exc
                if not isinstance(reply, dict) or "error" in reply:
                    self.stop()  # whatever the file did to the child, the next file gets a new one
                return reply if isinstance(reply, dict) else {}
            raise AssertionError("unreachable: the last chance returns or raises")

    def _exchange(self, data: bytes, seconds: float) -> Any:
        connection = self._connection or self._start()
        connection.send_bytes(data)
        if not connection.poll(seconds):
            raise TimeoutError(f"no answer in {seconds} s")
        return json.loads(connection.recv_bytes(MAX_REPLY_BYTES))

    def _start(self) -> Connection:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["__main__"])
        ours, theirs = context.Pipe(duplex=True)
        process = context.Process(
            target=_serve_in_child, args=(theirs,), daemon=True, name="formflow-pdf"
        )
        process.start()
        theirs.close()
        self._process, self._connection = process, ours
        return ours

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process.close()
        self._process = self._connection = None


def _serve_in_child(connection: Connection) -> None:
    from formflow.intake import _pdf_worker  # here, not above: only the child loads qpdf

    _pdf_worker.serve(connection)


WORKER = PdfWorker()
atexit.register(WORKER.stop)


def read_pdf(data: bytes, seconds: float = PDF_SECONDS) -> RawForm:
    reply = WORKER.ask(data, seconds)
    error = reply.get("error")
    if error == REPLY_ENCRYPTED:
        raise RejectedForm([ENCRYPTED])
    fields = reply.get("fields")
    if error is not None or not isinstance(fields, dict):
        raise RejectedForm([UNREADABLE])
    if not fields:
        raise RejectedForm([NO_FIELDS], advice=SEND_FILLABLE)
    return {str(k): v for k, v in fields.items() if isinstance(v, str | bool)}
