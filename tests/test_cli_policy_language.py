"""The policy language on the command line: a council's version 2 procedure in its home
shown, checked and counted by ``due``; a version 1 file checked and migrated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from formflow.cli import main

DATA = Path(__file__).parent / "data"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "policies").mkdir()
    shutil.copy(DATA / "policies" / "northtown.json", tmp_path / "policies")
    return tmp_path


def test_show_says_every_level_as_the_procedure_writes_it(home: Path) -> None:
    code, out, _ = invoke("policies", "show", "northtown", "--home", str(home))
    assert code == 0, out
    lines = out.splitlines()
    assert any(
        line.strip().startswith(
            "Case Alert: ATM or TM, 5 working days; counted from "
            "'Date of the review or conference';"
        )
        and "on a missed deadline, the IRO decides" in line
        and "may be bypassed (where the child is at risk of significant harm)" in line
        for line in lines
    ), out
    assert "Chair's Alert: Head of Service, 48 hours; for CP chair only" in out
    assert "Management Alert: IRO and Head of QA jointly, 10 calendar days" in out
    assert "Director: responder not stated in the source, timescale not stated in the source" in out
    assert "Form field: Alert type [alert_type, choice] (Case Alert, Management Alert)" in out


def test_check_warns_for_each_value_the_source_does_not_state(home: Path) -> None:
    path = home / "policies" / "northtown.json"
    code, out, _ = invoke("policies", "check", "--home", str(home), str(path))
    assert code == 0
    assert "Warning: Director: the source does not state timescale (at levels[5]" in out
    assert "Warning: Director: the source does not state responder (at levels[5]" in out
    assert "valid policy 'northtown' with 2 warning(s)" in out
    assert "version 1" not in out


@pytest.mark.parametrize(
    ("extra", "first_line", "sentence"),
    [
        (
            ("--field", "review_date=2025-11-03"),
            "2025-11-10",
            "the ATM or TM responds within 5 working days of the form's "
            "'Date of the review or conference'.",
        ),
        ((), "none", ""),
    ],
)
def test_due_counts_from_the_review_date_the_form_gives(
    home: Path, extra: tuple[str, ...], first_line: str, sentence: str
) -> None:
    code, out, err = invoke(
        "due", "--home", str(home), "--policy", "northtown", "--stage", "case-alert",
        "--from", "2025-11-04", *extra,
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0] == first_line
    assert sentence in out


def test_due_for_a_level_as_agreed_prints_none_and_why(home: Path) -> None:
    code, out, _ = invoke(
        "due", "--home", str(home), "--policy", "northtown", "--stage", "pre-formal",
        "--from", "2025-11-03", "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["due"] is None and data["working_days"] is None
    assert data["level"] == "Pre-formal"
    assert data["timescale"] == "no fixed timescale (a timescale appropriate to the child's needs)"


@pytest.mark.parametrize(
    ("stage", "message"),
    [("Stage 9!", "is not a level id"), ("stage-9", "Its levels are: pre-formal, case-alert")],
)
def test_due_names_the_procedures_levels_for_a_wrong_one(
    home: Path, stage: str, message: str
) -> None:
    code, _, err = invoke(
        "due", "--home", str(home), "--policy", "northtown", "--stage", stage,
        "--from", "2025-11-03",
    )  # fmt: skip
    assert code == 2
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("policy_id", ["cic-issues", "nelincs", "ops-flowchart", "rotherham"])
def test_migrate_prints_exactly_the_version_2_file(policy_id: str) -> None:
    code, out, _ = invoke("policies", "migrate", str(DATA / "policy-v1" / f"{policy_id}.json"))
    assert code == 0
    assert out == (DATA / "policy-v1-migrated" / f"{policy_id}.json").read_text(encoding="utf-8")


def test_a_version_1_file_in_a_home_is_checked_used_and_said_to_be_version_1(
    tmp_path: Path,
) -> None:
    (tmp_path / "policies").mkdir()
    old = json.loads((DATA / "policy-v1" / "nelincs.json").read_text())
    old.update(id="merton", name="Merton (fictional, version 1)")
    path = tmp_path / "policies" / "merton.json"
    path.write_text(json.dumps(old))
    code, out, _ = invoke("policies", "check", "--home", str(tmp_path), str(path))
    assert code == 0
    assert "merton.json is in the version 1 policy language" in out
    assert f"formflow policies migrate {path}" in out
    code, out, _ = invoke(
        "due", "--home", str(tmp_path), "--policy", "merton", "--stage", "1",
        "--from", "2025-12-22",
    )  # fmt: skip
    assert code == 0 and out.splitlines()[0] == "2025-12-31"


def test_migrate_refuses_a_file_that_is_not_a_policy(tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text('{"stages": "several"}')
    code, _, err = invoke("policies", "migrate", str(path))
    assert code == 1
    assert "notes.json is not a valid policy" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("stage", "code", "message"),
    [
        ("Stage 9!", 2, "is not a level id"),
        ("3", 1, "The northtown procedure has no level '3': give --stage one of pre-formal"),
    ],
)
def test_new_refuses_a_level_the_procedure_does_not_have(
    home: Path, stage: str, code: int, message: str
) -> None:
    exit_code, _, err = invoke(
        "new", "--home", str(home), "--policy", "northtown", "--stage", stage,
        "--child-name", "Tegan Example", "--child-dob", "2014-02-09", "--case-number",
        "LCS-000123", "--raised-by", "Morwenna Pentreath", "-o", str(home / "form.docx"),
    )  # fmt: skip
    assert exit_code == code
    assert message in err and "Traceback" not in err
    assert not (home / "form.docx").exists()
