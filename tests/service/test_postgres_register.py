"""The register on PostgreSQL (issue 26): the CLI with FORMFLOW_REGISTER_URL set works
through a real server (the test run's own cluster), and nothing goes to SQLite in var/."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import psycopg
import pytest
from service_support import cli, new_form

from conftest import make_challenge
from filled_forms import answer, fill_docx
from formflow.config import REGISTER_URL_ENV
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import Assessment, assess
from formflow.core.record import Challenge
from formflow.policy_catalogue import built_in
from formflow.store import register as register_module
from formflow.store.register import OpenList, Register
from postgres_server import SUPERUSER, Cluster

WHO = ("--by", "Kemi Adeyemi, business support")
TODAY = dt.date.today()


def _ok(home: Path, *args: str) -> str:
    code, output = cli(home, *args)
    assert code == 0, f"formflow {' '.join(args)}: {output}"
    return output


def _stage_form(home: Path, reference: str, stage: str) -> Path:
    return home / "outbox" / reference / f"{reference}-stage-{stage}-form.docx"


def test_every_command_and_life_event_runs_on_postgresql(
    postgres: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres.new_database()
    monkeypatch.setenv(REGISTER_URL_ENV, url)
    home = tmp_path / "home"
    forms = tmp_path / "forms"
    forms.mkdir()
    names = ("one", "two", "three", "four", "five", "six")
    dropped = [
        new_form(
            forms,
            f"{name}.docx",
            date_of_notification=TODAY,
            concern=f"Concern {name}.",
            separate_challenge=True,
        )
        for name in names
    ]
    _ok(home, "process", *map(str, dropped))
    with Register(url) as register:
        references = register.references()
    assert len(references) == len(names)
    one, two, three, four, five, six = references

    listed = json.loads(_ok(home, "status", "--json"))
    assert {c["reference"] for c in listed["challenges"]} == set(references)
    assert json.loads(_ok(home, "show", one, "--json"))["reference"] == one

    _ok(home, "withdraw", one, *WHO, "--reason", "Raised in error")
    _ok(home, "escalate", two, *WHO, "--reason", "No reply")
    _ok(
        home,
        "extend",
        three,
        *WHO,
        "--reason",
        "Agreed",
        "--to",
        str(WorkingCalendar().add_working_days(TODAY, 25)),
    )
    _ok(
        home,
        "reassign",
        three,
        *WHO,
        "--reason",
        "Sick leave",
        "--to",
        "Dara Okafor",
        "--role",
        "Team Manager",
    )
    _ok(home, "amend", four, *WHO, "--reason", "Typed wrongly", "team", "Children in Care Team 3")
    _ok(home, "merge", four, five, *WHO, "--reason", "Saved twice")
    _ok(home, "close", three, *WHO, "--reason", "The IRO's decision")
    typed = {
        "response_text": "Agreed.",
        "response_by": "Priya Raman",
        "response_date": TODAY.strftime("%d/%m/%Y"),
    }
    resolved = fill_docx(
        _stage_form(home, six, "1"), forms / "six-answer.docx", typed, ("response_resolved",)
    )
    _ok(home, "process", str(resolved))
    _ok(home, "reopen", six, *WHO, "--reason", "The review was not held")
    not_resolved = answer(_stage_form(home, two, "2"), forms / "two-answer.docx", TODAY)
    _ok(home, "process", str(not_resolved))
    _ok(home, "tick")
    assert "agrees" in _ok(home, "check")

    with Register(url) as register:
        events = {(e.reference, e.what) for e in register.events()}
    for reference in references:
        assert (reference, "file") in events
    assert not (home / "var" / "formflow.db").exists(), "a SQLite register was made as well"


def assess_on(challenge: Challenge) -> Assessment:
    return assess(challenge, built_in()(challenge.policy), WorkingCalendar(), dt.date(2025, 11, 3))


def _searched(register: Register, text: str) -> tuple[str, ...] | None:
    return register.searched(OpenList(search=text)).found


def test_the_register_on_postgresql_indexes_its_search_by_trigrams(postgres: Cluster) -> None:
    url = postgres.new_database()
    with Register(url) as register:
        register.save_challenge(
            make_challenge(), assess_on(make_challenge()), dt.datetime(2025, 11, 3, 10)
        )
        indexed = register._db.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'open_search'"
        ).scalar_one()
        assert "gin_trgm_ops" in indexed and "closed_on IS NULL" in indexed
        assert _searched(register, "tegan") == (make_challenge().reference,)
    with Register(url) as again:  # opened again: the index is there, nothing is redone
        assert _searched(again, "lcs-000123") == (make_challenge().reference,)


def test_a_register_whose_user_may_not_add_pg_trgm_opens_searches_and_says_what_to_ask(
    postgres: Cluster, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A council's database user that owns no database: no CREATE on it, so no
    extension; tables in a schema it was given."""
    owners = postgres.new_database()
    database = owners.split("@/", 1)[1].split("?", 1)[0]
    with psycopg.connect(owners, autocommit=True) as admin:
        admin.execute("CREATE ROLE clerk LOGIN")
        admin.execute(f"REVOKE CREATE ON DATABASE {database} FROM PUBLIC")
        admin.execute("CREATE SCHEMA register AUTHORIZATION clerk")
        admin.execute("ALTER ROLE clerk SET search_path = register")
    clerks = owners.replace(f"{SUPERUSER}@/", "clerk@/")
    monkeypatch.setattr(register_module, "_said", set())  # as in a process just started
    with caplog.at_level(logging.WARNING), Register(clerks) as register:
        register.save_challenge(
            make_challenge(), assess_on(make_challenge()), dt.datetime(2025, 11, 3, 10)
        )
        assert _searched(register, "Tegan") == (make_challenge().reference,)
    said = [r.getMessage() for r in caplog.records if "pg_trgm" in r.getMessage()]
    assert len(said) == 1 and "Ask the database's administrator" in said[0]


def test_the_open_lists_name_indexes_hold_the_name_for_a_page_read_from_them_alone(
    postgres: Cluster,
) -> None:
    """Migration 6: PostgreSQL reads a page sorted by lower(name) from the index alone
    only when the index holds the name itself."""
    with Register(postgres.new_database()) as register:
        defined = dict(
            register._db.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
                "('open_by_child', 'open_by_responder', 'open_by_iro', 'open_by_team')"
            ).all()
        )
    for index, column in (
        ("open_by_child", "child"),
        ("open_by_responder", "addressee"),
        ("open_by_iro", "iro"),
        ("open_by_team", "team"),
    ):
        assert f"(lower({column}), reference, {column})" in defined[index]
        assert "WHERE (closed_on IS NULL)" in defined[index]
