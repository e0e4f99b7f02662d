"""``formflow new``, ``render`` and ``pack`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from render_fixtures import stage_two

from formflow.cli import main


@pytest.mark.parametrize("command", ["new", "render", "pack"])
def test_every_document_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_new_writes_a_blank_form(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["new", "-o", str(tmp_path / "form.docx")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "form.docx").stat().st_size > 0


def test_render_from_a_record(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    record.write_text(json.dumps(stage_two().to_dict()), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["render", "--from", str(record), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "PC-2025-7KQ3XM-stage-2-form.pdf" in result.output


def test_render_refuses_a_file_that_is_not_a_record(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    record.write_text("not json", encoding="utf-8")
    result = CliRunner().invoke(main, ["render", "--from", str(record), "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: Cannot read record.json" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--child-name", "Tegan Example"], "missing: --child-dob, --case-number, --raised-by"),
        (["--child-dob", "09/02/2014"], "write it as YYYY-MM-DD"),
    ],
)
def test_new_explains_an_incomplete_or_wrong_prefill(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["new", *args, "-o", str(tmp_path / "form.docx")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "form.docx").exists()
