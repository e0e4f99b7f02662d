"""Information governance in the register: legal holds, a recorded death, disposal.

A disposal removes a challenge's originals (``var/archive/REF/``), its documents and
email drafts (``outbox/REF/``) and its register rows, and keeps a disposal record with
no personal data: the reference, the rule and the day its period ended, who approved,
when, and what went (counts, and the SHA-256 of each file). The audit of who viewed or
downloaded it, and of its holds, stays, naming the reference only.

A kill at any moment leaves everything or nothing:

    1. a journal ``var/disposals/TOKEN.json`` lists the files, held under ``flock``
    2. one register transaction deletes the rows and adds the disposal records
    3. the files are removed, then the journal

A journal whose token the register has (killed after 2) is finished by
``finish_disposals``, which every command that opens the home runs first; one whose
token it lacks (killed before 2 committed) is dropped, as nothing was removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from formflow.core.record import Challenge
from formflow.core.retention import Facts, Schedule, Verdict, assess, facts_of, review
from formflow.errors import RetentionError
from formflow.outbox.files import write_private
from formflow.outbox.folders import Home, held, sha256_of
from formflow.store.register import Register

log = logging.getLogger(__name__)

HOLD = "legal hold"
RELEASE = "hold released"
DEATH = "death recorded"
SUBJECT_ACCESS = "subject access"
ACCESS = frozenset({"viewed", "downloaded"})
"""The dashboard's audit of access (``formflow.web.views``): kept after a disposal."""
KEPT_AFTER_DISPOSAL = ACCESS | {HOLD, RELEASE}
NOT_THE_RECORDS_LIFE = KEPT_AFTER_DISPOSAL | {DEATH, SUBJECT_ACCESS}
"""Events that say who looked after the record, not what happened in the challenge: they
never move its "last event" on."""
ROW_TABLES = ("documents", "notices", "deadlines", "reminders", "deaths", "files", "challenges")


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


# --- finding a child's challenges -------------------------------------------------------


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def child_challenges(
    register: Register,
    *,
    case_number: str | None = None,
    name: str | None = None,
    date_of_birth: dt.date | None = None,
) -> list[Challenge]:
    """Every challenge about one child: by LCS number, or by name and date of birth."""
    if case_number is None and (name is None or date_of_birth is None):
        raise RetentionError("Name the child by --case, or by --name and --date-of-birth.")
    return [
        c
        for c in register.challenges()
        if (case_number is not None and c.child.case_number.strip() == case_number.strip())
        or (
            name is not None
            and c.child.date_of_birth == date_of_birth
            and _same_name(c.child.name, name)
        )
    ]


def _challenge(register: Register, reference: str) -> Challenge:
    challenge = register.challenge(reference)
    if challenge is None:
        raise RetentionError(f"There is no challenge {reference} in the register.")
    return challenge


# --- holds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hold:
    reference: str | None
    """None: every record (``hold --all``)."""
    reason: str
    held_by: str
    held_at: str


def holds_in_force(register: Register) -> list[Hold]:
    rows = register._execute(
        "SELECT reference, reason, held_by, held_at FROM holds "
        "WHERE released_at IS NULL ORDER BY id"
    )
    return [Hold(r[0], r[1], r[2], r[3]) for r in rows]


def place_hold(
    register: Register, reference: str | None, *, reason: str, by: str, at: dt.datetime
) -> None:
    """Hold ``reference`` (None: every record, now and later) until released."""
    with register.transaction():
        if reference is not None:
            _challenge(register, reference)
        register._execute(
            "INSERT INTO holds (reference, reason, held_by, held_at) VALUES (?, ?, ?, ?)",
            (reference, reason, by, _iso(at)),
        )
        register.add_event(reference, HOLD, at, actor=by, reason=reason)


