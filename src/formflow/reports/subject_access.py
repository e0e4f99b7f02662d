"""A child's own record, for a subject access request: one PDF bundle and one zip.

Every challenge about the child (found by LCS number, or by name and date of birth),
each with its timeline, its documents and its original forms, and an index for the
records team, who review it before anything is released. The index lists every other
person the record names, so that redaction can be considered:

- staff, from the record's own fields (who raised it, the social worker, the team
  manager, each responder, whoever the audit trail names);
- anyone typed into the free text (the concern, responses, actions, comments), found as
  two or more capitalised words in a row ("Jordan Example"), leaving out words such as
  "Team Manager" or "Stage". This is a heuristic: it misses a name typed in lower case or
  alone ("Jordan"), and lists some phrases that are not names. The index says so, and
  marks each of these "to check".

The PDF holds the index, then every PDF document and original (Word documents and email
drafts cannot be made pages here: the index says they are in the zip). The zip holds the
PDF, every original, document and email draft, and each record as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from formflow.core.record import Challenge
from formflow.errors import RetentionError
from formflow.outbox.folders import Home, original_name
from formflow.render.model import DocumentModel, Section, Table
from formflow.render.pack import Assembly, finished_bundle, settled_index
from formflow.reports.tables import timeline
from formflow.store.register import Register
from formflow.store.retention import SUBJECT_ACCESS, child_challenges

_WORD = r"(?:[A-Z]['’][A-Z][a-z]+|[A-Z][a-z]+(?:-[A-Z][a-z]+)?)"
"""A capitalised word: Jordan, Ana-Maria, O'Neill."""
NAME_RUN = re.compile(rf"\b{_WORD}(?:[ \t]+{_WORD})+")
NOT_NAMES = frozenset(
    [
        "The",
        "This",
        "That",
        "These",
        "Those",
        "A",
        "An",
        "And",
        "But",
        "If",
        "In",
        "On",
        "At",
        "Of",
        "For",
        "To",
        "From",
        "By",
        "With",
        "As",
        "It",
        "He",
        "She",
        "They",
        "We",
        "Our",
        "Their",
        "His",
        "Her",
        "Team",
        "Manager",
        "Service",
        "Head",
        "Stage",
        "Council",
        "Care",
        "Plan",
        "Planning",
        "Social",
        "Worker",
        "Children",
        "Child",
        "Young",
        "Person",
        "Independent",
        "Reviewing",
        "Officer",
        "Court",
        "Family",
        "Review",
        "Meeting",
        "Conference",
        "Protection",
        "Pathway",
        "Placement",
        "Panel",
        "Legal",
        "Gateway",
        "Health",
        "School",
        "Education",
        "Police",
        "Agency",
        "Cafcass",
        "Guardian",
        "Director",
        "Assistant",
        "Senior",
        "Practitioner",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "IRO",
        "Informal",
        "Not",
        "Resolved",
        "Closure",
        "Note",
        "Form",
        "Final",
        "Record",
        "Email",
        "Mr",
        "Mrs",
        "Ms",
        "Miss",
        "Dr",
    ]
)
HEURISTIC = (
    "Names in the free text were found as capitalised words in a row: a name written in "
    "lower case or on its own is missed, and a phrase that is not a name may be listed. "
    "Read the whole record before release."
)


@dataclass(frozen=True)
class Named:
    name: str
    where: str
    how: str
    """"staff (from the record's fields)" or "typed in the text: to check"."""


@dataclass(frozen=True)
class Item:
    reference: str
    kind: str
    """"original form", "document" or "email draft"."""
    path: Path
    name: str


@dataclass(frozen=True)
class SubjectAccessBundle:
    pdf: Path
    zip: Path
    references: tuple[str, ...]
    named: tuple[Named, ...]


def _staff(challenge: Challenge) -> Iterator[tuple[str | None, str]]:
    yield challenge.raised_by.name, "raised the challenge"
    yield challenge.social_worker, "social worker"
    yield challenge.team_manager, "team manager"
    if challenge.addressed_to:
        yield challenge.addressed_to.name, "responder"
    if challenge.informal:
        yield challenge.informal.discussed_with, "informal discussion"
    for stage in challenge.history:
        yield (
            (stage.addressed_to.name if stage.addressed_to else None),
            f"{stage.stage.label} responder",
        )
        yield (stage.response.by if stage.response else None), f"{stage.stage.label} response"
    yield (challenge.response.by if challenge.response else None), "response"
    for action in challenge.actions:
        yield action.by_whom, "agreed action"


