"""Does the register agree with itself and with the folders? ``formflow check``.

The promise is that every archived original has its event, every published document
its row, every event that published documents has them in the outbox, and every IRO's
CAFCASS folder (``outbox/REFERENCE/CAFCASS/``) belongs to a challenge in the register. This module
checks it and repairs nothing: each disagreement is a ``Finding`` in plain English for
whoever looks after the service.

A watcher may be working while the check runs. Files are listed *before* the register
is read: a job commits before it publishes or archives, so whatever was on disk at the
listing is already in the register read after it. What the register lists but the disk
lacks is looked for again at the end, in its final place and where a live job keeps it
(``inbox/.processing/``, ``outbox/.staging/``), so work in flight is reported as such,
never as a fault.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from formflow.core.record import Challenge
from formflow.outbox.folders import CAFCASS_FOLDER, Home, files_within, original_name
from formflow.store.register import Register


@dataclass(frozen=True)
class Finding:
    kind: str
    """A short, stable name for the kind of disagreement (for scripts reading --json)."""
    message: str
    """What is wrong and where, in plain English."""


@dataclass
class CheckReport:
    problems: list[Finding] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "problems": [asdict(p) for p in self.problems],
            "in_progress": self.in_progress,
            "counts": self.counts,
        }


@dataclass(frozen=True)
class _Disk:
    """What the home's folders held when they were listed."""

    archived: frozenset[str]
    """``REFERENCE/CLAIM`` under var/archive/."""
    published: frozenset[str]
    """``REFERENCE/NAME`` under outbox/."""
    supplied: dict[str, int]
    """How many files each ``outbox/REFERENCE/CAFCASS/`` folder holds (the IRO's)."""


def _files_below(folder: Path) -> Iterator[str]:
    """``SUB/NAME`` for each file one folder down, hidden folders and files left out."""
    if not folder.is_dir():
        return
    for sub in sorted(folder.iterdir()):
        if sub.is_dir() and not sub.name.startswith("."):
            for item in sorted(sub.iterdir()):
                if item.is_file() and not item.name.startswith("."):
                    yield f"{sub.name}/{item.name}"


def _list_disk(home: Home) -> _Disk:
    supplied = {
        folder.parent.name: sum(1 for _ in files_within(folder))
        for folder in sorted(home.outbox.glob(f"*/{CAFCASS_FOLDER}"))
        if folder.is_dir() and not folder.parent.name.startswith(".")
    }
    return _Disk(
        frozenset(_files_below(home.archive)), frozenset(_files_below(home.outbox)), supplied
    )


def check_home(home: Home, register: Register) -> CheckReport:
    """Every disagreement between the register, the archive and the outbox."""
    disk = _list_disk(home)
    report = CheckReport()
    with register.reading():
        report.problems += [Finding("damaged", p) for p in register.integrity_problems()]
        _check_records(register, report)
        _check_files(register, disk, home, report)
        _check_outputs(register, disk, home, report)
        _check_supplied(register, disk, report)
    return report


def _check_records(register: Register, report: CheckReport) -> None:
    known = set()
    for reference, stage, record in register.raw_challenges():
        known.add(reference)
        try:
            challenge = Challenge.from_dict(json.loads(record))
        except (ValueError, KeyError, TypeError) as exc:
            report.problems.append(
                Finding("unreadable record", f"{reference}: its record cannot be read ({exc}).")
            )
            continue
        if challenge.reference != reference or challenge.stage.value != stage:
            report.problems.append(
                Finding(
                    "record disagrees",
                    f"{reference}: the register's columns say {stage}, its record says "
                    f"{challenge.reference} at {challenge.stage.value}.",
                )
            )
    report.counts["challenges"] = len(known)
    for reference in sorted(register.referenced() - known):
        report.problems.append(
            Finding(
                "unknown reference",
                f"{reference} has events, documents or notices but no challenge in the register.",
            )
        )


def _check_files(register: Register, disk: _Disk, home: Home, report: CheckReport) -> None:
    files = register.files()
    report.counts["files"] = len(files)
    events = {e.file: e for e in register.events() if e.what == "file" and e.file}
    processed = {}
    for row in files:
        event = events.pop(row.claim, None)
        if row.outcome is None:
            report.in_progress.append(f"{original_name(row.claim)} is being processed.")
            continue
        if event is None or event.outcome != row.outcome:
            report.problems.append(
                Finding(
                    "file without event",
                    f"{row.original_name!r} ({row.claim}) ended {row.outcome} but the audit "
                    "trail has no matching event for it.",
                )
            )
        if row.outcome == "processed":
            processed[f"{row.reference}/{row.claim}"] = row
    for claim in sorted(events):
        report.problems.append(
            Finding(
                "event without file",
                f"The audit trail records {claim}, which the register's files do not list.",
            )
        )
    for archived in sorted(disk.archived - processed.keys()):
        report.problems.append(
            Finding(
                "archived without record",
                f"var/archive/{archived} is an original the register does not list as "
                "processed under that reference.",
            )
        )
    for key in sorted(processed.keys() - disk.archived):
        row = processed[key]
        if (home.archive / key).is_file():
            continue  # archived after the listing
        if (home.claims / row.claim).is_file():
            report.in_progress.append(f"{row.original_name} is being archived.")
            continue
        report.problems.append(
            Finding(
                "original missing",
                f"{row.original_name!r} was processed as {row.reference}, but its original "
                f"is not in var/archive/{row.reference}/ ({row.claim}).",
            )
        )
    report.counts["archived"] = len(disk.archived)


def _check_outputs(register: Register, disk: _Disk, home: Home, report: CheckReport) -> None:
    listed = {d.path: "document" for d in register.documents()}
    listed |= {n.path: "email draft" for n in register.notices()}
    report.counts["outputs"] = len(listed)
    for path in sorted(disk.published - listed.keys()):
        reference = path.split("/", 1)[0]
        report.problems.append(
            Finding(
                "output without record",
                f"outbox/{path} is not a document or email draft the register knows of. If "
                "it is one of the IRO's documents for CAFCASS, move it into "
                f"outbox/{reference}/{CAFCASS_FOLDER}/.",
            )
        )
    staged = set(_staged(home))
    for path in sorted(listed.keys() - disk.published):
        if (home.outbox / path).is_file():
            continue  # published after the listing
        if path in staged:
            report.in_progress.append(f"outbox/{path} is being published.")
            continue
        report.problems.append(
            Finding(
                "output missing",
                f"The register lists the {listed[path]} outbox/{path}, but it is not there.",
            )
        )


def _staged(home: Home) -> Iterator[str]:
    """``REFERENCE/NAME`` of every file a job has staged and not yet published."""
    if home.staging.is_dir():
        for job in home.staging.iterdir():
            yield from _files_below(job)


def _check_supplied(register: Register, disk: _Disk, report: CheckReport) -> None:
    """The IRO's CAFCASS folders: each belongs to a challenge in the register (a backup
    keeps those of the challenges it holds, and no other)."""
    report.counts["CAFCASS files"] = sum(disk.supplied.values())
    known = set(register.references())
    for reference in sorted(disk.supplied.keys() - known):
        report.problems.append(
            Finding(
                "CAFCASS folder without challenge",
                f"outbox/{reference}/{CAFCASS_FOLDER}/ holds the IRO's documents for "
                f"{reference}, which is not in the register: a backup leaves them out. "
                "Check the folder's name against the challenge's reference.",
            )
        )
