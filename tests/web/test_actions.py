"""Acting on a challenge from the dashboard (issue 23 part 2): each action through the
form, the confirmation and the register, recorded exactly as the same event from the CLI."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
import logging
import os
import re
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from web_support import (
    DUE_LATER,
    NOW,
    OVERDUE,
    RESOLVED,
    TODAY,
    USER,
    Site,
    csrf_of,
    make_site,
    sign_in,
)
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from conftest import make_challenge
from filled_forms import fill_docx
from formflow.cli import main
from formflow.config import Settings, settings_from_toml
from formflow.core.engine import Document, RequestCafcass, Withdraw, assess
from formflow.core.record import Cafcass
from formflow.errors import ChallengeChanged
from formflow.form import (
    CAFCASS_FIELDS,
    HEADER_FIELDS,
    SEPARATE_CHALLENGE,
    detail_fields,
    level_fields,
    prerequisite_fields,
)
from formflow.pipeline import Pipeline, Services
from formflow.policy_catalogue import built_in
from formflow.reports.tracker import TRACKER_NICENESS
from formflow.store.register import Register, is_server_url
from postgres_server import Cluster
from waiting import wait_for

ON = TODAY.isoformat()


def cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--home", str(home)])
    return result.exit_code, result.output


def show_json(home: Path, reference: str) -> dict[str, Any]:
    code, output = cli(home, "show", reference, "--json")
    assert code == 0, output
    shown: dict[str, Any] = json.loads(output)
    return shown


def version_of(html: str) -> str:
    match = re.search(r'name="version" value="([^"]+)"', html)
    assert match, "no version in the page"
    return match.group(1)


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def opened(client: FlaskClient, reference: str, action: str) -> dict[str, str]:
    """The action's form as drawn: its CSRF token and the record's version."""
    page = client.get(f"/challenges/{reference}/actions/{action}")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    return {"csrf": csrf_of(html), "version": version_of(html)}


def previewed(client: FlaskClient, reference: str, action: str, fields: dict[str, Any]) -> str:
    drawn = opened(client, reference, action)
    checked = client.post(f"/challenges/{reference}/actions/{action}", data={**drawn, **fields})
    assert checked.status_code == 200, checked.get_data(as_text=True)
    return checked.get_data(as_text=True)


def act_in_browser(client: FlaskClient, reference: str, action: str, fields: dict[str, Any]) -> str:
    confirmation = previewed(client, reference, action, fields)
    done = client.post(
        f"/challenges/{reference}/actions/{action}/confirm", data=hidden_fields(confirmation)
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    return done.get_data(as_text=True)


def comparable(home: Path, reference: str) -> dict[str, Any]:
    """``formflow show --json`` with what differs between any two runs taken out: event
    ids and times, and the dashboard's own views."""
    shown = show_json(home, reference)
    events = [
        {k: v for k, v in e.items() if k not in ("id", "at")}
        for e in shown["events"]
        if e["what"] != "viewed"
    ]
    documents = [(d["kind"], d["path"]) for d in shown["documents"]]
    notices = [(n["path"], n["subject"], n["recipients"]) for n in shown["notices"]]
    return {
        "challenge": shown["challenge"],
        "deadlines": shown["deadlines"],
        "events": events,
        "documents": documents,
        "notices": notices,
    }


@pytest.fixture
def site(tmp_path: Path, register_url: str) -> Site:
    """The site on each engine."""
    return make_site(tmp_path / "web", register_url=register_url)


@pytest.fixture
def twin_url(register_url: str, request: pytest.FixtureRequest) -> str | None:
    """A second register on the site's engine, for the same steps taken by the CLI."""
    if not is_server_url(register_url):
        return None
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.new_database()


@pytest.fixture
def client(site: Site) -> FlaskClient:
    client = site.client()
    assert sign_in(client) == 302
    return client


