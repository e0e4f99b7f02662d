"""The whole life of a challenge through real files: forms formflow wrote, filled in as a
person would (Word and PDF), dropped back through the real reader, engine, writers and
register; and the events business support record with the CLI."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from service_support import (
    NOTIFIED,
    PROCESSED_ON,
    Service,
    cli,
    make_challenge,
    new_form,
    on_both_engines,
    open_register,
    show_json,
)

from filled_forms import fill_docx, fill_pdf
from formflow.core.engine import Respond, Status, status_of
from formflow.core.record import Action, ClosureKind, Stage, StageOutcome
from formflow.intake import read_form
from formflow.pipeline import Outcome
from formflow.pipeline.notices import read_eml
from formflow.policy_catalogue import built_in


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with open_register(tmp_path) as register:
        yield Service(tmp_path, register)


# --- nothing a person sends is thrown away ------------------------------------------------


def test_a_response_without_an_outcome_tick_is_refused_naming_both_boxes(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")
    answered = fill_docx(
        form, tmp_path / "answered.docx", {"response_text": "We will hold a review next week."}
    )
    result = service.drop(answered)
    assert result.outcome is Outcome.REJECTED
    note = service.note(result)
    assert "'Resolved'" in note and "'Not resolved'" in note and "still due" in note
    assert (service.home.rejected / "answered.docx").is_file()
    assert service.record(reference).response is None


def test_a_form_that_changes_nothing_says_what_it_compared(service: Service) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.pdf")
    result = service.drop(form)
    assert result.outcome is Outcome.PROCESSED
    assert "compared the stage, the response and its outcome" in result.message
    assert f"record of {reference} at Stage 1" in result.message


def test_a_late_response_to_a_stage_that_escalated_is_recorded_against_it(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    stage_one_pdf = service.outbox(reference, "stage-1-form.pdf")
    moved = service.pipeline.chase_deadlines(dt.date(2026, 12, 1))
    assert [r.reference for r in moved] == [reference]
    assert service.record(reference).stage == Stage.TWO
    late = fill_pdf(
        stage_one_pdf,
        tmp_path / "late answer.pdf",
        {"response_text": "Agreed: the review is booked.", "response_by": "Priya Raman"},
        ticked=("response_resolved",),
    )
    result = service.drop(late)
    assert result.outcome is Outcome.PROCESSED, result.message
    record = service.record(reference)
    [ended] = record.history
    assert ended.outcome is StageOutcome.RESPONSE_OVERDUE
    assert ended.late_response is not None and ended.late_response.resolved is True
    assert ended.late_response.text == "Agreed: the review is booked."
    assert record.stage == Stage.TWO  # the IRO decides what follows
    note = service.outbox(reference, "note-to-the-iro.eml").read_text()
    assert "late response to Stage 1" in note and 'To: "Morwenna Pentreath, IRO' in note
    whole = show_json(service.home.root, reference)
    assert any("late response" in e["message"] for e in whole["timeline"])
    assert whole["stages"][0]["late_response"] == "2026-12-01"


# --- likely duplicates --------------------------------------------------------------------


def test_a_second_form_for_the_same_child_without_a_reference_is_refused(
    service: Service,
) -> None:
    reference = service.raised()
    again = new_form(service.home.root, "saved again.docx", concern="Same concern, saved again.")
    result = service.drop(again)
    assert result.outcome is Outcome.REJECTED
    note = service.note(result)
    assert (
        reference in note
        and "'Reference'" in note
        and "'Separate challenge for this child'" in note
    )
    assert service.register.references() == [reference]
    renamed = new_form(
        service.home.root,
        "same name and dob.pdf",
        pdf=True,
        child=replace(make_challenge().child, case_number="LCS-999999"),
    )
    assert service.drop(renamed).outcome is Outcome.REJECTED


def test_a_form_ticked_as_a_separate_challenge_is_opened(service: Service) -> None:
    first = service.raised()
    second = service.raised(
        "separate.docx", concern="Education plan not agreed.", separate_challenge=True
    )
    assert second != first
    assert service.record(second).separate_challenge is False  # a mark on the form only


# --- dates against the world --------------------------------------------------------------


def test_a_date_of_notification_in_the_future_is_rejected(service: Service) -> None:
    form = new_form(service.home.root, "future.docx", date_of_notification=dt.date(2026, 12, 2))
    result = service.drop(form)
    assert result.outcome is Outcome.REJECTED
    assert "'Date of Notification' (02/12/2026) is in the future" in service.note(result)


def test_a_date_of_notification_older_than_the_ladder_is_accepted_with_a_warning(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    form = new_form(service.home.root, "old.docx", date_of_notification=dt.date(2026, 9, 1))
    result = service.drop(form)
    assert result.outcome is Outcome.PROCESSED
    assert "Check the Date of Notification: 1 September 2026" in result.message
    assert result.reference is not None
    email = read_eml(service.outbox(result.reference, "stage-1-form.eml"))
    body = email.get_body(("plain",))
    assert body is not None and "Check the Date of Notification" in body.get_content()
    assert any("Check the Date of Notification" in r.getMessage() for r in caplog.records)


def test_a_response_dated_before_the_stage_was_raised_says_what_to_do(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    answered = fill_docx(
        service.outbox(reference, "stage-1-form.docx"),
        tmp_path / "early.docx",
        {"response_text": "Agreed.", "response_date": "20/11/2026"},
        ticked=("response_resolved",),
    )
    note = service.note(service.drop(answered))
    assert "20 November 2026, before Stage 1 was raised on 23 November 2026" in note
    assert "correct 'Date of response'" in note


def test_the_stage_two_form_shows_the_date_of_notification_received(
    service: Service, tmp_path: Path
) -> None:
    """The stage 2 form once showed the day the answer was processed (01/12/2026) as the
    Date of Notification, where the form received said 23/11/2026."""
    reference = service.raised()
    answered = fill_docx(
        service.outbox(reference, "stage-1-form.docx"),
        tmp_path / "not resolved.docx",
        {"response_text": "We do not agree."},
        ticked=("response_not_resolved",),
    )
    assert service.drop(answered).outcome is Outcome.PROCESSED
    record = service.record(reference)
    assert record.date_of_notification == PROCESSED_ON.date()  # stage 2 raised that day
    for name in ("stage-2-form.docx", "stage-2-form.pdf"):
        form = read_form(
            service.outbox(reference, name), policies=built_in(), today=PROCESSED_ON.date()
        )
        assert form.date_of_notification == NOTIFIED, name


# --- the IRO's decisions on the form ------------------------------------------------------


def test_the_iro_reopens_a_resolved_challenge_on_the_final_record(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    resolved = fill_docx(
        service.outbox(reference, "stage-1-form.docx"),
        tmp_path / "resolved.docx",
        {
            "response_text": "Agreed.",
            "action_1": "Hold the review",
            "action_1_by_when": "27/11/2026",
        },
        ticked=("response_resolved",),
    )
    assert service.drop(resolved).outcome is Outcome.PROCESSED
    assert status_of(service.record(reference)) is Status.RESOLVED
    reopened = fill_docx(
        service.outbox(reference, "final-record.docx"),
        tmp_path / "reopen.docx",
        {"iro_decision_reason": "The review was not held.", "iro_decision_date": "01/12/2026"},
        ticked=("iro_decision_reopen",),
    )
    result = service.drop(reopened)
    assert result.outcome is Outcome.PROCESSED, result.message
    record = service.record(reference)
    assert record.stage == Stage.TWO  # nelincs: stage 1 actions not implemented go on to 2
    assert record.history[-1].outcome is StageOutcome.ACTIONS_NOT_IMPLEMENTED
    assert record.iro_decision is None
    assert service.outbox(reference, "stage-2-form.docx").is_file()
    [event] = [e for e in service.register.events(reference) if e.reason]
    assert event.reason == "The review was not held."
    assert event.actor == "Morwenna Pentreath"


def test_the_iro_closes_a_resolved_challenge_reopened_on_the_final_record_pdf(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    resolved = fill_pdf(
        service.outbox(reference, "stage-1-form.pdf"),
        tmp_path / "resolved.pdf",
        {"response_text": "Agreed.", "action_1": "Hold the review"},
        ticked=("response_resolved",),
    )
    assert service.drop(resolved).outcome is Outcome.PROCESSED
    reopened = fill_pdf(
        service.outbox(reference, "final-record.pdf"),
        tmp_path / "reopen.pdf",
        {"iro_decision_reason": "The review did not change the plan."},
        ticked=("iro_decision_reopen",),
    )
    result = service.drop(reopened)
    assert result.outcome is Outcome.PROCESSED, result.message
    assert service.record(reference).stage == Stage.TWO


def test_the_iro_withdraws_on_the_pdf_form(service: Service, tmp_path: Path) -> None:
    reference = service.raised()
    withdrawn = fill_pdf(
        service.outbox(reference, "stage-1-form.pdf"),
        tmp_path / "withdraw.pdf",
        {"iro_decision_reason": "Raised in error: the plan was reviewed on 20 November."},
        ticked=("iro_decision_withdraw",),
    )
    result = service.drop(withdrawn)
    assert result.outcome is Outcome.PROCESSED, result.message
    record = service.record(reference)
    assert record.closure is not None and record.closure.kind is ClosureKind.WITHDRAWN
    closure = service.outbox(reference, "closure-note.eml").read_text()
    assert 'To: "Priya Raman, Team Manager' in closure and 'Cc: "Morwenna Pentreath, IRO' in closure


def test_closing_on_the_form_without_a_reason_is_refused(service: Service, tmp_path: Path) -> None:
    reference = service.raised()
    closed = fill_docx(
        service.outbox(reference, "stage-1-form.docx"),
        tmp_path / "close.docx",
        {},
        ticked=("iro_decision_close",),
    )
    result = service.drop(closed)
    assert result.outcome is Outcome.REJECTED
    assert "'Reason for the IRO's decision' is empty" in service.note(result)


def test_two_decisions_ticked_are_refused(service: Service, tmp_path: Path) -> None:
    reference = service.raised()
    both = fill_pdf(
        service.outbox(reference, "stage-1-form.pdf"),
        tmp_path / "both.pdf",
        {"iro_decision_reason": "Unsure."},
        ticked=("iro_decision_close", "iro_decision_withdraw"),
    )
    result = service.drop(both)
    assert result.outcome is Outcome.REJECTED
    assert "tick only the IRO's decision" in service.note(result)


# --- the CLI --------------------------------------------------------------------------------


WHO = ("--by", "Kemi Adeyemi, business support")


@on_both_engines
def test_extend_changes_the_due_date_everywhere_and_says_so(service: Service) -> None:
    reference = service.raised()
    assert service.register.deadlines(reference)["response"] == dt.date(2026, 11, 30)
    code, output = cli(
        service.home.root,
        "extend",
        reference,
        "--to",
        "2026-12-04",
        *WHO,
        "--reason",
        "Meeting set for 3 December",
        "--on",
        "2026-11-27",
    )
    assert code == 0, output
    assert "extended from 30 November 2026 to 4 December 2026" in output
    assert service.register.deadlines(reference)["response"] == dt.date(2026, 12, 4)
    code, status = cli(service.home.root, "status", "--json", "--today", "2026-12-01")
    assert json.loads(status)["challenges"][0]["due"] == "2026-12-04"
    assert json.loads(status)["challenges"][0]["overdue"] is False
    assert service.pipeline.chase_deadlines(dt.date(2026, 12, 1)) == []
    form = read_form(
        service.outbox(reference, "stage-1-form.docx"), policies=built_in(), today=NOTIFIED
    )
    assert form.reference == reference
    with zipfile.ZipFile(service.outbox(reference, "stage-1-form.docx")) as package:
        assert "4 December 2026: extended by agreement" in package.read("word/document.xml").decode(
            "utf-8"
        )
    email = service.outbox(reference, "stage-1-form (2).eml").read_text()
    assert "4 December 2026" in email


@on_both_engines
def test_each_cli_event_is_audited_and_refuses_what_makes_no_sense(service: Service) -> None:
    root = service.home.root
    reference = service.raised()
    code, output = cli(
        root, "reassign", reference, "--to", "Sam Okafor", "--role", "Team Manager", *WHO,
        "--reason", "Priya Raman is on leave",
    )  # fmt: skip
    assert code == 0, output
    assert service.record(reference).addressed_to is not None
    assert service.record(reference).addressed_to.name == "Sam Okafor"  # type: ignore[union-attr]
    code, output = cli(
        root, "amend", reference, "case_number", "LCS-000124", *WHO, "--reason", "Typo"
    )
    assert code == 0, output
    assert service.record(reference).child.case_number == "LCS-000124"
    assert "LCS-000124" not in output  # a child's detail never goes into the audit trail
    code, output = cli(root, "withdraw", reference, *WHO, "--reason", "Raised in error")
    assert code == 0, output
    assert "closure-note" in output
    code, output = cli(root, "reopen", reference, *WHO, "--reason", "Actions not done")
    assert code == 1 and "the challenge is withdrawn" in output
    code, output = cli(
        root, "extend", reference, "--to", "2026-12-10", *WHO, "--reason", "More time"
    )
    assert code == 1 and "Cannot extend the response deadline: the challenge is withdrawn" in output
    code, output = cli(root, "close", reference, *WHO, "--reason", "")
    assert code == 1
    whole = show_json(root, reference)
    audited = [e for e in whole["timeline"] if e["why"]]  # type: ignore[attr-defined]
    assert [e["why"] for e in audited] == ["Priya Raman is on leave", "Typo", "Raised in error"]
    assert {e["who"] for e in audited} == {"Kemi Adeyemi, business support"}
    assert all(e["documents"] for e in audited if e["why"] != "Typo")
    assert whole["status"] == "withdrawn"


@on_both_engines
def test_close_and_merge_from_thecli(service: Service) -> None:
    root = service.home.root
    kept = service.raised()
    other = service.raised("copy.docx", separate_challenge=True, concern="Saved twice.")
    code, output = cli(root, "merge", kept, kept, *WHO, "--reason", "Same")
    assert code == 1 and "cannot be merged into itself" in output
    code, output = cli(root, "merge", kept, other, *WHO, "--reason", "The form was saved twice")
    assert code == 0, output
    assert status_of(service.record(other)) is Status.MERGED
    assert any(e.what == "merged" for e in service.register.events(kept))
    code, output = cli(root, "merge", kept, other, *WHO, "--reason", "Again")
    assert code == 1 and "the challenge is merged" in output
    code, output = cli(root, "close", kept, *WHO, "--reason", "The child has moved away")
    assert code == 0, output
    assert status_of(service.record(kept)) is Status.CLOSED_UNRESOLVED
    code, output = cli(root, "withdraw", "PC-2026-000000", *WHO, "--reason", "x")
    assert code == 1 and "no challenge PC-2026-000000" in output
    code, output = cli(root, "withdraw", kept, *WHO, "--reason", "x", "--on", "2099-01-01")
    assert code == 2 and "is in the future" in output
    code, output = cli(root, "withdraw", "PC-1", *WHO, "--reason", "x")
    assert code == 2 and "is not a formflow reference" in output


@on_both_engines
def test_reopen_from_the_cli_after_actions_not_implemented(service: Service) -> None:
    reference = service.raised()
    # The manager's answer, recorded for them, then business support re-open it.
    service.pipeline.act(
        reference,
        Respond(NOTIFIED, True, "Agreed.", "Priya Raman", (Action("Review", NOTIFIED),)),
        by="Priya Raman",
        reason=None,
    )
    code, output = cli(
        service.home.root, "reopen", reference, *WHO, "--reason", "The review was not held"
    )
    assert code == 0, output
    assert service.record(reference).stage == Stage.TWO
    assert "stage-2-form" in output
