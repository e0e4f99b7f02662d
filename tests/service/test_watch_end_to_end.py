"""End to end with the real watchdog observers, the real intake and the real renderers.

Forms are made with ``formflow.render.write_form`` from fictional challenges. Waits are
bounded: every wait polls a condition with a deadline and fails with what it saw.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from service_support import (
    assert_outbox_matches_register,
    files_in,
    home_at,
    make_challenge,
    open_register,
    start_watch,
    stop_watch,
    wait_for,
)

from formflow.config import Settings
from formflow.outbox.folders import Home
from formflow.pipeline import Outcome, Pipeline, Result, Services
from formflow.policy_catalogue import PolicyCatalogue, built_in
from formflow.render import write_form
from formflow.watch.supervisor import Watcher, WatchOptions

pytestmark = pytest.mark.slow

TODAY = dt.date.today()


class Forms:
    """Valid forms, each with different content (so different bytes), made once."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: list[Path] = []

    def valid(self, n: int) -> Path:
        while len(self.made) <= n:
            i = len(self.made)
            challenge = make_challenge(
                reference=None,
                date_of_notification=TODAY,
                concern=f"Contact plan {i} has not been reviewed since the placement move.",
                separate_challenge=True,  # all for one fictional child, each a new challenge
            )
            path = self.folder / f"valid-{i}.docx"
            write_form(challenge, built_in()("nelincs"), Settings(), path, today=TODAY)
            self.made.append(path)
        return self.made[n]


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> Forms:
    return Forms(tmp_path_factory.mktemp("forms"))


def drop(forms: Forms, inbox: Path, name: str, kind: str, n: int) -> None:
    """Drop a form: write under a hidden name, then rename in (as a copy program does)."""
    temporary = inbox / f".{name}.partial"
    if kind == "valid" or kind == "duplicate":
        shutil.copyfile(forms.valid(n), temporary)
    else:
        temporary.write_bytes(b"PK\x03\x04 this is not a real Word file " + str(n).encode())
    os.rename(temporary, inbox / name)


@dataclass
class Tally:
    processed: int
    rejected: int
    duplicates: int
    leftovers: list[str]


def tally(home: Home) -> Tally:
    with open_register(home.root) as register:
        outcomes = [f.outcome for f in register.files()]
        assert_outbox_matches_register(home, register)
    archived = [p for p in home.archive.rglob("*") if p.is_file()]
    rejected = [p for p in files_in(home.rejected) if not p.name.endswith(".errors.txt")]
    assert outcomes.count("processed") == len(archived)
    assert outcomes.count("rejected") + outcomes.count("duplicate") == len(rejected)
    leftovers = [p.name for p in files_in(home.inbox) + files_in(home.claims)]
    if home.staging.exists():
        leftovers += [p.name for p in home.staging.iterdir()]
    return Tally(
        outcomes.count("processed"),
        outcomes.count("rejected"),
        outcomes.count("duplicate"),
        leftovers,
    )


def handled(home: Home, results: list[Result], count: int) -> bool:
    """``count`` files are accounted for in the folders and the watcher has reported each:
    it adds a file's result a moment after archiving it."""
    return accounted(home) == count and len(results) == count


def accounted(home: Home) -> int:
    archived = sum(1 for p in home.archive.rglob("*") if p.is_file())
    rejected = sum(1 for p in files_in(home.rejected) if not p.name.endswith(".errors.txt"))
    return archived + rejected


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[..., tuple[Home, list[Result]]]]:
    """Start an in-process watcher thread; stopped and joined at the end of the test."""
    threads: list[tuple[threading.Thread, threading.Event]] = []
    failures: list[BaseException] = []

    def start(poll: float | None = None, settle: float = 0.3) -> tuple[Home, list[Result]]:
        home = home_at(tmp_path / "home")
        home.create()
        results: list[Result] = []
        stop = threading.Event()

        def run() -> None:
            try:
                with open_register(home.root) as register:
                    pipeline = Pipeline(
                        register,
                        Services(home, Settings(), PolicyCatalogue.for_home(home.root, Settings())),
                    )
                    options = WatchOptions(
                        poll_seconds=poll,
                        settle_seconds=settle,
                        rescan_seconds=3.0,
                        supervise_seconds=0.5,
                        check_seconds=0.05,
                    )
                    watcher = Watcher(pipeline, options, report=results.append)
                    watchers.append(watcher)
                    watcher.run(stop)
            except BaseException as exc:  # surfaced in the test, not lost in the thread
                failures.append(exc)

        watchers: list[Watcher] = []
        thread = threading.Thread(target=run, name="watcher")
        thread.start()
        threads.append((thread, stop))
        # Observing, so a file dropped now is seen as it is written, not only by a rescan.
        wait_for(
            lambda: bool(watchers) and watchers[0].supervisor.healthy(),
            30,
            "the watcher to start observing",
        )
        return home, results

    yield start
    for thread, stop in threads:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert failures == []


