"""The challenge record: frozen dataclasses mirroring ``schemas/challenge.schema.json``.

The JSON form (``to_dict`` / ``from_dict``) is the public interchange format; the
dataclasses are what the pure core works on. ``from_dict`` expects a record that has
already passed the schema (``formflow.schema.validate_challenge``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

REFERENCE_PATTERN = re.compile(r"^PC-[0-9]{4}-[0-9A-HJKMNP-TV-Z]{6}$")
# Crockford's base32: no I, L, O or U, so a reference read aloud or retyped survives.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_SUFFIX_LENGTH = 6


LEVEL_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Stage:
    """A level of a procedure's ladder: ``id`` is what the record and the policy store
    ("informal", "1", "alert"); ``name`` is the council's own name for it ("Stage 1",
    "Case Alert"). Levels compare by id alone, so a record read without its policy (no
    names) still matches the policy's levels."""

    id: str
    name: str = field(default="", compare=False)

    INFORMAL: ClassVar[Stage]
    ONE: ClassVar[Stage]
    TWO: ClassVar[Stage]
    THREE: ClassVar[Stage]
    FOUR: ClassVar[Stage]

    def __post_init__(self) -> None:
        if not LEVEL_ID_PATTERN.match(self.id):
            raise ValueError(f"{self.id!r} is not a level id")

    def __str__(self) -> str:
        return self.id

    @property
    def value(self) -> str:
        return self.id

    @property
    def label(self) -> str:
        """The council's name for the level, or the standard ladder's."""
        if self.name:
            return self.name
        if self.id == "informal":
            return "Informal"
        return f"Stage {self.id}" if self.id.isdigit() else self.id.replace("-", " ").capitalize()

    @property
    def slug(self) -> str:
        """The label as a file-name part: ``Stage 2`` → ``stage-2``, ``Case Alert`` →
        ``case-alert``; a council's name never puts a separator into a file name."""
        return re.sub(r"[^a-z0-9]+", "-", self.label.lower()).strip("-") or self.id


Stage.INFORMAL = Stage("informal", "Informal")
Stage.ONE = Stage("1", "Stage 1")
Stage.TWO = Stage("2", "Stage 2")
Stage.THREE = Stage("3", "Stage 3")
Stage.FOUR = Stage("4", "Stage 4")

STANDARD_LADDER: tuple[Stage, ...] = (
    Stage.INFORMAL,
    Stage.ONE,
    Stage.TWO,
    Stage.THREE,
    Stage.FOUR,
)
"""The ladder of the IRO Handbook and the seed procedures: informal, then stages 1 to 4."""


class Role(StrEnum):
    IRO = "IRO"
    CP_CHAIR = "CP chair"


class LegalStatus(StrEnum):
    CHILD_IN_CARE = "child in care"
    CHILD_PROTECTION_PLAN = "child protection plan"
    BOTH = "both"

    @property
    def in_care(self) -> bool:
        return self is not LegalStatus.CHILD_PROTECTION_PLAN


class StageOutcome(StrEnum):
    RESOLVED = "resolved"
    NOT_RESOLVED = "not resolved"
    RESPONSE_OVERDUE = "response overdue"
    ACTIONS_NOT_IMPLEMENTED = "actions not implemented"
    BYPASSED = "bypassed"
    ESCALATED = "escalated"
    """Moved on by a named person's decision (a procedure that does not escalate itself)."""

    @property
    def response_resolved(self) -> bool | None:
        """Whether the stage's response said resolved, as its outcome implies: agreed
        actions can only go unimplemented after a response that resolved the stage."""
        return {
            StageOutcome.RESOLVED: True,
            StageOutcome.ACTIONS_NOT_IMPLEMENTED: True,
            StageOutcome.NOT_RESOLVED: False,
        }.get(self)


THEMES: dict[str, str] = {
    "voice_of_child": "Inadequate voice of the child/young person",
    "drift_delay_planning": "Drift and delay in progressing the child's planning",
    "management_oversight": "Lack of management oversight",
    "drift_delay_legal": "Drift and delay in legal planning/escalation",
    "placement": "Placement concerns",
    "safeguarding": "Safeguarding concerns",
}


def reference_from(year: int, suffix: str) -> str:
    """``PC-2025-7KQ3XM`` from a year and the characters drawn for it: the shell draws them
    (``store.register.new_reference``), since the core takes no randomness."""
    reference = f"PC-{year:04d}-{suffix}"
    if not REFERENCE_PATTERN.match(reference):
        raise ValueError(f"{suffix!r} is not {REFERENCE_SUFFIX_LENGTH} reference characters.")
    return reference


