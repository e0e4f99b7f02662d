"""What an outside examination sent the dashboard: every route of the app, signed in or
not, against malformed hosts, odd ``next`` targets and non-ASCII digits. The answer is
a page, a 4xx or a redirect to this site, never a 500 and never another site."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from flask import url_for
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_support import DOCUMENT, OVERDUE, PASSWORD, USER, Site, csrf_of, make_site, sign_in
from werkzeug.test import TestResponse

SITE = "http://localhost/"
EXAMPLE_ARGUMENTS = {
    "reference": OVERDUE,
    "name": DOCUMENT,
    "suffix": "csv",
    "filename": "style.css",
    "action": "withdraw",
    "digest": "0" * 64,
}
"""A value for each variable part of a route; a route with a new one fails below until
it is given one here."""

ODD_NEXT = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/report\r\nSet-Cookie: stolen=1",
    "/\\evil.example",
    " //evil.example",
    "//evil.example/x",
    "https://evil.example/",
    "http://[::1",
    "javascript:alert(1)",
]
ATTACKS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    # name: (headers, query or form values)
    "a 64-letter host": ({"Host": "a" * 64}, {}),
    "a host with an empty label": ({"Host": "a..b"}, {}),
    "non-ASCII digits": (
        {},
        {k: "²²²²" for k in ("year", "sort", "order", "overdue", "level", "team", "notice")},
    ),
    **{f"next {target!r}": ({}, {"next": target}) for target in ODD_NEXT},
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return make_site(tmp_path_factory.mktemp("home"))


def every_route(site: Site) -> list[tuple[str, str]]:
    """(method, path) for every rule of the app, built with the example arguments."""
    routes = []
    with site.app.test_request_context():
        for rule in site.app.url_map.iter_rules():
            missing = rule.arguments - EXAMPLE_ARGUMENTS.keys()
            assert not missing, f"give {rule.rule} an example of {missing} in EXAMPLE_ARGUMENTS"
            path = url_for(rule.endpoint, **{a: EXAMPLE_ARGUMENTS[a] for a in rule.arguments})
            routes += [(m, path) for m in sorted(rule.methods or ()) if m in {"GET", "POST"}]
    return routes


def on_this_site(location: str) -> bool:
    return urlsplit(urljoin(SITE, location)).netloc == "localhost"


def send(client: FlaskClient, method: str, path: str, attack: str) -> TestResponse:
    headers, values = ATTACKS[attack]
    if method == "GET":
        return client.get(path, query_string=values, headers=headers)
    page = client.get("/signin").get_data(as_text=True)
    if "csrf" not in page:
        page = client.get("/").get_data(as_text=True)
    form = {"csrf": csrf_of(page), "name": USER, "password": PASSWORD, **values}
    return client.post(path, data=form, headers=headers)


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed out", "signed in"])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_no_route_answers_an_attack_with_a_500_or_another_site(
    site: Site, attack: str, signed_in: bool, caplog: pytest.LogCaptureFixture
) -> None:
    for method, path in every_route(site):
        client = site.client()
        if signed_in:
            assert sign_in(client) == 302
        with caplog.at_level(logging.ERROR):
            response = send(client, method, path, attack)
        response.close()
        where = f"{method} {path} with {attack}"
        assert response.status_code < 500, where
        assert 300 <= response.status_code < 400 or response.status_code in {200, 400, 404}, (
            where,
            response.status_code,
        )
        if response.location:
            assert on_this_site(response.location), (where, response.location)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], where


def test_the_route_table_covers_every_route(site: Site) -> None:
    paths = {path for _method, path in every_route(site)}
    assert {"/signin", "/signout", "/", f"/challenges/{OVERDUE}", "/report"} <= paths
    assert f"/challenges/{OVERDUE}/documents/{DOCUMENT}" in paths


@pytest.mark.parametrize("target", ODD_NEXT)
def test_signing_in_with_an_odd_next_stays_on_this_site(site: Site, target: str) -> None:
    client = site.client()
    token = csrf_of(client.get("/signin").get_data(as_text=True))
    response = client.post(
        "/signin", data={"csrf": token, "name": USER, "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert on_this_site(response.location), response.location
    again = client.get("/signin", query_string={"next": target})  # signed in already
    assert again.status_code == 302 and on_this_site(again.location), again.location


def test_the_examined_open_redirect_goes_home(site: Site) -> None:
    client = site.client()
    sign_in(client)
    response = client.get("/signin?next=/%09/evil.example")
    assert response.status_code == 302 and response.location == "/"


def test_a_next_on_this_site_is_kept_as_the_browser_will_read_it(site: Site) -> None:
    client = site.client()
    sign_in(client)
    response = client.get("/signin", query_string={"next": "/?team=Fostering Team"})
    assert response.location == "/?team=Fostering%20Team"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(target=st.text(st.characters(codec="utf-8"), max_size=30).map(lambda t: "/" + t))
def test_any_next_lands_on_this_site(site: Site, target: str) -> None:
    client = site.client()
    sign_in(client)
    response = client.get("/signin", query_string={"next": target})
    assert response.status_code == 302 and on_this_site(response.location), response.location


@pytest.mark.parametrize("host", ["a" * 64, "a..b"])
def test_a_malformed_host_is_a_plain_400_with_nothing_in_the_error_log(
    site: Site, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    site.app.config["TESTING"] = False  # as served: a fault would be logged, not raised
    try:
        with caplog.at_level(logging.ERROR):
            response = site.client().get("/", headers={"Host": host})
    finally:
        site.app.config["TESTING"] = True
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert "no host the dashboard can read" in response.get_data(as_text=True)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("year", ["²²²²", "٢٠٢٥", "0000", "20255", "<script>"])
def test_a_year_that_is_not_four_digits_is_a_plain_400(site: Site, year: str) -> None:
    client = site.client()
    sign_in(client)
    response = client.get("/report", query_string={"year": year})
    assert response.status_code == 400
    assert "The year must be four digits" in response.get_data(as_text=True)


def test_a_newline_in_next_on_a_correct_sign_in_is_not_a_500(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    site.app.config["TESTING"] = False
    client = site.client()
    token = csrf_of(client.get("/signin").get_data(as_text=True))
    response = client.post(
        "/signin",
        data={"csrf": token, "name": USER, "password": PASSWORD, "next": "/report\nX-Evil: 1"},
    )
    assert response.status_code == 302 and "\n" not in response.location
    assert "X-Evil" not in response.headers
