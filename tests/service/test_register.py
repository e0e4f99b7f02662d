"""The register: migrations, references, the record round trip, one outcome per file."""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from service_support import make_challenge

from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import assess
from formflow.core.record import Child, LegalStatus, Person
from formflow.policy_catalogue import built_in
from formflow.store.register import (
    LOOKED_UP,
    MIGRATIONS,
    ListRanks,
    OpenList,
    Register,
    RegisterError,
    file_system_type,
    refuse_network_file_system,
)

AT = dt.datetime(2025, 11, 3, 10, 0)


@pytest.fixture
def register(register_url: str) -> Iterator[Register]:
    """A fresh register, once on SQLite and once on PostgreSQL."""
    with Register(register_url) as r:
        yield r


@contextmanager
def _without_formflow(url: str) -> Iterator[sa.Engine]:
    """The database of the register at ``url``, opened without formflow."""
    engine = sa.create_engine(
        url.replace("postgresql:", "postgresql+psycopg:")
        if url.startswith("postgresql")
        else f"sqlite:///{url}"
    )
    try:
        yield engine
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    """The tables in the register at ``url``, read without formflow."""
    with _without_formflow(url) as engine:
        return set(sa.inspect(engine).get_table_names())


CLAIMS_AS_MIGRATED = {
    "sqlite": [
        ("name", "TEXT", 0, 1),
        ("host", "TEXT", 1, 0),
        ("boot", "TEXT", 1, 0),
        ("pid", "INTEGER", 1, 0),
        ("instance", "TEXT", 1, 0),
        ("taken", "REAL", 1, 0),
        ("heartbeat", "REAL", 1, 0),
    ],
    "postgresql": [
        ("name", "text", "NO"),
        ("host", "text", "NO"),
        ("boot", "text", "NO"),
        ("pid", "integer", "NO"),
        ("instance", "text", "NO"),
        ("taken", "double precision", "NO"),
        ("heartbeat", "double precision", "NO"),
    ],
}
"""The claims table as migration 5 made it on each engine since it was first released:
a register migrated then must match one migrated now."""


def test_the_claims_table_is_as_migration_5_first_made_it(register_url: str) -> None:
    with Register(register_url):
        pass
    with _without_formflow(register_url) as engine, engine.connect() as db:
        if engine.dialect.name == "sqlite":
            columns = [
                (r.name, r.type, r.notnull, r.pk)
                for r in db.exec_driver_sql("PRAGMA table_info(claims)")
            ]
        else:
            columns = [
                tuple(r)
                for r in db.exec_driver_sql(
                    "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                    "WHERE table_name = 'claims' ORDER BY ordinal_position"
                )
            ]
        indexes = {i["name"]: i["column_names"] for i in sa.inspect(db).get_indexes("claims")}
    assert columns == CLAIMS_AS_MIGRATED[engine.dialect.name]
    assert indexes == {"claims_by_instance": ["instance"]}


def test_a_fresh_register_is_at_the_latest_schema(register: Register) -> None:
    assert register.schema_version == len(MIGRATIONS)


def test_migrations_apply_once_and_only_the_new_ones(register_url: str) -> None:
    db = register_url
    with Register(db, migrations=MIGRATIONS):
        pass
    extra = (*MIGRATIONS, "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);")
    with Register(db, migrations=extra) as r:
        assert r.schema_version == len(MIGRATIONS) + 1
    with Register(db, migrations=extra) as r:  # nothing to do the second time
        assert r.schema_version == len(MIGRATIONS) + 1


def test_a_failing_migration_leaves_nothing_behind(register_url: str) -> None:
    broken = (*MIGRATIONS, "CREATE TABLE half (id INTEGER);\nCREATE TABLE oops (;")
    with pytest.raises(sa.exc.DBAPIError):
        Register(register_url, migrations=broken)
    assert not {"half", "challenges"} & _tables(register_url)
    with Register(register_url, migrations=()) as untouched:  # refused were it at 1 or more
        assert untouched.schema_version == 0


def test_a_register_from_a_newer_formflow_is_refused(register_url: str) -> None:
    db = register_url
    with Register(db, migrations=(*MIGRATIONS, "CREATE TABLE later (id INTEGER);")):
        pass
    with pytest.raises(RegisterError, match="newer"):
        Register(db)


def test_the_database_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "var" / "formflow.db"
    with Register(db) as r:
        mode = r._db.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


def test_an_injected_connection_is_used_and_left_open() -> None:
    connection = sqlite3.connect(":memory:")
    try:
        with Register(connection) as r:
            assert r.schema_version == len(MIGRATIONS)
        assert connection.execute("SELECT count(*) FROM challenges").fetchone()[0] == 0
    finally:
        connection.close()


def test_a_new_reference_is_drawn_again_on_a_collision(register: Register) -> None:
    challenge = make_challenge(reference="PC-2025-AAAAAA")
    policy = built_in()("nelincs")
    register.save_challenge(challenge, assess(challenge, policy, WorkingCalendar(), AT.date()), AT)
    draws = iter(["PC-2025-AAAAAA", "PC-2025-AAAAAA", "PC-2025-BBBBBB"])
    assert register.assign_reference(2025, lambda _year: next(draws)) == "PC-2025-BBBBBB"


