"""The README's walk-through, end to end with the real reader, engine, writers and
register: the example settings and today's sample form (as `make run` makes them) in,
the stage 1 form out, addressed, from the named council, not overdue; that form answered
"not resolved" and dropped back, the stage 2 form out for the Service Manager."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

from click.testing import CliRunner
from lxml import etree

from formflow.cli import main
from formflow.config import load_settings
from formflow.engine import assess
from formflow.notices import read_eml, unaddressed
from formflow.pipeline import Outcome, Pipeline, Services
from formflow.policy import load_policy
from formflow.record import Role, Stage, StageOutcome
from formflow.register import Register
from formflow.watch.folders import Home

REPOSITORY = Path(__file__).resolve().parents[1]
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"


def answer(form: Path, target: Path, on: dt.date) -> Path:
    """The manager's answer typed into the form's controls, as Word saves it."""
    typed = {
        "response_text": "We do not agree that the plan has drifted.",
        "response_by": "Priya Raman",
        "response_date": on.strftime("%d/%m/%Y"),
    }
    with zipfile.ZipFile(form) as source:
        parts = {i.filename: source.read(i.filename) for i in source.infolist()}
    root = etree.fromstring(parts["word/document.xml"])
    for sdt in root.iter(W + "sdt"):
        tag = sdt.find(f"{W}sdtPr/{W}tag")
        name = tag.get(W + "val") if tag is not None else None
        texts = list(sdt.iter(W + "t"))
        if name in typed:
            texts[0].text = typed[name]
        elif name == "response_not_resolved":
            sdt.find(f".//{W14}checked").set(W14 + "val", "1")  # type: ignore[union-attr]
            texts[0].text = "☒"
    parts["word/document.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    with zipfile.ZipFile(target, "w") as out:
        for name, content in parts.items():
            out.writestr(name, content)
    return target


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
    with Register(home.database) as register:
        pipeline = Pipeline(register, Services(home, settings))
        dropped = shutil.copy(sample, home.inbox / sample.name)
        first = pipeline.handle(Path(dropped))
        assert first.outcome is Outcome.PROCESSED, first.message
        reference = first.reference
        assert reference is not None
        outbox = home.outbox / reference
        assert {p.suffix for p in outbox.iterdir()} == {".docx", ".pdf", ".eml"}
        stage_one = outbox / f"{reference}-stage-1-form.docx"
        raised = register.challenge(reference)
        assert raised is not None and raised.stage is Stage.ONE
        now = assess(raised, load_policy(raised.policy), settings.calendar, dt.date.today())
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
        assert moved_on is not None and moved_on.stage is Stage.TWO
        assert [h.outcome for h in moved_on.history] == [StageOutcome.NOT_RESOLVED]
        assert moved_on.addressed_to is not None
        assert moved_on.addressed_to.role == "Service Manager"
    assert sorted(p.parent.name for p in home.archive.rglob("*.docx")) == [reference] * 2


def test_the_example_settings_address_every_role_of_their_procedure() -> None:
    """Every draft under the example's default procedure is addressed: its directory has
    each stage's responder and copy list, the CAFCASS notifications and both raisers."""
    settings = load_settings(REPOSITORY / "formflow.example.toml")
    policy = load_policy(settings.default_policy)
    directory = settings.raw["directory"]
    roles = {r.value for r in Role} | set(policy.cafcass.notifications)
    for stage in policy.stages:
        roles |= {stage.responder, *stage.copy_to}
    assert roles <= set(directory), roles - set(directory)
    assert settings.calendar.closure_days
