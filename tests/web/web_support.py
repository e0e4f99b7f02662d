"""A home folder with a register of fictional challenges, and a signed-in test client."""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import re
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from conftest import CLOSED_AFTER_THE_MODULE, make_challenge
from formflow.config import Settings
from formflow.core.engine import assess
from formflow.core.record import (
    Action,
    Child,
    Closure,
    ClosureKind,
    LegalStatus,
    RaisedBy,
    Response,
    Role,
    Stage,
)
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.store.register import Register, is_server_url
from formflow.web.accounts import Accounts, SignInLimiter
from formflow.web.app import create_app

TODAY = dt.date(2025, 11, 20)
NOW = dt.datetime(2025, 11, 20, 9, 30)
USER, PASSWORD = "amara.okafor", "three random words"
OVERDUE = "PC-2025-AAAAAA"
"""Stage 1 raised on 3 November, due on the 10th: overdue on the 20th."""
DUE_LATER = "PC-2025-BBBBBB"
RESOLVED = "PC-2025-CCCCCC"
NOT_IN_CARE = "PC-2025-DDDDDD"
HOSTILE = "<script>alert('x')</script> & <b>bold</b>"
CHILD = "Tegan Example"
DOCUMENT = f"{OVERDUE}-stage-1-form.docx"

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""Argon2id still, cheap enough for tests."""


def home_on(root: Path, register_url: str | None = None) -> Home:
    """The home at ``root``, its register where ``register_url`` says (the
    ``register_url`` fixture): on a PostgreSQL server, or SQLite in var/."""
    on_server = register_url is not None and is_server_url(register_url)
    return Home(root, register_url=register_url if on_server else None)


def fill_register(home: Home) -> None:
    home.create()
    challenges = [
        make_challenge(reference=OVERDUE, concern=f"Concern with {HOSTILE}"),
        make_challenge(
            reference=DUE_LATER,
            date_of_notification=dt.date(2025, 11, 18),
            stage=Stage.TWO,
            team="Fostering Team",
            raised_by=RaisedBy("Dylan Hughes", Role.CP_CHAIR),
        ),
        make_challenge(
            reference=RESOLVED,
            actions=(
                Action("Review the pathway plan", dt.date(2025, 11, 14), "Social worker"),
                Action("Arrange a placement meeting", dt.date(2025, 12, 5), "Team Manager"),
            ),
            response=Response("Agreed.", dt.date(2025, 11, 6), "Priya Raman", True),
            closure=Closure(dt.date(2025, 11, 6), ClosureKind.RESOLVED, "Resolved at Stage 1."),
            themes=frozenset({"placement"}),
        ),
        make_challenge(
            reference=NOT_IN_CARE,
            child=Child(
                "Rhys Sample", dt.date(2015, 1, 1), "LCS-9", LegalStatus.CHILD_PROTECTION_PLAN
            ),
            date_of_notification=dt.date(2025, 11, 19),
        ),
    ]
    with Register(home.register) as register:
        for c in challenges:
            register.save_challenge(
                c, assess(c, built_in()(c.policy), Settings().calendar, TODAY), NOW
            )
        at = dt.datetime(2025, 11, 3, 10, 0)
        register.add_event(
            OVERDUE,
            "transition",
            at,
            outcome="awaiting response",
            message="Raised at Stage 1 with the Team Manager; response due 2025-11-10.",
        )
        register.add_event(OVERDUE, "reminder", at, message=f"Note typed by staff: {HOSTILE}")
        register.add_document(OVERDUE, "next-stage form", f"{OVERDUE}/{DOCUMENT}", at)
    folder = home.outbox / OVERDUE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DOCUMENT).write_bytes(b"the stage 1 form")
    (home.var / "secret-elsewhere.txt").write_text("not for download")


@dataclass
class Site:
    home: Home
    app: Flask
    accounts: Accounts

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def close(self) -> None:
        """Stop what the site runs beside its requests (the live tracker's writer) and
        close its connections, as ``formflow serve`` does when it stops."""
        dashboard = self.app.extensions["formflow"]
        dashboard.tracker.stop()
        dashboard.ahead.close()
        dashboard.registers.close()
        self.accounts.close()


def make_site(
    root: Path, settings: Settings | None = None, register_url: str | None = None, **limits: Any
) -> Site:
    """The site over a filled register (on the engine of ``register_url``, SQLite when
    None); ``limits`` are the sign-in limiter's settings."""
    home = home_on(root, register_url)
    fill_register(home)
    if home.register_url:  # where the CLI run on this home finds the register too
        (root / "formflow.toml").write_text(f'[register]\nurl = "{home.register_url}"\n')
    accounts = Accounts.of(home, hasher=FAST_HASHER)
    accounts.add(USER, PASSWORD)
    app = create_app(
        home,
        settings or Settings(),
        accounts=accounts,
        limiter=SignInLimiter(accounts, **limits),
        today=lambda: TODAY,
        now=lambda: NOW,
    )
    app.config["TESTING"] = True
    site = Site(home, app, accounts)
    CLOSED_AFTER_THE_MODULE.append(site.close)
    return site


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: FlaskClient, name: str = USER, password: str = PASSWORD) -> int:
    token = csrf_of(client.get("/signin").get_data(as_text=True))
    response = client.post("/signin", data={"csrf": token, "name": name, "password": password})
    return response.status_code


def sign_in_over_http(
    url: str, name: str = USER, password: str = PASSWORD
) -> tuple[urllib.request.OpenerDirector, str]:
    """A browser signed in to the dashboard served at ``url``, and the page it lands on."""
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    token = csrf_of(browser.open(f"{url}signin", timeout=10).read().decode())
    form = urllib.parse.urlencode({"csrf": token, "name": name, "password": password, "next": "/"})
    landed = browser.open(f"{url}signin", data=form.encode(), timeout=10).read().decode()
    return browser, landed


def dashboard_address(stderr: Iterable[str], until: str = "Dashboard at") -> str:
    """The address ``formflow serve`` or ``watch`` prints ("Dashboard at http://..."), read
    from its standard error up to the line that starts with ``until``."""
    address = ""
    for line in stderr:
        found = re.search(r"Dashboard at (http://127\.0\.0\.1:\d+/)", line)
        if found:
            address = found.group(1)
        if line.startswith(until):
            break
    return address
