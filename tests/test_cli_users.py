"""``formflow users add`` as a person types at it (issue 22): a short password, or two
that differ, asks again; it never ends the command."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner

from formflow.cli import main
from formflow.web.accounts import Accounts


def test_a_short_password_asks_again_and_the_user_is_added(tmp_path: Path) -> None:
    typed = "tiny\nthree random words\nthree random words\n"
    added = CliRunner().invoke(
        main, ["users", "add", "amara", "--home", str(tmp_path)], input=typed
    )
    assert added.exit_code == 0, added.output
    assert "The password is too short: use at least 12 characters" in added.output
    assert added.output.count("Password (at least 12 characters)") == 2
    assert "Added amara." in added.output
    assert Accounts(tmp_path / "var" / "users.db").verify("amara", "three random words")


def test_two_different_passwords_ask_again(tmp_path: Path) -> None:
    typed = "three random words\nthree random wards\nthree random words\nthree random words\n"
    added = CliRunner().invoke(main, ["users", "add", "cara", "--home", str(tmp_path)], input=typed)
    assert added.exit_code == 0, added.output
    assert Accounts(tmp_path / "var" / "users.db").verify("cara", "three random words")


def test_the_hint_to_add_a_user_names_a_command_that_runs(tmp_path: Path) -> None:
    """After `make run` formflow is .venv/bin/formflow, not on the PATH: the hint names
    the program as it can be run from here."""
    listed = CliRunner().invoke(main, ["users", "list", "--home", str(tmp_path)])
    hint = listed.output.split("`")[1]
    program, *words = shlex.split(hint)
    assert words == ["users", "add", "NAME", "--home", str(tmp_path)]
    found = shutil.which(program)
    assert found is not None, f"{program} cannot be run from here"
    added = subprocess.run(
        [found, "users", "add", "dylan", "--sso", "--home", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert added.returncode == 0 and "Added dylan." in added.stdout
