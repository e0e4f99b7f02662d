"""Roles and need-to-know on the dashboard (issue 23 part 1): every route as every role,
against a challenge addressed to the user, one addressed to their team and one addressed
to others; a manager never sees, by any address, a child who is not theirs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from web_support import FAST_HASHER, NOW, TODAY, csrf_of, home_on, sign_in

from conftest import make_challenge
from formflow.config import Settings, settings_from_toml
from formflow.core.engine import assess
from formflow.core.record import (
    Challenge,
    Child,
    LegalStatus,
    Person,
    Stage,
    StageOutcome,
    StageRecord,
)
from formflow.errors import ConfigError
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.store.register import EventRecord, Register
from formflow.web import access, views
from formflow.web.accounts import Accounts
from formflow.web.app import create_app, web_settings

PASSWORD = "three random words"
SETTINGS = """
[directory]
"Priya Raman" = { email = "priya.raman@example.gov.uk", role = "Team Manager", team = "Children in Care Team 2" }
"Iwan Lloyd" = { email = "iwan.lloyd@example.gov.uk", role = "IRO" }
"""
USERS = {
    "ada": ("admin", None),
    "iwan": ("iro-service", "Iwan Lloyd"),
    "bea": ("business-support", None),
    "priya": ("manager", "Priya Raman"),
    "vic": ("viewer", None),
}
TO_USER, TO_TEAM, TO_OTHERS, ONCE_TO_USER = (
    "PC-2025-MMMMMM",
    "PC-2025-TTTTTT",
    "PC-2025-XXXXXX",
    "PC-2025-HHHHHH",
)
OTHER_CHILD = "Gwenllian Otherchild"
OTHER_CASE = "LCS-777777"


def _challenges() -> list[Challenge]:
    child = Child("Tegan Example", dt.date(2014, 2, 9), "LCS-000123", LegalStatus.CHILD_IN_CARE)
    return [
        make_challenge(
            reference=TO_USER,
            child=child,
            addressed_to=Person("Priya Raman", "Team Manager"),
            team="Fostering Team",
        ),
        make_challenge(
            reference=TO_TEAM,
            child=child,
            addressed_to=Person("Sam Other", "Team Manager"),
            team="Children in Care Team 2",
        ),
        make_challenge(
            reference=TO_OTHERS,
            child=Child(OTHER_CHILD, dt.date(2013, 1, 1), OTHER_CASE, LegalStatus.CHILD_IN_CARE),
            addressed_to=Person("Sam Other", "Team Manager"),
            team="Leaving Care Team",
            team_manager="Sam Other",
        ),
        make_challenge(  # at Stage 2 now with someone else; Stage 1 was Priya's
            reference=ONCE_TO_USER,
            child=child,
            stage=Stage.TWO,
            addressed_to=Person("Hannah Senior", "Service Manager"),
            team="Leaving Care Team",
            history=(
                StageRecord(
                    Stage.ONE,
                    dt.date(2025, 11, 3),
                    StageOutcome.ESCALATED,
                    addressed_to=Person("Priya Raman", "Team Manager"),
                ),
            ),
        ),
    ]


def document(c: Challenge | str) -> str:
    return f"{c if isinstance(c, str) else c.reference}-stage-1-form.docx"


@dataclass
class Site:
    home: Home
    app: Flask
    clients: dict[str, FlaskClient] = field(default_factory=dict)

    def client(self, name: str, *, fresh: bool = False) -> FlaskClient:
        """The user signed in (one client kept per user; ``fresh``: a new session)."""
        if fresh or name not in self.clients:
            signed_in = self.app.test_client()
            assert sign_in(signed_in, name, PASSWORD) == 302
            if fresh:
                return signed_in
            self.clients[name] = signed_in
        return self.clients[name]

    def events(self, what: str) -> list[EventRecord]:
        with Register(self.home.register) as register:
            return [e for e in register.events() if e.what == what]


@pytest.fixture
def site(tmp_path: Path, register_url: str) -> Site:
    """The site on each engine (``register_url``): the register and the users beside it."""
    root = tmp_path
    home = home_on(root, register_url)
    home.create()
    (root / "formflow.toml").write_text(SETTINGS, encoding="utf-8")
    settings = settings_from_toml(SETTINGS, root / "formflow.toml")
    with Register(home.register) as register:
        for c in _challenges():
            assessed = assess(c, built_in()(c.policy), settings.calendar, TODAY)
            register.save_challenge(c, assessed, NOW)
            register.add_document(str(c.reference), "form", f"{c.reference}/{document(c)}", NOW)
            (home.outbox / str(c.reference)).mkdir(parents=True)
            (home.outbox / str(c.reference) / document(c)).write_bytes(b"a form")
    home.rejected.mkdir(parents=True, exist_ok=True)
    (home.rejected / "gwenllian-form.docx").write_bytes(b"not a form")
    (home.rejected / "gwenllian-form.docx.errors.txt").write_text(f"{OTHER_CHILD}: no date.")
    accounts = Accounts.of(home, hasher=FAST_HASHER)
    for name, (role, person) in USERS.items():
        accounts.add(name, PASSWORD, role=role, person=person)
    app = create_app(home, settings, accounts=accounts, today=lambda: TODAY, now=lambda: NOW)
    app.config["TESTING"] = True
    return Site(home, app)


TARGETS = {"user": TO_USER, "team": TO_TEAM, "others": TO_OTHERS}
EVERY_ROLE = frozenset(access.ROLES)
NOT_MANAGER = EVERY_ROLE - {"manager"}


def page_for(roles: frozenset[str]) -> Callable[[str, str], int]:
    return lambda role, _target: 200 if role in roles else 403


def challenge_status(role: str, target: str) -> int:
    """Everyone but a manager sees every challenge; a manager theirs and their team's."""
    return 403 if role == "manager" and target == "others" else 200


