"""Who may use the dashboard: accounts, sessions and the sign-in rate limit.

Accounts live beside the register, on the same engine, but not in its tables: they are
the dashboard's, sessions change on every sign-in, and a copy of the register handed on
for the annual report should carry no password hashes. With the register in SQLite they
are a file of their own, ``var/users.db``; with the register on PostgreSQL they are
tables in its database whose names start with ``dashboard_`` (``DASHBOARD_TABLES``), so
they never clash with the register's, which leaves them out of its copies and checks.
Their schema is theirs: created and versioned here (``_SCHEMA``), never by the register's
migrations. Passwords are hashed with Argon2id (argon2-cffi's defaults: 64 MiB, 3 passes,
RFC 9106's second recommended setting), so a stolen copy costs an attacker memory as well
as time for every guess.

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
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection

from formflow.errors import AccountError
from formflow.outbox import files
from formflow.outbox.folders import Home
from formflow.store.register import DASHBOARD_TABLES, is_server_url, shown_url

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 12
"""NCSC: length over complexity rules; twelve characters or three random words."""

USERS_FILE = "users.db"
"""The accounts' own file beside a register in SQLite (``var/users.db``)."""

_SCHEMA = (
    # 1: users with their roles, sessions, and failed sign-ins by name and address.
    """
    CREATE TABLE IF NOT EXISTS {users} (
        name     TEXT PRIMARY KEY,
        password TEXT,
        created  TEXT NOT NULL,
        role     TEXT NOT NULL DEFAULT 'admin',
        person   TEXT,
        role_set INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS {sessions} (
        token_hash TEXT PRIMARY KEY,
        name       TEXT NOT NULL REFERENCES {users} (name) ON DELETE CASCADE,
        expires    DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE IF NOT EXISTS {sign_in_failures} (
        name     TEXT NOT NULL,
        address  TEXT NOT NULL,
        failures INTEGER NOT NULL,
        last     DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (name, address)
    )
    """,
)
"""The accounts' schema, step by step; the number of steps taken is kept in the one row
of ``accounts_version``. ``{table}`` is each table's name on the engine."""

_ROLE_COLUMNS = (
    # users from before roles keep what they had: everything
    "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'",
    "ALTER TABLE users ADD COLUMN person TEXT",
    "ALTER TABLE users ADD COLUMN role_set INTEGER NOT NULL DEFAULT 0",
)
"""A users file from before roles (and before ``accounts_version``) brought to step 1,
whose ``IF NOT EXISTS`` then adds what else such a file lacks."""

ACCOUNTS_LOCK = 0x666F726D75736572  # "formuser" in ASCII
"""The advisory lock a writing transaction of the accounts takes first on PostgreSQL, as
SQLite's ``BEGIN IMMEDIATE`` takes the file's: another key than the register's writers'."""


def users_place(register: str | Path) -> str | Path:
    """Where the accounts of the register at ``register`` live: the same PostgreSQL
    database, or ``users.db`` beside the SQLite file."""
    return register if is_server_url(register) else Path(register).parent / USERS_FILE


def accounts_at(place: str | Path) -> bool:
    """Whether accounts were ever made at ``place`` (looked at without making them, so a
    register copied from is left as it was)."""
    if not is_server_url(place):
        return Path(place).exists()
    engine = sa.create_engine(_server_url(str(place)))
    try:
        with engine.connect() as db:
            return sa.inspect(db).has_table(DASHBOARD_TABLES + "users")
    finally:
        engine.dispose()


@contextmanager
def users_copied(source: str | Path, target: str | Path) -> Iterator[Callable[[], int]]:
    """The dashboard's users beside the ``source`` register (a SQLite file or a URL), to
    copy beside ``target``'s once the register is across (``register copy``, ``backup``,
    ``restore``): refused here, before anything is copied, where ``target`` already has
    users. A register with no accounts beside it has none to copy."""
    origin = users_place(source)
    if not accounts_at(origin):
        yield lambda: 0
        return
    with closing(Accounts(origin)) as from_, closing(Accounts(users_place(target))) as to:
        to.refuse_users()
        yield lambda: from_.copy_users_to(to)


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


def _server_url(url: str) -> sa.URL:
    """The register's URL, spoken through psycopg 3 as the register speaks it."""
    return sa.engine.make_url(url).set(drivername="postgresql+psycopg")


def _sqlite_engine(path: Path) -> sa.Engine:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    files.create_private_once(path)  # never reopened: see its docstring
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})
    sa.event.listen(engine, "connect", lambda db, _record: db.execute("PRAGMA foreign_keys = ON"))
    return engine


@dataclass(frozen=True)
class _Statements:
    """Statements run on one connection, each ``{table}`` named as on its engine."""

    db: Connection
    tables: dict[str, str]

    def __call__(self, statement: str, **values: Any) -> sa.CursorResult[*tuple[Any, ...]]:
        return self.db.execute(sa.text(statement.format(**self.tables)), values)

    def many(self, statement: str, rows: list[dict[str, Any]]) -> None:
        self.db.execute(sa.text(statement.format(**self.tables)), rows)


