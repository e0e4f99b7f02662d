"""How the long-running commands (``watch``, ``process``, ``tick``, ``serve``) log."""

from __future__ import annotations

import logging
import sys

from formflow.outbox.files import printable


class _OneLinePerRecord(logging.Formatter):
    """Log lines name files, and a file name may hold a newline or an escape sequence:
    each message is printed on one line, its control characters escaped (a traceback,
    added after the message, keeps its lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))


def log_to_stderr(verbose: bool) -> None:
    """Warnings (every decision with ``verbose``), and the dashboard's audit lines,
    which keep their own level, one line each on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLinePerRecord("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
