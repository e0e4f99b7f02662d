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
    on_both_engines,
    open_register,
    show_json,
)

from filled_forms import answer, fill_docx
from formflow.core.record import Stage
from formflow.pipeline import Outcome
from formflow.pipeline.job import Job

WHO = ("--by", "Kemi Adeyemi, business support")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with open_register(tmp_path) as register:
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


@on_both_engines
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
        "cic-issues",
        "--stage",
        "2",
        "--role",
        "CP chair",
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
    assert "is for challenges raised by an IRO, not by a CP chair" in output
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


@on_both_engines
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


@on_both_engines
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


# --- 5 to 8: every answer kept, and told plainly -------------------------------------------


def _answered(
    form: Path, target: Path, *, resolved: bool | None, by: str, text: str, on: str = ""
) -> Path:
    typed = {"response_text": text, "response_by": by, "response_date": on or "01/12/2026"}
    ticked = {True: ("response_resolved",), False: ("response_not_resolved",), None: ()}
    return fill_docx(form, target, typed, ticked[resolved])


def test_a_second_different_answer_is_kept_and_the_iro_told(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")
    first = _answered(
        form, tmp_path / "priya.docx", resolved=True, by="Priya Raman", text="Agreed."
    )
    assert service.drop(first).outcome is Outcome.PROCESSED
    second = _answered(
        form, tmp_path / "sam.docx", resolved=False, by="Sam Okafor", text="We do not agree."
    )
    result = service.drop(second)
    assert result.outcome is Outcome.PROCESSED, result.message
    assert "A further response to Stage 1 (not resolved" in result.message
    assert "from Sam Okafor" in result.message and "re-opens" in result.message
    record = service.record(reference)
    assert record.response is not None and record.response.by == "Priya Raman"
    [kept] = record.further_responses
    assert kept.by == "Sam Okafor" and kept.resolved is False and kept.text == "We do not agree."
    note = service.outbox(reference, "note-to-the-iro.eml").read_text()
    assert "further response to Stage 1" in note
    # The same answer again (retyped in capitals) adds nothing; one with no outcome is refused.
    retyped = _answered(
        form, tmp_path / "sam again.docx", resolved=False, by="SAM OKAFOR", text="WE DO NOT AGREE."
    )
    assert "The form adds nothing new" in service.drop(retyped).message
    unticked = _answered(
        form, tmp_path / "unticked.docx", resolved=None, by="Ann Other", text="Something else."
    )
    refused = service.drop(unticked)
    assert refused.outcome is Outcome.REJECTED
    assert "neither 'Resolved' nor 'Not resolved'" in service.note(refused)
    assert "still due" not in service.note(refused)
    assert service.record(reference).further_responses == (kept,)


def test_an_answer_after_escalation_by_decision_is_kept_as_late(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")
    code, output = cli(service.home.root, "escalate", reference, *WHO, "--reason", "No reply")
    assert code == 0, output
    late = _answered(form, tmp_path / "late.docx", resolved=True, by="Priya Raman", text="Done.")
    result = service.drop(late)
    assert result.outcome is Outcome.PROCESSED, result.message
    [ended] = service.record(reference).history
    assert ended.late_response is not None and ended.late_response.by == "Priya Raman"
    assert "carries on unless the IRO withdraws or closes it" in result.message


def test_a_response_to_a_merged_or_withdrawn_challenge_says_where_it_stands(
    service: Service, tmp_path: Path
) -> None:
    kept = service.raised()
    merged = service.raised("again.docx", concern="Saved twice.", separate_challenge=True)
    withdrawn = service.raised("third.docx", concern="Raised in error.", separate_challenge=True)
    root = service.home.root
    assert cli(root, "merge", kept, merged, *WHO, "--reason", "Saved twice")[0] == 0
    assert cli(root, "withdraw", withdrawn, *WHO, "--reason", "Raised in error")[0] == 0
    for reference, said in ((merged, f"Merged into {kept}"), (withdrawn, "withdrawn on")):
        form = service.outbox(reference, "stage-1-form.docx")
        result = service.drop(
            _answered(form, tmp_path / f"{reference}.docx", resolved=True, by="P", text="Ok.")
        )
        assert result.outcome is Outcome.REJECTED
        note = service.note(result)
        assert said in note and "has not been recorded" in note
        assert "Correct the form" not in note and "Nothing needs correcting" in note


def test_a_late_reply_to_a_withdrawn_challenge_does_not_say_it_continues(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised()
    form = service.outbox(reference, "stage-1-form.docx")
    assert service.pipeline.chase_deadlines(dt.date(2026, 12, 1))
    assert cli(service.home.root, "withdraw", reference, *WHO, "--reason", "In error")[0] == 0
    late = _answered(form, tmp_path / "late.docx", resolved=True, by="Priya Raman", text="Done.")
    result = service.drop(late)
    assert result.outcome is Outcome.PROCESSED, result.message
    assert "continues" not in result.message and "carries on" not in result.message
    assert f"{reference} is withdrawn at Stage 2, so nothing follows" in result.message


def test_a_final_record_saved_again_with_reopen_ticked_reopens_once(
    service: Service, tmp_path: Path
) -> None:
    reference = service.raised(stage=Stage("4"))
    form = service.outbox(reference, "stage-4-form.docx")
    resolved = _answered(
        form, tmp_path / "resolved.docx", resolved=True, by="Dee Director", text="Agreed."
    )
    assert service.drop(resolved).outcome is Outcome.PROCESSED
    final = service.outbox(reference, "final-record.docx")
    reopen = {"iro_decision_reason": "The review was not held"}
    first = fill_docx(final, tmp_path / "reopen.docx", reopen, ("iro_decision_reopen",))
    assert service.drop(first).outcome is Outcome.PROCESSED
    assert service.record(reference).stage == Stage("4")
    trail = service.register.events(reference)
    reworded = {"iro_decision_reason": "The review was still not held"}
    again = fill_docx(final, tmp_path / "reopen again.docx", reworded, ("iro_decision_reopen",))
    result = service.drop(again)
    assert result.outcome is Outcome.REJECTED
    note = service.note(result)
    assert "re-opening was already recorded on 1 December 2026" in note
    assert "Nothing needs doing with this form" in note
    assert [e for e in service.register.events(reference) if e.what == "transition"] == [
        e for e in trail if e.what == "transition"
    ]
    record = service.record(reference)
    assert record.response is None and len(record.history) == 1


# --- 9, 10: extending into the past, merging into what has ended ----------------------------


def test_extend_to_a_day_already_past_is_refused(service: Service) -> None:
    reference = service.raised()  # notified 23 November 2026, due 30 November: overdue
    code, output = cli(
        service.home.root, "extend", reference, "--to", "2026-12-01", *WHO, "--reason", "Leave"
    )
    assert code == 1 and "1 December 2026 has already passed" in output
    assert service.record(reference).due_extended_to is None


def test_merging_into_a_resolved_challenge_is_refused(service: Service, tmp_path: Path) -> None:
    resolved = service.raised()
    form = service.outbox(resolved, "stage-1-form.docx")
    answered = _answered(form, tmp_path / "ok.docx", resolved=True, by="Priya Raman", text="Ok.")
    assert service.drop(answered).outcome is Outcome.PROCESSED
    other = service.raised("again.docx", concern="Saved twice.", separate_challenge=True)
    code, output = cli(service.home.root, "merge", resolved, other, *WHO, "--reason", "Twice")
    assert code == 1 and f"Cannot merge into {resolved}: it is resolved" in output
    assert service.record(other).closure is None


# --- 11. who did it --------------------------------------------------------------------------


def test_every_event_names_who(service: Service, tmp_path: Path) -> None:
    reference = service.raised()
    assert service.pipeline.chase_deadlines(dt.date(2026, 12, 1))  # escalated by the sweep
    unreadable = service.home.root / "not a form.docx"
    unreadable.write_bytes(b"")
    assert service.drop(unreadable).outcome is Outcome.REJECTED
    whole = show_json(service.home.root, reference)
    trail = whole["timeline"]
    assert isinstance(trail, list) and len(trail) >= 3
    assert all(entry["who"] for entry in trail), trail
    whos = {entry["what"]: entry["who"] for entry in trail}
    assert whos["file"] == "Morwenna Pentreath"
    assert "formflow (deadline)" in [entry["who"] for entry in trail]
    [rejected] = [e for e in service.register.events() if e.reference is None]
    assert rejected.actor == "not known: the file could not be read as a form"


def test_an_event_from_the_command_line_refreshes_the_live_tracker(service: Service) -> None:
    reference = service.raised()
    due = dt.date.today() + dt.timedelta(days=14)
    while not service.pipeline.services.settings.calendar.is_working_day(due):
        due += dt.timedelta(days=1)
    code, output = cli(
        service.home.root, "extend", reference, "--to", due.isoformat(), *WHO, "--reason", "Leave"
    )
    assert code == 0, output
    tracker = (service.home.outbox / "tracker.csv").read_text("utf-8-sig")
    [row] = [line for line in tracker.splitlines() if line.startswith(reference)]
    assert due.isoformat() in row or due.strftime("%d/%m/%Y") in row


def test_show_does_not_call_the_level_of_a_withdrawn_challenge_current(service: Service) -> None:
    reference = service.raised()
    assert cli(service.home.root, "withdraw", reference, *WHO, "--reason", "In error")[0] == 0
    code, output = cli(service.home.root, "show", reference)
    assert code == 0, output
    assert "Stage 1 raised (the last level)" in output and "(current)" not in output
