"""Rules across fields, and the JSON Schema as a last check, each broken rule one sentence.

The rules run on the schema-shaped data the normaliser built; a value it could not read is
None there and was already reported, so each rule only speaks about values it can see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from formflow import form
from formflow.core.policy import Policy
from formflow.core.record import REFERENCE_PATTERN, LegalStatus, Role, Stage
from formflow.intake.catalogue import field
from formflow.intake.dates import uk
from formflow.schema import schema_errors


def _label(tag: str) -> str:
    return field(tag).label


def _day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else None


def rule_problems(data: dict[str, Any], policy: Policy | None, today: dt.date) -> list[str]:
    problems = (
        _reference(data)
        + _notified(data, today)
        + _not_after_arrival(data, today)
        + _birth(data, today)
        + _due_dates(data)
    )
    if policy is not None:
        problems += _policy_cover(data, policy) + _cafcass(data, policy)
    return problems


def _reference(data: dict[str, Any]) -> list[str]:
    reference = data.get("reference")
    if reference is None or REFERENCE_PATTERN.match(reference):
        return []
    return [
        f"'{_label('reference')}' has '{reference}', which is not a formflow reference such "
        "as PC-2025-7KQ3XM: copy it exactly from the earlier form, or leave it blank on a "
        "new challenge."
    ]


def _notified(data: dict[str, Any], today: dt.date) -> list[str]:
    notified = _day(data.get("date_of_notification"))
    if notified is None or notified <= today:
        return []
    return [
        f"'{_label('date_of_notification')}' ({uk(notified)}) is in the future (today is "
        f"{uk(today)}): enter the date the challenge was raised, today or earlier."
    ]


EVENT_DATES = (
    ("response_date", ("response", "date")),
    ("iro_decision_date", ("iro_decision", "date")),
    ("cafcass_request_date", ("cafcass", "request_date")),
    ("informal_date", ("informal", "date")),
    ("final_comments_date", ("final_comments", "date")),
)
"""The dates of what a form records as done (a response, a decision, a request, a
discussion): the tag of each and where the normaliser puts it."""


def _not_after_arrival(data: dict[str, Any], today: dt.date) -> list[str]:
    """Nothing a form records can have happened after the day the form arrived: a later
    date is a slip (often the year), which would otherwise move the challenge in time."""
    problems = []
    for tag, (section, key) in EVENT_DATES:
        day = _day((data.get(section) or {}).get(key))
        if day is not None and day > today:
            problems.append(
                f"'{_label(tag)}' ({uk(day)}) is later than the day this form arrived "
                f"({uk(today)}): enter the date it happened (check the year)."
            )
    return problems


def _birth(data: dict[str, Any], today: dt.date) -> list[str]:
    born = _day(data["child"].get("date_of_birth"))
    notified = _day(data.get("date_of_notification"))
    if born is None:
        return []
    dob, notification = _label("child_date_of_birth"), _label("date_of_notification")
    if born > today:
        return [f"'{dob}' ({uk(born)}) is in the future: check the child's date of birth."]
    if notified is not None and born >= notified:
        return [
            f"'{dob}' ({uk(born)}) is not before '{notification}' ({uk(notified)}): check "
            "both dates."
        ]
    return []


def _due_dates(data: dict[str, Any]) -> list[str]:
    notified = _day(data.get("date_of_notification"))
    if notified is None:
        return []
    problems = []
    for row, action in enumerate(data["actions"], start=1):
        due = _day(action.get("by_when"))
        if due is not None and due < notified:
            problems.append(
                f"'By when' for action {row} ({uk(due)}) is before '{_label('date_of_notification')}' "
                f"({uk(notified)}): enter the date the action is due, on or after the notification."
            )
    return problems


def _policy_cover(data: dict[str, Any], policy: Policy) -> list[str]:
    problems = []
    status = data["child"].get("legal_status")
    if status is not None and LegalStatus(status) not in policy.children:
        problems.append(
            f"The {policy.name} procedure does not cover a child with legal status '{status}': "
            "check 'Child in care' and 'Child protection plan' (or what is written after the "
            f"child's name), or name the right procedure in '{_label('policy')}'."
        )
    role = data["raised_by"].get("role")
    if role is not None and Role(role) not in policy.raised_by_roles:
        problems.append(
            f"The {policy.name} procedure is not for challenges raised by a {role}: check the "
            "'Raised by' tick boxes (or what is written after the name in 'From'), or name the "
            f"right procedure in '{_label('policy')}'."
        )
    stage = data.get("stage")
    if stage is not None and not policy.has_stage(Stage(stage)):
        problems.append(
            f"'{Stage(stage).label}' is ticked, but the {policy.name} procedure has no such "
            "stage: tick the stage this challenge is at."
        )
    return problems


def _cafcass(data: dict[str, Any], policy: Policy) -> list[str]:
    cafcass = data["cafcass"]
    if not cafcass["requested"]:
        return []
    requested = f"'{_label('cafcass_requested')}'"
    status = data["child"].get("legal_status")
    if status is not None and not LegalStatus(status).in_care:
        return [
            f"{requested} is ticked, but a CAFCASS referral is only for a child in care: untick "
            "it, or tick 'Child in care' if the child is looked after."
        ]
    if not policy.cafcass.available:
        return [
            f"{requested} is ticked, but the {policy.name} procedure has no CAFCASS referral: "
            "untick it."
        ]
    unstated = [
        f"{requested} is ticked, but the form does not say whether the child is in care, and "
        "a CAFCASS referral is only for a child in care: tick 'Child in care' where the form "
        f"has it, or write '(child in care)' after the name in '{_label('child_name')}'."
    ]
    return (unstated if status is None and data["child"].get("name") else []) + [
        f"'{p.label}' has no date, and a CAFCASS referral needs it first: enter the date it "
        f"was done, {form.DATE_HINT}."
        for p in policy.cafcass.prerequisites
        if cafcass["prerequisites"].get(p.id) is None
    ]


# --- the schema, as the last word ------------------------------------------------------------

_PATH_TAGS: dict[tuple[str, ...], str] = {
    ("policy",): "policy",
    ("raised_by", "name"): "raised_by_name",
    ("addressed_to", "name"): "addressed_to_name",
    ("addressed_to", "role"): "addressed_to_role",
    ("child", "name"): "child_name",
    ("child", "case_number"): "child_case_number",
    ("social_worker",): "social_worker",
    ("team",): "team",
    ("team_manager",): "team_manager",
    ("concern",): "concern",
    ("outcome_impact",): "outcome_impact",
    ("response", "text"): "response_text",
    ("response", "by"): "response_by",
    ("final_comments", "text"): "final_comments",
}


def schema_problems(data: dict[str, Any]) -> list[str]:
    """The schema's complaints, named by the form's labels rather than by JSON paths."""
    problems = []
    for error in schema_errors("challenge", data):
        path = tuple(str(part) for part in error.absolute_path)
        tag = _PATH_TAGS.get(path)
        if tag is None:
            problems.append(
                "Part of the form could not be read as a challenge: check that every box is "
                "filled in as its label asks, and that the form is the current one."
            )
            continue
        item = field(tag)
        if error.validator == "maxLength":
            problems.append(f"'{item.label}' is too long: shorten it to under 20,000 characters.")
        else:
            problems.append(
                f"'{item.label}' is not filled in as expected: {item.hint or 'check it'}."
            )
    return list(dict.fromkeys(problems))
