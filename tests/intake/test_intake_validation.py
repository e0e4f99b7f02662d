"""Rejections: every problem found, each one sentence naming the form's own label."""

from __future__ import annotations

import pytest
from form_builders import FormValues, Style, official_form, seed_form, strip_tags
from intake_cases import DATE_STYLES, EXPECTED_OFFICIAL, OFFICIAL, parse, seed_values

from formflow.errors import PolicyError, RejectedForm
from formflow.policy_catalogue import built_in


def reasons(changes: FormValues, policy_id: str | None = None, **form_options: object) -> list[str]:
    data = official_form({**OFFICIAL, **changes}, Style.CONTROLS, **form_options)  # type: ignore[arg-type]
    with pytest.raises(RejectedForm) as caught:
        parse(data, policy_id=policy_id)
    return caught.value.reasons


NOTIFICATION_EMPTY = (
    "'Date of Notification' is empty: enter the date the challenge was raised, such as 03/11/2025."
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"date_of_notification": ""}, NOTIFICATION_EMPTY),
        (
            {"date_of_notification": "31/02/2025"},
            "'Date of Notification' has '31/02/2025', which is not a date on the calendar: "
            "check the day and the month (day first), such as 03/11/2025.",
        ),
        (
            {"child_date_of_birth": "9 February"},
            "'DoB' has '9 February', which has no year: write the full date, such as 03/11/2025.",
        ),
        ({"child_name": ""}, "'Name of Child' is empty: enter the child's full name."),
        (
            {"stage_1": False},
            "No stage is ticked: tick one of 'Informal', 'Stage 1', 'Stage 2', 'Stage 3' or 'Stage 4'.",
        ),
        (
            {"stage_2": True},
            "More than one stage is ticked ('Stage 1' and 'Stage 2'): tick only the stage this "
            "challenge is at.",
        ),
        (
            {"child_date_of_birth": "01/12/2025"},
            "'DoB' (01/12/2025) is in the future: check the child's date of birth.",
        ),
        (
            {"child_date_of_birth": "05/11/2025"},
            "'DoB' (05/11/2025) is not before 'Date of Notification' (03/11/2025): check both dates.",
        ),
        (
            {"action_2_by_when": "01/11/2025"},
            "'By when' for action 2 (01/11/2025) is before 'Date of Notification' (03/11/2025): "
            "enter the date the action is due, on or after the notification.",
        ),
        (
            {"reference": "PC-25-ABC"},
            "'Reference' has 'PC-25-ABC', which is not a formflow reference such as "
            "PC-2025-7KQ3XM: copy it exactly from the earlier form, or leave it blank on a new "
            "challenge.",
        ),
        (
            {"status_child_in_care": False, "status_cp_plan": True, "cafcass_requested": True},
            "'At any point: CAFCASS' is ticked, but a CAFCASS referral is only for a child in "
            "care: untick it, or tick 'Child in care' if the child is looked after.",
        ),
        (
            {"raised_by_cp_chair": True},
            "Both 'Raised by an IRO' and 'Raised by a Child Protection Conference Chair' are "
            "ticked: tick only the one that applies.",
        ),
        (
            {"action_3_by_whom": "Ifan Jenkins"},
            "Action 3 has a 'By when' or 'By whom' but no 'Action': describe the action, or "
            "clear the row.",
        ),
        (
            {"policy": "atlantis"},
            "'Procedure' has 'atlantis', which formflow does not know. There is no policy "
            "'atlantis'. The policies available are: barnet, cic-issues, nelincs, nottinghamshire, "
            "ops-flowchart, peterborough, rotherham.",
        ),
    ],
)
def test_each_rule_is_one_sentence_naming_the_label(changes: FormValues, expected: str) -> None:
    assert reasons(changes) == [expected]


def test_every_problem_is_reported_at_once() -> None:
    found = reasons({"date_of_notification": "", "child_name": "", "stage_1": False})
    assert found == [
        NOTIFICATION_EMPTY,
        "'Name of Child' is empty: enter the child's full name.",
        "No stage is ticked: tick one of 'Informal', 'Stage 1', 'Stage 2', 'Stage 3' or 'Stage 4'.",
    ]
    assert not any("/" in reason.split("'")[0] or "Traceback" in reason for reason in found)


def test_cafcass_needs_every_prerequisite_of_the_procedure_dated() -> None:
    policy = built_in()("nelincs")
    first, second = policy.cafcass.prerequisites
    found = reasons(
        {"cafcass_requested": True, f"cafcass_prerequisite_{first.id}": "01/11/2025"},
        prerequisites=policy.cafcass.prerequisites,
    )
    assert found == [
        f"'{second.label}' has no date, and a CAFCASS referral needs it first: enter the date "
        "it was done, such as 03/11/2025."
    ]


@pytest.mark.parametrize("stripped", [False, True])
def test_cafcass_request_with_prerequisites_dated_is_accepted(stripped: bool) -> None:
    policy = built_in()("nelincs")
    dated = {f"cafcass_prerequisite_{p.id}": "01/11/2025" for p in policy.cafcass.prerequisites}
    values = {**OFFICIAL, "cafcass_requested": True, "cafcass_request_date": "03/11/2025", **dated}
    data = official_form(values, Style.CONTROLS, prerequisites=policy.cafcass.prerequisites)
    challenge = parse(strip_tags(data) if stripped else data)
    assert challenge.cafcass.requested
    assert set(challenge.cafcass.prerequisites) == {p.id for p in policy.cafcass.prerequisites}
    assert all(d is not None for d in challenge.cafcass.prerequisites.values())


def test_procedure_must_cover_the_raisers_role() -> None:
    found = reasons({"policy": "cic-issues", "raised_by_iro": False, "raised_by_cp_chair": True})
    assert len(found) == 1
    assert "is not for challenges raised by a CP chair" in found[0]


def test_override_procedure_replaces_the_forms_and_an_unknown_one_is_an_operator_error() -> None:
    data = official_form(OFFICIAL, Style.CONTROLS)
    assert parse(data, policy_id="rotherham").policy == "rotherham"
    with pytest.raises(PolicyError):
        parse(data, policy_id="atlantis")


def test_blank_procedure_falls_back_to_the_default() -> None:
    data = official_form({**OFFICIAL, "policy": ""}, Style.CONTROLS)
    assert parse(data).to_dict() == EXPECTED_OFFICIAL.to_dict()


def test_an_unclear_tick_is_an_error_not_a_guess() -> None:
    seeded = seed_form(seed_values(DATE_STYLES["03/11/2025"]), tick="maybe", untick="")
    with pytest.raises(RejectedForm) as caught:
        parse(seeded)
    assert caught.value.reasons == [
        "'Stage 2' has 'maybe' in its tick box: mark it with X if it applies, or leave it empty.",
        "'Drift and delay in progressing the child's planning' has 'maybe' in its tick box: mark it with X if it applies, or leave it empty.",
        "'Placement concerns' has 'maybe' in its tick box: mark it with X if it applies, or leave it empty.",
    ]
