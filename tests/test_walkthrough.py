"""The README's walk-through, end to end with the real reader, engine, writers and
register: the sample form in, the stage 1 form out; that form answered "not resolved"
and dropped back, the stage 2 form out for the Service Manager; stage 2 resolved with an
agreed action, the final record out; the action not carried out, so the IRO re-opens it
on the final record and the stage 3 form goes out; then the IRO withdraws it on that
form's PDF, and the closure note tells the Head of Service no response is needed."""

from __future__ import annotations

import shutil
from pathlib import Path

from filled_forms import answer, fill_docx, fill_pdf
from formflow.config import Settings
from formflow.engine import Status, status_of
from formflow.pipeline import Outcome, Pipeline, Services
from formflow.policy_catalogue import PolicyCatalogue
from formflow.record import Stage, StageOutcome
from formflow.register import Register
from formflow.watch.folders import Home

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "stage1-challenge.docx"


def test_the_readme_walk_through(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.create()
    with Register(home.database) as register:
        pipeline = Pipeline(
            register, Services(home, Settings(), PolicyCatalogue.for_home(home.root, Settings()))
        )
        dropped = shutil.copy(SAMPLE, home.inbox / SAMPLE.name)
        first = pipeline.handle(Path(dropped))
        assert first.outcome is Outcome.PROCESSED, first.message
        reference = first.reference
        assert reference is not None
        outbox = home.outbox / reference
        assert {p.suffix for p in outbox.iterdir()} == {".docx", ".pdf", ".eml"}
        stage_one = outbox / f"{reference}-stage-1-form.docx"
        raised = register.challenge(reference)
        assert raised is not None and raised.stage is Stage.ONE

        answered = answer(stage_one, home.inbox / "answered.docx", raised.date_of_notification)
        second = pipeline.handle(answered)
        assert second.outcome is Outcome.PROCESSED, second.message
        assert second.reference == reference
        assert (outbox / f"{reference}-stage-2-form.docx").is_file()
        assert (outbox / f"{reference}-stage-2-form.pdf").is_file()
        moved_on = register.challenge(reference)
        assert moved_on is not None and moved_on.stage is Stage.TWO
        assert [h.outcome for h in moved_on.history] == [StageOutcome.NOT_RESOLVED]
        assert moved_on.addressed_to is not None
        assert moved_on.addressed_to.role == "Service Manager"

        on = moved_on.date_of_notification.strftime("%d/%m/%Y")
        resolved = fill_docx(
            outbox / f"{reference}-stage-2-form.docx",
            home.inbox / "resolved.docx",
            {"response_text": "A review is booked.", "action_1": "Hold the review"}
            | {"response_date": on, "action_1_by_when": on},
            ticked=("response_resolved",),
        )
        assert pipeline.handle(resolved).outcome is Outcome.PROCESSED
        final = outbox / f"{reference}-final-record.docx"
        assert final.is_file()

        reopen = fill_docx(
            final,
            home.inbox / "reopen.docx",
            {"iro_decision_reason": "The review was not held."},
            ticked=("iro_decision_reopen",),
        )
        reopened = pipeline.handle(reopen)
        assert reopened.outcome is Outcome.PROCESSED, reopened.message
        assert "not implemented or not effective" in reopened.message
        again = register.challenge(reference)
        assert again is not None and again.stage is Stage.THREE
        assert again.history[-1].outcome is StageOutcome.ACTIONS_NOT_IMPLEMENTED

        withdraw = fill_pdf(
            outbox / f"{reference}-stage-3-form.pdf",
            home.inbox / "withdraw.pdf",
            {"iro_decision_reason": "The review has now been held and the plan agreed."},
            ticked=("iro_decision_withdraw",),
        )
        assert pipeline.handle(withdraw).outcome is Outcome.PROCESSED
        ended = register.challenge(reference)
        assert ended is not None and status_of(ended) is Status.WITHDRAWN
        note = (outbox / f"{reference}-closure-note.eml").read_text()
        assert "No response is needed" in note and "Head of Service" in note
    archived = sorted(p.parent.name for p in home.archive.rglob("*") if p.is_file())
    assert archived == [reference] * 5
