"""The register on SQLite and on PostgreSQL side by side (issue 26): what one form's
commit costs on each (latency and throughput of the same transaction the pipeline makes),
and `register copy` of 5,000 challenges from SQLite to PostgreSQL. PostgreSQL is the
tests' own throwaway cluster (Debian's postgresql package; tests/postgres_server.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import time
from pathlib import Path

from bench.measure import Figure, median, p95, timings
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import assess
from formflow.core.record import Challenge, Child, LegalStatus, RaisedBy, Role, Stage
from formflow.policy_catalogue import built_in
from formflow.store.copy import copy_register
from formflow.store.register import Register

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from postgres_server import running_cluster  # the tests' own cluster, not a copy

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


def registers(tmp: Path) -> list[Figure]:
    figures: list[Figure] = []
    with running_cluster() as cluster:
        with Register(tmp / "bench-register.db") as sqlite:
            figures += _commits(sqlite, "SQLite")
        with Register(cluster.new_database()) as postgres:
            figures += _commits(postgres, "PostgreSQL")
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
