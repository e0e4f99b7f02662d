"""Files run through the pipeline side by side, in worker threads of the watcher, and
the deadline sweep's challenges between them (``chase``), two cores' worth at a time.

Each worker has its own register connection (an SQLite connection belongs to the thread
that opened it) and so its own Pipeline. The pipeline renders without the register's
write lock and commits only a plan the register still agrees with, so workers never
undo one another; what they share is the PDF process, and a document that finds it full
is laid out in this process instead (formflow.render.pdf.pdf_later). Four workers keep
both cores of a two-core machine busy: three PDFs with the PDF process, one here.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from formflow.pipeline import Pipeline, Result, Services
from formflow.store.register import Register

log = logging.getLogger(__name__)

T = TypeVar("T")


def drained(items: queue.SimpleQueue[T]) -> Iterator[T]:
    """What ``items`` holds now, taken one by one without waiting."""
    while True:
        try:
            yield items.get_nowait()
        except queue.Empty:
            return


@dataclass(frozen=True)
class Finished:
    """A path handed to a worker, and how it ended: a Result, or the OSError that
    stopped the claim (a file still locked by its writer, say: try it later)."""

    path: Path
    result: Result | None = None
    error: OSError | None = None


@dataclass(frozen=True)
class Chasing:
    """A challenge the deadline sweep of ``day`` hands to a worker; ``results`` when done."""

    reference: str
    day: dt.date
    results: list[Result] = field(default_factory=list, compare=False)


class JobRunner:
    """``count`` workers taking paths from ``submit`` and challenges to chase from
    ``chase``, and putting ``Finished`` and ``Chasing`` (done) on ``done``."""

    def __init__(self, services: Services, count: int) -> None:
        self.services = services
        self.count = count
        self.done: queue.SimpleQueue[Finished | Chasing] = queue.SimpleQueue()
        self._todo: queue.SimpleQueue[Path | Chasing | None] = queue.SimpleQueue()
        self._busy: set[Path] = set()
        self._chasing = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for n in range(1, self.count + 1):
            thread = threading.Thread(target=self._work, name=f"formflow-job-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def has_room(self) -> bool:
        return len(self._busy) + self._chasing < self.count

    def has_room_to_chase(self) -> bool:
        """A worker free for a challenge, one kept for a form that arrives meanwhile."""
        return len(self._busy) + self._chasing < max(1, self.count - 1)

    def busy(self, path: Path) -> bool:
        return path in self._busy

    def in_flight(self) -> int:
        """Files and challenges in the workers' hands."""
        return len(self._busy) + self._chasing

    def files_in_flight(self) -> int:
        return len(self._busy)

    def chasing(self) -> int:
        return self._chasing

    def submit(self, path: Path) -> None:
        self._busy.add(path)
        self._todo.put(path)

    def chase(self, reference: str, day: dt.date) -> None:
        self._chasing += 1
        self._todo.put(Chasing(reference, day))

    def collect(self, timeout: float | None) -> list[Finished | Chasing]:
        """What finished since the last call; waits up to ``timeout`` for the first one
        when nothing has (None: do not wait)."""
        finished: list[Finished | Chasing] = []
        if timeout is not None:
            try:
                finished.append(self.done.get(timeout=timeout))
            except queue.Empty:
                return []
        finished += drained(self.done)
        for item in finished:
            if isinstance(item, Chasing):
                self._chasing -= 1
            else:
                self._busy.discard(item.path)
        return finished

    def stop(self) -> list[Finished | Chasing]:
        """Let each worker finish the file it has, then end them; what they finished."""
        for _ in self._threads:
            self._todo.put(None)
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        return self.collect(None)

    def _work(self) -> None:
        with Register(self.services.home.register) as register:
            pipeline = Pipeline(register, self.services)
            # The sweep's chases leave the live tracker's cue to the watcher: rewriting it
            # after each would take the CPU the sweep wants (TRACKER_CUE_SECONDS).
            sweeper = Pipeline(register, replace(self.services, on_change=_quiet))
            while (item := self._todo.get()) is not None:
                if isinstance(item, Chasing):
                    self.done.put(_chase(sweeper, item))
                else:
                    self.done.put(_run(pipeline, item))
                release_free_memory()


def _quiet() -> None:
    """A chase's cue to the live tracker: the watcher cues it instead."""


def _chase(sweeper: Pipeline, item: Chasing) -> Chasing:
    try:
        item.results.extend(sweeper.chase(item.reference, item.day))
    except Exception:  # never lose the worker: the next sweep chases it again
        log.exception("%s: unexpected error chasing its deadline", item.reference)
    return item


def _heap_trimmer() -> Callable[[], object]:
    """glibc's ``malloc_trim(0)``, or nothing where the C library has none (musl, macOS)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


release_free_memory = _heap_trimmer()
"""Give the memory a finished job freed back to the system. Each worker thread has its
own malloc arena, and a job's documents and PDF layout leave it holding freed pages in
the middle of its heap, which glibc returns only when asked. Measured with 500 forms
dropped at once: the watcher's family peaked at 274-283 MB in four runs with this and
297-302 MB in two without (the watcher itself 154-156 MB against 174), at 1.4 ms of CPU
a job (median) and no change in throughput beyond the runs' spread.
The PDF process, which lays out one document at a time in one thread, gained nothing
from it (98.1 MB against 98.6), so it is done here only. ctypes lets go of the GIL for
the call, so the other workers go on meanwhile."""


def _run(pipeline: Pipeline, path: Path) -> Finished:
    try:
        return Finished(path, result=pipeline.handle(path))
    except OSError as exc:  # locked by the writer (SMB), permissions: the caller retries
        return Finished(path, error=exc)
    except Exception:  # never lose the worker: the file stays in the inbox or claimed
        log.exception("%s: unexpected error outside the steps", path.name)
        return Finished(path)
