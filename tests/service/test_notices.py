"""Covering emails: recipients by role, no child's name in the subject, attachments, and
sending through a small local SMTP server when [smtp] is configured."""

from __future__ import annotations

import datetime as dt
import socketserver
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from service_support import (
    CHILD_NAME,
    drop_json,
    fake_pipeline,
    make_challenge,
    on_both_engines,
    open_register,
)

from filled_forms import fill_docx
from formflow.cli import main
from formflow.config import Settings
from formflow.core.engine import Document
from formflow.core.record import Action, Person, RaisedBy, Role, Stage
from formflow.pipeline import Outcome
from formflow.pipeline.notices import (
    Recipient,
    covering_email,
    read_eml,
    recipients_for,
    reminder_email,
    send,
    smtp_settings,
    unaddressed,
)
from formflow.policy_catalogue import built_in
from formflow.reports.tables import initials

DIRECTORY = {
    "directory": {"Team Manager": "cic-tm@northtown.example", "IRO": "iro@northtown.example"}
}


def test_initials_only() -> None:
    assert initials("Tegan Example") == "T.E."
    assert initials("Mary-Jane o'Neill Smith") == "M.J.O.S."


@pytest.mark.parametrize("kind", list(Document))
def test_no_child_name_in_the_subject_and_initials_in_the_body(
    tmp_path: Path, kind: Document
) -> None:
    attachment = tmp_path / "PC-2025-7KQ3XM-stage-1-form.docx"
    attachment.write_bytes(b"docx bytes")
    message = covering_email(
        make_challenge(),
        built_in()("nelincs"),
        Settings(raw=DIRECTORY),
        kind,
        [attachment],
        summary="Raised at Stage 1.",
        due=dt.date(2025, 11, 10),
    )
    subject = str(message["Subject"])
    assert subject.startswith("PC-2025-7KQ3XM Stage 1:")
    for part in CHILD_NAME.split():
        assert part not in subject
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "T.E." in text and CHILD_NAME not in text and "Tegan" not in text
    assert "Response due by the end of 10 November 2025." in text
    assert [a.get_filename() for a in message.iter_attachments()] == [attachment.name]


def test_recipients_follow_the_policy_and_the_directory() -> None:
    challenge = make_challenge()
    policy = built_in()("nelincs")
    who = recipients_for(Document.NEXT_STAGE_FORM, challenge, policy)
    assert who.to == (Recipient("Team Manager", "Priya Raman"),)
    assert Recipient("IRO", "Morwenna Pentreath") in who.cc
    message = covering_email(
        challenge, policy, Settings(raw=DIRECTORY), Document.NEXT_STAGE_FORM, [], summary="x"
    )
    assert str(message["To"]) == '"Priya Raman, Team Manager" <cic-tm@northtown.example>'
    assert '"Morwenna Pentreath, IRO" <iro@northtown.example>' in str(message["Cc"])
    assert unaddressed(message) == []
    body = message.get_body(("plain",))
    assert body is not None and "ADDRESS NEEDED" not in body.get_content()


def test_the_form_names_the_person_and_the_directory_has_their_own_address() -> None:
    """The form names the manager: the draft is addressed to her, at her own address
    where the directory has one (before her role's)."""
    challenge = make_challenge(addressed_to=Person("Sam Okafor", "Team Manager"))
    directory = {
        "directory": {**DIRECTORY["directory"], "Sam Okafor": "sam.okafor@northtown.example"}
    }
    message = covering_email(
        challenge,
        built_in()("nelincs"),
        Settings(raw=directory),
        Document.NEXT_STAGE_FORM,
        [],
        summary="x",
    )
    assert str(message["To"]) == '"Sam Okafor, Team Manager" <sam.okafor@northtown.example>'
    assert "Team Manager:;" not in message.as_string()


def test_a_draft_without_an_address_says_who_must_be_filled_in() -> None:
    message = covering_email(
        make_challenge(), built_in()("nelincs"), Settings(), Document.FINAL_RECORD, [], summary="x"
    )
    assert str(message["To"]) == '"Morwenna Pentreath, IRO (address needed)":;'
    assert unaddressed(message) == ["Morwenna Pentreath, IRO", "Priya Raman, Team Manager"]
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().startswith(
        "ADDRESS NEEDED before sending: formflow has no email address for "
        "Morwenna Pentreath, IRO; Priya Raman, Team Manager. Fill it in above, or add it to "
        "[directory] in formflow.toml"
    )
    assert "From" not in message  # drafts: the sender's own mail client fills it in


