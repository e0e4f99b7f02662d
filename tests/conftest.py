"""Shared fixtures: fictional people only, never real data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from formflow.core.calendar import WorkingCalendar
from formflow.core.policy import Policy
from formflow.core.record import Challenge, Child, LegalStatus, RaisedBy, Role, Stage
from formflow.policy_catalogue import built_in
from postgres_server import Cluster, running_cluster


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.fixture(params=["nelincs", "rotherham", "ops-flowchart", "cic-issues"])
def any_policy(request: pytest.FixtureRequest) -> Policy:
    return built_in()(request.param)


def make_challenge(**overrides: object) -> Challenge:
    """A fictional stage 1 challenge for a child in care; override any field."""
    base: dict[str, object] = {
        "reference": "PC-2025-7KQ3XM",
        "policy": "nelincs",
        "date_of_notification": dt.date(2025, 11, 3),
        "raised_by": RaisedBy("Morwenna Pentreath", Role.IRO),
        "child": Child(
            "Tegan Example", dt.date(2014, 2, 9), "LCS-000123", LegalStatus.CHILD_IN_CARE
        ),
        "stage": Stage.ONE,
        "concern": "The pathway plan has not been reviewed since the placement move.",
        "social_worker": "Ifan Jenkins",
        "team": "Children in Care Team 2",
        "team_manager": "Priya Raman",
    }
    base.update(overrides)
    return Challenge(**base)  # type: ignore[arg-type]


CLOSED_AFTER_THE_MODULE: list[Callable[[], None]] = []
"""What a test module started that outlives its tests (a dashboard's live tracker writer,
a thread), stopped when the module ends, so it never works or logs during the next
module's tests."""


@pytest.fixture(autouse=True, scope="module")
def close_what_the_module_started() -> Iterator[None]:
    yield
    while CLOSED_AFTER_THE_MODULE:
        CLOSED_AFTER_THE_MODULE.pop()()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """One real PostgreSQL cluster for the whole test run, started on first use."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def register_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's register lives, once on each engine: a SQLite file, or a fresh
    database on the session's PostgreSQL cluster."""
    if request.param == "sqlite":
        return str(tmp_path / "var" / "formflow.db")
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.new_database()


@pytest.fixture
def home_register(register_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The register of the home at ``tmp_path``, on each engine, where the CLI finds it:
    var/formflow.db, or PostgreSQL named by FORMFLOW_REGISTER_URL."""
    if register_url.startswith("postgresql"):
        monkeypatch.setenv("FORMFLOW_REGISTER_URL", register_url)
    return register_url
