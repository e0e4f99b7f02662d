"""The register: every challenge, every file received and every document made, in SQLite
or on a PostgreSQL server.

By default one SQLite database per home folder (``var/formflow.db``), in WAL mode so
``status`` and ``export`` read while the watcher writes; ``[register] url`` (or
``FORMFLOW_REGISTER_URL``) puts it on PostgreSQL instead. One implementation speaks to
both through SQLAlchemy Core; what differs between the engines is in ``_SQLite`` and
``_PostgreSQL`` below, nowhere else. ``Register(":memory:")`` gives a fresh register for
tests.

Tables::

    challenges  one row per reference: the record JSON (the source of truth), and the
                policy, status, stage, due date and dates raised/closed copied out of it
                for queries
    files       one row per claimed file (its claim name, original name, SHA-256,
                attempts, and once finished its outcome, reference and message)
    events      the audit trail: what happened, when, who and why, from which file and
                hash, outcome
    documents   each document written to the outbox (reference, kind, path)
    notices     each covering email drafted, and when it was sent
    deadlines   the current dates to watch per challenge (response due, overall target,
                agreed actions' by-when dates)
    reminders   one row per agreed action the IRO was reminded of, so never twice
    holds       legal holds: on one reference, or on every record (reference NULL)
    deaths      a child's date of death, where recorded (store/retention.py)
    disposals   what each disposal removed: counts and SHA-256 sums, no personal data
    claims      who has each claimed file and staging folder now, and the server's time
                of the owner's last heartbeat (``formflow.pipeline.claims``)

Writes go through ``transaction()``: one writer at a time from the transaction's first
statement (SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL an advisory lock taken as the
transaction begins), so two watchers serialise on it, and a process killed inside one
leaves nothing behind. Transactions nest by joining the outermost. Schema changes are a
list of SQL scripts applied in one transaction and counted by ``PRAGMA user_version``
(SQLite) or the one row of ``schema_version`` (PostgreSQL).

Log lines and messages name the reference, never the child.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, RowMapping
from sqlalchemy.pool import NullPool, StaticPool

from formflow.core.engine import Assessment
from formflow.core.record import (
    REFERENCE_ALPHABET,
    REFERENCE_SUFFIX_LENGTH,
    Challenge,
    reference_from,
)
from formflow.errors import RegisterError
from formflow.outbox import files

log = logging.getLogger(__name__)


def new_reference(year: int) -> str:
    """A fresh reference such as ``PC-2025-7KQ3XM``: random, so forms made offline never
    clash. The randomness is the shell's: the core only spells the reference."""
    drawn = (secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_SUFFIX_LENGTH))
    return reference_from(year, "".join(drawn))


DEFAULT_TIMEOUT_SECONDS = 120.0
"""How long a writer waits for another process's transaction (a watcher rendering a file)."""


@dataclass(frozen=True)
class PerEngine:
    """A migration written once for each engine, where their SQL differs."""

    sqlite: str
    postgresql: str


@dataclass(frozen=True)
class WithTypeNames:
    """A migration written once for both engines but for the names of the types they
    spell differently, written as fields to fill in: ``{float}`` for a floating-point
    column (each engine's ``float_type``)."""

    script: str

    def written_for(self, engine: Engine) -> str:
        return self.script.format(float=engine.float_type)


Migration = str | PerEngine | WithTypeNames
"""A schema change: one script for both engines, one for each, or one with the engines'
own type names."""

