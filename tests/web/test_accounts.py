"""Dashboard accounts: Argon2id hashes, sessions that end, the sign-in rate limit, and
the ``formflow users`` commands."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from web_support import FAST_HASHER

from formflow.cli import COMMANDS, main
from formflow.errors import AccountError
from formflow.store.register import Register
from formflow.web.accounts import Accounts, SignInLimiter, users_place

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def accounts(register_url: str) -> Accounts:
    """The users beside the register, on each engine."""
    return Accounts(users_place(register_url), hasher=FAST_HASHER)


def stored_password(accounts: Accounts, name: str) -> str:
    with accounts.write_lock() as run:
        found = run("SELECT password FROM {users} WHERE name = :name", name=name).scalar_one()
    return str(found)


def test_passwords_are_stored_as_argon2id_and_verified(accounts: Accounts) -> None:
    accounts.add("amara", "three random words")
    stored = stored_password(accounts, "amara")
    assert stored.startswith("$argon2id$") and "three random words" not in stored
    assert accounts.verify("amara", "three random words")
    assert not accounts.verify("amara", "three random word")
    assert not accounts.verify("nobody", "three random words")


def test_the_default_hash_is_memory_hard(tmp_path: Path) -> None:
    accounts = Accounts(tmp_path / "users.db")
    accounts.add("amara", "three random words")
    assert "m=65536" in stored_password(accounts, "amara")  # 64 MiB for every guess


def test_the_file_is_owner_only(tmp_path: Path) -> None:
    Accounts(tmp_path / "var" / "users.db", hasher=FAST_HASHER)
    assert (tmp_path / "var" / "users.db").stat().st_mode & 0o777 == 0o600


def test_on_postgresql_the_users_are_tables_of_their_own_beside_the_register(
    home_register: str, tmp_path: Path
) -> None:
    """In the register's database, named apart, left out of the register's tables (so
    never in a copy of it); versioned by the accounts themselves, and opened again as
    they are."""
    Accounts(users_place(home_register), hasher=FAST_HASHER).add("amara", None)
    again = Accounts(users_place(home_register), hasher=FAST_HASHER)
    assert [u.name for u in again.users()] == ["amara"]
    with Register(home_register) as register:
        assert not [t for t in register.tables() if "users" in t or "session" in t]
    on_server = home_register.startswith("postgresql")
    assert (tmp_path / "var" / "users.db").exists() is not on_server
    with again.write_lock() as run:
        assert run("SELECT version FROM {accounts_version}").scalar_one() == 1
    assert again.tables["users"] == ("dashboard_users" if on_server else "users")


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


def test_the_limiter_counts_a_name_and_an_address_together_and_doubles_the_wait(
    accounts: Accounts,
) -> None:
    now = [0.0]
    limiter = SignInLimiter(
        accounts, free=3, first_delay=30, longest_delay=100, clock=lambda: now[0]
    )
    for _ in range(3):
        assert limiter.begin("amara", "198.51.100.7") == 0
    assert limiter.begin("Amara", "198.51.100.7") == 30  # names are not case-sensitive
    assert limiter.begin("amara", "203.0.113.9") == 0  # the holder elsewhere: not slowed
    assert limiter.begin("dylan", "198.51.100.7") == 0  # a colleague at the same desk
    now[0] = 30
    assert limiter.begin("amara", "198.51.100.7") == 0  # the fourth failure: wait 60
    now[0] = 89
    assert limiter.begin("amara", "198.51.100.7") == 1
    now[0] = 90
    assert limiter.begin("amara", "198.51.100.7") == 0  # the fifth: 120, kept to 100
    assert limiter.begin("amara", "198.51.100.7") == 100
    limiter.succeeded("amara", "198.51.100.7")
    assert limiter.begin("amara", "198.51.100.7") == 0


def test_failures_are_forgotten_after_a_day_without_one(accounts: Accounts) -> None:
    now = [0.0]
    limiter = SignInLimiter(accounts, free=1, clock=lambda: now[0])
    assert limiter.begin("amara", "198.51.100.7") == 0
    assert limiter.begin("amara", "198.51.100.7") == 30
    now[0] = 86401
    assert limiter.begin("amara", "198.51.100.7") == 0


def test_parallel_guesses_from_two_processes_get_no_more_checks_than_the_limit(
    register_url: str,
) -> None:
    """Two Accounts on one place are two connections, as two serving processes have:
    the count is checked and raised inside one transaction holding the accounts' write
    lock (SQLite's BEGIN IMMEDIATE, an advisory lock on PostgreSQL), never
    check-then-record."""
    path = users_place(register_url)
    limiters = [SignInLimiter(Accounts(path, hasher=FAST_HASHER), free=5) for _ in range(2)]
    start = threading.Barrier(40)

    def guess(n: int) -> bool:
        start.wait()
        return limiters[n % 2].begin("amara", "198.51.100.7") == 0

    with ThreadPoolExecutor(max_workers=40) as pool:
        allowed = sum(pool.map(guess, range(40)))
    assert allowed == 5


def test_the_users_commands(tmp_path: Path, home_register: str) -> None:
    """On each engine: var/users.db, or the register's PostgreSQL database."""
    assert {"serve", "users"} <= set(COMMANDS)
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    added = runner.invoke(
        main,
        ["users", "add", "amara", "--role", "admin", *home],
        input="three random words\nthree random words\n",
    )
    assert added.exit_code == 0, added.output
    assert "three random words" not in added.output.split("\n", 2)[-1]
    sso = runner.invoke(main, ["users", "add", "dylan", "--role", "viewer", "--sso", *home])
    assert sso.exit_code == 0
    listed = runner.invoke(main, ["users", "list", *home])
    assert "amara" in listed.output and "(password)" in listed.output
    assert "dylan" in listed.output and "single sign-on only" in listed.output
    short = runner.invoke(
        main, ["users", "add", "cara", "--role", "admin", *home], input="tiny\ntiny\n"
    )
    assert short.exit_code == 1 and "too short" in short.output
    changed = runner.invoke(
        main, ["users", "passwd", "amara", *home], input="a brand new password\n" * 2
    )
    assert changed.exit_code == 0
    assert Accounts(users_place(home_register)).verify("amara", "a brand new password")
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
