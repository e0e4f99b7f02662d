"""Writing files that hold children's records: whole or not at all, owner-only.

Every document, register export and staged output goes through ``write_private``: a
temporary name in the same folder, fsync, then ``os.replace``, so a reader (the watcher,
a person opening the outbox) never sees half a file, and a crash leaves no partial one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import unicodedata
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
"""Owner-only: the mode of everything formflow keeps for itself (the register, the
archive, staging, backups) and, unless ``[files] mode`` says otherwise, of what it
writes for people (the outbox, the inbox)."""

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` safe to print on one line of a log or a terminal: control and format
    characters (a newline, an escape sequence, a right-to-left override) written as
    escapes. A file name can hold any of them, and printed raw one would forge a line of
    the service's output or hide what the name really says."""
    return "".join(ch if _shown_as_is(ch) else _ESCAPES.get(ch) or _escape(ch) for ch in text)


def _shown_as_is(ch: str) -> bool:
    return ch.isprintable() or unicodedata.category(ch) == "Zs"  # a no-break space, say


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def folder_mode(file_mode: int) -> int:
    """The mode of a folder holding files of ``file_mode``: open (x) to whoever may read
    (r) them, so 0o640 files sit in 0o750 folders."""
    return file_mode | (file_mode & 0o444) >> 2


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) owner-only; an existing folder is left as it is."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    return path


def shared_dir(path: Path, file_mode: int) -> Path:
    """Create ``path`` (parents owner-only) for files of ``file_mode`` (``[files] mode``),
    or set an existing one so: the setting holds for folders made before it changed. A
    set-group-ID bit (files taking the folder's group) is kept."""
    private_dir(path)
    now = path.stat().st_mode
    wanted = now & 0o7000 | folder_mode(file_mode)
    if now & 0o7777 != wanted:
        # chmod, not mkdir's mode, which the umask narrows. A folder formflow may not
        # change (a share's mount point, another account's) keeps the mode it has.
        with contextlib.suppress(PermissionError):
            path.chmod(wanted)
    return path


def write_private(path: Path, data: bytes | str, mode: int = FILE_MODE) -> Path:
    """Write ``data`` to ``path`` whole or not at all: a temporary name, fsync, rename.
    ``mode`` is the file's: owner-only unless it is one for people (``[files] mode``)."""
    private_dir(path.parent)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, mode)  # after the open, which the process's umask narrows
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return path


def create_private_once(path: Path) -> None:
    """Create an (empty) SQLite database file owner-only before SQLite first opens it (its
    WAL and shared-memory files take the same mode); an existing one is left alone.

    The file is never opened here once it exists, and a new one is made under another
    name and linked into place. Closing *any* descriptor of a file drops every POSIX lock
    this process holds on it: opening and closing the live database while another
    connection of this process had it open let a second process delete the WAL file
    from under that connection, whose commits then went into an unlinked file and were
    lost (SQLite's "How To Corrupt An SQLite Database File", section 2.2).
    """
    if path.exists():
        return
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    os.close(os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        os.link(draft, path)  # fails, harmlessly, where another process made it first
    except FileExistsError:
        pass
    finally:
        draft.unlink()