SAME_AS_CLI = [
    (
        "withdraw",
        OVERDUE,
        {"reason": "Raised in error"},
        ["withdraw", OVERDUE, "--reason", "Raised in error"],
    ),
    (
        "close",
        OVERDUE,
        {"reason": "Child moved away"},
        ["close", OVERDUE, "--reason", "Child moved away"],
    ),
    (
        "escalate",
        OVERDUE,
        {"reason": "No response"},
        ["escalate", OVERDUE, "--reason", "No response"],
    ),
    (
        "extend",
        DUE_LATER,
        {"to": "2025-12-19", "reason": "Meeting set"},
        ["extend", DUE_LATER, "--to", "2025-12-19", "--reason", "Meeting set"],
    ),
    (
        "reassign",
        OVERDUE,
        {"to": "Sam Okafor", "role": "Team Manager", "reason": "On leave"},
        [
            "reassign",
            OVERDUE,
            "--to",
            "Sam Okafor",
            "--role",
            "Team Manager",
            "--reason",
            "On leave",
        ],
    ),
    (
        "amend",
        OVERDUE,
        {"field": "case_number", "value": "LCS-000124", "reason": "Typo"},
        ["amend", OVERDUE, "case_number", "LCS-000124", "--reason", "Typo"],
    ),
    (
        "merge",
        OVERDUE,
        {"into": DUE_LATER, "reason": "Form saved twice"},
        ["merge", DUE_LATER, OVERDUE, "--reason", "Form saved twice"],
    ),
    (
        "reopen",
        RESOLVED,
        {"stage": "", "reason": "Review not held"},
        ["reopen", RESOLVED, "--reason", "Review not held"],
    ),
]


@pytest.mark.parametrize(("action", "reference", "fields", "command"), SAME_AS_CLI)
def test_an_action_in_the_browser_is_recorded_as_the_same_event_from_the_cli(
    tmp_path: Path,
    site: Site,
    client: FlaskClient,
    twin_url: str | None,
    action: str,
    reference: str,
    fields: dict[str, str],
    command: list[str],
) -> None:
    done = act_in_browser(client, reference, action, fields)
    assert "Recorded" in done
    by_cli = make_site(tmp_path / "cli", register_url=twin_url)
    code, output = cli(by_cli.home.root, *command, "--by", USER, "--on", ON)
    assert code == 0, output
    from_browser = comparable(site.home.root, reference)
    assert from_browser == comparable(by_cli.home.root, reference)
    assert from_browser["events"][-1]["actor"] == USER
    code, output = cli(site.home.root, "check")
    assert code == 0, output


def test_a_challenge_page_offers_what_the_engine_allows_at_its_state(client: FlaskClient) -> None:
    awaiting = client.get(f"/challenges/{OVERDUE}").get_data(as_text=True)
    resolved = client.get(f"/challenges/{RESOLVED}").get_data(as_text=True)
    offered = set(re.findall(rf"/challenges/{OVERDUE}/actions/([a-z-]+)\"", awaiting))
    assert {"respond", "escalate", "withdraw", "close", "extend"} <= offered
    assert "reopen" not in offered
    after = set(re.findall(rf"/challenges/{RESOLVED}/actions/([a-z-]+)\"", resolved))
    assert "reopen" in after
    assert not {"respond", "withdraw", "escalate"} & after


def test_the_confirmation_says_what_will_happen_in_the_procedures_words(
    client: FlaskClient,
) -> None:
    page = previewed(client, OVERDUE, "escalate", {"reason": "No response"})
    assert f"{OVERDUE} will be awaiting response at Stage 2" in page
    assert re.search(r"due \d{1,2} [A-Z][a-z]+ 2025", page)


def test_nothing_is_recorded_before_confirming(site: Site, client: FlaskClient) -> None:
    before = len(show_json(site.home.root, OVERDUE)["events"])
    previewed(client, OVERDUE, "withdraw", {"reason": "Raised in error"})
    shown = show_json(site.home.root, OVERDUE)
    assert shown["challenge"]["closure"] is None
    assert len(shown["events"]) == before