@dataclass(frozen=True)
class Person:
    name: str | None = None
    role: str | None = None


NOT_STATED = "Not stated"
"""How a document shows a value the form did not ask for and nothing settled."""
NOT_STATED_ROLE = "role not stated"


@dataclass(frozen=True)
class RaisedBy:
    name: str
    role: Role | None
    """None: not stated (the seed 003 form has no role boxes) and nothing settled it."""

    @property
    def described(self) -> str:
        """``Jo Bloggs (IRO)``, or ``Jo Bloggs (role not stated)``."""
        return f"{self.name} ({self.role.value if self.role else NOT_STATED_ROLE})"


@dataclass(frozen=True)
class Child:
    name: str
    date_of_birth: dt.date
    case_number: str
    legal_status: LegalStatus | None
    """None: not stated (the seed 003 form has no legal-status boxes) and nothing settled it."""

    @property
    def in_care(self) -> bool | None:
        """Whether the child is looked after; None when the record does not say."""
        return None if self.legal_status is None else self.legal_status.in_care

    @property
    def legal_status_text(self) -> str:
        return self.legal_status.value.capitalize() if self.legal_status else NOT_STATED


@dataclass(frozen=True)
class Inference:
    """A value the form did not state, settled by what it or the procedure does say."""

    field: str
    """The record's path to the value, such as ``raised_by.role``."""
    value: str
    reason: str
    """One sentence that names no child, for the record, the log and the documents."""


@dataclass(frozen=True)
class Informal:
    date: dt.date | None = None
    discussed_with: str | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Cafcass:
    requested: bool = False
    request_date: dt.date | None = None
    prerequisites: dict[str, dt.date | None] = field(default_factory=dict)
    consideration_date: dt.date | None = None
    """Set when the last stage ended unresolved for a child in care: the IRO now decides
    whether to refer."""


@dataclass(frozen=True)
class Action:
    action: str
    by_when: dt.date | None = None
    by_whom: str | None = None


@dataclass(frozen=True)
class Response:
    text: str | None = None
    date: dt.date | None = None
    by: str | None = None
    resolved: bool | None = None
    agreed_by: tuple[str, ...] = ()
    """At a level with joint responders: which of them the response records as satisfied."""


@dataclass(frozen=True)
class FinalComments:
    text: str | None = None
    date: dt.date | None = None


class ClosureKind(StrEnum):
    RESOLVED = "resolved"
    CLOSED_UNRESOLVED = "closed unresolved"
    REFERRED_TO_CAFCASS = "referred to CAFCASS"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


@dataclass(frozen=True)
class Closure:
    date: dt.date
    kind: ClosureKind
    reason: str


@dataclass(frozen=True)
class StageRecord:
    """One earlier stage of the same challenge, as it ended."""

    stage: Stage
    raised_on: dt.date
    outcome: StageOutcome
    due: dt.date | None = None
    addressed_to: Person | None = None
    concern: str | None = None
    actions: tuple[Action, ...] = ()
    response: Response | None = None
    late_response: Response | None = None
    """A response that arrived after the stage had moved on: recorded, never lost."""
    further_responses: tuple[Response, ...] = ()
    """Answers that differ from the one the stage already had (a second manager's, a
    changed mind): kept, never lost; the IRO decides what follows."""
    reason: str | None = None
    """Why the IRO ended it, where they said: the reason for a re-opening, which every
    later form shows."""


class Decision(StrEnum):
    """What the IRO decides in the form's IRO section."""

    REOPEN = "reopen"
    """Agreed actions not implemented or not effective: the procedure re-opens it."""
    CLOSE = "close"
    """Close unresolved, with the reason."""
    WITHDRAW = "withdraw"
    """Withdraw the challenge (raised in error, or the matter is resolved)."""


@dataclass(frozen=True)
class IroDecision:
    decision: Decision
    reason: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True)
