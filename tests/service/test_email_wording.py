"""The covering emails as their readers open them (issue 22): each draft parsed with the
email package, its body read as the manager or IRO reads it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from service_support import Service, cli, open_register

from formflow.pipeline.notices import read_eml

WHO = ("--by", "Morwenna Pentreath, IRO")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with open_register(tmp_path) as register:
        yield Service(tmp_path, register)


def _body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    text: str = part.get_content()
    return text


def test_the_due_date_is_said_once_the_uk_way(service: Service) -> None:
    reference = service.raised()
    body = _body(read_eml(service.outbox(reference, "stage-1-form.eml")))
    assert re.search(r"\d{4}-\d{2}-\d{2}", body) is None, body
    assert body.count("due by the end of") == 1, body
    assert "response due by the end of 30 November 2026" in body, body


def test_the_withdrawal_email_tells_the_waiting_manager_in_sentences(service: Service) -> None:
    reference = service.raised()
    reason = "Raised in error: duplicate of an earlier challenge"
    code, output = cli(service.home.root, "withdraw", reference, *WHO, "--reason", reason)
    assert code == 0, output
    email = read_eml(service.outbox(reference, "closure-note.eml"))
    assert str(email["To"]).startswith('"Priya Raman, Team Manager'), email["To"]
    assert "Morwenna Pentreath, IRO" in str(email["Cc"])
    assert f"{reason}. No response is needed." in _body(email)
