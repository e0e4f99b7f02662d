"""Measuring helpers for ``make bench``: timings, resident memory and CPU time of a process."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One line of the benchmark table."""

    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    detail: str = ""
    p95: float | None = None


def timings(action: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    """Wall-clock seconds of ``runs`` calls of ``action``, after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _status_mb(field: str, pid: int | None) -> float:
    """A memory figure of a process's /proc status (VmRSS, VmHWM), in MB."""
    status = f"/proc/{pid or os.getpid()}/status"
    with open(status, encoding="ascii") as lines:
        for line in lines:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in {status}")


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of a process now, in MB."""
    return _status_mb("VmRSS", pid)


def peak_rss_mb(pid: int | None = None) -> float:
    """The highest resident set size the process has had, in MB."""
    return _status_mb("VmHWM", pid)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process (and its reaped children) has used."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def descendants(pid: int | None = None) -> list[int]:
    """``pid`` (default: this process) and every process below it, from /proc."""
    root = pid or os.getpid()
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
    family, frontier = [root], [root]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        family.extend(frontier)
    return family


def _family_sum(read: Callable[[int], float], pid: int | None) -> float:
    total = 0.0
    for member in descendants(pid):
        try:
            total += read(member)
        except (OSError, RuntimeError):
            continue  # it ended between listing and reading
    return total


def family_rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process and all its helpers (PDF layout, PDF reading)."""
    return _family_sum(rss_mb, pid)


def family_peak_rss_mb(pid: int | None = None) -> float:
    """The sum of each process's own peak: an upper bound on the family's peak."""
    return _family_sum(peak_rss_mb, pid)
