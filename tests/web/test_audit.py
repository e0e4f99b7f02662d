"""The dashboard's audit trail: who signed in or failed to, who looked at a challenge and
who downloaded what, each an event with its actor where ``formflow show``, the challenge's
page and an auditor read them, and a line in the log that ``formflow serve`` keeps."""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from browser import served
from click.testing import CliRunner
from web_support import (
    CHILD,
    DOCUMENT,
    FAST_HASHER,
    OVERDUE,
    PASSWORD,
    USER,
    Site,
    csrf_of,
    fill_register,
    make_site,
    sign_in,
)

from formflow.cli import main
from formflow.outbox.folders import Home
from formflow.store.register import EventRecord, Register
from formflow.web.accounts import Accounts

CROSS_SITE = {"Sec-Fetch-Site": "cross-site"}


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


def events(site: Site, reference: str | None = None) -> list[EventRecord]:
    with Register(site.home.register) as register:
        every = register.events()
    return [e for e in every if e.reference == reference and e.what != "transition"]


def test_a_failed_sign_in_is_an_event_with_the_name_tried_and_a_warning(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert sign_in(site.client(), "amara.okafor", "not the password") == 401
    [failed] = events(site)
    assert (failed.what, failed.actor, failed.message) == (
        "sign-in failed",
        "amara.okafor",
        "From 127.0.0.1.",
    )
    assert failed.reason == "The user name or password is not right."
    [line] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "sign-in failed" in line.getMessage() and "amara.okafor" in line.getMessage()


def test_a_password_typed_as_the_name_is_never_kept(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        assert sign_in(site.client(), PASSWORD, PASSWORD) == 401
    [failed] = events(site)
    assert failed.actor == "(not a user name)"
    assert PASSWORD not in caplog.text


def test_the_sign_ins_page_lists_sign_ins_failures_and_tracker_downloads(site: Site) -> None:
    assert sign_in(site.client(), "dylan.hughes", "not the password") == 401
    client = site.client()
    sign_in(client)
    client.get("/tracker.csv")
    html = client.get("/sign-ins").get_data(as_text=True)
    rows = html[html.index("<tbody>") :]
    assert rows.index("tracker.csv downloaded") < rows.index("signed in") < rows.index("dylan")
    assert "The user name or password is not right. From 127.0.0.1." in rows
    assert OVERDUE not in rows  # views of a challenge are on its own page


def test_a_sign_in_is_an_event_and_formflow_check_finds_nothing_wrong_with_it(
    site: Site,
) -> None:
    assert sign_in(site.client()) == 302
    [signed_in] = events(site)
    assert (signed_in.what, signed_in.actor) == ("signed in", USER)
    checked = CliRunner().invoke(main, ["check", "--home", str(site.home.root)])
    assert "unknown reference" not in checked.output and "None" not in checked.output


def test_views_and_downloads_name_their_user_as_the_actor_in_formflow_show(site: Site) -> None:
    client = site.client()
    sign_in(client)
    client.get(f"/challenges/{OVERDUE}")
    client.get(f"/challenges/{OVERDUE}/documents/{DOCUMENT}").close()
    shown = CliRunner().invoke(main, ["show", OVERDUE, "--home", str(site.home.root), "--json"])
    timeline = json.loads(shown.output)["timeline"]
    looked = [(e["what"], e["who"]) for e in timeline if e["what"] in {"viewed", "downloaded"}]
    assert looked == [("viewed", USER), ("downloaded", USER)]


def test_tracker_downloads_are_in_the_audit_trail(site: Site) -> None:
    client = site.client()
    sign_in(client)
    assert client.get("/tracker.xlsx").status_code == 200
    assert client.get("/tracker.csv").status_code == 200
    downloads = [(e.what, e.actor, e.message) for e in events(site) if e.what == "downloaded"]
    assert downloads == [
        ("downloaded", USER, f"tracker.xlsx downloaded from the dashboard by {USER}."),
        ("downloaded", USER, f"tracker.csv downloaded from the dashboard by {USER}."),
    ]


@pytest.mark.parametrize(
    "path",
    [f"/challenges/{OVERDUE}", f"/challenges/{OVERDUE}/documents/{DOCUMENT}", "/tracker.csv"],
)
def test_a_link_from_another_site_asks_first_and_records_nothing(site: Site, path: str) -> None:
    client = site.client()
    sign_in(client)
    asked = client.get(path, headers=CROSS_SITE)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and asked.mimetype == "text/html"
    assert "You followed a link from another site" in page and f'href="{path}"' in page
    assert CHILD not in page and "the stage 1 form" not in page
    with Register(site.home.register) as register:
        assert not [e for e in register.events() if e.what in {"viewed", "downloaded"}]
    chosen = client.get(path, headers={"Sec-Fetch-Site": "same-origin"})
    assert chosen.status_code == 200 and "You followed a link" not in chosen.get_data(as_text=True)
    chosen.close()
    with Register(site.home.register) as register:
        assert [e.actor for e in register.events() if e.what in {"viewed", "downloaded"}] == [USER]


def test_formflow_serve_keeps_the_sign_in_lines_and_the_proxys_client_address(
    tmp_path: Path,
) -> None:
    """Through the real server (waitress): INFO lines are dropped unless the audit logger
    keeps them, and X-Forwarded-For reaches the app from a trusted proxy."""
    fill_register(Home(tmp_path))
    (tmp_path / "formflow.toml").write_text('[web]\ntrusted_proxies = ["127.0.0.1"]\n')
    Accounts(tmp_path / "var" / "users.db", hasher=FAST_HASHER).add(USER, PASSWORD)
    log: list[str] = []
    with served(tmp_path, log) as url:
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        browser.addheaders = [("X-Forwarded-For", "198.51.100.7")]
        for password in ("not the password", PASSWORD):
            with browser.open(f"{url}signin") as page:
                token = csrf_of(page.read().decode())
            form = {"csrf": token, "name": USER, "password": password}
            try:
                browser.open(f"{url}signin", urllib.parse.urlencode(form).encode()).close()
            except urllib.error.HTTPError as refused:
                assert refused.code == 401
                refused.close()
    failed = [line for line in log if "sign-in failed" in line]
    signed_in = [line for line in log if re.search(r"INFO .*signed in by '" + USER, line)]
    assert len(failed) == 1 and "WARNING" in failed[0] and USER in failed[0]
    assert len(signed_in) == 1, log
    with Register(Home(tmp_path).database) as register:
        places = {e.message for e in register.events() if e.reference is None}
    assert places == {"From 198.51.100.7."}
