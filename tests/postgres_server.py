"""A throwaway PostgreSQL cluster for the tests: Debian's own initdb and pg_ctl (the
``postgresql`` package, which ``make test`` installs), a data folder and a unix socket in
a temporary folder, a random port, no TCP listener; stopped and removed at the end."""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

SUPERUSER = "formflow_test"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(
            f"PostgreSQL's {name} is missing: install Debian's postgresql package "
            "(make test does) to run the register tests on PostgreSQL."
        )
    return found[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    """initdb refuses to run as root: run the cluster as Debian's postgres user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


class Cluster:
    """A running cluster; ``new_database()`` gives a fresh, empty database's URL."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = _free_port()
        self._names = itertools.count(1)

    def start(self) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            _as_owner(
                [_bin("initdb"), "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )
        options = f"-k {self.folder} -p {self.port} -c listen_addresses='' -c fsync=off"
        # The server's log goes to a file: a pipe would stay open in the server, and
        # pg_ctl's caller wait for it for ever.
        log = self.folder / "server.log"
        subprocess.run(
            _as_owner(
                [_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start"]
            ),
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_owner([_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.folder}&port={self.port}"

    def new_database(self) -> str:
        name = f"register_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database ``new_database`` gave, closing what still holds it: each is a
        copy of the template (some 8 MB), and a run makes hundreds."""
        name = url.split("@/", 1)[1].split("?", 1)[0]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    # /tmp itself, not pytest's tmp_path: the postgres user must reach the folder, and a
    # unix socket's path is limited to about 100 characters.
    folder = Path(tempfile.mkdtemp(prefix="formflow-pg-"))
    os.chmod(folder, 0o755)
    cluster = Cluster(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
