"""Dashboard accounts: Argon2id hashes, sessions that end, the sign-in rate limit, and
the ``formflow users`` commands."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from web_support import FAST_HASHER

from formflow.cli import COMMANDS, main
from formflow.errors import AccountError
from formflow.web.accounts import Accounts, SignInLimiter

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    return Accounts(tmp_path / "var" / "users.db", hasher=FAST_HASHER)


def test_passwords_are_stored_as_argon2id_and_verified(accounts: Accounts) -> None:
    accounts.add("amara", "three random words")
    stored = accounts._db().execute("SELECT password FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "three random words" not in stored
    assert accounts.verify("amara", "three random words")
    assert not accounts.verify("amara", "three random word")
    assert not accounts.verify("nobody", "three random words")


def test_the_default_hash_is_memory_hard(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "users.db")
    accounts.add("amara", "three random words")
    stored = accounts._db().execute("SELECT password FROM users").fetchone()[0]
    assert "m=65536" in stored  # 64 MiB for every guess


def test_the_file_is_owner_only(accounts: Accounts) -> None:
    assert accounts.path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("amara", "short", "too short"),
        ("", "three random words", "cannot be a user name"),
        ("<script>", "three random words", "cannot be a user name"),
        ("a b", "three random words", "cannot be a user name"),
    ],
)
def test_unusable_names_and_passwords_are_explained(
    accounts: Accounts, name: str, password: str, message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        accounts.add(name, password)


def test_a_user_added_twice_is_refused(accounts: Accounts) -> None:
    accounts.add("amara", "three random words")
    with pytest.raises(AccountError, match="already a user"):
        accounts.add("amara", "another three words")


def test_a_single_sign_on_user_cannot_sign_in_with_any_password(accounts: Accounts) -> None:
    accounts.add("dylan", None)
    assert accounts.exists("dylan")
    assert not accounts.verify("dylan", "")
    assert not accounts.verify("dylan", "three random words")


def test_sessions_expire_and_end_on_sign_out(accounts: Accounts) -> None:
    accounts.add("amara", "three random words")
    now = [1000.0]
    accounts.clock = lambda: now[0]
    token = accounts.start_session("amara", HOUR)
    assert accounts.session_user(token) == "amara"
    assert accounts.session_user(token + "x") is None
    now[0] += 3601
    assert accounts.session_user(token) is None
    other = accounts.start_session("amara", HOUR)
    accounts.end_session(other)
    assert accounts.session_user(other) is None


def test_removing_a_user_or_changing_the_password_ends_their_sessions(accounts: Accounts) -> None:
    accounts.add("amara", "three random words")
    accounts.add("dylan", "four random words here")
    first = accounts.start_session("amara", HOUR)
    accounts.set_password("amara", "a brand new password")
    assert accounts.session_user(first) is None
    assert accounts.verify("amara", "a brand new password")
    second = accounts.start_session("dylan", HOUR)
    accounts.remove("dylan")
    assert accounts.session_user(second) is None
    with pytest.raises(AccountError, match="no user"):
        accounts.remove("dylan")


def test_the_limiter_refuses_after_the_limit_until_the_window_passes() -> None:
    now = [0.0]
    limiter = SignInLimiter(attempts=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.wait_seconds("name:amara", "addr:1") == 0
        limiter.failed("name:amara", "addr:1")
    assert limiter.wait_seconds("name:amara", "addr:2") == 60
    assert limiter.wait_seconds("name:dylan", "addr:1") == 60  # the same address
    assert limiter.wait_seconds("name:dylan", "addr:2") == 0
    now[0] = 61
    assert limiter.wait_seconds("name:amara", "addr:1") == 0


def test_the_users_commands(tmp_path: Path) -> None:
    assert {"serve", "users"} <= set(COMMANDS)
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    added = runner.invoke(
        main, ["users", "add", "amara", *home], input="three random words\nthree random words\n"
    )
    assert added.exit_code == 0, added.output
    assert "three random words" not in added.output.split("\n", 2)[-1]
    sso = runner.invoke(main, ["users", "add", "dylan", "--sso", *home])
    assert sso.exit_code == 0
    listed = runner.invoke(main, ["users", "list", *home])
    assert "amara" in listed.output and "(password)" in listed.output
    assert "dylan" in listed.output and "single sign-on only" in listed.output
    short = runner.invoke(main, ["users", "add", "cara", *home], input="short\nshort\n")
    assert short.exit_code == 1 and "too short" in short.output
    changed = runner.invoke(
        main, ["users", "passwd", "amara", *home], input="a brand new password\n" * 2
    )
    assert changed.exit_code == 0
    assert Accounts(tmp_path / "var" / "users.db").verify("amara", "a brand new password")
    missing = runner.invoke(main, ["users", "passwd", "nobody", *home])
    assert missing.exit_code == 1 and "no user nobody" in missing.output
    removed = runner.invoke(main, ["users", "remove", "dylan", *home])
    assert removed.exit_code == 0
    assert "dylan" not in runner.invoke(main, ["users", "list", *home]).output


def test_serve_says_plainly_when_its_port_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # in a process of its own: waitress leaves a socket unclosed when it cannot bind
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "formflow.cli",
                "serve",
                "--home",
                str(tmp_path),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1 port {port}" in result.stderr
    assert "[web] port" in result.stderr
