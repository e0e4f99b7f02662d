"""The register on SQLite and on PostgreSQL side by side (issue 26): what one form's
commit costs on each (latency and throughput of the same transaction the pipeline makes),
real watchers' throughput and latency with one watcher and with two on each engine
(SQLite: two watchers sharing one home on one machine; PostgreSQL: two homes, each its own
var/, sharing one inbox, outbox and archive as two servers would), and `register copy` of
5,000 challenges from SQLite to PostgreSQL. PostgreSQL is the tests' own throwaway
cluster (Debian's postgresql package; tests/postgres_server.py). Each watcher figure
says the load average (as `uptime` shows it) at its end: this machine is shared."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.measure import Figure, median, p95, timings
from bench.service import Watch, wait_for
from formflow.config import REGISTER_URL_ENV
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import assess
from formflow.core.record import Challenge, Child, LegalStatus, RaisedBy, Role, Stage
from formflow.outbox.folders import Home, files_within
from formflow.policy_catalogue import built_in
from formflow.store.copy import copy_register
from formflow.store.register import Register

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from postgres_server import running_cluster  # the tests' own cluster, not a copy

NewForm = Callable[[Path, str], Path]
"""A new challenge's form in a folder, distinct bytes each time (``Run.new_form``)."""

AT = dt.datetime(2025, 11, 3, 9, 30)
COMMITS = 200
COPIED = 5000
CHALLENGE = Challenge(
    reference="PC-2025-000000",
    policy="nelincs",
    date_of_notification=AT.date(),
    raised_by=RaisedBy("Morwenna Pentreath", Role.IRO),
    child=Child("Tegan Example", dt.date(2014, 2, 9), "LCS-000123", LegalStatus.CHILD_IN_CARE),
    stage=Stage.ONE,
    concern="The pathway plan has not been reviewed since the placement move.",
)


def _one_form(register: Register, n: int) -> None:
    """What the pipeline commits for one new form: the claim, the record and its
    deadlines, a transition and the file's outcome, in one transaction."""
    reference = f"PC-2025-{n:06d}"
    challenge = dataclasses.replace(CHALLENGE, reference=reference)
    assessment = assess(challenge, built_in()("nelincs"), WorkingCalendar(), AT.date())
    register.note_claim(f"claim-{n}", "form.docx", f"{n:064d}", AT)
    with register.transaction():
        register.save_challenge(challenge, assessment, AT)
        register.add_event(reference, "transition", AT, message="Raised at Stage 1.")
        register.finish_file(
            f"claim-{n}", outcome="processed", reference=reference, message="ok", at=AT
        )


def _commits(register: Register, engine: str) -> list[Figure]:
    counter = iter(range(10**6))
    samples = timings(lambda: _one_form(register, next(counter)), COMMITS)
    return [
        Figure(
            f"register commit, {engine}",
            median(samples) * 1000,
            "ms",
            detail=f"{COMMITS} forms' commits, one writer",
            p95=p95(samples) * 1000,
        ),
        Figure(f"register throughput, {engine}", COMMITS / sum(samples), "forms/s"),
    ]


BURST = 40
"""Forms dropped at once for a throughput figure."""
ONE_BY_ONE = 10
"""Forms dropped one at a time, each waited for, for a latency figure."""


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


@contextlib.contextmanager
def _register_env(url: str | None) -> Iterator[None]:
    """The watchers started in the block find the register at ``url`` (None: SQLite)."""
    before = os.environ.pop(REGISTER_URL_ENV, None)
    if url is not None:
        os.environ[REGISTER_URL_ENV] = url
    try:
        yield
    finally:
        os.environ.pop(REGISTER_URL_ENV, None)
        if before is not None:
            os.environ[REGISTER_URL_ENV] = before


