"""Files run through the pipeline side by side, in worker threads of the watcher.

Each worker has its own register connection (an SQLite connection belongs to the thread
that opened it) and so its own Pipeline. The pipeline renders without the register's
write lock and commits only a plan the register still agrees with, so workers never
undo one another; what they share is the PDF process, and a document that finds it full
is laid out in this process instead (formflow.render.pdf.pdf_later). Four workers keep
both cores of a two-core machine busy: three PDFs with the PDF process, one here.
"""

from __future__ import annotations

import ctypes
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


class JobRunner:
    """``count`` workers taking paths from ``submit`` and putting ``Finished`` on ``done``."""

    def __init__(self, services: Services, count: int) -> None:
        self.services = services
        self.count = count
        self.done: queue.SimpleQueue[Finished] = queue.SimpleQueue()
        self._todo: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._busy: set[Path] = set()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for n in range(1, self.count + 1):
            thread = threading.Thread(target=self._work, name=f"formflow-job-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def has_room(self) -> bool:
        return len(self._busy) < self.count

    def busy(self, path: Path) -> bool:
        return path in self._busy

    def in_flight(self) -> int:
        return len(self._busy)

    def submit(self, path: Path) -> None:
        self._busy.add(path)
        self._todo.put(path)

    def collect(self, timeout: float | None) -> list[Finished]:
        """What finished since the last call; waits up to ``timeout`` for the first one
        when nothing has (None: do not wait)."""
        finished: list[Finished] = []
        if timeout is not None:
            try:
                finished.append(self.done.get(timeout=timeout))
            except queue.Empty:
                return []
        finished += drained(self.done)
        for item in finished:
            self._busy.discard(item.path)
        return finished

    def stop(self) -> list[Finished]:
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
            while (path := self._todo.get()) is not None:
                self.done.put(_run(pipeline, path))
                release_free_memory()


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
