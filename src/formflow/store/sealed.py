"""Encrypted backups: ``formflow backup --encrypt-to`` and their ``restore --identity``.

What leaves the machine is one file encrypted with age (https://age-encryption.org, through
pyrage, its maintained Python binding: X25519 and SSH keys, ChaCha20-Poly1305)::

    DEST/
      formflow-backup.tar.age   the whole backup (see ``backup``), as a tar, encrypted
      sealed.json               the recipients' public keys and the SHA-256 of the file
                                above; written last, so a folder without it is unfinished

Only public keys are needed to back up: the private key (the "identity") is kept apart,
and is needed only to restore. The plain backup is made first in a private folder under
``HOME/var/``, on the disk that already holds the live records, and removed once
encrypted: nothing unencrypted is ever written to DEST. Names of files (an original's
name can hold a child's) are inside the encrypted tar, never beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyrage

from formflow import __version__
from formflow.errors import BackupError
from formflow.outbox.files import private_dir, write_private
from formflow.outbox.folders import Home, sha256_of
from formflow.store.backup import BackupSummary, UsersCopy, backup_home, restore_home
from formflow.store.register import Register

SEALED = "sealed.json"
ARCHIVE = "formflow-backup.tar.age"

Recipient = pyrage.x25519.Recipient | pyrage.ssh.Recipient
Identity = pyrage.x25519.Identity | pyrage.ssh.Identity


def parse_recipient(text: str) -> Recipient:
    """An age public key (``age1...``) or an SSH public key line."""
    text = text.strip()
    try:
        if text.startswith("age1"):
            return pyrage.x25519.Recipient.from_str(text)
        return pyrage.ssh.Recipient.from_str(text)
    except (pyrage.RecipientError, ValueError) as exc:
        raise BackupError(
            f"{text[:20]}... is not an age public key (age1...) or an SSH public key: give "
            "the public key printed by `age-keygen` (see the README)."
        ) from exc


def read_identities(path: Path) -> list[Identity]:
    """The private keys in an identity file: age's (``AGE-SECRET-KEY-1...`` lines, with
    ``#`` comments), or an unencrypted SSH private key."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"The identity file {path} cannot be read ({exc}).") from exc
    try:
        if "PRIVATE KEY" in text:
            return [pyrage.ssh.Identity.from_buffer(text.encode())]
        keys = [line.strip() for line in text.splitlines() if line.startswith("AGE-SECRET-KEY-")]
        found: list[Identity] = [pyrage.x25519.Identity.from_str(k) for k in keys]
    except (pyrage.IdentityError, ValueError) as exc:
        raise BackupError(f"The identity file {path} holds a key age cannot read ({exc}).") from exc
    if not found:
        raise BackupError(
            f"{path} holds no private key: give the file `age-keygen -o` wrote (its key line "
            "starts AGE-SECRET-KEY-1)."
        )
    return found


@contextmanager
def _scratch(home: Home) -> Iterator[Path]:
    """A private folder under var/ for the plain copy, removed whatever happens."""
    folder = private_dir(home.var / f".sealing-{secrets.token_hex(4)}")
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sealed_backup(
    home: Home, register: Register, destination: Path, recipients: list[str], *, users: UsersCopy
) -> BackupSummary:
    """``backup_home`` into a private scratch folder, then one tar of it encrypted to
    ``recipients`` into ``destination``."""
    keys = [parse_recipient(r) for r in recipients]
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} is not empty: give a new folder for each backup.")
    with _scratch(home) as scratch:
        summary = backup_home(home, register, scratch / "backup", users=users)
        plain = scratch / "backup.tar"
        with tarfile.open(plain, "w") as tar:
            tar.add(scratch / "backup", arcname="backup")
        private_dir(destination)
        sealed = destination / ARCHIVE
        temporary = destination / f".{ARCHIVE}.{secrets.token_hex(4)}.tmp"
        try:
            pyrage.encrypt_file(str(plain), str(temporary), keys)
            os.chmod(temporary, 0o600)
            os.replace(temporary, sealed)
        finally:
            temporary.unlink(missing_ok=True)
    write_private(
        destination / SEALED,
        json.dumps(
            {
                "formflow": __version__,
                "created": dt.datetime.now().isoformat(timespec="seconds"),
                "recipients": [r.strip() for r in recipients],
                "sha256": sha256_of(sealed),
                "challenges": summary.challenges,
            },
            indent=2,
        ),
    )
    return BackupSummary(
        destination, summary.files, sealed.stat().st_size, summary.challenges, summary.missing
    )


def is_sealed(source: Path) -> bool:
    return (source / SEALED).is_file()


def restore_sealed(source: Path, identity: Path | None, home: Home, *, users: UsersCopy) -> int:
    """Check the encrypted file's sum, decrypt it with ``identity`` into a private scratch
    folder of the new home, and restore from there (every file's sum checked again)."""
    if identity is None:
        raise BackupError(
            f"The backup in {source} is encrypted: give the private key it was made for with "
            "--identity FILE."
        )
    identities = read_identities(identity)
    try:
        sealed = json.loads((source / SEALED).read_text(encoding="utf-8"))
        expected = sealed["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{source / SEALED} cannot be read: the backup did not finish.") from exc
    if not (source / ARCHIVE).is_file() or sha256_of(source / ARCHIVE) != expected:
        raise BackupError(
            f"{source / ARCHIVE} is missing or has changed since the backup (its SHA-256 "
            "differs): it cannot be trusted."
        )
    private_dir(home.var)
    with _scratch(home) as scratch:
        plain = scratch / "backup.tar"
        try:
            pyrage.decrypt_file(str(source / ARCHIVE), str(plain), identities)
        except pyrage.DecryptError as exc:
            raise BackupError(
                f"The key in {identity} does not open this backup: it was encrypted for "
                f"{', '.join(sealed.get('recipients', []))}. Use the private key kept for "
                "these backups."
            ) from exc
        with tarfile.open(plain) as tar:
            tar.extractall(scratch, filter="data")
        plain.unlink()
        return restore_home(scratch / "backup", home, users=users)
