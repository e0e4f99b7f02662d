"""What random sequences of life events found (issue 28), each through real files and the
CLI: every form a person sends gets an answer, every answer is kept, every event's date
follows one rule, and every event names who."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_support import (
    PROCESSED_ON,
    Service,
    cli,
)

from filled_forms import answer, fill_docx
from formflow.pipeline import Outcome
from formflow.pipeline.job import Job
from formflow.store.register import Register

WHO = ("--by", "Kemi Adeyemi, business support")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with Register(tmp_path / "var" / "formflow.db") as register:
        yield Service(tmp_path, register)


def _mistyped(reference: str) -> str:
    """The reference with its last character typed wrongly, as a person might."""
    return reference[:-1] + ("Q" if reference[-1] != "Q" else "R")


def _check_passes(service: Service) -> None:
    code, output = cli(service.home.root, "check")
    assert code == 0, output


def _nothing_claimed(service: Service) -> None:
    assert not any(p for p in service.home.claims.iterdir() if not p.name.startswith("."))


# --- 1. a form that never ends --------------------------------------------------------------


def test_a_response_with_a_mistyped_reference_is_answered_with_a_note(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")
    wrong = _mistyped(reference)
    answered = answer(form, tmp_path / "mistyped.docx", PROCESSED_ON.date())
    mistyped = fill_docx(answered, tmp_path / "mistyped reference.docx", {"reference": wrong})
    result = service.drop(mistyped)
    assert result.outcome is Outcome.REJECTED, result.message
    note = service.note(result)
    assert f"'Reference' {wrong} is not in the register" in note
    assert reference in note and "'Separate challenge for this child'" in note
    _nothing_claimed(service)
    assert service.register.references() == [reference]
    assert service.record(reference).response is None
    _check_passes(service)
    # A later command does not meet it again: nothing is left to retry.
    assert service.pipeline.recover() == []


def test_a_prefilled_form_for_a_child_with_an_open_challenge_is_refused_then_opened_if_separate(
    service: Service, tmp_path: Path
) -> None:
    first = service.raised()
    service.clock.at = dt.datetime.combine(dt.date.today(), dt.time(10))  # as `new` dates it
    code, output = cli(
        service.home.root,
        "new",
        "--child-name",
        "Tegan Example",
        "--child-dob",
        "2014-02-09",
        "--case-number",
        "LCS-000123",
        "--raised-by",
        "Morwenna Pentreath",
        "-o",
        str(tmp_path / "prefilled.docx"),
    )
    assert code == 0, output
    concern = {"concern": "The education plan has not been agreed."}
    filled = fill_docx(tmp_path / "prefilled.docx", tmp_path / "second.docx", concern)
    result = service.drop(filled)
    assert result.outcome is Outcome.REJECTED
    assert first in service.note(result)
    _nothing_claimed(service)
    _check_passes(service)
    separate = fill_docx(
        tmp_path / "prefilled.docx", tmp_path / "separate.docx", concern, ("separate_challenge",)
    )
    opened = service.drop(separate)
    assert opened.outcome is Outcome.PROCESSED, opened.message
    assert opened.reference is not None and opened.reference != first
    assert sorted(service.register.references()) == sorted([first, opened.reference])


def test_a_plan_that_cannot_be_committed_ends_the_file_with_a_note(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")

    def always_stale(job: Job) -> None:
        job.stale = True

    stages = service.pipeline.stages()
    service.pipeline.stages = lambda: stages.__class__(  # type: ignore[method-assign]
        take=stages.take,
        read=stages.read,
        plan=stages.plan,
        write=stages.write,
        record=(always_stale,),
        publish=stages.publish,
    )
    result = service.drop(answer(form, tmp_path / "busy.docx", PROCESSED_ON.date()))
    assert result.outcome is Outcome.REJECTED
    note = service.note(result)
    assert "changed 5 times" in note
    assert note.rstrip().endswith("Drop it into the inbox again.")
    assert "Correct the form" not in note
    _nothing_claimed(service)
    assert service.record(reference).response is None


# --- 2. check stays green after a rejected form --------------------------------------------


def test_new_refuses_a_form_the_procedure_would_refuse(tmp_path: Path) -> None:
    code, output = cli(
        tmp_path,
        "new",
        "--policy",
        "rotherham",
        "--stage",
        "2",
        "--child-name",
        "Cai Example",
        "--child-dob",
        "2015-05-05",
        "--case-number",
        "LCS-000777",
        "--raised-by",
        "Morwenna Pentreath",
        "-o",
        str(tmp_path / "stage2.docx"),
    )
    assert code != 0
    assert "does not allow Stage 1 to be bypassed" in output
    assert not (tmp_path / "stage2.docx").exists()


def test_an_unknown_reference_with_an_iro_decision_leaves_check_green(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")
    wrong = _mistyped(reference)
    decided = fill_docx(
        form,
        tmp_path / "decided.docx",
        {"reference": wrong, "iro_decision_reason": "Raised in error"},
        ("iro_decision_withdraw",),
    )
    # A copy of the form for another child, so no likely duplicate: the decision is the fault.
    other = fill_docx(
        decided,
        tmp_path / "other child.docx",
        {"child_case_number": "LCS-000999", "child_name": "Cai Example"},
    )
    result = service.drop(other)
    assert result.outcome is Outcome.REJECTED
    note = service.note(result)
    assert f"formflow has no challenge {wrong}" in note
    assert "The IRO's decision section is filled in" in note
    events = service.register.events()
    assert all(e.reference in (None, reference) for e in events)
    _check_passes(service)


# --- 3. dates from the future ----------------------------------------------------------------


def test_tick_refuses_a_day_to_come_unless_rehearsed(service: Service) -> None:
    reference = service.raised()
    before = service.record(reference)
    future = (dt.date.today() + dt.timedelta(days=200)).isoformat()
    code, output = cli(service.home.root, "tick", "--today", future)
    assert code == 2 and "is later than today" in output and "--rehearse" in output
    code, output = cli(service.home.root, "tick", "--today", future, "--rehearse")
    assert code == 0, output
    assert "nothing has been changed" in output
    assert f"{reference}  Stage 1 response overdue: escalated to Stage 2" in output
    assert service.record(reference) == before
    assert [e.what for e in service.register.events(reference)] == ["transition", "file"]
    code, output = cli(service.home.root, "withdraw", reference, *WHO, "--reason", "In error")
    assert code == 0, output


@pytest.mark.parametrize(
    ("typed", "ticked", "label"),
    [
        ({"response_date": "03/12/2027"}, ("response_not_resolved",), "Date of response"),
        ({"response_date": "15/03/2027"}, ("response_resolved",), "Date of response"),
        (
            {"iro_decision_date": "05/01/2027", "iro_decision_reason": "Raised in error"},
            ("iro_decision_withdraw",),
            "Date of the IRO's decision",
        ),
    ],
)
def test_a_form_dated_after_it_arrived_is_refused(
    service: Service,
    tmp_path: Path,
    typed: dict[str, str],
    ticked: tuple[str, ...],
    label: str,
) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")
    texts = {"response_text": "We will hold a review.", "response_by": "Priya Raman", **typed}
    if "iro_decision_date" in typed:
        texts = typed
    result = service.drop(fill_docx(form, tmp_path / "future.docx", texts, ticked))
    assert result.outcome is Outcome.REJECTED
    assert f"'{label}'" in service.note(result)
    assert "later than the day this form arrived (01/12/2026)" in service.note(result)
    record = service.record(reference)
    assert record.response is None and record.closure is None and record.history == ()


# --- 4. dates from the past: one rule for every event ---------------------------------------


def test_no_event_is_dated_before_what_it_answers(service: Service, tmp_path: Path) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")
    resolved = fill_docx(
        form,
        tmp_path / "resolved.docx",
        {"response_text": "Agreed.", "response_by": "Priya Raman", "response_date": "01/12/2026"},
        ("response_resolved",),
    )
    assert service.drop(resolved).outcome is Outcome.PROCESSED
    other = service.raised(
        "separate.docx", concern="Education plan not agreed.", separate_challenge=True
    )
    root = service.home.root
    trail = service.register.events()
    for args, refused in (
        (("reopen", reference), "Cannot re-open it on 1 January 2020"),
        (("merge", other, reference), "Cannot merge it on 1 January 2020"),
        (("withdraw", other), "Cannot withdraw it on 1 January 2020"),
        (("escalate", other), "Cannot escalate it on 1 January 2020"),
        (("extend", other, "--to", "2026-12-18"), "Cannot extend the deadline on 1 January 2020"),
    ):
        code, output = cli(root, *args, *WHO, "--reason", "Test", "--on", "2020-01-01")
        assert code == 1 and refused in output, output
    assert (
        "the challenge was resolved at Stage 1 on 1 December 2026"
        in cli(root, "reopen", reference, *WHO, "--reason", "Test", "--on", "2020-01-01")[1]
    )
    assert service.register.events() == trail  # each refusal changed nothing
