"""``formflow users add`` as a person types at it (issue 22): a short password, or two
that differ, asks again; it never ends the command."""

from __future__ import annotations

import shlex
import shutil
import sqlite3
import subprocess
from pathlib import Path

from click.testing import CliRunner

from formflow.cli import main
from formflow.web.accounts import Accounts


def test_a_short_password_asks_again_and_the_user_is_added(tmp_path: Path) -> None:
    typed = "tiny\nthree random words\nthree random words\n"
    added = CliRunner().invoke(
        main, ["users", "add", "amara", "--role", "admin", "--home", str(tmp_path)], input=typed
    )
    assert added.exit_code == 0, added.output
    assert "The password is too short: use at least 12 characters" in added.output
    assert added.output.count("Password (at least 12 characters)") == 2
    assert "Added amara (admin)." in added.output
    assert Accounts(tmp_path / "var" / "users.db").verify("amara", "three random words")


def test_two_different_passwords_ask_again(tmp_path: Path) -> None:
    typed = "three random words\nthree random wards\nthree random words\nthree random words\n"
    added = CliRunner().invoke(
        main, ["users", "add", "cara", "--role", "viewer", "--home", str(tmp_path)], input=typed
    )
    assert added.exit_code == 0, added.output
    assert Accounts(tmp_path / "var" / "users.db").verify("cara", "three random words")


def test_the_hint_to_add_a_user_names_a_command_that_runs(tmp_path: Path) -> None:
    """After `make run` formflow is .venv/bin/formflow, not on the PATH: the hint names
    the program as it can be run from here."""
    listed = CliRunner().invoke(main, ["users", "list", "--home", str(tmp_path)])
    hint = listed.output.split("`")[1]
    program, *words = shlex.split(hint)
    assert words == ["users", "add", "NAME", "--role", "admin", "--home", str(tmp_path)]
    found = shutil.which(program)
    assert found is not None, f"{program} cannot be run from here"
    added = subprocess.run(
        [found, *words[:2], "dylan", *words[3:], "--sso"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert added.returncode == 0 and "Added dylan (admin)." in added.stdout


DIRECTORY = """
[directory]
"Head of Service" = "hos@example.gov.uk"
"Priya Raman" = { email = "priya.raman@example.gov.uk", role = "Team Manager", team = "Children in Care Team 2" }
"""


def users(home: Path, *words: str) -> tuple[int, str]:
    done = CliRunner().invoke(main, ["users", *words, "--home", str(home)])
    return done.exit_code, done.output


def test_a_manager_is_tied_to_a_directory_person_and_listed_with_their_team(
    tmp_path: Path,
) -> None:
    (tmp_path / "formflow.toml").write_text(DIRECTORY, encoding="utf-8")
    code, said = users(tmp_path, "add", "priya", "--role", "manager", "--sso")
    assert code == 1 and 'with --person "Full Name"' in said
    code, said = users(
        tmp_path, "add", "priya", "--role", "manager", "--person", "Pria Raman", "--sso"
    )
    assert code == 1 and "'Pria Raman' is not in [directory] of formflow.toml" in said
    code, said = users(tmp_path, "add", "priya", "--role", "boss", "--sso")
    assert code == 2 and "'boss' is not a role: the roles are admin, iro-service" in said
    code, said = users(
        tmp_path, "add", "priya", "--role", "manager", "--person", "Priya Raman", "--sso"
    )
    assert code == 0, said
    code, said = users(tmp_path, "list")
    assert "priya  manager  Priya Raman, Children in Care Team 2  added" in said
    code, said = users(tmp_path, "role", "priya", "viewer")
    assert code == 0 and "priya is now viewer." in said
    user = Accounts(tmp_path / "var" / "users.db").user("priya")
    assert user is not None and (user.role, user.person) == ("viewer", "Priya Raman")


def test_users_from_before_roles_become_admin_and_the_list_says_so(tmp_path: Path) -> None:
    """A users file as formflow wrote it before issue 23: no role column."""
    path = tmp_path / "var" / "users.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE users (name TEXT PRIMARY KEY, password TEXT, created TEXT NOT NULL)"
        )
        db.execute("INSERT INTO users VALUES ('amara', NULL, '2025-01-01T09:00:00')")
    db.close()
    code, said = users(tmp_path, "list")
    assert code == 0, said
    assert "amara  admin  added 2025-01-01T09:00:00  (single sign-on only)" in said
    assert "[admin because added before roles: set one with" in said
    assert "users role amara ROLE`]" in said
    users(tmp_path, "role", "amara", "iro-service")
    assert "before roles" not in users(tmp_path, "list")[1]
