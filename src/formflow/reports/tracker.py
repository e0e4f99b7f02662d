"""The live tracker: ``outbox/tracker.xlsx`` and ``outbox/tracker.csv``, kept current.

Business support keep their tracking spreadsheet in the shared folder; these two files
are that spreadsheet (the columns of ``formflow export``, frozen headers, a filter on
every column, overdue rows in red), rewritten after every change to the register. Each is
written under a temporary name and renamed into place, so nobody opens half a file.

A file someone has open is skipped, never waited on, and written at the next change or
retry. Open is judged three ways, because a Linux service cannot see a Windows user's
share lock directly: the owner file Excel (``~$tracker.xlsx``) or LibreOffice
(``.~lock.tracker.xlsx#``) puts beside a file it opens; a lock another process holds on
the file itself (``flock``, which Samba maps share locks to when ``kernel share modes``
is on); or the rename being refused (a Windows share mounted here says EACCES/EBUSY).
Replacing the file under an open Excel would lose the user's edits or ours at their
next save.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from formflow.config import Settings
from formflow.core.calendar import WorkingCalendar
from formflow.core.policy import Policy
from formflow.core.record import Challenge
from formflow.outbox.files import FILE_MODE, write_private
from formflow.policy_catalogue import PolicyCatalogue
from formflow.reports import tables
from formflow.store.register import Register

log = logging.getLogger(__name__)

TRACKER_NAMES = ("tracker.xlsx", "tracker.csv")
RETRY_SECONDS = 30.0
"""How soon a tracker skipped because it was open is tried again."""
SETTLE_SECONDS = 1.0
"""Changes this close together are written once (a burst of dropped forms)."""
STOP_WAIT_SECONDS = 3.0
"""How long a stop waits for a rewrite under way. The spreadsheets of 5,000 challenges take
a few seconds to make; a stop asked meanwhile writes neither file (``write_tracker``) and
the rewrite is left to end with the process: the next start writes them afresh."""
_BUSY = {errno.EACCES, errno.EBUSY, errno.EPERM, errno.ETXTBSY}


def owner_files(path: Path) -> list[Path]:
    """The lock files office programs leave beside a file they have open."""
    name = path.name
    return [
        path.with_name(f"~${name}"),
        path.with_name(f"~${name[2:]}"),  # Word and Excel's short form for long names
        path.with_name(f".~lock.{name}#"),
    ]


def in_use(path: Path) -> bool:
    """Whether someone has ``path`` open, as far as this machine can tell."""
    if any(owner.exists() for owner in owner_files(path)):
        return True
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    except OSError as exc:
        return exc.errno in _BUSY
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the probe's own lock
    return False


@dataclass
class TrackerResult:
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    """Open elsewhere: to be written at the next change or retry."""


def tracker_payloads(rows: Sequence[tables.ExportRow]) -> dict[str, bytes]:
    return {"tracker.xlsx": tables.xlsx_bytes(rows), "tracker.csv": tables.csv_bytes(rows)}


def write_tracker(
    outbox: Path,
    challenges: Sequence[Challenge],
    policies: Callable[[str], Policy],
    calendar: WorkingCalendar,
    today: dt.date,
    file_mode: int = FILE_MODE,
    stopping: Callable[[], bool] = lambda: False,
) -> TrackerResult:
    """Rewrite both trackers from the challenges (as ``file_mode``: ``[files] mode``),
    skipping any that is open. Neither is written once ``stopping()`` says the service is
    stopping: it is asked again just before the files are written, so a stop never waits
    for a file and never leaves one half written."""
    result = TrackerResult()
    targets = [outbox / name for name in TRACKER_NAMES]
    free = [t for t in targets if not in_use(t)]
    result.skipped = [t for t in targets if t not in free]
    if free and not stopping():
        payloads = tracker_payloads(tables.export_table(challenges, policies, calendar, today))
        for target in () if stopping() else free:
            try:
                write_private(target, payloads[target.name], file_mode)
            except OSError as exc:
                if exc.errno not in _BUSY:
                    raise
                result.skipped.append(target)
            else:
                result.written.append(target)
    for target in result.skipped:
        log.info("%s is open elsewhere: written later", target.name)
    return result


Refresh = Callable[[Callable[[], bool]], TrackerResult]
"""Rewrites the trackers, unless the check it is given says the service is stopping."""


class TrackerWriter:
    """Rewrites the trackers in a thread of its own after each ``changed()``: the
    pipeline's threads only set a flag and never wait for a spreadsheet. A burst of
    changes is written once; a skipped tracker is retried every ``retry`` seconds. A
    ``stop()`` waits ``stop_wait`` seconds at most for a rewrite under way."""

    def __init__(
        self,
        *,
        settle: float = SETTLE_SECONDS,
        retry: float = RETRY_SECONDS,
        stop_wait: float = STOP_WAIT_SECONDS,
    ) -> None:
        self._refresh: Refresh = lambda _stopping: TrackerResult()
        self._settle = settle
        self._retry = retry
        self._stop_wait = stop_wait
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracker", daemon=True)

    def start(self, refresh: Refresh) -> TrackerWriter:
        self._refresh = refresh
        self._changed.set()  # the first write: the register as it is at start-up
        self._thread.start()
        return self

    def changed(self) -> None:
        self._changed.set()

    def stop(self) -> None:
        self._stop.set()
        self._changed.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._stop_wait)

    def _run(self) -> None:
        pending = False
        while not self._stop.is_set():
            # Woken by a change, or after ``retry`` when a tracker was skipped last time.
            self._changed.wait(self._retry if pending else None)
            if self._stop.wait(self._settle):
                return
            self._changed.clear()
            try:
                pending = bool(self._refresh(self._stop.is_set).skipped)
            except Exception:
                log.exception("the tracker could not be written; tried again at the next change")
                pending = True


def refresh(
    register: Register,
    outbox: Path,
    policies: PolicyCatalogue,
    settings: Settings,
    today: dt.date,
    stopping: Callable[[], bool] = lambda: False,
) -> TrackerResult:
    """Both trackers from the register as it is now, unless ``stopping()``."""
    return write_tracker(
        outbox,
        register.challenges(),
        policies,
        settings.calendar,
        today,
        settings.file_mode,
        stopping,
    )


def refresher_in_thread(
    database: str | Path,
    outbox: Path,
    policies: PolicyCatalogue,
    settings: Settings,
    today: Callable[[], dt.date] = dt.date.today,
) -> Refresh:
    """``refresh`` for the writer's own thread, over a register connection it opens on
    first use (a connection stays in the thread that made it)."""
    opened: list[Register] = []

    def run(stopping: Callable[[], bool]) -> TrackerResult:
        if not opened:
            opened.append(Register(database))
        return refresh(opened[0], outbox, policies, settings, today(), stopping)

    return run