def test_a_response_is_recorded_with_its_agreed_actions_and_documents(
    site: Site, client: FlaskClient
) -> None:
    done = act_in_browser(
        client,
        OVERDUE,
        "respond",
        {
            "text": "The review is booked.",
            "outcome": "resolved",
            "action_1": "Hold the pathway plan review",
            "by_when_1": "2025-12-05",
            "by_whom_1": "Social worker",
        },
    )
    assert "Resolved at Stage 1" in done
    shown = show_json(site.home.root, OVERDUE)
    record = shown["challenge"]
    assert record["response"]["text"] == "The review is booked."
    assert record["actions"] == [
        {
            "action": "Hold the pathway plan review",
            "by_when": "2025-12-05",
            "by_whom": "Social worker",
        }
    ]
    assert [d["kind"] for d in shown["documents"]][-1] == "final record"
    code, output = cli(site.home.root, "check")
    assert code == 0, output


def test_a_late_reply_to_a_level_that_moved_on_is_kept_against_it(
    site: Site, client: FlaskClient
) -> None:
    act_in_browser(client, OVERDUE, "escalate", {"reason": "No response"})
    done = act_in_browser(
        client,
        OVERDUE,
        "late-reply",
        {"stage": "1", "text": "Sorry, this is late.", "outcome": "not-resolved"},
    )
    assert "recorded against Stage 1" in done
    history = show_json(site.home.root, OVERDUE)["challenge"]["history"]
    assert history[-1]["late_response"]["text"] == "Sorry, this is late."


