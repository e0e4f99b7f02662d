"""The pipeline's own logic, with simple stand-ins for the reader and writers: outcomes,
duplicates, references, and exactly-once recovery after a crash at every step."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from service_support import (
    CHILD_NAME,
    assert_outbox_matches_register,
    drop_json,
    fake_pipeline,
    files_in,
    home_at,
    make_challenge,
    on_both_engines,
)

from formflow.config import Settings
from formflow.core.calendar import uk_date
from formflow.core.engine import Document, current_due
from formflow.core.planning import chases
from formflow.core.record import Action, Challenge, Response
from formflow.outbox import folders
from formflow.pipeline import Job, Outcome, Pipeline, Result, outputs
from formflow.pipeline.notices import read_eml
from formflow.policy_catalogue import built_in
from formflow.store.register import Register


class Crash(BaseException):
    """Stands for kill -9: nothing after it runs, no except Exception catches it."""


@pytest.fixture
def db(tmp_path: Path) -> str | Path:
    """Where the register of the home at ``tmp_path`` lives, on the test's engine."""
    return home_at(tmp_path).register


@pytest.fixture
def register(db: str | Path) -> Iterator[Register]:
    with Register(db) as r:
        yield r


def new_form(**overrides: object) -> Challenge:
    """A new challenge's form; each is marked a separate challenge, since these tests drop
    several for the same fictional child (likely duplicates are tested on their own)."""
    return make_challenge(reference=None, separate_challenge=True, **overrides)


def assert_exactly_once(root: Path, register: Register, dropped: int) -> None:
    """Every input ended once; the register and the outbox agree; nothing is left over."""
    home = folders.Home(root)
    assert files_in(home.inbox) == []
    assert files_in(home.claims) == []
    assert not home.staging.exists() or list(home.staging.iterdir()) == []
    outcomes = [f.outcome for f in register.files()]
    assert None not in outcomes
    archived = [p for p in home.archive.rglob("*") if p.is_file()]
    rejected = [p for p in files_in(home.rejected) if not p.name.endswith(".errors.txt")]
    assert len(archived) + len(rejected) == dropped
    assert outcomes.count("processed") == len(archived)
    assert outcomes.count("rejected") + outcomes.count("duplicate") == len(rejected)
    assert_outbox_matches_register(home, register)


@on_both_engines
def test_a_new_form_gets_a_reference_documents_and_a_covering_email(
    tmp_path: Path, register: Register
) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    dropped = drop_json(pipeline.home.inbox, "challenge.docx", new_form())
    result = pipeline.handle(dropped)
    assert result.outcome is Outcome.PROCESSED
    reference = result.reference
    assert reference and reference.startswith("PC-2025-")
    outputs = sorted(p.name for p in (pipeline.home.outbox / reference).iterdir())
    assert outputs == [
        f"{reference}-stage-1-form.eml",
        f"{reference}-stage-1-next-stage-form.docx",
    ]
    assert register.challenge(reference) is not None
    assert [e.what for e in register.events(reference)] == ["transition", "file"]
    assert_exactly_once(tmp_path, register, 1)


def test_process_drops_each_file_into_the_inbox_and_runs_it_through(
    tmp_path: Path, register: Register
) -> None:
    """``formflow process``: files saved elsewhere are copied into the inbox and end as a
    dropped form does; the caller hears each as it ends."""
    pipeline = fake_pipeline(tmp_path, register)
    elsewhere = tmp_path / "Downloads"
    elsewhere.mkdir()
    good = drop_json(elsewhere, "challenge.docx", new_form())
    bad = elsewhere / "notes.docx"
    bad.write_bytes(b"not a form")
    heard: list[Result] = []
    results = pipeline.process([good, bad], heard.append)
    assert [r.outcome for r in results] == [Outcome.PROCESSED, Outcome.REJECTED]
    assert heard == results
    assert good.exists() and bad.exists()  # copied, never moved
    assert (pipeline.home.rejected / "notes.docx").exists()
    assert_exactly_once(tmp_path, register, 2)


