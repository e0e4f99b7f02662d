"""Writing documents where the watcher expects them: safe names, whole files, private modes."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

from formflow.errors import RenderError
from formflow.record import REFERENCE_PATTERN

_KIND = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FILE_MODE = 0o600
"""Children's records: readable by the service account only."""


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


def write_atomically(path: Path, data: bytes) -> Path:
    """Write under a temporary name in the same folder, then rename into place: the watcher
    never sees half a file, and a failed render leaves no partial document behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".formflow-", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path
