"""What each dashboard page shows, read from the register and the home folder.

The open-challenges list is one page of ``Register.open_list``: filtered, searched,
sorted and paged in SQL over the columns the register copies out of each record, so
50,000 challenges are listed without decoding any record. A challenge's page
decodes its one record. The timeline shows every row of the ``events`` table for the
reference, whatever its kind and whichever columns it has, so new kinds of event appear
without changes here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from formflow.core.calendar import WorkingCalendar, uk_date
from formflow.core.engine import Assessment, Status, assess
from formflow.core.policy import Policy
from formflow.core.record import REFERENCE_PATTERN, Action, Challenge, Stage
from formflow.outbox.folders import NOTE_SUFFIX, Home, is_special, sha256_of
from formflow.reports import tables
from formflow.reports.tables import initials
from formflow.store.register import (
    DocumentRecord,
    EventRecord,
    FileRecord,
    ListRanks,
    Register,
)

VIEWED = "viewed"
"""The kind of event written for each view of a challenge's page."""
DOWNLOADED = "downloaded"
"""... and for each document downloaded from it."""
SIGNED_IN = "signed in"
SIGN_IN_FAILED = "sign-in failed"
REFUSED = "refused"
"""A page the person's role does not allow: with the reference when it was a challenge's."""
"""Sign-ins, and tracker downloads, name no challenge: their events have no reference."""
ACCESS_EVENTS = frozenset({VIEWED, DOWNLOADED, REFUSED})
"""Shown apart from the timeline, as who has looked at the challenge."""

PolicyLookup = Callable[[str], Policy]


# --- open challenges ---------------------------------------------------------------


@dataclass(frozen=True)
class OpenRow:
    reference: str
    child: str
    """Initials only: the full name is on the challenge's own page."""
    procedure: str
    procedure_name: str
    """As the forms give it: what the list shows."""
    stage: Stage
    rank: int
    """The level's place on its procedure's ladder, for sorting by level."""
    status: str
    responder: str
    iro: str
    team: str
    due: dt.date | None
    days_to_due: int | None
    overdue: bool

    @property
    def level(self) -> str:
        return self.stage.label

    @property
    def due_text(self) -> str:
        if self.due:
            return f"{self.due.day} {_MONTHS[self.due.month - 1]} {self.due.year}"
        # A level with no fixed timescale, or one whose date the form has not given yet.
        return "No date set" if self.status == Status.AWAITING_RESPONSE.value else ""


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _responder(policy: Policy | None, stage: Stage, status: str, addressee: str | None) -> str:
    if status == Status.CAFCASS_CONSIDERATION.value:
        return "IRO (CAFCASS decision)"
    role = ""
    if policy is not None and policy.has_stage(stage):
        role = policy.stage(stage).responder
    return f"{role} ({addressee})" if role and addressee else role or addressee or ""


class Procedures:
    """The procedures the open list names, each read once per page; a procedure file
    removed since a challenge was raised still lets the challenge be listed."""

    def __init__(self, policies: PolicyLookup) -> None:
        self.policies = policies
        self.loaded: dict[str, Policy | None] = {}

    def __call__(self, procedure: str) -> Policy | None:
        if procedure not in self.loaded:
            try:
                self.loaded[procedure] = self.policies(procedure)
            except Exception:
                self.loaded[procedure] = None
        return self.loaded[procedure]

    def stage(self, procedure: str, stage_id: str) -> Stage:
        policy = self(procedure)
        return policy.named(Stage(stage_id)) if policy else Stage(stage_id)

    def name(self, procedure: str) -> str:
        """The procedure's name as its forms give it; the id where its file is gone."""
        policy = self(procedure)
        return policy.name if policy else procedure

    def rank(self, procedure: str, stage: Stage) -> int:
        policy = self(procedure)
        return policy.position(stage) if policy and policy.has_stage(stage) else 0


def open_rows(
    found: Iterable[Mapping[Any, Any]], procedures: Procedures, today: dt.date
) -> list[OpenRow]:
    """The rows of one page of the open list (``Register.open_list``). The due date is the
    one the register stored when the challenge last changed (the same ``assess`` the
    status command uses)."""
    rows = []
    for r in found:
        procedure, status = r["policy"], r["status"]
        stage = procedures.stage(procedure, r["stage"])
        due = dt.date.fromisoformat(r["due"]) if r["due"] else None
        awaiting = status == Status.AWAITING_RESPONSE.value
        rows.append(
            OpenRow(
                reference=r["reference"],
                child=initials(r["child"] or ""),
                procedure=procedure,
                procedure_name=procedures.name(procedure),
                stage=stage,
                rank=procedures.rank(procedure, stage),
                status=status,
                responder=_responder(procedures(procedure), stage, status, r["addressee"]),
                iro=r["iro"] or "",
                team=r["team"] or "",
                due=due,
                days_to_due=(due - today).days if due else None,
                overdue=awaiting and due is not None and today > due,
            )
        )
    return rows


