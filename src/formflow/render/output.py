"""Writing documents where the watcher expects them: safe names, whole files, private modes."""

from __future__ import annotations

import re
from pathlib import Path

from formflow.core.record import REFERENCE_PATTERN
from formflow.errors import RenderError

_KIND = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def document_name(reference: str | None, kind: str, suffix: str) -> str:
    """``PC-2025-7KQ3XM-stage-2-form.docx``: made from the reference and the kind only, so
    nothing a person typed (a child's name, a path) reaches the file system."""
    if reference is None or not REFERENCE_PATTERN.match(reference):
        raise RenderError(
            f"Cannot name the document: the challenge reference {reference!r} is not of the "
            "form PC-2025-7KQ3XM."
        )
    if not _KIND.match(kind) or suffix not in {".docx", ".pdf"}:
        raise RenderError(f"Cannot name a document of kind {kind!r} with suffix {suffix!r}.")
    return f"{reference}-{kind}{suffix}"


def inside(folder: Path, name: str) -> Path:
    """``folder / name``, refused unless it resolves to a file directly inside ``folder``."""
    root = folder.resolve()
    target = (root / name).resolve()
    if target.parent != root:
        raise RenderError(f"Refusing to write {name!r} outside the output folder {folder}.")
    return target
