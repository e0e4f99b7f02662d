"""The README's walk-through, end to end with the real reader, engine, writers and
register: the example settings and today's sample form (as `make run` makes them) in,
the stage 1 form out, addressed, from the named council, not overdue; that form answered
"not resolved" and dropped back, the stage 2 form out for the Service Manager; stage 2
resolved with an agreed action, the final record out; the action not carried out, so
the IRO re-opens it on the final record and the stage 3 form goes out; then the IRO
withdraws it on that form's PDF, and the closure note tells the Head of Service no
response is needed."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

from click.testing import CliRunner

from filled_forms import answer, fill_docx, fill_pdf
from formflow.cli import main
from formflow.config import load_settings
from formflow.core.engine import Status, assess, status_of
from formflow.core.record import Role, Stage, StageOutcome
from formflow.outbox.folders import Home
from formflow.pipeline import Outcome, Pipeline, Services
from formflow.pipeline.notices import read_eml, unaddressed
from formflow.policy_catalogue import PolicyCatalogue
from formflow.store.register import Register

REPOSITORY = Path(__file__).resolve().parents[1]


def first_run(home: Home) -> Path:
    """What `make run` does before it watches: the example settings, today's sample."""
    shutil.copy(REPOSITORY / "formflow.example.toml", home.root / "formflow.toml")
    sample = home.root / "samples" / "stage1-challenge.docx"
    sample.parent.mkdir()
    made = CliRunner().invoke(
        main, ["new", "--sample", "--home", str(home.root), "-o", str(sample)]
    )
    assert made.exit_code == 0, made.output
    return sample


def test_the_readme_walk_through(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.create()
    sample = first_run(home)
    settings = load_settings(home=home.root)
    assert settings.council_name == "Northtown Council"
    policies = PolicyCatalogue.for_home(home.root, settings)
    with Register(home.database) as register:
        pipeline = Pipeline(register, Services(home, settings, policies))
        dropped = shutil.copy(sample, home.inbox / sample.name)
        first = pipeline.handle(Path(dropped))
        assert first.outcome is Outcome.PROCESSED, first.message
        reference = first.reference
        assert reference is not None
        outbox = home.outbox / reference
        assert {p.suffix for p in outbox.iterdir()} == {".docx", ".pdf", ".eml"}
        stage_one = outbox / f"{reference}-stage-1-form.docx"
        raised = register.challenge(reference)
        assert raised is not None and raised.stage == Stage.ONE
        now = assess(raised, policies(raised.policy), settings.calendar, dt.date.today())
        assert not now.overdue, "the first challenge arrived overdue"
        draft = read_eml(outbox / f"{reference}-stage-1-form.eml")
        assert unaddressed(draft) == []
        assert str(draft["To"]) == '"Priya Raman, Team Manager" <priya.raman@northtown.example>'
        assert "Northtown Council" in zipfile.ZipFile(stage_one).read("word/document.xml").decode()

        answered = answer(stage_one, home.inbox / "answered.docx", raised.date_of_notification)
        second = pipeline.handle(answered)
        assert second.outcome is Outcome.PROCESSED, second.message
        assert second.reference == reference
        assert (outbox / f"{reference}-stage-2-form.docx").is_file()
        assert (outbox / f"{reference}-stage-2-form.pdf").is_file()
        moved_on = register.challenge(reference)
        assert moved_on is not None and moved_on.stage == Stage.TWO
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
        assert again is not None and again.stage == Stage.THREE
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


def test_the_example_settings_address_every_role_of_their_procedure() -> None:
    """Every draft under the example's default procedure is addressed: its directory has
    each stage's responder and copy list, the CAFCASS notifications and both raisers."""
    settings = load_settings(REPOSITORY / "formflow.example.toml")
    policy = PolicyCatalogue.for_home(REPOSITORY, settings)(settings.default_policy)
    directory = settings.raw["directory"]
    roles = {r.value for r in Role} | set(policy.cafcass.notifications)
    for stage in policy.stages:
        roles |= {stage.responder, *stage.copy_to}
    assert roles <= set(directory), roles - set(directory)
    assert settings.calendar.closure_days
