"""Who may see and do what on the dashboard (issue 23 part 1): every permission decision.

A stand-in with the agreed API, so the actions (``formflow.web.actions``) can ask it while
the roles themselves are built beside them; it reads a user's role from the accounts
file where that file has one, and treats everyone else as an administrator, as the
dashboard did before roles.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass

from flask import current_app, g

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
    {
        "escalate",
        "request-cafcass",
        "reopen",
        "withdraw",
        "close",
        "extend",
        "reassign",
        "amend",
        "merge",
    }
)
"""What the IRO service decides; a manager only answers (``MANAGER_ACTIONS``)."""

MANAGER_ACTIONS = frozenset({"respond", "late-reply"})

SEE_EVERYTHING = frozenset({"admin", "iro-service", "business-support", "viewer"})


@dataclass(frozen=True)
class Person:
    name: str
    """The user name they sign in with."""
    role: str
    full_name: str | None = None
    """The ``[directory]`` person the user is tied to."""
    team: str | None = None


def _addressed_now(person: Person, challenge: Challenge) -> bool:
    to = challenge.addressed_to
    by_name = to is not None and to.name is not None and to.name == person.full_name
    by_team = person.team is not None and challenge.team == person.team
    return by_name or by_team


def _addressed_ever(person: Person, challenge: Challenge) -> bool:
    earlier = {h.addressed_to.name for h in challenge.history if h.addressed_to is not None}
    return _addressed_now(person, challenge) or (
        person.full_name is not None and person.full_name in earlier
    )


def may_see(person: Person, challenge: Challenge) -> bool:
    if person.role in SEE_EVERYTHING:
        return True
    return person.role == "manager" and _addressed_ever(person, challenge)


def may_act(person: Person, action: str, challenge: Challenge) -> bool:
    match person.role:
        case "admin" | "business-support":
            return True
        case "iro-service":
            return action in IRO_DECISIONS
        case "manager":
            return action in MANAGER_ACTIONS and _addressed_now(person, challenge)
        case _:
            return False


def refusal(person: Person, what: str) -> str:
    """A plain sentence: what the person may not do, and what they may do instead."""
    instead = {
        "viewer": "You can read challenges but not change them: ask the IRO service or "
        "business support to record it.",
        "manager": "You can respond to challenges addressed to you or your team: ask the "
        "IRO service or business support for anything else.",
        "iro-service": "The responder answers a challenge: ask business support to record "
        "a response on their behalf.",
    }.get(person.role, "Ask your dashboard's administrator for the role that allows it.")
    return f"Your role ({person.role}) does not allow you to {what}. {instead}"


def current_person() -> Person:
    """The signed-in person: their role from the accounts file, where it keeps one."""
    name = str(g.user)
    accounts = current_app.extensions["formflow"].accounts
    with closing(sqlite3.connect(accounts.path)) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(users)")}
        if "role" not in columns:
            return Person(name, "admin")
        wanted = [c for c in ("role", "full_name", "team") if c in columns]
        row = db.execute(f"SELECT {', '.join(wanted)} FROM users WHERE name = ?", (name,))
        found = dict(zip(wanted, row.fetchone() or (), strict=False))
    role = str(found.get("role") or "viewer")
    return Person(
        name, role if role in ROLES else "viewer", found.get("full_name"), found.get("team")
    )
