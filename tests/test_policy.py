"""Policy files: every shipped procedure validates, and a council's own file is checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from formflow.core.policy import statutory_warnings
from formflow.core.record import STANDARD_LADDER, Stage
from formflow.errors import PolicyError
from formflow.policy_catalogue import built_in, read_policy_file
from formflow.resources import policies_dir

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"


def test_the_seed_procedures_and_three_councils_are_shipped() -> None:
    assert built_in().ids() == [
        "barnet",
        "cic-issues",
        "nelincs",
        "nottinghamshire",
        "ops-flowchart",
        "peterborough",
        "rotherham",
    ]


@pytest.mark.parametrize("policy_id", built_in().ids())
def test_every_policy_file_validates_and_names_its_seed(policy_id: str) -> None:
    policy = built_in()(policy_id)
    assert policy.id == policy_id
    assert policy.notes, "every seed has inconsistencies worth recording"
    if policy.source_urls:  # a council's published procedure, cited by its address
        return
    for source in policy.source_files:
        assert (SEEDS / source).is_file(), f"{policy_id} names a missing seed {source}"


@pytest.mark.parametrize(
    ("policy_id", "timescales"),
    [
        ("nelincs", {"informal": 1, "1": 5, "2": 5, "3": 5, "4": 5}),
        ("rotherham", {"informal": 10, "1": 5, "2": 5, "3": 5, "4": 10}),
        ("ops-flowchart", {"1": 5, "2": 5, "3": 5, "4": 5}),
        ("cic-issues", {"informal": 5, "1": 5, "2": 5, "3": 5, "4": 5}),
    ],
)
def test_timescales_follow_the_seeds(policy_id: str, timescales: dict[str, int]) -> None:
    policy = built_in()(policy_id)
    assert {s.stage.value: s.timescale.working_days for s in policy.stages} == timescales


def test_nelincs_cumulative_targets() -> None:
    policy = built_in()("nelincs")
    assert [policy.stage(s).cumulative_working_days for s in STANDARD_LADDER] == [
        None,
        None,
        10,
        15,
        20,
    ]


def test_cic_issues_first_contact_within_48_hours() -> None:
    assert built_in()("cic-issues").stage(Stage.INFORMAL).first_contact_within_hours == 48


@pytest.mark.parametrize(
    ("policy_id", "expected"),
    [
        ("nelincs", []),
        ("cic-issues", []),
        ("ops-flowchart", []),
        ("rotherham", ["total 25 working days"]),
    ],
)
def test_statutory_warnings(policy_id: str, expected: list[str]) -> None:
    warnings = statutory_warnings(built_in()(policy_id))
    assert len(warnings) == len(expected)
    for fragment, warning in zip(expected, warnings, strict=True):
        assert fragment in warning


def _council_policy(tmp_path: Path, **changes: object) -> Path:
    data = json.loads((policies_dir() / "nelincs.json").read_text())
    data.update({"id": "northtown", "name": "Northtown procedure"})
    data.update(changes)
    path = tmp_path / "northtown.json"
    path.write_text(json.dumps(data))
    return path


def test_cafcass_open_to_children_not_in_care_is_warned(tmp_path: Path) -> None:
    data = json.loads((policies_dir() / "nelincs.json").read_text())
    cafcass = {**data["cafcass"], "eligible": ["child in care", "child protection plan"]}
    policy = read_policy_file(_council_policy(tmp_path, cafcass=cafcass))
    [warning] = statutory_warnings(policy)
    assert "not in care" in warning and "child protection plan" in warning


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"levels": []}, "levels"),
        ({"raised_by_roles": ["Social Worker"]}, "raised_by_roles"),
        ({"id": "Not An Id"}, "id"),
    ],
)
def test_invalid_policies_are_refused_with_the_place(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        read_policy_file(_council_policy(tmp_path, **changes))


def test_a_level_listed_twice_is_refused(tmp_path: Path) -> None:
    data = json.loads((policies_dir() / "nelincs.json").read_text())
    levels = [*data["levels"], data["levels"][1]]
    with pytest.raises(PolicyError, match="repeated: 1"):
        read_policy_file(_council_policy(tmp_path, levels=levels))


def test_a_revert_to_a_missing_stage_is_refused(tmp_path: Path) -> None:
    data = json.loads((policies_dir() / "ops-flowchart.json").read_text())
    data["levels"][3]["on_actions_not_implemented"] = "informal"
    with pytest.raises(PolicyError, match="does not have"):
        read_policy_file(_council_policy(tmp_path, levels=data["levels"]))


def test_file_name_must_match_id(tmp_path: Path) -> None:
    path = _council_policy(tmp_path)
    path.rename(tmp_path / "other.json")
    with pytest.raises(PolicyError, match=r"name the file northtown\.json"):
        read_policy_file(tmp_path / "other.json")


def test_not_json_is_refused_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"id": "broken",\n  oops}')
    with pytest.raises(PolicyError, match="line 2"):
        read_policy_file(path)


def test_unknown_policy_lists_the_known_ones() -> None:
    with pytest.raises(
        PolicyError, match="nelincs, nottinghamshire, ops-flowchart, peterborough, rotherham"
    ):
        built_in()("nowhere")


def test_a_policy_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = _council_policy(tmp_path)
    catalogue = built_in()
    assert catalogue.read(path) is catalogue.read(path)
    _council_policy(tmp_path, name="Northtown procedure, revised")
    assert catalogue.read(path).name == "Northtown procedure, revised"
