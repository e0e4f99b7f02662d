"""The forms ``formflow new`` writes before a challenge is registered: blank, the
fictional sample (``make run`` writes it to ``samples/stage1-challenge.docx``), or
pre-filled from what the person raising the challenge gives. Every name in the sample is
invented.

The sample is dated the day it is made, so the first challenge a newcomer drops into the
inbox is due five working days later, not already overdue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

from formflow.config import Settings
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import Raise, apply
from formflow.core.policy import Policy, StagePolicy
from formflow.core.record import (
    Challenge,
    Child,
    LegalStatus,
    Person,
    RaisedBy,
    Role,
    Stage,
)
from formflow.errors import PolicyError
from formflow.outbox.folders import Home
from formflow.policy_catalogue import PolicyCatalogue
from formflow.render import write_form
from formflow.store.register import Register, new_reference


def sample_challenge(today: dt.date) -> Challenge:
    """A stage 1 challenge under ``nelincs``, raised on ``today``, with no reference yet
    (formflow gives one when the form arrives)."""
    return Challenge(
        policy="nelincs",
        date_of_notification=today,
        raised_by=RaisedBy("Morwenna Pentreath", Role.IRO),
        child=Child("Tegan Example", dt.date(2014, 2, 9), "LCS-000123", LegalStatus.CHILD_IN_CARE),
        stage=Stage.ONE,
        concern=("The pathway plan has not been reviewed since the placement move in September."),
        social_worker="Ifan Jenkins",
        team="Children in Care Team 2",
        team_manager="Priya Raman",
        themes=frozenset({"drift_delay_planning", "management_oversight"}),
    )


@dataclass(frozen=True)
class Prefill:
    """What a pre-filled form says: the child, who raises the challenge, at which stage,
    and (optionally) the manager it goes to."""

    child_name: str
    child_dob: dt.date
    case_number: str
    raised_by: str
    legal_status: LegalStatus = LegalStatus.CHILD_IN_CARE
    role: Role = Role.IRO
    stage: Stage | None = None
    """None: the first level of the procedure's ladder for ``role``."""
    addressed_to: str | None = None


@dataclass(frozen=True)
class NewForm:
    """A form ``write_new_form`` wrote, and the challenge it carries (None when blank)."""

    path: Path
    challenge: Challenge | None
    reference_checked: bool = False
    """The reference was chosen free in the home's register (there was one to ask)."""


def free_reference(home: Home, year: int) -> tuple[str, bool]:
    """A reference no challenge in the home's register has (any, without a register), and
    whether a register was there to check it against."""
    if home.register_url is None and not home.database.is_file():
        return new_reference(year), False
    with Register(home.register) as register:
        return register.assign_reference(year), True


def prefilled_challenge(
    prefill: Prefill,
    policy_id: str,
    policies: PolicyCatalogue,
    home: Home,
    today: dt.date,
    calendar: WorkingCalendar,
) -> tuple[Challenge, bool]:
    """A challenge raised ``today`` under ``policy_id``, with a reference free in the home's
    register (and whether there was a register to check it against). A form the procedure
    would refuse on intake (a level it does not allow to start at, a role it is not for)
    is refused now, with the engine's reason, rather than written."""
    policy = policies(policy_id)
    level = _level_of(policy, prefill.stage or policy.ladder(prefill.role)[0].stage)
    reference, checked = free_reference(home, today.year)
    challenge = Challenge(
        reference=reference,
        policy=policy.id,
        date_of_notification=today,
        raised_by=RaisedBy(prefill.raised_by, prefill.role),
        child=Child(
            prefill.child_name, prefill.child_dob, prefill.case_number, prefill.legal_status
        ),
        stage=level.stage,
        concern="",
    )
    if prefill.addressed_to:
        challenge = replace(challenge, addressed_to=Person(prefill.addressed_to, level.responder))
    apply(challenge, Raise(level.stage, today), policy, calendar)
    return challenge, checked


def _level_of(policy: Policy, stage: Stage) -> StagePolicy:
    """The procedure's level a pre-filled form is raised at; a level it does not have is
    named with the ones it does, rather than a form with nothing ticked."""
    if not policy.has_stage(stage):
        levels = ", ".join(f"{s.stage.id} ({s.stage.label})" for s in policy.stages)
        raise PolicyError(
            f"The {policy.id} procedure has no level '{stage.id}': give --stage one of {levels}."
        )
    return policy.stage(stage)


def write_new_form(
    output: Path,
    *,
    home: Home,
    settings: Settings,
    policies: PolicyCatalogue,
    today: dt.date,
    policy_id: str | None = None,
    sample: bool = False,
    prefill: Prefill | None = None,
    pdf: bool = False,
) -> NewForm:
    """The official form at ``output`` (Word, or a fillable PDF): the sample when
    ``sample``, pre-filled from ``prefill`` when given, else blank, under ``policy_id``
    (default: the settings' default procedure; the sample is under its own)."""
    chosen = policy_id or settings.default_policy
    challenge: Challenge | None = None
    checked = False
    if sample:
        challenge = sample_challenge(today)
    elif prefill is not None:
        challenge, checked = prefilled_challenge(
            prefill, chosen, policies, home, today, settings.calendar
        )
    policy = policies(challenge.policy if challenge else chosen)
    written = write_form(challenge, policy, settings, output, today=today, pdf=pdf)
    return NewForm(written, challenge, checked)
