"""From field values as typed to the challenge record's data, with a sentence for each problem.

Short text has all its whitespace collapsed to single spaces; long text keeps its line
breaks (spaces within a line collapsed, runs of blank lines cut to one). Text is kept
verbatim otherwise: template syntax such as ``{{ 7*7 }}`` is data, made harmless when a
document is rendered.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from formflow import form
from formflow.core.policy import FieldKind as PolicyFieldKind
from formflow.core.policy import FormField, Policy, Prerequisite
from formflow.core.record import THEMES, LegalStatus, Role, Stage, StageOutcome
from formflow.form import Field, FieldKind
from formflow.intake import settle
from formflow.intake.catalogue import RawForm, history_tags, normalise_label
from formflow.intake.catalogue import field as _field
from formflow.intake.dates import DateError, DateProblem, parse_uk_date

_TICKED = frozenset({"☒", "☑", "✓", "✔", "√", "🗸", "x", "yes", "y", "true", "1", "on"})
_UNTICKED = frozenset({"", "☐", "no", "n", "false", "0", "off"})
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


def clean_line(text: str) -> str:
    return " ".join(text.split())


def clean_long(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


@dataclass
class FormValues:
    """The raw values with a running list of problems, each one sentence naming a label."""

    raw: RawForm
    today: dt.date
    problems: list[str] = field(default_factory=list)

    def text(self, item: Field, *, required: bool = False, where: str = "") -> str | None:
        value = self.raw.get(item.tag, "")
        value = "" if isinstance(value, bool) else value
        cleaned = clean_long(value) if item.kind is FieldKind.LONG_TEXT else clean_line(value)
        if not cleaned and required:
            self.problems.append(_empty(item, where))
        return cleaned or None

    def date(self, item: Field, *, required: bool = False, where: str = "") -> dt.date | None:
        typed = self.text(item, required=required, where=where)
        if typed is None:
            return None
        try:
            return parse_uk_date(typed, self.today)
        except DateError as exc:
            self.problems.append(_date_problem(item, where, typed, exc.problem))
            return None

    def ticked(self, item: Field) -> bool:
        return self.tick(item) is True

    def tick(self, item: Field) -> bool | None:
        """The box's state; None when what is typed in it is unclear (already reported)."""
        value = self.raw.get(item.tag, False)
        if isinstance(value, bool):
            return value
        mark = clean_line(value).lower()
        if "☐" in mark and mark.replace("☐", "").strip():
            mark = mark.replace("☐", "").strip()  # "☐ X": the mark typed beside the empty box
        if mark in _TICKED or mark in _UNTICKED:
            return mark in _TICKED
        self.problems.append(
            f"'{item.label}' has '{clean_line(value)}' in its tick box: mark it with X if it "
            "applies, or leave it empty."
        )
        return None


def _empty(item: Field, where: str) -> str:
    what = item.hint or "fill it in"
    return f"'{item.label}'{where} is empty: {what}."


_DATE_ADVICE = {
    DateProblem.UNREADABLE: "is not a date formflow can read: write it day first",
    DateProblem.NO_YEAR: "has no year: write the full date",
    DateProblem.SHORT_YEAR: "has a two-digit year that could be in the 1900s: write the year in full",
    DateProblem.NOT_ON_CALENDAR: "is not a date on the calendar: check the day and the month (day first)",
}


def _date_problem(item: Field, where: str, typed: str, problem: DateProblem) -> str:
    return f"'{item.label}'{where} has '{typed}', which {_DATE_ADVICE[problem]}, {form.DATE_HINT}."


def iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


# --- the record --------------------------------------------------------------------------


def build_record(
    raw: RawForm, policy_id: str, policy: Policy | None, today: dt.date
) -> tuple[dict[str, Any], list[str]]:
    """The record's data (schema-shaped) and every problem found while reading the fields.
    ``policy`` (when the procedure is known) gives the form's levels and own fields."""
    values = FormValues(raw, today)
    prerequisites = policy.cafcass.prerequisites if policy else ()
    levels = form.level_fields(policy) if policy else form.STAGE_FIELDS
    inferred: list[dict[str, str]] = []
    team, team_manager = _team(values)
    reference = values.text(_field("reference"))
    data: dict[str, Any] = {
        "reference": reference.upper() if reference else None,
        "policy": policy_id,
        "date_of_notification": iso(values.date(_field("date_of_notification"), required=True)),
        "raised_by": _raised_by(values, inferred),
        "addressed_to": _person(values, _field("addressed_to_name"), _field("addressed_to_role")),
        "child": _child(values, inferred),
        "social_worker": values.text(_field("social_worker")),
        "team": team,
        "team_manager": team_manager,
        "stage": _stage(values, levels),
        "details": _own_fields(values, policy.fields) if policy else {},
        "informal": _informal(values),
        "cafcass": _cafcass(values, prerequisites),
        "concern": values.text(_field("concern"), required=True),
        "outcome_impact": values.text(_field("outcome_impact")),
        "themes": {key: values.ticked(form.THEME_FIELDS[key]) for key in THEMES},
        "actions": _actions(values, form.action_fields),
    }
    # Read in the form's order, so the problems are listed in it.
    data["response"] = _response(values, _agreements(policy, data["stage"]))
    data |= {
        "final_comments": _final_comments(values),
        "closure": None,
        "history": _history(values, tuple(levels)),
        "iro_decision": _iro_decision(values),
        "separate_challenge": values.ticked(form.SEPARATE_CHALLENGE),
        "inferred": inferred,
    }
    return data, values.problems