def test_the_record_round_trips_with_its_deadlines(register: Register) -> None:
    challenge = make_challenge()
    policy = built_in()("nelincs")
    assessment = assess(challenge, policy, WorkingCalendar(), AT.date())
    register.save_challenge(challenge, assessment, AT)
    assert register.challenge("PC-2025-7KQ3XM") == challenge
    assert register.deadlines("PC-2025-7KQ3XM")["response"] == assessment.due
    assert register.challenges(open_only=True) == [challenge]


def test_a_file_has_one_outcome_and_its_attempts_are_counted(register: Register) -> None:
    assert register.note_claim("c1", "form.docx", "ab" * 32, AT) == 1
    assert register.note_claim("c1", "form.docx", "ab" * 32, AT) == 2
    register.finish_file("c1", outcome="rejected", reference=None, message="No.", at=AT)
    with pytest.raises(RegisterError):
        register.finish_file("c1", outcome="processed", reference=None, message="x", at=AT)
    assert register.note_claim("c1", "form.docx", "ab" * 32, AT) == 2  # finished: unchanged
    events = register.events()
    assert [(e.what, e.outcome, e.file) for e in events] == [("file", "rejected", "c1")]


def test_a_transaction_rolls_back_everything_on_an_error(register: Register) -> None:
    with pytest.raises(RuntimeError), register.transaction():
        register.add_event("PC-2025-7KQ3XM", "note", AT, message="one")
        with register.transaction():  # nested: joins the outer one
            register.add_event("PC-2025-7KQ3XM", "note", AT, message="two")
        raise RuntimeError("crash")
    assert register.events() == []


def test_processed_copy_finds_only_processed_files(register: Register) -> None:
    register.note_claim("c1", "a.docx", "f" * 64, AT)
    register.finish_file("c1", outcome="rejected", reference=None, message="x", at=AT)
    assert register.processed_copy("f" * 64) is None
    register.note_claim("c2", "a.docx", "f" * 64, AT)
    register.finish_file("c2", outcome="processed", reference="PC-2025-7KQ3XM", message="ok", at=AT)
    found = register.processed_copy("f" * 64)
    assert found is not None and found.reference == "PC-2025-7KQ3XM"


def test_two_registers_on_one_engine_write_one_at_a_time(register_url: str) -> None:
    """A second writer waits for the first's transaction, on either engine, and gives
    up after its timeout with nothing written (SQLite's BEGIN IMMEDIATE; PostgreSQL's
    advisory lock)."""
    with Register(register_url) as first, Register(register_url, timeout=0.5) as second:
        with first.transaction():
            first.add_event("PC-2025-7KQ3XM", "note", AT, message="first")
            with pytest.raises(sa.exc.OperationalError):
                second.add_event("PC-2025-7KQ3XM", "note", AT, message="second")
        second.add_event("PC-2025-7KQ3XM", "note", AT, message="second")
        assert [e.message for e in first.events()] == ["first", "second"]


def _count_in_another_process(db: Path, table: str) -> int:
    """What a second process (``status`` beside the watcher) sees in ``table``."""
    script = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        f"print(c.execute('SELECT count(*) FROM {table}').fetchone()[0]); c.close()"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(db)], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


def test_writes_stay_visible_with_several_registers_open_in_one_process(tmp_path: Path) -> None:
    # The watcher opens a Register per job thread while status and export read from other
    # processes. Opening one used to open and close the database file itself, which drops
    # this process's POSIX locks on it; the next reader to close then deleted the WAL file
    # under the first connection, and every later commit went into an unlinked file.
    db = tmp_path / "var" / "formflow.db"
    first = Register(db)
    try:
        for written in range(1, 4):
            with Register(db):  # another job thread's register, opened and closed
                assert _count_in_another_process(db, "events") == written - 1
            first.add_event("PC-2025-7KQ3XM", "note", AT, message=f"write {written}")
            assert _count_in_another_process(db, "events") == written
        wal = db.with_name(db.name + "-wal")
        assert wal.exists(), "the live WAL file was deleted under an open connection"
    finally:
        first.close()
    with Register(db) as reopened:  # after every connection closed: nothing was lost
        assert [e.message for e in reopened.events()] == ["write 1", "write 2", "write 3"]


