"""Encrypted backups through the CLI: nothing readable leaves the machine, the matching
key restores it whole, and a wrong key is refused in plain words."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pyrage
import pytest
from service_support import (
    CHILD_NAME,
    cli,
    home_at,
    on_both_engines,
    open_register,
    raise_and_withdraw,
)

from formflow.outbox.folders import Home
from formflow.web.accounts import Accounts


@pytest.fixture
def home(tmp_path: Path) -> Home:
    root = tmp_path / "home"
    with open_register(root) as register:
        raise_and_withdraw(register, root)
    return Home(root)


def key_file(folder: Path, name: str) -> tuple[str, Path]:
    """A new age key pair: the public key, and the private key's file as age-keygen writes it."""
    identity = pyrage.x25519.Identity.generate()
    path = folder / name
    path.write_text(f"# public key: {identity.to_public()}\n{identity}\n", encoding="utf-8")
    return str(identity.to_public()), path


@on_both_engines
def test_an_encrypted_backup_holds_nothing_readable_and_restores_with_its_key(
    home: Home, tmp_path: Path, next_home_register: Callable[[], None]
) -> None:
    public, private = key_file(tmp_path, "backup.key")
    with closing(Accounts.of(home_at(home.root))) as accounts:
        accounts.add("amara.okafor", None, role="business-support")  # signs in through SSO
        users = accounts.users()
    destination = tmp_path / "offsite" / "formflow-2026-12-03"
    code, output = cli(home.root, "backup", str(destination), "--encrypt-to", public)
    assert code == 0, output
    assert "(encrypted)" in output
    assert sorted(p.name for p in destination.iterdir()) == [
        "formflow-backup.tar.age",
        "sealed.json",
    ]
    for written in destination.iterdir():
        data = written.read_bytes()
        assert CHILD_NAME.encode() not in data and b"raise-" not in data and b"SQLite" not in data
    assert not list(home.var.glob(".sealing-*"))  # the plain copy is gone

    with open_register(home.root) as before:
        [reference] = before.references()
        backed_up = before.challenge(reference)
    restored = tmp_path / "restored"
    next_home_register()
    code, output = cli(restored, "restore", str(destination), "--identity", str(private))
    assert code == 0, output
    assert "The register agrees with the archive and the outbox." in output
    with open_register(restored) as after:
        assert after.references() == [reference]
        assert after.challenge(reference) == backed_up
    with closing(Accounts.of(home_at(restored))) as accounts:
        assert accounts.users() == users


# SQLite only: that nothing was restored is seen as no var/formflow.db made.
def test_a_wrong_key_or_no_key_is_refused_plainly(home: Home, tmp_path: Path) -> None:
    public, _ = key_file(tmp_path, "right.key")
    _, wrong = key_file(tmp_path, "wrong.key")
    destination = tmp_path / "offsite"
    assert cli(home.root, "backup", str(destination), "--encrypt-to", public)[0] == 0

    code, output = cli(tmp_path / "r1", "restore", str(destination), "--identity", str(wrong))
    assert code == 1
    assert f"The key in {wrong} does not open this backup: it was encrypted for {public}" in output
    assert not (tmp_path / "r1" / "var" / "formflow.db").exists()

    code, output = cli(tmp_path / "r2", "restore", str(destination))
    assert (
        code == 1 and "is encrypted: give the private key it was made for with --identity" in output
    )


def test_a_recipient_that_is_not_a_key_is_refused_before_anything_is_written(
    home: Home, tmp_path: Path
) -> None:
    destination = tmp_path / "offsite"
    code, output = cli(home.root, "backup", str(destination), "--encrypt-to", "age1nonsense")
    assert code == 1 and "is not an age public key" in output
    assert not destination.exists()
