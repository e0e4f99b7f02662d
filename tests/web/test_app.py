"""The dashboard's pages against a fresh register, through Flask's test client: what
each page shows, and the obvious attacks refused."""

from __future__ import annotations

import io
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from pypdf import PdfWriter
from web_support import (
    CHILD,
    DOCUMENT,
    DUE_LATER,
    HOSTILE,
    NOT_IN_CARE,
    NOW,
    OVERDUE,
    PASSWORD,
    RESOLVED,
    USER,
    Site,
    csrf_of,
    make_site,
    sign_in,
)

from conftest import make_challenge
from formflow.config import Settings
from formflow.core.engine import assess
from formflow.core.record import Cafcass
from formflow.errors import ConfigError
from formflow.policy_catalogue import built_in
from formflow.store.register import Register
from formflow.web.app import web_settings

PAGES = [
    "/",
    f"/challenges/{OVERDUE}",
    "/report",
    "/rejected",
    "/tracker.xlsx",
    "/tracker.csv",
    f"/challenges/{OVERDUE}/documents/{DOCUMENT}",
]


@pytest.fixture
def site(tmp_path: Path, register_url: str) -> Site:
    """The site on each engine."""
    return make_site(tmp_path, register_url=register_url)


def test_nothing_is_shown_without_signing_in(site: Site) -> None:
    client = site.client()
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response.location.startswith("/signin?next="), page
    assert CHILD not in client.get("/signin").get_data(as_text=True)


def test_signing_in_sets_a_signed_http_only_same_site_cookie_and_returns_to_the_page(
    site: Site,
) -> None:
    client = site.client()
    token = csrf_of(client.get("/signin").get_data(as_text=True))
    response = client.post(
        "/signin", data={"csrf": token, "name": USER, "password": PASSWORD, "next": "/report"}
    )
    assert response.status_code == 302 and response.location == "/report"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/").status_code == 200


