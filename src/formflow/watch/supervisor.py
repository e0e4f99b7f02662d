"""The watch loop: a supervised watchdog observer feeding a stability tracker.

    observer thread ──paths──► queue ──► main loop: tracker (stable?) ──► job workers
                                          │    (formflow.watch.jobs: pipeline.handle, 4 at once)
                                          ├─ every supervise_seconds: observer alive? else restart
                                          ├─ every rescan_seconds: recover claims, list the inbox
                                          ├─ every tick_seconds: a deadline sweep, its
                                          │    challenges handed to free workers while no
                                          │    file is in hand
                                          └─ after work: send notices when [smtp] is set

Events only say "look at this path"; whether and when to read it is decided here, on
the file's current state, so a missed or duplicated event costs nothing. watchdog's
emitter can die silently on an OSError from a share that went away (issue #1065), so
the loop checks the observer and its emitter threads and starts a fresh one. The
periodic rescan catches anything the observer missed (polling intervals, restarts).

Settings (``[watch]`` in formflow.toml; command-line options win)::

    [watch]
    poll_seconds = 5         # use the polling observer (SMB/CIFS/NFS shares)
    settle_seconds = 2       # unchanged size and mtime for this long before reading
                             # (0.2 s after a native close-after-write or rename)
    rescan_seconds = 300     # full rescan of the inbox and the claim folder
    tick_seconds = 3600      # deadline sweep
    jobs = 4                 # files processed side by side (4 keeps 2 cores busy)
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR
from typing import Any

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from formflow.config import Settings
from formflow.errors import ConfigError, FormflowError
from formflow.pipeline import Outcome, Pipeline, Result
from formflow.watch.jobs import Chasing, Finished, JobRunner, drained
from formflow.watch.junk import judge_path
from formflow.watch.stability import Signature, StabilityTracker

log = logging.getLogger(__name__)

MAX_JOBS = 8


@dataclass(frozen=True)
class WatchOptions:
    poll_seconds: float | None = None
    """None: native events (inotify and friends); a number: the polling observer."""
    settle_seconds: float = 2.0
    rescan_seconds: float = 300.0
    tick_seconds: float = 3600.0
    supervise_seconds: float = 5.0
    check_seconds: float = 0.2
    """How often the loop looks at the files it is waiting on."""
    jobs: int = 4
    """Files processed side by side."""


def watch_options(
    settings: Settings,
    *,
    poll: float | None = None,
    settle: float | None = None,
    jobs: int | None = None,
) -> WatchOptions:
    section: Any = settings.raw.get("watch", {})
    if not isinstance(section, dict):
        raise ConfigError("[watch] in formflow.toml must be a table of settings.")

    def number(key: str, default: float | None) -> float | None:
        value = section.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"[watch] {key} must be a number of seconds, not {value!r}.")
        return float(value)

    defaults = WatchOptions()
    settle_value = (
        settle if settle is not None else number("settle_seconds", defaults.settle_seconds)
    )
    return WatchOptions(
        poll_seconds=poll if poll is not None else number("poll_seconds", None),
        settle_seconds=settle_value if settle_value is not None else defaults.settle_seconds,
        rescan_seconds=number("rescan_seconds", defaults.rescan_seconds) or defaults.rescan_seconds,
        tick_seconds=number("tick_seconds", defaults.tick_seconds) or defaults.tick_seconds,
        jobs=jobs if jobs is not None else _jobs(section.get("jobs", defaults.jobs)),
    )


def _jobs(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_JOBS:
        raise ConfigError(
            f"[watch] jobs must be a whole number from 1 to {MAX_JOBS}, not {value!r}."
        )
    return value


class _InboxEvents(FileSystemEventHandler):
    """Turns every event into "look at this path"; moved-in files by their new name."""

    def __init__(self, paths: queue.SimpleQueue[Path], closed: queue.SimpleQueue[Path]) -> None:
        self.paths = paths
        self.closed = closed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                self.paths.put(Path(os.fsdecode(raw)))
        # Written and closed, or renamed in whole: complete now (inotify only; polling
        # observers never say, and those files wait the full settle time).
        if event.event_type == EVENT_TYPE_CLOSED:
            self.closed.put(Path(os.fsdecode(event.src_path)))
        elif event.event_type == EVENT_TYPE_MOVED and event.dest_path:
            self.closed.put(Path(os.fsdecode(event.dest_path)))


class ObserverSupervisor:
    """Starts a watchdog observer on the inbox and restarts it when it dies."""

    def __init__(
        self,
        inbox: Path,
        poll_seconds: float | None,
        paths: queue.SimpleQueue[Path],
        closed: queue.SimpleQueue[Path],
    ) -> None:
        self.inbox = inbox
        self.poll_seconds = poll_seconds
        self.paths = paths
        self.closed = closed
        self.observer: BaseObserver | None = None
        self.restarts = 0

    def _new(self) -> BaseObserver:
        if self.poll_seconds is not None:
            return PollingObserver(timeout=self.poll_seconds)
        if sys.platform.startswith("linux"):
            from watchdog.observers.inotify import InotifyObserver

            # Full events: a file renamed in from another folder is a move (whole at
            # once), where plain inotify events would call it created (maybe half written).
            return InotifyObserver(generate_full_events=True)
        return Observer()

    def start(self) -> bool:
        observer = self._new()
        try:
            observer.schedule(
                _InboxEvents(self.paths, self.closed), str(self.inbox), recursive=False
            )
            observer.start()
        except OSError as exc:
            log.error("cannot watch %s (%s); retrying", self.inbox, exc.strerror or exc)
            observer.stop()
            return False
        self.observer = observer
        kind = f"polling every {self.poll_seconds}s" if self.poll_seconds else "native events"
        log.info("watching %s (%s)", self.inbox, kind)
        return True

    def healthy(self) -> bool:
        observer = self.observer
        if observer is None or not observer.is_alive():
            return False
        emitters = list(observer.emitters)
        return bool(emitters) and all(e.is_alive() for e in emitters)

    def ensure(self) -> bool:
        """Restart the observer if it (or an emitter) died; True when it was restarted."""
        if self.healthy():
            return False
        log.warning("the inbox observer stopped; starting a new one")
        self.stop()
        self.restarts += 1
        return self.start()

    def stop(self) -> None:
        observer, self.observer = self.observer, None
        if observer is None:
            return
        emitters = list(observer.emitters)
        inotify_log = logging.getLogger("watchdog.observers.inotify")
        inotify_log.addFilter(_stopping_noise)
        try:
            observer.stop()
            if observer.is_alive():
                observer.join(timeout=10)
            for emitter in emitters:
                emitter.join(timeout=10)
        except (OSError, RuntimeError) as exc:  # an observer that never started
            log.debug("stopping the observer: %s", exc)
        finally:
            inotify_log.removeFilter(_stopping_noise)


TRACKER_CUE_SECONDS = 60.0
"""During a long deadline sweep the live tracker is cued this often, and when the sweep
ends, rather than after each challenge: rewriting a large tracker takes the watcher's
time (16 s of CPU for 5,000 challenges, measured), which it would otherwise spend
rewriting it again and again while the sweep waits for it."""


def _stopping_noise(record: logging.LogRecord) -> bool:
    """False for the error watchdog's inotify emitter logs when it is stopped while it
    waits for an event (it checks it is running, then the stop takes its queue away):
    formflow asked for that stop, so it is no error. Only while we stop an observer."""
    return "called when the thread is inactive" not in record.getMessage()


def left_from_before(results: Sequence[Result]) -> str:
    """What a start said of the forms a stopped watcher left claimed: "2 forms left from
    before the stop: processed", or each outcome counted when they differ."""
    outcomes = Counter(r.outcome.value for r in results)
    said = (
        next(iter(outcomes))
        if len(outcomes) == 1
        else ", ".join(f"{count} {outcome}" for outcome, count in outcomes.items())
    )
    forms = "form" if len(results) == 1 else "forms"
    return f"{len(results)} {forms} left from before the stop: {said}"


