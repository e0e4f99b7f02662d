"""``formflow backup`` and ``formflow restore``: the register with the files it lists.

A backup is a folder::

    DEST/
      formflow.db          the register, copied with SQLite's online backup API
      users.db             the dashboard's users (names, password hashes, roles, people;
                           no sessions), from var/users.db or the PostgreSQL register's
                           database, if it has any
      archive/REF/CLAIM    every original the copy lists as processed
      outbox/REF/NAME      every document and email draft the copy lists
      outbox/REF/CAFCASS/  the IRO's CAFCASS documents for each challenge the copy lists,
                           every file in the folder and the folders below it
      formflow.toml        the home's settings, when it has them
      policies/*.json      HOME/policies/, when it has them: the council's own procedures
      manifest.json        SHA-256 of every file above; written last, so a folder
                           without it is an unfinished backup

The register is copied first and the files are chosen from the copy, so the backup
agrees with itself whatever a running watcher does meanwhile: a job commits before it
publishes or archives, so a file the copy lists is in its final place or, for a moment,
where its job keeps it (``outbox/.staging/``, ``inbox/.processing/``). Anything newer
than the copy waits for the next backup.

``restore`` checks every sum before it writes anything, and only into a home with no
register, archive or outbox of its own, so it can never mix two councils' records. It
restores the council's own procedures, never formflow's built-in ones (which a home in
the project folder keeps in HOME/policies/): those come with the installation. The
users go back beside the restored register, on its engine, and only where it has none.

The users are the dashboard's (``formflow.web.accounts``, which store/ may not import):
the command hands their copy in (``UsersCopy``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from formflow import __version__
from formflow.errors import BackupError
from formflow.outbox.files import private_dir, write_private
from formflow.outbox.folders import (
    CAFCASS_FOLDER,
    SUPERSEDED_FOLDER,
    Home,
    files_within,
    sha256_of,
)
from formflow.resources import policies_dir
from formflow.store.copy import copy_register, refuse_filled
from formflow.store.register import Register

MANIFEST = "manifest.json"
REGISTER = "formflow.db"
ACCOUNTS = "users.db"
"""The dashboard's users, beside the backup's register as a SQLite register keeps them."""
SETTINGS = "formflow.toml"
POLICIES = "policies"
BUILT_IN = "built_in_procedures"
"""The manifest's list of procedures backed up from formflow's own folder."""
UsersCopy = Callable[[str | Path, str | Path], AbstractContextManager[Callable[[], int]]]
"""``formflow.web.accounts.users_copied``: given the places of two registers (a SQLite
file or a URL), refuses where the second has users beside it, then copies the first's."""
LOOK_AGAIN_SECONDS = (0.2, 0.5, 1.0, 2.0)
"""Waits before looking again for a file a live job is moving into place."""


@dataclass(frozen=True)
class BackupSummary:
    destination: Path
    files: int
    bytes: int
    challenges: int
    missing: tuple[str, ...]
    """Files the register lists that were found nowhere (``formflow check`` says more)."""


def _copy_summed(source: Path, target: Path) -> tuple[str, int]:
    """Copy ``source`` to ``target`` (owner-only, fsynced); its SHA-256 and size."""
    private_dir(target.parent)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with source.open("rb") as reader, os.fdopen(fd, "wb") as writer:
        for block in iter(lambda: reader.read(1 << 16), b""):
            digest.update(block)
            writer.write(block)
            size += len(block)
        writer.flush()
        os.fsync(writer.fileno())
    return digest.hexdigest(), size


def _where(candidates: list[Path]) -> Path | None:
    """The first candidate that is a file, looking again a few times: a live job moves
    a file from where it keeps it to its final place between two looks."""
    for wait in (0.0, *LOOK_AGAIN_SECONDS):
        time.sleep(wait)
        for candidate in candidates:
            if candidate.is_file():
                return candidate
    return None


def _sources(home: Home, snapshot: Register) -> Iterator[tuple[str, list[Path]]]:
    """For each file the copied register lists: its place in the backup, and where it
    may be in the home (its final place first)."""
    staging = (
        sorted(p for p in home.staging.iterdir() if p.is_dir()) if home.staging.is_dir() else []
    )
    for row in snapshot.files():
        if row.outcome == "processed" and row.reference:
            final = home.archive / row.reference / row.claim
            yield f"archive/{row.reference}/{row.claim}", [final, home.claims / row.claim]
    outputs = [d.path for d in snapshot.documents()] + [n.path for n in snapshot.notices()]
    for path in outputs:
        yield f"outbox/{path}", [home.outbox / path, *(job / path for job in staging)]
    for reference in snapshot.references():
        for supplied in files_within(home.cafcass_for(reference)):
            yield home.relative(supplied), [supplied]