def test_missing_answers_are_listed_in_a_summary_and_beside_each_field(client: FlaskClient) -> None:
    drawn = opened(client, OVERDUE, "respond")
    page = client.post(
        f"/challenges/{OVERDUE}/actions/respond", data={**drawn, "by_when_1": "31/02"}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert 'class="error-summary"' in html
    for field, message in (
        ("text", "Enter the response"),
        ("outcome", "Select whether the matter is resolved"),
        ("action_1", "Enter what agreed action 1 is"),
        ("by_when_1", "must be a real date"),
    ):
        assert f'<a href="#{field}">' in html
        assert re.search(rf'id="{field}-error"[^>]*>.*{message}', html)


def test_a_refusal_by_the_procedure_is_shown_on_the_form(client: FlaskClient) -> None:
    drawn = opened(client, DUE_LATER, "extend")
    page = client.post(
        f"/challenges/{DUE_LATER}/actions/extend",
        data={**drawn, "to": "2025-11-19", "reason": "Meeting set"},
    )
    assert page.status_code == 400
    assert "an extension must be to a later date" in page.get_data(as_text=True)


def test_an_action_on_a_page_drawn_before_a_change_is_refused_and_records_nothing(
    site: Site, client: FlaskClient
) -> None:
    confirmation = previewed(client, OVERDUE, "withdraw", {"reason": "Raised in error"})
    # meanwhile the watcher (or anyone) records something for the same challenge
    code, output = cli(
        site.home.root,
        "extend",
        OVERDUE,
        "--to",
        "2025-12-19",
        "--by",
        "Morwenna Pentreath, IRO",
        "--reason",
        "Agreed",
        "--on",
        ON,
    )
    assert code == 0, output
    before = show_json(site.home.root, OVERDUE)
    refused = client.post(
        f"/challenges/{OVERDUE}/actions/withdraw/confirm", data=hidden_fields(confirmation)
    )
    assert refused.status_code == 409
    assert "has changed since you opened it" in refused.get_data(as_text=True)
    after = show_json(site.home.root, OVERDUE)
    assert after["challenge"] == before["challenge"]
    assert after["challenge"]["due_extended_to"] == "2025-12-19"
    # decided again on the page as it is now: both recorded, nothing lost
    act_in_browser(client, OVERDUE, "withdraw", {"reason": "Raised in error"})
    final = show_json(site.home.root, OVERDUE)
    assert final["challenge"]["due_extended_to"] == "2025-12-19"
    assert final["challenge"]["closure"]["kind"] == "withdrawn"


def test_the_version_is_checked_inside_the_register_transaction(site: Site) -> None:
    """The check that matters is the one under the write lock: a version read before it
    and compared after would let a form committed in between be overruled."""
    with Register(site.home.register) as register:
        pipeline = Pipeline(register, Services(site.home, Settings(), built_in()))
        with pytest.raises(ChallengeChanged, match="has changed since you opened it"):
            pipeline.act(
                OVERDUE, Withdraw(TODAY, "Raised in error"), by=USER, reason="x", seen="0" * 16
            )
        assert register.challenge(OVERDUE).closure is None  # type: ignore[union-attr]


def test_an_action_without_the_csrf_token_is_refused(client: FlaskClient) -> None:
    drawn = opened(client, OVERDUE, "withdraw")
    refused = client.post(
        f"/challenges/{OVERDUE}/actions/withdraw",
        data={"version": drawn["version"], "reason": "Raised in error"},
    )
    assert refused.status_code == 400


def _give_roles(site: Site, roles: dict[str, str]) -> None:
    for name, role in roles.items():
        site.accounts.add(name, "three random words", role=role)


def test_business_support_name_whom_they_record_for(site: Site) -> None:
    _give_roles(site, {"bs.user": "business-support"})
    client = site.client()
    assert sign_in(client, "bs.user", "three random words") == 302
    drawn = opened(client, OVERDUE, "withdraw")
    missing = client.post(
        f"/challenges/{OVERDUE}/actions/withdraw", data={**drawn, "reason": "Raised in error"}
    )
    assert missing.status_code == 400
    assert "Enter the name of the person you are recording this for" in missing.get_data(
        as_text=True
    )
    act_in_browser(
        client,
        OVERDUE,
        "withdraw",
        {"reason": "Raised in error", "on_behalf_of": "Morwenna Pentreath"},
    )
    events = show_json(site.home.root, OVERDUE)["events"]
    assert events[-1]["actor"] == "bs.user on behalf of Morwenna Pentreath"


def test_a_viewer_is_refused_plainly_and_the_refusal_is_audited(site: Site) -> None:
    _give_roles(site, {"head.of.service": "viewer"})
    client = site.client()
    assert sign_in(client, "head.of.service", "three random words") == 302
    page = client.get(f"/challenges/{OVERDUE}").get_data(as_text=True)
    assert "There is nothing you can record on this challenge" in page
    refused = client.get(f"/challenges/{OVERDUE}/actions/withdraw")
    assert refused.status_code == 403
    assert "you may read every challenge but not withdraw" in refused.get_data(as_text=True)
    events = show_json(site.home.root, OVERDUE)["events"]
    assert events[-1]["what"] == "refused"
    assert events[-1]["actor"] == "head.of.service"


# --- uploading a completed form ---------------------------------------------------------


def uploaded(client: FlaskClient, name: str, data: bytes) -> Any:
    token = csrf_of(client.get("/upload").get_data(as_text=True))
    # encoded here in memory: the test client's own encoding spools a large body to a
    # temporary file it never closes
    boundary, body = encode_multipart(
        MultiDict({"csrf": token, "form": FileStorage(io.BytesIO(data), name)})
    )
    return client.post(
        "/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def test_an_uploaded_form_goes_into_the_inbox_and_the_page_says_how_it_ended(
    tmp_path: Path, site: Site, client: FlaskClient
) -> None:
    sample = tmp_path / "sample.docx"
    code, output = cli(site.home.root, "new", "--sample", "-o", str(sample))
    assert code == 0, output
    another_child = fill_docx(
        sample,
        tmp_path / "filled.docx",
        {"child_name": "Rhys Sample", "child_case_number": "LCS-000777"},
    )
    sent = uploaded(client, "../../Rhys's form (final).docx", another_child.read_bytes())
    assert sent.status_code == 302
    inbox = [p.name for p in site.home.inbox.iterdir() if p.is_file()]
    assert len(inbox) == 1
    assert re.fullmatch(r"web-\d{8}T\d{6}-[0-9a-f]{6}-Rhys-s-form-final\.docx", inbox[0])
    waiting = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "waiting for formflow to read it" in waiting
    assert 'http-equiv="refresh"' in waiting
    code, output = cli(site.home.root, "process", str(site.home.inbox / inbox[0]))
    assert code == 0, output
    ended = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "was processed" in ended
    reference = re.search(r"Open (PC-\d{4}-[0-9A-Z]{6})", ended)
    assert reference is not None
    assert show_json(site.home.root, reference.group(1))["challenge"]["child"]["name"] == "R.S."


def test_an_uploaded_likely_duplicate_is_caught_and_the_page_shows_the_note(
    tmp_path: Path, site: Site, client: FlaskClient
) -> None:
    """The sample is about the child of two open challenges: rejected as a dropped form is."""
    sample = tmp_path / "sample.docx"
    code, output = cli(site.home.root, "new", "--sample", "-o", str(sample))
    assert code == 0, output
    sent = uploaded(client, "sample.docx", sample.read_bytes())
    (saved,) = [p for p in site.home.inbox.iterdir() if p.is_file()]
    cli(site.home.root, "process", str(saved))  # rejected: the exit code says so too
    ended = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "was rejected" in ended
    assert f"the child already has an open challenge: {OVERDUE}" in ended
    assert "upload it again" in ended


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("minutes.txt", b"text", "must be a Word (.docx) or PDF file"),
        ("empty.docx", b"", "Select a completed Word (.docx) or PDF form"),
        ("huge.pdf", b"x" * (20 * 1024 * 1024 + 1), "must be smaller than 20 MB"),
    ],
)
def test_an_upload_that_cannot_be_a_form_is_refused_and_nothing_is_saved(
    site: Site, client: FlaskClient, name: str, data: bytes, message: str
) -> None:
    refused = uploaded(client, name, data)
    assert refused.status_code == 400
    assert message in refused.get_data(as_text=True)
    assert [p for p in site.home.inbox.iterdir() if p.is_file()] == []


