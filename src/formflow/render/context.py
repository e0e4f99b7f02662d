"""The challenge form's context: every field of ``formflow.form`` by tag, and what frames it.

Pure functions over the record, the policy and an assessment. One context renders the
Word form (docxtpl) and the PDF form (WeasyPrint), so both carry the same values. Field
values are strings in the form's own format (dates dd/mm/yyyy, as the form asks);
prose (the summary box, banners) uses UK long dates, "3 November 2025".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from formflow.core.calendar import uk_date
from formflow.core.engine import Assessment
from formflow.core.policy import (
    COUNTED_FROM_CHALLENGE_START,
    COUNTED_FROM_RAISED,
    Policy,
    StagePolicy,
    TimescaleKind,
)
from formflow.core.policy import FieldKind as PolicyFieldKind
from formflow.core.record import (
    THEMES,
    Action,
    Challenge,
    LegalStatus,
    Person,
    Response,
    Role,
    Stage,
    StageOutcome,
    StageRecord,
)
from formflow.errors import RenderError
from formflow.form import (
    DECISION_FIELDS,
    MAX_ACTIONS,
    MAX_HISTORY,
    SEPARATE_CHALLENGE,
    action_fields,
    agreement_fields,
    detail_field,
    level_fields,
    prerequisite_field,
)

FieldValue = str | bool


def form_date(day: dt.date | None) -> str:
    """``03/11/2025``, the format the form asks people to type."""
    return f"{day:%d/%m/%Y}" if day else ""


@dataclass(frozen=True)
class Row:
    label: str
    value: str


# --- field values ---------------------------------------------------------------------


def _header_values(c: Challenge) -> dict[str, FieldValue]:
    status = c.child.legal_status
    to = c.addressed_to or Person()
    return {
        "reference": c.reference or "",
        "policy": c.policy,
        "date_of_notification": form_date(c.notified_on),
        "raised_by_name": c.raised_by.name,
        "raised_by_iro": c.raised_by.role is Role.IRO,
        "raised_by_cp_chair": c.raised_by.role is Role.CP_CHAIR,
        "addressed_to_name": to.name or "",
        "addressed_to_role": to.role or "",
        "child_name": c.child.name,
        "child_date_of_birth": form_date(c.child.date_of_birth),
        "child_case_number": c.child.case_number,
        "status_child_in_care": status in {LegalStatus.CHILD_IN_CARE, LegalStatus.BOTH},
        "status_cp_plan": status in {LegalStatus.CHILD_PROTECTION_PLAN, LegalStatus.BOTH},
        "social_worker": c.social_worker or "",
        "team": c.team or "",
        "team_manager": c.team_manager or "",
    }


def _action_values(actions: Sequence[Action], prefix: str = "") -> dict[str, FieldValue]:
    values: dict[str, FieldValue] = {}
    for n, action in enumerate(actions, start=1):
        what, when, whom = action_fields(n)
        values[prefix + what.tag] = action.action
        values[prefix + when.tag] = form_date(action.by_when)
        values[prefix + whom.tag] = action.by_whom or ""
    return values


def _response_values(response: Response | None) -> dict[str, FieldValue]:
    r = response or Response()
    return {
        "response_text": r.text or "",
        "response_by": r.by or "",
        "response_date": form_date(r.date),
        "response_resolved": r.resolved is True,
        "response_not_resolved": r.resolved is False,
    }


def field_values(c: Challenge) -> dict[str, FieldValue]:
    """Every form field of the challenge's current stage, by tag."""
    if len(c.actions) > MAX_ACTIONS:
        raise RenderError(
            f"The challenge has {len(c.actions)} actions; the form holds {MAX_ACTIONS}. "
            "Combine actions before the form is written."
        )
    informal = c.informal
    final = c.final_comments
    values: dict[str, FieldValue] = {
        **_header_values(c),
        "cafcass_requested": c.cafcass.requested,
        "cafcass_request_date": form_date(c.cafcass.request_date),
        "informal_date": form_date(informal.date) if informal else "",
        "informal_with": (informal.discussed_with or "") if informal else "",
        "informal_outcome": (informal.outcome or "") if informal else "",
        "concern": c.concern,
        "outcome_impact": c.outcome_impact or "",
        **{f"theme_{key}": key in c.themes for key in THEMES},
        **_action_values(c.actions),
        **_response_values(c.response),
        "final_comments": (final.text or "") if final else "",
        "final_comments_date": form_date(final.date) if final else "",
        **_decision_values(c),
    }
    return values


def _decision_values(c: Challenge) -> dict[str, FieldValue]:
    """Section 11. A record never keeps a decision (it is applied as an event), so these
    are blank on every form formflow sends; a challenge built to test the readers fills them."""
    decided = c.iro_decision
    return {
        SEPARATE_CHALLENGE.tag: c.separate_challenge,
        **{
            f.tag: decided is not None and decided.decision.value == key
            for key, f in DECISION_FIELDS.items()
        },
        "iro_decision_reason": (decided.reason or "") if decided else "",
        "iro_decision_date": form_date(decided.date) if decided else "",
    }