SORT_KEYS = ("reference", "child", "procedure", "level", "responder", "iro", "team", "due")
PAGE_SIZE = 50


@dataclass(frozen=True)
class Choices:
    """The values each filter offers, from the open challenges the person may see."""

    procedures: list[tuple[str, str]]
    """Each procedure's id (the filter's value) and name (what the list shows)."""
    levels: list[Stage]
    iros: list[str]
    teams: list[str]
    ranks: ListRanks
    """Each level's place on its ladder and each procedure's by its name: the list
    sorted by level or by procedure, as it shows them."""


def choices(kinds: Iterable[Mapping[Any, Any]], procedures: Procedures) -> Choices:
    """From ``Register.open_summary``'s kinds."""
    found = list(kinds)
    pairs = {(r["policy"], r["stage"]) for r in found}
    ranks = {(p, st): procedures.rank(p, procedures.stage(p, st)) for p, st in pairs}
    levels = {
        procedures.stage(p, st).id: (ranks[p, st], procedures.stage(p, st)) for p, st in pairs
    }
    named = sorted({(p, procedures.name(p)) for p, _ in pairs}, key=lambda p: (p[1].lower(), p[0]))
    return Choices(
        procedures=named,
        levels=[stage for _, stage in sorted(levels.values(), key=lambda v: (v[0], v[1].id))],
        iros=sorted({r["iro"] for r in found if r["iro"]}, key=str.lower),
        teams=sorted({r["team"] for r in found if r["team"]}, key=str.lower),
        ranks=ListRanks(ranks, {p: place for place, (p, _) in enumerate(named, start=1)}),
    )


# --- one challenge -------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: when, what happened, who did it and why."""

    when: str
    what: str
    who: str = ""
    why: str = ""
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ActionRow:
    action: Action
    overdue: bool
    agreed_at: str
    """The level whose response agreed it."""
    stage_ended: str = ""
    """How an earlier level ended ("actions not implemented"); empty for the current one."""


@dataclass(frozen=True)
class CafcassItem:
    number: int
    text: str
    status: str
    detail: str


@dataclass(frozen=True)
class ChallengePage:
    challenge: Challenge
    assessment: Assessment
    timeline: list[Entry]
    views: list[Entry]
    documents: list[DocumentRecord]
    actions: list[ActionRow]
    cafcass: list[CafcassItem] | None
    """None where the CAFCASS pack does not apply (a child not in care)."""
    procedure: str = ""
    """The procedure's name, as the forms give it."""


# Columns told in the event's sentence; any other column an event has is listed as a detail.
_WHO = ("actor", "who", "by", "user")
_WHY = ("reason", "why")
_TOLD = {*(f.name for f in fields(EventRecord)), *_WHO, *_WHY}


def _first(row: dict[str, Any], names: Sequence[str]) -> str | None:
    return next((str(row[n]) for n in names if row.get(n) not in (None, "")), None)


def _event(row: dict[str, Any]) -> EventRecord:
    known: dict[str, Any] = {f.name: row.get(f.name) for f in fields(EventRecord)}
    return EventRecord(**{**known, "actor": _first(row, _WHO), "reason": _first(row, _WHY)})


def event_entry(
    row: dict[str, Any],
    file_names: Mapping[str, str] | None = None,
    written: Sequence[str] = (),
) -> Entry:
    """Any event row, whatever its kind or columns, in people's words and UK dates and
    times (``file_names``: the names files were dropped as, by their claim; ``written``:
    the documents it wrote, as ``documents_written`` says them)."""
    event = _event(row)
    file_name = (file_names or {}).get(event.file or "", event.file)
    said = tables.told(event, file_name)
    what = said.what
    if written:
        what = f"{what}{'' if what.endswith('.') else '.'} {'. '.join(written)}."
    details = tuple(
        (name.replace("_", " "), tables.in_uk_dates(str(value)))
        for name, value in row.items()
        if name not in _TOLD and value not in (None, "")
    )
    if event.file and event.what != "file":  # a form's steps: the file it came in
        details = (("file", file_name or ""), *details)
    return Entry(
        when=tables.uk_date_time(str(row["at"])),
        what=what,
        who=said.who,
        why=said.why,
        details=details,
    )


