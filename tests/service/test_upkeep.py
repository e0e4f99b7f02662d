"""check, backup and restore: every disagreement is found, a backup restores whole."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from service_support import (
    cli,
    drop_json,
    fake_pipeline,
    home_at,
    make_challenge,
    on_both_engines,
    open_register,
)

from formflow.cli import main
from formflow.config import Settings
from formflow.core.record import Response
from formflow.errors import BackupError
from formflow.outbox import folders
from formflow.outbox.folders import Home
from formflow.pipeline import Outcome, Pipeline
from formflow.store.backup import backup_home, restore_home, verify_backup
from formflow.store.check import check_home
from formflow.web.accounts import Accounts, SignInLimiter, users_copied
from formflow.web.app import create_app

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Argon2id still, cheap enough for tests."""
PASSWORD = "three random words"


def raise_and_answer(pipeline: Pipeline) -> str:
    """One challenge raised, then answered 'not resolved' (so moved to stage 2)."""
    first = pipeline.handle(
        drop_json(pipeline.home.inbox, "raise.docx", make_challenge(reference=None))
    )
    assert first.outcome is Outcome.PROCESSED and first.reference
    stored = pipeline.register.challenge(first.reference)
    assert stored is not None
    answer = dataclasses.replace(
        stored, response=Response("We disagree.", dt.date(2025, 11, 5), "Priya Raman", False)
    )
    second = pipeline.handle(drop_json(pipeline.home.inbox, "answer.docx", answer))
    assert second.outcome is Outcome.PROCESSED
    return first.reference


@pytest.fixture
def home(tmp_path: Path) -> Home:
    root = tmp_path / "home"
    with open_register(root) as register:
        raise_and_answer(fake_pipeline(root, register))
    return home_at(root)


def kinds(home: Home) -> list[str]:
    with open_register(home.root) as register:
        return [f.kind for f in check_home(home, register).problems]


@on_both_engines
def test_a_home_the_pipeline_made_agrees_with_itself(home: Home) -> None:
    with open_register(home.root) as register:
        report = check_home(home, register)
    assert report.ok, report.problems
    assert report.counts == {
        "challenges": 1,
        "files": 2,
        "archived": 2,
        "outputs": 4,
        "CAFCASS files": 0,
    }


@on_both_engines
def test_an_original_missing_from_the_archive_is_found(home: Home) -> None:
    archived = next(p for p in home.archive.rglob("*") if p.is_file())
    archived.unlink()
    assert kinds(home) == ["original missing"]


def test_an_archived_original_the_register_does_not_know_is_found(home: Home) -> None:
    reference = next(p for p in home.archive.iterdir()).name
    (home.archive / reference / "20251103T090000-0a1b2c3d--stray.docx").write_bytes(b"x")
    assert kinds(home) == ["archived without record"]


def test_a_document_missing_from_the_outbox_is_found(home: Home) -> None:
    document = next(home.outbox.glob("*/*.docx"))
    document.unlink()
    assert kinds(home) == ["output missing"]


def test_a_file_in_the_outbox_the_register_does_not_know_is_found(home: Home) -> None:
    reference = next(p for p in home.archive.iterdir()).name
    (home.outbox / reference / "forged-final-record.docx").write_bytes(b"x")
    assert kinds(home) == ["output without record"]


@on_both_engines
def test_a_file_whose_event_is_gone_and_a_record_that_disagrees_are_found(home: Home) -> None:
    with open_register(home.root) as register, register.transaction():
        register._execute(
            "DELETE FROM events WHERE what = 'file' AND id = (SELECT min(id) FROM events WHERE what = 'file')"
        )
        register._execute("UPDATE challenges SET stage = '4'")
    assert sorted(kinds(home)) == ["file without event", "record disagrees"]