def release_hold(
    register: Register, reference: str | None, *, by: str, reason: str | None, at: dt.datetime
) -> int:
    """Release the holds on ``reference`` (None: the holds on every record); how many."""
    # Spelt out for NULL: "reference IS ?" matches a NULL parameter in SQLite only, and
    # is a syntax error on PostgreSQL.
    held, named = (
        ("reference IS NULL", ()) if reference is None else ("reference = ?", (reference,))
    )
    with register.transaction():
        released = register._execute(
            "UPDATE holds SET released_by = ?, released_at = ? "
            f"WHERE released_at IS NULL AND {held}",
            (by, _iso(at), *named),
        ).rowcount
        if not released:
            what = reference or "Every record"
            raise RetentionError(f"{what} is not under a hold of its own: nothing to release.")
        register.add_event(reference, RELEASE, at, actor=by, reason=reason)
    return int(released)


# --- a recorded death -----------------------------------------------------------------


def record_death(
    register: Register, reference: str, *, died_on: dt.date, by: str, at: dt.datetime
) -> list[str]:
    """Record the child's date of death against each of their challenges (the same LCS
    number); the references. The trail says that a death was recorded, not the date."""
    with register.transaction():
        child = _challenge(register, reference).child
        if died_on < child.date_of_birth or died_on > at.date():
            raise RetentionError(
                f"{died_on:%d %B %Y} cannot be the date of death for {reference}: it is before "
                "the child's date of birth or after today."
            )
        references = [
            c.reference
            for c in child_challenges(register, case_number=child.case_number)
            if c.reference
        ]
        for ref in references:
            register._execute(
                "INSERT INTO deaths (reference, died_on) VALUES (?, ?) "
                "ON CONFLICT (reference) DO UPDATE SET died_on = excluded.died_on",
                (ref, died_on.isoformat()),
            )
            register.add_event(
                ref, DEATH, at, actor=by, message="The child's date of death was recorded."
            )
    return references


# --- what is due ------------------------------------------------------------------------


def retention_facts(register: Register) -> list[Facts]:
    """The facts each challenge's period depends on, read in one view of the register."""
    quiet = sorted(NOT_THE_RECORDS_LIFE)
    with register.reading():
        last = dict(
            register._execute(
                "SELECT reference, max(at) FROM events WHERE reference IS NOT NULL "
                f"AND what NOT IN ({', '.join('?' * len(quiet))}) GROUP BY reference",
                tuple(quiet),
            ).fetchall()
        )
        deaths = dict(register._execute("SELECT reference, died_on FROM deaths").fetchall())
        holds = holds_in_force(register)
        challenges = register.challenges()
    all_held = any(h.reference is None for h in holds)
    held_refs = {h.reference for h in holds}
    facts = []
    for challenge in challenges:
        ref = challenge.reference
        assert ref is not None
        last_event = dt.datetime.fromisoformat(last[ref]).date() if ref in last else None
        facts.append(
            facts_of(
                challenge,
                last_event or challenge.notified_on,
                died_on=dt.date.fromisoformat(deaths[ref]) if ref in deaths else None,
                held=all_held or ref in held_refs,
            )
        )
    return facts


# --- disposal -------------------------------------------------------------------------


@dataclass(frozen=True)
class Disposal:
    """What one challenge's disposal removed: nothing in it names or describes the child."""

    reference: str
    rule: str
    period_ended: dt.date
    approved_by: str
    disposed_at: str
    removed: dict[str, object]
    """Counts of rows and files, and the SHA-256 of each file."""


Step = Callable[[str], None]
"""Called as each step of a disposal begins: the tests' seam to stop it there."""


def _no_step(_name: str) -> None:
    return None


def _journals(home: Home) -> Path:
    return home.var / "disposals"


@contextlib.contextmanager
def _disposing(home: Home) -> Iterator[bool]:
    """The disposals lock: held by a disposal from before its journal is written until
    its files are gone, so another process's ``finish_disposals`` never takes a live
    disposal for an interrupted one. True when this process has it."""
    lock = _journals(home) / ".lock"
    if not lock.exists():
        write_private(lock, b"")
    with held(lock) as ours:
        yield ours


def _files_of(home: Home, reference: str) -> list[Path]:
    """Every file kept for ``reference``: its originals, documents, drafts and any
    sub-folder of its outbox folder (the CAFCASS documents)."""
    found = []
    for folder in (home.archive / reference, home.outbox / reference):
        if folder.is_dir():
            found += sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())
    return found


