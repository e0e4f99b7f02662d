"""Helpers for the service tests: fictional challenges, a fake clock, simple stand-ins for
the form reader and document writers (unit tests of the pipeline's own logic only; the
end-to-end tests use the real intake and render)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner

from formflow.cli import main
from formflow.config import Settings
from formflow.core.engine import Assessment, Document
from formflow.core.policy import Policy
from formflow.core.record import Challenge, Decision, IroDecision
from formflow.errors import RejectedForm
from formflow.outbox.folders import NOTE_SUFFIX, Home
from formflow.pipeline import DocumentWriter, Outcome, Pipeline, Result, Services
from formflow.policy_catalogue import PolicyCatalogue, built_in
from formflow.render import write_form
from formflow.store.register import Register
from waiting import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from conftest import home_at, make_challenge, on_both_engines, open_register

__all__ = [
    "FakeClock",
    "home_at",
    "make_challenge",
    "on_both_engines",
    "open_register",
    "start_watch",
    "stop_watch",
    "wait_for",
]

CHILD_NAME = "Tegan Example"


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FixedNow:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def json_reader(
    path: Path, *, policies: PolicyCatalogue, settings: Settings, today: dt.date
) -> Challenge:
    """Stand-in for intake.read_form: the file holds the record as JSON."""
    try:
        return Challenge.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise RejectedForm(["This is not a challenge form: no fields could be read."]) from exc


def _writer(kind: Document) -> DocumentWriter:
    def write(
        challenge: Challenge,
        policy: Policy,
        settings: Settings,
        outdir: Path,
        *,
        today: dt.date,
        assessment: Assessment,
    ) -> list[Path]:
        slug = kind.value.replace(" ", "-").lower()
        path = outdir / f"{challenge.reference}-stage-{challenge.stage.value}-{slug}.docx"
        path.write_bytes(f"{kind.value} for {challenge.reference}".encode())
        return [path]

    return write


FAKE_WRITERS: Mapping[Document, DocumentWriter] = {kind: _writer(kind) for kind in Document}


def drop_json(folder: Path, name: str, challenge: Challenge) -> Path:
    path = folder / name
    path.write_text(json.dumps(challenge.to_dict()), encoding="utf-8")
    return path


def fake_pipeline(
    root: Path,
    register: Register,
    *,
    now: dt.datetime = dt.datetime(2025, 11, 3, 10, 0),
    settings: Settings | None = None,
) -> Pipeline:
    home = home_at(root)
    home.create()
    services = Services(
        home=home,
        settings=settings or Settings(),
        policies=built_in(),
        read_form=json_reader,
        writers=FAKE_WRITERS,
        now=FixedNow(now),
    )
    return Pipeline(register, services)


def outbox_references(home: Home) -> set[str]:
    return {p.name for p in home.outbox.iterdir() if p.is_dir() and not p.name.startswith(".")}


def assert_outbox_matches_register(home: Home, register: Register) -> None:
    """Every reference and file in the outbox is the register's, and nothing it lists is missing."""
    assert outbox_references(home) == set(register.references())
    listed = {d.path for d in register.documents()} | {n.path for n in register.notices()}
    on_disk = {
        p.relative_to(home.outbox).as_posix()
        for p in [*home.outbox.glob("*/*"), *home.outbox.glob("*/superseded/*")]
        if p.is_file() and not p.parent.name.startswith(".")
    }
    assert listed == on_disk


def files_in(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


# --- real processes and bounded waits ---------------------------------------------------


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


FORMFLOW = (sys.executable, "-c", "from formflow.cli import main; main()")
"""The formflow command, as a separate process, from this interpreter's environment."""


def start_watch(
    home: Path,
    log: Path,
    *options: str,
    as_background_job: bool = False,
    errors: Path | None = None,
) -> subprocess.Popen[bytes]:
    """``formflow watch`` in a process of its own; a background job starts with SIGINT
    ignored, as a shell starts ``make run &``. Its stderr goes to ``errors`` when given,
    else beside stdout in ``log``."""
    command = [*FORMFLOW, "watch", "--home", str(home), "--settle", "0.2", *options]
    with log.open("ab") as out, (errors or log).open("ab") as err:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=err if errors else subprocess.STDOUT,
            preexec_fn=_ignore_sigint if as_background_job else None,
        )


def stop_watch(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- the real pipeline over a home, for the life of a challenge --------------------------

NOTIFIED = dt.date(2026, 11, 23)  # a Monday
PROCESSED_ON = dt.datetime(2026, 12, 1, 10, 0)  # the Tuesday of the next week


def new_form(folder: Path, name: str, *, pdf: bool = False, **overrides: object) -> Path:
    """A new challenge's form as an IRO fills it in (no reference yet)."""
    fields: dict[str, object] = {"date_of_notification": NOTIFIED, **overrides}
    challenge = make_challenge(reference=None, **fields)
    path = folder / name
    write_form(challenge, built_in()("nelincs"), Settings(), path, today=NOTIFIED, pdf=pdf)
    return path


class Service:
    """The real pipeline over a home folder, its clock set by the test."""

    def __init__(self, root: Path, register: Register) -> None:
        self.home = home_at(root)
        self.home.create()
        self.clock = FixedNow(PROCESSED_ON)
        self.register = register
        self.pipeline = Pipeline(
            register, Services(self.home, Settings(), built_in(), now=self.clock)
        )

    def drop(self, path: Path) -> Result:
        dropped = self.home.inbox / path.name
        if path != dropped:
            dropped.write_bytes(path.read_bytes())
        return self.pipeline.handle(dropped)

    def raised(self, name: str = "new.docx", **overrides: object) -> str:
        result = self.drop(new_form(self.home.root, name, **overrides))
        assert result.outcome is Outcome.PROCESSED, result.message
        assert result.reference is not None
        return result.reference

    def record(self, reference: str) -> Challenge:
        challenge = self.register.challenge(reference)
        assert challenge is not None
        return challenge

    def outbox(self, reference: str, name: str) -> Path:
        path = self.home.outbox / reference / f"{reference}-{name}"
        assert path.is_file(), sorted(p.name for p in path.parent.iterdir())
        return path

    def note(self, result: Result) -> str:
        return (self.home.rejected / f"{result.name}{NOTE_SUFFIX}").read_text()


def cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--home", str(home)])
    return result.exit_code, result.output


def show_json(home: Path, reference: str) -> dict[str, object]:
    code, output = cli(home, "show", reference, "--json")
    assert code == 0, output
    whole: dict[str, object] = json.loads(output)
    return whole


def raise_and_withdraw(
    register: Register, root: Path, case: str = "LCS-000123", **fields: object
) -> str:
    """A challenge raised and then withdrawn on its form: closed, with an original, a
    document and an email draft or two. ``fields`` override the record's (the child's
    name, the concern)."""
    pipeline = fake_pipeline(root, register)
    child = dataclasses.replace(
        make_challenge().child, case_number=case, name=str(fields.pop("name", CHILD_NAME))
    )
    raised = make_challenge(reference=None, child=child, **fields)
    first = pipeline.handle(drop_json(pipeline.home.inbox, f"raise-{case}.docx", raised))
    assert first.outcome is Outcome.PROCESSED and first.reference, first.message
    withdrawn = dataclasses.replace(
        raised,
        reference=first.reference,
        iro_decision=IroDecision(Decision.WITHDRAW, "Raised in error.", dt.date(2025, 11, 3)),
    )
    second = pipeline.handle(drop_json(pipeline.home.inbox, f"withdraw-{case}.docx", withdrawn))
    assert second.outcome is Outcome.PROCESSED, second.message
    return first.reference