@on_both_engines
def test_work_in_flight_is_reported_as_such_not_as_a_problem(home: Home) -> None:
    with open_register(home.root) as register:
        claim = folders.claim_name("working.docx", dt.datetime(2025, 11, 3, 9))
        register.note_claim(claim, "working.docx", "0" * 64, dt.datetime(2025, 11, 3, 9))
        report = check_home(home, register)
    assert report.ok
    assert report.in_progress == ["working.docx is being processed."]


@on_both_engines
def test_check_prints_each_problem_and_exits_1(home: Home) -> None:
    next(home.outbox.glob("*/*.eml")).unlink()
    runner = CliRunner()
    plain = runner.invoke(main, ["check", "--home", str(home.root)])
    assert plain.exit_code == 1
    assert "PROBLEM (output missing): The register lists the email draft outbox/" in plain.output
    as_json = runner.invoke(main, ["check", "--home", str(home.root), "--json"])
    assert as_json.exit_code == 1
    report = json.loads(as_json.output)
    assert report["ok"] is False and report["problems"][0]["kind"] == "output missing"


@on_both_engines
def test_a_restored_home_passes_check_and_goes_on_processing(
    home: Home, tmp_path: Path, next_home_register: Callable[[], None]
) -> None:
    (home.root / "formflow.toml").write_text('[council]\nname = "Northtown Council"\n')
    with closing(Accounts.of(home, hasher=FAST_HASHER)) as accounts:
        accounts.add("amara.okafor", None)  # a dashboard user (SSO)
    destination = tmp_path / "backup"
    with open_register(home.root) as register:
        summary = backup_home(home, register, destination, users=users_copied)
    assert summary.missing == () and summary.challenges == 1
    assert summary.files == 2 + 2 + 4 + 1  # register and accounts, originals, outputs, settings
    restored = Home(tmp_path / "restored")
    next_home_register()
    result = CliRunner().invoke(main, ["restore", "--home", str(restored.root), str(destination)])
    assert result.exit_code == 0, result.output
    assert "The register agrees with the archive and the outbox." in result.output
    assert (restored.root / "formflow.toml").read_text().startswith("[council]")
    with closing(Accounts.of(home_at(restored.root), hasher=FAST_HASHER)) as accounts:
        assert [u.name for u in accounts.users()] == ["amara.okafor"]
    with open_register(restored.root) as register:
        pipeline = fake_pipeline(restored.root, register)
        [reference] = register.references()
        stored = register.challenge(reference)
        assert stored is not None and stored.stage.value == "2"
        answer = dataclasses.replace(
            stored, response=Response("Agreed plan.", dt.date(2025, 11, 10), "Sam Okafor", True)
        )
        done = pipeline.handle(drop_json(restored.inbox, "stage-2-answer.docx", answer))
        assert done.outcome is Outcome.PROCESSED and done.reference == reference
        assert check_home(restored, register).ok


def signs_in(home: Home, name: str, password: str) -> bool:
    """Whether ``name`` signs in to ``home``'s dashboard and sees the open challenges."""
    accounts = Accounts.of(home, hasher=FAST_HASHER)
    app = create_app(home, Settings(), accounts=accounts, limiter=SignInLimiter(accounts))
    app.config["TESTING"] = True
    try:
        client = app.test_client()
        form = client.get("/signin").get_data(as_text=True)
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token, "no CSRF token on the sign-in page"
        signed = client.post("/signin", data={"csrf": token[1], "name": name, "password": password})
        return signed.status_code == 302 and client.get("/").status_code == 200
    finally:
        app.extensions["formflow"].tracker.stop()
        app.extensions["formflow"].registers.close()
        accounts.close()


