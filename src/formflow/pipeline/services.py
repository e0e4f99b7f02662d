"""The services seam: everything the pipeline reaches outside itself (the form reader,
the document writers, the clock, the live tracker's cue), so tests pass simple callables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from formflow.config import Settings
from formflow.core.engine import Assessment, Document
from formflow.core.policy import Policy
from formflow.core.record import Challenge
from formflow.errors import FormflowError
from formflow.outbox.folders import Home
from formflow.policy_catalogue import PolicyCatalogue


class FormReader(Protocol):
    def __call__(
        self, path: Path, *, policies: PolicyCatalogue, settings: Settings, today: dt.date
    ) -> Challenge: ...


class DocumentWriter(Protocol):
    """Writes one kind of document for ``challenge`` into ``outdir``; ``assessment`` is
    the challenge's, made once by the pipeline (the renderer never assesses)."""

    def __call__(
        self,
        challenge: Challenge,
        policy: Policy,
        settings: Settings,
        outdir: Path,
        *,
        today: dt.date,
        assessment: Assessment,
    ) -> list[Path]: ...


def _real_reader(
    path: Path, *, policies: PolicyCatalogue, settings: Settings, today: dt.date
) -> Challenge:
    from formflow.intake import read_form

    return read_form(path, policies=policies, settings=settings, today=today)


def _real_writers() -> Mapping[Document, DocumentWriter]:
    # Imported when a document is first written: WeasyPrint takes about a second to load,
    # which `formflow status` and the other light commands should not wait for.
    from formflow.render import document_writers

    return document_writers()


def _nobody_to_tell() -> None:
    """The default ``on_change``: no live tracker to rewrite."""


@dataclass(frozen=True)
class Services:
    """Everything the pipeline reaches outside itself; tests pass simple callables."""

    home: Home
    settings: Settings
    policies: PolicyCatalogue
    """The home's procedures (``PolicyCatalogue.for_home``): every lookup goes through it."""
    read_form: FormReader = _real_reader
    writers: Mapping[Document, DocumentWriter] | None = None
    now: Callable[[], dt.datetime] = dt.datetime.now
    on_change: Callable[[], None] = _nobody_to_tell
    """Called after each commit that changed the register (the live tracker's cue); it
    must return at once."""

    def writer(self, kind: Document) -> DocumentWriter:
        writers = self.writers if self.writers is not None else _real_writers()
        try:
            return writers[kind]
        except KeyError:
            raise FormflowError(f"formflow has no writer for a {kind.value}.") from None
