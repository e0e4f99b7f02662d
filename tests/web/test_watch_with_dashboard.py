"""``formflow watch`` as ``make run`` starts it: the dashboard beside the watcher, and
the live tracker rewritten as forms arrive, while other commands run."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from web_support import PASSWORD, USER, dashboard_address, sign_in_over_http

from waiting import wait_for

pytestmark = pytest.mark.slow


def formflow(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "formflow.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def tracker_references(outbox: Path) -> list[str]:
    try:
        sheet = load_workbook(outbox / "tracker.xlsx").active
    except (FileNotFoundError, KeyError, OSError):
        return []
    return [str(row[0].value) for row in sheet.iter_rows(min_row=2)]


def csv_text(outbox: Path) -> str:
    return (outbox / "tracker.csv").read_text(encoding="utf-8-sig")


def test_make_run_serves_the_dashboard_and_keeps_the_tracker_live(
    tmp_path: Path, home_register: str
) -> None:
    """On each engine: the register and the users in var/, or on PostgreSQL."""
    (tmp_path / "formflow.toml").write_text("[web]\nport = 0\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "formflow.cli", "watch", "--home", str(tmp_path), "--settle", "0.2"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        url = dashboard_address(process.stderr, until="Watching")
        assert url, "watch printed no dashboard address"
        formflow(
            "users",
            "add",
            USER,
            "--role",
            "admin",
            "--home",
            str(tmp_path),
            stdin=f"{PASSWORD}\n{PASSWORD}\n",
        )

        sample = tmp_path / "stage1-challenge.docx"  # as `make run` makes it, dated today
        formflow("new", "--sample", "--home", str(tmp_path), "-o", str(sample))
        shutil.copyfile(sample, tmp_path / "inbox" / "stage1-challenge.docx")
        outbox = tmp_path / "outbox"
        wait_for(lambda: len(tracker_references(outbox)) == 1, 60, "the tracker to list the form")
        reference = tracker_references(outbox)[0]
        wait_for(lambda: reference in csv_text(outbox), 10, "the CSV tracker to list it too")

        # business support has the spreadsheet open: the watcher goes on without it
        (outbox / "~$tracker.xlsx").write_bytes(b"amara.okafor")
        before = (outbox / "tracker.xlsx").read_bytes()
        second = tmp_path / "second.docx"
        shutil.copyfile(sample, second)
        with second.open("ab") as handle:
            handle.write(b"\0")  # other bytes, so not a duplicate of the first
        formflow("status", "--home", str(tmp_path))
        shutil.move(second, tmp_path / "inbox" / "second.docx")
        wait_for(
            lambda: (
                len((outbox / "tracker.csv").read_text(encoding="utf-8-sig").splitlines()) >= 2
                and not (tmp_path / "inbox" / "second.docx").exists()
            ),
            60,
            "the second form to be handled",
        )
        assert (outbox / "tracker.xlsx").read_bytes() == before

        _, listing = sign_in_over_http(url)
        assert reference in listing and "Open challenges" in listing
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode == 0
