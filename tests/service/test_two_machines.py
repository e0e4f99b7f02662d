"""Two formflow servers on one shared folder and one PostgreSQL register (issue 26): each
its own home and var/ (as on its own disk), both the same inbox, outbox and archive
([folders] shared), each killed with -9 twice and started again while people run
`status` and `tick` and business support read the open list on the dashboard. Every form ends exactly once, and `check`
from either home passes.

The two servers are two processes of this machine that go by two machine names
(``FORMFLOW_MACHINE``), so one takes the other's work over only when its heartbeat is
older than the takeover time, as it would across two machines; a server started again
takes its own claims back at once (same name and boot, its old process gone).
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from service_support import FORMFLOW, assert_outbox_matches_register, stop_watch, wait_for
from test_concurrent_use import Bystander, drop, kill_9, raise_forms

from filled_forms import answer
from formflow.core.record import Stage
from formflow.outbox.folders import Home
from formflow.store.register import Register
from postgres_server import Cluster

pytestmark = pytest.mark.slow

TODAY = dt.date.today()
CHALLENGES = 67
"""Each raised, then answered 'not resolved' at stage 1 and at stage 2: 201 forms."""
TAKEOVER_SECONDS = 5
SERVERS = ("server-a", "server-b")


def make_home(root: Path, shared: Path) -> Home:
    root.mkdir()
    (root / "formflow.toml").write_text(
        f'[folders]\nshared = "{shared}"\ntakeover_seconds = {TAKEOVER_SECONDS}\n\n'
        "[watch]\nrescan_seconds = 2\n",
        encoding="utf-8",
    )
    return Home(root, shared=shared)


def start_server(home: Home, machine: str, log: Path) -> subprocess.Popen[bytes]:
    """``formflow watch`` as the server ``machine``, its output appended to ``log``."""
    command = [*FORMFLOW, "watch", "--home", str(home.root), "--settle", "0.2", "--jobs", "2"]
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "FORMFLOW_MACHINE": machine},
        )


def outcomes(url: str) -> Counter[str | None]:
    with Register(url) as register:
        return Counter(f.outcome for f in register.files())


def answered_forms(url: str, outbox: Path, stage: Stage, workdir: Path) -> list[Path]:
    """Each challenge's responder's form answered 'not resolved', as Word saves it."""
    with Register(url) as register:
        challenges = register.challenges()
    assert {c.stage for c in challenges} == {stage}
    return [
        answer(
            outbox / f"{c.reference}" / f"{c.reference}-stage-{stage.value}-form.docx",
            workdir / f"{c.reference}-{stage.value}.docx",
            TODAY,
        )
        for c in challenges
    ]


def now_and_then(bystander: Bystander, stop: threading.Event) -> None:
    """The command run again and again, a second apart: people at their desks, not a
    load test (each run is a new Python process, and the machine has two cores)."""
    while not stop.is_set():
        done = subprocess.run(bystander.command, capture_output=True, text=True, timeout=300)
        bystander.runs += 1
        if done.returncode != 0:
            bystander.failures.append(f"exit {done.returncode}: {done.stderr[-2000:]}")
        stop.wait(1.0)


DASHBOARD_USER, DASHBOARD_PASSWORD = "bs.reader", "a long business support password"


def serve_dashboard(command: list[str], port: int, root: Path) -> subprocess.Popen[bytes]:
    """``formflow serve`` on the shared register, once it answers."""
    said = root / "dashboard.err"
    with said.open("wb") as err:
        dashboard = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
    wait_for(lambda: dashboard.poll() is not None or _answers(port), 180, "the dashboard to answer")
    assert dashboard.poll() is None, said.read_text()
    return dashboard


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/signin", timeout=5):
            return True
    except (urllib.error.URLError, OSError):
        return False


def _signed_in(port: int) -> urllib.request.OpenerDirector:
    """A browser signed in as the business support user, who sees every challenge."""
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    address = f"http://127.0.0.1:{port}/signin"
    page = browser.open(address, timeout=30).read().decode()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None, page[:500]
    form = {"csrf": token.group(1), "name": DASHBOARD_USER, "password": DASHBOARD_PASSWORD}
    browser.open(address, data=urllib.parse.urlencode(form).encode(), timeout=30)
    return browser


def read_dashboard(port: int, stop: threading.Event, reads: Bystander) -> None:
    """The open list of the shared register, again and again, as business support with a
    browser left open would read it while the servers work and die."""
    browser = _signed_in(port)
    while not stop.is_set():
        try:
            with browser.open(f"http://127.0.0.1:{port}/", timeout=30) as page:
                if page.status != 200 or "Open challenges" not in page.read().decode():
                    reads.failures.append(f"HTTP {page.status}, not the open list")
        except (urllib.error.URLError, OSError) as exc:
            reads.failures.append(str(exc))
        else:
            reads.runs += 1
        stop.wait(0.5)


def test_two_servers_on_one_shared_folder_process_every_form_exactly_once(
    tmp_path: Path, postgres: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    url = postgres.new_database()
    monkeypatch.setenv("FORMFLOW_REGISTER_URL", url)
    shared = tmp_path / "share"
    shared.mkdir()
    homes = [make_home(tmp_path / name, shared) for name in SERVERS]
    inbox, outbox = homes[0].inbox, homes[0].outbox
    workdir = tmp_path / "work"
    workdir.mkdir()
    logs = [tmp_path / f"{name}.log" for name in SERVERS]
    servers = [start_server(h, n, log) for h, n, log in zip(homes, SERVERS, logs, strict=True)]
    wait_for(lambda: inbox.is_dir(), 60, "the first server to make the shared folders")

    def formflow(home: Home, *words: str) -> list[str]:
        return [*FORMFLOW, *words, "--home", str(home.root)]

    people = [
        Bystander("status a", formflow(homes[0], "status", "--json")),
        Bystander("status b", formflow(homes[1], "status", "--json")),
        Bystander("tick", formflow(homes[1], "tick")),
    ]
    added = subprocess.run(
        formflow(homes[0], "users", "add", DASHBOARD_USER, "--role", "business-support"),
        input=f"{DASHBOARD_PASSWORD}\n{DASHBOARD_PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    dashboard_port = 18000 + os.getpid() % 1000
    dashboard = serve_dashboard(
        formflow(homes[0], "serve", "--port", str(dashboard_port)), dashboard_port, tmp_path
    )
    reads = Bystander("dashboard", [])
    stop = threading.Event()
    threads = [
        threading.Thread(target=now_and_then, args=(p, stop), daemon=True) for p in people
    ] + [threading.Thread(target=read_dashboard, args=(dashboard_port, stop, reads), daemon=True)]
    for thread in threads:
        thread.start()
    kills = Counter[str]()
    try:
        forms = raise_forms(workdir, CHALLENGES)
        total = 0
        for stage in (Stage.ONE, Stage.TWO, None):
            for form in forms:
                drop(form, inbox, form.name)
            total += len(forms)
            if stage is not None:  # each server killed once a round, in the thick of it
                for n, share in enumerate((0.3, 0.6)):
                    under_way = total - len(forms) + int(len(forms) * share)
                    wait_for(
                        lambda t=under_way: sum(outcomes(url).values()) >= t,
                        600,
                        "work under way to kill",
                    )
                    kill_9(servers[n])
                    kills[SERVERS[n]] += 1
                    servers[n] = start_server(homes[n], SERVERS[n], logs[n])
            wait_for(
                lambda t=total: (
                    outcomes(url)["processed"] == t and not any(homes[0].claims.iterdir())
                ),
                900,
                f"{total} forms processed; logs:\n{logs[0].read_text()[-1500:]}\n"
                f"{logs[1].read_text()[-1500:]}",
            )
            if stage is not None:
                forms = answered_forms(url, outbox, stage, workdir)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=180)
        for server in servers:
            stop_watch(server)
        stop_watch(dashboard)
    took = time.monotonic() - started

    assert kills == Counter({"server-a": 2, "server-b": 2})
    assert outcomes(url) == Counter({"processed": 3 * CHALLENGES})
    with Register(url) as register:
        challenges = register.challenges()
        assert len(challenges) == CHALLENGES
        assert {c.stage for c in challenges} == {Stage.THREE}
        for challenge in challenges:
            assert challenge.reference is not None
            events = register.events(challenge.reference)
            assert [e.outcome for e in events if e.what == "file"] == ["processed"] * 3
            assert sum(1 for e in events if e.what == "transition") == 3
        paths = [d.path for d in register.documents()]
        assert len(paths) == len(set(paths)), "a document recorded twice"
        assert_outbox_matches_register(homes[0], register)
        assert register.claims() == []
    assert len(list(homes[0].archive.rglob("*.docx"))) == 3 * CHALLENGES
    assert not list(homes[0].rejected.iterdir())
    for home in homes:
        checked = subprocess.run(formflow(home, "check"), capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert not (home.var / "archive").exists() or not any((home.var / "archive").iterdir())
    for person in people:
        assert person.runs >= 2, f"{person.name} ran only {person.runs} time(s)"
        assert person.failures == [], f"{person.name}: {person.failures[:3]}"
    assert reads.runs >= 2 and reads.failures == [], reads.failures[:3]
    said = "".join(log.read_text() for log in logs)
    assert "Traceback" not in said
    assert "taken over from" in said, "no server took another's work over"
    print(f"two servers, {3 * CHALLENGES} forms, 4 kills: {took:.0f} s; {reads.runs} list reads")
