"""A council's procedure saved in its home is the one every command uses.

The home holds ``policies/merton.json`` (a fictional council's procedure: stage 1 in 3
working days) and names it the default in ``formflow.toml``; a seed 003 form filled as
staff fill it is dropped there. ``due``, ``policies``, ``process``, ``tick``, ``status`` and
a real ``watch`` all read the council's file, and a council file that replaces a built-in
id is announced.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_watch_end_to_end import start_watch, stop_watch, wait_for

from formflow.cli import main
from formflow.config import Settings
from formflow.errors import PolicyError
from formflow.outbox.folders import Home
from formflow.policy_catalogue import Origin, PolicyCatalogue
from formflow.resources import policies_dir
from formflow.store.register import Register

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "intake"))
from form_builders import seed_form
from intake_cases import DATE_STYLES, seed_values

MONDAY = dt.date(2025, 11, 3)


def council_policy(
    folder: Path, policy_id: str = "merton", stage_one_days: int = 3, name: str = ""
) -> Path:
    """nelincs, renamed and with its stage 1 timescale changed, saved as a council would."""
    data = json.loads((policies_dir() / "nelincs.json").read_text(encoding="utf-8"))
    data["id"] = policy_id
    data["name"] = name or f"{policy_id.title()} professional challenge procedure (fictional)"
    data["levels"][1]["timescale"] = {"working_days": stage_one_days}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{policy_id}.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    council_policy(root / "policies")
    (root / "formflow.toml").write_text('[council]\ndefault_policy = "merton"\n')
    return root


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def seed_003_form(folder: Path, name: str = "challenge.docx") -> Path:
    """A seed 003 form at stage 1, dated 3 November 2025, no role or status boxes."""
    values = dataclasses.replace(seed_values(DATE_STYLES["03/11/2025"]), stage=1)
    path = folder / name
    path.write_bytes(seed_form(values))
    return path


# --- the catalogue ------------------------------------------------------------------------


def test_the_homes_own_procedure_is_beside_the_built_in_ones(home: Path) -> None:
    catalogue = PolicyCatalogue.for_home(home, Settings())
    assert catalogue.ids() == [
        "barnet",
        "cic-issues",
        "merton",
        "nelincs",
        "nottinghamshire",
        "ops-flowchart",
        "peterborough",
        "rotherham",
    ]
    assert catalogue.entry("merton").folder.origin is Origin.HOME
    assert catalogue("merton").name == "Merton professional challenge procedure (fictional)"
    assert catalogue.notices() == []


def test_a_council_file_overrides_a_built_in_id_with_a_notice(home: Path) -> None:
    council_policy(home / "policies", "nelincs", stage_one_days=2, name="Nelincs, as revised")
    catalogue = PolicyCatalogue.for_home(home, Settings())
    assert catalogue("nelincs").name == "Nelincs, as revised"
    [notice] = catalogue.notices()
    assert str(home / "policies" / "nelincs.json") in notice
    assert str(policies_dir() / "nelincs.json") in notice and "overrides" in notice


def test_the_folder_formflow_toml_names_is_read_last(home: Path) -> None:
    council_policy(home / "shared", "merton", stage_one_days=4, name="Merton from the share")
    council_policy(home / "shared", "sutton")
    (home / "formflow.toml").write_text('[policies]\nfolder = "shared"\n')
    code, out, err = invoke("policies", "list", "--home", str(home))
    assert code == 0, err
    listed = {line.split("\t")[0]: line for line in out.splitlines()}
    assert "formflow.toml" in listed["sutton"] and "formflow.toml" in listed["merton"]
    assert "home" not in listed["nelincs"].split("\t")[2]
    assert "overrides" in err and "merton.json" in err


def test_the_home_may_be_formflows_own_folder_without_overriding_itself() -> None:
    catalogue = PolicyCatalogue.for_home(policies_dir().parent, Settings())
    assert [f.origin for f in catalogue.folders] == [Origin.BUILT_IN]
    assert catalogue.notices() == []


def test_an_unknown_id_names_the_homes_procedures(home: Path) -> None:
    with pytest.raises(PolicyError, match="cic-issues, merton, nelincs"):
        PolicyCatalogue.for_home(home, Settings())("sutton")


def test_an_invalid_council_file_is_refused_not_replaced_by_the_built_in(home: Path) -> None:
    (home / "policies" / "nelincs.json").write_text('{"id": "nelincs"}')
    with pytest.raises(PolicyError, match=r"nelincs\.json is not a valid policy"):
        PolicyCatalogue.for_home(home, Settings())("nelincs")
    code, out, err = invoke("policies", "list", "--home", str(home))
    assert code == 1 and "merton" in out and "nelincs.json is not a valid policy" in err


# --- policies check says whether and how a file is used ----------------------------------------


def test_check_says_a_file_in_the_home_is_used(home: Path) -> None:
    code, out, _ = invoke(
        "policies", "check", str(home / "policies" / "merton.json"), "--home", str(home)
    )
    assert code == 0
    assert "valid policy 'merton'" in out
    assert "Used as 'merton', read from this home's policies folder" in out


def test_check_says_a_file_elsewhere_is_not_used_yet_and_what_it_would_replace(
    home: Path, tmp_path: Path
) -> None:
    draft = council_policy(tmp_path / "drafts", "nelincs")
    code, out, _ = invoke("policies", "check", str(draft), "--home", str(home))
    assert code == 0
    assert "Not used yet: this home reads its own procedures from" in out
    assert str(home / "policies") in out
    assert "override the 'nelincs' procedure read from" in out


def test_check_says_a_file_overridden_by_a_later_folder_is_not_used(home: Path) -> None:
    council_policy(home / "shared", "merton")
    (home / "formflow.toml").write_text('[policies]\nfolder = "shared"\n')
    code, out, _ = invoke(
        "policies", "check", str(home / "policies" / "merton.json"), "--home", str(home)
    )
    assert code == 0
    assert "Not used: " in out and str(home / "shared" / "merton.json") in out


def test_check_on_a_built_in_file_says_where_it_comes_from(home: Path) -> None:
    code, out, _ = invoke(
        "policies", "check", str(policies_dir() / "rotherham.json"), "--home", str(home)
    )
    assert code == 0
    assert "Used as 'rotherham', read from formflow's built-in procedures" in out


# --- every command uses it ---------------------------------------------------------------------


def test_due_and_show_use_the_homes_procedure(home: Path) -> None:
    code, out, err = invoke(
        "due", "--home", str(home), "--policy", "merton", "--stage", "1", "--from", "2025-11-03"
    )
    assert code == 0, err
    assert out.splitlines()[0] == "2025-11-06"
    code, out, _ = invoke("policies", "show", "merton", "--home", str(home))
    assert code == 0 and f"Read from: {home / 'policies' / 'merton.json'} (home)" in out


def test_due_announces_a_council_override(home: Path) -> None:
    council_policy(home / "policies", "nelincs", stage_one_days=1)
    code, out, err = invoke(
        "due", "--home", str(home), "--policy", "nelincs", "--stage", "1", "--from", "2025-11-03"
    )
    assert code == 0
    assert out.splitlines()[0] == "2025-11-04"
    assert err.startswith("Note: The 'nelincs' procedure is read from")


def test_process_then_tick_follow_the_homes_default_procedure(
    home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="formflow.pipeline")
    form = seed_003_form(tmp_path)
    code, out, err = invoke("process", "--home", str(home), str(form))
    assert code == 0, out + err
    reference = out.split()[-1]
    with Register(Home(home).database) as register:
        challenge = register.challenge(reference)
    assert challenge is not None
    assert challenge.policy == "merton"
    assert challenge.child.legal_status is None
    assert [i.field for i in challenge.inferred] == ["raised_by.role"]
    logged = caplog.text
    assert f"{reference} raised_by.role inferred as 'IRO': the name in 'From' is followed" in logged
    assert "Tegan" not in logged and "Morwenna" not in logged
    code, out, _ = invoke("status", "--home", str(home), "--json", "--today", "2025-11-04")
    [row] = json.loads(out)["challenges"]
    assert row["due"] == "2025-11-06"  # merton's 3 working days, not nelincs' 5

    code, out, err = invoke("tick", "--home", str(home), "--today", "2025-11-07")
    assert code == 0, err
    assert f"{reference}  Stage 1 response overdue: escalated to Stage 2" in out


@pytest.mark.slow
def test_watch_uses_the_homes_default_procedure(home: Path, tmp_path: Path) -> None:
    Home(home).create()
    watcher = start_watch(home, tmp_path / "watch.log")
    try:
        seed_003_form(Home(home).inbox)
        wait_for(
            lambda: any(Home(home).outbox.glob("PC-*/*-stage-1-form.docx")),
            60,
            "the stage 1 form in the outbox",
        )
    finally:
        stop_watch(watcher)
    with Register(Home(home).database) as register:
        [challenge] = register.challenges()
    assert challenge.policy == "merton"


def test_the_readmes_steps_add_a_procedure_to_a_fresh_home(tmp_path: Path) -> None:
    """README, "Add your own procedure", step by step."""
    fresh = tmp_path / "fresh"
    (fresh / "policies").mkdir(parents=True)
    code, out, _ = invoke("policies", "show", "nelincs", "--json", "--home", str(fresh))
    assert code == 0 and json.loads(out)["id"] == "nelincs"
    edited = json.loads(out)
    edited.update({"id": "merton", "name": "Merton Council (fictional) challenge procedure"})
    mine = fresh / "policies" / "merton.json"
    mine.write_text(json.dumps(edited, indent=2), encoding="utf-8")
    code, out, _ = invoke("policies", "check", "--home", str(fresh), str(mine))
    assert code == 0 and "Used as 'merton'" in out
    (fresh / "formflow.toml").write_text('[council]\ndefault_policy = "merton"\n')
    code, out, _ = invoke("policies", "list", "--home", str(fresh))
    assert f"merton\tMerton Council (fictional) challenge procedure\thome: {mine}" in out
    code, out, _ = invoke(
        "due", "--home", str(fresh), "--policy", "merton", "--stage", "1", "--from", "2025-11-03"
    )
    assert code == 0 and out.splitlines()[0] == "2025-11-10"


@pytest.mark.parametrize("typed", ["../merton", "policies/merton", "/etc/passwd", "MERTON.json"])
def test_an_id_that_is_not_a_name_never_reaches_a_file(home: Path, typed: str) -> None:
    (home.parent / "merton.json").write_text("{}")  # a file the path would otherwise reach
    with pytest.raises(PolicyError, match="There is no policy"):
        PolicyCatalogue.for_home(home, Settings())(typed)