def body_of(draft: Path) -> str:
    message = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",))  # type: ignore[attr-defined]
    assert body is not None
    return str(body.get_content())


def test_a_covering_email_links_to_the_challenges_page_where_the_dashboard_has_an_address(
    tmp_path: Path,
) -> None:
    settings = Settings(raw={"web": {"public_url": "https://formflow.council.example/"}})
    site = make_site(tmp_path / "linked", settings)
    client = site.client()
    assert sign_in(client) == 302
    act_in_browser(client, OVERDUE, "escalate", {"reason": "No response"})
    (draft,) = (site.home.outbox / OVERDUE).glob("*stage-2*.eml")
    text = body_of(draft)
    assert f"in the dashboard: https://formflow.council.example/challenges/{OVERDUE}" in text


def test_without_an_address_a_covering_email_has_no_dashboard_link(
    site: Site, client: FlaskClient
) -> None:
    act_in_browser(client, OVERDUE, "escalate", {"reason": "No response"})
    (draft,) = (site.home.outbox / OVERDUE).glob("*stage-2*.eml")
    assert "dashboard" not in body_of(draft)


# --- raising a challenge in the browser --------------------------------------------------

RAISED = {
    "date_of_notification": "18/11/2025",
    "raised_by_name": "Morwenna Pentreath",
    "raised_by_iro": "1",
    "child_name": "Cerys Fictional",
    "child_date_of_birth": "02/03/2016",
    "child_case_number": "LCS-000777",
    "status_child_in_care": "1",
    "social_worker": "Ifan Jenkins",
    "team": "Children in Care Team 2",
    "team_manager": "Priya Raman",
    "stage_1": "1",
    "concern": "The pathway plan has not been reviewed.",
}