_DOCUMENT_WORDS = {
    "final record": "Final record written",
    "closure note": "Closure note written",
    "CAFCASS pack": "CAFCASS pack written",
}
_COPY = re.compile(r" \(\d+\)$")
"""`` (2)``: an earlier copy's name taken when the document was written."""


def documents_written(documents: Iterable[DocumentRecord], policy: Policy) -> dict[int, list[str]]:
    """What each event wrote, in people's words ("Stage 2 form for the Service Manager
    written"), once per document: its Word and PDF copies are one to a reader."""
    said: dict[int, list[str]] = {}
    for doc in documents:
        if doc.event is None:
            continue
        words = _document_words(doc.kind, doc.path, policy)
        if words not in said.setdefault(doc.event, []):
            said[doc.event].append(words)
    return said


def _document_words(kind: str, path: str, policy: Policy) -> str:
    if kind in _DOCUMENT_WORDS:
        return _DOCUMENT_WORDS[kind]
    reference, name = path.split("/", 1)[0], path.rsplit("/", 1)[-1]
    # A next-stage form is named by its level: PC-2026-XXXXXX-stage-2-form.pdf.
    slug = _COPY.sub("", name.split(".", 1)[0]).removeprefix(f"{reference}-")
    for rules in policy.stages:
        if f"{rules.stage.slug}-form" == slug:
            return f"{rules.stage.label} form for the {rules.responder} written"
    return f"{kind.capitalize()} written"


def record_entries(challenge: Challenge) -> list[Entry]:
    """The stages as the record tells them: for a challenge brought in from an older
    system, which has these and no events."""
    out = [
        Entry(uk_date(h.raised_on), f"{h.stage.label} raised", why=f"Ended {h.outcome.value}.")
        for h in challenge.history
    ]
    out.append(
        Entry(
            uk_date(challenge.date_of_notification),
            f"{challenge.stage.label} raised",
            who=challenge.raised_by.name,
        )
    )
    if challenge.closure:
        c = challenge.closure
        out.append(Entry(uk_date(c.date), c.kind.value.capitalize(), why=c.reason))
    return out


def actions(challenge: Challenge, status: Status, today: dt.date) -> list[ActionRow]:
    """Agreed actions, the earlier levels' first (a re-opened challenge still shows what
    its earlier level agreed, and how that level ended). One of the current level is
    overdue when its by-when date has passed after a resolution that relied on it (before
    that, nothing has been agreed to be done)."""
    earlier = [
        ActionRow(a, False, h.stage.label, h.outcome.value)
        for h in challenge.history
        for a in h.actions
    ]
    return earlier + [
        ActionRow(
            a,
            status is Status.RESOLVED and a.by_when is not None and a.by_when < today,
            challenge.stage.label,
        )
        for a in challenge.actions
    ]


def cafcass_in_question(challenge: Challenge) -> bool:
    """A referral to Cafcass Legal asked for, or the IRO deciding whether to make one."""
    return challenge.cafcass.requested or challenge.cafcass.consideration_date is not None


def cafcass_items(challenge: Challenge, folder: Path) -> list[CafcassItem] | None:
    """The seven items of the CAFCASS pack, PROVIDED or MISSING, judged by the same folder
    rule as ``formflow pack`` over the IRO's folder for this challenge; none while no
    referral is in question, or for a child known not to be in care (a status not stated
    may still turn out to be in care)."""
    if challenge.child.in_care is False or not cafcass_in_question(challenge):
        return None
    from formflow.render.model import CAFCASS_ITEMS  # WeasyPrint: imported only here

    if folder.is_dir():
        from formflow.render.pack import assess_supplied

        _parts, items, _unassigned = assess_supplied(folder)
        by_number = {i.number: i for i in items}
    else:
        by_number = {}
    out = []
    for number, text in enumerate(CAFCASS_ITEMS, start=1):
        item = by_number.get(number)
        provided = item.provided if item else ()
        problems = item.problems if item else ()
        out.append(
            CafcassItem(
                number,
                text,
                item.status if item else "MISSING",
                "; ".join([*provided, *problems]),
            )
        )
    return out