class Watcher:
    """The loop; ``run(stop)`` returns when ``stop`` is set."""

    def __init__(
        self,
        pipeline: Pipeline,
        options: WatchOptions,
        report: Callable[[Result], None] = lambda _r: None,
        clock: Callable[[], float] = time.monotonic,
        announce: Callable[[str], None] = log.info,
    ) -> None:
        self.pipeline = pipeline
        self.options = options
        self.report = report
        self.announce = announce
        """Where a start says what it finished of the last run's work."""
        self.clock = clock
        self.home = pipeline.home
        self.paths: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self.closed: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self.tracker = StabilityTracker(options.settle_seconds, clock)
        self.supervisor = ObserverSupervisor(
            self.home.inbox, options.poll_seconds, self.paths, self.closed
        )
        self.jobs = JobRunner(pipeline.services, options.jobs)
        self.handled = 0
        self.to_chase: deque[str] = deque()
        """What the deadline sweep under way has still to chase, in order."""
        self.sweep_day = pipeline.services.now().date()
        self.next_cue = clock()

    def rescan(self, *, starting: bool = False) -> None:
        """Recover claims a dead process left, then look at every file in the inbox. At
        the start, say how the forms the last run left in the middle ended: otherwise
        they would only be lines among the others."""
        recovered = self.pipeline.recover()
        for result in recovered:
            self._report(result)
        if starting and recovered:
            self.announce(left_from_before(recovered))
        try:
            entries = list(os.scandir(self.home.inbox))
        except OSError as exc:
            log.error("cannot list %s: %s", self.home.inbox, exc.strerror or exc)
            return
        for entry in entries:
            self.paths.put(Path(entry.path))

    def _report(self, result: Result) -> None:
        if result.outcome is not Outcome.SKIPPED:
            self.handled += 1
        self.report(result)

    def _drain(self) -> None:
        for path in drained(self.paths):
            verdict = judge_path(self.home.inbox, path)
            if not verdict.read:
                log.debug("%s: %s", path.name, verdict.reason)
                continue
            if path not in self.tracker:
                self._look(path)
        self._note_closed()

    def _note_closed(self) -> None:
        """Files the observer saw finished: a short settle from their present state."""
        for path in drained(self.closed):
            if path not in self.tracker:  # junk, gone, or already handed to a worker
                continue
            try:
                self.tracker.closed(path, Signature.of(path.lstat()))
            except OSError:
                self.tracker.forget(path)

    def _look(self, path: Path) -> bool:
        """Stat ``path`` and tell the tracker; True when it is ready to read."""
        try:
            stat = path.lstat()  # a link is judged as itself: the pipeline refuses it
        except FileNotFoundError:
            self.tracker.forget(path)
            return False
        except OSError as exc:
            log.warning("%s: cannot look at it yet (%s)", path.name, exc.strerror or exc)
            return False
        if S_ISDIR(stat.st_mode):
            self.tracker.forget(path)
            return False
        return self.tracker.update(path, Signature.of(stat))

    def check_files(self) -> None:
        """Hand each file that has settled to a free job worker; the rest wait their turn."""
        self._drain()
        for key in self.tracker.waiting():
            if not self.jobs.has_room():
                return
            path = Path(str(key))
            if self.jobs.busy(path) or not self._look(path):
                continue
            self.tracker.forget(path)
            self.jobs.submit(path)

    def finish(self, finished: list[Finished | Chasing]) -> None:
        for item in finished:
            if isinstance(item, Chasing):
                self._chased(item)
            elif item.error is not None:
                log.warning(
                    "%s: not claimed yet (%s)", item.path.name, item.error.strerror or item.error
                )
                self.paths.put(item.path)
            elif item.result is not None:
                self._report(item.result)

    def start_sweep(self) -> None:
        """Start a deadline sweep, unless one is still under way: that one goes on, and
        what it has not reached yet it chases as before."""
        if self.to_chase:
            return
        self.sweep_day = self.pipeline.services.now().date()
        try:
            self.to_chase.extend(self.pipeline.due_chases(self.sweep_day))
        except FormflowError as exc:
            log.error("deadline sweep failed: %s", exc)
            return
        if self.to_chase:
            log.info("deadline sweep: %d challenge(s) to chase", len(self.to_chase))
        self.next_cue = self.clock() + TRACKER_CUE_SECONDS

    def sweep(self) -> None:
        """Hand the next challenges to the free workers: each writes its documents without
        the register's lock, side by side (a PDF in the PDF process, another here), and
        commits only what the register still agrees with, so one chased meanwhile (or by
        an earlier watcher killed in the middle of the sweep) is never chased twice. The
        loop calls this only while no file is settling or in hand, so a file that arrives
        takes the first worker free; a stop lets each worker finish the challenge it has."""
        while self.to_chase and self.jobs.has_room_to_chase():
            self.jobs.chase(self.to_chase.popleft(), self.sweep_day)

    def _chased(self, item: Chasing) -> None:
        for result in item.results:
            self._report(result)
        ended = not self.to_chase and not self.jobs.chasing()
        if ended or self.clock() >= self.next_cue:
            self.next_cue = self.clock() + TRACKER_CUE_SECONDS
            self.pipeline.services.on_change()

    def send(self) -> None:
        try:
            self.pipeline.send_notices()
        except FormflowError as exc:
            log.error("notices not sent: %s", exc)

    def _wait(self, stop: threading.Event) -> None:
        """Until the next look: woken early by a worker finishing, so it is never idle
        while files wait."""
        if self.jobs.in_flight():
            self.finish(self.jobs.collect(self.options.check_seconds))
        else:
            stop.wait(self.options.check_seconds)

    def run(self, stop: threading.Event) -> None:
        self.home.create()
        try:
            self.jobs.start()
            self.supervisor.start()
            self.rescan(starting=True)
            self.start_sweep()
            now = self.clock()
            next_rescan = now + self.options.rescan_seconds
            next_tick = now + self.options.tick_seconds
            next_supervise = now + self.options.supervise_seconds
            while not stop.is_set():
                before = self.handled
                self.check_files()
                self.finish(self.jobs.collect(None))
                now = self.clock()
                if now >= next_supervise:
                    next_supervise = now + self.options.supervise_seconds
                    if self.supervisor.ensure():
                        self.rescan()
                if now >= next_rescan:
                    next_rescan = now + self.options.rescan_seconds
                    self.rescan()
                if now >= next_tick:
                    next_tick = now + self.options.tick_seconds
                    self.start_sweep()
                if self.to_chase and not self.jobs.files_in_flight() and not self.tracker:
                    # Forms first: while one is settling or in hand no more challenges are
                    # handed out, so by the time it is ready a worker is free for it.
                    self.sweep()
                if self.paths.empty():
                    self._wait(stop)
                if self.handled != before:
                    self.send()
        finally:
            self.supervisor.stop()
            self.finish(self.jobs.stop())
