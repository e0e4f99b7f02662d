"""formflow as a council uses it: the watcher working while other people run commands
beside it, killed at bad moments and started again, all in real processes.

Several of our worst faults (writes lost into a deleted WAL file, correct forms set
aside after outside kills) were invisible to tests that ran one process at a time.
Waits are bounded: each polls a condition with a deadline and fails with what it saw.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from service_support import (
    FORMFLOW,
    assert_outbox_matches_register,
    files_in,
    home_at,
    make_challenge,
    on_both_engines,
    open_register,
    start_watch,
    stop_watch,
    wait_for,
)

from filled_forms import answer
from formflow.config import Settings
from formflow.core.record import Child, LegalStatus, Stage
from formflow.outbox import folders
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.render import write_form

pytestmark = pytest.mark.slow

TODAY = dt.date.today()
CHALLENGES = 34
"""Each raised, then answered 'not resolved' twice: 102 forms through three stages."""


FIRST_NAMES = ("Tegan", "Osian", "Ffion", "Rhys", "Carys", "Idris", "Nia", "Emrys")


def raise_forms(folder: Path, count: int) -> list[Path]:
    """``count`` new challenges, each for a different fictional child (a second open
    challenge for the same child would be caught as a likely duplicate)."""
    policy, made = built_in()("nelincs"), []
    for i in range(count):
        child = Child(
            f"{FIRST_NAMES[i % len(FIRST_NAMES)]} Example-{i}",
            dt.date(2012, 1, 1) + dt.timedelta(days=37 * i),
            f"LCS-{500100 + i}",
            LegalStatus.CHILD_IN_CARE,
        )
        challenge = make_challenge(
            reference=None,
            date_of_notification=TODAY,
            child=child,
            concern=f"Contact plan {i} has not been reviewed since the placement move.",
        )
        made.append(
            write_form(challenge, policy, Settings(), folder / f"raise-{i:02d}.docx", today=TODAY)
        )
    return made


def drop(source: Path, inbox: Path, name: str) -> None:
    """As a copy program drops a file: written under a hidden name, then renamed in."""
    partial = inbox / f".{name}.partial"
    partial.write_bytes(source.read_bytes())
    os.rename(partial, inbox / name)


def finished_files(home: Home) -> dict[str | None, int]:
    """Outcome -> count, read as another program reads the register (its own connection);
    nothing before the first watcher has made a SQLite register."""
    place = home_at(home.root)
    if place.register_url is None and not place.database.exists():
        return {}
    with open_register(home.root) as register:
        return dict(Counter(f.outcome for f in register.files()))


def processed(home: Home) -> int:
    return finished_files(home).get("processed", 0)


@dataclass
class Bystander:
    """One person running one command again and again beside the watcher."""

    name: str
    command: list[str]
    runs: int = 0
    failures: list[str] = field(default_factory=list)


def keep_running(bystander: Bystander, stop: threading.Event) -> None:
    while not stop.is_set():
        done = subprocess.run(bystander.command, capture_output=True, text=True, timeout=120)
        bystander.runs += 1
        if done.returncode != 0:
            bystander.failures.append(f"exit {done.returncode}: {done.stderr[-2000:]}")
        stop.wait(0.1)


def bystanders(home: Home, workdir: Path, reference: str) -> list[Bystander]:
    def formflow(*words: str) -> list[str]:
        return [*FORMFLOW, *words, "--home", str(home.root)]

    return [
        Bystander("status", formflow("status", "--json")),
        Bystander("show", formflow("show", reference)),
        Bystander("export", formflow("export", "--csv", str(workdir / "tracker.csv"))),
        Bystander("tick", formflow("tick")),
        Bystander("check", formflow("check")),
    ]


def answer_all(home: Home, stage: Stage, workdir: Path) -> list[Path]:
    """The responder's form of each challenge answered 'not resolved', as Word saves it."""
    answered = []
    with open_register(home.root) as register:
        challenges = register.challenges()
    for challenge in challenges:
        assert challenge.stage == stage, (challenge.reference, challenge.stage)
        form = (
            home.outbox
            / f"{challenge.reference}"
            / f"{challenge.reference}-stage-{stage.value}-form.docx"
        )
        answered.append(answer(form, workdir / f"{challenge.reference}-{stage.value}.docx", TODAY))
    return answered