def _texts(challenge: Challenge) -> Iterator[tuple[str | None, str]]:
    yield challenge.concern, "concern"
    yield challenge.outcome_impact, "outcome and impact"
    yield (challenge.response.text if challenge.response else None), "response"
    yield (challenge.final_comments.text if challenge.final_comments else None), "final comments"
    yield (challenge.closure.reason if challenge.closure else None), "closure"
    yield (challenge.informal.outcome if challenge.informal else None), "informal discussion"
    for action in challenge.actions:
        yield action.action, "agreed action"
    for stage in challenge.history:
        yield stage.concern, f"{stage.stage.label} concern"
        yield (stage.response.text if stage.response else None), f"{stage.stage.label} response"


def names_in(text: str) -> list[str]:
    """Runs of capitalised words that may be a person's name (see the module's note)."""
    found = []
    for match in NAME_RUN.finditer(text):
        words = [w for w in match.group().split() if w not in NOT_NAMES]
        if len(words) >= 2:
            found.append(" ".join(words))
    return found


def other_people(challenges: Iterable[Challenge], actors: Iterable[tuple[str, str]]) -> list[Named]:
    """Everyone the record names but the child: staff first, then names found in text."""
    challenges = list(challenges)
    child = {c.child.name.casefold() for c in challenges}
    seen: dict[str, Named] = {}

    def add(name: str | None, where: str, how: str) -> None:
        if name and name.strip() and name.casefold() not in child and name not in seen:
            seen[name.strip()] = Named(name.strip(), where, how)

    for challenge in challenges:
        for name, role in _staff(challenge):
            add(name, f"{challenge.reference}: {role}", "staff (from the record's fields)")
    for reference, actor in actors:
        add(actor, f"{reference}: audit trail", "staff (from the record's fields)")
    for challenge in challenges:
        for text, field in _texts(challenge):
            for name in names_in(text or ""):
                if not any(part in name.casefold() for part in child):
                    add(name, f"{challenge.reference}: {field}", "typed in the text: to check")
    return list(seen.values())


def _items(home: Home, register: Register, reference: str) -> list[Item]:
    items = [
        Item(reference, "original form", home.archive / reference / f.claim, original_name(f.claim))
        for f in register.files()
        if f.reference == reference and f.outcome == "processed"
    ]
    drafts = {n.path for n in register.notices(reference)}
    outputs = home.outbox / reference
    for path in sorted(outputs.rglob("*")) if outputs.is_dir() else []:
        relative = str(path.relative_to(home.outbox))
        if path.is_file() and not path.name.startswith("."):
            kind = "email draft" if relative in drafts else "document"
            items.append(Item(reference, kind, path, str(path.relative_to(outputs))))
    return [i for i in items if i.path.is_file()]


def _index(
    challenges: list[Challenge],
    register: Register,
    items: list[Item],
    pages: dict[Path, int],
    named: list[Named],
    council_name: str,
    label: str,
) -> DocumentModel:
    overview = tuple(
        (
            c.reference or "",
            f"raised {c.notified_on:%d %B %Y}",
            c.closure.kind.value if c.closure else "open",
        )
        for c in challenges
    )
    sections = [
        Section(
            "About this bundle",
            (
                f"Every challenge in formflow's register about {challenges[0].child.name} "
                f"(born {challenges[0].child.date_of_birth:%d %B %Y}, case number "
                f"{challenges[0].child.case_number}), for the records team to review before "
                "anything is released.",
            ),
            Table(("Reference", "Raised", "Now"), overview),
        )
    ]
    for challenge in challenges:
        assert challenge.reference is not None
        rows = tuple(
            (e.when, e.what, "") for e in timeline(challenge, register.events(challenge.reference))
        )
        sections.append(
            Section(f"Timeline of {challenge.reference}", table=Table(("When", "What", ""), rows))
        )
    sections.append(
        Section(
            "Documents and original forms",
            table=Table(
                ("Reference", "File", "Where"),
                tuple(
                    (
                        i.reference,
                        f"{i.kind}: {i.name}",
                        f"page {pages[i.path]}" if i.path in pages else "in the zip only",
                    )
                    for i in items
                ),
            ),
        )
    )
    sections.append(
        Section(
            "Other people named: consider redaction",
            (HEURISTIC,),
            Table(("Name", "Where", "How found"), tuple((n.name, n.where, n.how) for n in named)),
        )
    )
    return DocumentModel(
        title="SUBJECT ACCESS BUNDLE",
        reference=label,
        council_name=council_name,
        banner="For review by the records team: not yet checked for release.",
        sections=tuple(sections),
    )


