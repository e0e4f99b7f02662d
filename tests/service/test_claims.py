"""Claims in the register (issue 26): who has a claimed file or a staging folder is the
register's to say, on either engine, so two servers on one shared folder never take a
live job's work and exactly one takes a dead one's. Another server is a row whose owner
names another machine; racing recoveries are separate processes."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_support import cli, drop_json, fake_pipeline, make_challenge

from conftest import home_at, open_register
from formflow.config import Settings
from formflow.core.engine import Document
from formflow.outbox import folders
from formflow.pipeline import Job, Outcome, Pipeline
from formflow.pipeline.claims import Claims, this_process
from formflow.store.register import ClaimOwner, Register

ANOTHER_SERVER = ClaimOwner("formflow-b.example.org", "another-boot", 4321, "0123456789abcdef")
TAKEOVER = 1.0
"""Seconds: the tests wait this out rather than the default minute."""
NOW = dt.datetime(2025, 11, 3, 10, 0)


@pytest.fixture
def register(register_url: str) -> Iterator[Register]:
    with Register(register_url) as opened:
        yield opened


def settings() -> Settings:
    return Settings(takeover_seconds=TAKEOVER)


def claimed_form(pipeline: Pipeline) -> Path:
    """A form in the claim folder, as a server leaves it while it works on it."""
    name = folders.claim_name("busy.docx", NOW)
    form = make_challenge(reference=None, separate_challenge=True)
    return drop_json(pipeline.home.claims, name, form)


def chase_folder(pipeline: Pipeline) -> Path:
    """A deadline chase's staging folder with a document staged, not yet committed."""
    job_dir = pipeline.home.staging / "tick-20251103T100000-0a1b2c3d"
    (job_dir / "PC-2025-7KQ3XM").mkdir(parents=True)
    (job_dir / "PC-2025-7KQ3XM" / "PC-2025-7KQ3XM-stage-2-form.docx").write_bytes(b"staged")
    return job_dir


def silent_for_longer_than_takeover(register: Register, name: str) -> None:
    deadline = time.monotonic() + 30
    while (holder := register.claim_holder(name)) is None or holder.silent_for <= TAKEOVER:
        assert time.monotonic() < deadline, "the server's clock did not move on"
        time.sleep(0.2)


RECOVERY = """
import logging, sys, time
from pathlib import Path
sys.path[:0] = [sys.argv[4], sys.argv[4] + "/service"]
from formflow.config import Settings
from formflow.store.register import Register
from service_support import fake_pipeline
logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
with Register(sys.argv[1]) as register:
    pipeline = fake_pipeline(Path(sys.argv[2]), register, settings=Settings(takeover_seconds=1.0))
    go = Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.01)
    for result in pipeline.recover():
        print("RESULT", result.outcome.value)
"""


def race_recoveries(register_url: str, root: Path) -> list[str]:
    """Two recoveries started at once in two processes (two servers): each one's log."""
    go = root / "go"
    tests = str(Path(__file__).resolve().parent.parent)
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RECOVERY, register_url, str(root), str(go), tests],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(1.5)  # both started and waiting
    go.touch()
    logs = [racer.communicate(timeout=60)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], logs
    return logs


def test_a_claimed_file_whose_owner_is_alive_is_not_taken_over(
    tmp_path: Path, register: Register
) -> None:
    """Another server works on the file (its heartbeat is fresh); the file lock is free
    here, as it would be on a share: recovery leaves the file alone all the same."""
    pipeline = fake_pipeline(tmp_path, register, settings=settings())
    claimed = claimed_form(pipeline)
    assert register.take_claim(claimed.name, ANOTHER_SERVER)
    for _ in range(3):
        register.renew_claims(ANOTHER_SERVER.instance)
        assert pipeline.recover() == []
        time.sleep(TAKEOVER / 2)
    assert claimed.exists()
    assert register.file(claimed.name) is None
    assert register.claim_holder(claimed.name).owner == ANOTHER_SERVER  # type: ignore[union-attr]


def test_a_stale_claim_is_taken_over_by_exactly_one_of_two_racing_recoveries(
    tmp_path: Path, register: Register, register_url: str
) -> None:
    pipeline = fake_pipeline(tmp_path, register, settings=settings())
    claimed = claimed_form(pipeline)
    assert register.take_claim(claimed.name, ANOTHER_SERVER)
    silent_for_longer_than_takeover(register, claimed.name)
    logs = race_recoveries(register_url, tmp_path)
    assert sorted(log.count("taken over from formflow-b") for log in logs) == [0, 1], logs
    assert sorted(log.count("RESULT processed") for log in logs) == [0, 1], logs
    [record] = register.files()
    assert record.outcome == "processed"
    assert len([e for e in register.events() if e.what == "file"]) == 1
    assert len(register.references()) == 1
    assert not claimed.exists()
    assert register.claims() == []


def test_a_chase_folder_whose_owner_is_alive_is_left_alone(
    tmp_path: Path, register: Register
) -> None:
    pipeline = fake_pipeline(tmp_path, register, settings=settings())
    job_dir = chase_folder(pipeline)
    assert register.take_claim(job_dir.name, ANOTHER_SERVER)
    pipeline.recover()
    assert (job_dir / "PC-2025-7KQ3XM" / "PC-2025-7KQ3XM-stage-2-form.docx").exists()


def test_a_dead_chase_folder_is_taken_over_by_exactly_one_of_two_racing_recoveries(
    tmp_path: Path, register: Register, register_url: str
) -> None:
    pipeline = fake_pipeline(tmp_path, register, settings=settings())
    job_dir = chase_folder(pipeline)
    assert register.take_claim(job_dir.name, ANOTHER_SERVER)
    silent_for_longer_than_takeover(register, job_dir.name)
    logs = race_recoveries(register_url, tmp_path)
    assert sorted(log.count("taken over from formflow-b") for log in logs) == [0, 1], logs
    assert not job_dir.exists()  # never committed: thrown away
    assert register.claims() == []


