"""Every command that reads or writes a home takes ``--home``, and reads its settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from formflow.cli import COMMANDS, main

WITHOUT_A_HOME = {"policies"}  # reads only the procedures shipped with formflow


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - WITHOUT_A_HOME))
def test_every_command_with_a_home_takes_home(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "--home" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["parse", "FORM"],
        ["new", "-o", "OUT/form.docx"],
        ["due", "--policy", "nelincs", "--stage", "1", "--from", "2025-11-03"],
    ],
)
def test_the_settings_are_read_from_the_home(tmp_path: Path, args: list[str]) -> None:
    """A broken formflow.toml in the home is reported: the command read it."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "formflow.toml").write_text("[council\n", encoding="utf-8")
    form = tmp_path / "form.docx"
    form.write_bytes(b"not read")
    args = [a.replace("FORM", str(form)).replace("OUT", str(tmp_path)) for a in args]
    result = CliRunner().invoke(main, [*args, "--home", str(home)])
    assert result.exit_code == 1
    assert f"{home / 'formflow.toml'} is not valid TOML" in result.output + result.stderr
