"""Stopping and starting the watcher: a kill -9 leaves nothing noisy on the terminal, and a
start says what it finished of the forms a stop left half done, which `status` lists."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from service_support import (
    cli,
    new_form,
    on_both_engines,
    open_register,
    start_watch,
    stop_watch,
    wait_for,
)

from formflow.core.record import Child, LegalStatus
from formflow.outbox.folders import Home, claim_name


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now, from /proc."""
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kill_9_of_a_watcher_reading_pdfs_leaves_no_traceback_or_warning(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.create()
    out, errors = tmp_path / "watch.out", tmp_path / "watch.err"
    process = start_watch(home.root, out, errors=errors)
    try:
        new_form(home.inbox, "pdf-form.pdf", pdf=True)
        wait_for(lambda: "pdf-form.pdf  processed" in out.read_text(), 60, "the PDF form")
        helpers = _descendants(process.pid)
        assert helpers, "the PDF processes should be running"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        wait_for(lambda: not any(_alive(p) for p in helpers), 30, "the helpers to end")
    finally:
        stop_watch(process)
    said = errors.read_text()
    assert "Traceback" not in said
    assert "leaked" not in said


def test_the_pdf_reader_ends_quietly_when_its_parent_dies_in_the_middle_of_a_file(
    tmp_path: Path,
) -> None:
    """The parent killed while it sends a file: the child sees a message cut short."""
    script = textwrap.dedent(
        """
        import struct
        from formflow.intake.pdf_reader import PdfWorker

        if __name__ == "__main__":
            worker = PdfWorker()
            connection = worker._start()
            connection._send(struct.pack("!i", 100_000) + b"%PDF-1.7 and no more")
            connection.close()
            worker._process.join(30)
            print("exit code", worker._process.exitcode)
        """
    )
    (tmp_path / "parent.py").write_text(script, encoding="utf-8")
    ran = subprocess.run(
        [sys.executable, "parent.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert ran.stdout.strip() == "exit code 0", ran.stderr
    assert "Traceback" not in ran.stderr


def _left_claimed(home: Home, name: str, child: Child) -> None:
    """A form a stopped watcher had claimed and not finished."""
    form = new_form(home.root, name, child=child)
    form.rename(home.claims / claim_name(name, dt.datetime(2026, 12, 1, 9, 30)))


@on_both_engines
def test_a_start_says_how_the_forms_left_from_before_the_stop_ended(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.create()
    open_register(home.root).close()  # the register the stopped watcher kept
    _left_claimed(
        home,
        "first.docx",
        Child("Rhys Example", dt.date(2012, 5, 1), "LCS-000901", LegalStatus.CHILD_IN_CARE),
    )
    _left_claimed(
        home,
        "second.docx",
        Child("Nia Example", dt.date(2013, 6, 2), "LCS-000902", LegalStatus.CHILD_IN_CARE),
    )
    code, shown = cli(home.root, "status")
    assert code == 0, shown
    assert f"Files in progress (2), in {home.claims}:" in shown
    assert "  first.docx  since 20261201T093000  (attempt 0)" in shown
    code, shown = cli(home.root, "status", "--json")
    assert code == 0, shown
    working = json.loads(shown)["files_in_progress"]
    assert sorted(f["file"] for f in working) == ["first.docx", "second.docx"]

    log = tmp_path / "watch.log"
    process = start_watch(home.root, log)
    try:
        wait_for(
            lambda: "2 forms left from before the stop: processed" in log.read_text(),
            60,
            f"the start to say so; log:\n{log.read_text() if log.exists() else ''}",
        )
    finally:
        stop_watch(process)
    code, shown = cli(home.root, "status", "--json")
    assert json.loads(shown)["files_in_progress"] == []
    assert "Files in progress" not in cli(home.root, "status")[1]
