"""What a form does not state: settled from what it or the procedure does say, or left unstated.

The seed 003 form has no "Raised by" or "Child in care" boxes, so its role and legal status
are often not stated. Nothing is demanded for that. Instead, in this order:

1. a tick box, where the form has one, states the value;
2. words written after a name settle it: "Jo Bloggs (IRO)" in From, "Tegan Example (CiC)"
   in Name of Child;
3. the procedure settles it when it allows only one answer: only IROs raise challenges
   under it, or it covers only children in care;
4. otherwise the value stays not stated (None); the one rule that needs it, a CAFCASS
   referral for a child in care, asks for it (``validate``).

Each value settled by 2 or 3 is an ``Inference`` in the record, with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from formflow.core.policy import Policy
from formflow.core.record import Inference, LegalStatus, Role

ROLE_PATH = "raised_by.role"
STATUS_PATH = "child.legal_status"

_ROLE_WORDS = {
    Role.IRO: re.compile(r"\bIRO\b|independent reviewing officer", re.IGNORECASE),
    Role.CP_CHAIR: re.compile(
        r"\bCP\s*chair\b|\bCPC\b|conference chair|child protection chair", re.IGNORECASE
    ),
}
_TRAILING_ROLE = re.compile(
    r"\s*(?:[,(\-–]\s*)?(?:IRO|CP\s*chair|CPC|child protection (?:conference )?chair|"
    r"independent reviewing officer)\s*\)?\s*$",
    re.IGNORECASE,
)

_IN_CARE = r"child in care|CiC|CLA|LAC|looked[ -]after(?: child)?"
_ON_PLAN = r"(?:on (?:a )?)?(?:CP|child protection) plan|CPP"
_STATUS_WORDS = {
    "in care": re.compile(rf"\b(?:{_IN_CARE})\b", re.IGNORECASE),
    "on a plan": re.compile(rf"\b(?:{_ON_PLAN})\b", re.IGNORECASE),
}
_TRAILING_STATUS = re.compile(
    rf"\s*[(\-–,]\s*(?:{_IN_CARE}|{_ON_PLAN})(?:\s*(?:and|&|/|\+)\s*(?:{_IN_CARE}|{_ON_PLAN}))?"
    r"\s*\)?\s*$",
    re.IGNORECASE,
)
_PLURAL = {Role.IRO: "IROs", Role.CP_CHAIR: "CP chairs"}


@dataclass(frozen=True)
class Settled:
    """A name with any words that settled a value taken off, and what they settled."""

    name: str
    value: str | None = None
    inference: Inference | None = None


def role_from_name(name: str, label: str) -> Settled:
    """The raiser's role from words in the name box, as "Jo Bloggs (IRO)"."""
    roles = [role for role, pattern in _ROLE_WORDS.items() if pattern.search(name)]
    if len(roles) != 1:
        return Settled(name)
    role = roles[0]
    trailing = _TRAILING_ROLE.search(name)
    if trailing is not None:
        said = trailing.group(0).strip(" ,-–")
        reason = f"the name in '{label}' is followed by '{said}'."
        name = name[: trailing.start()].rstrip() or name
    else:
        match = _ROLE_WORDS[role].search(name)
        assert match is not None
        reason = f"the name in '{label}' includes '{match.group(0)}'."
    return Settled(name, role.value, Inference(ROLE_PATH, role.value, reason))


def status_from_name(name: str, label: str) -> Settled:
    """The child's legal status from words after the name, as "Tegan Example (CiC)"."""
    trailing = _TRAILING_STATUS.search(name)
    if trailing is None:
        return Settled(name)
    words = trailing.group(0)
    in_care = bool(_STATUS_WORDS["in care"].search(words))
    on_plan = bool(_STATUS_WORDS["on a plan"].search(words))
    status = (
        LegalStatus.BOTH
        if in_care and on_plan
        else LegalStatus.CHILD_IN_CARE
        if in_care
        else LegalStatus.CHILD_PROTECTION_PLAN
    )
    said = words.strip(" ,-–")
    reason = f"the name in '{label}' is followed by '{said}'."
    stripped = name[: trailing.start()].rstrip()
    return Settled(stripped or name, status.value, Inference(STATUS_PATH, status.value, reason))


def from_procedure(data: dict[str, Any], policy: Policy) -> list[Inference]:
    """Settle, in the record's data, what is still not stated but the procedure allows only
    one way; the inferences made, each with its reason."""
    inferred: list[Inference] = []
    raised_by, child = data["raised_by"], data["child"]
    if raised_by.get("role") is None and len(policy.raised_by_roles) == 1:
        (role,) = policy.raised_by_roles
        raised_by["role"] = role.value
        inferred.append(
            Inference(
                ROLE_PATH,
                role.value,
                f"only {_PLURAL[role]} raise challenges under the {policy.name} procedure.",
            )
        )
    if child.get("legal_status") is None:
        status = _only_status(policy)
        if status is not None:
            child["legal_status"] = status.value
            inferred.append(Inference(STATUS_PATH, status.value, _covers(policy, status)))
    return inferred


def _only_status(policy: Policy) -> LegalStatus | None:
    """The legal status the procedure leaves: its only one, or "child in care" when every
    status it covers is in care (a child in care who is also on a plan is still in care)."""
    if len(policy.children) == 1:
        (status,) = policy.children
        return status
    if all(status.in_care for status in policy.children):
        return LegalStatus.CHILD_IN_CARE
    return None


def _covers(policy: Policy, status: LegalStatus) -> str:
    if status.in_care:
        return f"the {policy.name} procedure covers only children in care."
    return f"the {policy.name} procedure covers only children on a child protection plan."
