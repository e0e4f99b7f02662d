"""What can happen to a challenge: its statuses, the documents a change produces, the
events the engine applies, and the transition and assessment it answers with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from formflow.core.record import (
    Action,
    Challenge,
    Person,
    Response,
    Stage,
)


class Status(StrEnum):
    AWAITING_RESPONSE = "awaiting response"
    RESOLVED = "resolved"
    CAFCASS_CONSIDERATION = "CAFCASS consideration"
    REFERRED_TO_CAFCASS = "referred to CAFCASS"
    CLOSED_UNRESOLVED = "closed unresolved"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


CLOSED = frozenset(
    {Status.CLOSED_UNRESOLVED, Status.REFERRED_TO_CAFCASS, Status.WITHDRAWN, Status.MERGED}
)
"""Statuses no later event of the ladder changes (a resolved challenge may still re-open)."""


class Document(StrEnum):
    """What a transition asks the shell to write."""

    NEXT_STAGE_FORM = "next-stage form"
    FINAL_RECORD = "final record"
    CAFCASS_PACK = "CAFCASS pack"
    CLOSURE_NOTE = "closure note"
    IRO_NOTE = "note to the IRO"
    """A covering email only: something the IRO must decide on."""


@dataclass(frozen=True)
class Raise:
    """The IRO/CP chair raises the challenge at ``stage`` (informal or formal) on ``on``."""

    stage: Stage
    on: dt.date


@dataclass(frozen=True)
class Respond:
    """The responder's answer to the current stage."""

    on: dt.date
    resolved: bool
    text: str | None = None
    by: str | None = None
    actions: tuple[Action, ...] = ()
    agreed_by: tuple[str, ...] = ()
    """At a level with joint responders: those the response records as satisfied."""


@dataclass(frozen=True)
class ResponseOverdue:
    """No response by the stage's due date, noticed on ``on``."""

    on: dt.date


@dataclass(frozen=True)
class Escalate:
    """A named person decides to move the challenge to the next level (where the procedure
    leaves escalation after a missed deadline, or after a response, to their decision)."""

    on: dt.date
    by: str
    reason: str


@dataclass(frozen=True)
class ActionsNotImplemented:
    """The actions agreed at resolution were not carried out, or did not work: the IRO
    re-opens the challenge where the procedure says."""

    on: dt.date
    reason: str = ""
    stage: Stage | None = None
    """The level the IRO chose, where the procedure does not say where the challenge returns."""


@dataclass(frozen=True)
class RequestCafcass:
    on: dt.date


@dataclass(frozen=True)
class CloseUnresolved:
    """The IRO decides to close the challenge unresolved: while a response is awaited, or
    after CAFCASS consideration instead of referring."""

    on: dt.date
    reason: str


@dataclass(frozen=True)
class Withdraw:
    """The IRO withdraws the challenge: raised in error, or the matter is now resolved."""

    on: dt.date
    reason: str


@dataclass(frozen=True)
class ExtendDeadline:
    """An agreed extension of the current stage's response deadline to ``to``."""

    on: dt.date
    to: dt.date
    reason: str


@dataclass(frozen=True)
class Reassign:
    """The current stage is handed to another responder (sickness, a change of team)."""

    on: dt.date
    to: Person
    reason: str


AMENDABLE: dict[str, str] = {
    "case_number": "LCS number",
    "child_name": "Name of Child",
    "date_of_birth": "DoB",
    "social_worker": "Social Worker",
    "team": "Team",
    "team_manager": "Team Manager",
    "raised_by_name": "From (the IRO or CP chair)",
    "concern": "The concern",
}
"""Details business support may correct (``formflow amend``), with the form's label."""

CHILD_DETAILS = frozenset({"case_number", "child_name", "date_of_birth"})
"""Amended silently in messages: the audit trail never carries a child's details."""


@dataclass(frozen=True)
class Amend:
    """A detail typed wrongly is corrected (``field`` is a key of ``AMENDABLE``)."""

    on: dt.date
    field: str
    value: str | dt.date
    reason: str


@dataclass(frozen=True)
class MergeInto:
    """This challenge is the same as ``into`` (same child, same concern): it closes, and
    the other carries on."""

    on: dt.date
    into: str
    reason: str


@dataclass(frozen=True)
class LateResponse:
    """A response to ``stage`` that arrived after that stage had moved on, or that differs
    from the answer it already had: kept against that stage, and the IRO told."""

    on: dt.date
    stage: Stage
    response: Response


Event = (
    Raise
    | Respond
    | ResponseOverdue
    | Escalate
    | ActionsNotImplemented
    | RequestCafcass
    | CloseUnresolved
    | Withdraw
    | ExtendDeadline
    | Reassign
    | Amend
    | MergeInto
    | LateResponse
)


@dataclass(frozen=True)
class Transition:
    challenge: Challenge
    message: str
    """One sentence for the audit trail and the notice to the IRO; no child's name."""
    documents: tuple[Document, ...] = ()


@dataclass(frozen=True)
class Assessment:
    status: Status
    stage: Stage
    responder: str | None
    """The role that must respond now, where someone must."""
    responder_name: str | None
    copy_to: tuple[str, ...]
    raised_on: dt.date
    due: dt.date | None
    overall_target: dt.date | None
    """The cumulative target from the start of the challenge, where the policy states one."""
    first_contact_due: dt.date | None
    overdue: bool
    actions_to_check: tuple[Action, ...]
    """Agreed actions whose by-when date has come: the IRO checks they were done."""
    warnings: tuple[str, ...]
    due_note: str = ""
    """Why a response awaited has no due date ("no fixed timescale (as agreed)"); empty
    when it has one or nothing is awaited."""
    outstanding: tuple[str, ...] = ()
    """Duties to record at the levels reached that have no date yet, one sentence each."""
