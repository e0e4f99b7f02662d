"""The home folder's layout and the file moves, each atomic and safe to repeat.

    HOME/
      formflow.toml            optional settings
      inbox/                   forms are dropped here
        .processing/           claimed files (TIMESTAMP-RANDOM--original name)
        rejected/              NAME beside NAME.errors.txt, in plain English
      outbox/
        REFERENCE/             documents and covering .eml drafts for one challenge
          CAFCASS/             the IRO's documents for a CAFCASS referral (formflow pack)
          superseded/          earlier copies of a form a newer one replaced (formflow extend)
        .staging/JOB/REFERENCE/  outputs written but not yet published
      var/
        formflow.db            the register (SQLite, WAL)
        archive/REFERENCE/     each original form, under its claim name

With ``[folders] shared`` (several servers on one network share, a PostgreSQL register)
the inbox, the outbox and the archive are in that shared folder instead, and the home
keeps what is each server's own: formflow.toml, var/ (logs, the PDF process's files, the
dashboard's key) on the machine's own disk::

    SHARED/inbox/  SHARED/outbox/  SHARED/archive/REFERENCE/

Every directory is created owner-only (0o700) and every file formflow writes is 0o600,
except what is there for people: the inbox, ``inbox/rejected/``, the outbox and what is
published into it take ``[files] mode`` (``Home.file_mode``) and its folder mode.

A watcher claims a file by ``os.rename`` into ``inbox/.processing/`` under a unique
name: rename is atomic within one file system, so of two watchers only one succeeds;
the other gets ``FileNotFoundError`` and moves on. The claim folder sits inside the inbox
so the rename never crosses file systems (an inbox on a share, var/ on a local disk).
A process takes an exclusive ``flock`` on a file before it claims it and holds it for as
long as it works on it (the lock is on the file, so it follows it through the rename).
Recovery takes over a claim only if it can take that lock, so a live watcher's work is
never picked up by another process on this machine, nor by its own rescan (flock is
released by the kernel when a process dies, even by ``kill -9``). Across machines a lock
on a share cannot be trusted: the register's claims decide there
(``formflow.pipeline.claims``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import logging
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from formflow.errors import FormflowError
from formflow.outbox.files import FILE_MODE, private_dir, shared_dir

log = logging.getLogger(__name__)

CLAIM_SEPARATOR = "--"
CAFCASS_FOLDER = "CAFCASS"
SUPERSEDED_FOLDER = "superseded"
"""``outbox/REFERENCE/superseded/``: earlier copies of a document a newer copy replaced."""
NOTE_SUFFIX = ".errors.txt"
_CLAIM_NAME = re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}--(?P<name>.+)", re.DOTALL)
"""A claim's name; the dropped name after the prefix may hold any character, a newline too."""


@dataclass(frozen=True)
class Home:
    """Where one formflow service keeps its folders."""

    root: Path
    file_mode: int = FILE_MODE
    """The mode of files written for people on the share (``[files] mode``)."""
    register_url: str | None = None
    """The register on PostgreSQL (``[register] url``); None for SQLite in var/."""
    shared: Path | None = None
    """``[folders] shared``: the folder on a network share that holds the inbox, the
    outbox and the archive, for several servers at once; None: they are in the home."""

    @property
    def shared_root(self) -> Path:
        """The folder above the inbox, the outbox and the archive."""
        return self.shared or self.root

    @property
    def inbox(self) -> Path:
        return self.shared_root / "inbox"

    @property
    def claims(self) -> Path:
        return self.inbox / ".processing"

    @property
    def rejected(self) -> Path:
        return self.inbox / "rejected"

    @property
    def outbox(self) -> Path:
        return self.shared_root / "outbox"

    @property
    def staging(self) -> Path:
        return self.outbox / ".staging"

    @property
    def var(self) -> Path:
        return self.root / "var"

    @property
    def archive(self) -> Path:
        """In var/ on one server; beside the inbox and outbox on a shared folder, where
        every server reaches it (``formflow check`` from either reads it)."""
        return self.shared / "archive" if self.shared else self.var / "archive"

    @property
    def database(self) -> Path:
        """The SQLite register's file (used when no ``register_url`` is set)."""
        return self.var / "formflow.db"

    @property
    def register(self) -> str | Path:
        """What ``Register`` opens: the PostgreSQL URL, else the SQLite file."""
        return self.register_url or self.database

    def create(self) -> None:
        if self.shared is not None and not self.shared.is_dir():
            raise FormflowError(
                f"The shared folder {self.shared} ([folders] shared) is not there: mount the "
                "share, or correct the setting."
            )
        for shared in (self.inbox, self.rejected, self.outbox):
            shared_dir(shared, self.file_mode)
        for folder in (self.claims, self.staging, self.var, self.archive):
            private_dir(folder)

    def relative(self, path: Path) -> str:
        """``path`` as a journal or a backup names it: from the shared folder for what is
        in it (``archive/...``, ``outbox/...``), else from the home (``var/...``)."""
        if self.shared is not None and path.is_relative_to(self.shared):
            return path.relative_to(self.shared).as_posix()
        return path.relative_to(self.root).as_posix()

    def place(self, relative: str) -> Path:
        """Where a path named by ``relative`` is: the inverse of ``relative``."""
        top = relative.split("/", 1)[0]
        if self.shared is not None and top in {"inbox", "outbox", "archive"}:
            return self.shared / relative
        return self.root / relative

    def outbox_for(self, reference: str) -> Path:
        return self.outbox / reference

    def cafcass_for(self, reference: str) -> Path:
        """Where the IRO keeps the documents for a challenge's CAFCASS referral."""
        return self.outbox_for(reference) / CAFCASS_FOLDER


