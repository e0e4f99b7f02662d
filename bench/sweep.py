"""The deadline sweep inside a real ``formflow watch`` (issue 27, part 4).

A register as the dashboard part makes it (5,000 challenges, 2,500 of them overdue), a
watcher started on it, and for ``box`` seconds: how many overdue challenges the sweep
moves on (each writes its next-stage form in Word and PDF and a covering email), so the
cost of one; how long a form dropped 10 s into the sweep takes to be archived; and how
long SIGTERM takes to end the watcher in the middle of the sweep. The count comes from
the register (a transition by the deadline sweep), so it is the same whatever the
watcher prints and when.

The cost per challenge is given over the whole box (start-up included, as the issue
measured it) and, steady, per 10 s window of the sweep (the register records each
escalation to the second): the median and p95 of the windows' seconds per challenge,
and challenges per minute. ``uptime``'s load is printed beside them: on a shared
machine the figures move with it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import signal
import statistics
import subprocess
import time
from collections import Counter

from bench.dashboard import fill
from bench.measure import Figure
from bench.parts import Run, _drop
from bench.service import Watch, archived
from formflow.core.engine import DEADLINE_ACTOR
from formflow.outbox.folders import Home
from formflow.store.register import Register

BEFORE_SECONDS_PER_CHALLENGE = 1.3
"""The figure issue 27 measured for a watcher of the time on this register."""
TARGET_SECONDS_PER_CHALLENGE = 0.45
"""A third of it: the median a steady sweep must keep to."""
STOP_WAIT_SECONDS = 60.0
WINDOW_SECONDS = 10


def escalated_at(home: Home) -> list[dt.datetime]:
    """When the sweep committed each challenge's escalation (to the second)."""
    with Register(home.database) as register:
        return [
            dt.datetime.fromisoformat(e.at)
            for e in register.events()
            if e.what == "transition" and e.actor == DEADLINE_ACTOR
        ]


def seconds_per_challenge(times: list[dt.datetime]) -> list[float]:
    """Each whole WINDOW_SECONDS window from the first escalation on: its seconds per
    escalated challenge (infinite for a window with none)."""
    if not times:
        return []
    first = min(times)
    counts = Counter(int((t - first).total_seconds()) // WINDOW_SECONDS for t in times)
    return [WINDOW_SECONDS / counts[w] if counts[w] else math.inf for w in range(max(counts))]


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} CPUs"


def sweep(run: Run, box: float = 60.0) -> list[Figure]:
    home = Home(run.tmp / "sweep")
    fill(home)
    overdue_at_start = 2500
    form = run.new_form(run.tmp / "sweep-drops", "during-sweep")
    with Watch(home.root, "--settle", "0.2") as watch:
        watch.wait_started()
        started = time.monotonic()
        time.sleep(10)
        dropped = _drop(form, home.inbox)
        form_seconds = math.nan  # not archived within the box
        while time.monotonic() < started + box:
            watch.check()
            if math.isnan(form_seconds) and form.name in archived(home):
                form_seconds = time.perf_counter() - dropped
            time.sleep(0.2)
        times = escalated_at(home)
        done = len(times)
        took = time.monotonic() - started
        machine = load()
        stopping = time.monotonic()
        assert watch.process is not None
        watch.process.send_signal(signal.SIGTERM)
        try:
            watch.process.wait(timeout=STOP_WAIT_SECONDS)
            stop_seconds = time.monotonic() - stopping
        except subprocess.TimeoutExpired:
            stop_seconds = math.nan  # still running: Watch kills it on the way out
    per_challenge = took / done if done else float("nan")
    windows = seconds_per_challenge(times)
    median = statistics.median(windows) if windows else math.nan
    p95 = statistics.quantiles(windows, n=20)[-1] if len(windows) > 1 else math.nan
    per_minute = 60 / median if windows else math.nan
    run.extra["sweep"] = {
        "median_seconds_per_challenge": round(median, 3),
        "p95_seconds_per_challenge": round(p95, 3),
        "challenges_per_minute": round(per_minute, 1),
        "load": machine,
        "challenges": 5000,
        "overdue": overdue_at_start,
        "box_seconds": round(took, 1),
        "chased": done,
        "form_during_sweep_seconds": round(form_seconds, 2),
        "sigterm_seconds": round(stop_seconds, 2),
    }
    detail = f"{done} of {overdue_at_start} overdue chased in {took:.0f} s (register of 5,000)"
    before = f"issue 27: {BEFORE_SECONDS_PER_CHALLENGE} s"
    target = TARGET_SECONDS_PER_CHALLENGE
    unfinished = f"not done within {box:.0f} s"
    return [
        Figure(
            "deadline sweep: cost per overdue challenge, steady (watch)",
            median,
            "s",
            f"<= {target:.2f} s ({before})",
            median <= target,
            f"{per_minute:.0f} challenges a minute; per {WINDOW_SECONDS} s window; {machine}",
            p95,
        ),
        Figure(
            "deadline sweep: cost per overdue challenge, start-up included",
            per_challenge,
            "s",
            f"< {BEFORE_SECONDS_PER_CHALLENGE} s ({before})",
            per_challenge < BEFORE_SECONDS_PER_CHALLENGE,
            detail,
        ),
        Figure(
            "deadline sweep: a form dropped during it, drop to archive",
            form_seconds,
            "s",
            "< 10 s",
            form_seconds < 10,
            unfinished if math.isnan(form_seconds) else "dropped 10 s into the sweep",
        ),
        Figure(
            "deadline sweep: SIGTERM to exit, in the middle of it",
            stop_seconds,
            "s",
            "< 10 s",
            stop_seconds < 10,
            f"still running {STOP_WAIT_SECONDS:.0f} s later"
            if math.isnan(stop_seconds)
            else "the live tracker of 5,000 rows stops with it",
        ),
    ]


if __name__ == "__main__":  # just this part: python -m bench.sweep
    import tempfile
    from pathlib import Path

    from bench.forms import Variants, make_template

    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        docx = make_template(tmp / "forms")
        run = Run(tmp, docx, docx, Variants(docx), time.monotonic() + 600)
        for figure in sweep(run):
            high = f", p95 {figure.p95:.2f}" if figure.p95 is not None else ""
            print(
                f"{figure.name}: {figure.value:.2f}{high} {figure.unit} ({figure.target})"
                f" - {figure.detail}"
            )
        print(run.extra["sweep"])