def _due(verdicts: dict[str, Verdict], reference: str) -> Verdict:
    verdict = verdicts.get(reference)
    if verdict is None:
        raise RetentionError(f"There is no challenge {reference} in the register.")
    if verdict.open:
        raise RetentionError(f"{reference} is open: an open challenge is never disposed of.")
    if verdict.held:
        raise RetentionError(f"{reference} is under a legal hold: release it first.")
    if verdict.rule is None or verdict.ends_on is None:
        raise RetentionError(
            f"{reference}: no rule of [retention] in formflow.toml covers it, so it is kept."
        )
    if not verdict.due:
        raise RetentionError(
            f"{reference} is not due: {verdict.rule.name} keeps it until "
            f"{verdict.ends_on:%d %B %Y}."
        )
    return verdict


def _delete_rows(register: Register, reference: str) -> dict[str, int]:
    counts = {"events": 0}
    kept = sorted(KEPT_AFTER_DISPOSAL)
    counts["events"] = register._execute(
        f"DELETE FROM events WHERE reference = ? AND what NOT IN ({', '.join('?' * len(kept))})",
        (reference, *kept),
    ).rowcount
    for table in ROW_TABLES:
        counts[table] = register._execute(
            f"DELETE FROM {table} WHERE reference = ?", (reference,)
        ).rowcount
    return counts


def dispose(
    home: Home,
    register: Register,
    references: Sequence[str],
    *,
    approved_by: str,
    schedule: Schedule,
    today: dt.date,
    now: dt.datetime,
    step: Step = _no_step,
) -> list[Disposal]:
    """Dispose of every challenge in ``references``, or of none: each must be closed, not
    held, and past its period on ``today``."""
    if not approved_by.strip():
        raise RetentionError("A disposal needs the name of whoever approved it (--approved-by).")
    token = f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    journal = _journals(home) / f"{token}.json"
    with _disposing(home) as ours:
        if not ours:
            raise RetentionError("Another disposal is under way in this home: try again later.")
        with register.transaction():
            verdicts = {f.reference: assess(f, schedule, today) for f in retention_facts(register)}
            chosen = {ref: _due(verdicts, ref) for ref in dict.fromkeys(references)}
            files = {ref: _files_of(home, ref) for ref in chosen}
            step("journal")
            write_private(journal, json.dumps({"token": token, "files": _relative(home, files)}))
            done = []
            for ref, verdict in chosen.items():
                step(f"rows of {ref}")
                counts = _delete_rows(register, ref) | _file_counts(home, ref, files[ref])
                sums = [sha256_of(p) for p in files[ref]]
                done.append(_record(register, token, verdict, approved_by, now, counts, sums))
            step("commit")
        _finish(home, journal, files=[p for paths in files.values() for p in paths], step=step)
    for disposal in done:
        log.info(
            "%s disposed of (%s), approved by %s", disposal.reference, disposal.rule, approved_by
        )
    return done


def _relative(home: Home, files: dict[str, list[Path]]) -> list[str]:
    return [home.relative(p) for paths in files.values() for p in paths]


def _file_counts(home: Home, reference: str, paths: Iterable[Path]) -> dict[str, int]:
    paths = list(paths)
    originals = sum(1 for p in paths if p.is_relative_to(home.archive / reference))
    drafts = sum(1 for p in paths if p.suffix == ".eml" and p.is_relative_to(home.outbox))
    return {
        "original files": originals,
        "email drafts": drafts,
        "document files": len(paths) - originals - drafts,
    }


def _record(
    register: Register,
    token: str,
    verdict: Verdict,
    approved_by: str,
    now: dt.datetime,
    counts: dict[str, int],
    sums: list[str],
) -> Disposal:
    assert verdict.rule is not None and verdict.ends_on is not None
    removed: dict[str, object] = {"counts": counts, "sha256": sorted(sums)}
    register._execute(
        "INSERT INTO disposals (token, reference, rule, period_ended, disposed_at, "
        "approved_by, removed) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            token,
            verdict.reference,
            verdict.rule.name,
            verdict.ends_on.isoformat(),
            _iso(now),
            approved_by,
            json.dumps(removed, sort_keys=True),
        ),
    )
    return Disposal(
        verdict.reference, verdict.rule.name, verdict.ends_on, approved_by, _iso(now), removed
    )