MOUNTS = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:1 / / rw,relatime - ext4 /dev/vda rw
40 27 0:50 / /srv/shares/children\\040services rw,relatime - cifs //fileserver/cs rw,vers=3.0
41 40 254:2 / /srv/shares/children\\040services/local rw,relatime - ext4 /dev/vdb rw
42 27 0:51 / /mnt/nfs rw,relatime - nfs4 fileserver:/export rw
"""


@pytest.mark.parametrize(
    ("folder", "kind"),
    [
        ("/srv/formflow/var", "ext4"),
        ("/srv/shares/children services/formflow/var", "cifs"),
        ("/srv/shares/children services/local/var", "ext4"),  # a disk mounted inside the share
        ("/mnt/nfs/var", "nfs4"),
        ("/proc/self", "proc"),
    ],
)
def test_the_file_system_of_a_folder_is_read_from_the_mount_table(folder: str, kind: str) -> None:

    assert file_system_type(Path(folder), MOUNTS) == kind


@pytest.mark.parametrize("share", ["srv/shares/children services", "mnt/nfs"])
def test_the_register_refuses_to_live_on_a_network_share(tmp_path: Path, share: str) -> None:

    table = tmp_path / "mountinfo"
    table.write_text(
        MOUNTS.replace(" /srv/", f" {tmp_path}/srv/").replace(" /mnt/", f" {tmp_path}/mnt/")
    )
    var = tmp_path / share / "formflow" / "var"
    var.mkdir(parents=True)
    with pytest.raises(RegisterError, match=r"network share .* Keep HOME/var/ on a disk"):
        refuse_network_file_system(var, table)
    refuse_network_file_system(tmp_path / "elsewhere", table)  # a local disk: no complaint


def test_the_open_list_pages_searches_and_limits_alike_on_both_engines(
    register: Register,
) -> None:
    """The dashboard's list in SQL: a manager's need-to-know by name or team whatever the
    case and spacing typed, a search by the start of a reference, part of a child's
    name or a case number, and sorting by name regardless of case."""
    calendar = WorkingCalendar()
    people = [
        ("PC-2025-AAAAAA", "ada Example", "LCS-1", "Priya Raman", "Team A"),
        ("PC-2025-BBBBBB", "Bea Example", "LCS-2", "priya  raman ", "Team B"),
        ("PC-2025-CCCCCC", "cai Sample", "LCS-3", "Dylan Hughes", "Team B"),
    ]
    for reference, child, case, manager, team in people:
        c = make_challenge(
            reference=reference,
            child=Child(child, dt.date(2014, 2, 9), case, LegalStatus.CHILD_IN_CARE),
            addressed_to=Person(manager, "Team Manager"),
            team=team,
        )
        register.save_challenge(c, assess(c, built_in()(c.policy), calendar, AT.date()), AT)

    def listed(chosen: OpenList) -> list[str]:
        return [r["reference"] for r in register.open_list(chosen, ListRanks(), 0, 50)]

    assert listed(OpenList(restricted_to=("PRIYA RAMAN", None))) == [
        "PC-2025-AAAAAA",
        "PC-2025-BBBBBB",
    ]
    assert listed(OpenList(restricted_to=(None, "team b"))) == [
        "PC-2025-BBBBBB",
        "PC-2025-CCCCCC",
    ]
    assert listed(OpenList(search="PC-2025-C")) == ["PC-2025-CCCCCC"]
    assert listed(OpenList(search="Example", sort="child")) == [
        "PC-2025-AAAAAA",
        "PC-2025-BBBBBB",
    ]
    assert listed(OpenList(sort="child", descending=True))[0] == "PC-2025-CCCCCC"
    assert listed(OpenList(search="LCS-2")) == ["PC-2025-BBBBBB"]
    summary = register.open_summary(OpenList(), OpenList(team="Team B"), AT.date())
    assert (summary.open, summary.picked) == (3, 2)
    assert [c.reference for c in register.challenges_addressed_to("priya raman", None)] == [
        "PC-2025-AAAAAA",
        "PC-2025-BBBBBB",
    ]


def test_a_search_with_many_matches_pages_and_counts_as_one_with_few(register: Register) -> None:
    """Past LOOKED_UP matches the list walks its own order instead of looking each match
    up: the same rows, pages and counts either way."""
    calendar = WorkingCalendar()
    matching = LOOKED_UP + 12
    for n in range(matching + 5):
        child = f"Many Example {n:03}" if n < matching else f"Other Child {n:03}"
        c = make_challenge(
            reference=f"PC-2025-{n:06}",
            child=Child(child, dt.date(2014, 2, 9), f"LCS-{n}", LegalStatus.CHILD_IN_CARE),
            date_of_notification=dt.date(2025, 9, 1) + dt.timedelta(days=n % 40),
        )
        register.save_challenge(c, assess(c, built_in()(c.policy), calendar, AT.date()), AT)
    chosen = register.searched(OpenList(search="many example", sort="child", descending=True))
    assert chosen.found is not None and len(chosen.found) == matching
    paged = [
        r["child"]
        for offset in range(0, matching, 100)
        for r in register.open_list(chosen, ListRanks(), offset, 100)
    ]
    assert paged == [f"Many Example {n:03}" for n in reversed(range(matching))]
    few = register.searched(OpenList(search="Many Example 00"))
    assert few.found is not None and len(few.found) == 10
    by_due = [r["reference"] for r in register.open_list(few, ListRanks(), 0, 50)]
    assert sorted(by_due) == [f"PC-2025-{n:06}" for n in range(10)]
    summary = register.open_summary(OpenList(), chosen, AT.date())
    assert (summary.open, summary.picked) == (matching + 5, matching)
