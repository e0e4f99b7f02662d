"""The dashboard's speed over a large register: 5,000 challenges and 50,000 events.

The pages are timed server side, through the WSGI application (Flask's test client: the
whole request, sign-in check, register reads, template and, for a challenge's page, the
audit event it writes), without the network. Targets from issue 16: the open-challenges
page under 150 ms and a challenge's page under 50 ms (median).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import time

from argon2 import PasswordHasher

from bench.forms import challenge
from bench.measure import Figure, timings
from bench.parts import Run, timing_figure
from formflow.config import Settings
from formflow.core.engine import assess
from formflow.core.record import THEMES, Closure, ClosureKind, RaisedBy, Role, Stage
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.store.register import Register
from formflow.web.accounts import Accounts
from formflow.web.app import create_app

CHALLENGES = 5000
EVENTS_PER_CHALLENGE = 10
IROS = ("Morwenna Pentreath", "Dylan Hughes", "Aoife Byrne", "Kwame Mensah", "Ffion Price")
TEAMS = ("Children in Care Team 1", "Children in Care Team 2", "Fostering Team", "Leaving Care")


def _reference(i: int) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    digits = "".join(alphabet[(i // 32**k) % 32] for k in range(6))[::-1]
    return f"PC-2026-{digits}"


def fill(home: Home) -> list[str]:
    """A register as a large council's might be after a few years: half still open."""
    home.create()
    settings = Settings()
    start = dt.date(2025, 1, 6)
    references = []
    with Register(home.database) as register, register.transaction():
        for i in range(CHALLENGES):
            reference = _reference(i)
            raised = start + dt.timedelta(days=i % 600)
            record = dataclasses.replace(
                challenge(reference),
                date_of_notification=raised,
                stage=(Stage.ONE, Stage.TWO, Stage.THREE)[i % 3],
                raised_by=RaisedBy(IROS[i % len(IROS)], Role.IRO),
                team=TEAMS[i % len(TEAMS)],
                themes=frozenset(itertools.islice(THEMES, i % 3)),
                closure=Closure(raised + dt.timedelta(days=9), ClosureKind.RESOLVED, "Resolved.")
                if i % 2
                else None,
            )
            policy = built_in()(record.policy)
            register.save_challenge(
                record, assess(record, policy, settings.calendar, raised), dt.datetime.now()
            )
            at = dt.datetime.combine(raised, dt.time(9))
            for n in range(EVENTS_PER_CHALLENGE):
                register.add_event(
                    reference,
                    "transition" if n % 2 else "file",
                    at + dt.timedelta(hours=n),
                    file=f"20260101T090000-{i:08x}--form-{n}.docx",
                    outcome="awaiting response",
                    message=f"Step {n}: raised at Stage 1 with the Team Manager.",
                )
            references.append(reference)
    return references


def dashboard(run: Run) -> list[Figure]:
    home = Home(run.tmp / "dashboard")
    started = time.monotonic()
    references = fill(home)
    built = time.monotonic() - started
    accounts = Accounts(home.var / "users.db", hasher=PasswordHasher())
    accounts.add("bench.user", "three random words")
    app = create_app(home, Settings(), accounts=accounts)
    client = app.test_client()
    page = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    signed_in = client.post(
        "/signin",
        data={"csrf": token.group(1), "name": "bench.user", "password": "three random words"},
    )
    assert signed_in.status_code == 302, "the bench user could not sign in"

    def open_page() -> None:
        response = client.get("/")
        assert response.status_code == 200 and references[0] in response.get_data(as_text=True)

    cycle = itertools.cycle(references)

    def challenge_page() -> None:
        assert client.get(f"/challenges/{next(cycle)}").status_code == 200

    listing = timings(open_page, 30)
    single = timings(challenge_page, 200)
    run.extra["dashboard_register"] = {
        "challenges": CHALLENGES,
        "events": CHALLENGES * EVENTS_PER_CHALLENGE,
        "open": CHALLENGES // 2,
        "built_seconds": round(built, 1),
    }
    detail = f"{CHALLENGES} challenges ({CHALLENGES // 2} open), {CHALLENGES * EVENTS_PER_CHALLENGE} events"
    return [
        dataclasses.replace(
            timing_figure(
                "dashboard: open challenges page",
                listing,
                scale=1000,
                unit="ms",
                target="< 150 ms",
                limit=0.150,
            ),
            detail=f"{len(listing)} runs; {detail}",
        ),
        dataclasses.replace(
            timing_figure(
                "dashboard: a challenge's page",
                single,
                scale=1000,
                unit="ms",
                target="< 50 ms",
                limit=0.050,
            ),
            detail=f"{len(single)} runs, each writing its audit event; {detail}",
        ),
    ]


if __name__ == "__main__":  # just this part: python -m bench.dashboard
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as scratch:
        run = Run(Path(scratch), Path(), Path(), None, time.monotonic() + 600)  # type: ignore[arg-type]
        for figure in dashboard(run):
            print(
                f"{figure.name}: median {figure.value:.1f} {figure.unit}, p95 {figure.p95:.1f} {figure.unit} "
                f"(target {figure.target}: {'met' if figure.met else 'NOT met'}) - {figure.detail}"
            )
        print(run.extra["dashboard_register"])
