"""Documents made ahead while a person reads a confirmation page (``pipeline.ahead``):
handed over only for exactly the inputs they were made from, once, and otherwise made
again by the real writer."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import make_challenge
from formflow.config import Settings
from formflow.core.engine import Assessment, Document, assess
from formflow.core.policy import Policy
from formflow.core.record import Challenge
from formflow.pipeline.ahead import KEPT, KEPT_SECONDS, WAITING, DocumentsAhead
from formflow.pipeline.services import DocumentWriter
from formflow.policy_catalogue import built_in

TODAY = dt.date(2025, 11, 20)
FORM = Document.NEXT_STAGE_FORM


class CountingWriter:
    """A document writer that says in its file what it was made from and how many times
    it has run; ``gate`` holds each making until it is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.made: list[str] = []
        """Each making's concern, in order."""
        self.entered = threading.Event()
        """Set when a making has begun (before the gate)."""
        self.gate = threading.Event()
        self.gate.set()
        self.fail_next = False
        self._counting = threading.Lock()

    def __call__(
        self,
        challenge: Challenge,
        policy: Policy,
        settings: Settings,
        outdir: Path,
        *,
        today: dt.date,
        assessment: Assessment,
    ) -> list[Path]:
        self.entered.set()
        self.gate.wait(timeout=30)
        with self._counting:
            self.calls += 1
            self.made.append(challenge.concern)
        if self.fail_next:
            self.fail_next = False
            raise OSError("the disk is full")
        path = outdir / f"{challenge.reference}-form.docx"
        path.write_bytes(f"{challenge.concern} {today} making {self.calls}".encode())
        return [path]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def writer() -> CountingWriter:
    return CountingWriter()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ahead(tmp_path: Path, writer: CountingWriter, clock: Clock) -> Iterator[DocumentsAhead]:
    def writers(kind: Document) -> DocumentWriter:
        return writer

    made = DocumentsAhead(Settings(), tmp_path / "var" / "ahead", writers, clock=clock)
    yield made
    made.close()


def inputs(challenge: Challenge, today: dt.date = TODAY) -> tuple[Policy, dt.date, Assessment]:
    policy = built_in()(challenge.policy)
    return policy, today, assess(challenge, policy, Settings().calendar, today)


def written(
    ahead: DocumentsAhead,
    challenge: Challenge,
    outdir: Path,
    today: dt.date = TODAY,
    settings: Settings | None = None,
) -> bytes:
    """What the pipeline's writer for the form writes for ``challenge``."""
    policy, today, assessment = inputs(challenge, today)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = ahead.writers()[FORM](
        challenge,
        policy,
        settings or ahead.settings,
        outdir,
        today=today,
        assessment=assessment,
    )
    assert [p.parent for p in paths] == [outdir]
    return b"".join(p.read_bytes() for p in paths)


def test_a_document_made_ahead_is_handed_over_instead_of_made_again(
    ahead: DocumentsAhead, writer: CountingWriter, tmp_path: Path
) -> None:
    challenge = make_challenge()
    ahead.prepare(challenge, *inputs(challenge), kinds=[FORM])
    wait_until_made(writer, 1)  # so that it is handed over, not dropped as queued
    assert written(ahead, challenge, tmp_path / "out") == (
        f"{challenge.concern} {TODAY} making 1".encode()
    )
    assert writer.calls == 1


@pytest.mark.parametrize(
    "difference",
    ["the record changed", "another day", "other settings"],
)
def test_a_document_for_other_inputs_is_made_by_the_real_writer(
    ahead: DocumentsAhead, writer: CountingWriter, tmp_path: Path, difference: str
) -> None:
    challenge = make_challenge()
    ahead.prepare(challenge, *inputs(challenge), kinds=[FORM])
    wait_until_made(writer, 1)
    out = tmp_path / "out"
    if difference == "the record changed":
        changed = replace(challenge, concern="A different concern, recorded meanwhile.")
        assert written(ahead, changed, out).startswith(b"A different concern")
    elif difference == "another day":
        later = TODAY + dt.timedelta(days=1)
        assert str(later).encode() in written(ahead, challenge, out, today=later)
    else:
        written(ahead, challenge, out, settings=Settings())
    assert writer.calls == 2


def test_a_document_made_ahead_is_handed_over_once(
    ahead: DocumentsAhead, writer: CountingWriter, tmp_path: Path
) -> None:
    challenge = make_challenge()
    ahead.prepare(challenge, *inputs(challenge), kinds=[FORM])
    written(ahead, challenge, tmp_path / "first")
    assert written(ahead, challenge, tmp_path / "second").endswith(b"making 2")


def test_a_confirm_while_the_document_is_still_being_made_waits_for_it(
    ahead: DocumentsAhead, writer: CountingWriter, tmp_path: Path
) -> None:
    writer.gate.clear()
    challenge = make_challenge()
    ahead.prepare(challenge, *inputs(challenge), kinds=[FORM])
    assert writer.entered.wait(30)
    threading.Timer(0.2, writer.gate.set).start()
    assert written(ahead, challenge, tmp_path / "out").endswith(b"making 1")
    assert writer.calls == 1