# --- history ----------------------------------------------------------------------------


def history_entry(n: int, h: StageRecord) -> dict[str, Any]:
    """Earlier stage ``n`` as the form's locked history table shows it."""
    to = h.addressed_to or Person()
    response = h.response or Response()
    return {
        "n": n,
        "title": f"{h.stage.label}, {h.outcome.value}" + (f": {h.reason}" if h.reason else ""),
        "stage": h.stage.label,
        "raised_on": form_date(h.raised_on),
        "due": form_date(h.due),
        "addressed_to_name": to.name or "",
        "addressed_to_role": to.role or "",
        "concern": h.concern or "",
        "response_text": response.text or "",
        "response_by": response.by or "",
        "response_date": form_date(response.date),
        "outcome": h.outcome.value,
        "actions": [
            {
                "n": i,
                "action": a.action,
                "by_when": form_date(a.by_when),
                "by_whom": a.by_whom or "",
            }
            for i, a in enumerate(h.actions, start=1)
        ],
    }


def history_entries(c: Challenge) -> list[dict[str, Any]]:
    if len(c.history) > MAX_HISTORY:
        raise RenderError(
            f"The challenge has {len(c.history)} earlier stages; a form carries {MAX_HISTORY}."
        )
    return [history_entry(n, h) for n, h in enumerate(c.history, start=1)]


# --- the procedure's words --------------------------------------------------------------


def level_rows(policy: Policy, challenge: Challenge | None) -> list[dict[str, Any]]:
    """One tick box per level of the procedure, under the council's names, with who
    responds and within how long beside it."""
    return [
        {
            "tag": field.tag,
            "label": field.label,
            "value": challenge is not None and challenge.stage == stage,
            "guidance": _level_guidance(policy.stage(stage), policy),
        }
        for stage, field in level_fields(policy).items()
    ]


def _level_guidance(rule: StagePolicy, policy: Policy) -> str:
    text = f"{rule.responder} – {_within(rule, policy)}"
    if rule.for_roles:
        text += " (" + " and ".join(sorted(r.value for r in rule.for_roles)) + " only)"
    if rule.raised_by:
        text += f"; raised by the {rule.raised_by}"
    if rule.satisfied:
        text += f"; resolved when the {' and '.join(rule.must_agree)} are satisfied"
    if rule.entry_when:
        text += f"; a challenge may start here {rule.entry_when}"
    if rule.accepted_on_timeout:
        text += "; what was put stands when not contested in time"
    return text


def own_field_rows(policy: Policy, challenge: Challenge | None) -> list[dict[str, str]]:
    """The fields the council's procedure adds to its form, with their answers."""
    given = challenge.details if challenge else {}
    rows = []
    for asked in policy.fields:
        value = given.get(asked.id, "")
        if value and asked.kind is PolicyFieldKind.DATE:
            value = form_date(dt.date.fromisoformat(value))
        rows.append({"tag": detail_field(asked).tag, "label": asked.label, "value": value})
    return rows


def own_field_choices(policy: Policy) -> str:
    """What the procedure's own choice fields accept, for the section's heading."""
    return " ".join(f"{f.label}: {' or '.join(f.options)}." for f in policy.fields if f.options)


def agreement_rows(policy: Policy, challenge: Challenge | None) -> list[dict[str, Any]]:
    """A tick per joint responder of the challenge's current level, where it has them."""
    if challenge is None or not policy.has_stage(challenge.stage):
        return []
    agreed = challenge.response.agreed_by if challenge.response else ()
    rules = policy.stage(challenge.stage)
    return [
        {"tag": f.tag, "label": f.label, "value": role in agreed}
        for role, f in agreement_fields(rules).items()
    ]


def cafcass_guidance(policy: Policy) -> dict[str, str]:
    """The text beside the CAFCASS tick box."""
    guidance = {}
    cafcass = policy.cafcass
    if not cafcass.available:
        guidance["cafcass_requested"] = f"Not available under the {policy.name}"
    elif cafcass.when == "after_final_stage":
        guidance["cafcass_requested"] = (
            "Children in care only, after the last stage ends unresolved (Regulation 45)"
        )
    else:
        guidance["cafcass_requested"] = (
            "Children in care only, at any point (Regulation 45); complete section 10"
        )
    return guidance


def prerequisite_rows(policy: Policy, challenge: Challenge | None) -> list[dict[str, str]]:
    """The policy's CAFCASS prerequisites as date fields; none for a child not in care."""
    if not policy.cafcass.available:
        return []
    if challenge is not None and challenge.child.in_care is False:
        return []
    done = challenge.cafcass.prerequisites if challenge else {}
    return [
        {
            "tag": prerequisite_field(p.id, p.label).tag,
            "label": p.label,
            "value": form_date(done.get(p.id)),
        }
        for p in policy.cafcass.prerequisites
    ]