MIGRATIONS: tuple[Migration, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE challenges (
        reference TEXT PRIMARY KEY,
        policy    TEXT NOT NULL,
        record    TEXT NOT NULL,
        status    TEXT NOT NULL,
        stage     TEXT NOT NULL,
        due       TEXT,
        raised_on TEXT NOT NULL,
        closed_on TEXT,
        created   TEXT NOT NULL,
        updated   TEXT NOT NULL
    );
    CREATE TABLE files (
        claim         TEXT PRIMARY KEY,
        original_name TEXT NOT NULL,
        sha256        TEXT NOT NULL,
        claimed_at    TEXT NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 1,
        outcome       TEXT,
        reference     TEXT,
        message       TEXT,
        finished_at   TEXT
    );
    CREATE INDEX files_by_hash ON files (sha256, outcome);
    CREATE TABLE events (
        id        INTEGER PRIMARY KEY,
        reference TEXT,
        at        TEXT NOT NULL,
        what      TEXT NOT NULL,
        file      TEXT,
        sha256    TEXT,
        outcome   TEXT,
        message   TEXT
    );
    CREATE INDEX events_by_reference ON events (reference, id);
    CREATE UNIQUE INDEX one_outcome_per_file ON events (file)
        WHERE what = 'file' AND file IS NOT NULL;
    CREATE TABLE documents (
        id        INTEGER PRIMARY KEY,
        reference TEXT NOT NULL,
        kind      TEXT NOT NULL,
        path      TEXT NOT NULL,
        created   TEXT NOT NULL
    );
    CREATE TABLE notices (
        id         INTEGER PRIMARY KEY,
        reference  TEXT NOT NULL,
        path       TEXT NOT NULL UNIQUE,
        subject    TEXT NOT NULL,
        recipients TEXT NOT NULL,
        created    TEXT NOT NULL,
        sent_at    TEXT
    );
    CREATE TABLE deadlines (
        reference TEXT NOT NULL,
        kind      TEXT NOT NULL,
        due       TEXT NOT NULL,
        PRIMARY KEY (reference, kind)
    );
    CREATE TABLE reminders (
        reference  TEXT NOT NULL,
        action_key TEXT NOT NULL,
        sent_on    TEXT NOT NULL,
        PRIMARY KEY (reference, action_key)
    );
    """,
    # 2: who caused each event and why (the CLI's --by and --reason, the form's names),
    #    and the event each document and notice came from.
    """
    ALTER TABLE events ADD COLUMN actor TEXT;
    ALTER TABLE events ADD COLUMN reason TEXT;
    ALTER TABLE documents ADD COLUMN event INTEGER;
    ALTER TABLE notices ADD COLUMN event INTEGER;
    """,
    # 3: information governance (store/retention.py): legal holds, a child's recorded
    #    death (it shortens some retention periods), and what each disposal removed, kept
    #    without personal data once the challenge's own rows are gone.
    """
    CREATE TABLE holds (
        id          INTEGER PRIMARY KEY,
        reference   TEXT,
        reason      TEXT NOT NULL,
        held_by     TEXT NOT NULL,
        held_at     TEXT NOT NULL,
        released_by TEXT,
        released_at TEXT
    );
    CREATE INDEX holds_in_force ON holds (reference) WHERE released_at IS NULL;
    CREATE TABLE deaths (
        reference TEXT PRIMARY KEY,
        died_on   TEXT NOT NULL
    );
    CREATE TABLE disposals (
        id           INTEGER PRIMARY KEY,
        token        TEXT NOT NULL,
        reference    TEXT NOT NULL UNIQUE,
        rule         TEXT NOT NULL,
        period_ended TEXT NOT NULL,
        disposed_at  TEXT NOT NULL,
        approved_by  TEXT NOT NULL,
        removed      TEXT NOT NULL
    );
    CREATE INDEX disposals_by_token ON disposals (token);
    """,
    # 4: the dashboard's open list, paged and searched in SQL (issue 23): the names it
    #    shows and searches copied out of each record, whom each challenge is and was
    #    addressed to (a manager's need-to-know), and indexes that cover the list. Each
    #    engine reads JSON, ignores case and deletes with a challenge in its own words.
    PerEngine(
        sqlite="""
    ALTER TABLE challenges ADD COLUMN child TEXT;
    ALTER TABLE challenges ADD COLUMN case_number TEXT;
    ALTER TABLE challenges ADD COLUMN iro TEXT;
    ALTER TABLE challenges ADD COLUMN team TEXT;
    ALTER TABLE challenges ADD COLUMN addressee TEXT;
    UPDATE challenges SET
        child = json_extract(record, '$.child.name'),
        case_number = json_extract(record, '$.child.case_number'),
        iro = json_extract(record, '$.raised_by.name'),
        team = json_extract(record, '$.team'),
        addressee = json_extract(record, '$.addressed_to.name');
    CREATE TABLE addressees (
        kind      TEXT NOT NULL,
        name      TEXT NOT NULL COLLATE NOCASE,
        open      INTEGER NOT NULL,
        reference TEXT NOT NULL,
        PRIMARY KEY (kind, name, open, reference)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO addressees
        SELECT 'person', trim(addressee), closed_on IS NULL, reference
        FROM challenges WHERE addressee > ''
        UNION ALL
        SELECT 'team', trim(team), closed_on IS NULL, reference FROM challenges WHERE team > ''
        UNION ALL
        SELECT 'person', trim(json_extract(h.value, '$.addressed_to.name')),
               c.closed_on IS NULL, c.reference
        FROM challenges AS c, json_each(c.record, '$.history') AS h
        WHERE json_extract(h.value, '$.addressed_to.name') > '';
    CREATE INDEX addressees_by_reference ON addressees (reference);
    CREATE TRIGGER addressees_go_with_their_challenge AFTER DELETE ON challenges
    BEGIN
        DELETE FROM addressees WHERE reference = old.reference;
    END;
    CREATE INDEX open_by_kind ON challenges
        (policy, stage, iro, team, status, due, reference)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_due ON challenges (due IS NULL, due, reference)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_reference ON challenges (reference, case_number, child)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_child ON challenges (child COLLATE NOCASE, reference)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_responder ON challenges (addressee COLLATE NOCASE, reference)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_iro ON challenges (iro COLLATE NOCASE, reference)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_team ON challenges (team COLLATE NOCASE, reference)
        WHERE closed_on IS NULL;
""",
        postgresql="""
    ALTER TABLE challenges ADD COLUMN child TEXT;
    ALTER TABLE challenges ADD COLUMN case_number TEXT;
    ALTER TABLE challenges ADD COLUMN iro TEXT;
    ALTER TABLE challenges ADD COLUMN team TEXT;
    ALTER TABLE challenges ADD COLUMN addressee TEXT;
    UPDATE challenges SET
        child = record::jsonb #>> '{child,name}',
        case_number = record::jsonb #>> '{child,case_number}',
        iro = record::jsonb #>> '{raised_by,name}',
        team = record::jsonb #>> '{team}',
        addressee = record::jsonb #>> '{addressed_to,name}';
    CREATE TABLE addressees (
        kind      TEXT NOT NULL,
        name      TEXT NOT NULL,
        open      INTEGER NOT NULL,
        reference TEXT NOT NULL,
        PRIMARY KEY (kind, name, open, reference)
    );
    INSERT INTO addressees
        SELECT 'person', lower(trim(addressee)), (closed_on IS NULL)::int, reference
        FROM challenges WHERE addressee > ''
        UNION
        SELECT 'team', lower(trim(team)), (closed_on IS NULL)::int, reference
        FROM challenges WHERE team > ''
        UNION
        SELECT 'person', lower(trim(h.value #>> '{addressed_to,name}')),
               (c.closed_on IS NULL)::int, c.reference
        FROM challenges AS c, jsonb_array_elements(c.record::jsonb -> 'history') AS h(value)
        WHERE h.value #>> '{addressed_to,name}' > '';
    CREATE INDEX addressees_by_reference ON addressees (reference);
    CREATE FUNCTION addressees_go_with_their_challenge() RETURNS trigger LANGUAGE plpgsql
        AS 'BEGIN DELETE FROM addressees WHERE reference = OLD.reference; RETURN OLD; END';
    CREATE TRIGGER addressees_go_with_their_challenge AFTER DELETE ON challenges
        FOR EACH ROW EXECUTE FUNCTION addressees_go_with_their_challenge();
    CREATE INDEX open_by_kind ON challenges
        (policy, stage, iro, team, status, due, reference)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_due ON challenges ((due IS NULL), due, reference)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_reference ON challenges (reference, case_number, child)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_child ON challenges (lower(child), reference)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_responder ON challenges (lower(addressee), reference)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_iro ON challenges (lower(iro), reference)
        WHERE closed_on IS NULL;
    CREATE INDEX open_by_team ON challenges (lower(team), reference)
        WHERE closed_on IS NULL;
    """,
    ),
    # 5: who has each claimed file and staging folder (issue 26): with two machines on one
    #    shared folder a file lock cannot be trusted, so the register decides. Each row
    #    names its owner (the machine, its boot, the process and a random instance) and
    #    the server's time of its last heartbeat, in seconds since 1970.
    WithTypeNames(
        """
    CREATE TABLE claims (
        name      TEXT PRIMARY KEY,
        host      TEXT NOT NULL,
        boot      TEXT NOT NULL,
        pid       INTEGER NOT NULL,
        instance  TEXT NOT NULL,
        taken     {float} NOT NULL,
        heartbeat {float} NOT NULL
    );
    CREATE INDEX claims_by_instance ON claims (instance);
    """
    ),
    # 6: PostgreSQL reads a page of the open list sorted by a name from its index alone
    #    only when the index holds the name itself beside lower(name): without it, page
    #    200 sorted by team sorted every open challenge (50 to 150 ms; 3.5 ms with it).
    #    SQLite's indexes on the names themselves already serve.
    PerEngine(
        sqlite="",
        postgresql="""
    DROP INDEX open_by_child;
    CREATE INDEX open_by_child ON challenges (lower(child), reference, child)
        WHERE closed_on IS NULL;
    DROP INDEX open_by_responder;
    CREATE INDEX open_by_responder ON challenges (lower(addressee), reference, addressee)
        WHERE closed_on IS NULL;
    DROP INDEX open_by_iro;
    CREATE INDEX open_by_iro ON challenges (lower(iro), reference, iro)
        WHERE closed_on IS NULL;
    DROP INDEX open_by_team;
    CREATE INDEX open_by_team ON challenges (lower(team), reference, team)
        WHERE closed_on IS NULL;
    """,
    ),
)


DASHBOARD_TABLES = "dashboard_"
"""How the names of the dashboard's own tables (its accounts, formflow.web.accounts) begin
where they share the register's PostgreSQL database: not the register's, so never
copied, counted or checked with it, and no migration here may name a table so."""


def addressee_key(name: str | None) -> str:
    """A person's or team's name as the addressees table keeps it: single-spaced and in
    lower case, so a name typed "priya  Raman " on a form is hers on either engine."""
    return " ".join((name or "").split()).lower()


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


LOOKED_UP = 200
"""A search's matches up to this many are looked up one by one; more, and the list walks
its own order checking each challenge instead (``not_by_index``)."""


@dataclass(frozen=True)
class ListRanks:
    """The orders the open list sorts by that the register does not hold: each level's
    place on its procedure's ladder, and each procedure's place by the name the list
    shows (procedure files are not in the register)."""

    levels: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(procedure id, level id): its place on the procedure's ladder."""
    procedures: Mapping[str, int] = field(default_factory=dict)
    """Procedure id: its place among the procedures, by the name shown."""


def _ranked(test: str, ranks: Iterable[tuple[tuple[str, ...], int]]) -> tuple[str, tuple[Any, ...]]:
    """An SQL expression giving each key of ``ranks`` its number (0 for any other), and
    its parameters; ``test`` matches one key's columns, as "policy = ? AND stage = ?"."""
    given = list(ranks)
    if not given:
        return "0", ()
    cases = " ".join(f"WHEN {test} THEN ?" for _ in given)
    return f"CASE {cases} ELSE 0 END", tuple(v for key, n in given for v in (*key, n))


RANKED_SORTS = frozenset({"level", "procedure"})
"""The open list's sorts by a place the register does not hold (``ListRanks``)."""


@dataclass(frozen=True)
class OpenList:
    """Which open challenges the dashboard lists, and in which order."""

    restricted_to: tuple[str | None, str | None] | None = None
    """(person, team): only the challenges now or once addressed to the person or to the
    team (a manager's need-to-know); None for every open challenge."""
    mine: str | None = None
    """Only those raised by, or now or once addressed to, this person ("my challenges")."""
    search: str = ""
    """A reference (or its start), a case number, or part of a child's name."""
    found: tuple[str, ...] | None = None
    """The open challenges ``search`` finds (``Register.searched``): looked up once for
    both the list's summary and its page, as each lookup reads every open challenge."""
    procedure: str = ""
    level: str = ""
    iro: str = ""
    team: str = ""
    overdue_on: dt.date | None = None
    """Only those awaiting a response due before this day."""
    sort: str = "due"
    descending: bool = False

    def where(self, engine: Engine) -> tuple[str, tuple[Any, ...]]:
        clauses, params = self.conditions(engine)
        return "WHERE " + " AND ".join(["closed_on IS NULL", *clauses]), params

    def conditions(self, engine: Engine) -> tuple[list[str], tuple[Any, ...]]:
        """What picks among the open challenges (``where`` adds "open")."""
        clauses: list[str] = []
        params: list[Any] = []
        addressed = (
            "reference IN (SELECT reference FROM addressees WHERE open = 1 AND "
            "((kind = 'person' AND name = ?) OR (kind = 'team' AND name = ?)))"
        )
        if self.restricted_to is not None:
            person, team = self.restricted_to
            clauses.append(addressed)
            params += [addressee_key(person), addressee_key(team)]
        if self.mine:
            clauses.append(f"(iro = ? OR {addressed})")
            params += [self.mine, addressee_key(self.mine), ""]
        if self.found is not None:
            many = len(self.found) > LOOKED_UP
            column = engine.not_by_index("reference") if many else "reference"
            clauses.append(f"{column} IN {engine.listed}")
            params.append(json.dumps(self.found))
        for column, value in (
            ("policy", self.procedure),
            ("stage", self.level),
            ("iro", self.iro),
            ("team", self.team),
        ):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.overdue_on is not None:
            clauses.append("status = 'awaiting response' AND due < ?")
            params.append(self.overdue_on.isoformat())
        return clauses, tuple(params)

    def order_by(self, ranks: ListRanks, engine: Engine) -> tuple[str, tuple[Any, ...]]:
        way = " DESC" if self.descending else ""
        if self.sort == "level":
            rank, params = _ranked("policy = ? AND stage = ?", ranks.levels.items())
            return f"{rank}{way}, stage{way}, reference{way}", params
        if self.sort == "procedure":
            place, params = _ranked("policy = ?", (((p,), n) for p, n in ranks.procedures.items()))
            return f"{place}{way}, policy{way}, reference{way}", params
        first = {
            "reference": "reference",
            "child": engine.any_case("child"),
            "responder": engine.any_case("addressee"),
            "iro": engine.any_case("iro"),
            "team": engine.any_case("team"),
        }.get(self.sort, "due IS NULL, due")
        keys = [f"{key.strip()}{way}" for key in first.split(",")]
        return ", ".join([*keys, f"reference{way}"]), ()


@dataclass(frozen=True)
class OpenSummary:
    open: int
    overdue: int
    picked: int
    kinds: Sequence[RowMapping]
    """policy, stage, iro, team: each combination among the open challenges."""


@dataclass(frozen=True)
class FileRecord:
    claim: str
    original_name: str
    sha256: str
    claimed_at: str
    attempts: int
    outcome: str | None
    reference: str | None
    message: str | None
    finished_at: str | None


@dataclass(frozen=True)
class ClaimOwner:
    """Who holds a claim: the process of one formflow on one machine."""

    host: str
    """The machine's name (``FORMFLOW_MACHINE``, else its host name)."""
    boot: str
    """The machine's boot (Linux's boot id): a pid means something only within it."""
    pid: int
    instance: str
    """Random for each process: never the same twice, whatever the machine and pid."""


@dataclass(frozen=True)
class ClaimRecord:
    name: str
    owner: ClaimOwner
    silent_for: float
    """Seconds since the owner's last heartbeat, by the database server's clock."""


@dataclass(frozen=True)
class EventRecord:
    id: int
    reference: str | None
    at: str
    what: str
    file: str | None
    sha256: str | None
    outcome: str | None
    message: str | None
    actor: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class NoticeRecord:
    id: int
    reference: str
    path: str
    subject: str
    recipients: str
    created: str
    sent_at: str | None
    event: int | None = None


@dataclass(frozen=True)
class DocumentRecord:
    reference: str
    kind: str
    path: str
    created: str
    event: int | None = None
    """The id of the event that wrote it."""


def _statements(script: str) -> Iterator[str]:
    """The statements of a script, one by one: ``executescript`` would commit midway."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise RegisterError(f"Unfinished SQL statement in a migration: {pending.strip()[:60]}")


NETWORK_FILE_SYSTEMS = frozenset(
    {"cifs", "smb3", "smbfs", "nfs", "nfs4", "ncpfs", "afs", "9p", "fuse.sshfs", "davfs"}
)
"""Where SQLite's locks cannot be trusted: file locking over a network file system is
broken or missing (SQLite's FAQ 5, and "How To Corrupt An SQLite Database File" 2.1),
so two processes could write at once and a commit be lost."""


def file_system_type(path: Path, mountinfo: str) -> str | None:
    """The type of the file system holding ``path`` (absolute, resolved), from the text
    of ``/proc/self/mountinfo``: the mount with the longest mount point above it."""
    best: tuple[int, str] | None = None
    for line in mountinfo.splitlines():
        fields, _, tail = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not tail:
            continue
        mount_point = _unescape_mount(parts[4])
        if not path.is_relative_to(mount_point):
            continue
        if best is None or len(mount_point) >= best[0]:  # later mounts hide earlier ones
            best = (len(mount_point), tail.split()[0])
    return best[1] if best else None


def _unescape_mount(text: str) -> str:
    """Mount points in mountinfo write space, tab, newline and backslash as octal."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), text)


def refuse_network_file_system(
    folder: Path, mountinfo: Path = Path("/proc/self/mountinfo")
) -> None:
    """Raise RegisterError when ``folder`` is on a network share (Linux; elsewhere, and
    where the mount table cannot be read, nothing is checked)."""
    try:
        table = mountinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    kind = file_system_type(folder.resolve(), table)
    if kind in NETWORK_FILE_SYSTEMS:
        raise RegisterError(
            f"The register's folder {folder} is on a network share ({kind}). SQLite's "
            "locking does not work there, so records could be lost when two programs use "
            "the register at once. Keep HOME/var/ on a disk of the machine that runs "
            "formflow; the inbox and outbox may stay on the share."
        )


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def copy_database(source: sqlite3.Connection, target: Path) -> None:
    """A consistent copy of ``source``'s database into the new owner-only file ``target``,
    with SQLite's online backup: safe while other processes write (it starts again if
    one does)."""
    files.create_private_once(target)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()


def is_server_url(database: object) -> bool:
    """Whether ``database`` names a PostgreSQL register rather than a SQLite file."""
    return isinstance(database, str) and database.startswith(("postgresql:", "postgresql+"))


def shown_url(url: str) -> str:
    """A register's URL for a message or a log line: the password, if any, hidden."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _named(sql: str, params: tuple[Any, ...]) -> tuple[sa.TextClause, dict[str, Any]]:
    """``?`` placeholders as SQLAlchemy's named ones: the register's SQL is written once
    for both engines, whose drivers spell parameters differently."""
    pieces = sql.split("?")
    if len(pieces) - 1 != len(params):
        raise RegisterError(f"{len(params)} values for {len(pieces) - 1} placeholders: {sql[:60]}")
    named = pieces[0] + "".join(f":p{i}{piece}" for i, piece in enumerate(pieces[1:]))
    return sa.text(named), {f"p{i}": value for i, value in enumerate(params)}


class _SQLite:
    """What only SQLite does: a file in var/, WAL, BEGIN IMMEDIATE, PRAGMA user_version,
    its integrity check and online backup."""

    name = "SQLite"

    def __init__(self, database: str | Path | sqlite3.Connection, timeout: float) -> None:
        self.timeout = timeout
        self.file = not isinstance(database, sqlite3.Connection) and str(database) != ":memory:"
        if isinstance(database, sqlite3.Connection):
            injected = database
            self.engine = sa.create_engine(
                "sqlite://", creator=lambda: injected, poolclass=StaticPool
            )
            return
        if self.file:
            path = Path(database)
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            refuse_network_file_system(path.parent)
            files.create_private_once(path)
            self.engine = sa.create_engine(
                f"sqlite:///{path}", poolclass=NullPool, connect_args={"timeout": timeout}
            )
        else:
            self.engine = sa.create_engine("sqlite://", poolclass=StaticPool)

    def prepare(self, db: Connection) -> None:
        db.exec_driver_sql(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        db.exec_driver_sql("PRAGMA foreign_keys = ON")
        if self.file:
            db.exec_driver_sql("PRAGMA journal_mode = WAL")
            db.exec_driver_sql("PRAGMA synchronous = FULL")

    def begin_writing(self, db: Connection) -> None:
        db.exec_driver_sql("BEGIN IMMEDIATE")

    def begin_reading(self, db: Connection) -> None:
        db.exec_driver_sql("BEGIN DEFERRED")

    def schema_version(self, db: Connection) -> int:
        return int(db.exec_driver_sql("PRAGMA user_version").scalar_one())

    def set_schema_version(self, db: Connection, number: int) -> None:
        db.exec_driver_sql(f"PRAGMA user_version = {int(number)}")

    def ddl(self, statement: str) -> str:
        return statement

    def statements(self, migration: Migration) -> Iterator[str]:
        if isinstance(migration, PerEngine):
            return _statements(migration.sqlite)
        if isinstance(migration, WithTypeNames):
            return _statements(migration.written_for(self))
        return _statements(migration)

    float_type = "REAL"
    """A floating-point column's type: SQLite's is 8 bytes, as PostgreSQL's double."""

    clock = "((julianday('now') - 2440587.5) * 86400.0)"
    """The database's own time in seconds since 1970, for claims' heartbeats."""

    def any_case(self, column: str) -> str:
        """``column`` compared and sorted regardless of case, as its index has it."""
        return f"{column} COLLATE NOCASE"

    like = "LIKE"
    """A pattern match that ignores case (SQLite's LIKE does, for ASCII letters)."""
    listed = "(SELECT value FROM json_each(?))"
    """The strings of a JSON array given as one parameter (any number of them)."""

    def not_by_index(self, column: str) -> str:
        """``column`` in a condition SQLite must not look rows up by: for a search's
        many matches, walking the list's own order and checking each is bounded (25,000
        open challenges: ~5 ms); looking up thousands of matches and sorting them was not
        (140 to 300 ms for a search for "a")."""
        return f"+{column}"

    def read_through(self, index: str) -> str:
        """Tell the planner to read ``index`` (the open list's search, its page sorted by
        a rank): SQLite would otherwise scan the records themselves."""
        return f"INDEXED BY {index}"

    def index_searches(self, db: Connection) -> None:
        """Nothing to add: SQLite's search reads its covering index (``read_through``)."""

    def follow_ids(self, db: Connection, table: str) -> None:
        """Nothing to do: SQLite's next row id is always one past the largest."""

    def integrity_problems(self, db: Connection) -> list[str]:
        found = [str(r[0]) for r in db.exec_driver_sql("PRAGMA integrity_check")]
        problems = [] if found == ["ok"] else [f"SQLite reports: {f}" for f in found]
        for row in db.exec_driver_sql("PRAGMA foreign_key_check"):
            problems.append(f"A row of {row[0]} points at a missing row of {row[2]}.")
        return problems

    def backup_to(self, db: Connection, target: Path) -> None:
        raw = db.connection.dbapi_connection
        if not isinstance(raw, sqlite3.Connection):
            raise RegisterError("The register's SQLite connection is not sqlite3's.")
        copy_database(raw, target)


_said: set[str] = set()


def _say_once(warning: str) -> None:
    """Log ``warning`` the first time this process meets it, not at each register opened."""
    if warning not in _said:
        _said.add(warning)
        log.warning("%s", warning)


WRITER_LOCK = 0x666F726D666C6F77  # "formflow" in ASCII: the one key of the writers' lock
"""The advisory lock every writing transaction takes first on PostgreSQL."""


class _PostgreSQL:
    """What only PostgreSQL does: a server at a URL, one writer at a time by an advisory
    lock taken as a writing transaction begins (held to its end, as SQLite's write lock
    is), snapshot reads, and the schema version in a table."""

    name = "PostgreSQL"

    def __init__(self, url: str, timeout: float) -> None:
        self.timeout = timeout
        self.url = sa.engine.make_url(url).set(drivername="postgresql+psycopg")
        self.engine = sa.create_engine(self.url, poolclass=NullPool)

    def prepare(self, db: Connection) -> None:
        db.exec_driver_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")

    def index_searches(self, db: Connection) -> None:
        """A trigram index for the open list's search (``Register.searched``), which
        otherwise reads every open challenge: 67 ms against 1 ms with 25,000 open. It
        needs the pg_trgm extension, which a database's owner may add (PostgreSQL 13 and
        later trust it); where that is refused, the register works without it and says
        once what to ask the database's administrator. Not a migration: a register
        whose user may not add it must still open."""
        made = "SELECT 1 FROM pg_indexes WHERE indexname = 'open_search'"
        if db.exec_driver_sql(made).first() is not None:
            return
        db.exec_driver_sql("SAVEPOINT search_index")
        try:
            db.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            db.exec_driver_sql(
                "CREATE INDEX open_search ON challenges USING gin (reference gin_trgm_ops, "
                "case_number gin_trgm_ops, child gin_trgm_ops) WHERE closed_on IS NULL"
            )
        except sa.exc.DBAPIError as exc:
            db.exec_driver_sql("ROLLBACK TO SAVEPOINT search_index")
            _say_once(
                "The dashboard's search reads every open challenge: formflow could not add "
                f"its index ({str(exc.orig).strip()}). Ask the database's administrator to "
                "run CREATE EXTENSION pg_trgm; in the register's database, and formflow adds "
                "the index the next time it starts."
            )
        else:
            db.exec_driver_sql("RELEASE SAVEPOINT search_index")

    def begin_writing(self, db: Connection) -> None:
        db.exec_driver_sql("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            # A writer waits as long as SQLite's busy timeout, then fails as SQLite does
            # (and, as there, with no transaction left open).
            db.exec_driver_sql(f"SET LOCAL lock_timeout = {int(self.timeout * 1000)}")
            db.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")
        except BaseException:
            db.exec_driver_sql("ROLLBACK")
            raise

    def begin_reading(self, db: Connection) -> None:
        db.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ")

    def schema_version(self, db: Connection) -> int:
        found = db.exec_driver_sql("SELECT max(version) FROM schema_version").scalar()
        return int(found or 0)

    def set_schema_version(self, db: Connection, number: int) -> None:
        db.exec_driver_sql("DELETE FROM schema_version")
        db.execute(sa.text("INSERT INTO schema_version (version) VALUES (:n)"), {"n": number})

    def ddl(self, statement: str) -> str:
        """SQLite's row-id keys as PostgreSQL identity columns: the one difference in the
        migrations' SQL."""
        return statement.replace(
            "INTEGER PRIMARY KEY", "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        )

    def statements(self, migration: Migration) -> Iterator[str]:
        """Split where a line ends in a semicolon: SQLite's own test of a whole statement
        wants a trigger's BEGIN ... END, which PostgreSQL's triggers do not have."""
        if isinstance(migration, WithTypeNames):
            migration = migration.written_for(self)
        if isinstance(migration, str):
            yield from _statements(migration)
            return
        for statement in re.split(r";\s*\n", migration.postgresql):
            if statement.strip():
                yield statement.strip()

    float_type = "DOUBLE PRECISION"
    """A floating-point column's type: PostgreSQL's REAL would keep only 6 digits, too
    few for seconds since 1970."""

    clock = "extract(epoch FROM clock_timestamp())::double precision"
    """The server's time now (``now()`` would be the transaction's start, which may have
    waited for the writers' lock), in seconds since 1970."""

    def any_case(self, column: str) -> str:
        return f"lower({column})"

    like = "ILIKE"
    """PostgreSQL's LIKE minds case: "lcs-7" must find LCS-777777 as on SQLite."""
    listed = "(SELECT jsonb_array_elements_text(CAST(? AS jsonb)))"
    """The strings of a JSON array given as one parameter (any number of them)."""

    def not_by_index(self, column: str) -> str:
        """``column`` as it is: PostgreSQL's planner weighs a long list itself."""
        return column

    def read_through(self, index: str) -> str:
        """PostgreSQL's planner takes no hints, and needs none here."""
        return ""

    def follow_ids(self, db: Connection, table: str) -> None:
        """After rows were copied in with their ids, the identity column goes on from the
        largest, or the next new row would take an id already used."""
        if "id" in {c["name"] for c in sa.inspect(db).get_columns(table)}:
            db.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE(max(id), 1), max(id) IS NOT NULL) FROM {table}"
            )

    def integrity_problems(self, db: Connection) -> list[str]:
        """Pages and indexes are the server's to check (and its administrators' backups):
        nothing to add here."""
        return []

    def backup_to(self, db: Connection, target: Path) -> None:
        raise RegisterError(
            "A register on PostgreSQL is backed up by the database server "
            "(pg_dump, or the council's own backups), not by formflow backup."
        )


Engine = _SQLite | _PostgreSQL
"""What differs between the engines, each in one place."""


class Register:
    """The register over one connection to SQLite or PostgreSQL (opened here; a SQLite
    connection may be injected)."""

    def __init__(
        self,
        database: str | Path | sqlite3.Connection,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        migrations: tuple[Migration, ...] = MIGRATIONS,
    ) -> None:
        self._side: Engine = (
            _PostgreSQL(str(database), timeout)
            if is_server_url(database)
            else _SQLite(database, timeout)
        )
        self.opened_as = (
            None
            if isinstance(database, sqlite3.Connection) or str(database) == ":memory:"
            else database
        )
        """What another connection to this register opens; None for one in memory."""
        shown = shown_url(str(database)) if is_server_url(database) else str(database)
        try:
            # Transactions are explicit, below: the driver is told to start none itself.
            self._db = self._side.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except sa.exc.SQLAlchemyError as exc:
            raise RegisterError(f"Cannot open the register {shown}: {exc}.") from exc
        self._depth = 0
        self._side.prepare(self._db)
        self.migrate(migrations)

    @property
    def engine_name(self) -> str:
        """SQLite or PostgreSQL."""
        return self._side.name

    # --- life cycle ---------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()
        self._side.engine.dispose(close=isinstance(self._side, _PostgreSQL) or self._side.file)

    def __enter__(self) -> Register:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self._side.schema_version(self._db)

    def migrate(self, migrations: tuple[Migration, ...] = MIGRATIONS) -> None:
        """Apply the scripts beyond ``user_version``, all in one transaction."""
        with self.transaction():
            current = self.schema_version
            if current > len(migrations):
                raise RegisterError(
                    f"The register is at schema version {current}, newer than this "
                    f"formflow knows ({len(migrations)}): upgrade formflow."
                )
            for number, script in enumerate(migrations[current:], start=current + 1):
                for statement in self._side.statements(script):
                    self._db.exec_driver_sql(self._side.ddl(statement))
                self._side.set_schema_version(self._db, number)
                log.info("register migrated to schema version %d", number)
            if migrations == MIGRATIONS:  # the search's columns are there
                self._side.index_searches(self._db)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Begin writing (one writer at a time) … ``COMMIT``, or ``ROLLBACK`` on any
        exception; nested calls join the outermost transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._side.begin_writing(self._db)
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._db.exec_driver_sql("ROLLBACK")
            raise
        self._depth = 0
        self._db.exec_driver_sql("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One consistent view of the register for several reads, without the write lock:
        a watcher goes on committing meanwhile (WAL), unseen until the block ends."""
        if self._depth:
            yield
            return
        self._side.begin_reading(self._db)
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            self._db.exec_driver_sql("COMMIT")

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> CursorResult[*tuple[Any, ...]]:
        statement, values = _named(sql, params)
        return self._db.execute(statement, values)

    # --- upkeep: check and backup -------------------------------------------------------

    def integrity_problems(self) -> list[str]:
        """The engine's own check of the database (SQLite: every page and index, and
        foreign keys): [] when sound."""
        return self._side.integrity_problems(self._db)

    def raw_challenges(self) -> list[tuple[str, str, str]]:
        """(reference, stage, record JSON) as stored, for a check that must not trust them."""
        rows = self._execute("SELECT reference, stage, record FROM challenges ORDER BY 1")
        return [(r[0], r[1], r[2]) for r in rows]

    def referenced(self) -> set[str]:
        """Every reference the events, documents and notices name, but for challenges
        disposed of, whose audit of views and holds outlives them by reference only."""
        rows = self._execute(
            "SELECT reference FROM events WHERE reference IS NOT NULL "
            "UNION SELECT reference FROM documents UNION SELECT reference FROM notices "
            "EXCEPT SELECT reference FROM disposals"
        )
        return {r[0] for r in rows}

    def tables(self) -> list[str]:
        """The register's tables, but for the engine's bookkeeping (the schema version) and
        the dashboard's accounts that share its database on PostgreSQL."""
        names = sa.inspect(self._db).get_table_names()
        return sorted(
            name
            for name in names
            if name != "schema_version" and not name.startswith(DASHBOARD_TABLES)
        )

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of ``table`` (one of ``tables()``), as column -> value."""
        self._known_table(table)
        return [dict(r._mapping) for r in self._db.exec_driver_sql(f"SELECT * FROM {table}")]

    def insert_rows(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Add ``rows`` to ``table`` as they are, ids included (a copy of a register)."""
        self._known_table(table)
        if not rows:
            return
        columns = list(rows[0])
        statement = sa.text(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)})"
        )
        with self.transaction():
            self._db.execute(statement, rows)
            self._side.follow_ids(self._db, table)

    def _known_table(self, table: str) -> None:
        if table not in self.tables():  # a name put into SQL must be one of ours
            raise RegisterError(f"The register has no table {table!r}.")

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the whole register into the new file ``target``, with
        SQLite's online backup: safe while watchers write (it starts again if one does)."""
        self._side.backup_to(self._db, target)

    # --- challenges ---------------------------------------------------------------------

    def challenge(self, reference: str) -> Challenge | None:
        row = self._execute(
            "SELECT record FROM challenges WHERE reference = ?", (reference,)
        ).fetchone()
        return Challenge.from_dict(json.loads(row.record)) if row else None

    def challenges(self, *, open_only: bool = False) -> list[Challenge]:
        sql = "SELECT record FROM challenges"
        if open_only:
            sql += " WHERE closed_on IS NULL"
        sql += " ORDER BY raised_on, reference"
        return [Challenge.from_dict(json.loads(r.record)) for r in self._execute(sql)]

    def last_event_id(self) -> int:
        """The newest event's id (0 for none): every change to a challenge records an
        event, so a reader can tell the register changed since it last looked."""
        return int(self._execute("SELECT COALESCE(max(id), 0) FROM events").scalar_one())

    def references(self) -> list[str]:
        return [r[0] for r in self._execute("SELECT reference FROM challenges ORDER BY 1")]

    def reference_taken(self, reference: str) -> bool:
        known = self._execute(
            "SELECT 1 FROM challenges WHERE reference = ? "
            "UNION SELECT 1 FROM files WHERE reference = ? "
            "UNION SELECT 1 FROM disposals WHERE reference = ?",
            (reference, reference, reference),
        ).fetchone()
        return known is not None

    def assign_reference(
        self, year: int, make: Callable[[int], str] = new_reference, tries: int = 20
    ) -> str:
        """A reference no challenge has yet; ``make`` is retried on a collision."""
        for _ in range(tries):
            candidate = make(year)
            if not self.reference_taken(candidate):
                return candidate
            log.warning("reference %s already taken; drawing another", candidate)
        raise RegisterError(f"Could not find a free reference for {year} in {tries} tries.")

    def save_challenge(self, challenge: Challenge, assessment: Assessment, at: dt.datetime) -> None:
        """Insert or replace the record, and its deadlines, in one transaction."""
        if challenge.reference is None:
            raise RegisterError("A challenge must have a reference before it is registered.")
        ref = challenge.reference
        record = json.dumps(challenge.to_dict(), ensure_ascii=False, sort_keys=False)
        closed = challenge.closure.date.isoformat() if challenge.closure else None
        with self.transaction():
            self._execute(
                """
                INSERT INTO challenges
                    (reference, policy, record, status, stage, due, raised_on, closed_on,
                     created, updated, child, case_number, iro, team, addressee)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (reference) DO UPDATE SET
                    policy = excluded.policy, record = excluded.record,
                    status = excluded.status, stage = excluded.stage, due = excluded.due,
                    closed_on = excluded.closed_on, updated = excluded.updated,
                    child = excluded.child, case_number = excluded.case_number,
                    iro = excluded.iro, team = excluded.team, addressee = excluded.addressee
                """,
                (
                    ref,
                    challenge.policy,
                    record,
                    assessment.status.value,
                    challenge.stage.value,
                    assessment.due.isoformat() if assessment.due else None,
                    _raised_on(challenge).isoformat(),
                    closed,
                    _iso(at),
                    _iso(at),
                    challenge.child.name,
                    challenge.child.case_number,
                    challenge.raised_by.name,
                    challenge.team,
                    challenge.addressed_to.name if challenge.addressed_to else None,
                ),
            )
            self._note_addressees(challenge, ref)
            self._execute("DELETE FROM deadlines WHERE reference = ?", (ref,))
            dates: dict[str, dt.date | None] = {
                "response": assessment.due,
                "overall target": assessment.overall_target,
                "first contact": assessment.first_contact_due,
            }
            if assessment.status.value == "resolved":
                for i, action in enumerate(challenge.actions, start=1):
                    dates[f"action {i}"] = action.by_when
            for kind, when in dates.items():
                if when is not None:
                    self._execute(
                        "INSERT INTO deadlines (reference, kind, due) VALUES (?, ?, ?)",
                        (ref, kind, when.isoformat()),
                    )

    def _note_addressees(self, challenge: Challenge, reference: str) -> None:
        """Whom the challenge is and was addressed to, and its team: a manager's list."""
        self._execute("DELETE FROM addressees WHERE reference = ?", (reference,))
        people = [challenge.addressed_to, *(h.addressed_to for h in challenge.history)]
        named = {("person", addressee_key(p.name)) for p in people if p}
        named.add(("team", addressee_key(challenge.team)))
        for kind, name in named - {("person", ""), ("team", "")}:
            self._execute(
                "INSERT INTO addressees (kind, name, open, reference) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (kind, name, int(challenge.closure is None), reference),
            )

    def challenges_addressed_to(self, person: str | None, team: str | None) -> list[Challenge]:
        """Every challenge, open or closed, now or once addressed to ``person`` or to
        ``team`` (a manager's tracker)."""
        rows = self._execute(
            "SELECT record FROM challenges WHERE reference IN (SELECT reference FROM "
            "addressees WHERE (kind = 'person' AND name = ?) OR (kind = 'team' AND name = ?)) "
            "ORDER BY raised_on, reference",
            (addressee_key(person), addressee_key(team)),
        )
        return [Challenge.from_dict(json.loads(r.record)) for r in rows]

    # --- the dashboard's open list ------------------------------------------------------

    def searched(self, chosen: OpenList) -> OpenList:
        """``chosen`` with the open challenges its search finds (``OpenList.found``): a
        reference by its start, a case number whole, a child by any part of the name,
        whatever the case."""
        if chosen.found is not None or not chosen.search.strip():
            return chosen
        text, like = _like(chosen.search.strip()), self._side.like
        rows = self._execute(  # read from the index that holds all three, not the records
            f"SELECT reference FROM challenges {self._side.read_through('open_by_reference')} "
            f"WHERE closed_on IS NULL AND (reference {like} ? ESCAPE '\\' "
            f"OR case_number {like} ? ESCAPE '\\' OR child {like} ? ESCAPE '\\')",
            (f"{text}%", text, f"%{text}%"),
        )
        return replace(chosen, found=tuple(r.reference for r in rows))

    def open_list(
        self, chosen: OpenList, ranks: ListRanks, offset: int, limit: int
    ) -> Sequence[RowMapping]:
        """One page of the open challenges ``chosen`` picks, in its order (``ranks``: the
        levels' and the procedures' places, for sorting by level or by procedure)."""
        chosen = self.searched(chosen)
        where, params = chosen.where(self._side)
        order, order_params = chosen.order_by(ranks, self._side)
        # The page is found over an index (the order's own, or for a rank, which no index
        # has, the narrow one that holds all it picks and sorts by), then only its rows
        # are read. Reading whole rows while counting off the offset cost PostgreSQL a
        # sort of every open challenge on disk: page 200 by team, 150 ms rather than 50.
        narrow = self._side.read_through("open_by_kind") if chosen.sort in RANKED_SORTS else ""
        found = (
            f"SELECT reference FROM challenges {narrow} {where} ORDER BY {order} LIMIT ? OFFSET ?"
        )
        return (
            self._execute(
                "SELECT reference, policy, stage, status, due, child, iro, team, addressee "
                f"FROM challenges WHERE reference IN ({found}) ORDER BY {order}",
                (*params, *order_params, limit, offset, *order_params),
            )
            .mappings()
            .all()
        )

    def open_summary(self, seen: OpenList, chosen: OpenList, today: dt.date) -> OpenSummary:
        """Of the open challenges ``seen`` picks (whom the person may see, mine or not):
        how many, how many overdue ``today``, how many of them ``chosen`` picks (the same
        person's filters and search), and each procedure, level, IRO and team among them
        for the filters to offer. One pass over an index that covers it."""
        where, params = seen.where(self._side)
        picks, picked_params = self.searched(chosen).conditions(self._side)
        groups = (
            self._execute(
                "SELECT policy, stage, iro, team, count(*) AS open, "
                "count(*) FILTER (WHERE status = 'awaiting response' AND due < ?) AS overdue, "
                f"count(*) FILTER (WHERE {' AND '.join(picks) or 'TRUE'}) AS picked "
                f"FROM challenges {where} GROUP BY policy, stage, iro, team",
                (today.isoformat(), *picked_params, *params),
            )
            .mappings()
            .all()
        )
        return OpenSummary(
            open=sum(g["open"] for g in groups),
            overdue=sum(g["overdue"] for g in groups),
            picked=sum(g["picked"] for g in groups),
            kinds=groups,
        )

    def deadlines(self, reference: str) -> dict[str, dt.date]:
        rows = self._execute(
            "SELECT kind, due FROM deadlines WHERE reference = ? ORDER BY due", (reference,)
        )
        return {r.kind: dt.date.fromisoformat(r.due) for r in rows}

    # --- files --------------------------------------------------------------------------

    def note_claim(self, claim: str, original_name: str, sha256: str, at: dt.datetime) -> int:
        """Record a claimed file (committed before any work on it); the attempt number."""
        with self.transaction():
            self._execute(
                """
                INSERT INTO files (claim, original_name, sha256, claimed_at)
                VALUES (?, ?, ?, ?)
                ON CONFLICT (claim) DO UPDATE SET attempts = files.attempts + 1
                    WHERE files.outcome IS NULL
                """,
                (claim, original_name, sha256, _iso(at)),
            )
            attempts = self._execute(
                "SELECT attempts FROM files WHERE claim = ?", (claim,)
            ).scalar_one()
        return int(attempts)

    def file(self, claim: str) -> FileRecord | None:
        row = self._execute("SELECT * FROM files WHERE claim = ?", (claim,)).fetchone()
        return FileRecord(**row._mapping) if row else None

    def processed_copy(self, sha256: str) -> FileRecord | None:
        """The first file with these bytes that became (part of) a challenge."""
        row = self._execute(
            "SELECT * FROM files WHERE sha256 = ? AND outcome = 'processed' "
            "ORDER BY finished_at, claim LIMIT 1",
            (sha256,),
        ).fetchone()
        return FileRecord(**row._mapping) if row else None

    def finish_file(
        self,
        claim: str,
        *,
        outcome: str,
        reference: str | None,
        message: str,
        at: dt.datetime,
        actor: str | None = None,
    ) -> None:
        """The file's outcome, and its 'file' event (``actor``: who the form names as
        sending it): once only per claim."""
        with self.transaction():
            row = self.file(claim)
            if row is None:
                raise RegisterError(f"No claimed file {claim} in the register.")
            if row.outcome is not None:
                raise RegisterError(f"{claim} was already finished as {row.outcome}.")
            self._execute(
                "UPDATE files SET outcome = ?, reference = ?, message = ?, finished_at = ? "
                "WHERE claim = ?",
                (outcome, reference, message, _iso(at), claim),
            )
            self.add_event(
                reference,
                "file",
                at,
                file=claim,
                sha256=row.sha256,
                outcome=outcome,
                message=message,
                actor=actor,
            )

    def latest_file(self, sha256: str) -> FileRecord | None:
        """The file with these bytes claimed last (an upload's fate, as the watcher left it)."""
        row = self._execute(
            "SELECT * FROM files WHERE sha256 = ? ORDER BY claimed_at DESC LIMIT 1", (sha256,)
        ).fetchone()
        return FileRecord(**row._mapping) if row else None

    def original_names(self, claims: Sequence[str]) -> dict[str, str]:
        """The names these claimed files were dropped as, by claim."""
        if not claims:
            return {}
        rows = self._execute(
            f"SELECT claim, original_name FROM files WHERE claim IN ({', '.join('?' * len(claims))})",
            tuple(claims),
        )
        return {r.claim: r.original_name for r in rows}

    def files(self) -> list[FileRecord]:
        return [
            FileRecord(**r._mapping)
            for r in self._execute("SELECT * FROM files ORDER BY claimed_at")
        ]

    # --- claims: who has a file or a staging folder -----------------------------------

    def claim_holder(self, name: str) -> ClaimRecord | None:
        """Who holds the claim ``name``, and for how long they have been silent."""
        row = self._execute(
            f"SELECT host, boot, pid, instance, {self._side.clock} - heartbeat AS silent_for "
            "FROM claims WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        owner = ClaimOwner(row.host, row.boot, int(row.pid), row.instance)
        return ClaimRecord(name, owner, float(row.silent_for))

    def take_claim(self, name: str, owner: ClaimOwner) -> bool:
        """Claim ``name`` for ``owner`` unless someone holds it: True when it is theirs."""
        clock = self._side.clock
        with self.transaction():
            taken = self._execute(
                "INSERT INTO claims (name, host, boot, pid, instance, taken, heartbeat) "
                f"VALUES (?, ?, ?, ?, ?, {clock}, {clock}) ON CONFLICT (name) DO NOTHING",
                (name, owner.host, owner.boot, owner.pid, owner.instance),
            )
        return taken.rowcount == 1

    def take_over_claim(
        self, name: str, owner: ClaimOwner, dead: ClaimOwner, silent_for: float | None
    ) -> bool:
        """Give ``owner`` the claim ``name`` that ``dead`` holds, if ``dead`` still holds it
        and (unless ``silent_for`` is None: its death is proved another way) has not
        renewed it for ``silent_for`` seconds by the server's clock. One UPDATE whose
        condition only one of several machines racing for it can meet: True for that one."""
        clock = self._side.clock
        silent = "" if silent_for is None else f" AND heartbeat < {clock} - ?"
        with self.transaction():
            taken = self._execute(
                "UPDATE claims SET host = ?, boot = ?, pid = ?, instance = ?, "
                f"taken = {clock}, heartbeat = {clock} WHERE name = ? AND instance = ?{silent}",
                (
                    owner.host,
                    owner.boot,
                    owner.pid,
                    owner.instance,
                    name,
                    dead.instance,
                    *(() if silent_for is None else (silent_for,)),
                ),
            )
        return taken.rowcount == 1

    def renew_claims(self, instance: str) -> int:
        """The heartbeat of every claim ``instance`` holds, set to the server's time now."""
        with self.transaction():
            renewed = self._execute(
                f"UPDATE claims SET heartbeat = {self._side.clock} WHERE instance = ?",
                (instance,),
            )
        return renewed.rowcount

    def holds_claim(self, name: str, instance: str) -> bool:
        found = self._execute(
            "SELECT 1 FROM claims WHERE name = ? AND instance = ?", (name, instance)
        ).fetchone()
        return found is not None

    def release_claim(self, name: str, instance: str) -> None:
        with self.transaction():
            self._execute("DELETE FROM claims WHERE name = ? AND instance = ?", (name, instance))

    def claims(self) -> list[ClaimRecord]:
        """Every claim held, oldest heartbeat first."""
        rows = self._execute(
            f"SELECT name, host, boot, pid, instance, {self._side.clock} - heartbeat "
            "AS silent_for FROM claims ORDER BY heartbeat, name"
        )
        return [
            ClaimRecord(
                r.name, ClaimOwner(r.host, r.boot, int(r.pid), r.instance), float(r.silent_for)
            )
            for r in rows
        ]

    # --- events, documents, notices, reminders -----------------------------------------

    def add_event(
        self,
        reference: str | None,
        what: str,
        at: dt.datetime,
        *,
        file: str | None = None,
        sha256: str | None = None,
        outcome: str | None = None,
        message: str | None = None,
        actor: str | None = None,
        reason: str | None = None,
    ) -> int:
        with self.transaction():
            new_id = self._execute(
                "INSERT INTO events "
                "(reference, at, what, file, sha256, outcome, message, actor, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (reference, _iso(at), what, file, sha256, outcome, message, actor, reason),
            ).scalar_one()
        return int(new_id)

    def events(self, reference: str | None = None) -> list[EventRecord]:
        if reference is None:
            rows = self._execute("SELECT * FROM events ORDER BY id")
        else:
            rows = self._execute(
                "SELECT * FROM events WHERE reference = ? ORDER BY id", (reference,)
            )
        return [EventRecord(**r._mapping) for r in rows]

    def event_rows(self, reference: str) -> list[dict[str, Any]]:
        """Every column of each event of ``reference``, in order: the dashboard's timeline
        shows whatever columns an event has, so a new kind appears without changes there."""
        rows = self._execute("SELECT * FROM events WHERE reference = ? ORDER BY id", (reference,))
        return [dict(r._mapping) for r in rows]

    def site_events(self, kinds: Sequence[str], limit: int) -> list[EventRecord]:
        """The newest ``limit`` events of these kinds that name no challenge (sign-ins,
        tracker downloads, refusals), newest first."""
        rows = self._execute(
            f"SELECT * FROM events WHERE reference IS NULL AND what IN "
            f"({', '.join('?' * len(kinds))}) ORDER BY id DESC LIMIT ?",
            (*kinds, limit),
        )
        return [EventRecord(**r._mapping) for r in rows]

    def add_document(
        self, reference: str, kind: str, path: str, at: dt.datetime, event: int | None = None
    ) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO documents (reference, kind, path, created, event) "
                "VALUES (?, ?, ?, ?, ?)",
                (reference, kind, path, _iso(at), event),
            )

    def supersede_document(self, path: str, kept_at: str) -> None:
        """The document at ``path`` under outbox/ is now kept at ``kept_at``: a newer
        copy takes its name."""
        with self.transaction():
            self._execute("UPDATE documents SET path = ? WHERE path = ?", (kept_at, path))

    def documents(self, reference: str | None = None) -> list[DocumentRecord]:
        sql = "SELECT reference, kind, path, created, event FROM documents"
        params: tuple[Any, ...] = ()
        if reference is not None:
            sql += " WHERE reference = ?"
            params = (reference,)
        return [DocumentRecord(**r._mapping) for r in self._execute(sql + " ORDER BY id", params)]

    def is_document(self, reference: str, path: str) -> bool:
        """Whether ``path`` (``REFERENCE/NAME`` under outbox/) is a document of ``reference``."""
        row = self._execute(
            "SELECT 1 FROM documents WHERE reference = ? AND path = ?", (reference, path)
        ).fetchone()
        return row is not None

    def add_notice(
        self,
        reference: str,
        path: str,
        subject: str,
        recipients: str,
        at: dt.datetime,
        event: int | None = None,
    ) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO notices (reference, path, subject, recipients, created, event) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO NOTHING",
                (reference, path, subject, recipients, _iso(at), event),
            )

    def unsent_notices(self) -> list[NoticeRecord]:
        rows = self._execute("SELECT * FROM notices WHERE sent_at IS NULL ORDER BY id")
        return [NoticeRecord(**r._mapping) for r in rows]

    def notices(self, reference: str | None = None) -> list[NoticeRecord]:
        if reference is None:
            rows = self._execute("SELECT * FROM notices ORDER BY id")
        else:
            rows = self._execute(
                "SELECT * FROM notices WHERE reference = ? ORDER BY id", (reference,)
            )
        return [NoticeRecord(**r._mapping) for r in rows]

    def mark_sent(self, notice_id: int, at: dt.datetime) -> None:
        with self.transaction():
            self._execute("UPDATE notices SET sent_at = ? WHERE id = ?", (_iso(at), notice_id))

    def has_output(self, path: str) -> bool:
        """Whether ``REFERENCE/NAME`` under outbox/ is a committed document or notice."""
        row = self._execute(
            "SELECT 1 FROM documents WHERE path = ? UNION SELECT 1 FROM notices WHERE path = ?",
            (path, path),
        ).fetchone()
        return row is not None

    def reminded(self, reference: str, action_key: str) -> bool:
        row = self._execute(
            "SELECT 1 FROM reminders WHERE reference = ? AND action_key = ?",
            (reference, action_key),
        ).fetchone()
        return row is not None

    def add_reminder(self, reference: str, action_key: str, on: dt.date) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO reminders (reference, action_key, sent_on) VALUES (?, ?, ?)",
                (reference, action_key, on.isoformat()),
            )


def _raised_on(challenge: Challenge) -> dt.date:
    """When the challenge began: its first stage in history, or now."""
    if challenge.history:
        return challenge.history[0].raised_on
    return challenge.date_of_notification