def files_within(folder: Path) -> Iterator[Path]:
    """Every file in ``folder`` and the folders below it, in order; links are not
    followed (what one points to is not the IRO's to keep)."""
    for root, folders, names in os.walk(folder):
        folders.sort()
        for name in sorted(names):
            path = Path(root) / name
            if not is_special(path) and path.is_file():
                yield path


# --- small atomic primitives ------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def is_special(path: Path) -> bool:
    """True for a link, a named pipe, a socket or a device: an entry that is not itself a
    file, whose "content" is somewhere else or never ends. False for a file, or a path
    that has gone."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


@contextlib.contextmanager
def held(path: Path) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` for the block: True when this process has it
    and the path still names the file locked; False when another process holds it or the
    file has gone (another watcher finished it). Never through a link, and never waiting
    on a named pipe: such an entry is not a file to hold (``is_special``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno not in {errno.ENOENT, errno.ELOOP}:  # ELOOP: a link put in its place
            raise
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            opened = os.fstat(fd)
            same = stat.S_ISREG(opened.st_mode) and os.path.samestat(os.stat(path), opened)
        except FileNotFoundError:
            same = False
        yield same
    finally:
        os.close(fd)


def _move_no_clobber(source: Path, target: Path) -> None:
    """Rename that never replaces an existing ``target`` (``FileExistsError`` instead)."""
    try:
        os.link(source, target, follow_symlinks=False)  # a link moves as itself
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}:
            raise
        # No hard links (some shares): a check then a rename; the window is tiny.
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        os.rename(source, target)
        return
    os.unlink(source)


# --- claim ----------------------------------------------------------------------------


MAX_KEPT_NAME_BYTES = 200
"""How much of a dropped file's name is kept: room, inside the 255-byte limit on a file
name, for the claim prefix and for ' (n)' and '.errors.txt' beside a rejected file."""


def fit_name(name: str) -> str:
    """``name``, or its start and its suffix joined by '~' when it is too long to keep."""
    data = name.encode("utf-8")
    if len(data) <= MAX_KEPT_NAME_BYTES:
        return name
    suffix = Path(name).suffix
    if len(suffix.encode("utf-8")) > 16:  # not a real suffix: keep the start of the name only
        suffix = ""
    keep = MAX_KEPT_NAME_BYTES - len(suffix.encode("utf-8")) - 1
    return f"{data[:keep].decode('utf-8', errors='ignore')}~{suffix}"


def claim_name(original: str, now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}{CLAIM_SEPARATOR}{fit_name(original)}"


def original_name(claimed: Path | str) -> str:
    """The name the file was dropped under."""
    name = claimed if isinstance(claimed, str) else claimed.name
    match = _CLAIM_NAME.fullmatch(name)
    return match["name"] if match else name


def drop(file: Path, inbox: Path) -> Path:
    """``file`` dropped into ``inbox`` under its own name, as a person would save it there
    (``formflow process``): copied, unless it is in the inbox already. Never over another
    file of that name: that one is a form someone dropped, and the watcher's."""
    dropped = inbox / file.name
    if file.resolve() == dropped.resolve():
        return dropped
    try:
        with file.open("rb") as source, dropped.open("xb") as target:
            shutil.copyfileobj(source, target)
    except FileExistsError:
        raise FormflowError(
            f"{dropped} already exists in the inbox; the watcher will handle it."
        ) from None
    return dropped


def claim(path: Path, claims: Path, now: dt.datetime) -> Path | None:
    """Move ``path`` into the claim folder under a unique name; None if another watcher
    (or the person who dropped it) took it first."""
    target = claims / claim_name(path.name, now)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        log.info("%s: gone before it could be claimed (another watcher has it)", path.name)
        return None
    return target


# --- outputs ---------------------------------------------------------------------------


def job_dir(home: Home, job: str) -> Path:
    return private_dir(home.staging / job)


def free_name(folder: Path, name: str, taken: set[str]) -> str:
    """``name``, or ``stem (2).suffix`` and so on: a name not in ``folder`` nor ``taken``."""
    stem, dot, suffix = name.partition(".")
    candidate, n = name, 1
    while candidate in taken or (folder / candidate).exists():
        n += 1
        candidate = f"{stem} ({n}){dot}{suffix}"
    return candidate


