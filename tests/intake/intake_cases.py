"""The fictional challenges the intake tests fill forms with, and the records they must become."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from form_builders import FormValues, SeedValues

from formflow.config import Settings
from formflow.core.record import (
    Action,
    Challenge,
    Child,
    FinalComments,
    Inference,
    Informal,
    LegalStatus,
    Person,
    RaisedBy,
    Response,
    Role,
    Stage,
    StageOutcome,
    StageRecord,
)
from formflow.intake import read_form_bytes
from formflow.policy_catalogue import built_in

TODAY = dt.date(2025, 11, 20)
STRANGERS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "strangers"
"""Real files that are not challenge forms; CI keeps shared/ beside the repository."""

TEMPLATE_SYNTAX = "Tegan needs a plan she understands. {{ 7*7 }} {% for x in y %}{% endfor %}"


def parse(data: bytes, suffix: str = ".docx", policy_id: str | None = None) -> Challenge:
    return read_form_bytes(
        data,
        suffix=suffix,
        policies=built_in(),
        policy_id=policy_id,
        settings=Settings(),
        today=TODAY,
    )


OFFICIAL: FormValues = {
    "reference": "",
    "policy": "nelincs",
    "date_of_notification": "03/11/2025",
    "raised_by_name": "Morwenna Pentreath",
    "raised_by_iro": True,
    "raised_by_cp_chair": False,
    "addressed_to_name": "Priya Raman",
    "addressed_to_role": "Team Manager",
    "child_name": "Tegan Example",
    "child_date_of_birth": "09/02/2014",
    "child_case_number": "LCS-000123",
    "status_child_in_care": True,
    "status_cp_plan": False,
    "social_worker": "Ifan Jenkins",
    "team": "Children in Care Team 2",
    "team_manager": "Priya Raman",
    "stage_1": True,
    "informal_date": "28/10/2025",
    "informal_with": "Ifan Jenkins and Priya Raman",
    "informal_outcome": "No agreement on when the pathway plan is reviewed.",
    "concern": "The pathway plan has not been reviewed since the placement move.\nTegan's views were not recorded.",
    "outcome_impact": TEMPLATE_SYNTAX,
    "theme_voice_of_child": True,
    "theme_placement": True,
    "action_1": "Review the pathway plan with Tegan",
    "action_1_by_when": "10/11/2025",
    "action_1_by_whom": "Ifan Jenkins",
    "action_2": "Confirm the placement plan in supervision",
    "action_2_by_when": "14/11/2025",
    "action_2_by_whom": "Priya Raman",
    "response_text": "Agreed: the review is booked.",
    "response_by": "Priya Raman",
    "response_date": "07/11/2025",
    "response_resolved": True,
    "final_comments": "Resolved at stage 1.",
    "final_comments_date": "12/11/2025",
}

EXPECTED_OFFICIAL = Challenge(
    policy="nelincs",
    date_of_notification=dt.date(2025, 11, 3),
    raised_by=RaisedBy("Morwenna Pentreath", Role.IRO),
    addressed_to=Person("Priya Raman", "Team Manager"),
    child=Child("Tegan Example", dt.date(2014, 2, 9), "LCS-000123", LegalStatus.CHILD_IN_CARE),
    social_worker="Ifan Jenkins",
    team="Children in Care Team 2",
    team_manager="Priya Raman",
    stage=Stage.ONE,
    informal=Informal(
        dt.date(2025, 10, 28),
        "Ifan Jenkins and Priya Raman",
        "No agreement on when the pathway plan is reviewed.",
    ),
    concern="The pathway plan has not been reviewed since the placement move.\nTegan's views were not recorded.",
    outcome_impact=TEMPLATE_SYNTAX,
    themes=frozenset({"voice_of_child", "placement"}),
    actions=(
        Action("Review the pathway plan with Tegan", dt.date(2025, 11, 10), "Ifan Jenkins"),
        Action("Confirm the placement plan in supervision", dt.date(2025, 11, 14), "Priya Raman"),
    ),
    response=Response("Agreed: the review is booked.", dt.date(2025, 11, 7), "Priya Raman", True),
    final_comments=FinalComments("Resolved at stage 1.", dt.date(2025, 11, 12)),
)

HISTORY: FormValues = {
    "history_1_stage": "Stage 1",
    "history_1_raised_on": "03/11/2025",
    "history_1_due": "10/11/2025",
    "history_1_addressed_to_name": "Priya Raman",
    "history_1_addressed_to_role": "Team Manager",
    "history_1_concern": "The pathway plan has not been reviewed.",
    "history_1_response_text": "We will review it next month.",
    "history_1_response_by": "Priya Raman",
    "history_1_response_date": "07/11/2025",
    "history_1_outcome": "not resolved",
    "history_1_action_1": "Review the pathway plan",
    "history_1_action_1_by_when": "01/12/2025",
    "history_1_action_1_by_whom": "Ifan Jenkins",
}

NEXT_STAGE: FormValues = {
    **OFFICIAL,
    "reference": "PC-2025-7KQ3XM",
    "stage_1": False,
    "stage_2": True,
    "date_of_notification": "12/11/2025",
    "addressed_to_name": "Dafydd Okafor",
    "addressed_to_role": "Service Manager",
    "action_1_by_when": "19/11/2025",
    "action_2_by_when": "21/11/2025",
    "response_text": "",
    "response_by": "",
    "response_date": "",
    "response_resolved": False,
    "final_comments": "",
    "final_comments_date": "",
    **HISTORY,
}

EXPECTED_NEXT_STAGE = replace(
    EXPECTED_OFFICIAL,
    reference="PC-2025-7KQ3XM",
    stage=Stage.TWO,
    date_of_notification=dt.date(2025, 11, 12),
    addressed_to=Person("Dafydd Okafor", "Service Manager"),
    actions=(
        Action("Review the pathway plan with Tegan", dt.date(2025, 11, 19), "Ifan Jenkins"),
        Action("Confirm the placement plan in supervision", dt.date(2025, 11, 21), "Priya Raman"),
    ),
    response=None,
    final_comments=None,
    history=(
        StageRecord(
            stage=Stage.ONE,
            raised_on=dt.date(2025, 11, 3),
            due=dt.date(2025, 11, 10),
            outcome=StageOutcome.NOT_RESOLVED,
            addressed_to=Person("Priya Raman", "Team Manager"),
            concern="The pathway plan has not been reviewed.",
            actions=(Action("Review the pathway plan", dt.date(2025, 12, 1), "Ifan Jenkins"),),
            response=Response(
                "We will review it next month.", dt.date(2025, 11, 7), "Priya Raman", False
            ),
        ),
    ),
)


# --- the seed 003 layout -------------------------------------------------------------------

DateStyle = Callable[[dt.date], str]


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


DATE_STYLES: dict[str, DateStyle] = {
    "03/11/2025": lambda d: d.strftime("%d/%m/%Y"),
    "3/11/25": lambda d: f"{d.day}/{d.month}/{d:%y}",
    "3.11.25": lambda d: f"{d.day}.{d.month}.{d:%y}",
    "3-11-2025": lambda d: f"{d.day}-{d.month}-{d.year}",
    "3rd November 2025": lambda d: f"{_ordinal(d.day)} {d:%B %Y}",
    "3 Nov 2025": lambda d: f"{d.day} {d:%b %Y}",
    "Monday 3 November 2025": lambda d: f"{d:%A} {d.day} {d:%B %Y}",
    "2025-11-03": lambda d: d.isoformat(),
    "3/11/2025": lambda d: f"{d.day}/{d.month}/{d.year}",
    "03.11.2025": lambda d: d.strftime("%d.%m.%Y"),
    "3rd Nov 25": lambda d: f"{_ordinal(d.day)} {d:%b %y}",
    "Mon 3rd November 2025": lambda d: f"{d:%a} {_ordinal(d.day)} {d:%B %Y}",
    "November 3, 2025": lambda d: f"{d:%B} {d.day}, {d.year}",
}


def seed_values(style: DateStyle) -> SeedValues:
    return SeedValues(
        notification=style(dt.date(2025, 11, 3)),
        raised_by="Morwenna Pentreath (IRO)",
        to="Priya Raman",
        child="Tegan Example",
        dob=style(dt.date(2014, 2, 9)),
        case_number="LCS-000123",
        social_worker="Ifan Jenkins",
        team_and_manager="Children in Care Team 2 / Priya Raman",
        stage=2,
        concern="The pathway plan has not been reviewed.\nTegan's views were not recorded.",
        outcome="Tegan does not know where she will live next year.",
        themes=frozenset({"placement", "drift_delay_planning"}),
        actions=(
            ("Review the pathway plan", style(dt.date(2025, 11, 10)), "Ifan Jenkins"),
            ("Visit Tegan at home", style(dt.date(2025, 11, 12)), "Priya Raman"),
        ),
        response="Agreed to review the plan.",
        response_date=style(dt.date(2025, 11, 7)),
        final_comments="Actions tracked by the IRO.",
        final_date=style(dt.date(2025, 11, 10)),
    )


SEED_ROLE = Inference("raised_by.role", "IRO", "the name in 'From' is followed by '(IRO)'.")

EXPECTED_SEED = Challenge(
    policy="nelincs",
    date_of_notification=dt.date(2025, 11, 3),
    raised_by=RaisedBy("Morwenna Pentreath", Role.IRO),
    addressed_to=Person("Priya Raman", None),
    # The seed form has no legal-status boxes and nelincs covers every status: not stated.
    child=Child("Tegan Example", dt.date(2014, 2, 9), "LCS-000123", None),
    social_worker="Ifan Jenkins",
    team="Children in Care Team 2",
    team_manager="Priya Raman",
    stage=Stage.TWO,
    concern="The pathway plan has not been reviewed.\nTegan's views were not recorded.",
    outcome_impact="Tegan does not know where she will live next year.",
    themes=frozenset({"placement", "drift_delay_planning"}),
    actions=(
        Action("Review the pathway plan", dt.date(2025, 11, 10), "Ifan Jenkins"),
        Action("Visit Tegan at home", dt.date(2025, 11, 12), "Priya Raman"),
    ),
    response=Response("Agreed to review the plan.", dt.date(2025, 11, 7), None, None),
    final_comments=FinalComments("Actions tracked by the IRO.", dt.date(2025, 11, 10)),
    inferred=(SEED_ROLE,),
)
