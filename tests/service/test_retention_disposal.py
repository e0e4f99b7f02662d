"""Disposal and legal holds through a real home: all or nothing, whatever stops it, and
``formflow check`` passes afterwards; nothing open, held or not yet due ever goes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from service_support import (
    CHILD_NAME,
    cli,
    on_both_engines,
    open_register,
    raise_and_withdraw,
    wait_for,
)

from formflow.core.retention import Anchor, Rule, Schedule
from formflow.errors import RetentionError
from formflow.outbox.folders import Home
from formflow.store import retention
from formflow.store.check import check_home
from formflow.store.register import Register

SETTINGS = """
[[retention.rule]]
name = "Withdrawn challenges: at once (test)"
closed_as = "withdrawn"
from = "closure"
years = 0
"""
SCHEDULE = Schedule((Rule("Withdrawn challenges: at once (test)", 0, Anchor.CLOSURE),))
TODAY = dt.date(2026, 12, 3)
NOW = dt.datetime(2026, 12, 3, 9, 0)
APPROVER = "Ada Lovell, Records Manager"


class Killed(BaseException):
    """Stands for a kill: not an Exception, so nothing on the way catches it."""


@pytest.fixture
def home(tmp_path: Path) -> Home:
    root = tmp_path / "home"
    with open_register(root) as register:
        raise_and_withdraw(register, root)
        raise_and_withdraw(register, root, case="LCS-000456")
        register.add_event(register.references()[0], "viewed", NOW, actor="kemi.adeyemi")
    (root / "formflow.toml").write_text(SETTINGS, encoding="utf-8")
    return Home(root)


def state(home: Home, reference: str) -> tuple[bool, bool, bool]:
    """(its challenge row, its files on disk, its disposal record)."""
    with open_register(home.root) as register:
        row = register.challenge(reference) is not None
        recorded = any(d.reference == reference for d in retention.disposals(register))
    on_disk = any((home.archive / reference).glob("*")) or any((home.outbox / reference).glob("*"))
    return row, on_disk, recorded


def check_ok(home: Home) -> None:
    with open_register(home.root) as register:
        report = check_home(home, register)
    assert report.ok, report.problems


def everything_about_the_child(home: Home) -> str:
    """Every row of every table of the register, on either engine."""
    with open_register(home.root) as register:
        return "\n".join(
            sorted(repr(row) for table in register.tables() for row in register.rows(table))
        )


@on_both_engines
def test_a_disposal_removes_the_record_and_keeps_a_record_without_personal_data(
    home: Home,
) -> None:
    with open_register(home.root) as register:
        first, second = sorted(register.references())
        viewed = register.references()[0]
        done = retention.dispose(
            home,
            register,
            [first, second],
            approved_by=APPROVER,
            schedule=SCHEDULE,
            today=TODAY,
            now=NOW,
        )
        assert register.references() == []
        assert [e.what for e in register.events()] == ["viewed"]
        assert register.events()[0].reference == viewed
    assert [d.reference for d in done] == [first, second]
    counts = done[0].removed["counts"]
    assert isinstance(counts, dict)
    assert counts["original files"] == 2 and counts["challenges"] == 1 and counts["events"] >= 2
    assert len(done[0].removed["sha256"]) == sum(  # type: ignore[arg-type]
        counts[k] for k in ("original files", "document files", "email drafts")
    )
    assert not (home.archive / first).exists() and not (home.outbox / first).exists()
    dump = everything_about_the_child(home)
    assert CHILD_NAME not in dump and "LCS-000123" not in dump and "raise-" not in dump
    check_ok(home)


def _with_hold(register: Register, reference: str) -> None:
    retention.place_hold(register, reference, reason="Inquiry 2026/1", by=APPROVER, at=NOW)


def _everything_held(register: Register, _reference: str) -> None:
    retention.place_hold(register, None, reason="Public inquiry", by=APPROVER, at=NOW)


def _reopened(register: Register, reference: str) -> None:
    challenge = register.challenge(reference)
    assert challenge is not None
    register._execute(
        "UPDATE challenges SET record = ?, closed_on = NULL WHERE reference = ?",
        (json.dumps(dataclasses.replace(challenge, closure=None).to_dict()), reference),
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_with_hold, "under a legal hold"),
        (_everything_held, "under a legal hold"),
        (_reopened, "is open"),
    ],
)
@on_both_engines
def test_nothing_open_or_held_is_disposed_of_and_nothing_at_all_changes(
    home: Home, make: object, message: str
) -> None:
    with open_register(home.root) as register:
        first, second = sorted(register.references())
        make(register, second)  # type: ignore[operator]
        before = everything_about_the_child(home)
        with pytest.raises(RetentionError, match=message):
            retention.dispose(
                home,
                register,
                [first, second],
                approved_by=APPROVER,
                schedule=SCHEDULE,
                today=TODAY,
                now=NOW,
            )
    assert everything_about_the_child(home) == before
    assert state(home, first) == (True, True, False)


def test_a_record_not_yet_due_is_refused_with_the_day_its_period_ends(home: Home) -> None:
    longer = Schedule((Rule("Six years after closure", 6, Anchor.CLOSURE),))
    with open_register(home.root) as register:
        reference = register.references()[0]
        with pytest.raises(RetentionError, match="keeps it until 03 November 2031"):
            retention.dispose(
                home,
                register,
                [reference],
                approved_by=APPROVER,
                schedule=longer,
                today=TODAY,
                now=NOW,
            )


def _steps(tmp_path: Path) -> list[str]:
    seen: list[str] = []
    root = tmp_path / "rehearsal"
    with open_register(root) as register:
        reference = raise_and_withdraw(register, root)
        retention.dispose(
            Home(root),
            register,
            [reference],
            approved_by=APPROVER,
            schedule=SCHEDULE,
            today=TODAY,
            now=NOW,
            step=seen.append,
        )
    return seen


@on_both_engines
def test_a_disposal_killed_at_every_step_leaves_everything_or_nothing(
    tmp_path: Path, next_home_register: Callable[[], None]
) -> None:
    steps = _steps(tmp_path)
    assert steps[0] == "journal" and "commit" in steps and steps[-1] == "journal removed"
    for n, stopped_at in enumerate(steps):
        root = tmp_path / f"home-{n}"
        next_home_register()
        with open_register(root) as register:
            reference = raise_and_withdraw(register, root)

            calls: list[str] = []

            def kill(name: str, calls: list[str] = calls, n: int = n) -> None:
                calls.append(name)
                if len(calls) > n:
                    raise Killed(name)

            with pytest.raises(Killed):
                retention.dispose(
                    Home(root),
                    register,
                    [reference],
                    approved_by=APPROVER,
                    schedule=SCHEDULE,
                    today=TODAY,
                    now=NOW,
                    step=kill,
                )
        with open_register(root) as register:  # the next start
            retention.finish_disposals(Home(root), register)
        committed = steps.index(stopped_at) > steps.index("commit")
        expected = (False, False, True) if committed else (True, True, False)
        assert state(Home(root), reference) == expected, stopped_at
        assert not any((Home(root).var / "disposals").glob("*.json")), stopped_at
        check_ok(Home(root))


SLOW_FINISH = """
import sys, time, pathlib
import formflow.store.retention as retention
marker = pathlib.Path(sys.argv.pop(1))
def stalled(*args, **kwargs):
    marker.touch()
    time.sleep(120)
