"""Shared by the render tests: a fictional challenge moved to stage 2 by the engine."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path

from conftest import make_challenge
from formflow.config import Settings
from formflow.core.engine import Assessment, Respond, apply, assess
from formflow.core.policy import Policy
from formflow.core.record import Action, Challenge, Person
from formflow.policy_catalogue import built_in

TODAY = dt.date(2025, 11, 7)
SETTINGS = Settings(council_name="Northtown Council")
NELINCS = built_in()("nelincs")


def stage_one(**overrides: object) -> Challenge:
    base: dict[str, object] = {
        "addressed_to": Person("Priya Raman", "Team Manager"),
        "themes": frozenset({"voice_of_child", "placement"}),
        "outcome_impact": "Tegan does not know where she will live next year.",
        "actions": (Action("Review the pathway plan", dt.date(2025, 11, 10), "Ifan Jenkins"),),
    }
    return make_challenge(**{**base, **overrides})


def stage_two(**overrides: object) -> Challenge:
    """Stage 1 answered not resolved on 7 November 2025: now at stage 2 with one earlier stage."""
    answer = Respond(TODAY, False, "We cannot agree the plan.\nA second line.", "Priya Raman")
    moved = apply(stage_one(**overrides), answer, NELINCS, SETTINGS.calendar).challenge
    return replace(moved, addressed_to=Person("Sam Okafor", moved.addressed_to.role))


def assessed(challenge: Challenge, policy: Policy = NELINCS) -> Assessment:
    """The challenge's assessment on ``TODAY``, as the pipeline hands it to the writers."""
    return assess(challenge, policy, SETTINGS.calendar, TODAY)


def document_xml(path: Path) -> str:
    return zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")


def docx_text(path: Path) -> str:
    """The visible text of a .docx, line breaks as newlines."""
    xml = re.sub(r"<w:br/>", "\n", document_xml(path))
    xml = re.sub(r"</w:p>", "\n", xml)
    return (
        re.sub(r"<[^>]+>", "", xml).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


def strip_tags(path: Path, target: Path) -> Path:
    """The .docx as LibreOffice saves it: every content control's w:tag and w:alias gone."""
    source = zipfile.ZipFile(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = re.sub(rb'<w:(?:tag|alias) w:val="[^"]*"/>', b"", data)
            out.writestr(item, data)
    target.write_bytes(buffer.getvalue())
    return target