def set_aside(current: Path, staged: Path) -> None:
    """Stage ``current``, a published document a newer copy replaces, for its place under
    ``superseded/`` (``staged``): a hard link, or a copy where the share has none. The
    outbox is untouched until ``publish``, so a job that never commits leaves no trace."""
    private_dir(staged.parent)
    try:
        os.link(current, staged, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}:
            raise
        shutil.copy2(current, staged)


def publish(
    staged: Path, outbox: Path, committed: Callable[[str], bool], file_mode: int = FILE_MODE
) -> tuple[list[Path], list[Path]]:
    """Move each ``staged/REFERENCE/NAME`` to ``outbox/REFERENCE/NAME`` when the register
    has it (``committed("REFERENCE/NAME")``), else delete it; then remove ``staged``.
    Earlier copies staged under ``REFERENCE/superseded/`` go to their place first, so the
    newer copy that then takes the plain name never loses the older one.
    What is published takes ``file_mode`` (``[files] mode``), its folder the folder mode.

    Safe to repeat after a crash at any point: a moved file is no longer staged."""
    published: list[Path] = []
    discarded: list[Path] = []

    def place(item: Path, relative: str, folder: Path) -> None:
        if item.name.startswith(".") or item.is_dir() or not committed(relative):
            if item.is_dir():
                shutil.rmtree(item)
            else:
                item.unlink()
            discarded.append(item)
            return
        target = shared_dir(folder, file_mode) / item.name
        item.chmod(file_mode)
        os.replace(item, target)
        published.append(target)

    # Another process may publish the same job at the same time (the owner just after its
    # commit, recovery under the lock): every step tolerates the file already gone.
    with contextlib.suppress(FileNotFoundError):
        for folder in sorted(p for p in staged.iterdir() if p.is_dir()):
            earlier = folder / SUPERSEDED_FOLDER
            with contextlib.suppress(FileNotFoundError):
                for item in sorted(earlier.iterdir()):
                    relative = f"{folder.name}/{SUPERSEDED_FOLDER}/{item.name}"
                    with contextlib.suppress(FileNotFoundError):
                        place(item, relative, outbox / folder.name / SUPERSEDED_FOLDER)
            with contextlib.suppress(OSError):
                earlier.rmdir()
            with contextlib.suppress(FileNotFoundError):
                for item in sorted(folder.iterdir()):
                    with contextlib.suppress(FileNotFoundError):
                        place(item, f"{folder.name}/{item.name}", outbox / folder.name)
            with contextlib.suppress(OSError):
                folder.rmdir()
        for leftover in staged.iterdir():  # scratch folders, stray files
            with contextlib.suppress(FileNotFoundError):
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
                discarded.append(leftover)
    with contextlib.suppress(OSError):
        staged.rmdir()
    return published, discarded


# --- archive and reject -----------------------------------------------------------------


def archive(claimed: Path, folder: Path) -> Path:
    """Move the claimed original into ``folder`` under its (unique) claim name."""
    private_dir(folder)
    target = folder / claimed.name
    try:
        os.replace(claimed, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        temporary = folder / f".{claimed.name}.tmp"
        shutil.copyfile(claimed, temporary)
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
        claimed.unlink()
    return target


def _slot(original: str, n: int) -> str:
    """The n-th name to try in rejected/. A hidden name loses its leading dots there, so
    the person looking in the folder sees the file and its note (the note names it)."""
    visible = original.lstrip(".") or original
    if n == 1:
        return visible
    stem, dot, suffix = visible.partition(".")
    return f"{stem} ({n}){dot}{suffix}"


def reject(claimed: Path, folder: Path, note: str, file_mode: int = FILE_MODE) -> Path:
    """Move the claimed file to ``folder/NAME`` beside ``NAME.errors.txt`` holding ``note``;
    on a clash ``NAME (2)`` and so on, never overwriting. Repeating it after a crash
    finds the note it already wrote. Both take ``file_mode``: the person who dropped the
    file reads the note on the share (``[files] mode``)."""
    shared_dir(folder, file_mode)
    name = original_name(claimed)
    text = note if note.endswith("\n") else note + "\n"
    for n in range(1, 100_000):
        created = False
        target = folder / _slot(name, n)
        note_path = folder / (target.name + NOTE_SUFFIX)
        if os.path.lexists(target):
            continue
        if note_path.exists():
            try:
                mine = note_path.read_text(encoding="utf-8") == text
            except OSError:
                mine = False
            if not mine:
                continue
        else:
            try:
                fd = os.open(note_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            os.fchmod(fd, file_mode)  # after the open, which the umask narrows
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            created = True
        try:
            _move_no_clobber(claimed, target)
        except FileExistsError:
            continue
        except FileNotFoundError:  # another process filed it first: no note of ours stays
            if created:
                note_path.unlink(missing_ok=True)
            raise
        if not target.is_symlink() and target.is_file():  # never a link's target, or a pipe
            target.chmod(file_mode)
        return target
    raise OSError(f"No free name for {name} in {folder}")
