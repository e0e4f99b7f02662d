"""The live tracker: ``outbox/tracker.xlsx`` and ``outbox/tracker.csv``, kept current.

Business support keep their tracking spreadsheet in the shared folder; these two files
are that spreadsheet (the columns of ``formflow export``, frozen headers, a filter on
every column, overdue rows in red), rewritten after every change to the register. Each is
written under a temporary name and renamed into place, so nobody opens half a file. The
watcher and the dashboard have them made by a child process at a lower CPU priority
(``made_in_child``): the forms and requests get the CPU first, the large spreadsheet after.

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

import contextlib
import datetime as dt
import errno
import fcntl
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

from formflow.config import Settings
from formflow.core.calendar import WorkingCalendar
from formflow.core.policy import Policy
from formflow.core.record import Challenge
from formflow.outbox.files import FILE_MODE, write_private
from formflow.policy_catalogue import PolicyCatalogue, PolicyFolder
from formflow.reports import tables
from formflow.store.register import Register

log = logging.getLogger(__name__)

TRACKER_NAMES = ("tracker.xlsx", "tracker.csv")
RETRY_SECONDS = 30.0
"""How soon a tracker skipped because it was open is tried again."""
SETTLE_SECONDS = 1.0
"""Changes this close together are written once (a burst of dropped forms)."""
STOP_WAIT_SECONDS = 3.0
"""How long a stop waits for a rewrite under way. The spreadsheets of 50,000 challenges take
half a minute to make; a stop asked meanwhile ends the process making them at once
(``made_in_child``) and writes neither file: the next start writes them afresh."""
STOP_CHECK_SECONDS = 0.1
"""How often the wait for the tracker process looks whether the service is stopping."""
TRACKER_NICENESS = 10
"""How far below the service's the tracker process's CPU priority is: on a busy machine
the dashboard's requests and the watcher's forms go first, the spreadsheet after."""
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
    stale: bool = False
    """The register changed while the trackers were made (by another process, which no
    ``changed()`` reaches): they are made again."""


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
    return write_payloads(
        outbox,
        lambda: tracker_payloads(tables.export_table(challenges, policies, calendar, today)),
        file_mode,
        stopping,
    )


def write_payloads(
    outbox: Path,
    make: Callable[[], Mapping[str, bytes]],
    file_mode: int = FILE_MODE,
    stopping: Callable[[], bool] = lambda: False,
) -> TrackerResult:
    """``write_tracker`` with the spreadsheets' bytes from ``make()``, which is not called
    when both trackers are open or the service is stopping."""
    result = TrackerResult()
    targets = [outbox / name for name in TRACKER_NAMES]
    free = [t for t in targets if not in_use(t)]
    result.skipped = [t for t in targets if t not in free]
    if free and not stopping():
        payloads = make()
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
    ``stop()`` waits ``stop_wait`` seconds at most for a rewrite under way. The service's
    refresh is ``refresher_in_child``: the thread waits while another process makes the
    spreadsheets."""

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
                result = self._refresh(self._stop.is_set)
                pending = bool(result.skipped)
                if result.stale:
                    self._changed.set()
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


@dataclass(frozen=True)
class TrackerSource:
    """What the tracker process reads: plain values, since they are sent to it."""

    register: str | Path
    """What ``Register`` opens (``Home.register``): a PostgreSQL URL, or the SQLite file."""
    policy_folders: tuple[PolicyFolder, ...]
    calendar: WorkingCalendar


class TrackerProcessFailed(RuntimeError):
    """The tracker process ended without making the spreadsheets."""


def refresher_in_child(
    register: str | Path,
    outbox: Path,
    policies: PolicyCatalogue,
    settings: Settings,
    today: Callable[[], dt.date] = dt.date.today,
) -> Refresh:
    """``refresh`` with the spreadsheets made in a child process (``made_in_child``); this
    process only checks which trackers are open and writes the bytes it is sent."""
    source = TrackerSource(register, policies.folders, settings.calendar)

    def run(stopping: Callable[[], bool]) -> TrackerResult:
        seen: list[int] = []

        def make() -> dict[str, bytes]:
            payloads, last_event = made_in_child(source, today(), stopping)
            seen.append(last_event)
            return payloads

        result = write_payloads(outbox, make, settings.file_mode, stopping)
        # A command in another process (`formflow withdraw`) writes the trackers itself
        # after its commit; made from a read before that commit and written after it,
        # ours would leave the older picture until the next change here.
        if seen and not stopping():
            with Register(source.register) as register:
                result.stale = register.last_event_id() != seen[0]
        return result

    return run


def made_in_child(
    source: TrackerSource, today: dt.date, stopping: Callable[[], bool]
) -> tuple[dict[str, bytes], int]:
    """Both trackers' bytes, made in a process of their own at a lower CPU priority, and
    the register's last event as the process read it (its version, in effect).

    Reading every challenge and laying out their spreadsheet is seconds of CPU (33 s for
    50,000 challenges): in a thread of the dashboard or the watcher it held the GIL
    against the requests and the forms. The process comes from the forkserver, as the PDF
    processes do: forking the service itself, which has threads, could copy a lock
    another thread holds. It writes no file, so ending it can leave nothing half done:
    once ``stopping()`` it is killed, and nothing (an empty answer) is written."""
    context = multiprocessing.get_context("forkserver")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_make_in_child, args=(sender, source, today), daemon=True, name="formflow-tracker"
    )
    started = time.monotonic()
    child.start()
    sender.close()
    log.debug("process %d makes the trackers", child.pid)
    try:
        while not receiver.poll(STOP_CHECK_SECONDS):
            if stopping():
                return {}, 0
        answer = receiver.recv()
    except EOFError as exc:
        raise TrackerProcessFailed("The tracker process ended without an answer.") from exc
    finally:
        receiver.close()
        child.kill()
        child.join()
        child.close()
    if isinstance(answer, str):
        raise TrackerProcessFailed(f"The tracker process failed: {answer}")
    pid, niceness, payloads, last_event = answer
    log.info(
        "the trackers were made by process %d at niceness %d in %.1f s",
        pid,
        niceness,
        time.monotonic() - started,
    )
    return cast(dict[str, bytes], payloads), int(last_event)


def _make_in_child(sender: Connection, source: TrackerSource, today: dt.date) -> None:
    """The tracker process's whole life: lower its priority, read the register, make the
    spreadsheets, send their bytes (or what went wrong) and end."""
    try:
        niceness = os.nice(TRACKER_NICENESS)
        with Register(source.register) as register, register.reading():
            challenges = register.challenges()
            last_event = register.last_event_id()
        policies = PolicyCatalogue(source.policy_folders)
        rows = tables.export_table(challenges, policies, source.calendar, today)
        answer: object = (os.getpid(), niceness, tracker_payloads(rows), last_event)
    except Exception as exc:  # the parent logs it and tries again at the next change
        answer = f"{type(exc).__name__}: {exc}"
    with contextlib.suppress(BrokenPipeError):  # the service was killed meanwhile
        sender.send(answer)
    sender.close()
