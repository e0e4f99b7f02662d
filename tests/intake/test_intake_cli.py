"""``formflow parse``: JSON on success, reasons on stderr and exit 1 on rejection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from form_builders import Style, official_form
from intake_cases import OFFICIAL

from formflow.cli import main

GOOD = {**OFFICIAL, "date_of_notification": "03/11/2025", "child_date_of_birth": "09/02/2014"}


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_parse_prints_the_record_as_json(in_tmp: Path) -> None:
    (in_tmp / "-odd name é.docx").write_bytes(official_form(GOOD, Style.CONTROLS))
    result = CliRunner().invoke(main, ["parse", "--", "-odd name é.docx"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["child"]["name"] == "Tegan Example"
    assert record["outcome_impact"].startswith("Tegan needs a plan")
    assert result.stdout.startswith('{\n  "reference": null')


def test_parse_policy_option_overrides_the_form(in_tmp: Path) -> None:
    (in_tmp / "form.docx").write_bytes(official_form(GOOD, Style.CONTROLS))
    result = CliRunner().invoke(main, ["parse", "form.docx", "--policy", "rotherham"])
    assert json.loads(result.stdout)["policy"] == "rotherham"


def test_parse_rejection_lists_reasons_on_stderr(in_tmp: Path) -> None:
    bad = {**GOOD, "date_of_notification": "", "child_name": ""}
    (in_tmp / "form.docx").write_bytes(official_form(bad, Style.CONTROLS))
    result = CliRunner().invoke(main, ["parse", "form.docx"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "form.docx was not accepted:",
        "- 'Date of Notification' is empty: enter the date the challenge was raised, such as 03/11/2025.",
        "- 'Name of Child' is empty: enter the child's full name.",
    ]


def test_parse_json_flag_reports_a_rejection_as_json(in_tmp: Path) -> None:
    (in_tmp / "notes.docx").write_bytes(b"not a form")
    result = CliRunner().invoke(main, ["parse", "--json", "notes.docx"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["file"] == "notes.docx"
    assert payload["accepted"] is False
    assert len(payload["reasons"]) == 1


def test_parse_config_with_unknown_default_policy_is_an_error(in_tmp: Path) -> None:
    (in_tmp / "form.docx").write_bytes(official_form({**GOOD, "policy": ""}, Style.CONTROLS))
    (in_tmp / "formflow.toml").write_text('[council]\ndefault_policy = "atlantis"\n')
    result = CliRunner().invoke(main, ["parse", "form.docx", "--config", "formflow.toml"])
    assert result.exit_code == 1
    assert "There is no policy 'atlantis'" in result.stderr


def test_parse_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["parse", "--help"])
    assert "Example:\n    formflow parse inbox/challenge-stage1.docx" in result.output
