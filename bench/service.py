"""A real ``formflow watch`` in a subprocess, and what the benchmark sees of its home.

Every wait is bounded; ``Watch`` is a context manager that always stops the process
(SIGTERM, then SIGKILL after ten seconds). Its stdout and stderr go to files, never to a
pipe nobody reads (500 result lines would fill one and stall the watcher).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from formflow.outbox.folders import Home, original_name


def formflow_command() -> list[str]:
    script = Path(sys.executable).parent / "formflow"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from formflow.cli import main; main()"]


def wait_for(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


class Watch:
    """``formflow watch --home HOME [options]`` for the length of a ``with`` block."""

    def __init__(self, home: Path, *options: str) -> None:
        self.home = Home(home)
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Watch:
        self.home.root.mkdir(parents=True, exist_ok=True)
        self.out = (self.home.root / "watch.out").open("wb")
        self.err = (self.home.root / "watch.err").open("wb")
        self.process = subprocess.Popen(
            [*formflow_command(), "watch", "--home", str(self.home.root), *self.options],
            stdin=subprocess.DEVNULL,
            stdout=self.out,
            stderr=self.err,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check(self) -> None:
        if not self.alive():
            raise RuntimeError(f"the watcher exited early: {self.stderr()[-500:]}")

    def stderr(self) -> str:
        return (self.home.root / "watch.err").read_text(errors="replace")

    def wait_started(self, timeout: float = 60) -> None:
        """Until it has printed "Watching ..." (the register and folders exist by then)."""

        def started() -> bool:
            self.check()
            return "Watching" in self.stderr()

        wait_for(started, timeout, "the watcher to start", every=0.05)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.out.close()
        self.err.close()


def archived(home: Home) -> list[str]:
    """Original names of the files archived so far (archiving is the last step, after the
    outputs are published to outbox/REFERENCE/: see formflow.pipeline)."""
    names: list[str] = []
    try:
        folders = list(os.scandir(home.archive))
    except FileNotFoundError:
        return names
    for folder in folders:
        if folder.is_dir():
            with os.scandir(folder.path) as entries:
                names.extend(original_name(e.name) for e in entries if not e.name.startswith("."))
    return names


def rejected(home: Home) -> list[str]:
    try:
        names = os.listdir(home.rejected)
    except FileNotFoundError:
        return []
    return [n for n in names if not n.endswith(".errors.txt") and not n.startswith(".")]


def accounted(home: Home) -> int:
    return len(archived(home)) + len(rejected(home))
