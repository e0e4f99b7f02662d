"""Who may use the dashboard: accounts, sessions and the sign-in rate limit.

Accounts live in ``var/users.db``, beside the register but not in it: they are the
dashboard's, sessions change on every sign-in, and a copy of the register handed on for
the annual report should carry no password hashes. Passwords are hashed with Argon2id
(argon2-cffi's defaults: 64 MiB, 3 passes, RFC 9106's second recommended setting), so a
stolen file costs an attacker memory as well as time for every guess.

Each user has a role (``formflow.web.access.ROLES``) and may be tied to a person of
``[directory]`` (``person``). A users file from before roles gains the columns when it is
first opened, and its users become ``admin``: they could see everything before, and
``formflow users list`` says so until a role is set for each.

A session is a random token in the signed cookie; only its SHA-256 is stored, with its
expiry, so signing out, removing a user or changing a password ends it at once, and a
copied cookie is refused afterwards even though its signature is still good.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from formflow.errors import AccountError
from formflow.outbox import files

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 12
"""NCSC: length over complexity rules; twelve characters or three random words."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name     TEXT PRIMARY KEY,
    password TEXT,
    created  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    name       TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    expires    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sign_in_failures (
    name     TEXT NOT NULL,
    address  TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last     REAL NOT NULL,
    PRIMARY KEY (name, address)
);
"""


_ROLE_COLUMNS = (
    # users from before roles keep what they had: everything
    "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'",
    "ALTER TABLE users ADD COLUMN person TEXT",
    "ALTER TABLE users ADD COLUMN role_set INTEGER NOT NULL DEFAULT 0",
)


@dataclass(frozen=True)
class User:
    name: str
    created: str
    has_password: bool
    role: str = "admin"
    person: str | None = None
    """The ``[directory]`` person the user is, as challenges name them."""
    role_set: bool = True
    """False for a user from before roles, made ``admin`` by the migration."""


def check_name(name: str) -> str:
    if not USER_NAME.match(name):
        raise AccountError(
            f"{name!r} cannot be a user name: use letters, digits and . _ @ - "
            "(up to 64 characters), starting with a letter or digit."
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters "
            "(three random words are easy to remember)."
        )
    return password


def check_role(role: str) -> str:
    from formflow.web.access import ROLES

    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role: the roles are {', '.join(ROLES)}.")
    return role


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class Accounts:
    """The users file; one connection per thread (SQLite connections are not shared)."""

    def __init__(
        self,
        path: Path,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.hasher = hasher or PasswordHasher()
        self.clock = clock
        self._local = threading.local()
        # A hash to verify against when the name is unknown, so a wrong name takes as
        # long as a wrong password and response times do not list who has an account.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))
        with self._db() as db:
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(users)")}
            if "role" not in columns:
                for statement in _ROLE_COLUMNS:
                    db.execute(statement)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            files.create_private_once(self.path)  # never reopened: see its docstring
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA foreign_keys = ON")
            self._local.db = db
        return db

    @contextmanager
    def write_lock(self) -> Iterator[sqlite3.Connection]:
        """A transaction that holds the file's write lock from its first statement, so
        what it reads cannot change before it writes, in any thread or process."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        db.commit()

    # --- accounts (the ``formflow users`` commands) ---------------------------------

    def add(
        self, name: str, password: str | None, *, role: str = "admin", person: str | None = None
    ) -> None:
        """A new user; ``None`` for a user who signs in only through single sign-on."""
        check_name(name)
        check_role(role)
        hashed = self.hasher.hash(check_password(password)) if password is not None else None
        created = dt.datetime.now().isoformat(timespec="seconds")
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO users (name, password, created, role, person, role_set) "
                    "VALUES (?, ?, ?, ?, ?, 1)",
                    (name, hashed, created, role, person),
                )
        except sqlite3.IntegrityError:
            raise AccountError(
                f"There is already a user {name}; use `formflow users passwd {name}`."
            ) from None

    def remove(self, name: str) -> None:
        with self._db() as db:
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise AccountError(f"There is no user {name}.")

    def set_password(self, name: str, password: str) -> None:
        """A new password, and every session of the user ended."""
        hashed = self.hasher.hash(check_password(password))
        with self._db() as db:
            changed = db.execute("UPDATE users SET password = ? WHERE name = ?", (hashed, name))
            if changed.rowcount == 0:
                raise AccountError(f"There is no user {name}.")
            db.execute("DELETE FROM sessions WHERE name = ?", (name,))

    def set_role(self, name: str, role: str, person: str | None = None) -> None:
        """A new role (and person, when given); their open sessions take it at once."""
        check_role(role)
        with self._db() as db:
            changed = db.execute(
                "UPDATE users SET role = ?, person = coalesce(?, person), role_set = 1 "
                "WHERE name = ?",
                (role, person, name),
            )
            if changed.rowcount == 0:
                raise AccountError(f"There is no user {name}.")

    def _users(self, where: str = "", *args: str) -> list[User]:
        rows = self._db().execute(
            "SELECT name, created, password, role, person, role_set FROM users "
            f"{where} ORDER BY name",
            args,
        )
        return [
            User(name, created, password is not None, role, person, bool(role_set))
            for name, created, password, role, person, role_set in rows
        ]

    def users(self) -> list[User]:
        return self._users()

    def user(self, name: str) -> User | None:
        found = self._users("WHERE name = ?", name)
        return found[0] if found else None

    def exists(self, name: str) -> bool:
        row = self._db().execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone()
        return row is not None

    # --- signing in ---------------------------------------------------------------

    def verify(self, name: str, password: str) -> bool:
        row = self._db().execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
        stored = row[0] if row and row[0] else None
        try:
            self.hasher.verify(stored or self._decoy, password)
        except (VerificationError, InvalidHashError):
            return False
        if stored is None:
            return False
        if self.hasher.check_needs_rehash(stored):
            with self._db() as db:
                db.execute(
                    "UPDATE users SET password = ? WHERE name = ?",
                    (self.hasher.hash(password), name),
                )
        return True

    def start_session(self, name: str, lifetime: dt.timedelta) -> str:
        """A new session token for the cookie (its hash is what is stored)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            db.execute(
                "INSERT INTO sessions (token_hash, name, expires) VALUES (?, ?, ?)",
                (_token_hash(token), name, now + lifetime.total_seconds()),
            )
        return token

    def session_user(self, token: str) -> str | None:
        row = (
            self._db()
            .execute(
                "SELECT name FROM sessions WHERE token_hash = ? AND expires > ?",
                (_token_hash(token), self.clock()),
            )
            .fetchone()
        )
        return str(row[0]) if row else None

    def end_session(self, token: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))


class SignInLimiter:
    """Failed sign-ins counted per user name and address together, each failure past the
    first ``free`` doubling the wait before the next try (``first_delay`` up to
    ``longest_delay``); a success, or a day without failures, forgets them.

    Counting the pair, not the name alone or the address alone, means nobody can keep
    the account holder out: guesses at ``alice`` from elsewhere slow only that elsewhere,
    and behind a proxy each person is their own address (``[web] trusted_proxies``).
    The count is kept in the accounts file, checked and raised in one ``BEGIN IMMEDIATE``
    transaction before the password is checked, so parallel guesses, from threads or from
    two processes serving one home, get no more password checks than the limit allows."""

    def __init__(
        self,
        accounts: Accounts,
        *,
        free: int = 5,
        first_delay: float = 30.0,
        longest_delay: float = 900.0,
        forget_after: float = 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.accounts = accounts
        self.free = free
        self.first_delay = first_delay
        self.longest_delay = longest_delay
        self.forget_after = forget_after
        self.clock = clock

    def delay(self, failures: int) -> float:
        """How long to wait after this many failures in a row."""
        if failures < self.free:
            return 0.0
        return min(self.first_delay * 2.0 ** (failures - self.free), self.longest_delay)

    def begin(self, name: str, address: str) -> float:
        """0 when a password check may go ahead, and it is counted as a failure now (until
        ``succeeded``); else the seconds to wait, and nothing is counted."""
        key = (name.lower()[:64], address)
        with self.accounts.write_lock() as db:
            now = self.clock()  # inside the lock: a time read before it may be overtaken
            db.execute("DELETE FROM sign_in_failures WHERE last < ?", (now - self.forget_after,))
            row = db.execute(
                "SELECT failures, last FROM sign_in_failures WHERE name = ? AND address = ?", key
            ).fetchone()
            failures, last = row if row else (0, now)
            delay = self.delay(failures)
            wait = last + delay - now
            if delay and wait > 0:
                return float(wait)
            db.execute(
                "INSERT OR REPLACE INTO sign_in_failures (name, address, failures, last) "
                "VALUES (?, ?, ?, ?)",
                (*key, failures + 1, now),
            )
        return 0.0

    def succeeded(self, name: str, address: str) -> None:
        with self.accounts.write_lock() as db:
            db.execute(
                "DELETE FROM sign_in_failures WHERE name = ? AND address = ?",
                (name.lower()[:64], address),
            )