@on_both_engines
def test_the_dashboards_users_are_backed_up_and_restored_without_their_sessions(
    home: Home, tmp_path: Path, next_home_register: Callable[[], None]
) -> None:
    with closing(Accounts.of(home, hasher=FAST_HASHER)) as accounts:
        accounts.add("amara.okafor", PASSWORD, role="business-support")
        accounts.add("sam.example", None, role="manager", person="Sam Example")  # SSO only
        session = accounts.start_session("amara.okafor", dt.timedelta(hours=8))
        before = accounts.users()
    code, output = cli(home.root, "backup", str(tmp_path / "backup"))
    assert code == 0, output
    next_home_register()
    code, output = cli(tmp_path / "restored", "restore", str(tmp_path / "backup"))
    assert code == 0, output
    restored = home_at(tmp_path / "restored")
    with closing(Accounts.of(restored, hasher=FAST_HASHER)) as accounts:
        assert accounts.users() == before  # names, roles, people, who has a password
        assert accounts.session_user(session) is None  # each signs in again
    assert signs_in(restored, "amara.okafor", PASSWORD)
    assert not signs_in(restored, "amara.okafor", "not the password at all")


@on_both_engines
def test_a_backups_users_are_never_restored_over_a_homes_own(
    home: Home, tmp_path: Path, next_home_register: Callable[[], None]
) -> None:
    with closing(Accounts.of(home, hasher=FAST_HASHER)) as accounts:
        accounts.add("amara.okafor", PASSWORD)
    assert cli(home.root, "backup", str(tmp_path / "backup"))[0] == 0
    next_home_register()
    target = home_at(tmp_path / "restored")
    with closing(Accounts.of(target, hasher=FAST_HASHER)) as accounts:
        accounts.add("priya.example", PASSWORD)
    code, output = cli(target.root, "restore", str(tmp_path / "backup"))
    assert code == 1
    assert "The dashboard's users at " in output and "are not empty" in output
    assert not target.outbox.exists() and not target.archive.exists()  # nothing restored
    assert list(target.var.glob(".restoring-*")) == []
    with closing(Accounts.of(target, hasher=FAST_HASHER)) as accounts:
        assert [u.name for u in accounts.users()] == ["priya.example"]


def test_a_backup_that_changed_is_refused_before_anything_is_written(
    home: Home, tmp_path: Path
) -> None:
    destination = tmp_path / "backup"
    with open_register(home.root) as register:
        backup_home(home, register, destination, users=users_copied)
    original = next((destination / "archive").rglob("*.docx"))
    original.write_bytes(b"tampered")
    target = Home(tmp_path / "restored")
    with pytest.raises(BackupError, match="has changed since the backup"):
        restore_home(destination, target, users=users_copied)
    assert not target.root.exists()


def test_a_manifest_naming_a_path_outside_the_backup_is_refused(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "manifest.json").write_text(json.dumps({"files": {"archive/../../x": "0"}}))
    with pytest.raises(BackupError, match="which no backup holds"):
        verify_backup(backup)


def test_a_backup_is_never_restored_over_a_home_in_use(home: Home, tmp_path: Path) -> None:
    destination = tmp_path / "backup"
    with open_register(home.root) as register:
        backup_home(home, register, destination, users=users_copied)
    with pytest.raises(BackupError, match="restore into a new folder"):
        restore_home(destination, home, users=users_copied)


def test_a_backup_goes_only_into_a_new_or_empty_folder(home: Home, tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "something").write_text("x")
    with open_register(home.root) as register, pytest.raises(BackupError, match="not empty"):
        backup_home(home, register, used, users=users_copied)


@on_both_engines
def test_a_backup_finds_a_document_a_live_job_has_not_yet_published(
    home: Home, tmp_path: Path
) -> None:
    """Between its commit and its publish, a job keeps a document in outbox/.staging/."""
    document = next(home.outbox.glob("*/*.docx"))
    staged = home.staging / "20251103T090000-0a1b2c3d--raise.docx" / document.parent.name
    staged.mkdir(parents=True)
    shutil.move(document, staged / document.name)
    with open_register(home.root) as register:
        summary = backup_home(home, register, tmp_path / "backup", users=users_copied)
    assert summary.missing == ()
    assert (tmp_path / "backup" / "outbox" / document.parent.name / document.name).is_file()
