"""Shared fixtures: fictional people only, never real data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from formflow.commands.home import home_of
from formflow.config import REGISTER_URL_ENV, load_settings
from formflow.core.calendar import WorkingCalendar
from formflow.core.policy import Policy
from formflow.core.record import Challenge, Child, LegalStatus, RaisedBy, Role, Stage
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.store.register import Register
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
def register_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a test's register lives, once on each engine: a SQLite file, or a fresh
    database on the session's PostgreSQL cluster (dropped after the test)."""
    if request.param == "sqlite":
        yield str(tmp_path / "var" / "formflow.db")
        return
    cluster: Cluster = request.getfixturevalue("postgres")
    url = cluster.new_database()
    yield url
    cluster.drop_database(url)


@pytest.fixture
def home_register(register_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The register of the home at ``tmp_path``, on each engine, where the CLI finds it:
    var/formflow.db, or PostgreSQL named by FORMFLOW_REGISTER_URL."""
    if register_url.startswith("postgresql"):
        monkeypatch.setenv(REGISTER_URL_ENV, register_url)
    return register_url


@pytest.fixture
def next_home_register(
    home_register: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], None]]:
    """For a test of several homes: call it before the next home is made so that home has
    a register of its own (a fresh PostgreSQL database; a SQLite home has its own var/)."""
    if not home_register.startswith("postgresql"):
        yield lambda: None
        return
    cluster: Cluster = request.getfixturevalue("postgres")
    made: list[str] = []

    def fresh() -> None:
        made.append(cluster.new_database())
        monkeypatch.setenv(REGISTER_URL_ENV, made[-1])

    yield fresh
    for url in made:
        cluster.drop_database(url)


on_both_engines = pytest.mark.usefixtures("home_register")
"""Runs a test once on each engine: the home's register in var/, then on a fresh
PostgreSQL database that the CLI, a watcher in a process of its own and
``open_register`` all find through FORMFLOW_REGISTER_URL."""


def home_at(root: Path) -> Home:
    """The home at ``root`` as the CLI places it (``home_register`` sets the engine)."""
    return home_of(root, load_settings(home=root))


def open_register(root: Path) -> Register:
    """The register of the home at ``root``, on the engine the CLI would open."""
    return Register(home_at(root).register)
