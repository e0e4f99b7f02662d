"""Every content control of a rendered form has its own id. Word keeps only the last of
several controls that share one: the others lose their tags and tick boxes, so the form's
levels, the procedure's own questions and the earlier stages (all rows repeated from one
template row) would stop being fillable fields in Word."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path

from render_fixtures import NELINCS, SETTINGS, TODAY, assessed, document_xml, stage_two

from formflow.core.engine import Respond, apply
from formflow.core.record import Action
from formflow.policy_catalogue import built_in
from formflow.render import write_form, write_next_stage

CONTROL_ID = re.compile(r'<w:sdtPr>(?:(?!</w:sdtPr>).)*?<w:id w:val="([^"]+)"', re.S)


def control_ids(path: Path) -> list[str]:
    return CONTROL_ID.findall(document_xml(path))


def test_a_next_stage_form_with_earlier_stages_and_their_actions_has_unique_ids(
    tmp_path: Path,
) -> None:
    actions = (
        Action("Hold the review", dt.date(2025, 11, 20), "Ifan Jenkins"),
        Action("Visit the placement", dt.date(2025, 11, 21), "Priya Raman"),
    )
    answer = Respond(TODAY, False, "Not agreed.", "Sam Okafor", actions)
    stage_three = apply(stage_two(), answer, NELINCS, SETTINGS.calendar).challenge
    assert len(stage_three.history) == 2 and len(stage_three.history[1].actions) == 2
    [docx, _pdf] = write_next_stage(
        stage_three, NELINCS, SETTINGS, tmp_path, today=TODAY, assessment=assessed(stage_three)
    )
    ids = control_ids(docx)
    assert len(ids) > 100 and all(i.isdigit() for i in ids)
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_a_councils_blank_form_has_unique_ids(tmp_path: Path) -> None:
    catalogue = built_in()
    for policy in (catalogue("nelincs"), catalogue("nottinghamshire")):
        path = write_form(None, policy, SETTINGS, tmp_path / f"{policy.id}.docx", today=TODAY)
        ids = control_ids(path)
        assert len(ids) > 50
        assert [i for i, n in Counter(ids).items() if n > 1] == [], policy.id