def _finish(home: Home, journal: Path, *, files: Iterable[Path], step: Step = _no_step) -> None:
    """Remove the files of a committed disposal, their emptied folders, then its journal."""
    folders = set()
    for path in files:
        step(f"remove {path.name}")
        path.unlink(missing_ok=True)
        folders.add(path.parent)
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        while folder not in (home.archive, home.outbox) and (
            folder.is_relative_to(home.root) or folder.is_relative_to(home.shared_root)
        ):
            try:
                folder.rmdir()
            except (FileNotFoundError, OSError):
                break
            folder = folder.parent
    step("journal removed")
    journal.unlink(missing_ok=True)


def finish_disposals(home: Home, register: Register) -> int:
    """Finish every disposal a kill interrupted after it committed, and drop the journal
    of one that never committed; the number finished. A journal another process holds
    is its live disposal, left alone."""
    journals = sorted(_journals(home).glob("*.json"))
    if not journals:
        return 0
    finished = 0
    with _disposing(home) as ours:
        for journal in journals if ours else []:
            plan = json.loads(journal.read_text(encoding="utf-8"))
            committed = register._execute(
                "SELECT 1 FROM disposals WHERE token = ?", (plan["token"],)
            ).fetchone()
            if committed is None:
                journal.unlink()
                continue
            _finish(home, journal, files=[_inside(home, p) for p in plan["files"]])
            finished += 1
            log.info("finished an interrupted disposal (%s)", plan["token"])
    return finished


def _inside(home: Home, relative: str) -> Path:
    """A journal's path, only under the archive or the outbox."""
    path = home.place(relative)
    if ".." in Path(relative).parts or not (
        path.is_relative_to(home.archive) or path.is_relative_to(home.outbox)
    ):
        raise RetentionError(f"A disposal journal names {relative}, outside the records: refused.")
    return path


def disposals(register: Register) -> list[Disposal]:
    rows = register._execute(
        "SELECT reference, rule, period_ended, approved_by, disposed_at, removed "
        "FROM disposals ORDER BY id"
    )
    return [
        Disposal(r[0], r[1], dt.date.fromisoformat(r[2]), r[3], r[4], json.loads(r[5]))
        for r in rows
    ]


# --- the review ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionReview:
    """What a records manager reviews: references and dates only, never a child's name."""

    today: dt.date
    configured: bool
    due: tuple[Verdict, ...]
    held: tuple[Verdict, ...]
    not_covered: tuple[str, ...]
    """Closed challenges no rule covers: kept until the schedule says otherwise."""
    holds: tuple[Hold, ...]

    def as_dict(self) -> dict[str, object]:
        def row(v: Verdict) -> dict[str, object]:
            return {
                "reference": v.reference,
                "rule": v.rule.name if v.rule else None,
                "period_ended": v.ends_on.isoformat() if v.ends_on else None,
            }

        return {
            "today": self.today.isoformat(),
            "configured": self.configured,
            "due": [row(v) for v in self.due],
            "held": [row(v) for v in self.held],
            "not_covered": list(self.not_covered),
            "holds": [
                {
                    "reference": h.reference or "every record",
                    "reason": h.reason,
                    "held_by": h.held_by,
                    "held_at": h.held_at,
                }
                for h in self.holds
            ],
        }


def retention_review(register: Register, schedule: Schedule, today: dt.date) -> RetentionReview:
    verdicts = review(retention_facts(register), schedule, today)
    return RetentionReview(
        today=today,
        configured=schedule.configured,
        due=tuple(v for v in verdicts if v.due),
        held=tuple(v for v in verdicts if v.held),
        not_covered=tuple(
            v.reference for v in verdicts if not v.open and not v.held and v.rule is None
        ),
        holds=tuple(holds_in_force(register)),
    )