class Accounts:
    """The accounts at ``database``: a SQLite file (``var/users.db``) or the PostgreSQL
    database of the register (``users_place``). Each call takes a connection from the
    pool and gives it back, so that any thread may use one ``Accounts``."""

    def __init__(
        self,
        database: str | Path,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.on_server = is_server_url(database)
        self.shown = shown_url(str(database)) if self.on_server else str(database)
        prefix = DASHBOARD_TABLES if self.on_server else ""
        self.tables = {
            t: prefix + t for t in ("users", "sessions", "sign_in_failures", "accounts_version")
        }
        self.engine = (
            sa.create_engine(
                _server_url(str(database)),
                pool_pre_ping=True,  # a server restarted meanwhile: a fresh connection
            )
            if self.on_server
            else _sqlite_engine(Path(database))
        )
        self.hasher = hasher or PasswordHasher()
        self.clock = clock
        # A hash to verify against when the name is unknown, so a wrong name takes as
        # long as a wrong password and response times do not list who has an account.
        self._decoy = self.hasher.hash(secrets.token_urlsafe(16))
        # The connections are kept in a pool (a new one to a server costs more than the
        # page it serves) and closed with the Accounts, or when it is dropped.
        self._closing = weakref.finalize(self, self.engine.dispose)
        self._take_schema_steps()

    @classmethod
    def of(cls, home: Home, **options: Any) -> Accounts:
        """The accounts beside ``home``'s register."""
        return cls(users_place(home.register), **options)

    def close(self) -> None:
        self._closing()

    @contextmanager
    def _statements(self) -> Iterator[_Statements]:
        """A connection whose statements each commit at once (but in ``write_lock``)."""
        try:
            with self.engine.connect() as db:
                yield _Statements(db.execution_options(isolation_level="AUTOCOMMIT"), self.tables)
        except sa.exc.OperationalError as exc:
            raise AccountError(
                f"Cannot open the dashboard's users at {self.shown}: {exc.orig}."
            ) from exc

    def _run(self, statement: str, **values: Any) -> list[sa.Row[*tuple[Any, ...]]]:
        with self._statements() as run:
            return list(run(statement, **values))

    def _change(self, statement: str, **values: Any) -> int:
        """How many rows ``statement`` changed."""
        with self._statements() as run:
            return run(statement, **values).rowcount

    @contextmanager
    def write_lock(self) -> Iterator[_Statements]:
        """A transaction that holds the accounts' write lock from its first statement, so
        what it reads cannot change before it writes, in any thread or process."""
        with self._statements() as run:
            if self.on_server:
                run.db.exec_driver_sql("BEGIN")
                run.db.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ACCOUNTS_LOCK})")
            else:
                run.db.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield run
            except BaseException:
                run.db.exec_driver_sql("ROLLBACK")
                raise
            run.db.exec_driver_sql("COMMIT")

    def _take_schema_steps(self) -> None:
        """Create the tables, or bring them up to date, in one locked transaction."""
        with self.write_lock() as run:
            run("CREATE TABLE IF NOT EXISTS {accounts_version} (version INTEGER NOT NULL)")
            version = run("SELECT max(version) FROM {accounts_version}").scalar() or 0
            if not version and self._users_without_roles(run):
                for statement in _ROLE_COLUMNS:
                    run(statement)
            for script in _SCHEMA[version:]:
                for statement in script.split(";"):
                    if statement.strip():
                        run(statement)
            run("DELETE FROM {accounts_version}")
            run("INSERT INTO {accounts_version} (version) VALUES (:n)", n=len(_SCHEMA))

    def _users_without_roles(self, run: _Statements) -> bool:
        """A users file from before roles: only SQLite's, as nothing older was elsewhere."""
        found = sa.inspect(run.db)
        users = self.tables["users"]
        return found.has_table(users) and "role" not in {
            c["name"] for c in found.get_columns(users)
        }

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
            self._change(
                "INSERT INTO {users} (name, password, created, role, person, role_set) "
                "VALUES (:name, :password, :created, :role, :person, 1)",
                name=name,
                password=hashed,
                created=created,
                role=role,
                person=person,
            )
        except sa.exc.IntegrityError:
            raise AccountError(
                f"There is already a user {name}; use `formflow users passwd {name}`."
            ) from None

    def remove(self, name: str) -> None:
        if self._change("DELETE FROM {users} WHERE name = :name", name=name) == 0:
            raise AccountError(f"There is no user {name}.")

    def set_password(self, name: str, password: str) -> None:
        """A new password, and every session of the user ended."""
        hashed = self.hasher.hash(check_password(password))
        with self.write_lock() as run:
            changed = run(
                "UPDATE {users} SET password = :hashed WHERE name = :name", hashed=hashed, name=name
            )
            if changed.rowcount == 0:
                raise AccountError(f"There is no user {name}.")
            run("DELETE FROM {sessions} WHERE name = :name", name=name)

    def set_role(self, name: str, role: str, person: str | None = None) -> None:
        """A new role (and person, when given); their open sessions take it at once."""
        check_role(role)
        changed = self._change(
            "UPDATE {users} SET role = :role, person = coalesce(:person, person), "
            "role_set = 1 WHERE name = :name",
            role=role,
            person=person,
            name=name,
        )
        if changed == 0:
            raise AccountError(f"There is no user {name}.")

    def _users(self, where: str = "", **values: str) -> list[User]:
        rows = self._run(
            f"SELECT name, created, password, role, person, role_set FROM {{users}} "
            f"{where} ORDER BY name",
            **values,
        )
        return [
            User(name, created, password is not None, role, person, bool(role_set))
            for name, created, password, role, person, role_set in rows
        ]

    def users(self) -> list[User]:
        return self._users()

    def user(self, name: str) -> User | None:
        found = self._users("WHERE name = :name", name=name)
        return found[0] if found else None

    def exists(self, name: str) -> bool:
        return bool(self._run("SELECT 1 FROM {users} WHERE name = :name", name=name))

    def refuse_users(self) -> None:
        """Raise AccountError if there are users here: a copy goes only where there are
        none yet, so that no two councils' lists are mixed."""
        if self.users():
            raise AccountError(
                f"The dashboard's users at {self.shown} are not empty: the register and its "
                "users are copied only where there are none yet."
            )

    def copy_users_to(self, target: Accounts) -> int:
        """Every user, password hash and role as they are, into ``target``, which must have
        none (``formflow register copy``); sessions are not copied: each signs in again."""
        target.refuse_users()
        rows = [
            dict(r._mapping)
            for r in self._run(
                "SELECT name, password, created, role, person, role_set FROM {users}"
            )
        ]
        if rows:
            with target.write_lock() as run:
                run.many(
                    "INSERT INTO {users} (name, password, created, role, person, role_set) "
                    "VALUES (:name, :password, :created, :role, :person, :role_set)",
                    rows,
                )
        return len(rows)

    # --- signing in ---------------------------------------------------------------

    def verify(self, name: str, password: str) -> bool:
        row = self._run("SELECT password FROM {users} WHERE name = :name", name=name)
        stored = row[0][0] if row and row[0][0] else None
        try:
            self.hasher.verify(stored or self._decoy, password)
        except (VerificationError, InvalidHashError):
            return False
        if stored is None:
            return False
        if self.hasher.check_needs_rehash(stored):
            self._change(
                "UPDATE {users} SET password = :hashed WHERE name = :name",
                hashed=self.hasher.hash(password),
                name=name,
            )
        return True

    def start_session(self, name: str, lifetime: dt.timedelta) -> str:
        """A new session token for the cookie (its hash is what is stored)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.write_lock() as run:
            run("DELETE FROM {sessions} WHERE expires < :now", now=now)
            run(
                "INSERT INTO {sessions} (token_hash, name, expires) "
                "VALUES (:token, :name, :expires)",
                token=_token_hash(token),
                name=name,
                expires=now + lifetime.total_seconds(),
            )
        return token

    def session_user(self, token: str) -> str | None:
        row = self._run(
            "SELECT name FROM {sessions} WHERE token_hash = :token AND expires > :now",
            token=_token_hash(token),
            now=self.clock(),
        )
        return str(row[0][0]) if row else None

    def end_session(self, token: str) -> None:
        self._change("DELETE FROM {sessions} WHERE token_hash = :token", token=_token_hash(token))


class SignInLimiter:
    """Failed sign-ins counted per user name and address together, each failure past the
    first ``free`` doubling the wait before the next try (``first_delay`` up to
    ``longest_delay``); a success, or a day without failures, forgets them.

    Counting the pair, not the name alone or the address alone, means nobody can keep
    the account holder out: guesses at ``alice`` from elsewhere slow only that elsewhere,
    and behind a proxy each person is their own address (``[web] trusted_proxies``).
    The count is kept with the accounts, checked and raised in one transaction that holds
    their write lock (``Accounts.write_lock``) before the password is checked, so parallel guesses, from threads or from
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
        key = {"name": name.lower()[:64], "address": address}
        with self.accounts.write_lock() as run:
            now = self.clock()  # inside the lock: a time read before it may be overtaken
            run("DELETE FROM {sign_in_failures} WHERE last < :since", since=now - self.forget_after)
            row = run(
                "SELECT failures, last FROM {sign_in_failures} "
                "WHERE name = :name AND address = :address",
                **key,
            ).first()
            failures, last = (row[0], row[1]) if row else (0, now)
            delay = self.delay(failures)
            wait = last + delay - now
            if delay and wait > 0:
                return float(wait)
            # the one upsert, in the words both engines share
            run(
                "INSERT INTO {sign_in_failures} (name, address, failures, last) "
                "VALUES (:name, :address, :failures, :now) ON CONFLICT (name, address) "
                "DO UPDATE SET failures = excluded.failures, last = excluded.last",
                **key,
                failures=failures + 1,
                now=now,
            )
        return 0.0

    def succeeded(self, name: str, address: str) -> None:
        with self.accounts.write_lock() as run:
            run(
                "DELETE FROM {sign_in_failures} WHERE name = :name AND address = :address",
                name=name.lower()[:64],
                address=address,
            )
