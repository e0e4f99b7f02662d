"""How a dropped file or a tick ended, and the one line the CLI prints for it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from formflow.outbox import files, folders


class Outcome(StrEnum):
    PROCESSED = "processed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"
    """Another watcher claimed the file first, or is working on it now."""
    RETRY = "retry"
    """An unexpected error: the file stays claimed and is tried again at the next rescan."""


@dataclass(frozen=True)
class Result:
    name: str
    outcome: Outcome
    reference: str | None = None
    message: str = ""
    where: Path | None = None

    def line(self, at: dt.datetime) -> str:
        """The one line ``watch`` prints: time, file, outcome, reference (never a child)."""
        reference = self.reference or "-"
        extra = ""
        if self.outcome is Outcome.REJECTED and self.where is not None:
            extra = f"  (see rejected/{files.printable(self.where.name)}{folders.NOTE_SUFFIX})"
        name = files.printable(self.name)
        return f"{at:%Y-%m-%d %H:%M:%S}  {name}  {self.outcome.value}  {reference}{extra}"