RECORDERS = frozenset({"admin", "business-support"})


def respond_status(allowed: int) -> Callable[[str, str], int]:
    """A response: business support and admins for anyone, a manager for theirs and their
    team's (``allowed``: the form, or a post that lacks its answers); the rest refused."""

    def status(role: str, target: str) -> int:
        mine = role == "manager" and target != "others"
        return allowed if role in RECORDERS or mine else 403

    return status


EXPECTED: dict[str, tuple[str, str, Callable[[str, str], int]]] = {
    # endpoint: (method, address with {ref} and {doc}, status for (role, target))
    "signin": ("GET", "/signin", lambda _r, _t: 302),
    "signout": ("POST", "/signout", lambda _r, _t: 302),
    "static": ("GET", "/static/style.css", lambda _r, _t: 200),
    "open_challenges": ("GET", "/", page_for(EVERY_ROLE)),
    "challenge": ("GET", "/challenges/{ref}", challenge_status),
    "document": ("GET", "/challenges/{ref}/documents/{doc}", challenge_status),
    "tracker": ("GET", "/tracker.csv", page_for(EVERY_ROLE)),
    "year": ("GET", "/report", page_for(NOT_MANAGER)),
    "rejected": ("GET", "/rejected", page_for(NOT_MANAGER)),
    "sign_ins": ("GET", "/sign-ins", page_for(frozenset({"admin", "viewer"}))),
    "retention": ("GET", "/retention", page_for(frozenset({"admin", "viewer"}))),
    "actions.action_form": ("GET", "/challenges/{ref}/actions/respond", respond_status(200)),
    "actions.confirm": ("POST", "/challenges/{ref}/actions/respond/confirm", respond_status(400)),
    "actions.upload": ("GET", "/upload", page_for(RECORDERS)),
    "actions.uploaded": ("GET", "/uploads/" + "0" * 64, page_for(RECORDERS)),
    "actions.raise_challenge": ("GET", "/raise", page_for(RECORDERS | {"iro-service"})),
}


def test_every_route_is_in_the_table(site: Site) -> None:
    """A new route fails here until its line says who may open it."""
    assert {rule.endpoint for rule in site.app.url_map.iter_rules()} == set(EXPECTED)


def user_of(role: str) -> str:
    return next(name for name, (r, _) in USERS.items() if r == role)


@pytest.mark.parametrize("role", access.ROLES)
def test_every_route_as_every_role_for_each_challenge(site: Site, role: str) -> None:
    name = user_of(role)
    for rule in site.app.url_map.iter_rules():
        method, address, expected = EXPECTED[rule.endpoint]
        for target, reference in TARGETS.items():
            url = address.format(ref=reference, doc=document(reference))
            if method == "POST":  # signing out ends the session: one of its own
                client = site.client(name, fresh=True)
                token = csrf_of(client.get("/").get_data(as_text=True))
                got = client.post(url, data={"csrf": token})
            else:
                got = site.client(name).get(url, headers={"Sec-Fetch-Site": "same-origin"})
            got.close()  # a static file or a download is still open
            assert got.status_code == expected(role, target), (role, url, target)
            if got.status_code == 403:
                said = got.get_data(as_text=True)
                assert "Forbidden" in said and ("you may" in said or "Ask" in said), said