def _raised_by(values: FormValues, inferred: list[dict[str, str]]) -> dict[str, Any]:
    name_field = _field("raised_by_name")
    name = values.text(name_field, required=True) or ""
    iro = values.tick(_field("raised_by_iro"))
    chair = values.tick(_field("raised_by_cp_chair"))
    if iro is None or chair is None:
        return {"name": name or None, "role": None}
    if iro and chair:
        values.problems.append(
            f"Both '{_field('raised_by_iro').label}' and '{_field('raised_by_cp_chair').label}' "
            "are ticked: tick only the one that applies."
        )
        return {"name": name or None, "role": None}
    if iro or chair:
        return {"name": name or None, "role": (Role.IRO if iro else Role.CP_CHAIR).value}
    # The seed 003 form has no role boxes: "Jo Bloggs (IRO)" in From says it.
    settled = settle.role_from_name(name, _short(name_field))
    _note(settled, inferred)
    return {"name": settled.name or None, "role": settled.value}


def _short(item: Field) -> str:
    """A label without its bracketed guidance: "From", not "From (Allocated ...)"."""
    return item.label.split(" (")[0]


def _note(settled: settle.Settled, inferred: list[dict[str, str]]) -> None:
    if settled.inference is not None:
        i = settled.inference
        inferred.append({"field": i.field, "value": i.value, "reason": i.reason})


def _person(values: FormValues, name: Field, role: Field) -> dict[str, Any] | None:
    person = {"name": values.text(name), "role": values.text(role)}
    return person if any(person.values()) else None


def _child(values: FormValues, inferred: list[dict[str, str]]) -> dict[str, Any]:
    name_field = _field("child_name")
    name = values.text(name_field, required=True)
    status = _legal_status(values)
    if status is None and name is not None:
        settled = settle.status_from_name(name, _short(name_field))
        _note(settled, inferred)
        name, status = settled.name, settled.value
    return {
        "name": name,
        "date_of_birth": iso(values.date(_field("child_date_of_birth"), required=True)),
        "case_number": values.text(_field("child_case_number"), required=True),
        "legal_status": status,
    }


def _legal_status(values: FormValues) -> str | None:
    """The ticked status; None when neither box is ticked (or the form has none)."""
    in_care = values.tick(_field("status_child_in_care"))
    plan = values.tick(_field("status_cp_plan"))
    if in_care and plan:
        return LegalStatus.BOTH.value
    if in_care or plan:
        return (LegalStatus.CHILD_IN_CARE if in_care else LegalStatus.CHILD_PROTECTION_PLAN).value
    return None


def _own_fields(values: FormValues, asked: tuple[FormField, ...]) -> dict[str, str]:
    """The answers to the fields the council's procedure adds, dates as ISO text."""
    out = {}
    for question in asked:
        item = form.detail_field(question)
        if question.kind is PolicyFieldKind.DATE:
            answer = iso(values.date(item))
        else:
            answer = _choice(values, item, question) if question.options else values.text(item)
        if answer:
            out[question.id] = answer
    return out


def _choice(values: FormValues, item: Field, question: FormField) -> str | None:
    typed = values.text(item)
    if typed is None:
        return None
    for option in question.options:
        if normalise_label(option) == normalise_label(typed):
            return option
    values.problems.append(
        f"'{item.label}' has '{typed}': write one of " + " or ".join(question.options) + "."
    )
    return None


def _stage(values: FormValues, levels: dict[Stage, Field]) -> str | None:
    marks = {stage: values.tick(item) for stage, item in levels.items()}
    ticked = [stage for stage, mark in marks.items() if mark]
    if len(ticked) == 1:
        return ticked[0].value
    if not ticked and None in marks.values():
        return None
    labels = [f"'{item.label}'" for item in levels.values()]
    if not ticked:
        values.problems.append(
            f"No stage is ticked: tick one of {', '.join(labels[:-1])} or {labels[-1]}."
        )
    else:
        chosen = " and ".join(f"'{stage.label}'" for stage in ticked)
        values.problems.append(
            f"More than one stage is ticked ({chosen}): tick only the stage this challenge is at."
        )
    return None


