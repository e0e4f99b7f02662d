"""The README's walk-through, end to end with the real reader, engine, writers and
register: the sample form in, the stage 1 form out; that form answered "not resolved"
and dropped back, the stage 2 form out for the Service Manager."""

from __future__ import annotations

import shutil
from pathlib import Path

from filled_forms import answer
from formflow.config import Settings
from formflow.pipeline import Outcome, Pipeline, Services
from formflow.record import Stage, StageOutcome
from formflow.register import Register
from formflow.watch.folders import Home

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "stage1-challenge.docx"


def test_the_readme_walk_through(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.create()
    with Register(home.database) as register:
        pipeline = Pipeline(register, Services(home, Settings()))
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
    assert sorted(p.parent.name for p in home.archive.rglob("*.docx")) == [reference] * 2
