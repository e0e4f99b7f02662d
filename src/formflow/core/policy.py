"""Council procedures as data: one JSON file per procedure, read into frozen values.

A procedure passes ``schemas/policy.schema.json`` (version 2) and the structural rules
here; ``warnings`` says where it departs from the IRO Handbook (2010) 6.2 and Regulation
45, and where it leaves something unstated. A version 1 file is turned into version 2 by
``migrate`` before it is read. Reading a file (``read_policy``) and which files a home uses
is ``formflow.policy_catalogue``'s business.

Nothing about a particular council is in code: the levels, their names, who responds, how
long they have and from when, and what a missed deadline does are all in the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from formflow.core.record import Challenge, LegalStatus, Role, Stage
from formflow.errors import PolicyError

VERSION = 2

STATUTORY_TOTAL_WORKING_DAYS = 20
"""IRO Handbook 6.2: the formal process takes in total no more than 20 working days."""

NOT_STATED_IN_SOURCE = "not stated in the source"


@dataclass(frozen=True)
class NotStated:
    """A value the source does not give: where it sits in the file, and what the source
    says instead. formflow acts on none of them by itself; ``WHAT_FORMFLOW_DOES`` says
    who is asked instead."""

    where: str
    """The field's path in the procedure file: ``on_not_resolved``, ``cafcass.when``."""
    says: str


WHAT_FORMFLOW_DOES = {
    "name": 'the level is shown as "Level N (name not stated)"',
    "responder": "documents name no responder; the role the form gives is kept",
    "timescale": "no due date is set and the response is never chased",
    "bypass": "a form raised past the level is accepted as the IRO's decision, and says so",
    "on_not_resolved": (
        "an unresolved or late response waits for the IRO's decision "
        "(formflow escalate, close or withdraw)"
    ),
    "on_actions_not_implemented": (
        "the IRO chooses the level the challenge returns to (formflow reopen --stage)"
    ),
    "on_timeout": (
        "a missed deadline waits for the IRO's decision (formflow escalate, close or withdraw)"
    ),
    "children": "a child of any legal status is accepted",
    "cafcass.available": (
        "at the top of the ladder the IRO decides whether to refer to CAFCASS or close"
    ),
    "cafcass.eligible": "a referral is open to children in care only (Regulation 45)",
    "cafcass.when": "a referral may be made at any time",
    "cafcass.concurrent": (
        "a referral leaves the escalation open: the IRO closes or withdraws it if it should stop"
    ),
    "cafcass.prerequisites": "nothing is required before a referral",
    "cafcass.condition": "the IRO is asked to confirm no condition before a referral",
}

DECIDED_BY_WHEN_NOT_STATED = "IRO"
"""Who decides where the procedure does not say what happens (issue 24: the IRO is asked)."""