def challenge_page(
    register: Register,
    reference: str,
    policies: PolicyLookup,
    calendar: WorkingCalendar,
    today: dt.date,
    cafcass_folder: Callable[[str], Path],
) -> ChallengePage | None:
    if not REFERENCE_PATTERN.match(reference):
        return None
    challenge = register.challenge(reference)
    if challenge is None:
        return None
    policy = policies(challenge.policy)
    assessment = assess(challenge, policy, calendar, today)
    rows = register.event_rows(reference)
    names = register.original_names([r["file"] for r in rows if r.get("file")])
    kept = {e.id for e in tables.told_once([_event(r) for r in rows])}
    documents = register.documents(reference)
    written = documents_written(documents, policy)
    timeline = [
        event_entry(r, names, written.get(r["id"], ()))
        for r in rows
        if r["id"] in kept and r["what"] not in ACCESS_EVENTS
    ]
    views = [event_entry(r) for r in rows if r["what"] in ACCESS_EVENTS]
    return ChallengePage(
        challenge=challenge,
        assessment=assessment,
        timeline=timeline or record_entries(challenge),
        views=views[-20:],
        documents=documents,
        actions=actions(challenge, assessment.status, today),
        cafcass=cafcass_items(challenge, cafcass_folder(reference)),
        procedure=policy.name,
    )


def document_path(register: Register, outbox: Path, reference: str, name: str) -> Path | None:
    """The file behind a download link, only if the register lists it as a document of
    this challenge and it is a regular file inside the outbox (never a link out of it)."""
    if not register.is_document(reference, f"{reference}/{name}"):
        return None
    if "/" in name or name.startswith("."):
        return None
    root = outbox.resolve()
    path = outbox / reference / name
    if path.is_symlink() or not path.is_file():
        return None
    return path if path.resolve().is_relative_to(root) else None


# --- sign-ins and downloads ------------------------------------------------------------

SITE_EVENTS = (SIGNED_IN, SIGN_IN_FAILED, DOWNLOADED, REFUSED)


def site_events(register: Register, limit: int = 500) -> list[Entry]:
    """The audit trail's events that name no challenge (sign-ins, failed or not, and
    tracker downloads), newest first: what an auditor asks of the dashboard itself."""
    return [
        Entry(
            when=e.at.replace("T", " "),
            what=e.what,
            who=e.actor or "",
            why=" ".join(part for part in (e.reason, e.message) if part),
        )
        for e in register.site_events(SITE_EVENTS, limit)
    ]


# --- the year -----------------------------------------------------------------------


@dataclass(frozen=True)
class YearPage:
    year: int
    years: list[int]
    figures: tables.YearReport
    per_month: list[int]


def year_page(register: Register, year: int, calendar: WorkingCalendar) -> YearPage:
    records = register.challenges()
    figures = tables.year_report(records, year, calendar)
    per_month = [0] * 12
    for c in records:
        raised = tables.raised_on(c)
        if raised.year == year:
            per_month[raised.month - 1] += 1
    years = sorted({tables.raised_on(c).year for c in records} | {year}, reverse=True)
    return YearPage(year, years, figures, per_month)


# --- rejected files -------------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    name: str
    when: dt.datetime
    reasons: str
    already_processed_as: str | None = None
    """A copy of a form already processed, under this reference: not an error to correct."""


def rejected_files(
    home: Home, processed_copy: Callable[[str], FileRecord | None] = lambda _sha256: None
) -> list[Rejected]:
    """Each file in ``inbox/rejected/`` with the note that says why, newest first; a file
    whose very bytes the register has processed (``processed_copy`` of its SHA-256, the
    pipeline's own duplicate test) says under which reference."""
    folder = home.rejected
    if not folder.is_dir():
        return []
    out = []
    for path in folder.iterdir():
        if path.name.endswith(NOTE_SUFFIX) or path.name.startswith("."):
            continue
        note = path.with_name(path.name + NOTE_SUFFIX)
        try:
            reasons = note.read_text(encoding="utf-8", errors="replace")
        except OSError:
            reasons = "(No note was found beside this file.)"
        when = dt.datetime.fromtimestamp(path.lstat().st_mtime)
        earlier = None if is_special(path) else processed_copy(sha256_of(path))
        copy_of = earlier.reference if earlier else None
        out.append(Rejected(path.name, when, reasons.strip(), copy_of))
    return sorted(out, key=lambda r: (r.when, r.name), reverse=True)
