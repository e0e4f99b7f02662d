"""The deadline sweep inside the watcher never holds the service: it chases a few
challenges at a time between looks at the inbox, a stop ends it within seconds, and the
next start goes on where it stopped, each overdue challenge moved on exactly once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from service_support import (
    FAKE_WRITERS,
    assert_outbox_matches_register,
    cli,
    fake_pipeline,
    make_challenge,
    new_form,
    on_both_engines,
    open_register,
    start_watch,
    stop_watch,
    wait_for,
)

from formflow.config import Settings
from formflow.core.engine import DEADLINE_ACTOR, Document, assess
from formflow.core.record import Challenge, Child, LegalStatus, Stage
from formflow.outbox.folders import Home
from formflow.pipeline import Pipeline, Result
from formflow.pipeline.deadlines import MAX_CHASES
from formflow.policy_catalogue import built_in
from formflow.store.register import Register
from formflow.watch.supervisor import Watcher, WatchOptions

NOTIFIED = dt.date(2025, 11, 3)


def overdue_register(home: Home, count: int) -> list[str]:
    """``count`` stage 1 challenges notified long ago, each overdue for its response."""
    home.create()
    settings = Settings()
    policy = built_in()("nelincs")
    references = [f"PC-2025-{n:06d}" for n in range(count)]
    with open_register(home.root) as register, register.transaction():
        for reference in references:
            record = make_challenge(reference=reference, date_of_notification=NOTIFIED)
            assessment = assess(record, policy, settings.calendar, NOTIFIED)
            register.save_challenge(record, assessment, dt.datetime(2025, 11, 3, 9, 0))
    return references


def escalations(register: Register) -> Counter[str]:
    """How many times the sweep moved each challenge on."""
    return Counter(
        e.reference
        for e in register.events()
        if e.what == "transition" and e.actor == DEADLINE_ACTOR
    )


def chased(home: Home) -> int:
    """Challenges the sweep has committed so far, from the register."""
    with open_register(home.root) as register:
        return len(escalations(register))


def test_a_form_dropped_during_a_long_sweep_is_processed_and_a_stop_is_prompt(
    tmp_path: Path,
) -> None:
    """400 overdue challenges take minutes to chase (each writes its next-stage form in
    Word and PDF); a form dropped meanwhile is processed, and SIGTERM ends the watcher
    within seconds, in the middle of the sweep, with no challenge moved on twice."""
    home = Home(tmp_path / "home")
    count = 400
    overdue_register(home, count)
    log = tmp_path / "watch.log"
    process = start_watch(home.root, log)
    try:
        wait_for(lambda: chased(home) >= 1, 60, "the sweep to start")
        other = Child("Rhys Example", dt.date(2012, 5, 1), "LCS-000999", LegalStatus.CHILD_IN_CARE)
        new_form(home.inbox, "dropped-during-sweep.docx", child=other)
        wait_for(
            lambda: "dropped-during-sweep.docx  processed" in log.read_text(),
            60,
            f"the dropped form to be processed during the sweep; log:\n{log.read_text()}",
        )
        assert chased(home) < count, "the sweep ended before the form: the test proves nothing"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        stopped_in = time.monotonic() - started
    finally:
        stop_watch(process)
    assert stopped_in < 15, f"SIGTERM took {stopped_in:.1f} s to stop the watcher"
    assert "Stopped." in log.read_text()
    with open_register(home.root) as register:
        moved = escalations(register)
        assert 0 < len(moved) < count
        assert set(moved.values()) == {1}
        at_stage_two = [r for r in register.challenges() if r.stage == Stage.TWO]
        assert len(at_stage_two) == len(moved)
    reported = [line for line in log.read_text().splitlines() if "(deadline)" in line]
    assert len(reported) == len(moved)


@on_both_engines
def test_a_sweep_stopped_in_the_middle_goes_on_at_the_next_start_each_chased_once(
    tmp_path: Path,
) -> None:
    """Stopped after a few challenges, then started again: the second watcher chases the
    rest, and none twice. Documents are stand-ins here, so the sweep is quick."""
    home = Home(tmp_path / "home")
    references = overdue_register(home, 60)
    options = WatchOptions(settle_seconds=0.2, check_seconds=0.02)

    def watch_until(enough: int) -> list[Result]:
        reported: list[Result] = []
        stop = threading.Event()

        def stop_when_enough(result: Result) -> None:
            reported.append(result)
            if len(reported) >= enough:
                stop.set()

        with open_register(home.root) as register:
            pipeline = fake_pipeline(home.root, register, now=dt.datetime(2026, 12, 1, 10, 0))
            Watcher(pipeline, options, report=stop_when_enough).run(stop)
        return reported

    first = watch_until(10)
    assert 10 <= len(first) < len(references)
    second = watch_until(len(references) - len(first))
    with open_register(home.root) as register:
        moved = escalations(register)
        assert moved == Counter(dict.fromkeys(references, 1))
        assert {r.stage for r in register.challenges()} == {Stage.TWO}
    assert sorted(r.reference or "" for r in first + second) == references


# --- documents written without the register's lock ---------------------------------


def _pipeline_changing_the_record(
    home: Home, register: Register, reference: str, times: int
) -> tuple[Pipeline, list[int]]:
    """A pipeline whose next-stage writer, the first ``times`` times it is called, lets
    another connection (another watcher, a form's job) change the challenge's team while
    its documents are written."""
    pipeline = fake_pipeline(home.root, register, now=dt.datetime(2026, 12, 1, 10, 0))
    writes: list[int] = []
    stand_in = pipeline.services.writer(Document.NEXT_STAGE_FORM)

    def writer_meanwhile(challenge: Challenge, *args: Any, **options: Any) -> list[Path]:
        writes.append(1)
        if len(writes) <= times:
            with open_register(home.root) as other:
                current = other.challenge(reference)
                assert current is not None
                changed = dataclasses.replace(current, team=f"Fostering Team {len(writes)}")
                assessment = assess(
                    changed, built_in()(changed.policy), Settings().calendar, NOTIFIED
                )
                other.save_challenge(changed, assessment, dt.datetime(2026, 12, 1, 9, 0))
        return stand_in(challenge, *args, **options)

    writers = {**FAKE_WRITERS, Document.NEXT_STAGE_FORM: writer_meanwhile}
    pipeline.services = dataclasses.replace(pipeline.services, writers=writers)
    return pipeline, writes


@on_both_engines
def test_a_challenge_changed_while_its_documents_are_written_is_chased_again_once(
    tmp_path: Path,
) -> None:
    """The sweep writes a challenge's next-stage form without the register's lock; the
    challenge changes meanwhile. What was written from the old record is thrown away, the
    chase is decided and written again from the new one, and committed once: one
    escalation, the change kept, one set of documents in the outbox and the register."""
    home = Home(tmp_path / "home")
    [reference] = overdue_register(home, 1)
    with open_register(home.root) as register:
        pipeline, writes = _pipeline_changing_the_record(home, register, reference, times=1)
        results = pipeline.chase(reference, dt.date(2026, 12, 1))
        assert len(writes) == 2
        assert [r.reference for r in results] == [reference]
        assert escalations(register) == Counter({reference: 1})
        record = register.challenge(reference)
        assert record is not None
        assert (record.stage, record.team) == (Stage.TWO, "Fostering Team 1")
        assert_outbox_matches_register(home, register)
        assert len(register.documents()) == 1
        assert pipeline.chase(reference, dt.date(2026, 12, 1)) == []
    assert list(home.staging.iterdir()) == []


@on_both_engines
def test_a_challenge_that_keeps_changing_is_left_for_the_next_sweep(tmp_path: Path) -> None:
    """Changed during every attempt: nothing is recorded or published, nothing is left in
    staging, and the next sweep chases it."""
    home = Home(tmp_path / "home")
    [reference] = overdue_register(home, 1)
    with open_register(home.root) as register:
        pipeline, writes = _pipeline_changing_the_record(
            home, register, reference, times=MAX_CHASES
        )
        assert pipeline.chase(reference, dt.date(2026, 12, 1)) == []
        assert len(writes) == MAX_CHASES
        assert escalations(register) == Counter()
        assert register.documents() == [] and register.notices() == []
        assert list(home.staging.iterdir()) == []
        assert pipeline.due_chases(dt.date(2026, 12, 1)) == [reference]
        assert len(pipeline.chase(reference, dt.date(2026, 12, 1))) == 1
        assert escalations(register) == Counter({reference: 1})


@on_both_engines
def test_recovery_leaves_a_chase_writing_its_documents_alone(tmp_path: Path) -> None:
    """Another watcher's recovery runs while a chase writes without the register's lock:
    the chase's staging folder is held, so its documents are not thrown away."""
    home = Home(tmp_path / "home")
    [reference] = overdue_register(home, 1)
    with open_register(home.root) as register, open_register(home.root) as other_register:
        pipeline = fake_pipeline(home.root, register, now=dt.datetime(2026, 12, 1, 10, 0))
        other = fake_pipeline(home.root, other_register, now=dt.datetime(2026, 12, 1, 10, 0))
        stand_in = pipeline.services.writer(Document.NEXT_STAGE_FORM)

        def writer_then_recovery(challenge: Challenge, *args: Any, **options: Any) -> list[Path]:
            written = stand_in(challenge, *args, **options)
            other.recover()
            assert all(path.exists() for path in written)
            return written

        writers = {**FAKE_WRITERS, Document.NEXT_STAGE_FORM: writer_then_recovery}
        pipeline.services = dataclasses.replace(pipeline.services, writers=writers)
        assert len(pipeline.chase(reference, dt.date(2026, 12, 1))) == 1
        assert_outbox_matches_register(home, register)
        assert len(register.documents()) == 1
    assert list(home.staging.iterdir()) == []


KILLED_HOLDING_THE_LOCK = """
import os, signal, sys
from formflow.cli import main
from formflow.pipeline.deadlines import DeadlineSweep

def killed(*_args):  # the chase holds its lock and has not made its staging folder yet
    os.kill(os.getpid(), signal.SIGKILL)

DeadlineSweep._chase_once = killed
main(["tick", "--home", sys.argv[1]])
"""


@on_both_engines
def test_a_chase_killed_before_it_made_its_folder_leaves_no_lock_after_recovery(
    tmp_path: Path,
) -> None:
    home = Home(tmp_path / "home")
    [reference] = overdue_register(home, 1)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_HOLDING_THE_LOCK, str(home.root)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    [left] = home.staging.iterdir()
    assert left.name.startswith("tick-") and left.name.endswith(".lock")  # and no folder
    code, output = cli(home.root, "tick")  # recovers, then chases
    assert code == 0, output
    assert list(home.staging.iterdir()) == []
    with open_register(home.root) as register:
        assert escalations(register) == Counter({reference: 1})