def test_the_reminder_names_the_action_not_the_child() -> None:
    action = Action("Review the pathway plan", dt.date(2025, 11, 20), "Priya Raman")
    message = reminder_email(make_challenge(), built_in()("nelincs"), Settings(), action)
    assert "agreed action due" in str(message["Subject"])
    assert CHILD_NAME not in message.as_string()


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: no TLS, no auth; keeps what it was sent."""

    received: list[tuple[list[str], bytes]]

    def handle(self) -> None:
        self.connection.settimeout(10)
        recipients: list[str] = []
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in {b"EHLO", b"HELO"}:
                self.wfile.write(b"250 test\r\n")
            elif verb == b"MAIL":
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"RCPT":
                recipients.append(line.split(b"<", 1)[1].split(b">", 1)[0].decode())
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go\r\n")
                data = b""
                while (chunk := self.rfile.readline()) not in {b".\r\n", b""}:
                    data += chunk
                type(self).received.append((recipients, data))
                recipients = []
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[tuple[list[str], bytes]]]]:
    received: list[tuple[list[str], bytes]] = []
    handler = type("Handler", (_Smtp,), {"received": received})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@on_both_engines
def test_drafts_are_sent_over_smtp_once_when_configured(
    tmp_path: Path, smtp_server: tuple[int, list[tuple[list[str], bytes]]]
) -> None:
    port, received = smtp_server
    raw = {
        **DIRECTORY,
        "smtp": {
            "host": "127.0.0.1",
            "port": port,
            "from": "formflow@northtown.example",
            "starttls": False,
        },
    }
    settings = Settings(raw=raw)
    assert smtp_settings(settings) is not None
    with open_register(tmp_path) as register:
        pipeline = fake_pipeline(tmp_path, register, settings=settings)
        result = pipeline.handle(
            drop_json(pipeline.home.inbox, "a.docx", make_challenge(reference=None))
        )
        assert pipeline.send_notices() == 1
        assert pipeline.send_notices() == 0  # marked sent: never twice
        notice = register.notices(result.reference)[0]
        assert notice.sent_at is not None
    assert len(received) == 1
    recipients, data = received[0]
    assert recipients == ["cic-tm@northtown.example", "iro@northtown.example"]
    assert b"Tegan" not in data
    eml = read_eml(tmp_path / "outbox" / notice.path)
    assert str(eml["Subject"]).startswith(f"{result.reference} Stage 1")


def test_a_draft_with_no_address_is_not_sent(
    smtp_server: tuple[int, list[tuple[list[str], bytes]]],
) -> None:
    port, received = smtp_server
    settings = Settings(raw={"smtp": {"host": "127.0.0.1", "port": port, "starttls": False}})
    message = covering_email(
        make_challenge(), built_in()("nelincs"), settings, Document.FINAL_RECORD, [], summary="x"
    )
    smtp = smtp_settings(settings)
    assert smtp is not None
    assert send(message, smtp) == []
    assert received == []


@pytest.mark.parametrize("kind", [Document.FINAL_RECORD, Document.CLOSURE_NOTE, Document.IRO_NOTE])
def test_joint_or_alternative_responders_are_each_a_recipient(kind: Document) -> None:
    """Nottinghamshire's CP chair level is answered by two Service Managers jointly: each
    is copied in by role, never as one role called 'X and Y jointly'."""
    policy = built_in()("nottinghamshire")
    challenge = make_challenge(
        policy="nottinghamshire",
        stage=policy.named(Stage("cpc-service-managers")),
        raised_by=RaisedBy("Morwenna Pentreath", Role.CP_CHAIR),
    )
    who = recipients_for(kind, challenge, policy)
    roles = [r.role for r in who.cc]
    assert roles == list(policy.stage(challenge.stage).responders.roles)
    assert not any("jointly" in role for role in roles)


# --- an address a draft cannot carry never stops a form ------------------------------

MISTYPED = {
    "directory": {"Team Manager": "head of service@northtown", "IRO": "iro@northtown.example"}
}
"""A [directory] address that slipped past the start-up check (settings made in code)."""


def _body(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return body.get_content()


def test_a_mistyped_directory_address_is_left_out_and_the_draft_says_why() -> None:
    message = covering_email(
        make_challenge(),
        built_in()("nelincs"),
        Settings(raw=MISTYPED),
        Document.NEXT_STAGE_FORM,
        [],
        summary="x",
    )
    assert unaddressed(message) == ["Priya Raman, Team Manager"]
    assert '"Morwenna Pentreath, IRO" <iro@northtown.example>' in str(message["Cc"])
    text = _body(message)
    assert text.startswith("ADDRESS NEEDED before sending: formflow has no email address for ")
    assert (
        "The address [directory] in formflow.toml gives for Priya Raman, Team Manager: "
        "'head of service@northtown' is not an email address (it has a space" in text
    )


def test_an_address_typed_in_the_forms_to_box_is_used_or_said_to_be_wrong() -> None:
    def draft(typed: str) -> EmailMessage:
        challenge = make_challenge(addressed_to=Person(typed, "Team Manager"))
        return covering_email(
            challenge,
            built_in()("nelincs"),
            Settings(raw=DIRECTORY),
            Document.NEXT_STAGE_FORM,
            [],
            summary="x",
        )

    good = draft("sam.okafor@northtown.example")
    assert str(good["To"]) == '"Priya Raman, Team Manager" <sam.okafor@northtown.example>'
    bad = draft("priya.raman@@northtown")
    assert unaddressed(bad) == ["Priya Raman, Team Manager"]
    assert "cic-tm@northtown.example" not in str(bad["To"])  # never someone else instead
    assert (
        "The address typed on the form for Priya Raman, Team Manager: "
        "'priya.raman@@northtown' is not an email address (it has more than one @"
    ) in _body(bad)


def test_a_form_and_the_deadline_sweep_go_on_past_a_mistyped_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The form ends processed with its draft written (the IRO, copied in, is told), the
    log says whose address is needed and why, and `tick` escalates as usual."""
    with open_register(tmp_path) as register:
        pipeline = fake_pipeline(tmp_path, register, settings=Settings(raw=MISTYPED))
        with caplog.at_level("WARNING", logger="formflow.pipeline"):
            result = pipeline.handle(
                drop_json(pipeline.home.inbox, "a.docx", make_challenge(reference=None))
            )
        assert result.outcome is Outcome.PROCESSED, result.message
        reference = result.reference
        draft = read_eml(tmp_path / "outbox" / reference / f"{reference}-stage-1-form.eml")
        assert "is not an email address" in _body(draft)
        assert "iro@northtown.example" in str(draft["Cc"])
        assert any(
            "no address for the Team Manager (the one in formflow.toml is not an email address)"
            in r.getMessage()
            for r in caplog.records
        )
        assert list(pipeline.home.claims.iterdir()) == []  # nothing left in .processing
        chased = pipeline.chase_deadlines(dt.date(2025, 11, 20))
        assert [c.reference for c in chased] == [reference]
        assert (tmp_path / "outbox" / reference / f"{reference}-stage-2-form.eml").is_file()


def test_a_real_form_with_an_address_mistyped_in_its_to_box_is_processed(tmp_path: Path) -> None:
    """Through `formflow process`: the form is processed, and its draft says the address
    typed on it is not one, for the IRO (copied in) to put right."""
    home = tmp_path / "home"
    runner = CliRunner()
    sample = tmp_path / "sample.docx"
    made = runner.invoke(main, ["new", "--sample", "--home", str(home), "-o", str(sample)])
    assert made.exit_code == 0, made.output
    form = fill_docx(sample, tmp_path / "c.docx", {"addressed_to_name": "priya.raman@@northtown"})
    processed = runner.invoke(main, ["process", "--home", str(home), str(form)])
    assert processed.exit_code == 0, processed.output
    assert "processed" in processed.output
    reference = processed.output.split()[-1]
    draft = read_eml(home / "outbox" / reference / f"{reference}-stage-1-form.eml")
    assert "'priya.raman@@northtown' is not an email address" in _body(draft)
    assert str(draft["To"]).endswith(
        '(address needed: the one on the form is not an email address)":;'
    )