FORM_TITLE = "Challenge and resolution form"
ACRONYMS = re.compile(r"\b(?:cafcass|iro|cp)\b", re.IGNORECASE)


def document_title(context: dict[str, Any]) -> str:
    """The title a document declares (the PDF's and the Word file's own, which screen
    readers announce and viewers show): its kind in sentence case, then its reference."""
    title = str(context.get("title") or FORM_TITLE)
    if title.isupper():  # "CLOSURE NOTE" would be spelt out letter by letter
        title = ACRONYMS.sub(lambda m: m[0].upper(), title.capitalize())
    reference = str(context.get("reference") or "")
    return f"{title} {reference}" if reference and reference not in title else title


def form_context(
    challenge: Challenge | None,
    policy: Policy,
    council_name: str,
    *,
    banner: str = "",
    summary: Sequence[Row] = (),
    title: str = FORM_TITLE,
    agreed_actions_only: bool = False,
) -> dict[str, Any]:
    """Everything the form templates read. ``challenge=None`` is the blank form; ``title``
    names the document (``Stage 2 challenge form``, ``Final record``). With
    ``agreed_actions_only`` (the final record) the action table shows the agreed plan, not
    empty rows to fill in, even where the rest of the form stays fillable."""
    values: dict[str, FieldValue] = field_values(challenge) if challenge else {}
    return {
        **values,
        # People read the procedure's name; intake takes it back as well as the id.
        "policy": policy.name,
        "title": title,
        "council_name": council_name,
        "procedure_line": f"Procedure: {policy.name}.",
        "stage_guidance": cafcass_guidance(policy),
        "levels": level_rows(policy, challenge),
        "agreements": agreement_rows(policy, challenge),
        "own_fields": own_field_rows(policy, challenge),
        "own_field_choices": own_field_choices(policy),
        "prerequisites": prerequisite_rows(policy, challenge),
        "history": history_entries(challenge) if challenge else [],
        "banner": banner,
        "summary": [{"label": r.label, "value": r.value} for r in summary],
        "agreed_actions_only": agreed_actions_only,
    }


# --- what frames a next-stage or final form ----------------------------------------------


def addressee(assessment: Assessment) -> str:
    role = assessment.responder or ""
    return f"{assessment.responder_name}, {role}" if assessment.responder_name else role


def unstated_rows(c: Challenge, *, always: bool = False) -> list[Row]:
    """The raiser's role and the child's legal status as recorded: "Not stated" where the
    form did not say, and the reason where formflow inferred it. Without ``always``, only
    those two cases (the form's tick boxes show a stated value)."""
    rows = []
    for label, path, text, stated in (
        ("Legal status", "child.legal_status", c.child.legal_status_text, c.child.legal_status),
        ("Raised by", "raised_by.role", c.raised_by.described, c.raised_by.role),
    ):
        inference = c.inference(path)
        if inference is not None:
            rows.append(Row(label, f"{text} (inferred: {inference.reason})"))
        elif always or stated is None:
            rows.append(Row(label, text))
    return rows


def next_stage_summary(c: Challenge, policy: Policy, a: Assessment) -> list[Row]:
    rule = policy.stage(c.stage)
    rows = [
        Row("For the attention of", addressee(a)),
        Row("Copies to", "; ".join(a.copy_to) or "Nobody: the procedure asks for no copies."),
        Row("Stage", f"{c.stage.label}, raised on {uk_date(c.date_of_notification)}"),
        Row("Your response is due by", _due_by(c, policy, a)),
    ]
    if a.first_contact_due:
        rows.append(Row("First discussion by", uk_date(a.first_contact_due)))
    if a.overall_target:
        rows.append(Row("Overall target (not your deadline)", _overall_target(c, rule, a)))
    if rule.meeting:
        rows.append(Row("Meeting", "The procedure expects a meeting to agree the action plan."))
    rows.extend(Row("Before this stage", step) for step in rule.before_raising)
    rows.extend(Row("Under the procedure", term) for term in rule.terms())
    rows.extend(Row("Outstanding", duty) for duty in a.outstanding)
    rows.extend(unstated_rows(c))
    rows.append(Row("Procedure followed", policy.name))
    return rows


def _within(rule: StagePolicy, policy: Policy) -> str:
    """``within 5 working days``, ``by the date set on the form``, ``no fixed timescale``."""
    words = rule.timescale.described(policy.field_label)
    if rule.timescale.amount is None:
        return words
    if rule.counted_from == COUNTED_FROM_RAISED:
        return f"within {words}"
    if rule.counted_from == COUNTED_FROM_CHALLENGE_START:
        return f"within {words} of the start of the challenge"
    return f"within {words} of the '{policy.field_label(rule.counted_from)}'"