def test_a_job_whose_claim_was_taken_over_commits_nothing(
    tmp_path: Path, register: Register, register_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server paused for longer than the takeover time (a machine suspended) finds on
    waking that another took its file over: it records nothing and leaves the file and
    its staging folder to the new owner."""
    pipeline = fake_pipeline(tmp_path, register, settings=settings())
    write_documents = Pipeline.write_documents

    def paused_while_writing(self: Pipeline, job: Job) -> None:
        write_documents(self, job)
        with Register(register_url) as other:
            assert other.take_over_claim(job.claim, ANOTHER_SERVER, this_process(), None)

    monkeypatch.setattr(Pipeline, "write_documents", paused_while_writing)
    form = make_challenge(reference=None, separate_challenge=True)
    result = pipeline.handle(drop_json(pipeline.home.inbox, "form.docx", form))
    assert result.outcome is Outcome.SKIPPED
    [record] = register.files()
    assert record.outcome is None
    assert register.references() == []
    assert (pipeline.home.claims / record.claim).exists()
    staged = pipeline.home.staging / record.claim
    assert [p.name for p in staged.rglob("*.docx")], "the new owner's to publish or discard"
    assert register.claim_holder(record.claim).owner == ANOTHER_SERVER  # type: ignore[union-attr]


def test_a_server_restarted_on_its_own_machine_takes_its_claims_back_at_once(
    tmp_path: Path, register: Register
) -> None:
    """The owner was a process of this machine and boot that has gone (killed with -9):
    no need to wait for the takeover time."""
    pipeline = fake_pipeline(tmp_path, register, settings=Settings(takeover_seconds=3600))
    claimed = claimed_form(pipeline)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    me = this_process()
    dead = ClaimOwner(me.host, me.boot, int(gone.stdout), "fedcba9876543210")
    assert register.take_claim(claimed.name, dead)
    assert [r.outcome for r in pipeline.recover()] == [Outcome.PROCESSED]
    assert register.claims() == []


def test_documents_of_a_live_job_on_another_server_are_not_published_by_recovery(
    tmp_path: Path, register: Register
) -> None:
    """A form job's staging folder, its claim held by another server: left as it is."""
    pipeline = fake_pipeline(tmp_path, register, settings=settings())
    claimed = claimed_form(pipeline)
    staged = pipeline.home.staging / claimed.name / "PC-2025-7KQ3XM"
    staged.mkdir(parents=True)
    name = f"PC-2025-7KQ3XM-stage-1-{Document.IRO_NOTE.value}.docx"
    (staged / name).write_bytes(b"staged")
    assert register.take_claim(claimed.name, ANOTHER_SERVER)
    assert pipeline.recover() == []
    assert (staged / name).exists()


def test_the_claim_of_a_server_killed_after_its_job_ended_is_forgotten(
    tmp_path: Path, register: Register
) -> None:
    """Killed between archiving the form and letting its claim go: nothing is left to
    do, and the claim goes once its owner is proved dead; a live one's stays."""
    pipeline = fake_pipeline(tmp_path, register, settings=settings())
    assert register.take_claim("20251103T100000-0a1b2c3d--done.docx", ANOTHER_SERVER)
    assert register.take_claim("tick-20251103T100000-0a1b2c3d", this_process())
    silent_for_longer_than_takeover(register, "20251103T100000-0a1b2c3d--done.docx")
    register.renew_claims(this_process().instance)
    assert pipeline.recover() == []
    assert [c.name for c in register.claims()] == ["tick-20251103T100000-0a1b2c3d"]


def test_status_says_what_is_being_processed_now_by_whom_and_whether_it_is_stale(
    tmp_path: Path, home_register: str
) -> None:
    """A form this process claimed, and a chase's staging folder on another server that
    has been silent for longer than the takeover time: `status` names both, their owner
    and their last heartbeat, the silent one as stale; with none, it says nothing."""
    root = tmp_path / "home"
    root.mkdir()
    (root / "formflow.toml").write_text(f"[folders]\ntakeover_seconds = {TAKEOVER}\n")
    home_at(root).create()
    with open_register(root) as register:
        code, said = cli(root, "status")
        assert code == 0, said
        assert "Being processed now" not in said
        chase = "tick-20251103T100000-0a1b2c3d"
        assert register.take_claim(chase, ANOTHER_SERVER)
        silent_for_longer_than_takeover(register, chase)
        busy = folders.claim_name("busy.docx", NOW)
        assert Claims(register, TAKEOVER).take(busy)
    me = this_process()
    code, said = cli(root, "status")
    assert code == 0, said
    shown = said[said.index("Being processed now (2):") :].splitlines()
    assert re.fullmatch(
        rf"  staging folder {chase}  by formflow-b\.example\.org, process 4321: "
        r"last heartbeat \d+ s ago \(stale: another server may take it over\)",
        shown[1],
    ), shown
    assert re.fullmatch(
        rf"  busy\.docx  by {re.escape(me.host)}, process {me.pid}: last heartbeat [01] s ago",
        shown[2],
    ), shown
    code, said = cli(root, "status", "--json")
    assert code == 0, said
    stale, mine = json.loads(said)["being_processed"]
    assert (stale["what"], stale["kind"], stale["host"], stale["stale"]) == (
        chase,
        "staging folder",
        "formflow-b.example.org",
        True,
    )
    assert stale["heartbeat_seconds_ago"] > TAKEOVER
    assert (mine["what"], mine["kind"], mine["pid"], mine["stale"]) == (
        "busy.docx",
        "file",
        me.pid,
        False,
    )
