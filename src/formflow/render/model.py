"""The letter-like documents as data: the closure note, the CAFCASS checklist, the draft IRO
report. Pure functions from the record; ``templates/document.docx`` and
``templates/html/document.html`` lay the same model out for Word and PDF."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from formflow.core.calendar import uk_date
from formflow.core.policy import Policy
from formflow.core.record import THEMES, Challenge, ClosureKind, Stage, StageRecord
from formflow.errors import RenderError
from formflow.render.context import Row, counted, unstated_rows

CAFCASS_ITEMS: tuple[str, ...] = (
    "Final Care Order and final Care Plan filed in proceedings",
    "The children's guardian's report immediately before the Care Order",
    "Review records from the preceding 12 months",
    "IRO report: why the matter is referred now and the steps taken to resolve it",
    "Where the child is of sufficient age and understanding, IRO report on the child's "
    "wishes and feelings, including views on possible proceedings",
    "Names and contact details of relevant professionals and agencies",
    "The most recent Care Plan",
)
"""The CAFCASS referral pack, items 1 to 7 (seed 003)."""

IRO_REPORT_ITEM = 4


@dataclass(frozen=True)
class Table:
    header: tuple[str, str, str]
    rows: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: tuple[str, ...] = ()
    table: Table | None = None


@dataclass(frozen=True)
class DocumentModel:
    title: str
    reference: str
    council_name: str
    banner: str = ""
    summary: tuple[Row, ...] = ()
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def context(self) -> dict[str, Any]:
        return asdict(self)


def not_in_care_note(challenge: Challenge) -> str:
    return (
        "A referral to CAFCASS is only for a child in care (Regulation 45 of the Care "
        "Planning, Placement and Case Review (England) Regulations 2010); this child's legal "
        f"status is '{challenge.child.legal_status_text.lower()}', so there is no CAFCASS pack."
    )


IN_CARE_NOT_STATED = (
    "The record does not say whether the child is in care, and a referral to CAFCASS is only "
    "for a child in care: state it on the form before the referral is made."
)


def _reference(challenge: Challenge) -> str:
    if not challenge.reference:
        raise RenderError("The challenge has no reference yet; documents are named by it.")
    return challenge.reference


def _child_rows(challenge: Challenge) -> list[Row]:
    child = challenge.child
    return [
        Row("Reference", _reference(challenge)),
        Row("Child", f"{child.name}, born {uk_date(child.date_of_birth)}"),
        Row("Case number", child.case_number),
        *unstated_rows(challenge, always=True),
    ]


def _stage_outcome_row(h: StageRecord) -> tuple[str, str, str]:
    to = h.addressed_to
    who = ", ".join(p for p in (to.name, to.role) if p) if to else ""
    response = h.response
    answer = (
        f"Response from {response.by or 'the responder'} on {uk_date(response.date)}"
        if response and response.date
        else "No response recorded"
    )
    return (
        uk_date(h.raised_on),
        f"{h.stage.label} raised with {who or 'the responder'}; response due {uk_date(h.due)}",
        f"{answer}. Outcome: {h.outcome.value}.",
    )


def chronology(challenge: Challenge) -> Table:
    """Every step taken to resolve the challenge, with dates, oldest first."""
    rows: list[tuple[str, str, str]] = []
    informal = challenge.informal
    if informal and informal.date:
        rows.append(
            (
                uk_date(informal.date),
                f"Informal discussion with {informal.discussed_with or 'the team'}",
                informal.outcome or "Outcome not recorded",
            )
        )
    rows.extend(_stage_outcome_row(h) for h in challenge.history)
    to = challenge.addressed_to
    who = ", ".join(p for p in (to.name, to.role) if p) if to else "the responder"
    response = challenge.response
    rows.append(
        (
            uk_date(challenge.date_of_notification),
            f"{challenge.stage.label} raised with {who}",
            (
                f"Response from {response.by or 'the responder'} on {uk_date(response.date)}"
                if response and response.date
                else _unanswered(challenge)
            ),
        )
    )
    if challenge.cafcass.request_date:
        rows.append((uk_date(challenge.cafcass.request_date), "Referral to CAFCASS requested", ""))
    if challenge.closure:
        rows.append(
            (
                uk_date(challenge.closure.date),
                f"Challenge {challenge.closure.kind.value}",
                challenge.closure.reason,
            )
        )
    return Table(("Date", "Step taken", "Outcome"), tuple(rows))


def _unanswered(challenge: Challenge) -> str:
    """The current stage with no response: still awaited, or no longer needed."""
    closure = challenge.closure
    if closure is None:
        return "Awaiting response"
    return f"No response needed: the challenge was {closure.kind.value} on {uk_date(closure.date)}"


_CLOSURE_TITLES = {
    ClosureKind.CLOSED_UNRESOLVED: ("CHALLENGE CLOSED: NOT RESOLVED", "Closed unresolved"),
    ClosureKind.WITHDRAWN: ("CHALLENGE WITHDRAWN", "Withdrawn"),
    ClosureKind.MERGED: ("CHALLENGE MERGED", "Merged"),
}


def closure_note(challenge: Challenge, policy: Policy, council_name: str) -> DocumentModel:
    closure = challenge.closure
    if closure is None or closure.kind not in _CLOSURE_TITLES:
        raise RenderError(
            "A closure note is for a challenge closed unresolved, withdrawn or merged; this "
            f"one is {closure.kind.value if closure else 'still open'}."
        )
    title, ended = _CLOSURE_TITLES[closure.kind]
    return DocumentModel(
        title=title,
        reference=_reference(challenge),
        council_name=council_name,
        banner=f"{ended} on {uk_date(closure.date)} at {challenge.stage.label}.",
        summary=(
            *_child_rows(challenge),
            Row("Procedure followed", policy.name),
            Row("Closed on", uk_date(closure.date)),
        ),
        sections=(
            Section("Why the challenge was closed", (closure.reason,)),
            Section("The concern", (challenge.concern,)),
            Section("Every step taken", table=chronology(challenge)),
            Section("What happens next", _next_steps(challenge, closure.kind)),
        ),
    )


def _next_steps(challenge: Challenge, kind: ClosureKind) -> tuple[str, ...]:
    if kind is ClosureKind.WITHDRAWN:
        return (
            "No response is needed from the manager the challenge was with. The IRO/CP chair "
            "records the withdrawal on the child's file and may raise a new challenge if the "
            "concerns return.",
        )
    if kind is ClosureKind.MERGED:
        return (
            "The challenge it was merged into carries on; respond to that one only. Every "
            "document of this challenge stays in the register.",
        )
    if challenge.child.in_care is not False:
        return (
            "The IRO considered a referral to CAFCASS and decided not to refer, for the reason "
            "above. The IRO may still refer later if the child's plan does not progress.",
        )
    return (
        not_in_care_note(challenge).replace(", so there is no CAFCASS pack.", "."),
        "The challenge therefore ends here. The Child Protection Conference Chair/IRO "
        "records the outcome on the child's file and may raise a new challenge if the "
        "concerns continue.",
    )


# --- CAFCASS -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemStatus:
    """One of the seven pack items: what was supplied for it and what is wrong with it."""

    number: int
    provided: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        return "PROVIDED" if self.provided and not self.problems else "MISSING"


def require_in_care(challenge: Challenge) -> None:
    """Refuse a CAFCASS document for a child known not to be in care. One whose legal status
    is not stated gets the pack, which says the referral needs it stated."""
    if challenge.child.in_care is False:
        raise RenderError(not_in_care_note(challenge))


def checklist(
    challenge: Challenge,
    policy: Policy,
    council_name: str,
    items: tuple[ItemStatus, ...],
    draft_report: str,
    cafcass_phone: str | None = None,
) -> DocumentModel:
    require_in_care(challenge)
    by_number = {i.number: i for i in items}
    rows = []
    for number, text in enumerate(CAFCASS_ITEMS, start=1):
        item = by_number.get(number, ItemStatus(number))
        detail = [*item.provided, *item.problems]
        if number == IRO_REPORT_ITEM and item.status == "MISSING":
            detail.append(f"A draft is attached ({draft_report}): the IRO completes and signs it.")
        rows.append((f"{number}. {item.status}", text, "; ".join(detail) or "Not supplied"))
    done = challenge.cafcass.prerequisites
    prerequisites = tuple(
        (uk_date(done.get(p.id)) or "NOT RECORDED", p.label, "Done" if done.get(p.id) else "")
        for p in policy.cafcass.prerequisites
    )
    missing = sum(1 for r in rows if "MISSING" in r[0])
    return DocumentModel(
        title="CAFCASS REFERRAL PACK: CHECKLIST",
        reference=_reference(challenge),
        council_name=council_name,
        banner=" ".join(
            filter(
                None,
                (
                    IN_CARE_NOT_STATED if challenge.child.in_care is None else "",
                    f"{missing} of 7 items missing: complete the pack before it is sent."
                    if missing
                    else "All 7 items provided.",
                ),
            )
        ),
        summary=(
            *_child_rows(challenge),
            Row(
                "Referral requested",
                uk_date(challenge.cafcass.request_date) or "Not yet requested",
            ),
            Row("Cafcass Legal contact", _cafcass_contact(policy, cafcass_phone)),
        ),
        sections=(
            Section(
                "The seven items",
                (
                    "Regulation 45 referral to Cafcass Legal: each item is provided or missing. "
                    "A missing item is never left out silently.",
                ),
                Table(("Item and status", "What Cafcass Legal needs", "Supplied"), tuple(rows)),
            ),
            Section(
                "Before the referral",
                (f"The {policy.name} requires these steps, with dates.",),
                Table(("Date", "Step", "Status"), prerequisites) if prerequisites else None,
            ),
            Section(
                "Who must be told",
                policy.cafcass.notifications or ("The procedure names no one to notify.",),
            ),
        ),
    )


def _cafcass_contact(policy: Policy, phone: str | None) -> str:
    """Who to call at Cafcass: the council's number where it set one; otherwise where to
    find it, for a number printed here is one someone will dial."""
    contact = policy.cafcass.contact or "Cafcass Legal"
    if phone:
        return f"{contact}: {phone}"
    return (
        f"{contact}. The council has not set a telephone number for Cafcass: find the "
        "number of Cafcass Legal, or of your local Cafcass office, on the Cafcass website "
        "(www.cafcass.gov.uk), or ask the council's legal team."
    )


def iro_report(
    challenge: Challenge, policy: Policy, council_name: str, today: dt.date
) -> DocumentModel:
    """Item 4, drafted from the record for the IRO to edit."""
    require_in_care(challenge)
    formal = [h for h in challenge.history if h.stage != Stage.INFORMAL]
    stages = len(formal) + 1
    why = (
        f"A professional challenge about {challenge.child.name}'s plan was raised by "
        f"{challenge.raised_by.described} and has been through "
        f"{counted(stages, 'formal stage')} of the {policy.name} without the matter being "
        "resolved. "
        f"It now stands at {challenge.stage.label}.",
        "[IRO: say why a referral is needed now, in your own words.]",
    )
    themes = tuple(THEMES[k] for k in THEMES if k in challenge.themes)
    actions = tuple(
        (uk_date(a.by_when) or "No date", a.action, a.by_whom or "")
        for h in challenge.history
        for a in h.actions
    )
    return DocumentModel(
        title="IRO REPORT TO CAFCASS LEGAL (DRAFT)",
        reference=_reference(challenge),
        council_name=council_name,
        banner="DRAFT made by formflow from the challenge record: the IRO edits and signs it.",
        summary=(*_child_rows(challenge), Row("Date of this draft", uk_date(today))),
        sections=(
            Section("1. Why the matter is referred now", why),
            Section(
                "2. The concern",
                (
                    challenge.concern,
                    *((challenge.outcome_impact,) if challenge.outcome_impact else ()),
                ),
            ),
            Section("3. Steps taken to resolve it", table=chronology(challenge)),
            Section(
                "4. Actions agreed at earlier stages",
                () if actions else ("No actions were agreed at earlier stages.",),
                Table(("By when", "Action", "By whom"), actions) if actions else None,
            ),
            Section("5. Themes", themes or ("No themes recorded.",)),
            Section(
                "6. For the IRO to complete",
                (
                    "[The child's wishes and feelings are item 5 of the pack, a separate report.]",
                    "[Signed, name, date.]",
                ),
            ),
        ),
    )