def test_a_form_is_assessed_once_by_the_pipeline(
    tmp_path: Path, register: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record is assessed once, when it is planned: the writers (fakes here) take that
    assessment, the register records it, and the covering email's due date does not
    assess it again."""
    assessed: list[str | None] = []
    real_assess = outputs.assess

    def counted(challenge: Challenge, *args: Any) -> Any:
        assessed.append(challenge.reference)
        return real_assess(challenge, *args)

    monkeypatch.setattr(outputs, "assess", counted)
    pipeline = fake_pipeline(tmp_path, register)
    result = pipeline.handle(drop_json(pipeline.home.inbox, "challenge.docx", new_form()))
    assert result.outcome is Outcome.PROCESSED
    assert assessed == [result.reference]
    challenge = register.challenge(result.reference or "")
    assert challenge is not None
    due = current_due(challenge, built_in()(challenge.policy), Settings().calendar)
    eml = pipeline.home.outbox / f"{result.reference}" / f"{result.reference}-stage-1-form.eml"
    body = read_eml(eml).get_body(preferencelist=("plain",))
    assert body is not None
    content = " ".join(body.get_content().split())
    assert f"due by the end of {uk_date(due)}." in content
    assert content.count(uk_date(due)) == 1  # said once, the UK way


def test_the_response_form_moves_the_same_challenge_on(tmp_path: Path, register: Register) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    first = pipeline.handle(drop_json(pipeline.home.inbox, "a.docx", new_form()))
    assert first.reference is not None
    stored = register.challenge(first.reference)
    assert stored is not None
    answered = dataclasses.replace(
        stored, response=Response("We disagree.", dt.date(2025, 11, 5), "Priya Raman", False)
    )
    second = pipeline.handle(drop_json(pipeline.home.inbox, "b.docx", answered))
    assert second.outcome is Outcome.PROCESSED and second.reference == first.reference
    now = register.challenge(first.reference)
    assert now is not None and now.stage.value == "2"
    assert len(list((pipeline.home.outbox / first.reference).glob("*.docx"))) == 2
    assert_exactly_once(tmp_path, register, 2)


@on_both_engines
def test_the_same_bytes_twice_are_a_duplicate_with_a_plain_note(
    tmp_path: Path, register: Register
) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    challenge = new_form()
    first = pipeline.handle(drop_json(pipeline.home.inbox, "a.docx", challenge))
    second = pipeline.handle(drop_json(pipeline.home.inbox, "a.docx", challenge))
    assert second.outcome is Outcome.DUPLICATE and second.reference == first.reference
    note = (pipeline.home.rejected / "a.docx.errors.txt").read_text()
    assert note.startswith(f"This file was already processed on 2025-11-03 as {first.reference}")
    assert "Traceback" not in note
    assert_exactly_once(tmp_path, register, 2)


def test_an_unreadable_file_is_rejected_with_its_reasons(
    tmp_path: Path, register: Register
) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    (pipeline.home.inbox / "scan.docx").write_bytes(b"not a form")
    (pipeline.home.inbox / "notes.txt").write_bytes(b"hello")
    assert pipeline.handle(pipeline.home.inbox / "scan.docx").outcome is Outcome.REJECTED
    assert pipeline.handle(pipeline.home.inbox / "notes.txt").outcome is Outcome.REJECTED
    note = (pipeline.home.rejected / "scan.docx.errors.txt").read_text()
    assert "no fields could be read" in note and "Traceback" not in note
    assert "Word (.docx) and PDF" in (pipeline.home.rejected / "notes.txt.errors.txt").read_text()
    assert_exactly_once(tmp_path, register, 2)


def test_a_link_is_rejected_as_itself_and_what_it_points_to_is_never_read(
    tmp_path: Path, register: Register
) -> None:
    """A link in a shared inbox can point at anything the service may read (another
    council's form, the register itself): it is filed as a link, its target untouched."""
    pipeline = fake_pipeline(tmp_path, register)
    elsewhere = drop_json(tmp_path, "kept elsewhere.docx", new_form())
    link = pipeline.home.inbox / "shortcut.docx"
    link.symlink_to(elsewhere)
    result = pipeline.handle(link)
    assert result.outcome is Outcome.REJECTED
    assert (pipeline.home.rejected / "shortcut.docx").readlink() == elsewhere
    note = (pipeline.home.rejected / "shortcut.docx.errors.txt").read_text()
    assert "link (a shortcut) or a special file" in note and "Save the form itself" in note
    assert elsewhere.read_text() == json.dumps(new_form().to_dict())
    assert register.files() == [] and register.references() == []
    assert files_in(pipeline.home.claims) == [] and files_in(pipeline.home.inbox) == []


def test_a_named_pipe_is_rejected_without_waiting_for_a_writer(
    tmp_path: Path, register: Register
) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    pipe = pipeline.home.inbox / "pipe.docx"
    os.mkfifo(pipe)
    results: list[Outcome] = []
    worker = threading.Thread(target=lambda: results.append(pipeline.handle(pipe).outcome))
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "handle() blocked opening a named pipe"
    assert results == [Outcome.REJECTED]
    assert stat.S_ISFIFO((pipeline.home.rejected / "pipe.docx").lstat().st_mode)


def test_a_link_claimed_before_a_crash_is_rejected_by_recovery(
    tmp_path: Path, register: Register
) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    elsewhere = drop_json(tmp_path, "kept elsewhere.docx", new_form())
    claimed = pipeline.home.claims / folders.claim_name("shortcut.docx", dt.datetime(2025, 11, 3))
    claimed.symlink_to(elsewhere)
    assert [r.outcome for r in pipeline.recover()] == [Outcome.REJECTED]
    assert (pipeline.home.rejected / "shortcut.docx").is_symlink()
    assert not os.path.lexists(claimed) and register.files() == []


def test_a_transition_the_policy_refuses_is_rejected(tmp_path: Path, register: Register) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    first = pipeline.handle(drop_json(pipeline.home.inbox, "a.docx", new_form()))
    stored = register.challenge(first.reference or "")
    assert stored is not None
    wrong = dataclasses.replace(stored, stage=built_in()("nelincs").stages[-1].stage)
    result = pipeline.handle(drop_json(pipeline.home.inbox, "b.docx", wrong))
    assert result.outcome is Outcome.REJECTED
    assert "fill in the latest form" in (pipeline.home.rejected / "b.docx.errors.txt").read_text()
    assert_exactly_once(tmp_path, register, 2)


def test_logs_name_references_never_the_child(
    tmp_path: Path, register: Register, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pipeline = fake_pipeline(tmp_path, register)
    result = pipeline.handle(drop_json(pipeline.home.inbox, "a.docx", new_form()))
    assert result.reference and any(result.reference in r.getMessage() for r in caplog.records)
    assert not any(CHILD_NAME in r.getMessage() for r in caplog.records)
    assert CHILD_NAME not in result.line(dt.datetime(2025, 11, 3))


# --- exactly once after a crash at each step -------------------------------------------

CRASH_POINTS = [
    "hash_file",
    "note_claim",
    "read_form",
    "check_duplicate",
    "plan",
    "write_documents",
    "draft_notices",
    "still_current",
    "record",
    "publish",
    "file_original",
]


def _record_steps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the steps the pipeline runs, in the order it runs them."""
    ran: list[str] = []
    for step in set(CRASH_POINTS):
        original = getattr(Pipeline, step)

        def recorded(
            self: Pipeline, job: object, step: str = step, original: Any = original
        ) -> None:
            ran.append(step)
            original(self, job)

        monkeypatch.setattr(Pipeline, step, recorded)
    return ran


def test_the_steps_run_in_the_order_the_stages_list_them(
    tmp_path: Path, register: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    stages = pipeline.stages()
    listed = [
        step.__name__
        for stage in (
            stages.take,
            stages.read,
            stages.plan,
            stages.write,
            stages.record,
            stages.publish,
        )
        for step in stage
    ]
    assert listed == [
        "hash_file",
        "note_claim",
        "check_duplicate",
        "read_form",
        "plan",
        "write_documents",
        "draft_notices",
        "check_duplicate",
        "still_current",
        "record",
        "publish",
        "file_original",
    ]
    ran = _record_steps(monkeypatch)
    form = new_form()
    assert (
        pipeline.handle(drop_json(pipeline.home.inbox, "a.docx", form)).outcome is Outcome.PROCESSED
    )
    assert ran == listed
    ran.clear()
    copy = pipeline.handle(drop_json(pipeline.home.inbox, "copy.docx", form))
    assert copy.outcome is Outcome.DUPLICATE  # settled in the read stage: straight to publish
    assert ran == ["hash_file", "note_claim", "check_duplicate", "publish", "file_original"]


def _crash_at(monkeypatch: pytest.MonkeyPatch, step: str, after: bool) -> None:
    original = getattr(Pipeline, step)

    def crashing(self: Pipeline, job: object) -> None:
        if after:
            original(self, job)
        raise Crash(step)

    monkeypatch.setattr(Pipeline, step, crashing)


@on_both_engines
@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
@pytest.mark.parametrize("step", CRASH_POINTS)
@pytest.mark.parametrize("valid", [True, False], ids=["valid", "invalid"])
def test_a_crash_at_any_step_ends_exactly_once_after_recovery(
    tmp_path: Path,
    db: str | Path,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    after: bool,
    valid: bool,
) -> None:
    with Register(db) as register:
        pipeline = fake_pipeline(tmp_path, register)
        inbox = pipeline.home.inbox
        drop_json(inbox, "earlier.docx", new_form())
        assert pipeline.handle(inbox / "earlier.docx").outcome is Outcome.PROCESSED
        if valid:
            drop_json(inbox, "form.docx", new_form(concern="Contact has not restarted."))
        else:
            (inbox / "form.docx").write_bytes(b"garbage")
        with monkeypatch.context() as patch:
            _crash_at(patch, step, after)
            with contextlib.suppress(Crash):
                pipeline.handle(inbox / "form.docx")
    with Register(db) as register:  # the restart
        results = fake_pipeline(tmp_path, register).recover()
        assert len(results) <= 1
        assert_exactly_once(tmp_path, register, 2)
        outcome = register.files()[-1].outcome
        assert outcome == ("processed" if valid else "rejected")
        if valid:
            assert len(register.references()) == 2


@on_both_engines
def test_a_correct_form_is_never_set_aside_for_stops_it_did_not_cause(
    tmp_path: Path, db: str | Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watcher killed again and again while it works on a form (a reboot loop, an
    operator restarting a hung service) says nothing about the form: it ends processed,
    and no note ever tells its author to correct it."""
    stops = 6
    real_read = Pipeline.read_form

    def stopped_while_reading(self: Pipeline, job: Job) -> None:
        if job.attempts <= stops:
            raise Crash()
        real_read(self, job)

    monkeypatch.setattr(Pipeline, "read_form", stopped_while_reading)
    with Register(db) as register:
        pipeline = fake_pipeline(tmp_path, register)
        drop_json(pipeline.home.inbox, "correct.docx", new_form())
        with pytest.raises(Crash):
            pipeline.handle(pipeline.home.inbox / "correct.docx")
        for _ in range(stops - 1):
            with pytest.raises(Crash):
                pipeline.recover()
        results = pipeline.recover()
        assert [r.outcome for r in results] == [Outcome.PROCESSED]
        assert register.files()[0].attempts == stops + 1
    assert files_in(tmp_path / "inbox" / "rejected") == []


@on_both_engines
def test_a_live_watchers_claim_is_not_taken_over(tmp_path: Path, register: Register) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    claimed = pipeline.home.claims / folders.claim_name("busy.docx", dt.datetime(2025, 11, 3))
    drop_json(pipeline.home.claims, claimed.name, new_form())
    with folders.held(claimed) as mine:
        assert mine
        assert pipeline.recover() == []  # another process holds it
    assert [r.outcome for r in pipeline.recover()] == [Outcome.PROCESSED]


@on_both_engines
def test_a_claim_is_locked_from_the_moment_it_is_made(
    tmp_path: Path, register: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rescan's recovery that runs just after a job's rename (it did under load) must
    find the claim locked, not take the file over and leave its job to report a skip."""
    pipeline = fake_pipeline(tmp_path, register)
    dropped = drop_json(pipeline.home.inbox, "working.docx", new_form())
    claim = folders.claim
    recovered: list[object] = []

    def claim_then_recover(path: Path, claims: Path, now: dt.datetime) -> Path | None:
        claimed = claim(path, claims, now)
        recovered.extend(pipeline.recover())
        return claimed

    monkeypatch.setattr(folders, "claim", claim_then_recover)
    result = pipeline.handle(dropped)
    assert recovered == []
    assert result.outcome is Outcome.PROCESSED
    assert_exactly_once(tmp_path, register, 1)


# --- jobs that render at the same time ---------------------------------------------------


def _answer(register: Register, reference: str, name: str) -> Challenge:
    stored = register.challenge(reference)
    assert stored is not None
    return dataclasses.replace(
        stored,
        response=Response(f"Answer from {name}.", dt.date(2025, 11, 5), "Priya Raman", False),
    )


@on_both_engines
def test_a_plan_overtaken_while_rendering_is_made_again_not_committed(
    tmp_path: Path, db: str | Path, register: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two stage 1 responses to one challenge, the second committed by another job while
    the first renders (without the write lock, or this would wait for ever): the first
    plans again from the new record, where stage 1 is over, so its answer is kept against
    stage 1 beside the other. Committing its stale plan would have undone the other job's
    escalation."""
    pipeline = fake_pipeline(tmp_path, register)
    reference = pipeline.handle(drop_json(pipeline.home.inbox, "new.docx", new_form())).reference
    assert reference is not None
    inbox = pipeline.home.inbox
    drop_json(inbox, "slow.docx", _answer(register, reference, "slow"))
    drop_json(inbox, "quick.docx", _answer(register, reference, "quick"))
    original = Pipeline.write_documents
    overtaken: list[Outcome] = []

    def render_while_another_commits(self: Pipeline, job: object) -> None:
        if self is pipeline and not overtaken:
            with Register(db) as other:
                overtaken.append(
                    fake_pipeline(tmp_path, other).handle(inbox / "quick.docx").outcome
                )
        original(self, job)  # type: ignore[arg-type]

    monkeypatch.setattr(Pipeline, "write_documents", render_while_another_commits)
    slow = pipeline.handle(inbox / "slow.docx")
    assert overtaken == [Outcome.PROCESSED]
    assert slow.outcome is Outcome.PROCESSED
    assert "A further response to Stage 1" in slow.message
    record = register.challenge(reference)
    assert record is not None and record.stage.value == "2"
    [stage_one] = record.history
    assert stage_one.response is not None and stage_one.response.text == "Answer from quick."
    assert [r.text for r in stage_one.further_responses] == ["Answer from slow."]
    assert_exactly_once(tmp_path, register, 3)


@on_both_engines
def test_a_document_name_taken_meanwhile_is_chosen_again(
    tmp_path: Path, db: str | Path, register: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two updates to one challenge that both stand: the second plans again and picks
    the next free name, so neither document overwrites the other."""
    pipeline = fake_pipeline(tmp_path, register)
    reference = pipeline.handle(drop_json(pipeline.home.inbox, "new.docx", new_form())).reference
    assert reference is not None
    original = Pipeline.still_current
    stale_once: list[bool] = []

    def overtaken_once(self: Pipeline, job: object) -> None:
        original(self, job)  # type: ignore[arg-type]
        if not stale_once:
            stale_once.append(True)
            job.stale = True  # type: ignore[attr-defined]

    monkeypatch.setattr(Pipeline, "still_current", overtaken_once)
    answered = pipeline.handle(
        drop_json(pipeline.home.inbox, "b.docx", _answer(register, reference, "b"))
    )
    assert answered.outcome is Outcome.PROCESSED and stale_once == [True]
    assert_exactly_once(tmp_path, register, 2)


@on_both_engines
def test_recovery_leaves_a_live_jobs_staging_alone(tmp_path: Path, register: Register) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    claimed = pipeline.home.claims / folders.claim_name("busy.docx", dt.datetime(2025, 11, 3))
    drop_json(pipeline.home.claims, claimed.name, new_form())
    staged = pipeline.home.staging / claimed.name / "PC-2025-AAAAAA" / "form.docx"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"being written")
    with folders.held(claimed) as mine:
        assert mine
        pipeline.publish_staged()
        assert staged.read_bytes() == b"being written"  # its job is alive: untouched
    pipeline.publish_staged()
    assert not staged.exists()  # its job died before committing: discarded


# --- deadlines ------------------------------------------------------------------------


@on_both_engines
def test_an_overdue_response_moves_on_once(tmp_path: Path, register: Register) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    first = pipeline.handle(drop_json(pipeline.home.inbox, "a.docx", new_form()))
    reference = first.reference or ""
    assert pipeline.chase_deadlines(dt.date(2025, 11, 10)) == []  # due that day
    results = pipeline.chase_deadlines(dt.date(2025, 11, 11))
    assert [r.reference for r in results] == [reference]
    assert "escalated to Stage 2" in results[0].message
    assert pipeline.chase_deadlines(dt.date(2025, 11, 11)) == []
    stored = register.challenge(reference)
    assert stored is not None and stored.stage.value == "2"
    emails = sorted(p.name for p in (pipeline.home.outbox / reference).glob("*.eml"))
    assert emails == [f"{reference}-stage-1-form.eml", f"{reference}-stage-2-form.eml"]
    assert_exactly_once(tmp_path, register, 1)


def test_an_unaddressed_draft_is_logged_with_who_must_be_filled_in(
    tmp_path: Path, register: Register, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    with caplog.at_level("WARNING", logger="formflow.pipeline"):
        result = pipeline.handle(drop_json(pipeline.home.inbox, "a.docx", new_form()))
    reference = result.reference or ""
    warnings = [r.getMessage() for r in caplog.records]
    assert any(
        f"{reference}: the draft {reference}-stage-1-form.eml has no address for the Team Manager"
        in w
        and "Priya" not in w  # the draft names her; the log names roles only
        and "[directory] in formflow.toml" in w
        for w in warnings
    ), warnings


@on_both_engines
def test_agreed_actions_due_remind_the_iro_once_each(tmp_path: Path, register: Register) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    first = pipeline.handle(drop_json(pipeline.home.inbox, "a.docx", new_form()))
    stored = register.challenge(first.reference or "")
    assert stored is not None
    actions = (
        Action("Review the pathway plan", dt.date(2025, 11, 20), "Priya Raman"),
        Action("Arrange family time", dt.date(2025, 12, 5), "Ifan Jenkins"),
    )
    resolved = dataclasses.replace(
        stored,
        response=Response("Agreed.", dt.date(2025, 11, 5), "Priya Raman", True),
        actions=actions,
    )
    pipeline.handle(drop_json(pipeline.home.inbox, "b.docx", resolved))
    assert pipeline.chase_deadlines(dt.date(2025, 11, 19)) == []
    assert len(pipeline.chase_deadlines(dt.date(2025, 11, 21))) == 1
    assert pipeline.chase_deadlines(dt.date(2025, 11, 21)) == []
    assert len(pipeline.chase_deadlines(dt.date(2025, 12, 8))) == 1
    reminders = [e for e in register.events(first.reference) if e.what == "reminder"]
    assert len(reminders) == 2
    assert_exactly_once(tmp_path, register, 2)


def test_chases_is_a_pure_decision() -> None:
    challenge = make_challenge()
    decided = chases(
        [challenge], built_in(), Settings(), dt.date(2025, 11, 11), lambda _r, _k: False
    )
    assert [(c.reference, c.overdue, c.reminders) for c in decided] == [
        ("PC-2025-7KQ3XM", True, ())
    ]
    assert (
        chases([challenge], built_in(), Settings(), dt.date(2025, 11, 10), lambda *_: False) == []
    )


def test_every_document_kind_has_a_stand_in() -> None:
    from service_support import FAKE_WRITERS

    assert set(FAKE_WRITERS) == set(Document)


def test_a_name_with_control_characters_prints_one_line_and_keeps_its_name(
    tmp_path: Path, register: Register
) -> None:
    pipeline = fake_pipeline(tmp_path, register)
    forged = "a\nINFO fake log line.docx"
    (pipeline.home.inbox / forged).write_bytes(b"not a form")
    result = pipeline.handle(pipeline.home.inbox / forged)
    line = result.line(dt.datetime(2025, 11, 3, 10))
    assert "\n" not in line and "a\\nINFO fake log line.docx" in line
    assert result.outcome is Outcome.REJECTED
    rejected = tmp_path / "inbox" / "rejected"
    assert (rejected / forged).read_bytes() == b"not a form"
    note = (rejected / (forged + folders.NOTE_SUFFIX)).read_text(encoding="utf-8")
    assert note.startswith("formflow could not use a\\nINFO fake log line.docx.\n")
    assert register.files()[0].original_name == forged
