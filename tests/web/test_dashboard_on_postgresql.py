"""The dashboard over a register on PostgreSQL (issue 26): ``formflow serve`` started
through the CLI answers a signed-in request, and a register of 5,000 challenges copied
from SQLite with ``formflow register copy --to`` is checked and listed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from web_support import (
    CHILD,
    FAST_HASHER,
    NOW,
    OVERDUE,
    PASSWORD,
    TODAY,
    USER,
    dashboard_address,
    fill_register,
    home_on,
    sign_in,
    sign_in_over_http,
)

from formflow.cli import main
from formflow.config import REGISTER_URL_ENV, Settings
from formflow.outbox.folders import Home
from formflow.store.register import Register
from formflow.web.accounts import Accounts, accounts_at
from formflow.web.app import create_app
from postgres_server import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.dashboard import claim_of, fill  # the bench's bulk builder: seconds, not minutes

pytestmark = pytest.mark.slow

COPIED = 5000
FORMFLOW = (sys.executable, "-m", "formflow.cli")


def test_serve_through_the_cli_answers_a_signed_in_request_on_postgresql(
    postgres: Cluster, tmp_path: Path
) -> None:
    url = postgres.new_database()
    fill_register(home_on(tmp_path, url))
    environment = {**os.environ, REGISTER_URL_ENV: url}
    added = subprocess.run(
        [*FORMFLOW, "users", "add", USER, "--role", "admin", "--home", str(tmp_path)],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    server = subprocess.Popen(
        [*FORMFLOW, "serve", "--home", str(tmp_path), "--port", "0"],
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        address = dashboard_address(server.stderr)
        assert address, "serve printed no dashboard address"
        browser, listing = sign_in_over_http(address)
        assert OVERDUE in listing and "Open challenges" in listing
        page = browser.open(f"{address}challenges/{OVERDUE}", timeout=10).read().decode()
        assert CHILD in page and "Timeline" in page
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        if server.stderr is not None:
            server.stderr.close()
    assert server.returncode == 0
    # nothing of the register or of the users went to SQLite files in var/
    assert not (tmp_path / "var" / "formflow.db").exists()
    assert not (tmp_path / "var" / "users.db").exists()


def test_a_register_of_5000_copied_to_postgresql_is_checked_and_served(
    postgres: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = Home(tmp_path / "home")
    references = fill(home, COPIED)
    for i, reference in enumerate(references):  # the originals `check` looks for
        (home.archive / reference).mkdir(parents=True)
        (home.archive / reference / claim_of(i)).write_bytes(b"a form")
    users = Accounts.of(home, hasher=FAST_HASHER)
    users.add(USER, PASSWORD, role="business-support")
    url = postgres.new_database()
    monkeypatch.delenv(REGISTER_URL_ENV, raising=False)
    runner = CliRunner()
    copied = runner.invoke(main, ["register", "copy", "--to", url, "--home", str(home.root)])
    assert copied.exit_code == 0, copied.output
    assert f"challenges {COPIED}" in copied.output and "Copied 1 dashboard user" in copied.output
    monkeypatch.setenv(REGISTER_URL_ENV, url)
    checked = runner.invoke(main, ["check", "--home", str(home.root)])
    assert checked.exit_code == 0, checked.output
    on_server = home_on(home.root, url)
    app = create_app(on_server, Settings(), today=lambda: TODAY, now=lambda: NOW)
    try:
        client = app.test_client()
        assert sign_in(client) == 302  # the user came across with the register
        listing = client.get("/").get_data(as_text=True)
        assert f"of {COPIED // 2} open challenges" in listing, listing[:3000]
        found = client.get("/?q=Child+01234").get_data(as_text=True)
        assert references[1234] in found and f"1 of {COPIED // 2} open challenges" in found
        page = client.get(
            f"/challenges/{references[1234]}", headers={"Sec-Fetch-Site": "same-origin"}
        )
        assert page.status_code == 200 and "Child 01234 Example" in page.get_data(as_text=True)
    finally:
        app.extensions["formflow"].registers.close()


def test_register_copy_brings_the_users_back_and_never_mixes_two_lists(
    postgres: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres.new_database()
    fill_register(home_on(tmp_path / "server", url))
    Accounts(url, hasher=FAST_HASHER).add("priya", PASSWORD, role="viewer")
    monkeypatch.delenv(REGISTER_URL_ENV, raising=False)
    runner = CliRunner()
    back = tmp_path / "back"
    shutil.copytree(tmp_path / "server" / "outbox", back / "outbox")  # as a move would
    copied = runner.invoke(main, ["register", "copy", "--from", url, "--home", str(back)])
    assert copied.exit_code == 0, copied.output
    assert "Copied 1 dashboard user(s)" in copied.output
    users = Accounts(back / "var" / "users.db", hasher=FAST_HASHER)
    user = users.user("priya")
    assert user is not None and user.role == "viewer" and users.verify("priya", PASSWORD)

    elsewhere = Home(tmp_path / "elsewhere")
    Accounts.of(elsewhere, hasher=FAST_HASHER).add("amara", None)
    refused = runner.invoke(
        main, ["register", "copy", "--from", url, "--home", str(elsewhere.root)]
    )
    assert refused.exit_code == 1 and "are not empty" in refused.output, refused.output
    with Register(elsewhere.database) as register:
        assert register.references() == []  # refused before any row was copied
    assert [u.name for u in Accounts.of(elsewhere).users()] == ["amara"]


def test_a_register_with_no_users_is_copied_from_without_making_any_there(
    postgres: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres.new_database()
    Register(url).close()
    monkeypatch.delenv(REGISTER_URL_ENV, raising=False)
    copied = CliRunner().invoke(
        main, ["register", "copy", "--from", url, "--home", str(tmp_path / "home")]
    )
    assert copied.exit_code == 0, copied.output
    assert "Copied 0 dashboard user(s)" in copied.output
    assert not accounts_at(url)  # the register copied from is left as it was