def raised(client: FlaskClient, fields: dict[str, str]) -> Any:
    token = csrf_of(client.get("/raise").get_data(as_text=True))
    return client.post("/raise", data={"csrf": token, "procedure": "nelincs", **fields})


def test_the_web_form_asks_the_word_forms_questions_for_the_procedure(
    client: FlaskClient,
) -> None:
    page = client.get("/raise?procedure=nelincs").get_data(as_text=True)
    asked = set(re.findall(r'<label for="([a-z_0-9]+)"', page))
    nelincs = built_in()("nelincs")
    words = [*HEADER_FIELDS[1:], *level_fields(nelincs).values(), *detail_fields(nelincs)]
    assert {f.tag for f in words if f.tag != "policy"} <= asked
    assert "Name of Child" in page


def test_a_web_form_with_answers_missing_gets_the_intakes_own_messages(
    site: Site, client: FlaskClient
) -> None:
    refused = raised(client, {"child_name": "Rhys Sample"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert '<a href="#date_of_notification">' in html
    assert "&#39;Date of Notification&#39; is empty" in html
    assert 'id="child_case_number-error"' in html
    assert [p for p in site.home.inbox.iterdir() if p.is_file()] == []


def test_a_challenge_raised_in_the_browser_is_processed_as_a_dropped_form(
    site: Site, client: FlaskClient
) -> None:
    sent = raised(client, RAISED)
    assert sent.status_code == 302, sent.get_data(as_text=True)
    (saved,) = [p for p in site.home.inbox.iterdir() if p.is_file()]
    code, output = cli(site.home.root, "process", str(saved))
    assert code == 0, output
    ended = client.get(sent.headers["Location"]).get_data(as_text=True)
    reference = re.search(r"Open (PC-\d{4}-[0-9A-Z]{6})", ended)
    assert reference is not None, ended
    record = show_json(site.home.root, reference.group(1))["challenge"]
    assert record["child"]["case_number"] == "LCS-000777"
    assert record["concern"] == "The pathway plan has not been reviewed."
    assert record["stage"] == "1"


def test_a_likely_duplicate_raised_in_the_browser_is_caught_as_for_a_form(
    site: Site, client: FlaskClient
) -> None:
    sent = raised(
        client, {**RAISED, "child_name": "Tegan Example", "child_case_number": "LCS-000123"}
    )
    assert sent.status_code == 302
    (saved,) = [p for p in site.home.inbox.iterdir() if p.is_file()]
    cli(site.home.root, "process", str(saved))  # rejected: the exit code says so too
    ended = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert f"the child already has an open challenge: {OVERDUE}" in ended


# --- the live tracker beside an action ----------------------------------------------------


def test_an_action_cues_the_live_tracker_which_is_rewritten_beside_it(
    site: Site, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Rewritten by a process other than the dashboard's, at a lower priority: the
    spreadsheet of every child never holds the CPU the requests need."""
    caplog.set_level(logging.INFO, logger="formflow.reports.tracker")
    act_in_browser(client, OVERDUE, "withdraw", {"reason": "Raised in error"})
    tracker = site.home.outbox / "tracker.csv"

    def shows_withdrawn() -> bool:
        text = tracker.read_text("utf-8-sig") if tracker.exists() else ""
        return any(row.startswith(OVERDUE) and "withdrawn" in row for row in text.splitlines())

    try:
        wait_for(shows_withdrawn, 60, "the tracker to show the withdrawal")
    finally:
        site.app.extensions["formflow"].tracker.stop()
    [made] = [r for r in caplog.records if r.getMessage().startswith("the trackers were made")]
    process, niceness, _seconds = made.args  # type: ignore[misc]
    assert process != os.getpid()
    assert niceness == min(19, os.nice(0) + TRACKER_NICENESS)  # 19 is the lowest


def test_an_action_writes_no_tracker_where_the_live_tracker_is_off(tmp_path: Path) -> None:
    """``[tracker] live = false``: the tracker of every child is not put on the share."""
    root = tmp_path / "web"
    off = settings_from_toml("[tracker]\nlive = false\n", root / "formflow.toml")
    site = make_site(root, off)
    client = site.client()
    assert sign_in(client) == 302
    act_in_browser(client, OVERDUE, "withdraw", {"reason": "Raised in error"})
    site.app.extensions["formflow"].tracker.stop()
    assert not (site.home.outbox / "tracker.csv").exists()
    assert not (site.home.outbox / "tracker.xlsx").exists()


def test_the_web_form_has_the_word_forms_cafcass_and_separate_challenge_fields(
    client: FlaskClient,
) -> None:
    page = client.get("/raise?procedure=nelincs").get_data(as_text=True)
    asked = set(re.findall(r'<label for="([a-z_0-9]+)"', page))
    nelincs = built_in()("nelincs")
    words = [*CAFCASS_FIELDS, *prerequisite_fields(nelincs), SEPARATE_CHALLENGE]
    assert {f.tag for f in words} <= asked
    assert SEPARATE_CHALLENGE.label in page


def test_a_deliberate_second_challenge_for_the_same_child_is_raised_in_the_browser(
    site: Site, client: FlaskClient
) -> None:
    """The child of OVERDUE, a new concern, the "separate challenge" box ticked: processed
    as a new challenge, not refused as a likely duplicate."""
    second = {
        **RAISED,
        "child_name": "Tegan Example",
        "child_case_number": "LCS-000123",
        "concern": "Contact with her brother has stopped.",
        SEPARATE_CHALLENGE.tag: "1",
    }
    sent = raised(client, second)
    assert sent.status_code == 302, sent.get_data(as_text=True)
    (saved,) = [p for p in site.home.inbox.iterdir() if p.is_file()]
    code, output = cli(site.home.root, "process", str(saved))
    assert code == 0, output
    ended = client.get(sent.headers["Location"]).get_data(as_text=True)
    reference = re.search(r"Open (PC-\d{4}-[0-9A-Z]{6})", ended)
    assert reference is not None, ended
    assert reference.group(1) != OVERDUE
    record = show_json(site.home.root, reference.group(1))["challenge"]
    assert record["child"]["case_number"] == "LCS-000123"
    assert record["concern"] == "Contact with her brother has stopped."
    assert show_json(site.home.root, OVERDUE)["challenge"]["closure"] is None  # both open
    code, output = cli(site.home.root, "check")
    assert code == 0, output


ELIGIBLE = "PC-2025-EEEEEE"
PREREQUISITES_MET = Cafcass(
    prerequisites={
        "iro_manager_consulted": dt.date(2025, 11, 3),
        "nominated_officer_informed": dt.date(2025, 11, 3),
        "service_manager_agreement": dt.date(2025, 11, 3),
        "head_of_service_approval": dt.date(2025, 11, 3),
    }
)


def with_eligible_challenge(site: Site) -> Site:
    """A child in care whose challenge has every CAFCASS prerequisite met (as
    tests/test_engine.py's PREREQUISITES_MET), in ``site``'s register."""
    eligible = make_challenge(
        reference=ELIGIBLE,
        child=replace(make_challenge().child, name="Rowan Example", case_number="LCS-000555"),
        cafcass=PREREQUISITES_MET,
    )
    with Register(site.home.register) as register:
        policy = built_in()(eligible.policy)
        register.save_challenge(eligible, assess(eligible, policy, Settings().calendar, TODAY), NOW)
    return site


def test_a_cafcass_request_in_the_browser_is_recorded_as_the_same_event_from_the_shell(
    tmp_path: Path, site: Site, client: FlaskClient, twin_url: str | None
) -> None:
    """The shell's own path for an event (``Pipeline.act``, as every event command of the
    CLI takes it; the CLI has no CAFCASS command of its own) on a twin of the register."""
    with_eligible_challenge(site)
    done = act_in_browser(client, ELIGIBLE, "request-cafcass", {})
    assert "Recorded" in done
    twin = with_eligible_challenge(make_site(tmp_path / "shell", register_url=twin_url))
    with Register(twin.home.register) as register:
        pipeline = Pipeline(register, Services(twin.home, Settings(), built_in(), now=lambda: NOW))
        pipeline.act(ELIGIBLE, RequestCafcass(TODAY), by=USER, reason=None)
    from_browser = comparable(site.home.root, ELIGIBLE)
    assert from_browser == comparable(twin.home.root, ELIGIBLE)
    assert from_browser["challenge"]["cafcass"]["requested"] is True
    assert from_browser["challenge"]["cafcass"]["request_date"] == ON
    assert from_browser["events"][-1]["actor"] == USER
    code, output = cli(site.home.root, "check")
    assert code == 0, output


# --- documents made while the confirmation page is read (pipeline.ahead) -------------


class CountedRenders:
    """The Word documents the dashboard's process renders (each document's pair has one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import formflow.render

        self.count = 0
        real = formflow.render.render_docx

        def counted(*args: Any, **kwargs: Any) -> bytes:
            data = real(*args, **kwargs)
            self.count += 1
            return data

        monkeypatch.setattr(formflow.render, "render_docx", counted)


def word_text(path: Path) -> str:
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
    return re.sub(r"<[^>]+>", " ", xml)


EXTENSION = {"to": "2025-12-19", "reason": "Meeting set"}


def test_a_confirmed_action_takes_the_documents_made_while_its_confirmation_was_read(
    site: Site, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    renders = CountedRenders(monkeypatch)
    confirmation = previewed(client, DUE_LATER, "extend", EXTENSION)
    wait_for(lambda: renders.count == 1, 60, "the form made while the confirmation is read")
    done = client.post(
        f"/challenges/{DUE_LATER}/actions/extend/confirm", data=hidden_fields(confirmation)
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert renders.count == 1  # handed over, not made again
    documents = [d["path"] for d in show_json(site.home.root, DUE_LATER)["documents"]]
    form = next(p for p in documents if p.endswith("-form.docx") and "superseded" not in p)
    assert (site.home.outbox / form.replace(".docx", ".pdf")).is_file()
    # The same as the pipeline's own writer makes for the record as it now stands.
    with Register(site.home.register) as register:
        record = register.challenge(DUE_LATER)
    assert record is not None and record.due_extended_to == dt.date(2025, 12, 19)
    policy = built_in()(record.policy)
    settings = site.app.extensions["formflow"].settings
    fresh = Services(site.home, settings, built_in()).writer(Document.NEXT_STAGE_FORM)(
        record,
        policy,
        settings,
        tmp_path,
        today=NOW.date(),
        assessment=assess(record, policy, settings.calendar, NOW.date()),
    )
    made_now = next(p for p in fresh if p.suffix == ".docx")
    assert word_text(site.home.outbox / form) == word_text(made_now)


def test_an_action_confirmed_on_another_day_has_its_documents_made_that_day(
    site: Site, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    renders = CountedRenders(monkeypatch)
    confirmation = previewed(client, DUE_LATER, "extend", EXTENSION)
    wait_for(lambda: renders.count == 1, 60, "the form made while the confirmation is read")
    dashboard = site.app.extensions["formflow"]
    monkeypatch.setattr(dashboard, "now", lambda: NOW + dt.timedelta(days=1))
    monkeypatch.setattr(dashboard, "today", lambda: TODAY + dt.timedelta(days=1))
    done = client.post(
        f"/challenges/{DUE_LATER}/actions/extend/confirm", data=hidden_fields(confirmation)
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert renders.count == 2  # made again, for the day it was confirmed