def _openable(item: Item) -> pikepdf.Pdf | None:
    if item.path.suffix.lower() != ".pdf":
        return None
    try:
        return pikepdf.Pdf.open(item.path)
    except (pikepdf.PdfError, OSError, ValueError):
        return None


def _pdf(
    challenges: list[Challenge],
    register: Register,
    items: list[Item],
    named: list[Named],
    council_name: str,
    label: str,
) -> bytes:
    parts = [(item, pdf) for item in items if (pdf := _openable(item)) is not None]

    def first_pages(starts: list[int]) -> dict[Path, int]:
        return {item.path: page for (item, _), page in zip(parts, starts, strict=True)}

    index, starts = settled_index(
        [len(pdf.pages) for _, pdf in parts],
        lambda found: _index(
            challenges, register, items, first_pages(found), named, council_name, label
        ),
    )
    pages = first_pages(starts)
    assembly = Assembly()
    assembly.add(index, assembly.document, "the index")
    outline = [pikepdf.OutlineItem("Index", 0)]
    for item, pdf in parts:
        title = f"{item.reference} {item.kind}: {item.name}"
        assembly.add(pdf, assembly.part(title), title)
        outline.append(pikepdf.OutlineItem(title, pages[item.path] - 1))
    return finished_bundle(assembly, f"Subject access bundle {label}", outline, label)


def _create(path: Path) -> int:
    """A new owner-only file: never over an earlier bundle."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise RetentionError(f"{path} already exists: nothing was written.") from None


def _zip(path: Path, pdf: bytes, challenges: list[Challenge], items: list[Item]) -> None:
    with (
        os.fdopen(_create(path), "wb") as handle,
        zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as bundle,
    ):
        bundle.writestr("bundle.pdf", pdf)
        for challenge in challenges:
            record = json.dumps(challenge.to_dict(), indent=2, ensure_ascii=False)
            bundle.writestr(f"{challenge.reference}/record.json", record)
        for item in items:
            folder = "originals" if item.kind == "original form" else "documents"
            bundle.write(item.path, f"{item.reference}/{folder}/{item.name}")


def write_subject_access(
    home: Home,
    register: Register,
    folder: Path,
    *,
    council_name: str,
    by: str,
    now: dt.datetime,
    case_number: str | None = None,
    name: str | None = None,
    date_of_birth: dt.date | None = None,
) -> SubjectAccessBundle:
    """Write the child's bundle into ``folder`` (which must exist); the request is an
    event on each of their challenges, naming who made it."""
    if not by.strip():
        raise RetentionError("A subject access request needs the name of whoever makes it (--by).")
    if not folder.is_dir():
        raise RetentionError(f"{folder} is not a folder: give an existing folder for the bundle.")
    with register.reading():
        challenges = child_challenges(
            register, case_number=case_number, name=name, date_of_birth=date_of_birth
        )
        if not challenges:
            raise RetentionError(
                "No challenge in the register is about that child: nothing was written."
            )
        references = tuple(c.reference or "" for c in challenges)
        items = [i for ref in references for i in _items(home, register, ref)]
        actors = [
            (e.reference or "", e.actor)
            for ref in references
            for e in register.events(ref)
            if e.actor
        ]
    named = other_people(challenges, actors)
    label = f"Subject access {now:%Y-%m-%d}"
    pdf = _pdf(challenges, register, items, named, council_name, label)
    stem = f"subject-access-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
    with os.fdopen(_create(folder / f"{stem}.pdf"), "wb") as handle:
        handle.write(pdf)
    _zip(folder / f"{stem}.zip", pdf, challenges, items)
    with register.transaction():
        for reference in references:
            register.add_event(
                reference,
                SUBJECT_ACCESS,
                now,
                actor=by,
                message=f"Subject access bundle {stem} written.",
            )
    return SubjectAccessBundle(
        folder / f"{stem}.pdf", folder / f"{stem}.zip", references, tuple(named)
    )
