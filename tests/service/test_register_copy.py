"""`formflow register copy` (issue 26): a whole register from SQLite to PostgreSQL and
back, into an empty register only, proved row by row and then checked as `check` does."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from service_support import cli, make_challenge, new_form

from formflow.config import REGISTER_URL_ENV
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import assess
from formflow.policy_catalogue import built_in
from formflow.store.register import Register
from postgres_server import Cluster

AT = dt.datetime(2025, 11, 3, 9, 30)
CHALLENGES = 300


def _sqlite_home(root: Path) -> Path:
    """A home whose SQLite register has one form processed (files, documents, notices
    on disk) and a few hundred challenges more, each with an event and a reminder."""
    forms = root / "forms"
    forms.mkdir(parents=True)
    home = root / "home"
    code, output = cli(home, "process", str(new_form(forms, "first.docx")))
    assert code == 0, output
    policy = built_in()("nelincs")
    with Register(home / "var" / "formflow.db") as register, register.transaction():
        for n in range(CHALLENGES):
            reference = f"PC-2025-{n:06d}"
            challenge = dataclasses.replace(make_challenge(), reference=reference)
            register.save_challenge(
                challenge, assess(challenge, policy, WorkingCalendar(), AT.date()), AT
            )
            register.add_event(
                reference, "transition", AT, message="Raised at Stage 1.", actor="Tegan's IRO"
            )
            register.add_reminder(reference, "action 1", AT.date())
    return home


def _contents(register: Register) -> dict[str, list[str]]:
    return {
        "references": register.references(),
        "events": [f"{e.id} {e.reference} {e.what} {e.at} {e.actor}" for e in register.events()],
        "files": [f"{f.claim} {f.sha256} {f.outcome}" for f in register.files()],
        "documents": [d.path for d in register.documents()],
        "notices": [n.path for n in register.notices()],
    }


def test_a_register_moves_to_postgresql_and_back_unchanged(
    postgres: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _sqlite_home(tmp_path)
    with Register(home / "var" / "formflow.db") as original:
        before = _contents(original)
    assert len(before["references"]) == CHALLENGES + 1 and before["documents"]

    url = postgres.new_database()
    code, output = cli(home, "register", "copy", "--to", url)
    assert code == 0, output
    assert f"challenges {CHALLENGES + 1}" in output and "agrees" in output
    with Register(url) as copied:
        assert _contents(copied) == before
        # the identity columns go on after the copied ids
        assert copied.add_event(None, "note", AT) == len(before["events"]) + 1

    monkeypatch.setenv(REGISTER_URL_ENV, url)
    code, output = cli(home, "check")
    assert code == 0 and "agrees" in output, output

    monkeypatch.delenv(REGISTER_URL_ENV)
    back = tmp_path / "back.db"
    code, output = cli(home, "register", "copy", "--to", str(back))
    assert code == 0, output
    with Register(back) as returned:
        assert _contents(returned) == before


def test_a_copy_into_a_register_with_records_is_refused(postgres: Cluster, tmp_path: Path) -> None:
    home = tmp_path / "home"
    forms = tmp_path / "forms"
    forms.mkdir()
    assert cli(home, "process", str(new_form(forms, "one.docx")))[0] == 0
    url = postgres.new_database()
    with Register(url) as used:
        used.add_event(None, "note", AT, message="Already in use.")
    code, output = cli(home, "register", "copy", "--to", url)
    assert code == 1
    assert "The target register is not empty (events have rows)" in output
    with Register(url) as untouched:
        assert [e.message for e in untouched.events()] == ["Already in use."]
        assert untouched.references() == []


def test_a_register_is_copied_from_postgresql_into_a_new_home(
    postgres: Cluster, tmp_path: Path
) -> None:
    url = postgres.new_database()
    with Register(url) as server:
        server.add_event(None, "note", AT, message="Kept on the server.")
    home = tmp_path / "new home"
    code, output = cli(home, "register", "copy", "--from", url)
    assert code == 0, output
    with Register(home / "var" / "formflow.db") as local:
        assert [e.message for e in local.events()] == ["Kept on the server."]


def test_a_postgresql_register_is_backed_up_and_restored_onto_postgresql(
    postgres: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """backup takes a logical copy of the server's rows into the backup's formflow.db;
    restore into a home whose register is on PostgreSQL puts them on the server again."""
    url = postgres.new_database()
    monkeypatch.setenv(REGISTER_URL_ENV, url)
    forms = tmp_path / "forms"
    forms.mkdir()
    home = tmp_path / "home"
    assert cli(home, "process", str(new_form(forms, "one.docx")))[0] == 0
    with Register(url) as server:
        before = _contents(server)
    code, output = cli(home, "backup", str(tmp_path / "backup"))
    assert code == 0 and "Backed up 1 challenge(s)" in output, output

    restored_url = postgres.new_database()
    monkeypatch.setenv(REGISTER_URL_ENV, restored_url)
    restored = tmp_path / "restored"
    code, output = cli(restored, "restore", str(tmp_path / "backup"))
    assert code == 0 and "agrees" in output, output
    with Register(restored_url) as server:
        assert _contents(server) == before
    assert not (restored / "var" / "formflow.db").exists(), "two registers left in use"
