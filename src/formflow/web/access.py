"""Who may see and do what on the dashboard: every permission decision, in one place.

Each user has a role (``formflow users add NAME --role ROLE``) and may be tied to a person
of ``[directory]`` in formflow.toml (``--person "Priya Raman"``), whose team the directory
gives. The roles (issue 23):

* ``admin``: manages users and settings; sees and does everything.
* ``iro-service``: IROs, CP chairs and their managers: every challenge, every IRO decision.
* ``business-support``: every challenge; records any event on someone's behalf (naming
  whom), raises challenges and uploads forms; the tracker and the annual figures.
* ``manager``: only the challenges now or once addressed to them or to their team, and
  responds to those addressed to them or their team now.
* ``viewer``: reads everything, changes nothing (a head of service, an inspector).

A manager's need-to-know is judged on the record itself (``may_see``) and, for lists, by
the register's own query (``Register.open_page`` with ``Person.full_name`` and
``Person.team``), so a list, a search and a page can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, g

from formflow.core.record import Challenge

ROLES: tuple[str, ...] = ("admin", "iro-service", "business-support", "manager", "viewer")
ACTIONS: tuple[str, ...] = (
    "respond",
    "escalate",
    "request-cafcass",
    "reopen",
    "withdraw",
    "close",
    "extend",
    "reassign",
    "amend",
    "merge",
    "late-reply",
    "raise",
    "upload",
)
IRO_DECISIONS = frozenset(
    {"escalate", "request-cafcass", "reopen", "withdraw", "close", "extend", "reassign"}
    | {"amend", "merge"}
)
MANAGER_ACTIONS = frozenset({"respond", "late-reply"})
SEE_EVERY_CHALLENGE = frozenset({"admin", "iro-service", "business-support", "viewer"})

PAGES: dict[str, frozenset[str]] = {
    "open list": frozenset(ROLES),
    "tracker": frozenset(ROLES),
    "annual figures": frozenset({"admin", "iro-service", "business-support", "viewer"}),
    "rejected files": frozenset({"admin", "iro-service", "business-support", "viewer"}),
    "sign-ins": frozenset({"admin", "viewer"}),
    "retention": frozenset({"admin", "viewer"}),
}
"""The pages that are not one challenge's, and the roles that may open each. A manager's
tracker holds only their own challenges (``may_see``); the annual figures and the
rejected files (whose names and notes name children) are not theirs."""


@dataclass(frozen=True)
class Person:
    name: str
    """The user name they sign in with."""
    role: str
    full_name: str | None = None
    """The ``[directory]`` person the user is tied to: who a challenge is addressed to."""
    team: str | None = None


def same_name(a: str | None, b: str | None) -> bool:
    """The same person or team whatever the case and spacing a form typed it in."""
    if not a or not b:
        return False
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def addressed_now(person: Person, challenge: Challenge) -> bool:
    """Addressed to them, or to their team (the child's team), at its current level."""
    addressee = challenge.addressed_to.name if challenge.addressed_to else None
    return same_name(addressee, person.full_name) or same_name(challenge.team, person.team)


def addressed_ever(person: Person, challenge: Challenge) -> bool:
    """Addressed to them or their team now, or at an earlier level."""
    return addressed_now(person, challenge) or any(
        h.addressed_to is not None and same_name(h.addressed_to.name, person.full_name)
        for h in challenge.history
    )


def may_see_every_challenge(person: Person) -> bool:
    return person.role in SEE_EVERY_CHALLENGE


def may_see(person: Person, challenge: Challenge) -> bool:
    if may_see_every_challenge(person):
        return True
    return person.role == "manager" and addressed_ever(person, challenge)


def may_act(person: Person, action: str, challenge: Challenge) -> bool:
    """``action`` (one of ``ACTIONS``) on ``challenge``. Business support record any event
    on someone's behalf; an IRO raises a challenge as well as deciding on it."""
    if action not in ACTIONS:
        raise ValueError(f"{action!r} is not an action; the actions are {', '.join(ACTIONS)}")
    if person.role in {"admin", "business-support"}:
        return True
    if person.role == "iro-service":
        return action in IRO_DECISIONS or action == "raise"
    if person.role == "manager":
        return action in MANAGER_ACTIONS and addressed_now(person, challenge)
    return False


def may_open(person: Person, page: str) -> bool:
    """One of ``PAGES``."""
    return person.role in PAGES[page]


def refusal(person: Person, what: str) -> str:
    """What a refused person may do instead, in a sentence a council's staff can act on."""
    if person.role == "manager":
        return (
            f"As a manager you may see only the challenges addressed to you or your team, "
            f"so you cannot {what}. Your challenges are on the open list; ask business "
            "support or the IRO service if you need another."
        )
    if person.role == "viewer":
        return (
            f"Your role is viewer: you may read every challenge but not {what}. Ask business "
            "support to record it for you."
        )
    return (
        f"Your role ({person.role}) does not allow you to {what}. Ask your dashboard's "
        "administrator if your work needs it."
    )


def current_person() -> Person:
    """The signed-in person of this request (set by the app before every page)."""
    person: Person | None = g.get("person")
    if person is None:
        abort(401, "Sign in to see this page.")
    return person
