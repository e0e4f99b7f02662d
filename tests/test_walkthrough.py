"""The README's walk-through, end to end with the real reader, engine, writers and
register: the sample form in, the stage 1 form out; that form answered "not resolved"
and dropped back, the stage 2 form out for the Service Manager."""

from __future__ import annotations

import datetime as dt
import shutil
import zipfile
from pathlib import Path

from lxml import etree

from formflow.config import Settings
from formflow.pipeline import Outcome, Pipeline, Services
from formflow.policy_catalogue import PolicyCatalogue
from formflow.record import Stage, StageOutcome
from formflow.register import Register
from formflow.watch.folders import Home

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "stage1-challenge.docx"
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
    assert sorted(p.parent.name for p in home.archive.rglob("*.docx")) == [reference] * 2
