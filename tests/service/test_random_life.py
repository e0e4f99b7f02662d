"""Random sequences of life events, as a council's staff make them: several challenges at
once, forms dropped into a live watcher or run through `formflow process` beside it,
answers right and wrong, commands valid and not, deadline chases, junk files, and the
watcher killed with SIGKILL at random moments. After every step the register, the
folders and every view of them must still agree.

Seeded and bounded in time: FORMFLOW_LIFE_SEED picks the sequence (the seed is in every
failure message), FORMFLOW_LIFE_SECONDS how long it runs (default 45 s)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from click.testing import CliRunner
from service_support import (
    home_at,
    make_challenge,
    on_both_engines,
    open_register,
    start_watch,
    stop_watch,
    wait_for,
)

from filled_forms import fill_docx
from formflow.cli import main
from formflow.config import Settings
from formflow.core.engine import CLOSED, Status, status_of
from formflow.core.record import Challenge, Child, LegalStatus
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.render import write_form
from formflow.store.register import Register
from formflow.web.accounts import Accounts
from formflow.web.app import create_app

SEED = int(os.environ.get("FORMFLOW_LIFE_SEED", "20261203"))
SECONDS = float(os.environ.get("FORMFLOW_LIFE_SECONDS", "45"))
CHILDREN = (
    Child("Tegan Example", dt.date(2014, 2, 9), "LCS-000123", LegalStatus.CHILD_IN_CARE),
    Child("Cai Example", dt.date(2015, 5, 5), "LCS-000777", LegalStatus.CHILD_IN_CARE),
    Child("Nia Sample", dt.date(2012, 8, 1), "LCS-000456", LegalStatus.CHILD_PROTECTION_PLAN),
    Child("Owen Fictional", dt.date(2016, 1, 20), "LCS-000999", LegalStatus.CHILD_IN_CARE),
)
WHO = ("--by", "Kemi Adeyemi, business support")
USER, PASSWORD = "auditor", "correct horse battery staple"
ENDED = CLOSED | {Status.RESOLVED}
"""Not listed by `formflow status`, which lists the open challenges."""


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is never an answer
    return result.exit_code, result.output


@dataclass
class Life:
    """One home, its watcher, and what the test dropped and saw."""

    root: Path
    rng: random.Random
    home: Home = field(init=False)
    watcher: subprocess.Popen[bytes] | None = None
    dropped: list[str] = field(default_factory=list)
    trails: dict[str | None, list[int]] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    count: int = 0

    def __post_init__(self) -> None:
        self.home = home_at(self.root)
        self.home.create()
        self.calendar = Settings().calendar
        self.today = dt.date.today()

    # --- the watcher ------------------------------------------------------------------

    def start(self) -> None:
        self.watcher = start_watch(self.root, self.root / "watch.log")

    def kill(self) -> None:
        """SIGKILL, as a reboot or an operator would: the next start finishes its work."""
        assert self.watcher is not None
        self.watcher.send_signal(signal.SIGKILL)
        self.watcher.wait(timeout=30)
        self.start()

    def stop(self) -> None:
        if self.watcher is not None:
            stop_watch(self.watcher)

    # --- what people drop -------------------------------------------------------------

    def _name(self, stem: str, suffix: str = ".docx") -> str:
        self.count += 1
        return f"{self.count:03d} {stem}{suffix}"

    def drop(self, source: Path, *, by_process: bool = False) -> None:
        """Into the inbox, as Word saves (written beside it, then renamed in), or through
        `formflow process` while the watcher runs."""
        name = source.name
        self.dropped.append(name)
        if by_process:
            code, output = _run("process", str(source), "--home", str(self.root))
            assert code in (0, 1), output
            return
        hidden = self.home.inbox / f".~{name}.partial"
        hidden.write_bytes(source.read_bytes())
        hidden.rename(self.home.inbox / name)

    def new_form(self) -> Path:
        child = self.rng.choice(CHILDREN)
        notified = self.today - dt.timedelta(days=self.rng.randint(0, 16))
        while not self.calendar.is_working_day(notified):
            notified -= dt.timedelta(days=1)
        challenge = replace(
            make_challenge(reference=None, child=child, date_of_notification=notified),
            separate_challenge=self.rng.random() < 0.3,
            concern=self.rng.choice(("Plan drift.", "No review held.", "Contact not agreed.")),
        )
        path = self.root / "made" / self._name(f"new {child.name}")
        path.parent.mkdir(exist_ok=True)
        return write_form(challenge, built_in()("nelincs"), Settings(), path, today=notified)

    def latest_form(self, challenge: Challenge) -> Path | None:
        reference = challenge.reference
        kind = "final-record" if status_of(challenge) is Status.RESOLVED else "form"
        stem = f"{reference}-stage-{challenge.stage.id}-form" if kind == "form" else None
        folder = self.home.outbox / str(reference)
        found = sorted(
            (p for p in folder.glob("*.docx") if p.name.startswith(stem or f"{reference}-{kind}")),
            key=lambda p: p.stat().st_mtime,
        )
        return found[-1] if found else None

    def answered(self, form: Path, kind: str) -> Path:
        people = ("Priya Raman", "Sam Okafor", "Dee Director")
        text = {"response_text": self.rng.choice(("Agreed.", "We do not agree.", "Review set."))}
        text["response_by"] = self.rng.choice(people)
        ticked: tuple[str, ...] = {
            "resolved": ("response_resolved",),
            "not resolved": ("response_not_resolved",),
            "no outcome": (),
        }.get(kind, ())
        if kind == "reopen":
            text = {"iro_decision_reason": "The agreed review was not held."}
            ticked = ("iro_decision_reopen",)
        if kind == "withdraw":
            text = {"iro_decision_reason": "Raised in error."}
            ticked = ("iro_decision_withdraw",)
        if kind == "mistyped":
            reference = form.name[:14]
            text["reference"] = reference[:-1] + ("Q" if reference[-1] != "Q" else "R")
            ticked = ("response_resolved",)
        target = self.root / "made" / self._name(f"{kind} {form.stem[:14]}")
        return fill_docx(form, target, text, ticked)

    def junk(self) -> Path:
        path = self.root / "made" / self._name("not a form", self.rng.choice((".docx", ".pdf")))
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(self.rng.randbytes(self.rng.randint(0, 400)))
        return path


# --- the steps ------------------------------------------------------------------------------

Step = Callable[[Life, Register], str]


def _some(life: Life, register: Register, open_only: bool = False) -> Challenge | None:
    challenges = register.challenges(open_only=open_only)
    return life.rng.choice(challenges) if challenges else None


def raise_one(life: Life, register: Register) -> str:
    form = life.new_form()
    life.drop(form, by_process=life.rng.random() < 0.25)
    return f"raise {form.name}"


def answer(life: Life, register: Register) -> str:
    challenge = _some(life, register)
    form = life.latest_form(challenge) if challenge else None
    if challenge is None or form is None:
        return raise_one(life, register)
    kinds = ["resolved", "not resolved", "no outcome", "mistyped", "withdraw"]
    if status_of(challenge) is Status.RESOLVED:
        kinds += ["reopen", "reopen"]
    filled = life.answered(form, life.rng.choice(kinds))
    life.drop(filled, by_process=life.rng.random() < 0.25)
    return f"answer {filled.name}"


def both_at_once(life: Life, register: Register) -> str:
    """Two managers answer the same form and save it into the inbox at the same moment."""
    challenge = _some(life, register, open_only=True)
    form = life.latest_form(challenge) if challenge else None
    if form is None:
        return raise_one(life, register)
    first, second = (life.answered(form, kind) for kind in ("resolved", "not resolved"))
    life.drop(first)
    life.drop(second)
    return f"both at once {first.name}, {second.name}"


def again(life: Life, register: Register) -> str:
    """The same file saved into the inbox a second time."""
    made = sorted((life.root / "made").glob("*")) if (life.root / "made").exists() else []
    if not made:
        return raise_one(life, register)
    source = life.rng.choice(made)
    copy = life.root / "made" / life._name(f"copy of {source.stem[:20]}", source.suffix)
    copy.write_bytes(source.read_bytes())
    life.drop(copy)
    return f"again {source.name}"


def command(life: Life, register: Register) -> str:
    challenge = _some(life, register)
    if challenge is None:
        return raise_one(life, register)
    reference = str(challenge.reference)
    other = _some(life, register)
    later = life.today + dt.timedelta(days=life.rng.randint(-5, 12))
    choices: list[tuple[str, ...]] = [
        ("withdraw", reference),
        ("close", reference),
        ("escalate", reference),
        ("reopen", reference),
        ("extend", reference, "--to", later.isoformat()),
        ("reassign", reference, "--to", "Sam Okafor", "--role", "Team Manager"),
        ("amend", reference, "team", "Children in Care Team 3"),
        ("merge", str(other.reference if other else reference), reference),
    ]
    args = life.rng.choice(choices)
    on = ()
    if life.rng.random() < 0.2:
        on = ("--on", (life.today - dt.timedelta(days=life.rng.randint(0, 400))).isoformat())
    code, output = _run(*args, *WHO, "--reason", "Random life", *on, "--home", str(life.root))
    assert code in (0, 1), output  # done, or refused with a plain message
    return f"{' '.join(args)} {' '.join(on)} -> {code}"


def tick(life: Life, register: Register) -> str:
    code, output = _run("tick", "--home", str(life.root))
    assert code == 0, output
    return "tick"


def junk(life: Life, register: Register) -> str:
    life.drop(life.junk())
    return "junk"


def kill(life: Life, register: Register) -> str:
    """A drop, then the watcher killed at once: often in the middle of that form."""
    step = raise_one(life, register) if life.rng.random() < 0.5 else answer(life, register)
    time.sleep(life.rng.uniform(0.0, 1.5))
    life.kill()
    return f"{step}; kill -9"


STEPS: tuple[tuple[Step, int], ...] = (
    (raise_one, 4),
    (answer, 8),
    (both_at_once, 2),
    (again, 1),
    (command, 5),
    (tick, 2),
    (junk, 1),
    (kill, 2),
)


# --- what must hold after every step ---------------------------------------------------------


def _settled(life: Life) -> bool:
    inbox = [p for p in life.home.inbox.iterdir() if p.is_file() and not p.name.startswith(".")]
    claimed = [p for p in life.home.claims.iterdir() if not p.name.startswith(".")]
    return not inbox and not claimed


def _every_file_answered(life: Life, register: Register) -> None:
    ended = {f.original_name for f in register.files() if f.outcome is not None}
    missing = [name for name in life.dropped if name not in ended]
    assert not missing, f"no outcome for {missing}"


def _check_passes(life: Life) -> None:
    code, output = _run("check", "--home", str(life.root))
    assert code == 0, output


def _trails_grow_and_name_who(life: Life, register: Register) -> None:
    now: dict[str | None, list[int]] = {}
    for event in register.events():
        assert event.actor, f"event {event.id} ({event.what}: {event.message}) names nobody"
        now.setdefault(event.reference, []).append(event.id)
    for reference, before in life.trails.items():
        assert now.get(reference, [])[: len(before)] == before, f"{reference}'s trail shrank"
    life.trails = now


def _views_agree(life: Life, register: Register, dashboard: Iterator[object]) -> None:
    challenges = {c.reference: c for c in register.challenges()}
    code, output = _run("status", "--json", "--home", str(life.root))
    assert code == 0, output
    listed = {row["reference"]: row for row in json.loads(output)["challenges"]}
    code, output = _run("export", "--csv", str(life.root / "export.csv"), "--home", str(life.root))
    assert code == 0, output
    exported = list(csv.DictReader(io.StringIO((life.root / "export.csv").read_text("utf-8-sig"))))
    rows = {row["Reference"]: row for row in exported}
    client = next(dashboard)
    for reference, challenge in challenges.items():
        status = status_of(challenge).value
        code, output = _run("show", str(reference), "--json", "--home", str(life.root))
        shown = json.loads(output)
        assert (shown["status"], shown["stage"]) == (status, challenge.stage.label), reference
        transitions = [e for e in shown["timeline"] if e["what"] == "transition"]
        assert transitions and transitions[-1]["outcome"] == status, reference
        assert (rows[str(reference)]["Status"], rows[str(reference)]["Stage"]) == (
            status,
            challenge.stage.label,
        )
        assert (str(reference) in listed) == (status_of(challenge) not in ENDED), reference
        if str(reference) in listed:
            assert listed[str(reference)]["stage"] == challenge.stage.label
        page = client.get(f"/challenges/{reference}").get_data(as_text=True)  # type: ignore[attr-defined]
        assert f"<dd>{status}</dd>" in page and challenge.stage.label in page, reference
    wait_for(
        lambda: (
            (life.home.outbox / "tracker.csv").exists()
            and sorted(
                csv.DictReader(
                    io.StringIO((life.home.outbox / "tracker.csv").read_text("utf-8-sig"))
                ),
                key=str,
            )
            == sorted(exported, key=str)
        ),
        30,
        "the live tracker to agree with the register",
    )


def _dashboard(life: Life) -> Iterator[object]:
    accounts = Accounts(life.home.var / "users.db")
    accounts.add(USER, PASSWORD)
    app = create_app(life.home, Settings(), accounts=accounts)
    app.config["TESTING"] = True
    client = app.test_client()
    page = client.get("/signin").get_data(as_text=True)
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.post("/signin", data={"csrf": token, "name": USER, "password": PASSWORD})
    while True:
        yield client


# --- the test ----------------------------------------------------------------------------------


@on_both_engines
def test_random_sequences_of_life_events_keep_everything_consistent(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    life = Life(tmp_path, rng)
    life.start()
    dashboard = _dashboard(life)
    deadline = time.monotonic() + SECONDS
    steps, weights = zip(*STEPS, strict=True)
    try:
        with open_register(life.home.root) as register:
            while time.monotonic() < deadline:
                step = rng.choices(steps, weights)[0]
                life.steps.append(step(life, register))
                context = f"seed {SEED}, steps {life.steps}"
                try:
                    wait_for(lambda: _settled(life), 60, "every dropped file to be taken")
                    _every_file_answered(life, register)
                    _check_passes(life)
                    _trails_grow_and_name_who(life, register)
                    _views_agree(life, register, dashboard)
                except AssertionError as failure:
                    raise AssertionError(f"{failure}\n{context}") from failure
    finally:
        life.stop()
    assert len(life.steps) >= 5, f"only {len(life.steps)} steps in {SECONDS} s"
    print(f"seed {SEED}: {len(life.steps)} steps in {SECONDS:.0f} s")  # shown with pytest -s
