"""The roles contract (issue 23): who may see and do what, decided in one place."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from web_support import NOW, TODAY

from conftest import make_challenge
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import assess
from formflow.core.record import Person as Addressee
from formflow.policy_catalogue import built_in
from formflow.store.register import ListRanks, OpenList, Register
from formflow.web.access import ACTIONS, IRO_DECISIONS, ROLES, Person, may_act, may_see, refusal

PRIYA = Person("priya", "manager", "Priya Raman", "Children in Care Team 2")
TO_HER = make_challenge(addressed_to=Addressee(" priya  RAMAN ", "Team Manager"), team="Fostering")
TO_HER_TEAM = make_challenge(addressed_to=Addressee("Sam Other"), team="children in care team 2")
TO_OTHERS = make_challenge(addressed_to=Addressee("Sam Other"), team="Leaving Care")


def test_the_contracts_names() -> None:
    assert ROLES == ("admin", "iro-service", "business-support", "manager", "viewer")
    assert len(ACTIONS) == 13 and set(ACTIONS) > IRO_DECISIONS


@pytest.mark.parametrize("role", ["admin", "iro-service", "business-support", "viewer"])
def test_every_role_but_manager_sees_every_challenge(role: str) -> None:
    assert may_see(Person("x", role), TO_OTHERS)


def test_a_manager_sees_and_answers_only_theirs_and_their_teams() -> None:
    assert may_see(PRIYA, TO_HER) and may_see(PRIYA, TO_HER_TEAM)
    assert not may_see(PRIYA, TO_OTHERS)
    assert not may_see(Person("nobody", "manager"), TO_HER)  # tied to no one: nothing
    for action in ACTIONS:
        allowed = action in {"respond", "late-reply"}
        assert may_act(PRIYA, action, TO_HER) is allowed, action
        assert may_act(PRIYA, action, TO_HER_TEAM) is allowed, action
        assert not may_act(PRIYA, action, TO_OTHERS), action


@pytest.mark.parametrize("action", ACTIONS)
def test_what_each_other_role_may_do(action: str) -> None:
    assert may_act(Person("a", "admin"), action, TO_OTHERS)
    assert may_act(Person("b", "business-support"), action, TO_OTHERS)
    assert not may_act(Person("v", "viewer"), action, TO_OTHERS)
    iro = may_act(Person("i", "iro-service"), action, TO_OTHERS)
    assert iro is (action in IRO_DECISIONS or action == "raise")


def test_an_unknown_action_is_a_mistake_not_a_refusal() -> None:
    with pytest.raises(ValueError, match="'approve' is not an action"):
        may_act(PRIYA, "approve", TO_HER)


def test_a_refusal_says_what_to_do_instead() -> None:
    assert "ask business support" in refusal(PRIYA, "see PC-2025-XXXXXX").lower()
    assert "Ask business support to record it" in refusal(Person("v", "viewer"), "respond")
    assert "Ask your dashboard's administrator" in refusal(
        Person("i", "iro-service"), "see the sign-ins"
    )


def test_the_register_lists_what_may_see_allows_whatever_the_spacing(tmp_path: Path) -> None:
    """The list (SQL) and the page (``may_see``) must agree on who a challenge is for."""
    with Register(tmp_path / "formflow.db") as register:
        for n, c in enumerate([TO_HER, TO_HER_TEAM, TO_OTHERS]):
            c = replace(c, reference=f"PC-2025-00000{n}")
            register.save_challenge(
                c, assess(c, built_in()(c.policy), WorkingCalendar(), TODAY), NOW
            )
        listed = register.open_list(
            OpenList(restricted_to=(PRIYA.full_name, PRIYA.team)), ListRanks(), 0, 9
        )
        seen = [c.reference for c in register.challenges() if may_see(PRIYA, c)]
    assert (
        sorted(r["reference"] for r in listed)
        == sorted(seen)
        == [
            "PC-2025-000000",
            "PC-2025-000001",
        ]
    )