# The seed form's "Team and Team Manager" is split only when its shape leaves no doubt.
_TEAM_WORDS = re.compile(
    r"\b(team|service|unit|hub|care|children|safeguarding|assessment|disabilit\w*|leaving|"
    r"court|locality|mash|cin|cic|lac|edge|family|families|support)\b",
    re.IGNORECASE,
)
_KEYED = re.compile(
    r"^team\s*:\s*(?P<team>.+?)\s*[;,]\s*(?:team manager|manager|tm)\s*:\s*(?P<manager>.+)$",
    re.IGNORECASE,
)
_MARKED = re.compile(
    r"^(?P<team>.+?)\s*(?:[-–,;(]\s*)?\b(?:team manager|manager|tm)\s*:\s*(?P<manager>[^()]+?)\)?$",
    re.IGNORECASE,
)
_PERSON = re.compile(r"^[A-Z][\w'’-]*(?: [A-Z][\w'’-]*){1,3}$")


def split_team(text: str) -> tuple[str, str | None]:
    """(team, manager) from one 'Team and Team Manager' box, or the text whole and None.

    It splits "Team: X; Manager: Y", "X - TM: Y" or "X (Manager: Y)", and "X / Y" when X
    names a team and Y is a person's name (2-4 capitalised words, no team words).
    """
    for pattern in (_KEYED, _MARKED):
        match = pattern.match(text)
        if match:
            return match.group("team").strip(" -–,;"), match.group("manager").strip()
    parts = text.split(" / ")
    if len(parts) == 2:
        team, manager = (part.strip() for part in parts)
        if _TEAM_WORDS.search(team) and _PERSON.match(manager) and not _TEAM_WORDS.search(manager):
            return team, manager
    return text, None


def _team(values: FormValues) -> tuple[str | None, str | None]:
    team = values.text(_field("team"))
    manager = values.text(_field("team_manager"))
    combined = values.text(form.SEED_TEAM_AND_MANAGER)
    if team or manager or not combined:
        return team, manager
    return split_team(combined)


def _informal(values: FormValues) -> dict[str, Any] | None:
    date_f, with_f, outcome_f = form.INFORMAL_FIELDS
    informal = {
        "date": iso(values.date(date_f)),
        "discussed_with": values.text(with_f),
        "outcome": values.text(outcome_f),
    }
    return informal if any(informal.values()) else None


def _cafcass(values: FormValues, prerequisites: tuple[Prerequisite, ...]) -> dict[str, Any]:
    requested_f, date_f = form.CAFCASS_FIELDS
    requested = values.ticked(requested_f)
    dates = {p.id: iso(values.date(form.prerequisite_field(p.id, p.label))) for p in prerequisites}
    return {
        "requested": requested,
        "request_date": iso(values.date(date_f)),
        # Listed when they matter: on a request, or once any has been dated.
        "prerequisites": dates if requested or any(dates.values()) else {},
    }


def _actions(values: FormValues, row_fields: Any, where: str = "") -> list[dict[str, Any]]:
    actions = []
    for row in range(1, form.MAX_ACTIONS + 1):
        action_f, when_f, whom_f = row_fields(row)
        place = f" for action {row}{where}"
        action = {
            "action": values.text(action_f),
            "by_when": iso(values.date(when_f, where=place)),
            "by_whom": values.text(whom_f),
        }
        if action["action"]:
            actions.append(action)
        elif action["by_when"] or action["by_whom"]:
            values.problems.append(
                f"Action {row}{where} has a 'By when' or 'By whom' but no 'Action': describe "
                "the action, or clear the row."
            )
    return actions


def _agreements(policy: Policy | None, stage: str | None) -> dict[str, Field]:
    """The joint responders' agreement ticks of the level the form is ticked at, by role."""
    if policy is None or stage is None or not policy.has_stage(Stage(stage)):
        return {}
    return form.agreement_fields(policy.stage(Stage(stage)))


def _response(values: FormValues, agreements: dict[str, Field]) -> dict[str, Any] | None:
    text_f, by_f, date_f, resolved_f, not_resolved_f = form.RESPONSE_FIELDS
    resolved, not_resolved = values.ticked(resolved_f), values.ticked(not_resolved_f)
    if resolved and not_resolved:
        values.problems.append(
            f"Both '{resolved_f.label}' and '{not_resolved_f.label}' are ticked: tick only the one that applies."
        )
    text = values.text(text_f)
    ticked = True if resolved and not not_resolved else False if not_resolved else None
    has_boxes = resolved_f.tag in values.raw or not_resolved_f.tag in values.raw
    response = {
        "text": text,
        "date": iso(values.date(date_f)),
        "by": values.text(by_f),
        "resolved": ticked if has_boxes else _outcome_written(text),
    }
    if not any(v is not None for v in response.values()):
        return None
    agreed = [role for role, item in agreements.items() if values.ticked(item)]
    return {**response, "agreed_by": agreed} if agreed else response