def test_the_cookie_is_secure_over_https(site: Site) -> None:
    client = site.app.test_client()
    page = client.get("/signin", base_url="https://dashboard.example")
    response = client.post(
        "/signin",
        data={"csrf": csrf_of(page.get_data(as_text=True)), "name": USER, "password": PASSWORD},
        base_url="https://dashboard.example",
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_sign_in_never_sends_you_to_another_site(site: Site) -> None:
    client = site.client()
    token = csrf_of(client.get("/signin").get_data(as_text=True))
    response = client.post(
        "/signin",
        data={"csrf": token, "name": USER, "password": PASSWORD, "next": "//evil.example/x"},
    )
    assert response.location == "/"


def test_a_wrong_password_is_refused_with_a_plain_message(site: Site) -> None:
    client = site.client()
    assert sign_in(client, password="not the password") == 401
    assert client.get("/").status_code == 302


def test_sign_in_attempts_are_rate_limited_even_with_the_right_password_after(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path, free=3)
    client = site.client()
    for _ in range(3):
        assert sign_in(client, password="guess guess guess") == 401
    token = csrf_of(client.get("/signin").get_data(as_text=True))
    response = client.post("/signin", data={"csrf": token, "name": USER, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed attempts from here. Try again in 30 seconds." in response.get_data(
        as_text=True
    )


def from_address(site: Site, address: str, forwarded_for: str | None = None) -> FlaskClient:
    client = site.app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def test_guesses_from_elsewhere_never_keep_the_account_holder_out(site: Site) -> None:
    attacker = from_address(site, "203.0.113.9")
    for _ in range(8):
        assert sign_in(attacker, password="guess guess guess") in {401, 429}
    assert sign_in(attacker, password="guess guess guess") == 429
    assert sign_in(from_address(site, "198.51.100.7")) == 302


def test_behind_a_trusted_proxy_each_client_is_its_own_address(tmp_path: Path) -> None:
    settings = Settings(raw={"web": {"trusted_proxies": ["127.0.0.1"]}})
    site = make_site(tmp_path, settings, free=2)
    attacker = from_address(site, "127.0.0.1", "198.51.100.66, 203.0.113.9")
    for _ in range(2):
        assert sign_in(attacker, password="guess guess guess") == 401
    assert sign_in(attacker, password="guess guess guess") == 429
    assert sign_in(from_address(site, "127.0.0.1", "198.51.100.7")) == 302
    # from a peer that is not a trusted proxy the header is the sender's invention
    spoofer = from_address(site, "192.0.2.1", "198.51.100.7")
    assert sign_in(spoofer, password="guess guess guess") == 401
    with Register(site.home.register) as register:
        places = [e.message for e in register.events() if e.reference is None]
    assert places == [
        "From 203.0.113.9.",
        "From 203.0.113.9.",
        "From 198.51.100.7.",
        "From 192.0.2.1.",
    ]


def test_parallel_guesses_get_no_more_password_checks_than_the_limit(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = []
    real = site.accounts.verify

    def slow_verify(name: str, password: str) -> bool:
        checks.append(name)
        time.sleep(0.02)  # Argon2's real cost, so the guesses overlap
        return real(name, password)

    monkeypatch.setattr(site.accounts, "verify", slow_verify)
    clients = [site.client() for _ in range(40)]
    tokens = [csrf_of(c.get("/signin").get_data(as_text=True)) for c in clients]
    start = threading.Barrier(40)

    def guess(n: int) -> int:
        start.wait()
        data = {"csrf": tokens[n], "name": USER, "password": "guess guess guess"}
        return clients[n].post("/signin", data=data).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(guess, range(40)))
    assert len(checks) == 5, answers
    assert sorted(answers) == [401] * 5 + [429] * 35


def test_signing_out_ends_the_session_even_for_a_copied_cookie(site: Site) -> None:
    client = site.client()
    assert sign_in(client) == 302
    copied = client.get_cookie("formflow_session")
    assert copied is not None
    page = client.get("/").get_data(as_text=True)
    response = client.post("/signout", data={"csrf": csrf_of(page)})
    assert response.status_code == 302 and response.location.startswith("/signin")
    assert client.get("/").status_code == 302
    thief = site.client()
    thief.set_cookie("formflow_session", copied.value)
    assert thief.get("/").status_code == 302


def test_the_sign_in_page_shows_only_notices_the_site_chose(site: Site) -> None:
    client = site.client()
    planted = client.get(
        "/signin", query_string={"message": "Your account is suspended: call 0900 000 000."}
    ).get_data(as_text=True)
    assert "suspended" not in planted and 'class="notice"' not in planted
    unknown = client.get("/signin?notice=Call+0900+000+000").get_data(as_text=True)
    assert "0900" not in unknown and 'class="notice"' not in unknown
    assert sign_in(client) == 302
    page = client.get("/").get_data(as_text=True)
    signed_out = client.post("/signout", data={"csrf": csrf_of(page)})
    assert "message=" not in signed_out.location
    shown = client.get(signed_out.location).get_data(as_text=True)
    assert '<p class="notice" role="status">You have signed out.</p>' in shown


def test_an_expired_session_is_refused(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    client = site.client()
    assert sign_in(client) == 302
    later = site.accounts.clock() + 9 * 3600
    monkeypatch.setattr(site.accounts, "clock", lambda: later)
    assert client.get("/").status_code == 302


def test_a_cookie_signed_long_ago_is_refused_by_its_signature(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itsdangerous.timed

    real = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() - 9 * 3600)
    client = site.client()
    assert sign_in(client) == 302
    monkeypatch.setattr(itsdangerous.timed.time, "time", real)
    assert client.get("/").status_code == 302


def test_a_forged_cookie_is_refused(site: Site) -> None:
    client = site.client()
    assert sign_in(client) == 302
    real = client.get_cookie("formflow_session")
    assert real is not None
    payload, stamp, signature = real.value.rsplit(".", 2)
    forged = site.client()
    forged.set_cookie("formflow_session", f"{payload}.{stamp}.{'A' * len(signature)}")
    assert forged.get("/").status_code == 302
    unsigned = site.client()
    unsigned.set_cookie("formflow_session", '{"token": "anything"}')
    assert unsigned.get("/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(site: Site) -> None:
    client = site.client()
    client.get("/signin")
    response = client.post("/signin", data={"name": USER, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302
    assert sign_in(client) == 302
    assert client.post("/signout").status_code == 400
    assert client.post("/signout", data={"csrf": "guessed"}).status_code == 400
    assert client.get("/").status_code == 200


def test_the_open_list_shows_initials_overdue_in_red_and_days_to_due(site: Site) -> None:
    client = site.client()
    sign_in(client)
    html = client.get("/").get_data(as_text=True)
    assert OVERDUE in html and DUE_LATER in html and NOT_IN_CARE in html
    assert RESOLVED not in html
    assert CHILD not in html and "T.E." in html
    row = html[html.index(f">{OVERDUE}<") - 200 : html.index(f">{OVERDUE}<") + 900]
    assert '<tr class="overdue">' in row and "Overdue by 10 days" in row
    assert "Team Manager" in row and "Morwenna Pentreath" in row


def test_the_open_list_filters_and_sorts(site: Site) -> None:
    client = site.client()
    sign_in(client)
    only_overdue = client.get("/?overdue=1").get_data(as_text=True)
    assert OVERDUE in only_overdue and DUE_LATER not in only_overdue
    team = client.get("/?team=Fostering+Team").get_data(as_text=True)
    assert DUE_LATER in team and OVERDUE not in team
    level = client.get("/?level=2").get_data(as_text=True)
    assert DUE_LATER in level and OVERDUE not in level
    iro = client.get("/?iro=Dylan+Hughes").get_data(as_text=True)
    assert DUE_LATER in iro and OVERDUE not in iro
    by_reference = client.get("/?sort=reference&order=desc").get_data(as_text=True)
    assert (
        by_reference.index(NOT_IN_CARE)
        < by_reference.index(DUE_LATER)
        < by_reference.index(OVERDUE)
    )
    nothing = client.get("/?procedure=nowhere").get_data(as_text=True)
    assert "No open challenge matches these filters." in nothing


def test_the_open_list_sorted_by_procedure_follows_the_names_it_shows(site: Site) -> None:
    """Procedures whose ids sort otherwise than their names (ops-flowchart's is
    "Challenge and Escalation Flowchart ...", barnet's "Dispute Resolution ..."): the
    list sorted by procedure is in the order of the names in its column, either way."""
    with Register(site.home.register) as register:
        for n, policy_id in enumerate(["barnet", "cic-issues", "ops-flowchart", "rotherham"]):
            policy = built_in()(policy_id)
            challenge = make_challenge(
                reference=f"PC-2025-00000{n}", policy=policy_id, stage=policy.stages[0].stage
            )
            register.save_challenge(
                challenge, assess(challenge, policy, Settings().calendar, NOW.date()), NOW
            )
    client = site.client()
    sign_in(client)
    for order in ("asc", "desc"):
        html = client.get(f"/?sort=procedure&order={order}").get_data(as_text=True)
        shown = [
            re.sub(r"\s+", " ", unescape(name)).strip()
            for name in re.findall(
                r'<th scope="row">.*?</th>\s*<td>.*?</td>\s*<td>(.*?)</td>', html, re.DOTALL
            )
        ]
        assert len(shown) == 7, html  # the three open challenges before and the four above
        names = [name.lower() for name in shown]
        assert names == sorted(names, reverse=order == "desc"), shown


def test_a_challenge_page_shows_the_whole_timeline_documents_and_the_full_name(
    site: Site,
) -> None:
    client = site.client()
    sign_in(client)
    html = client.get(f"/challenges/{OVERDUE}").get_data(as_text=True)
    assert CHILD in html
    assert "Raised at Stage 1 with the Team Manager; response due 10 November 2025." in html
    assert "Note typed by staff" in html and "3 November 2025, 10:00" in html
    assert f'href="/challenges/{OVERDUE}/documents/{DOCUMENT}"' in html
    assert "MISSING" not in html  # no referral to Cafcass Legal is in question


def test_text_typed_into_a_form_is_shown_as_text(site: Site) -> None:
    client = site.client()
    sign_in(client)
    html = client.get(f"/challenges/{OVERDUE}").get_data(as_text=True)
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    fresh = site.client()
    page = fresh.get("/signin").get_data(as_text=True)
    answer = fresh.post(
        "/signin", data={"csrf": csrf_of(page), "name": HOSTILE, "password": "x"}
    ).get_data(as_text=True)
    assert "<script>" not in answer and "&lt;script&gt;" in answer


def test_agreed_actions_say_which_are_overdue(site: Site) -> None:
    client = site.client()
    sign_in(client)
    html = client.get(f"/challenges/{RESOLVED}").get_data(as_text=True)
    first = html[html.index("Review the pathway plan") :]
    assert "14 November 2025" in first and "<strong>Yes</strong>" in first[:400]
    second = html[html.index("Arrange a placement meeting") :]
    assert "5 December 2025" in second and "<td>No</td>" in second[:400]


def test_the_cafcass_items_are_provided_from_the_iros_folder(site: Site) -> None:
    with Register(site.home.register) as register:
        challenge = register.challenge(OVERDUE)
        assert challenge is not None
        asked = replace(challenge, cafcass=Cafcass(requested=True, request_date=NOW.date()))
        register.save_challenge(
            asked, assess(asked, built_in()(asked.policy), Settings().calendar, NOW.date()), NOW
        )
    folder = site.home.outbox / OVERDUE / "CAFCASS"
    folder.mkdir(parents=True)
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    (folder / "1 Care Order.pdf").write_bytes(buffer.getvalue())
    client = site.client()
    sign_in(client)
    html = client.get(f"/challenges/{OVERDUE}").get_data(as_text=True)
    assert html.count("MISSING") == 6 and html.count("PROVIDED") == 1
    assert "1 Care Order.pdf" in html
    other = client.get(f"/challenges/{NOT_IN_CARE}").get_data(as_text=True)
    assert "Not applicable: the child is not in care." in other


def test_every_view_is_in_the_audit_trail_and_the_log_never_names_the_child(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    client = site.client()
    sign_in(client)
    with caplog.at_level(logging.INFO):
        client.get(f"/challenges/{OVERDUE}")
        client.get(f"/challenges/{OVERDUE}/documents/{DOCUMENT}").close()
    with Register(site.home.register) as register:
        events = [e for e in register.events(OVERDUE) if e.what in {"viewed", "downloaded"}]
    assert [e.what for e in events] == ["viewed", "downloaded"]
    assert all(USER in (e.message or "") and e.at == NOW.isoformat() for e in events)
    assert OVERDUE in caplog.text and USER in caplog.text
    assert CHILD not in caplog.text and "Tegan" not in caplog.text
    again = client.get(f"/challenges/{OVERDUE}").get_data(as_text=True)
    assert f"Page viewed on the dashboard by {USER}." in again


def test_a_reference_that_does_not_exist_is_a_plain_404(site: Site) -> None:
    client = site.client()
    sign_in(client)
    for reference in ["PC-2025-ZZZZZZ", "not-a-reference"]:
        response = client.get(f"/challenges/{reference}")
        assert response.status_code == 404
        assert f"There is no challenge {reference}" in response.get_data(as_text=True)
    assert client.get("/challenges/..%2F..%2Fetc").status_code == 404


def test_a_document_downloads_as_an_attachment(site: Site) -> None:
    client = site.client()
    sign_in(client)
    response = client.get(f"/challenges/{OVERDUE}/documents/{DOCUMENT}")
    assert response.status_code == 200
    assert response.data == b"the stage 1 form"
    assert response.headers["Content-Disposition"].startswith("attachment")
    response.close()


@pytest.mark.parametrize(
    "name",
    [
        "../../var/secret-elsewhere.txt",
        "..%2F..%2Fvar%2Fsecret-elsewhere.txt",
        "%2e%2e/%2e%2e/var/secret-elsewhere.txt",
        "/etc/passwd",
        "unregistered.docx",
    ],
)
def test_a_path_outside_the_registered_documents_is_refused(site: Site, name: str) -> None:
    (site.home.outbox / OVERDUE / "unregistered.docx").write_bytes(b"not listed")
    client = site.client()
    sign_in(client)
    response = client.get(f"/challenges/{OVERDUE}/documents/{name}")
    assert response.status_code == 404
    assert b"not for download" not in response.data and b"not listed" not in response.data


def test_a_registered_document_that_is_a_link_out_of_the_outbox_is_refused(site: Site) -> None:
    link = site.home.outbox / OVERDUE / "link.pdf"
    link.symlink_to(site.home.var / "secret-elsewhere.txt")
    with Register(site.home.register) as register:
        register.add_document(OVERDUE, "final record", f"{OVERDUE}/link.pdf", NOW)
    client = site.client()
    sign_in(client)
    assert client.get(f"/challenges/{OVERDUE}/documents/link.pdf").status_code == 404


def test_pages_forbid_scripts_framing_and_caching(site: Site) -> None:
    response = site.client().get("/signin")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_tracker_downloads_as_the_spreadsheet(site: Site) -> None:
    client = site.client()
    sign_in(client)
    response = client.get("/tracker.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sorted(row[0].value for row in sheet.iter_rows(min_row=2)) == sorted(
        [OVERDUE, DUE_LATER, RESOLVED, NOT_IN_CARE]
    )
    assert sheet.freeze_panes == "A2"
    csv_text = client.get("/tracker.csv").get_data(as_text=True)
    assert OVERDUE in csv_text and CHILD not in csv_text


def test_the_annual_figures_draw_svg_charts_with_the_figures_in_tables(site: Site) -> None:
    client = site.client()
    sign_in(client)
    html = client.get("/report?year=2025").get_data(as_text=True)
    assert html.count("<svg") == 3
    assert "Challenges raised per month, 2025" in html
    assert "<dt>Raised</dt><dd>4</dd>" in html
    assert "Placement concerns" in html
    assert "Resolved at Stage 1" in html
    assert client.get("/report?year=<script>").status_code == 400


def test_rejected_files_are_listed_with_their_reasons(site: Site) -> None:
    site.home.rejected.mkdir(parents=True, exist_ok=True)
    (site.home.rejected / "letter <b>.docx").write_bytes(b"x")
    (site.home.rejected / "letter <b>.docx.errors.txt").write_text(
        "This is not a challenge form: no fields could be read."
    )
    client = site.client()
    sign_in(client)
    html = client.get("/rejected").get_data(as_text=True)
    assert "letter &lt;b&gt;.docx" in html
    assert "This is not a challenge form" in html


def test_behind_single_sign_on_the_proxy_names_the_user(tmp_path: Path) -> None:
    settings = Settings(raw={"web": {"trusted_user_header": "X-Remote-User"}})
    site = make_site(tmp_path, settings)
    client = site.client()
    assert client.get("/").status_code == 401
    assert client.get("/", headers={"X-Remote-User": "stranger"}).status_code == 403
    page = client.get("/", headers={"X-Remote-User": USER})
    assert page.status_code == 200 and OVERDUE in page.get_data(as_text=True)
    assert client.get("/signin").status_code == 401


@pytest.mark.parametrize(
    ("section", "complaint"),
    [
        ({"port": 70000}, "port"),
        ({"session_hours": 48}, "session_hours"),
        ({"colour": "red"}, "colour"),
        ({"trusted_proxies": "127.0.0.1"}, "trusted_proxies must be a list"),
        ({"trusted_proxies": ["proxy.example"]}, "trusted_proxies"),
    ],
)
def test_bad_web_settings_are_explained(section: dict[str, object], complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        web_settings(Settings(raw={"web": section}))


def test_downloads_are_listed_with_the_views_not_in_the_timeline(site: Site) -> None:
    client = site.client()
    sign_in(client)
    client.get(f"/challenges/{OVERDUE}/documents/{DOCUMENT}").close()
    html = client.get(f"/challenges/{OVERDUE}").get_data(as_text=True)
    timeline = html[html.index("<h2>Timeline</h2>") : html.index("<h2>Documents</h2>")]
    looked = html[html.index("Who has looked") :]
    assert "downloaded" not in timeline
    assert f"{DOCUMENT} downloaded from the dashboard by {USER}." in looked