retention._finish = stalled
sys.argv[0] = "formflow"
from formflow.cli import main
main()
"""


@on_both_engines
@pytest.mark.slow
def test_a_real_kill_after_the_commit_is_finished_by_the_next_command(home: Home) -> None:
    reference = sorted(Home(home.root).archive.iterdir())[0].name
    marker = home.root.parent / "committed"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SLOW_FINISH,
            str(marker),
            "retention",
            "dispose",
            reference,
            "--approved-by",
            APPROVER,
            "--home",
            str(home.root),
        ],
    )
    try:
        wait_for(marker.exists, 60, "the disposal to commit")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert state(home, reference) == (False, True, True)  # committed, files still there
    code, output = cli(home.root, "check")
    assert code == 0, output
    assert state(home, reference) == (False, False, True)


@on_both_engines
def test_the_cli_reviews_holds_and_disposes(home: Home) -> None:
    first, second = sorted(p.name for p in home.archive.iterdir())
    code, output = cli(home.root, "hold", second, "--reason", "Complaint 2026/14", "--by", APPROVER)
    assert code == 0, output
    code, output = cli(home.root, "retention", "review", "--json")
    assert code == 0, output
    review = json.loads(output)
    assert [d["reference"] for d in review["due"]] == [first]
    assert review["due"][0]["period_ended"] == "2025-11-03"
    assert [h["reference"] for h in review["held"]] == [second]
    assert review["holds"][0]["reason"] == "Complaint 2026/14"
    code, output = cli(home.root, "retention", "dispose", first, second, "--approved-by", APPROVER)
    assert code == 1 and f"{second} is under a legal hold" in output
    code, output = cli(home.root, "release", second, "--by", APPROVER, "--reason", "Closed")
    assert code == 0, output
    code, output = cli(home.root, "retention", "dispose", first, second, "--approved-by", APPROVER)
    assert code == 0, output
    assert f"Disposed of {first}" in output and f"Disposed of {second}" in output
    with open_register(home.root) as register:
        trail = [(e.reference, e.what) for e in register.events()]
    assert (second, "legal hold") in trail and (second, "hold released") in trail
    code, output = cli(home.root, "check")
    assert code == 0, output


@on_both_engines
def test_holds_named_together_are_placed_all_or_none_and_a_blanket_hold_is_mentioned(
    home: Home,
) -> None:
    first, _ = sorted(p.name for p in home.archive.iterdir())
    unknown = "PC-2026-ZZZZZZ"
    code, output = cli(home.root, "hold", first, unknown, "--reason", "Claim", "--by", APPROVER)
    assert code == 1 and unknown in output, output
    with open_register(home.root) as register:
        assert retention.holds_in_force(register) == []
    code, output = cli(home.root, "hold", first, "--all", "--reason", "Claim", "--by", APPROVER)
    assert code == 2 and "Name the references, or give --all, not both." in output
    for args in (["--all"], [first]):
        code, output = cli(home.root, "hold", *args, "--reason", "Inquiry", "--by", APPROVER)
        assert code == 0, output
    code, output = cli(home.root, "release", first, "--by", APPROVER)
    assert code == 0 and output.splitlines() == [
        f"Released: {first}.",
        "Every record is still held by `formflow hold --all`.",
    ]


def test_review_says_when_retention_is_not_configured(home: Home) -> None:
    (home.root / "formflow.toml").unlink()
    code, output = cli(home.root, "retention", "review")
    assert code == 0 and "Retention is not configured" in output
    code, output = cli(home.root, "check")
    assert "Retention is not configured" in output


@on_both_engines
def test_a_death_before_18_is_recorded_for_every_challenge_of_the_child(home: Home) -> None:
    with open_register(home.root) as register:
        reference = register.references()[0]
        case = register.challenge(reference)
        assert case is not None
        recorded = retention.record_death(
            register, reference, died_on=dt.date(2020, 1, 2), by=APPROVER, at=NOW
        )
        facts = {f.reference: f for f in retention.retention_facts(register)}
    assert recorded == [reference]
    assert facts[reference].died_on == dt.date(2020, 1, 2)
    assert all(f.died_on is None for r, f in facts.items() if r != reference)