_OUTCOME_WORDS = re.compile(r"^\s*(?:(not resolved|unresolved)|(resolved))\b", re.IGNORECASE)


def _outcome_written(text: str | None) -> bool | None:
    """On a form with no Resolved / Not resolved boxes (the seed 003 layout), the response
    says its outcome in its first words: "Resolved: ..." or "Not resolved: ..."."""
    found = _OUTCOME_WORDS.match(text or "")
    if found is None:
        return None
    return found.group(2) is not None


def _iro_decision(values: FormValues) -> dict[str, Any] | None:
    ticked = [key for key, item in form.DECISION_FIELDS.items() if values.ticked(item)]
    *_, reason_f, date_f = form.IRO_FIELDS
    reason, date = values.text(reason_f), iso(values.date(date_f))
    if len(ticked) > 1:
        labels = " and ".join(f"'{form.DECISION_FIELDS[k].label}'" for k in ticked)
        values.problems.append(f"{labels} are both ticked: tick only the IRO's decision.")
        return None
    if not ticked:
        if reason or date:
            values.problems.append(
                f"'{reason_f.label}' is filled in but no decision is ticked in section 11: "
                "tick the decision, or clear the reason and date."
            )
        return None
    return {"decision": ticked[0], "reason": reason, "date": date}


def _final_comments(values: FormValues) -> dict[str, Any] | None:
    text_f, date_f = form.FINAL_FIELDS
    final = {"text": values.text(text_f), "date": iso(values.date(date_f))}
    return final if any(final.values()) else None


# --- earlier stages -------------------------------------------------------------------------


def _history(values: FormValues, levels: tuple[Stage, ...]) -> list[dict[str, Any]]:
    # Any of an earlier stage's fields filled in means the entry exists.
    return [
        _stage_record(values, entry, levels)
        for entry in range(1, form.MAX_HISTORY + 1)
        if any(_filled(values.raw.get(tag)) for tag in history_tags(entry))
    ]


def _filled(value: str | bool | None) -> bool:
    return value is True or (isinstance(value, str) and bool(value.strip()))


def _stage_record(values: FormValues, entry: int, levels: tuple[Stage, ...]) -> dict[str, Any]:
    (stage_f, raised_f, due_f, to_f, role_f, concern_f, response_f, by_f, date_f, outcome_f) = (
        form.history_fields(entry)
    )
    where = f" in earlier stage {entry}"
    outcome = _history_outcome(values, outcome_f, where)
    # The form has no tick for an earlier stage's answer: its outcome says it.
    response: dict[str, str | bool | None] = {
        "text": values.text(response_f),
        "date": iso(values.date(date_f, where=where)),
        "by": values.text(by_f),
        "resolved": StageOutcome(outcome).response_resolved if outcome else None,
    }
    return {
        "stage": _history_stage(values, stage_f, where, levels),
        "raised_on": iso(values.date(raised_f, required=True, where=where)),
        "due": iso(values.date(due_f, where=where)),
        "addressed_to": _person(values, to_f, role_f),
        "concern": values.text(concern_f),
        "actions": _actions(values, lambda row: form.history_action_fields(entry, row), where),
        "response": response if any(v is not None for v in response.values()) else None,
        "outcome": outcome,
    }


def _history_stage(
    values: FormValues, item: Field, where: str, levels: tuple[Stage, ...]
) -> str | None:
    """The level an earlier stage was at, written as formflow writes it (the council's name
    for the level, "Case Alert") or as staff write the standard ones ("Stage 1", "1")."""
    typed = values.text(item) or ""
    key = normalise_label(typed)
    for level in levels:
        if key in (normalise_label(level.label), level.id, f"stage {level.id}"):
            return level.id
    names = [level.label for level in levels]
    choices = f"one of {', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
    values.problems.append(f"'{item.label}'{where} has '{typed}': write {choices}.")
    return None


def _history_outcome(values: FormValues, item: Field, where: str) -> str | None:
    typed = values.text(item) or ""
    for outcome in StageOutcome:
        if normalise_label(typed) == normalise_label(outcome.value):
            return outcome.value
    choices = ", ".join(o.value for o in StageOutcome)
    values.problems.append(f"'{item.label}'{where} has '{typed}': write one of {choices}.")
    return None