class Challenge:
    policy: str
    date_of_notification: dt.date
    raised_by: RaisedBy
    child: Child
    stage: Stage
    concern: str
    reference: str | None = None
    due_extended_to: dt.date | None = None
    """An agreed extension of the current stage's response deadline."""
    addressed_to: Person | None = None
    social_worker: str | None = None
    team: str | None = None
    team_manager: str | None = None
    informal: Informal | None = None
    cafcass: Cafcass = field(default_factory=Cafcass)
    outcome_impact: str | None = None
    themes: frozenset[str] = frozenset()
    actions: tuple[Action, ...] = ()
    response: Response | None = None
    further_responses: tuple[Response, ...] = ()
    """Answers to the current stage that differ from ``response``: kept, the IRO told."""
    final_comments: FinalComments | None = None
    closure: Closure | None = None
    history: tuple[StageRecord, ...] = ()
    iro_decision: IroDecision | None = None
    """Read from a dropped form and applied as an event; never kept on the record."""
    separate_challenge: bool = False
    """The form says it is a separate challenge for a child with an open one."""
    details: dict[str, str] = field(default_factory=dict)
    """The answers to the fields a council's procedure adds to its form (``Policy.fields``),
    by field id; dates as ISO text."""

    @property
    def notified_on(self) -> dt.date:
        """The Date of Notification: when the challenge was first raised. The engine moves
        ``date_of_notification`` on to each stage's raising date; this stays put."""
        return self.history[0].raised_on if self.history else self.date_of_notification

    inferred: tuple[Inference, ...] = ()

    def inference(self, path: str) -> Inference | None:
        """How the value at ``path`` was settled, when the form did not state it."""
        return next((i for i in self.inferred if i.field == path), None)

    def to_dict(self) -> dict[str, Any]:
        return challenge_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Challenge:
        return challenge_from_dict(data)


# --- JSON <-> dataclasses -------------------------------------------------------------


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


_Enum = TypeVar("_Enum", bound=StrEnum)


def _optional(kind: type[_Enum], value: str | None) -> _Enum | None:
    return None if value is None else kind(value)


def _person(data: dict[str, Any] | None) -> Person | None:
    return Person(data.get("name"), data.get("role")) if data else None


def _action(data: dict[str, Any]) -> Action:
    return Action(data["action"], _date(data.get("by_when")), data.get("by_whom"))


def _response(data: dict[str, Any] | None) -> Response | None:
    if not data:
        return None
    return Response(
        data.get("text"),
        _date(data.get("date")),
        data.get("by"),
        data.get("resolved"),
        tuple(data.get("agreed_by", [])),
    )


def _responses(data: list[dict[str, Any]] | None) -> tuple[Response, ...]:
    return tuple(r for r in map(_response, data or []) if r is not None)


def _stage(data: dict[str, Any]) -> Stage:
    return Stage(data["stage"], data.get("stage_name") or "")


def _stage_record(data: dict[str, Any]) -> StageRecord:
    return StageRecord(
        stage=_stage(data),
        raised_on=dt.date.fromisoformat(data["raised_on"]),
        outcome=StageOutcome(data["outcome"]),
        due=_date(data.get("due")),
        addressed_to=_person(data.get("addressed_to")),
        concern=data.get("concern"),
        actions=tuple(_action(a) for a in data.get("actions", [])),
        response=_response(data.get("response")),
        late_response=_response(data.get("late_response")),
        further_responses=_responses(data.get("further_responses")),
        reason=data.get("reason"),
    )


def _iro_decision(data: dict[str, Any] | None) -> IroDecision | None:
    if not data:
        return None
    return IroDecision(Decision(data["decision"]), data.get("reason"), _date(data.get("date")))


def challenge_from_dict(data: dict[str, Any]) -> Challenge:
    child = data["child"]
    cafcass = data.get("cafcass") or {"requested": False}
    informal = data.get("informal")
    final = data.get("final_comments")
    closure = data.get("closure")
    return Challenge(
        reference=data.get("reference") or None,
        policy=data["policy"],
        date_of_notification=dt.date.fromisoformat(data["date_of_notification"]),
        raised_by=RaisedBy(data["raised_by"]["name"], _optional(Role, data["raised_by"]["role"])),
        addressed_to=_person(data.get("addressed_to")),
        child=Child(
            name=child["name"],
            date_of_birth=dt.date.fromisoformat(child["date_of_birth"]),
            case_number=child["case_number"],
            legal_status=_optional(LegalStatus, child["legal_status"]),
        ),
        social_worker=data.get("social_worker"),
        team=data.get("team"),
        team_manager=data.get("team_manager"),
        stage=_stage(data),
        due_extended_to=_date(data.get("due_extended_to")),
        informal=Informal(
            _date(informal.get("date")), informal.get("discussed_with"), informal.get("outcome")
        )
        if informal
        else None,
        cafcass=Cafcass(
            requested=cafcass["requested"],
            request_date=_date(cafcass.get("request_date")),
            prerequisites={k: _date(v) for k, v in cafcass.get("prerequisites", {}).items()},
            consideration_date=_date(cafcass.get("consideration_date")),
        ),
        concern=data["concern"],
        outcome_impact=data.get("outcome_impact"),
        themes=frozenset(k for k, v in data.get("themes", {}).items() if v),
        actions=tuple(_action(a) for a in data.get("actions", [])),
        response=_response(data.get("response")),
        further_responses=_responses(data.get("further_responses")),
        final_comments=FinalComments(final.get("text"), _date(final.get("date")))
        if final
        else None,
        closure=Closure(
            dt.date.fromisoformat(closure["date"]), ClosureKind(closure["kind"]), closure["reason"]
        )
        if closure
        else None,
        history=tuple(_stage_record(h) for h in data.get("history", [])),
        iro_decision=_iro_decision(data.get("iro_decision")),
        separate_challenge=bool(data.get("separate_challenge", False)),
        details=dict(data.get("details", {})),
        inferred=tuple(
            Inference(i["field"], i["value"], i["reason"]) for i in data.get("inferred", [])
        ),
    )


