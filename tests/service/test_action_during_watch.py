"""An action in the dashboard while a real ``formflow watch`` processes a form for the same
challenge (issue 23): whichever is recorded first wins, the other is told plainly (the
dashboard's "has changed" page, or the form's rejection note), and nothing is lost."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from service_support import Service, cli, open_register, show_json, start_watch, stop_watch

from filled_forms import answer
from formflow.config import Settings
from formflow.outbox.folders import NOTE_SUFFIX
from formflow.web.accounts import Accounts
from formflow.web.app import create_app
from waiting import wait_for

pytestmark = pytest.mark.slow

USER, PASSWORD = "amara.okafor", "three random words"
TODAY = dt.date.today()


@pytest.fixture
def raised(tmp_path: Path) -> Iterator[tuple[Service, str]]:
    """A challenge at Stage 1, its form in the outbox for the manager to answer."""
    home = tmp_path / "home"
    with open_register(home) as register:
        service = Service(home, register)
        yield service, service.raised()


@pytest.fixture
def watcher(raised: tuple[Service, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = start_watch(raised[0].home.root, tmp_path / "watch.log")
    try:
        yield process
    finally:
        stop_watch(process)


def signed_in(service: Service) -> FlaskClient:
    accounts = Accounts(
        service.home.var / "users.db",
        hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    accounts.add(USER, PASSWORD, role="iro-service")
    client = create_app(service.home, Settings(), accounts=accounts).test_client()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/signin").get_data(as_text=True))
    assert token is not None
    sent = {"csrf": token.group(1), "name": USER, "password": PASSWORD}
    assert client.post("/signin", data=sent).status_code == 302
    return client


def withdrawal_drawn(client: FlaskClient, reference: str) -> dict[str, str]:
    """The withdraw form as the page draws it, filled in: what its confirm step posts."""
    page = client.get(f"/challenges/{reference}/actions/withdraw").get_data(as_text=True)
    drawn = dict(re.findall(r'name="(csrf|version)" value="([^"]+)"', page))
    return {**drawn, "reason": "Raised in error"}


def answered_form(service: Service, reference: str) -> Path:
    form = service.home.outbox / reference / f"{reference}-stage-1-form.docx"
    return answer(form, service.home.root / "answered.docx", TODAY)


def test_a_form_processed_first_wins_and_the_action_is_refused_plainly(
    raised: tuple[Service, str], watcher: subprocess.Popen[bytes]
) -> None:
    service, reference = raised
    client = signed_in(service)
    withdrawal = withdrawal_drawn(client, reference)  # the page drawn before the form came
    (service.home.inbox / "answered.docx").write_bytes(
        answered_form(service, reference).read_bytes()
    )
    wait_for(
        lambda: show_json(service.home.root, reference)["challenge"]["stage"] == "2",  # type: ignore[index]
        60,
        "the watcher to record the manager's answer (not resolved: on to Stage 2)",
    )
    refused = client.post(f"/challenges/{reference}/actions/withdraw/confirm", data=withdrawal)
    assert refused.status_code == 409
    assert "has changed since you opened it" in refused.get_data(as_text=True)
    record = show_json(service.home.root, reference)["challenge"]
    answered = record["history"][0]["response"]  # type: ignore[index]
    assert answered["text"] == "We do not agree that the plan has drifted."
    assert record["closure"] is None  # type: ignore[index]
    code, output = cli(service.home.root, "check")
    assert code == 0, output


def test_an_action_recorded_first_wins_and_the_form_is_rejected_with_a_note(
    raised: tuple[Service, str], watcher: subprocess.Popen[bytes]
) -> None:
    service, reference = raised
    client = signed_in(service)
    form = answered_form(service, reference)
    done = client.post(
        f"/challenges/{reference}/actions/withdraw/confirm",
        data=withdrawal_drawn(client, reference),
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    (service.home.inbox / "answered.docx").write_bytes(form.read_bytes())
    note = service.home.rejected / f"answered.docx{NOTE_SUFFIX}"
    wait_for(note.exists, 60, "the watcher to reject the late form with a note")
    assert reference in note.read_text(encoding="utf-8")
    assert (service.home.rejected / "answered.docx").exists()  # kept, not lost
    record = show_json(service.home.root, reference)["challenge"]
    assert record["closure"]["kind"] == "withdrawn"  # type: ignore[index]
    code, output = cli(service.home.root, "check")
    assert code == 0, output