def backup_home(
    home: Home, register: Register, destination: Path, *, users: UsersCopy
) -> BackupSummary:
    """Copy the register, then its users, then what it lists, then the settings, into
    ``destination``."""
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty: give a new folder for each backup.")
    private_dir(destination)
    _snapshot(register, destination / REGISTER)
    sums: dict[str, str] = {}
    missing: list[str] = []
    with Register(destination / REGISTER) as snapshot:
        challenges = len(snapshot.references())
        wanted = list(_sources(home, snapshot))
    sums[REGISTER] = sha256_of(destination / REGISTER)  # closed: nothing more is written
    total = (destination / REGISTER).stat().st_size
    with users(home.register, destination / REGISTER) as copy_users:
        copy_users()
    accounts = destination / ACCOUNTS
    if accounts.is_file():  # a register with no users beside it has none to back up
        sums[ACCOUNTS] = sha256_of(destination / ACCOUNTS)
        total += (destination / ACCOUNTS).stat().st_size
    for relative, candidates in [*wanted, *_settings_files(home)]:
        found = _where(candidates)
        if found is None:
            missing.append(relative)
            continue
        sums[relative], size = _copy_summed(found, destination / relative)
        total += size
    manifest = {
        "formflow": __version__,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "home": str(home.root),
        "challenges": challenges,
        "files": sums,
        "missing": missing,
        BUILT_IN: _from_the_built_in_folder(home, sums),
    }
    write_private(destination / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
    return BackupSummary(destination, len(sums), total, challenges, tuple(missing))


def _snapshot(register: Register, target: Path) -> None:
    """The register as one SQLite file, whichever engine holds it: SQLite's online
    backup, or a logical copy of PostgreSQL's rows read in one snapshot and proved as
    ``register copy`` proves it; ``restore`` reads either back, onto either engine."""
    if register.engine_name == "SQLite":
        register.backup_to(target)
        return
    with Register(target) as snapshot:
        copy_register(register, snapshot)


def _settings_files(home: Home) -> Iterator[tuple[str, list[Path]]]:
    settings = home.root / SETTINGS
    if settings.is_file():
        yield SETTINGS, [settings]
    policies = home.root / POLICIES
    if policies.is_dir():
        for policy in sorted(policies.glob("*.json")):
            yield f"{POLICIES}/{policy.name}", [policy]


def _from_the_built_in_folder(home: Home, sums: dict[str, str]) -> list[str]:
    """The procedures backed up from formflow's own policies/ folder: a home in the
    project folder (``make run``) has it as HOME/policies/. Restored as the council's
    own, each would override the built-in procedure of a new installation, hiding every
    later fix to it, with a note from every command."""
    policies = home.root / POLICIES
    if not policies.is_dir() or policies.resolve() != policies_dir().resolve():
        return []
    return sorted(relative for relative in sums if relative.startswith(f"{POLICIES}/"))


def _restores_procedure(backed_up: Path, relative: str, built_in: set[str]) -> bool:
    """Whether a procedure in a backup is the council's own, to restore: one from the old
    installation's built-in folder only when this installation has none of that name
    (a council's procedure kept there); any other unless it is byte for byte this
    installation's built-in one (as in a backup made before ``BUILT_IN`` was kept)."""
    shipped = policies_dir() / backed_up.name
    if relative in built_in:
        return not shipped.is_file()
    return not (shipped.is_file() and shipped.read_bytes() == backed_up.read_bytes())


# --- restore ----------------------------------------------------------------------------


def verify_backup(source: Path) -> dict[str, Any]:
    """The manifest, once every file is there with its sum; else BackupError naming each
    file that is missing or changed."""
    try:
        manifest: dict[str, Any] = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
        sums = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(
            f"{source} has no readable {MANIFEST}: it is not a formflow backup, or the "
            "backup did not finish."
        ) from exc
    problems = []
    for relative, expected in sorted(sums.items()):
        path = _inside(source, relative)
        if not path.is_file():
            problems.append(f"{relative} is missing")
        elif sha256_of(path) != expected:
            problems.append(f"{relative} has changed since the backup (its SHA-256 differs)")
    if problems:
        raise BackupError(f"The backup in {source} cannot be trusted: " + "; ".join(problems) + ".")
    return manifest


_SHAPES = {REGISTER: 1, ACCOUNTS: 1, SETTINGS: 1, POLICIES: 2, "archive": 3, "outbox": 3}
"""The top of each path a manifest may name, and how many parts such a path has; and
below ``outbox/REF/CAFCASS/``, the IRO's folder, any number; ``outbox/REF/superseded/NAME``
is a document a newer copy replaced."""


def _inside(root: Path, relative: str) -> Path:
    """``root/relative`` for a path of a backup's own shape; a manifest entry that could
    reach elsewhere (``..``, an absolute path, a name formflow never writes) is refused."""
    parts = relative.split("/")
    supplied = len(parts) > 3 and parts[0] == "outbox" and parts[2] == CAFCASS_FOLDER
    superseded = len(parts) == 4 and parts[0] == "outbox" and parts[2] == SUPERSEDED_FOLDER
    shaped = _SHAPES.get(parts[0]) == len(parts) or supplied or superseded
    if not shaped or any(p in {"", ".", ".."} for p in parts):
        raise BackupError(f"The manifest names {relative!r}, which no backup holds: refused.")
    return root / relative


def _refuse_a_used_home(home: Home) -> None:
    used = [
        str(p)
        for p in (home.database, home.archive, home.outbox)
        if p.is_file() or (p.is_dir() and any(q for q in p.iterdir() if not q.name.startswith(".")))
    ]
    if used:
        raise BackupError(
            "A backup is restored only into a home with no register, archive or outbox of "
            f"its own, and {home.root} has {', '.join(used)}: restore into a new folder."
        )
    if home.register_url:
        with Register(home.register_url) as server:
            refuse_filled(server)


def restore_home(source: Path, home: Home, *, users: UsersCopy) -> int:
    """Check the backup in ``source``, then lay it out in the empty ``home`` (refused
    where the home's register has users beside it already); the number of files
    restored."""
    manifest = verify_backup(source)
    _refuse_a_used_home(home)
    backed_up = _backed_up_users(source, manifest, home)
    with backed_up as place, users(place, home.register) as copy_users:
        restored = _lay_out(source, manifest, home)
        copy_users()
    return restored


@contextmanager
def _backed_up_users(source: Path, manifest: dict[str, Any], home: Home) -> Iterator[Path]:
    """The place of a register beside which the backup's users are: a scratch copy under
    the home's var/, as opening them may bring their schema up to date and the backup must
    stay as its sums say; removed afterwards."""
    scratch = private_dir(home.var / f".restoring-users-{secrets.token_hex(4)}")
    try:
        if ACCOUNTS in manifest["files"]:
            _copy_summed(source / ACCOUNTS, scratch / ACCOUNTS)
        yield scratch / REGISTER
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _lay_out(source: Path, manifest: dict[str, Any], home: Home) -> int:
    """Every file of the checked backup but its users in its place in ``home``, and the
    register onto the home's server if it has one; the number of files restored."""
    built_in = set(manifest.get(BUILT_IN, []))
    home.create()
    restored = 0
    for relative in sorted(manifest["files"]):
        if relative == ACCOUNTS:  # copied instead, beside the register on its engine
            continue
        target = _restored_place(home, relative)
        if target.exists():  # formflow.toml or a policy the new home already has
            continue
        if relative.startswith(f"{POLICIES}/") and not _restores_procedure(
            _inside(source, relative), relative, built_in
        ):
            continue
        private_dir(target.parent)
        temporary = target.with_name(f".{target.name}.restoring")
        temporary.unlink(missing_ok=True)
        _copy_summed(_inside(source, relative), temporary)
        os.replace(temporary, target)
        restored += 1
    if home.register_url:
        _onto_the_server(home, home.register_url)
    return restored


def _onto_the_server(home: Home, url: str) -> None:
    """The restored SQLite register's rows into the home's empty PostgreSQL register;
    the file is then removed, so that only one register is ever in use."""
    with Register(home.database) as restored, Register(url) as server:
        copy_register(restored, server)
    home.database.unlink()


def _restored_place(home: Home, relative: str) -> Path:
    if relative == REGISTER:
        return home.database
    top, _, rest = relative.partition("/")
    if top == "archive":
        return home.archive / rest
    if top == "outbox":
        return home.outbox / rest
    return home.root / relative