def _due_by(c: Challenge, policy: Policy, a: Assessment) -> str:
    rule = policy.stage(c.stage)
    if rule.for_information:
        return "No response is asked: the procedure raises this level for information only."
    if a.due is None:
        return (
            f"No date is set: {_within(rule, policy)}. formflow will not chase it; agree a "
            "date with the IRO."
        )
    if c.due_extended_to:
        return f"{uk_date(a.due)}: extended by agreement. This is the date you must respond by."
    if rule.timescale.kind is TimescaleKind.SET_ON_FORM:
        return f"{uk_date(a.due)}: the date set for this challenge. This is the date you must respond by."
    counted = (
        uk_date(c.date_of_notification)
        if rule.counted_from == COUNTED_FROM_RAISED
        else _counted_from_words(c, rule, policy)
    )
    return (
        f"{uk_date(a.due)}: {rule.timescale.described(policy.field_label)} from {counted}. "
        "This is the date you must respond by."
    )


def _counted_from_words(c: Challenge, rule: StagePolicy, policy: Policy) -> str:
    if rule.counted_from == COUNTED_FROM_CHALLENGE_START:
        return "the start of the challenge"
    label = policy.field_label(rule.counted_from)
    return f"the {label} given on the form, {uk_date(dt.date.fromisoformat(c.details[rule.counted_from]))}"


def _overall_target(c: Challenge, rule: StagePolicy, a: Assessment) -> str:
    """What the cumulative target means beside the responder's own due date, so a manager
    never reads the two as a contradiction."""
    assert a.overall_target is not None
    started = c.history[0].raised_on if c.history else c.date_of_notification
    text = (
        f"{uk_date(a.overall_target)}: the procedure aims to settle the whole challenge, all "
        f"stages together, within {rule.cumulative_working_days} working days of its start on "
        f"{uk_date(started)}."
    )
    if a.due and a.overall_target < a.due:
        text += (
            " That aim falls before your due date, so the challenge is already behind it: "
            "a response before your due date helps."
        )
    return text


def next_stage_banner(c: Challenge, a: Assessment) -> str:
    earlier = f" after {counted(len(c.history), 'earlier stage')}" if c.history else ""
    when = f"Please respond by {uk_date(a.due)}." if a.due else f"No date is set: {a.due_note}."
    last = c.history[-1] if c.history else None
    reopened = (
        # The reason is quoted as typed: lower-casing its first letter would mangle a name.
        f" It was re-opened because the actions agreed at {last.stage.label} were not "
        f"implemented or not effective. The reason given: “{last.reason.rstrip('.')}.”"
        if last and last.outcome is StageOutcome.ACTIONS_NOT_IMPLEMENTED and last.reason
        else ""
    )
    return f"{c.stage.label.upper()}: this challenge comes to you{earlier}.{reopened} {when}"


def final_summary(c: Challenge, policy: Policy) -> list[Row]:
    response = c.response or Response()
    rows = [
        Row("Resolved at", f"{c.stage.label}, raised on {uk_date(c.date_of_notification)}"),
        Row("Agreed by", response.by or "Not recorded"),
        Row("Finalised on", uk_date(c.closure.date if c.closure else response.date)),
    ]
    for n, action in enumerate(c.actions, start=1):
        who = f", by {action.by_whom}" if action.by_whom else ""
        when = uk_date(action.by_when) or "no date agreed"
        rows.append(Row(f"Action {n} falls due", f"{when}{who}"))
    if not c.actions:
        rows.append(Row("Actions agreed", "None recorded"))
    rows.append(
        Row(
            "If actions are not implemented",
            _return_rule(c.stage, policy),
        )
    )
    rows.append(Row("Procedure followed", policy.name))
    return rows


def _return_rule(stage: Stage, policy: Policy) -> str:
    target = policy.return_level(stage)
    if target is None:
        returns = "the procedure does not say where the challenge returns: the IRO chooses"
    else:
        # A procedure may send a re-opened challenge up to a level it never reached.
        goes = "returns to" if policy.position(target) <= policy.position(stage) else "moves on to"
        returns = f"the challenge {goes} {target.label}"
    return (
        f"The IRO/CP chair checks each action on the date it falls due; {returns} if they "
        "are not carried out or do not work."
    )


def counted(number: int, thing: str) -> str:
    """``1 earlier stage``, ``2 earlier stages``: a count as a person writes it."""
    return f"{number} {thing}{'' if number == 1 else 's'}"


def final_banner(c: Challenge) -> str:
    when = uk_date(c.closure.date) if c.closure else ""
    return f"FINAL: resolved at {c.stage.label} on {when}. The agreed plan is recorded below."
