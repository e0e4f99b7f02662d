"""The deadline sweep inside the watcher never holds the service: it chases a few
challenges at a time between looks at the inbox, a stop ends it within seconds, and the
next start goes on where it stopped, each overdue challenge moved on exactly once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import signal
import threading
import time
from collections import Counter
from pathlib import Path

from service_support import (
    fake_pipeline,
    make_challenge,
    new_form,
    start_watch,
    stop_watch,
    wait_for,
)

from formflow.config import Settings
from formflow.core.engine import DEADLINE_ACTOR, assess
from formflow.core.record import Child, LegalStatus, Stage
from formflow.outbox.folders import Home
from formflow.pipeline import Result
from formflow.policy_catalogue import built_in
from formflow.store.register import Register
from formflow.watch.supervisor import Watcher, WatchOptions, watch_options

NOTIFIED = dt.date(2025, 11, 3)


def overdue_register(home: Home, count: int) -> list[str]:
    """``count`` stage 1 challenges notified long ago, each overdue for its response."""
    home.create()
    settings = Settings()
    policy = built_in()("nelincs")
    references = [f"PC-2025-{n:06d}" for n in range(count)]
    with Register(home.database) as register, register.transaction():
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
    with Register(home.database) as register:
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
    with Register(home.database) as register:
        moved = escalations(register)
        assert 0 < len(moved) < count
        assert set(moved.values()) == {1}
        at_stage_two = [r for r in register.challenges() if r.stage == Stage.TWO]
        assert len(at_stage_two) == len(moved)
    reported = [line for line in log.read_text().splitlines() if "(deadline)" in line]
    assert len(reported) == len(moved)


def test_a_sweep_stopped_in_the_middle_goes_on_at_the_next_start_each_chased_once(
    tmp_path: Path,
) -> None:
    """Stopped after a few challenges, then started again: the second watcher chases the
    rest, and none twice. Documents are stand-ins here, so the sweep is quick."""
    home = Home(tmp_path / "home")
    references = overdue_register(home, 60)
    options = WatchOptions(settle_seconds=0.2, sweep_seconds=0.05, check_seconds=0.02)

    def watch_until(enough: int) -> list[Result]:
        reported: list[Result] = []
        stop = threading.Event()

        def stop_when_enough(result: Result) -> None:
            reported.append(result)
            if len(reported) >= enough:
                stop.set()

        with Register(home.database) as register:
            pipeline = fake_pipeline(home.root, register, now=dt.datetime(2026, 12, 1, 10, 0))
            Watcher(pipeline, options, report=stop_when_enough).run(stop)
        return reported

    first = watch_until(10)
    assert 10 <= len(first) < len(references)
    second = watch_until(len(references) - len(first))
    with Register(home.database) as register:
        moved = escalations(register)
        assert moved == Counter(dict.fromkeys(references, 1))
        assert {r.stage for r in register.challenges()} == {Stage.TWO}
    assert sorted(r.reference or "" for r in first + second) == references


def test_sweep_seconds_comes_from_the_watch_settings() -> None:
    settings = dataclasses.replace(Settings(), raw={"watch": {"sweep_seconds": 3}})
    assert watch_options(settings).sweep_seconds == 3.0
