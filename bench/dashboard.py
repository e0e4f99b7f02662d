"""The dashboard's speed over a large register: 50,000 challenges and 500,000 events.

The pages are timed server side, through the WSGI application (Flask's test client: the
whole request, sign-in and role check, register reads, template and, for a challenge's
page, the audit event it writes), without the network. Targets from issue 23: the open
list under 50 ms and a challenge's page under 30 ms (median), for a user who sees every
challenge and for a manager who sees only their own; an action under 500 ms (median):
"extend the deadline" on another open challenge each time, as a person does it: its
confirmation page, READING_SECONDS reading it, then the confirm, which records the event
and writes its documents and drafts as the watcher would (those made while the page was
read are handed over: ``pipeline.ahead``). The confirmation page is timed too, and so is
a confirm at once, with no time to read, for comparison. The live tracker is on, as
by default: after the first action its rewrite over the whole register runs beside the
actions timed, in a child process at a lower priority (``tracker.made_in_child``).

Each is measured on both engines in one run, over the same register: SQLite in var/,
and PostgreSQL on the tests' own throwaway cluster (tests/postgres_server.py), the
dashboard's users beside it.

The register is filled in bulk through its own tables (``executemany`` in batches of
10,000 rows, in one transaction, each distinct due date assessed once), so building it
takes seconds, not the hour 50,000 ``save_challenge`` calls with their renders would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import re
import sys
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy.engine import Connection

from bench.forms import challenge
from bench.measure import Figure, timings
from bench.parts import Run, timing_figure
from formflow.config import Settings, settings_from_toml
from formflow.core.engine import Assessment, assess
from formflow.core.record import (
    THEMES,
    Challenge,
    Closure,
    ClosureKind,
    Person,
    RaisedBy,
    Role,
    Stage,
)
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.store.register import Register
from formflow.web.accounts import Accounts
from formflow.web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from postgres_server import running_cluster  # the tests' own cluster, as bench.registers

CHALLENGES = 50_000
EVENTS_PER_CHALLENGE = 10
IROS = ("Morwenna Pentreath", "Dylan Hughes", "Aoife Byrne", "Kwame Mensah", "Ffion Price")
TEAMS = ("Children in Care Team 1", "Children in Care Team 2", "Fostering Team", "Leaving Care")
MANAGERS = tuple(f"Manager {n:03d}" for n in range(200))
"""Each challenge is addressed to one of 200 team managers: a manager's list is small."""
BENCH_MANAGER = MANAGERS[8]
SETTINGS = f"""
[directory]
"{BENCH_MANAGER}" = {{ email = "manager.008@example.gov.uk", team = "Leaving Care" }}
"""