def test_a_confirm_whose_document_is_queued_behind_others_makes_it_at_once(
    ahead: DocumentsAhead, writer: CountingWriter, tmp_path: Path
) -> None:
    writer.gate.clear()
    first, queued = make_challenge(concern="First."), make_challenge(concern="Queued.")
    ahead.prepare(first, *inputs(first), kinds=[FORM])
    assert writer.entered.wait(30)
    ahead.prepare(queued, *inputs(queued), kinds=[FORM])
    threading.Timer(0.2, writer.gate.set).start()
    assert written(ahead, queued, tmp_path / "out").startswith(b"Queued.")
    ahead.close()
    assert sorted(writer.made) == ["First.", "Queued."]  # made once, by the confirm


def test_a_making_that_failed_is_made_again_by_the_real_writer(
    ahead: DocumentsAhead, writer: CountingWriter, tmp_path: Path
) -> None:
    writer.fail_next = True
    challenge = make_challenge()
    ahead.prepare(challenge, *inputs(challenge), kinds=[FORM])
    wait_until_made(writer, 1)
    assert written(ahead, challenge, tmp_path / "out").endswith(b"making 2")


def test_an_iro_note_has_nothing_to_make(ahead: DocumentsAhead, writer: CountingWriter) -> None:
    challenge = make_challenge()
    ahead.prepare(challenge, *inputs(challenge), kinds=[Document.IRO_NOTE])
    ahead.close()
    assert writer.calls == 0


def test_documents_not_taken_in_time_are_let_go(
    ahead: DocumentsAhead, writer: CountingWriter, clock: Clock, tmp_path: Path
) -> None:
    challenge = make_challenge()
    ahead.prepare(challenge, *inputs(challenge), kinds=[FORM])
    wait_until_made(writer, 1)
    clock.now += KEPT_SECONDS + 1
    other = make_challenge(reference="PC-2025-7KQ3XN")
    ahead.prepare(other, *inputs(other), kinds=[FORM])  # lets go of the first
    wait_until_made(writer, 2)
    assert written(ahead, challenge, tmp_path / "out").endswith(b"making 3")


def test_no_more_than_kept_are_held_the_oldest_let_go_first(
    ahead: DocumentsAhead, writer: CountingWriter, tmp_path: Path
) -> None:
    challenges = [make_challenge(concern=f"Concern {n}.") for n in range(KEPT + 1)]
    for n, challenge in enumerate(challenges):
        ahead.prepare(challenge, *inputs(challenge), kinds=[FORM])
        wait_until_made(writer, n + 1)
    assert written(ahead, challenges[-1], tmp_path / "newest").endswith(
        f"making {KEPT + 1}".encode()
    )
    assert written(ahead, challenges[0], tmp_path / "oldest").endswith(
        f"making {KEPT + 2}".encode()
    )


def test_a_burst_of_confirmation_pages_queues_no_more_than_waiting(
    ahead: DocumentsAhead, writer: CountingWriter
) -> None:
    writer.gate.clear()
    concerns = [f"Concern {n}." for n in range(WAITING + 5)]
    for concern in concerns:
        challenge = make_challenge(concern=concern)
        ahead.prepare(challenge, *inputs(challenge), kinds=[FORM])
        assert writer.entered.wait(30)  # the first is under way before the rest queue
    writer.gate.set()
    wait_until_made(writer, 1 + WAITING)
    time.sleep(0.3)  # a making queued beyond WAITING would have started by now
    assert writer.made == concerns[: 1 + WAITING]  # the one under way and those behind it


def test_scratch_left_by_a_killed_server_is_removed_at_start(
    tmp_path: Path, writer: CountingWriter
) -> None:
    scratch = tmp_path / "var" / "ahead"
    (scratch / "0123456789abcdef").mkdir(parents=True)
    (scratch / "0123456789abcdef" / "PC-2025-7KQ3XM-stage-1-form.pdf").write_bytes(b"%PDF")
    DocumentsAhead(Settings(), scratch, lambda kind: writer).close()
    assert not scratch.exists()


def test_the_scratch_is_emptied_after_each_making(
    ahead: DocumentsAhead, writer: CountingWriter, tmp_path: Path
) -> None:
    challenge = make_challenge()
    ahead.prepare(challenge, *inputs(challenge), kinds=[FORM])
    wait_until_made(writer, 1)
    ahead.close()
    assert writer.calls == 1
    assert list((tmp_path / "var" / "ahead").iterdir()) == []


def wait_until_made(writer: CountingWriter, calls: int) -> None:
    deadline = time.monotonic() + 30
    while writer.calls < calls:
        assert time.monotonic() < deadline, f"the writer ran {writer.calls} times, not {calls}"
        time.sleep(0.01)
