"""The challenge record round-trips through its JSON form and the schema."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from conftest import make_challenge
from formflow.core import record
from formflow.core.record import (
    REFERENCE_PATTERN,
    Action,
    Cafcass,
    Challenge,
    Closure,
    ClosureKind,
    Person,
    Response,
    Stage,
    StageOutcome,
    StageRecord,
    reference_from,
)
from formflow.schema import schema_errors
from formflow.store.register import new_reference


def test_minimal_record_round_trips_and_passes_the_schema() -> None:
    challenge = make_challenge()
    data = challenge.to_dict()
    assert schema_errors("challenge", data) == []
    assert Challenge.from_dict(data) == challenge


def test_full_record_round_trips_and_passes_the_schema() -> None:
    challenge = make_challenge(
        stage=Stage.TWO,
        addressed_to=Person("Dafydd Morgan", "Service Manager"),
        themes=frozenset({"voice_of_child", "placement"}),
        actions=(Action("Review the pathway plan", dt.date(2025, 11, 14), "Ifan Jenkins"),),
        response=Response("Agreed; plan booked.", dt.date(2025, 11, 7), "Dafydd Morgan", True),
        cafcass=Cafcass(True, dt.date(2025, 11, 20), {"nominated_officer_informed": None}),
        closure=Closure(dt.date(2025, 11, 7), ClosureKind.RESOLVED, "Agreed at stage 2."),
        history=(
            StageRecord(
                Stage.ONE,
                dt.date(2025, 10, 27),
                StageOutcome.NOT_RESOLVED,
                due=dt.date(2025, 11, 3),
                addressed_to=Person("Priya Raman", "Team Manager"),
                response=Response("We disagree.", dt.date(2025, 10, 31), "Priya Raman", False),
            ),
        ),
    )
    data = challenge.to_dict()
    assert schema_errors("challenge", data) == []
    assert Challenge.from_dict(data) == challenge


def test_new_references_are_well_formed_and_distinct() -> None:
    references = {new_reference(2025) for _ in range(200)}
    assert len(references) == 200
    assert all(REFERENCE_PATTERN.match(r) for r in references)


def test_the_core_spells_a_reference_from_characters_it_is_given() -> None:
    assert reference_from(2025, "7KQ3XM") == "PC-2025-7KQ3XM"
    with pytest.raises(ValueError, match="is not 6 reference characters"):
        reference_from(2025, "7KQ3XI")  # I is not in the alphabet: it reads as 1


def test_the_core_takes_no_randomness() -> None:
    """The register draws references (issue 24 part 4): no core module imports a source
    of randomness."""
    imported = set()
    for module in Path(record.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert imported.isdisjoint({"secrets", "random", "uuid"}), imported


def test_schema_rejects_a_month_first_date_and_an_unknown_stage() -> None:
    data = make_challenge().to_dict()
    data["date_of_notification"] = "2025-13-03"
    data["stage"] = "Stage 5"
    paths = {tuple(e.absolute_path) for e in schema_errors("challenge", data)}
    assert ("date_of_notification",) in paths
    assert ("stage",) in paths


@pytest.mark.parametrize(
    ("outcome", "resolved"),
    [
        (StageOutcome.RESOLVED, True),
        (StageOutcome.ACTIONS_NOT_IMPLEMENTED, True),
        (StageOutcome.NOT_RESOLVED, False),
        (StageOutcome.RESPONSE_OVERDUE, None),
        (StageOutcome.BYPASSED, None),
    ],
)
def test_an_earlier_stage_outcome_implies_its_answer(
    outcome: StageOutcome, resolved: bool | None
) -> None:
    assert outcome.response_resolved is resolved