def _reference(i: int) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    digits = "".join(alphabet[(i // 32**k) % 32] for k in range(6))[::-1]
    return f"PC-2026-{digits}"


def _record(i: int) -> Challenge:
    raised = dt.date(2025, 1, 6) + dt.timedelta(days=i % 600)
    return dataclasses.replace(
        challenge(_reference(i)),
        date_of_notification=raised,
        stage=(Stage.ONE, Stage.TWO, Stage.THREE)[i % 3],
        raised_by=RaisedBy(IROS[i % len(IROS)], Role.IRO),
        child=dataclasses.replace(
            challenge().child, name=f"Child {i:05d} Example", case_number=f"LCS-{i:06d}"
        ),
        team=TEAMS[i % len(TEAMS)],
        addressed_to=Person(MANAGERS[i % len(MANAGERS)], "Team Manager"),
        themes=frozenset(itertools.islice(THEMES, i % 3)),
        closure=Closure(raised + dt.timedelta(days=9), ClosureKind.RESOLVED, "Resolved.")
        if i % 2
        else None,
    )


@cache
def _assessed(stage: Stage, raised: dt.date, closed: bool) -> Assessment:
    record = dataclasses.replace(
        challenge("PC-2026-000000"),
        stage=stage,
        date_of_notification=raised,
        closure=Closure(raised, ClosureKind.RESOLVED, "Resolved.") if closed else None,
    )
    return assess(record, built_in()("nelincs"), Settings().calendar, raised)


def _challenge_rows(count: int, now: str) -> Iterator[dict[str, object]]:
    for i in range(count):
        c = _record(i)
        a = _assessed(c.stage, c.date_of_notification, c.closure is not None)
        yield {
            "reference": c.reference, "policy": c.policy,
            "record": json.dumps(c.to_dict(), ensure_ascii=False), "status": a.status.value,
            "stage": c.stage.value, "due": a.due.isoformat() if a.due else None,
            "raised_on": c.date_of_notification.isoformat(),
            "closed_on": c.closure.date.isoformat() if c.closure else None,
            "created": now, "updated": now, "child": c.child.name,
            "case_number": c.child.case_number, "iro": c.raised_by.name, "team": c.team,
            "addressee": MANAGERS[i % len(MANAGERS)],
        }  # fmt: skip


def claim_of(i: int) -> str:
    """The claim of the form that raised challenge ``i`` (archived under its reference)."""
    return f"20260101T090000-{i:08x}--form.docx"


def _file_rows(count: int) -> Iterator[dict[str, object]]:
    for i in range(count):
        at = dt.datetime.combine(dt.date(2025, 1, 6) + dt.timedelta(days=i % 600), dt.time(9))
        yield {
            "claim": claim_of(i), "original_name": "form.docx", "sha256": f"{i:064x}",
            "claimed_at": at.isoformat(timespec="seconds"), "outcome": "processed",
            "reference": _reference(i), "message": "Raised at Stage 1.",
            "finished_at": at.isoformat(timespec="seconds"),
        }  # fmt: skip


def _event_rows(count: int) -> Iterator[dict[str, object]]:
    """Each challenge's first event is the form that raised it; the rest, transitions."""
    for i in range(count):
        at = dt.datetime.combine(dt.date(2025, 1, 6) + dt.timedelta(days=i % 600), dt.time(9))
        for n in range(EVENTS_PER_CHALLENGE):
            yield {
                "reference": _reference(i),
                "at": (at + dt.timedelta(hours=n)).isoformat(timespec="seconds"),
                "what": "transition" if n else "file",
                "file": None if n else claim_of(i),
                "sha256": None if n else f"{i:064x}",
                "outcome": "awaiting response" if n else "processed",
                "message": f"Step {n}: raised at Stage 1 with the Team Manager.",
            }


def _insert(db: Connection, table: str, rows: Iterator[dict[str, object]]) -> None:
    """``rows`` into ``table`` in batches (one executemany each, on either engine)."""
    while batch := list(itertools.islice(rows, 10_000)):
        columns = list(batch[0])
        db.execute(
            sa.text(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})"
            ),
            batch,
        )


def fill(home: Home, count: int = CHALLENGES) -> list[str]:
    """A register as a large council's might be after a few years, half still open, on
    the home's engine (SQLite in var/, or ``home.register_url``)."""
    home.create()
    now = dt.datetime.now().isoformat(timespec="seconds")
    with Register(home.register) as register, register.transaction():
        db = register._db  # the bench's bulk path: the register's own tables, no renders
        _insert(db, "challenges", _challenge_rows(count, now))
        db.exec_driver_sql(
            "INSERT INTO addressees (kind, name, open, reference) "
            "SELECT 'person', lower(addressee), CASE WHEN closed_on IS NULL THEN 1 ELSE 0 END, "
            "reference FROM challenges UNION ALL SELECT 'team', lower(team), "
            "CASE WHEN closed_on IS NULL THEN 1 ELSE 0 END, reference FROM challenges"
        )
        _insert(db, "files", _file_rows(count))
        _insert(db, "events", _event_rows(count))
    with Register(home.register) as register:  # outside the transaction, as VACUUM must be
        # PostgreSQL reads an index alone only where its visibility map says so: VACUUM
        # writes it, as autovacuum would soon after a load.
        register._db.exec_driver_sql("VACUUM ANALYZE" if home.register_url else "ANALYZE")
    return [_reference(i) for i in range(count)]


def _signed_in(app_client: FlaskClient, name: str) -> FlaskClient:
    page = app_client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    signed_in = app_client.post(
        "/signin", data={"csrf": token.group(1), "name": name, "password": "three random words"}
    )
    assert signed_in.status_code == 302, f"the bench user {name} could not sign in"
    return app_client


ACTIONS = 15
EXTENDED_TO = "2027-06-01"
"""A working day after every open challenge's due date in the bench's register."""
READING_SECONDS = 1.0
"""How long the bench's person reads an action's confirmation page before confirming: a
person reads what will happen ("... due 1 June 2027", the documents) for longer than
this. The documents are made ahead meanwhile (``pipeline.ahead``)."""


@dataclasses.dataclass(frozen=True)
class ActionTimes:
    """Seconds of each step of extending deadlines: the confirmation page, the confirm
    after reading it, and the confirm at once (the documents still being made)."""

    confirmation: list[float]
    confirmed: list[float]
    at_once: list[float]


def _extend(client: FlaskClient, reference: str, read: float) -> tuple[float, float]:
    """Extend ``reference``'s deadline as a person does: the action's form drawn (untimed),
    its confirmation page, ``read`` seconds reading it, then the confirm. Returns the
    seconds of the confirmation page and of the confirm."""
    address = f"/challenges/{reference}/actions/extend"
    drawn = client.get(address).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf|version)" value="([^"]+)"', drawn))
    fields |= {"to": EXTENDED_TO, "reason": "The review was moved.", "on_behalf_of": "A Manager"}
    started = time.perf_counter()
    confirmation = client.post(address, data=fields)
    shown = time.perf_counter() - started
    assert confirmation.status_code == 200, confirmation.get_data(as_text=True)[:2000]
    time.sleep(read)
    started = time.perf_counter()
    response = client.post(f"{address}/confirm", data=fields)
    confirmed = time.perf_counter() - started
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return shown, confirmed


def _actions(client: FlaskClient, references: list[str]) -> ActionTimes:
    """Each step of extending deadlines on open challenges (even positions) not yet acted
    on: ACTIONS read for READING_SECONDS, then ACTIONS confirmed at once."""
    read = [_extend(client, r, READING_SECONDS) for r in references[0 : 2 * ACTIONS : 2]]
    at_once = [_extend(client, r, 0.0) for r in references[2 * ACTIONS : 4 * ACTIONS : 2]]
    return ActionTimes(
        confirmation=[shown for shown, _ in read + at_once],
        confirmed=[confirmed for _, confirmed in read],
        at_once=[confirmed for _, confirmed in at_once],
    )


def dashboard(run: Run) -> list[Figure]:
    """The same pages over the same register on each engine, side by side in one run:
    SQLite in var/, and PostgreSQL on the tests' own throwaway cluster."""
    figures = _on(run, Home(run.tmp / "dashboard-sqlite"))
    with running_cluster() as cluster:
        on_server = Home(run.tmp / "dashboard-postgresql", register_url=cluster.new_database())
        return figures + _on(run, on_server)


def _on(run: Run, home: Home) -> list[Figure]:
    started = time.monotonic()
    references = fill(home)
    built = time.monotonic() - started
    engine = "PostgreSQL" if home.register_url else "SQLite"
    settings = settings_from_toml(SETTINGS, home.root / "formflow.toml")
    accounts = Accounts.of(home, hasher=PasswordHasher())
    accounts.add("bench.user", "three random words", role="business-support")
    accounts.add("bench.manager", "three random words", role="manager", person=BENCH_MANAGER)
    app = create_app(home, settings, accounts=accounts)
    everyone = _signed_in(app.test_client(), "bench.user")
    manager = _signed_in(app.test_client(), "bench.manager")
    theirs = [r for i, r in enumerate(references) if i % len(MANAGERS) == 8]
    hidden = references[10]  # open, addressed to another manager, in another team

    def page(client: FlaskClient, address: str, shows: str) -> None:
        response = client.get(address, headers={"Sec-Fetch-Site": "same-origin"})
        assert response.status_code == 200 and shows in response.get_data(as_text=True)

    assert manager.get(f"/challenges/{hidden}").status_code == 403
    cycle = itertools.cycle(references)
    their_cycle = itertools.cycle(theirs)
    measured = {
        "open list (business support, every challenge)": (
            timings(lambda: page(everyone, "/", references[0]), 30), 0.050, "< 50 ms"
        ),
        "open list, a search by child's name": (
            timings(lambda: page(everyone, "/?q=Child+12344", _reference(12344)), 30),
            0.050,
            "< 50 ms",
        ),
        "open list, page 200 sorted by team": (
            timings(lambda: page(everyone, "/?sort=team&page=200", "Page 200 of"), 30),
            0.050,
            "< 50 ms",
        ),
        "open list, page 200 sorted by procedure": (  # by a name: no index has its order
            timings(lambda: page(everyone, "/?sort=procedure&page=200", "Page 200 of"), 30),
            0.050,
            "< 50 ms",
        ),
        "open list (a manager, their own)": (
            timings(lambda: page(manager, "/?mine=0", theirs[0]), 30), 0.050, "< 50 ms"
        ),
        "a challenge's page": (
            timings(lambda: page(everyone, f"/challenges/{next(cycle)}", "Timeline"), 200),
            0.030,
            "< 30 ms",
        ),
        "a challenge's page (a manager)": (
            timings(lambda: page(manager, f"/challenges/{next(their_cycle)}", "Timeline"), 100),
            0.030,
            "< 30 ms",
        ),
    }  # fmt: skip
    acted = _actions(everyone, references[1000:])
    measured |= {
        "an action: its confirmation page (extend the deadline)": (
            acted.confirmation, 0.500, "< 500 ms"
        ),
        f"an action (extend the deadline, confirmed after {READING_SECONDS:.0f} s reading)": (
            acted.confirmed, 0.500, "< 500 ms"
        ),
    }  # fmt: skip
    run.extra[f"dashboard_register_{engine}"] = {
        "challenges": CHALLENGES,
        "events": CHALLENGES * EVENTS_PER_CHALLENGE,
        "open": CHALLENGES // 2,
        "built_seconds": round(built, 1),
    }
    served = app.extensions["formflow"]
    served.tracker.stop()
    served.ahead.close()
    served.registers.close()
    detail = (
        f"{engine}: {CHALLENGES} challenges ({CHALLENGES // 2} open), "
        f"{CHALLENGES * EVENTS_PER_CHALLENGE} events, built in {built:.0f} s"
    )
    return [
        dataclasses.replace(
            timing_figure(
                f"dashboard ({engine}): {name}",
                samples,
                scale=1000,
                unit="ms",
                target=target,
                limit=limit,
            ),
            detail=f"{len(samples)} runs; {detail}",
        )
        for name, (samples, limit, target) in measured.items()
    ] + [
        dataclasses.replace(
            timing_figure(
                f"dashboard ({engine}): an action confirmed at once (its documents still being made)",
                acted.at_once, scale=1000, unit="ms", target="", limit=0.500
            ),
            target="for comparison",
            met=None,
            detail=f"{len(acted.at_once)} runs; {detail}",
        )
    ]  # fmt: skip


MET = {True: "met", False: "NOT met", None: "no target"}

if __name__ == "__main__":  # just this part: python -m bench.dashboard
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        run = Run(Path(scratch), Path(), Path(), None, time.monotonic() + 600)  # type: ignore[arg-type]
        for figure in dashboard(run):
            print(
                f"{figure.name}: median {figure.value:.1f} {figure.unit}, p95 {figure.p95:.1f} {figure.unit} "
                f"(target {figure.target}: {MET[figure.met]}) - {figure.detail}"
            )
        print(run.extra)
