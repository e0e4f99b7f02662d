"""Council procedures as data: one JSON file per procedure, read into frozen values.

A procedure passes ``schemas/policy.schema.json`` and the structural rules here;
``statutory_warnings`` says where it departs from the IRO Handbook (2010) 6.2 and
Regulation 45. Reading a file (``read_policy``) and which files a home uses is
``formflow.policy_catalogue``'s business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from formflow.core.record import STAGE_ORDER, LegalStatus, Role, Stage
from formflow.errors import PolicyError

STATUTORY_TOTAL_WORKING_DAYS = 20
"""IRO Handbook 6.2: the formal process takes in total no more than 20 working days."""


@dataclass(frozen=True)
class StagePolicy:
    stage: Stage
    responder: str
    timescale_working_days: int
    may_be_bypassed: bool
    on_not_resolved: str
    on_actions_not_implemented: str
    raised_by: str | None = None
    before_raising: tuple[str, ...] = ()
    copy_to: tuple[str, ...] = ()
    meeting: bool = False
    first_contact_within_hours: int | None = None
    cumulative_working_days: int | None = None


@dataclass(frozen=True)
class Prerequisite:
    id: str
    label: str


@dataclass(frozen=True)
class CafcassPolicy:
    available: bool
    eligible: frozenset[LegalStatus]
    when: str
    concurrent: bool
    prerequisites: tuple[Prerequisite, ...]
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
    cafcass: CafcassPolicy
    notes: tuple[Note, ...]
    council: str | None = None

    def has_stage(self, stage: Stage) -> bool:
        return any(s.stage is stage for s in self.stages)

    def stage(self, stage: Stage) -> StagePolicy:
        for s in self.stages:
            if s.stage is stage:
                return s
        raise PolicyError(f"The {self.id} procedure has no {stage.label.lower()} stage.")

    def next_stage(self, stage: Stage) -> Stage | None:
        """The stage after ``stage`` in this procedure, or None at the top of the ladder."""
        later = [
            s.stage for s in self.stages if STAGE_ORDER.index(s.stage) > STAGE_ORDER.index(stage)
        ]
        return later[0] if later else None

    @property
    def first_stage(self) -> Stage:
        return self.stages[0].stage

    @property
    def formal_stages(self) -> tuple[StagePolicy, ...]:
        return tuple(s for s in self.stages if s.stage is not Stage.INFORMAL)


def policy_from_dict(data: dict[str, Any]) -> Policy:
    """A policy from data that has passed the policy schema."""
    cafcass = data["cafcass"]
    return Policy(
        id=data["id"],
        name=data["name"],
        source_files=tuple(data["source"]["files"]),
        council=data["source"].get("council"),
        raised_by_roles=frozenset(Role(r) for r in data["raised_by_roles"]),
        children=frozenset(LegalStatus(c) for c in data["children"]),
        stages=tuple(
            StagePolicy(
                stage=Stage(s["stage"]),
                responder=s["responder"],
                timescale_working_days=s["timescale_working_days"],
                may_be_bypassed=s["may_be_bypassed"],
                on_not_resolved=s["on_not_resolved"],
                on_actions_not_implemented=s["on_actions_not_implemented"],
                raised_by=s.get("raised_by"),
                before_raising=tuple(s.get("before_raising", [])),
                copy_to=tuple(s.get("copy_to", [])),
                meeting=s.get("meeting", False),
                first_contact_within_hours=s.get("first_contact_within_hours"),
                cumulative_working_days=s.get("cumulative_working_days"),
            )
            for s in data["stages"]
        ),
        cafcass=CafcassPolicy(
            available=cafcass["available"],
            eligible=frozenset(LegalStatus(c) for c in cafcass["eligible"]),
            when=cafcass["when"],
            concurrent=cafcass["concurrent"],
            prerequisites=tuple(
                Prerequisite(p["id"], p["label"]) for p in cafcass["prerequisites"]
            ),
            notifications=tuple(cafcass.get("notifications", [])),
            contact=cafcass.get("contact"),
        ),
        notes=tuple(Note(n["topic"], n["found"], n["choice"]) for n in data["notes"]),
    )


def structural_problems(data: dict[str, Any]) -> list[str]:
    """Rules the schema cannot express: stage order, uniqueness, references between stages."""
    problems = []
    stages = [s["stage"] for s in data["stages"]]
    order = [STAGE_ORDER.index(Stage(s)) for s in stages]
    if order != sorted(set(order)):
        problems.append("The stages must be listed once each, in order: informal, 1, 2, 3, 4.")
    for s in data["stages"]:
        target = s["on_actions_not_implemented"]
        if target not in ("next", "same") and target not in stages:
            problems.append(
                f"Stage {s['stage']} sends unimplemented actions to stage {target}, "
                "which this procedure does not have."
            )
    return problems


def statutory_warnings(policy: Policy) -> list[str]:
    """Where the procedure conflicts with statutory guidance (IRO Handbook 6.2, Regulation 45)."""
    warnings = []
    total = sum(s.timescale_working_days for s in policy.formal_stages)
    if total > STATUTORY_TOTAL_WORKING_DAYS:
        warnings.append(
            f"The formal stages total {total} working days; IRO Handbook 6.2 sets no more "
            f"than {STATUTORY_TOTAL_WORKING_DAYS} in total."
        )
    for s in policy.stages:
        if not s.may_be_bypassed:
            warnings.append(
                f"{s.stage.label} may not be bypassed; IRO Handbook 6.2 lets the IRO bypass any stage."
            )
    if policy.cafcass.available:
        not_in_care = [c.value for c in policy.cafcass.eligible if not c.in_care]
        if not_in_care:
            warnings.append(
                "The CAFCASS route is open to children who are not in care ("
                + ", ".join(not_in_care)
                + "); Regulation 45 and s25B Children Act 1989 cover looked-after children only."
            )
    return warnings