def kill_9(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


# SQLite only for the suite's time (20 min under load): test_two_machines.py takes 200
# forms through three stages with kills, status and tick on PostgreSQL.
def test_the_register_keeps_every_step_while_people_read_it_and_the_watcher_is_killed(
    tmp_path: Path,
) -> None:
    home = Home(tmp_path / "home")
    home.create()
    workdir = tmp_path / "work"
    workdir.mkdir()
    log = tmp_path / "watch.log"
    watcher = start_watch(home.root, log, "--jobs", "4")
    stop = threading.Event()
    threads: list[threading.Thread] = []
    people: list[Bystander] = []
    kills = 0
    try:
        for i, form in enumerate(raise_forms(workdir, CHALLENGES)):
            drop(form, home.inbox, form.name)
            if i == 0:
                wait_for(lambda: processed(home) >= 1, 60, "the first challenge")
                with open_register(home.root) as register:
                    first = register.references()[0]
                people = bystanders(home, workdir, first)
                threads = [
                    threading.Thread(target=keep_running, args=(p, stop), daemon=True)
                    for p in people
                ]
                for thread in threads:
                    thread.start()
        total = CHALLENGES
        for stage in (Stage.ONE, Stage.TWO, None):
            # Kill the watcher mid-round, then start it again at once.
            wait_for(lambda t=total: processed(home) >= t - CHALLENGES // 2, 240, "work to kill")
            kill_9(watcher)
            kills += 1
            watcher = start_watch(home.root, log, "--jobs", "4")
            wait_for(
                lambda t=total: processed(home) == t and files_in(home.claims) == [],
                300,
                f"{total} forms processed; log:\n{log.read_text()[-3000:]}",
            )
            if stage is None:
                break
            for form in answer_all(home, stage, workdir):
                drop(form, home.inbox, form.name)
            total += CHALLENGES
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=180)
        stop_watch(watcher)

    assert kills >= 2
    assert finished_files(home) == {"processed": 3 * CHALLENGES}
    for person in people:
        assert person.runs >= 2, f"{person.name} ran only {person.runs} time(s)"
        assert person.failures == [], f"{person.name}: {person.failures[:3]}"
    with open_register(home.root) as register:
        challenges = register.challenges()
        assert len(challenges) == CHALLENGES
        assert {c.stage for c in challenges} == {Stage.THREE}
        for challenge in challenges:
            assert challenge.reference is not None
            events = register.events(challenge.reference)
            assert [e.outcome for e in events if e.what == "file"] == ["processed"] * 3
            assert sum(1 for e in events if e.what == "transition") == 3
        assert_outbox_matches_register(home, register)
    assert len(list(home.archive.rglob("*.docx"))) == 3 * CHALLENGES
    checked = subprocess.run(
        [*FORMFLOW, "check", "--home", str(home.root), "--json"], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout
    status = subprocess.run(
        [*FORMFLOW, "status", "--home", str(home.root), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(json.loads(status.stdout)["challenges"]) == CHALLENGES
    assert "Example-" not in log.read_text()


@on_both_engines
def test_a_watcher_killed_each_time_recovery_picks_a_form_up_still_processes_it(
    tmp_path: Path,
) -> None:
    """A reboot loop, or an operator restarting a service that seems hung: every kill
    lands while start-up recovery works on the same oldest claim. The form is correct,
    so it must end processed, never set aside."""
    home = Home(tmp_path / "home")
    home.create()
    forms = raise_forms(tmp_path, 3)
    for i, form in enumerate(forms):  # claimed by a watcher that died at once
        claimed = home.claims / folders.claim_name(form.name, dt.datetime(2026, 1, 5, 9, 0, i))
        claimed.write_bytes(form.read_bytes())
    log = tmp_path / "watch.log"
    for restart in range(1, 5):

        def picked_up_again(n: int = restart) -> bool:
            with open_register(home.root) as register:
                return max((f.attempts for f in register.files()), default=0) >= n

        watcher = start_watch(home.root, log)
        try:
            wait_for(picked_up_again, 60, f"recovery to pick the form up ({restart})")
        finally:
            kill_9(watcher)
    watcher = start_watch(home.root, log)
    try:
        wait_for(lambda: processed(home) == 3, 120, f"every form; log:\n{log.read_text()}")
    finally:
        stop_watch(watcher)
    assert finished_files(home) == {"processed": 3}
    assert files_in(home.rejected) == []


def test_odd_names_print_one_line_each_and_a_clean_stop_logs_no_error(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.create()
    form, other = raise_forms(tmp_path, 2)
    out, errors = tmp_path / "watch.out", tmp_path / "watch.err"
    watcher = start_watch(home.root, out, errors=errors)
    forged = "a\nINFO fake log line.docx"
    hidden = ".saved hidden.docx"
    try:
        wait_for(lambda: "Watching" in errors.read_text(), 60, "the watcher to start")
        (home.inbox / forged).write_bytes(b"PK\x03\x04 not really a Word file")
        drop(form, home.inbox, "tab\there.docx")
        drop(other, home.inbox, hidden)
        wait_for(lambda: len(out.read_text().splitlines()) >= 3, 60, "three files handled")
        time.sleep(0.5)  # a stop while the observer waits for events: watchdog's race
    finally:
        stop_watch(watcher)
    lines = out.read_text().splitlines()
    assert len(lines) == 3, lines
    assert any("a\\nINFO fake log line.docx  rejected" in line for line in lines)
    assert any("tab\\there.docx  processed" in line for line in lines)
    assert any(".saved hidden.docx  processed" in line for line in lines)
    assert not any(line.startswith("INFO") for line in lines)
    assert (home.rejected / forged).is_file()
    assert (home.rejected / (forged + folders.NOTE_SUFFIX)).is_file()
    archived = {folders.original_name(p) for p in home.archive.rglob("*.docx")}
    assert archived == {"tab\there.docx", hidden}
    assert watcher.returncode == 0
    assert "ERROR" not in errors.read_text() and "Traceback" not in errors.read_text()


def status_of(home: Home) -> dict[str, str]:
    """What ``formflow status --json`` in another terminal shows: reference -> stage."""
    shown = subprocess.run(
        [*FORMFLOW, "status", "--home", str(home.root), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {row["reference"]: row["stage"] for row in json.loads(shown.stdout)["challenges"]}


def test_the_readme_walk_through_with_status_run_between_every_step(tmp_path: Path) -> None:
    """The README's steps as a new user takes them, `status` in a second terminal
    between each, and the watcher stopped and started again: no step is lost or hidden."""
    home = Home(tmp_path / "home")
    home.create()
    sample = tmp_path / "stage1-challenge.docx"  # as `make run` makes it, dated today
    subprocess.run(
        [*FORMFLOW, "new", "--sample", "--home", str(home.root), "-o", str(sample)], check=True
    )
    log = tmp_path / "watch.log"
    watcher = start_watch(home.root, log)
    try:
        wait_for(lambda: "Watching" in log.read_text(), 60, "the watcher to start")
        assert status_of(home) == {}
        drop(sample, home.inbox, sample.name)
        wait_for(lambda: processed(home) == 1, 60, f"the sample; log:\n{log.read_text()}")
        [(reference, stage)] = status_of(home).items()
        assert stage == "Stage 1"
        form = home.outbox / reference / f"{reference}-stage-1-form.docx"
        drop(answer(form, tmp_path / "answered.docx", TODAY), home.inbox, "answered.docx")
        wait_for(lambda: processed(home) == 2, 60, f"the answer; log:\n{log.read_text()}")
        assert (home.outbox / reference / f"{reference}-stage-2-form.docx").is_file()
        assert status_of(home) == {reference: "Stage 2"}
    finally:
        stop_watch(watcher)
    assert status_of(home) == {reference: "Stage 2"}
    watcher = start_watch(home.root, log)  # a restart keeps every step
    try:
        wait_for(lambda: log.read_text().count("Watching") == 2, 60, "the restart")
        assert status_of(home) == {reference: "Stage 2"}
    finally:
        stop_watch(watcher)
    shown = subprocess.run(
        [*FORMFLOW, "show", reference, "--home", str(home.root)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{reference}-stage-2-form.docx" in shown.stdout