@pytest.mark.parametrize("poll", [None, 0.2], ids=["native", "polling"])
def test_a_file_written_slowly_in_chunks_is_not_read_early(
    running: Callable[..., tuple[Home, list[Result]]], forms: Forms, poll: float | None
) -> None:
    home, results = running(poll=poll, settle=0.6)
    data = forms.valid(0).read_bytes()
    target = home.inbox / "slow.docx"
    chunks = [data[i : i + len(data) // 8 + 1] for i in range(0, len(data), len(data) // 8 + 1)]
    with target.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
            handle.flush()
            time.sleep(0.25)
            assert target.exists(), "claimed while still being written"
            assert files_in(home.claims) == []
    wait_for(lambda: handled(home, results, 1), 30, "the slow file to be handled")
    assert [r.outcome.value for r in results] == ["processed"]
    assert tally(home).leftovers == []


@pytest.mark.parametrize("poll", [None, 0.2], ids=["native", "polling"])
def test_lock_and_junk_files_are_ignored_and_moved_in_files_are_read(
    running: Callable[..., tuple[Home, list[Result]]], forms: Forms, poll: float | None
) -> None:
    home, results = running(poll=poll)
    junk = [
        "~$allenge.docx",
        ".~lock.challenge.docx#",
        "~WRL0001.tmp",
        "._challenge.docx",
        ".DS_Store",
        "Thumbs.db",
        "desktop.ini",
        "upload.tmp",
        ".challenge.docx.partial",
    ]
    for name in junk:
        (home.inbox / name).write_bytes(b"junk")
    # A form under a hidden name is read (and here, not being a form, rejected visibly).
    (home.inbox / ".hidden.docx").write_bytes(b"junk")
    (home.inbox / "drafts").mkdir()
    (home.inbox / "drafts" / "draft.docx").write_bytes(forms.valid(0).read_bytes())
    # Word saves through a temporary file and a rename: the moved-in name is read.
    shutil.copyfile(forms.valid(1), home.inbox / "~WRL0002.tmp")
    os.rename(home.inbox / "~WRL0002.tmp", home.inbox / "saved by word.docx")
    outside = home.root / "elsewhere.docx"
    shutil.copyfile(forms.valid(2), outside)
    os.rename(outside, home.inbox / "moved in.docx")
    wait_for(lambda: handled(home, results, 3), 30, "the two moved-in forms and the hidden one")
    time.sleep(0.5)  # a further settle period: the junk must still be untouched
    assert sorted(r.name for r in results) == [
        ".hidden.docx",
        "moved in.docx",
        "saved by word.docx",
    ]
    assert (home.rejected / "hidden.docx.errors.txt").is_file()
    left = {p.name for p in home.inbox.iterdir() if p.is_file()}
    assert left == set(junk)
    assert (home.inbox / "drafts" / "draft.docx").exists()
    assert files_in(home.claims) == []


@pytest.mark.parametrize("poll", [None, 0.2], ids=["native", "polling"])
def test_a_link_and_a_named_pipe_dropped_in_are_rejected_unopened(
    running: Callable[..., tuple[Home, list[Result]]], forms: Forms, poll: float | None
) -> None:
    home, results = running(poll=poll)
    elsewhere = home.root / "kept elsewhere.docx"
    shutil.copyfile(forms.valid(3), elsewhere)
    (home.inbox / "shortcut.docx").symlink_to(elsewhere)
    os.mkfifo(home.inbox / "pipe.docx")
    wait_for(lambda: len(results) == 2, 30, "the link and the pipe to be handled")
    assert {(r.name, r.outcome) for r in results} == {
        ("shortcut.docx", Outcome.REJECTED),
        ("pipe.docx", Outcome.REJECTED),
    }
    for name in ("shortcut.docx", "pipe.docx"):
        assert "special file" in (home.rejected / f"{name}.errors.txt").read_text()
    assert (home.rejected / "shortcut.docx").is_symlink()
    assert elsewhere.read_bytes() == forms.valid(3).read_bytes()
    assert not home.archive.exists() or list(home.archive.iterdir()) == []


def test_a_file_closed_by_its_writer_is_read_without_the_full_settle_time(
    running: Callable[..., tuple[Home, list[Result]]], forms: Forms
) -> None:
    """Native events see the writer close the file, or rename it into the inbox (as Word
    saves, or a copy program's last step): read after the short settle, not the
    configured 30 s. A polling observer sees neither and waits the full time."""
    home, results = running(settle=30)
    started = time.monotonic()
    (home.inbox / "saved.docx").write_bytes(forms.valid(0).read_bytes())
    shutil.copyfile(forms.valid(1), home.inbox / "~WRL0003.tmp")
    os.rename(home.inbox / "~WRL0003.tmp", home.inbox / "saved by word.docx")
    shutil.copyfile(forms.valid(2), home.root / "elsewhere.docx")
    os.rename(home.root / "elsewhere.docx", home.inbox / "moved in.docx")
    dropped = ("saved.docx", "saved by word.docx", "moved in.docx")
    # Claimed (gone from the inbox) is the moment of reading; processing may be slow.
    wait_for(
        lambda: not any((home.inbox / name).exists() for name in dropped),
        15,
        "all three to be claimed, long before the 30 s settle",
    )
    assert time.monotonic() - started < 15
    wait_for(lambda: handled(home, results, 3), 120, "all three to be handled")
    names = sorted(r.name for r in results)
    assert names == ["moved in.docx", "saved by word.docx", "saved.docx"]


def test_two_hundred_mixed_files_are_each_accounted_for(
    running: Callable[..., tuple[Home, list[Result]]], forms: Forms
) -> None:
    home, results = running(settle=0.2)
    kinds = ["valid"] * 8 + ["invalid"] * 100 + ["duplicate"] * 92
    started = time.monotonic()
    for i, kind in enumerate(kinds):
        n = i if kind == "valid" else i % 8
        drop(forms, home.inbox, f"form-{i:03d}.docx", kind, n)
    wait_for(lambda: accounted(home) == 200, 80, "all 200 files to be handled")
    elapsed = time.monotonic() - started
    seen = tally(home)
    assert seen.leftovers == []
    assert (seen.processed, seen.rejected, seen.duplicates) == (8, 100, 92)
    assert seen.processed + seen.rejected + seen.duplicates == 200
    assert len(results) == 200
    print(f"200 files in {elapsed:.1f}s")


def test_a_dead_observer_is_restarted(
    running: Callable[..., tuple[Home, list[Result]]], forms: Forms
) -> None:
    home, results = running(settle=0.2)
    time.sleep(0.3)
    # Simulate watchdog issue #1065: the emitter thread stops without a word.
    import gc

    watchers = [o for o in gc.get_objects() if isinstance(o, Watcher)]
    assert watchers
    supervisor = watchers[-1].supervisor
    assert supervisor.observer is not None
    for emitter in list(supervisor.observer.emitters):
        emitter.stop()
        emitter.join(timeout=5)
    wait_for(lambda: supervisor.restarts >= 1, 10, "the observer to be restarted")
    drop(forms, home.inbox, "after restart.docx", "valid", 3)
    wait_for(lambda: handled(home, results, 1), 30, "a form dropped after the restart")
    assert [r.outcome.value for r in results] == ["processed"]


# --- separate processes: kill -9, and two watchers on one folder -------------------------


# SQLite only for the suite's time: a kill -9 and restart on PostgreSQL is in
# test_concurrent_use.py and test_watch_restart.py.
def test_kill_9_mid_batch_then_restart_ends_exactly_once(tmp_path: Path, forms: Forms) -> None:
    home = Home(tmp_path / "home")
    home.create()
    log = tmp_path / "watch.log"
    kinds = ["valid"] * 6 + ["invalid"] * 4 + ["duplicate"] * 4
    for i, kind in enumerate(kinds):
        drop(forms, home.inbox, f"form-{i:02d}.docx", kind, i % 6)
    for kill_after in (2, 6):

        def in_progress(n: int = kill_after) -> bool:
            return accounted(home) >= n and files_in(home.claims) != []

        process = start_watch(home.root, log)
        try:
            wait_for(in_progress, 40, "work in progress to kill")
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    process = start_watch(home.root, log)
    try:
        wait_for(
            lambda: accounted(home) == len(kinds) and files_in(home.claims) == [],
            60,
            f"every file to be handled after the restart; log:\n{log.read_text()}",
        )
    finally:
        stop_watch(process)
    seen = tally(home)
    assert seen.leftovers == []
    assert (seen.processed, seen.rejected, seen.duplicates) == (6, 4, 4)
    assert "Tegan" not in log.read_text()


# SQLite only for the suite's time: test_two_machines.py runs two watchers on PostgreSQL.
def test_two_watchers_on_one_folder_never_process_a_file_twice(
    tmp_path: Path, forms: Forms
) -> None:
    home = Home(tmp_path / "home")
    home.create()
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    processes = [start_watch(home.root, log) for log in logs]
    try:
        kinds = ["valid"] * 6 + ["invalid"] * 16 + ["duplicate"] * 18
        for i, kind in enumerate(kinds):
            drop(forms, home.inbox, f"form-{i:02d}.docx", kind, i % 6)
        # A bound on liveness, not a speed target: alone it takes 10-15 s, four at once
        # 43 s, and once in the full suite it ran past 60 s.
        wait_for(lambda: accounted(home) == len(kinds), 180, "both watchers to finish")
    finally:
        for process in processes:
            stop_watch(process)
    seen = tally(home)
    assert seen.leftovers == []
    assert (seen.processed, seen.rejected, seen.duplicates) == (6, 16, 18)
    lines = [
        line
        for log in logs
        for line in log.read_text().splitlines()
        if " processed " in line or " rejected " in line or " duplicate " in line
    ]
    assert len(lines) == len(kinds)


@pytest.mark.parametrize("as_background_job", [False, True])
def test_ctrl_c_stops_the_watcher_cleanly(tmp_path: Path, as_background_job: bool) -> None:
    home = Home(tmp_path / "home")
    home.create()
    log = tmp_path / "watch.log"
    process = start_watch(home.root, log, as_background_job=as_background_job)
    try:
        wait_for(lambda: "Watching" in log.read_text(), 30, "the watcher to start")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        stop_watch(process)
    assert "Stopped." in log.read_text()
    assert "Traceback" not in log.read_text()


def _command(home: Home, *args: str) -> subprocess.Popen[bytes]:
    """``formflow ARGS --home HOME`` in its own process, as business support run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "formflow.cli", *args, "--home", str(home.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


# SQLite only for the suite's time: commands beside a watcher on PostgreSQL are in
# test_random_life.py.
def test_commands_and_dropped_forms_on_the_same_challenges_while_the_watcher_runs(
    running: Callable[..., tuple[Home, list[Result]]], forms: Forms
) -> None:
    """A response dropped for a challenge while a command hands it to another manager, and
    a challenge withdrawn while new forms arrive: every change lands once, in some order,
    and the outbox is exactly what the register lists."""
    from filled_forms import fill_docx

    home, results = running(settle=0.2)
    for n in (0, 1):
        drop(forms, home.inbox, f"new-{n}.docx", "valid", n)
    wait_for(lambda: accounted(home) == 2, 120, "two challenges to be raised")
    with open_register(home.root) as register:
        first, second = sorted(register.references())
    answered = fill_docx(
        home.outbox / first / f"{first}-stage-1-form.docx",
        home.root / "answered.docx",
        {"response_text": "We do not agree."},
        ticked=("response_not_resolved",),
    )
    who = ("--by", "Kemi Adeyemi, business support")
    commands = [
        _command(home, "reassign", first, "--to", "Sam Okafor", "--role", "Team Manager", *who,
                 "--reason", "Priya Raman is on leave"),
        _command(home, "withdraw", second, *who, "--reason", "Raised in error"),
    ]  # fmt: skip
    os.rename(answered, home.inbox / "answered.docx")
    for n in (2, 3):
        drop(forms, home.inbox, f"new-{n}.docx", "valid", n)
    outputs = [c.communicate(timeout=120)[0].decode() for c in commands]
    assert [c.returncode for c in commands] == [0, 0], outputs
    wait_for(lambda: accounted(home) == 5, 120, "the answer and two new forms")
    assert tally(home).leftovers == []
    with open_register(home.root) as register:
        answered_record = register.challenge(first)
        withdrawn = register.challenge(second)
        assert answered_record is not None and answered_record.history
        assert withdrawn is not None and withdrawn.closure is not None
        assert withdrawn.closure.kind.value == "withdrawn"
        trail = [e.reason for e in register.events(first) if e.reason]
        assert trail == ["Priya Raman is on leave"]
        assert len(register.references()) == 4
    assert sorted(r.outcome for r in results).count(Outcome.PROCESSED) == 5