def test_a_manager_cannot_see_a_child_who_is_not_theirs_by_any_address(site: Site) -> None:
    priya = site.client("priya")
    addresses = [
        "/",
        "/?mine=0",
        f"/?mine=0&q={OTHER_CHILD.split()[0]}",
        f"/?mine=0&q={OTHER_CASE}",
        f"/?mine=0&q={TO_OTHERS}",
        "/?mine=0&team=Leaving+Care+Team",
        "/?mine=0&sort=child&order=desc",
        f"/challenges/{TO_OTHERS}",
        f"/challenges/{TO_OTHERS}/documents/{document(TO_OTHERS)}",
        "/tracker.csv",
        "/tracker.xlsx",
        "/report",
        "/rejected",
        "/sign-ins",
        "/retention",
    ]
    for address in addresses:
        got = priya.get(address, headers={"Sec-Fetch-Site": "same-origin"})
        body = got.get_data()
        got.close()
        for secret in (OTHER_CHILD, OTHER_CASE, TO_OTHERS, "Gwenllian"):
            if secret not in address:  # the search box shows what was typed in it
                assert secret.encode() not in body, (address, secret)
        assert b"G.O." not in body, address  # the list's initials of the other child
    mine = priya.get("/").get_data(as_text=True)
    assert "Signed in as priya (manager)" in mine
    for hidden in ("Annual figures", "Rejected files", "Sign-ins", "Retention"):
        assert hidden not in mine  # no link to a page that would refuse her
    assert "Annual figures" in site.client("ada").get("/").get_data(as_text=True)
    assert "My challenges" in mine and TO_USER in mine and ONCE_TO_USER in mine
    assert TO_TEAM not in mine  # their team's, not addressed to them: under "every"
    every = priya.get("/?mine=0").get_data(as_text=True)
    assert TO_USER in every and TO_TEAM in every and ONCE_TO_USER in every
    tracker = priya.get("/tracker.csv").get_data(as_text=True)
    assert TO_USER in tracker and TO_TEAM in tracker and ONCE_TO_USER in tracker


def test_a_refusal_says_what_to_do_instead_and_is_audited(site: Site) -> None:
    got = site.client("priya").get(
        f"/challenges/{TO_OTHERS}", headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert got.status_code == 403
    said = got.get_data(as_text=True)
    assert "only the challenges addressed to you or your team" in said
    assert "Your challenges are on the open list" in said
    refused = [e for e in site.events("refused") if e.actor == "priya"]
    assert any(e.reference == TO_OTHERS for e in refused)
    assert site.client("priya").get("/report").status_code == 403  # a page, no reference
    assert site.client("vic").get("/sign-ins").status_code == 200
    log = site.client("vic").get("/sign-ins").get_data(as_text=True)
    assert "refused" in log and "priya (manager) was refused" in log


def test_the_list_is_searched_by_reference_case_number_and_child(site: Site) -> None:
    bea = site.client("bea")
    for search in (TO_OTHERS[:10], OTHER_CASE.lower(), "otherchild"):
        found = bea.get(f"/?q={search}").get_data(as_text=True)
        assert TO_OTHERS in found and TO_USER not in found, search
    assert "No open challenge matches" in bea.get("/?q=100%25").get_data(as_text=True)


def test_the_list_is_paged(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    ada = site.client("ada")
    first = ada.get("/?sort=reference").get_data(as_text=True)
    assert "1 to 3 of 4 of 4 open challenges" in first and "Page 1 of 2." in first
    assert "Next page" in first and "Previous page" not in first
    second = ada.get("/?sort=reference&page=2").get_data(as_text=True)
    assert "4 to 4 of 4" in second and "Previous page" in second
    assert TO_OTHERS in second and TO_OTHERS not in first
    assert "Page 2 of 2." in ada.get("/?sort=reference&page=99").get_data(as_text=True)


def test_an_iro_lands_on_the_challenges_they_raised(site: Site) -> None:
    """Iwan Lloyd raised none of them: his list says so, and offers every challenge."""
    iwan = site.client("iwan")
    mine = iwan.get("/").get_data(as_text=True)
    assert "My challenges" in mine and "No open challenge matches" in mine
    assert TO_OTHERS in iwan.get("/?mine=0").get_data(as_text=True)


def test_the_proxy_names_the_role_only_when_it_is_a_trusted_proxy(tmp_path: Path) -> None:
    """priya is a manager in users.db; the council's SSO proxy (10.0.0.5) says her groups
    make her iro-service today. From any other address the header is ignored."""
    web = (
        '[web]\ntrusted_user_header = "X-Remote-User"\n'
        'trusted_role_header = "X-Remote-Groups"\ntrusted_proxies = ["10.0.0.5"]\n'
    )
    home = Home(tmp_path)
    home.create()
    with Register(home.database) as register:
        for c in _challenges():
            register.save_challenge(
                c, assess(c, built_in()(c.policy), Settings().calendar, TODAY), NOW
            )
    settings = settings_from_toml(SETTINGS + web, tmp_path / "formflow.toml")
    accounts = Accounts(home.var / "users.db", hasher=FAST_HASHER)
    accounts.add("priya", None, role="manager", person="Priya Raman")
    app = create_app(home, settings, accounts=accounts, today=lambda: TODAY, now=lambda: NOW)
    client = app.test_client()
    headers = {"X-Remote-User": "priya", "X-Remote-Groups": "All Staff, iro-service"}

    def status_from(peer: str) -> int:
        return client.get(
            f"/challenges/{TO_OTHERS}",
            headers={**headers, "Sec-Fetch-Site": "same-origin"},
            environ_base={"REMOTE_ADDR": peer},
        ).status_code

    assert status_from("10.0.0.5") == 200
    assert status_from("192.0.2.1") == 403
    with pytest.raises(ConfigError, match="trusted_role_header is read only from"):
        web_settings(Settings(raw={"web": {"trusted_role_header": "X-Remote-Groups"}}))