def _homes(root: Path, watchers: int, shared: bool) -> list[Home]:
    """One home for every watcher (two servers on a shared folder), or one for all."""
    if not shared:
        return [Home(root / "home")] * watchers
    folder = root / "share"
    folder.mkdir(parents=True)
    homes = []
    for n in range(watchers):
        home = root / f"server-{n + 1}"
        home.mkdir()
        (home / "formflow.toml").write_text(f'[folders]\nshared = "{folder}"\n', encoding="utf-8")
        homes.append(Home(home, shared=folder))
    return homes


def _accounted(home: Home) -> int:
    return sum(1 for _ in files_within(home.archive)) + sum(
        1 for p in home.rejected.glob("*") if p.is_file() and not p.name.endswith(".errors.txt")
    )


def _watchers(
    new_form: NewForm, root: Path, engine: str, url: str | None, count: int
) -> list[Figure]:
    """``count`` real watchers on one engine: forms/s for a burst, and each form's time
    from its drop to its archiving when dropped one at a time."""
    homes = _homes(root, count, shared=url is not None)
    drops = root / "drops"
    label = f"{count} watcher{'s' if count > 1 else ''}, {engine}"
    with _register_env(url), contextlib.ExitStack() as running:
        watches = [running.enter_context(Watch(h.root, "--settle", "0.2")) for h in homes]
        for watch in watches:
            watch.wait_started()
        inbox = homes[0].inbox
        warm = [new_form(drops, "warm") for _ in range(2 * count)]
        for form in warm:
            os.rename(form, inbox / form.name)
        wait_for(lambda: _accounted(homes[0]) >= len(warm), 120, "the warm-up forms")
        burst = [new_form(drops, "burst") for _ in range(BURST)]
        base = _accounted(homes[0])
        started = time.perf_counter()
        for form in burst:
            os.rename(form, inbox / form.name)
        wait_for(lambda: _accounted(homes[0]) - base >= BURST, 600, "the burst", every=0.2)
        rate = BURST / (time.perf_counter() - started)
        loaded = load_average()
        samples = []
        for form in [new_form(drops, "one") for _ in range(ONE_BY_ONE)]:
            base = _accounted(homes[0])
            dropped = time.perf_counter()
            os.rename(form, inbox / form.name)
            wait_for(lambda b=base: _accounted(homes[0]) > b, 60, f"{form.name}")
            samples.append(time.perf_counter() - dropped)
        for watch in watches:
            watch.check()
    return [
        Figure(
            f"throughput, {label}",
            rate,
            "forms/s",
            detail=f"{BURST} forms dropped at once; {loaded}",
        ),
        Figure(
            f"drop-to-archive latency, {label}",
            median(samples),
            "s",
            detail=f"{ONE_BY_ONE} forms one at a time (--settle 0.2); {load_average()}",
            p95=p95(samples),
        ),
    ]


def registers(tmp: Path, new_form: NewForm) -> list[Figure]:
    figures: list[Figure] = []
    with running_cluster() as cluster:
        with Register(tmp / "bench-register.db") as sqlite:
            figures += _commits(sqlite, "SQLite")
        with Register(cluster.new_database()) as postgres:
            figures += _commits(postgres, "PostgreSQL")
        for count in (1, 2):
            root = tmp / f"watchers-sqlite-{count}"
            figures += _watchers(new_form, root, "SQLite, one home", None, count)
            root = tmp / f"watchers-postgresql-{count}"
            url = cluster.new_database()
            figures += _watchers(new_form, root, "PostgreSQL, shared folder", url, count)
        with Register(tmp / "bench-copy.db") as source, source.transaction():
            for n in range(COPIED):
                _one_form(source, n)
        with Register(tmp / "bench-copy.db") as source, Register(cluster.new_database()) as target:
            started = time.perf_counter()
            copied = copy_register(source, target)
            seconds = time.perf_counter() - started
        figures.append(
            Figure(
                "register copy SQLite -> PostgreSQL",
                seconds,
                "s",
                detail=f"{copied.counts['challenges']} challenges, proved row by row",
            )
        )
    return figures