def _value(member: StrEnum | None) -> str | None:
    return None if member is None else member.value


def _person_dict(p: Person | None) -> dict[str, Any] | None:
    return {"name": p.name, "role": p.role} if p else None


def _action_dict(a: Action) -> dict[str, Any]:
    return {"action": a.action, "by_when": _iso(a.by_when), "by_whom": a.by_whom}


def _response_dict(r: Response | None) -> dict[str, Any] | None:
    if r is None:
        return None
    out: dict[str, Any] = {"text": r.text, "date": _iso(r.date), "by": r.by, "resolved": r.resolved}
    if r.agreed_by:
        out["agreed_by"] = list(r.agreed_by)
    return out


def _stage_record_dict(h: StageRecord) -> dict[str, Any]:
    return {
        "stage": h.stage.value,
        "stage_name": h.stage.name or None,
        "raised_on": h.raised_on.isoformat(),
        "due": _iso(h.due),
        "addressed_to": _person_dict(h.addressed_to),
        "concern": h.concern,
        "actions": [_action_dict(a) for a in h.actions],
        "response": _response_dict(h.response),
        "late_response": _response_dict(h.late_response),
        **_further_dict(h.further_responses),
        **({"reason": h.reason} if h.reason else {}),
        "outcome": h.outcome.value,
    }


def _further_dict(further: tuple[Response, ...]) -> dict[str, Any]:
    """Further responses, written only where there are some (most records have none)."""
    return {"further_responses": [_response_dict(r) for r in further]} if further else {}


def challenge_to_dict(c: Challenge) -> dict[str, Any]:
    """The record as JSON-ready data, keys in the schema's order."""
    return {
        "reference": c.reference,
        "policy": c.policy,
        "date_of_notification": c.date_of_notification.isoformat(),
        "raised_by": {"name": c.raised_by.name, "role": _value(c.raised_by.role)},
        "addressed_to": _person_dict(c.addressed_to),
        "child": {
            "name": c.child.name,
            "date_of_birth": c.child.date_of_birth.isoformat(),
            "case_number": c.child.case_number,
            "legal_status": _value(c.child.legal_status),
        },
        "social_worker": c.social_worker,
        "team": c.team,
        "team_manager": c.team_manager,
        "stage": c.stage.value,
        "stage_name": c.stage.name or None,
        "due_extended_to": _iso(c.due_extended_to),
        "informal": {
            "date": _iso(c.informal.date),
            "discussed_with": c.informal.discussed_with,
            "outcome": c.informal.outcome,
        }
        if c.informal
        else None,
        "cafcass": {
            "requested": c.cafcass.requested,
            "request_date": _iso(c.cafcass.request_date),
            "prerequisites": {k: _iso(v) for k, v in sorted(c.cafcass.prerequisites.items())},
            "consideration_date": _iso(c.cafcass.consideration_date),
        },
        "concern": c.concern,
        "outcome_impact": c.outcome_impact,
        "themes": {key: key in c.themes for key in THEMES},
        "actions": [_action_dict(a) for a in c.actions],
        "response": _response_dict(c.response),
        **_further_dict(c.further_responses),
        "final_comments": {"text": c.final_comments.text, "date": _iso(c.final_comments.date)}
        if c.final_comments
        else None,
        "closure": {
            "date": c.closure.date.isoformat(),
            "kind": c.closure.kind.value,
            "reason": c.closure.reason,
        }
        if c.closure
        else None,
        "history": [_stage_record_dict(h) for h in c.history],
        "iro_decision": {
            "decision": c.iro_decision.decision.value,
            "reason": c.iro_decision.reason,
            "date": _iso(c.iro_decision.date),
        }
        if c.iro_decision
        else None,
        "separate_challenge": c.separate_challenge,
        "details": dict(sorted(c.details.items())),
        "inferred": [{"field": i.field, "value": i.value, "reason": i.reason} for i in c.inferred],
    }
