"""The deadline sweep inside a real ``formflow watch`` (issue 27, part 4).

A register as the dashboard part makes it (5,000 challenges, 2,500 of them overdue), a
watcher started on it, and for ``box`` seconds: how many overdue challenges the sweep
moves on (each writes its next-stage form in Word and PDF and a covering email), so the
cost of one; how long a form dropped 10 s into the sweep takes to be archived; and how
long SIGTERM takes to end the watcher in the middle of the sweep. The count comes from
the register (a transition by the deadline sweep), so it is the same whatever the
watcher prints and when.
"""

from __future__ import annotations

import math
import signal
import subprocess
import time

from bench.dashboard import fill
from bench.measure import Figure
from bench.parts import Run, _drop
from bench.service import Watch, archived
from formflow.core.engine import DEADLINE_ACTOR
from formflow.outbox.folders import Home
from formflow.store.register import Register

BEFORE_SECONDS_PER_CHALLENGE = 1.3
"""The figure issue 27 measured for a watcher of the time on this register."""
STOP_WAIT_SECONDS = 60.0


def chased(home: Home) -> int:
    with Register(home.database) as register:
        return sum(e.what == "transition" and e.actor == DEADLINE_ACTOR for e in register.events())


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
        done = chased(home)
        took = time.monotonic() - started
        stopping = time.monotonic()
        assert watch.process is not None
        watch.process.send_signal(signal.SIGTERM)
        try:
            watch.process.wait(timeout=STOP_WAIT_SECONDS)
            stop_seconds = time.monotonic() - stopping
        except subprocess.TimeoutExpired:
            stop_seconds = math.nan  # still running: Watch kills it on the way out
    per_challenge = took / done if done else float("nan")
    run.extra["sweep"] = {
        "challenges": 5000,
        "overdue": overdue_at_start,
        "box_seconds": round(took, 1),
        "chased": done,
        "form_during_sweep_seconds": round(form_seconds, 2),
        "sigterm_seconds": round(stop_seconds, 2),
    }
    detail = f"{done} of {overdue_at_start} overdue chased in {took:.0f} s (register of 5,000)"
    half = BEFORE_SECONDS_PER_CHALLENGE / 2
    unfinished = f"not done within {box:.0f} s"
    return [
        Figure(
            "deadline sweep: cost per overdue challenge (watch)",
            per_challenge,
            "s",
            f"< {half:.2f} s (issue 27: {BEFORE_SECONDS_PER_CHALLENGE} s)",
            per_challenge < half,
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
            print(
                f"{figure.name}: {figure.value:.2f} {figure.unit} ({figure.target}) - {figure.detail}"
            )
        print(run.extra["sweep"])