class TimescaleKind(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    HOURS = "hours"
    SET_ON_FORM = "set_on_form"
    """The IRO sets the date for this case, in a date field of the council's form."""
    NONE = "none"
    """No fixed timescale ("as agreed"): never chased."""
    NOT_STATED = "not_stated"
    """The source gives none; nothing is invented, nothing is chased."""
    FOR_INFORMATION = "for_information"
    """A level that only informs someone ({"informed": role}): nobody responds."""


@dataclass(frozen=True)
class Timescale:
    kind: TimescaleKind
    amount: int | None = None
    """Days or hours, for the kinds that count."""
    field: str | None = None
    """The form field that holds the date, for ``set_on_form``."""
    text: str | None = None
    """What the source says instead, for ``none`` and ``not_stated``."""

    @property
    def working_days(self) -> int | None:
        """The timescale in working days, where it is one."""
        return self.amount if self.kind is TimescaleKind.WORKING_DAYS else None

    @property
    def counts(self) -> bool:
        """Whether the level has a due date that can be worked out and chased."""
        return self.kind not in (
            TimescaleKind.NONE,
            TimescaleKind.NOT_STATED,
            TimescaleKind.FOR_INFORMATION,
        )

    def described(self, field_label: Callable[[str], str] = str) -> str:
        """``5 working days``, ``48 hours``, ``no fixed timescale (as agreed)``;
        ``field_label`` names a field of the form (``Policy.field_label``)."""
        match self.kind:
            case TimescaleKind.WORKING_DAYS:
                return f"{self.amount} working days"
            case TimescaleKind.CALENDAR_DAYS:
                return f"{self.amount} calendar days"
            case TimescaleKind.HOURS:
                return f"{self.amount} hours"
            case TimescaleKind.SET_ON_FORM:
                return f"by the date set on the form ('{field_label(self.field or '')}')"
            case TimescaleKind.NONE:
                return f"no fixed timescale ({self.text})"
            case TimescaleKind.NOT_STATED:
                return f"timescale {NOT_STATED_IN_SOURCE}"
            case TimescaleKind.FOR_INFORMATION:
                return "for information only: nobody responds and nothing is due"


@dataclass(frozen=True)
class Responders:
    """Who responds at a level: one role, any one of several, several jointly, the first
    of several who is available, or nobody (the level informs someone)."""

    roles: tuple[str, ...]
    joint: bool = False
    """All of ``roles`` must be satisfied before the level is resolved."""
    not_stated: str | None = None
    in_order: bool = False
    """The first of ``roles`` responds; each later one only when those before are
    unavailable (``formflow reassign`` hands the level on)."""
    informed: bool = False
    """``roles`` holds the one role the level informs: nobody responds, nothing is due."""

    def __str__(self) -> str:
        if self.not_stated is not None:
            return f"responder {NOT_STATED_IN_SOURCE}"
        if len(self.roles) == 1:
            return self.roles[0]
        if self.in_order:
            first, *others = self.roles
            return f"{first} (or, when unavailable, the {', then the '.join(others)})"
        joined = ", ".join(self.roles[:-1])
        return (
            f"{joined} and {self.roles[-1]} jointly"
            if self.joint
            else f"{joined} or {self.roles[-1]}"
        )


class FieldKind(StrEnum):
    TEXT = "text"
    DATE = "date"
    CHOICE = "choice"


@dataclass(frozen=True)
class FormField:
    """A field a council's form asks beside the standard ones (an alert type, a review date)."""

    id: str
    label: str
    kind: FieldKind
    options: tuple[str, ...] = ()


COUNTED_FROM_RAISED = "raised"
COUNTED_FROM_CHALLENGE_START = "challenge_start"


@dataclass(frozen=True)
class StagePolicy:
    """One level of the ladder, as the council's procedure states it."""

    stage: Stage
    responders: Responders
    timescale: Timescale
    may_be_bypassed: bool | None
    """None: the source does not say."""
    on_not_resolved: str | None
    on_actions_not_implemented: str | None
    formal: bool = True
    for_roles: frozenset[Role] = frozenset()
    """The level is on the ladder only for challenges raised by these roles (all when empty)."""
    counted_from: str = COUNTED_FROM_RAISED
    """``raised``, ``challenge_start``, or the id of a date field of the form."""
    decided_by: str | None = None
    """Who decides after a missed deadline; None: the challenge moves on by itself."""
    bypass_when: str | None = None
    raised_by: str | None = None
    before_raising: tuple[str, ...] = ()
    copy_to: tuple[str, ...] = ()
    meeting: bool = False
    first_contact_within_hours: int | None = None
    cumulative_working_days: int | None = None
    satisfied: tuple[str, ...] = ()
    """Who must be satisfied before the level is resolved, apart from who responds."""
    entry_when: str | None = None
    """The source's condition for starting a challenge at this level (an entry point
    chosen by seriousness); None: a challenge reaches it only from the level below."""
    duties: tuple[str, ...] = ()
    """What must be recorded at this level, in the source's words: a date field each."""
    accepted_on_timeout: bool = False
    """A contest window: when the deadline passes uncontested, what was put stands."""
    not_stated: tuple[NotStated, ...] = ()

    def unstated(self, where: str) -> NotStated | None:
        """What the source says instead of the value at ``where``, if it gives none."""
        return next((n for n in self.not_stated if n.where == where), None)

    @property
    def for_information(self) -> bool:
        """Whether the level only informs someone: nobody responds, nothing is due."""
        return self.responders.informed

    @property
    def must_agree(self) -> tuple[str, ...]:
        """Every role whose agreement resolves the level: joint responders, then those the
        procedure says must be satisfied."""
        joint = self.responders.roles if self.responders.joint else ()
        return joint + tuple(r for r in self.satisfied if r not in joint)

    @property
    def responder(self) -> str:
        """Who responds, in words: ``Team Manager``, ``ATM or TM``."""
        return str(self.responders)

    def responding(self, given: str | None) -> str:
        """Who responds now, in words: where the procedure sets an order, the role the
        level was handed to (``given``) if it is one of them, else the first."""
        if self.responders.in_order:
            return given if given in self.responders.roles else self.responders.roles[0]
        return self.responder

    def terms(self) -> list[str]:
        """What the procedure says of the level beside who responds and by when, one
        sentence each, for its form and covering email: who raises it, that nobody
        responds to a level for information only, who takes it when the responder is
        unavailable, and who else must be satisfied."""
        lines = []
        if self.raised_by:
            lines.append(f"Under the procedure the {self.raised_by} raises {self.stage.label}.")
        if self.for_information:
            lines.append(
                f"For the information of the {self.responder}: nobody responds to "
                f"{self.stage.label} and nothing is due."
            )
        if self.responders.in_order:
            first, *others = self.responders.roles
            lines.append(
                f"If the {first} is unavailable, the {', then the '.join(others)} responds: "
                "hand the challenge on with `formflow reassign`."
            )
        if self.satisfied:
            lines.append(
                f"{self.stage.label} is resolved only when the {' and '.join(self.must_agree)} "
                "are satisfied: each ticks 'Agreed by' on the form."
            )
        if self.entry_when:
            lines.append(
                f"A challenge may start at {self.stage.label} {self.entry_when}: the levels "
                "below it are then not bypassed but not needed."
            )
        if self.accepted_on_timeout:
            lines.append(
                f"If {self.stage.label} is not contested in time, what was put stands and the "
                "challenge ends resolved."
            )
        lines.extend(
            f"To be recorded: {duty} (give the date it was done on the form)."
            for duty in self.duties
        )
        return lines

    def duty_fields(self) -> tuple[FormField, ...]:
        """A date field for each duty to record at this level: outstanding until given."""
        return tuple(
            FormField(
                # A detail's id takes only [a-z0-9_]; a level's id may have hyphens.
                f"recorded_{re.sub('[^a-z0-9_]', '_', self.stage.id.lower())}_{n}",
                f"{self.stage.label}: {duty} (date done)",
                FieldKind.DATE,
            )
            for n, duty in enumerate(self.duties, start=1)
        )

    def on_ladder_for(self, role: Role | None) -> bool:
        return not self.for_roles or role in self.for_roles


@dataclass(frozen=True)
class Prerequisite:
    id: str
    label: str


@dataclass(frozen=True)
class CafcassPolicy:
    """A field the source does not state is None (``eligible``: the statuses Regulation 45
    covers); ``Policy.not_stated`` holds what the source says instead."""

    available: bool | None
    eligible: frozenset[LegalStatus]
    when: str | None
    concurrent: bool | None
    prerequisites: tuple[Prerequisite, ...]
    """What must be done, with a date, before a referral: the procedure's own, then the
    IRO's confirmation of its condition where it sets one."""
    notifications: tuple[str, ...] = ()
    contact: str | None = None


@dataclass(frozen=True)
class Note:
    topic: str
    found: str
    choice: str


@dataclass(frozen=True)
class Policy:
    id: str
    name: str
    source_files: tuple[str, ...]
    raised_by_roles: frozenset[Role]
    children: frozenset[LegalStatus]
    stages: tuple[StagePolicy, ...]
    """Every level, in the order of the ladder."""
    cafcass: CafcassPolicy
    notes: tuple[Note, ...]
    council: str | None = None
    fields: tuple[FormField, ...] = ()
    source_urls: tuple[str, ...] = ()
    not_stated: tuple[NotStated, ...] = ()
    """The procedure's own fields the source does not state (``children``, ``cafcass.*``)."""

    def unstated(self, where: str) -> NotStated | None:
        return next((n for n in self.not_stated if n.where == where), None)

    @property
    def has_role_ladders(self) -> bool:
        """Whether IROs and CP chairs climb different ladders in this procedure."""
        return any(s.for_roles for s in self.stages)

    def ladder(self, role: Role | None) -> tuple[StagePolicy, ...]:
        """The levels a challenge raised by ``role`` climbs. With separate ladders, a role
        that is not stated gets every level: the engine asks for the role where that matters."""
        return tuple(s for s in self.stages if role is None or s.on_ladder_for(role))

    def has_stage(self, stage: Stage) -> bool:
        return any(s.stage == stage for s in self.stages)

    def stage(self, stage: Stage) -> StagePolicy:
        for s in self.stages:
            if s.stage == stage:
                return s
        raise PolicyError(f"The {self.id} procedure has no level '{stage.id}'.")

    def named(self, stage: Stage) -> Stage:
        """``stage`` with this procedure's name for it (a record stores the id)."""
        return self.stage(stage).stage if self.has_stage(stage) else stage

    def position(self, stage: Stage) -> int:
        return [s.stage for s in self.stages].index(stage)

    def next_stage(self, stage: Stage, role: Role | None = None) -> Stage | None:
        """The level after ``stage`` on ``role``'s ladder, or None at the top."""
        later = [
            s.stage for s in self.ladder(role) if self.position(s.stage) > self.position(stage)
        ]
        return later[0] if later else None

    def return_level(self, stage: Stage, role: Role | None = None) -> Stage | None:
        """Where a challenge resolved at ``stage`` returns when the agreed actions are not
        carried out or do not work; None where the procedure does not say."""
        rule = self.stage(stage).on_actions_not_implemented
        if rule is None:
            return None
        if rule == "same":
            return self.named(stage)
        if rule == "next":
            return self.next_stage(stage, role) or self.named(stage)
        return self.named(Stage(rule))

    @property
    def first_stage(self) -> Stage:
        return self.stages[0].stage

    def field_label(self, field_id: str) -> str:
        """What the form prints for one of the fields this procedure adds (its id, for one
        it does not have)."""
        return next((f.label for f in self.fields if f.id == field_id), field_id)


def named_levels(challenge: Challenge, policy: Policy) -> Challenge:
    """``challenge`` with the procedure's names for its levels (a form or a record read
    without the procedure carries only their ids)."""
    return replace(
        challenge,
        stage=policy.named(challenge.stage),
        history=tuple(replace(h, stage=policy.named(h.stage)) for h in challenge.history),
    )


# --- reading ------------------------------------------------------------------------


def _responders(value: str | dict[str, Any]) -> Responders:
    if isinstance(value, str):
        return Responders((value,))
    if "not_stated" in value:
        return Responders((), not_stated=value["not_stated"])
    if "all_of" in value:
        return Responders(tuple(value["all_of"]), joint=True)
    if "first_of" in value:
        return Responders(tuple(value["first_of"]), in_order=True)
    if "informed" in value:
        return Responders((value["informed"],), informed=True)
    return Responders(tuple(value["any_of"]))


def _timescale(value: dict[str, Any] | None) -> Timescale:
    """``None``: a level for information only, which the schema gives no timescale."""
    if value is None:
        return Timescale(TimescaleKind.FOR_INFORMATION)
    ((key, amount),) = value.items()
    kind = TimescaleKind(key)
    if kind in (TimescaleKind.WORKING_DAYS, TimescaleKind.CALENDAR_DAYS, TimescaleKind.HOURS):
        return Timescale(kind, amount=amount)
    if kind is TimescaleKind.SET_ON_FORM:
        return Timescale(kind, field=amount)
    return Timescale(kind, text=amount)


def _stated(value: Any) -> bool:
    return not (isinstance(value, dict) and "not_stated" in value)


def _unstated(
    fields: dict[str, Any], keys: tuple[str, ...], prefix: str = ""
) -> tuple[NotStated, ...]:
    return tuple(
        NotStated(prefix + key, fields[key]["not_stated"])
        for key in keys
        if key in fields and not _stated(fields[key])
    )


_LEVEL_FIELDS = (
    "name",
    "responder",
    "timescale",
    "bypass",
    "on_not_resolved",
    "on_actions_not_implemented",
    "on_timeout",
)


def _decided_by(s: dict[str, Any]) -> str | None:
    """Who decides after a missed deadline: the person the procedure names, or the IRO
    where it does not say what happens then (or where the challenge would go). A level for
    information only has no deadline to miss."""
    if "on_timeout" not in s:
        return None
    timeout = s["on_timeout"]
    if not _stated(timeout) or (timeout == "escalate" and not _stated(s["on_not_resolved"])):
        return DECIDED_BY_WHEN_NOT_STATED
    return None if timeout in ("escalate", "accept") else str(timeout["remind_and_wait_for"])


def _level(position: int, s: dict[str, Any]) -> StagePolicy:
    bypass = s["bypass"]
    stated_bypass = _stated(bypass)
    overall = s.get("overall_target")
    first_contact = s.get("first_contact")
    name = s["name"] if _stated(s["name"]) else f"Level {position} (name not stated)"
    return StagePolicy(
        stage=Stage(s["id"], name),
        formal=s.get("formal", True),
        for_roles=frozenset(Role(r) for r in s.get("for_roles", [])),
        responders=_responders(s["responder"]),
        timescale=_timescale(s.get("timescale")),
        counted_from=s.get("counted_from", COUNTED_FROM_RAISED),
        decided_by=_decided_by(s),
        may_be_bypassed=bypass["allowed"] if stated_bypass else None,
        bypass_when=bypass.get("when") if stated_bypass else None,
        on_not_resolved=_optional_text(s["on_not_resolved"]),
        on_actions_not_implemented=_optional_text(s["on_actions_not_implemented"]),
        raised_by=s.get("raised_by"),
        before_raising=tuple(s.get("before_raising", [])),
        copy_to=tuple(s.get("copy_to", [])),
        meeting=s.get("meeting", False),
        first_contact_within_hours=first_contact["hours"] if first_contact else None,
        cumulative_working_days=overall["working_days"] if overall else None,
        satisfied=tuple(s.get("satisfied", [])),
        entry_when=s["entry"]["when"] if "entry" in s else None,
        duties=tuple(s.get("record", [])),
        accepted_on_timeout=s.get("on_timeout") == "accept",
        not_stated=_unstated(s, _LEVEL_FIELDS),
    )


def _optional_text(value: Any) -> str | None:
    return str(value) if _stated(value) else None


def _field(f: dict[str, Any]) -> FormField:
    return FormField(f["id"], f["label"], FieldKind(f["kind"]), tuple(f.get("options", [])))


_CAFCASS_FIELDS = ("available", "eligible", "when", "concurrent", "prerequisites", "condition")

CAFCASS_CONDITION = "condition"
"""The prerequisite id of the IRO's confirmation of the procedure's condition on a referral."""

IN_CARE = frozenset(s for s in LegalStatus if s.in_care)
"""The legal statuses Regulation 45 covers: a CAFCASS referral's reach where the source
does not state it."""


def _cafcass(cafcass: dict[str, Any]) -> CafcassPolicy:
    def stated(key: str, default: Any) -> Any:
        return cafcass[key] if _stated(cafcass[key]) else default

    return CafcassPolicy(
        available=stated("available", None),
        eligible=frozenset(LegalStatus(c) for c in stated("eligible", IN_CARE)),
        when=stated("when", None),
        concurrent=stated("concurrent", None),
        prerequisites=tuple(Prerequisite(p["id"], p["label"]) for p in stated("prerequisites", []))
        + _condition(cafcass.get("condition")),
        notifications=tuple(cafcass.get("notifications", [])),
        contact=cafcass.get("contact"),
    )


def _condition(condition: str | dict[str, str] | None) -> tuple[Prerequisite, ...]:
    """The procedure's condition on a referral, as a date the IRO confirms it on."""
    if not isinstance(condition, str):
        return ()
    return (
        Prerequisite(
            CAFCASS_CONDITION, f"The IRO confirms the condition for a referral: {condition}"
        ),
    )


def policy_from_dict(data: dict[str, Any]) -> Policy:
    """A policy from version 2 data that has passed the policy schema."""
    children = data["children"] if _stated(data["children"]) else list(LegalStatus)
    stages = tuple(_level(i, s) for i, s in enumerate(data["levels"], start=1))
    return Policy(
        id=data["id"],
        name=data["name"],
        source_files=tuple(data["source"]["files"]),
        source_urls=tuple(data["source"].get("urls", [])),
        council=data["source"].get("council"),
        raised_by_roles=frozenset(Role(r) for r in data["raised_by_roles"]),
        children=frozenset(LegalStatus(c) for c in children),
        fields=tuple(_field(f) for f in data.get("fields", []))
        + tuple(f for s in stages for f in s.duty_fields()),
        stages=stages,
        cafcass=_cafcass(data["cafcass"]),
        notes=tuple(Note(n["topic"], n["found"], n["choice"]) for n in data["notes"]),
        not_stated=_unstated(data, ("children",))
        + _unstated(data["cafcass"], _CAFCASS_FIELDS, prefix="cafcass."),
    )


# --- version 1 ----------------------------------------------------------------------


def is_version_1(data: dict[str, Any]) -> bool:
    return "policy_version" not in data and "stages" in data


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """The version 2 text of a version 1 policy: the same procedure, the same deadlines.

    Version 1 knew only the standard ladder, timescales in working days counted from the
    day a stage was raised, one responder, and escalation on a missed deadline."""
    out: dict[str, Any] = {"policy_version": VERSION}
    out.update({k: v for k, v in data.items() if k != "stages"})
    levels = []
    for s in data["stages"]:
        stage = Stage(s["stage"])
        level: dict[str, Any] = {
            "id": stage.id,
            "name": stage.label,
            "formal": stage != Stage.INFORMAL,
            "responder": s["responder"],
        }
        for key in ("raised_by", "before_raising", "copy_to", "meeting"):
            if key in s:
                level[key] = s[key]
        level["timescale"] = {"working_days": s["timescale_working_days"]}
        if s.get("first_contact_within_hours") is not None:
            level["first_contact"] = {"hours": s["first_contact_within_hours"]}
        if s.get("cumulative_working_days") is not None:
            level["overall_target"] = {"working_days": s["cumulative_working_days"]}
        level["on_timeout"] = "escalate"
        level["bypass"] = {"allowed": s["may_be_bypassed"]}
        level["on_not_resolved"] = s["on_not_resolved"]
        level["on_actions_not_implemented"] = s["on_actions_not_implemented"]
        levels.append(level)
    out["levels"] = levels
    return {k: out[k] for k in _KEY_ORDER if k in out}


_KEY_ORDER = (
    "policy_version",
    "id",
    "name",
    "source",
    "raised_by_roles",
    "children",
    "fields",
    "levels",
    "cafcass",
    "notes",
)


# --- checks -------------------------------------------------------------------------


def structural_problems(data: dict[str, Any]) -> list[str]:
    """Rules the schema cannot express: unique levels, references between levels and to
    the form's fields, and a ladder for every role."""
    problems = []
    ids = [s["id"] for s in data["levels"]]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        problems.append("Each level must have its own id; repeated: " + ", ".join(duplicated) + ".")
    dates = {f["id"] for f in data.get("fields", []) if f["kind"] == "date"}
    field_ids = [f["id"] for f in data.get("fields", [])]
    if len(field_ids) != len(set(field_ids)):
        problems.append("Each form field must have its own id.")
    roles = set(data["raised_by_roles"])
    for s in data["levels"]:
        problems.extend(_level_problems(s, ids, dates, roles))
    for role in sorted(roles):
        if not [s for s in data["levels"] if role in s.get("for_roles", [role])]:
            problems.append(f"No level is on the ladder for a challenge raised by a {role}.")
    return problems


def _level_problems(
    s: dict[str, Any], ids: list[str], dates: set[str], roles: set[str]
) -> list[str]:
    problems = []
    name = s["name"] if _stated(s["name"]) else f"Level '{s['id']}'"
    target = s["on_actions_not_implemented"]
    if _stated(target) and target not in ("next", "same") and target not in ids:
        problems.append(
            f"{name} sends unimplemented actions to level '{target}', which this procedure "
            "does not have."
        )
    on_form = s.get("timescale", {}).get("set_on_form")
    if on_form is not None and on_form not in dates:
        problems.append(
            f"{name}'s timescale is set on the form in '{on_form}', which is not a date field "
            'of this procedure\'s form (add it to \'fields\' with "kind": "date").'
        )
    counted = s.get("counted_from", COUNTED_FROM_RAISED)
    if counted not in (COUNTED_FROM_RAISED, COUNTED_FROM_CHALLENGE_START) and counted not in dates:
        problems.append(
            f"{name} counts from '{counted}', which is neither 'raised', 'challenge_start' "
            "nor a date field of this procedure's form."
        )
    strangers = sorted(set(s.get("for_roles", [])) - roles)
    if strangers:
        problems.append(
            f"{name} is for {', '.join(strangers)}, who may not raise a challenge under this "
            "procedure (see raised_by_roles)."
        )
    return problems


def warnings(policy: Policy) -> list[str]:
    """Where the procedure conflicts with statutory guidance (IRO Handbook 6.2,
    Regulation 45), and every value the source does not state."""
    return statutory_warnings(policy) + unstated_warnings(policy)


def statutory_warnings(policy: Policy) -> list[str]:
    out = []
    for role in sorted(policy.raised_by_roles) if policy.has_role_ladders else [None]:
        total = sum(s.timescale.working_days or 0 for s in policy.ladder(role) if s.formal)
        if total > STATUTORY_TOTAL_WORKING_DAYS:
            whose = f" on the {role.value} ladder" if role else ""
            out.append(
                f"The formal stages{whose} total {total} working days; IRO Handbook 6.2 sets "
                f"no more than {STATUTORY_TOTAL_WORKING_DAYS} in total."
            )
    for s in policy.stages:
        if s.may_be_bypassed is False:
            out.append(
                f"{s.stage.label} may not be bypassed; IRO Handbook 6.2 lets the IRO bypass any stage."
            )
    if policy.cafcass.available:
        not_in_care = [c.value for c in policy.cafcass.eligible if not c.in_care]
        if not_in_care:
            out.append(
                "The CAFCASS route is open to children who are not in care ("
                + ", ".join(not_in_care)
                + "); Regulation 45 and s25B Children Act 1989 cover looked-after children only."
            )
    return out


def unstated_warnings(policy: Policy) -> list[str]:
    """Every value the source does not state, where it sits, and what formflow does
    instead of guessing it."""
    here = [("The procedure", n.where, n) for n in policy.not_stated]
    for i, s in enumerate(policy.stages):
        here += [(s.stage.label, f"levels[{i}].{n.where}", n) for n in s.not_stated]
    return [
        f"{label}: the source does not state {n.where} (at {path}; it says: {n.says}): "
        f"{WHAT_FORMFLOW_DOES[n.where]}."
        for label, path, n in here
    ]
