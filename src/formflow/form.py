"""The challenge form's fields: one catalogue shared by the form writers and the readers.

Every field has a stable content-control tag (also the name of its legacy form field and
of its PDF AcroForm field) and the label printed beside it. Readers trust the tag first
and fall back to the label, because LibreOffice drops tags when it saves a .docx.
Labels from the seed 003 form are kept (``aliases`` holds other wordings in use).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from formflow.core.policy import FieldKind as PolicyFieldKind
from formflow.core.policy import FormField, Policy, StagePolicy
from formflow.core.record import STANDARD_LADDER, THEMES, Stage

ACCEPTED_SUFFIXES = (".docx", ".pdf")
"""The files a challenge form comes as: Word and (fillable) PDF."""


class FieldKind(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long text"
    DATE = "date"
    CHECKBOX = "checkbox"


@dataclass(frozen=True)
class Field:
    tag: str
    label: str
    kind: FieldKind
    hint: str = ""
    """What to enter, said to the person who filled the form when the field is wrong."""
    aliases: tuple[str, ...] = ()


MAX_ACTIONS = 9
"""Rows in the action table, as on the seed 003 form."""

MAX_HISTORY = 12
"""Earlier stages a form can carry: informal, four stages, and room for reverts."""

DATE_HINT = "such as 03/11/2025"

HEADER_FIELDS: tuple[Field, ...] = (
    Field("reference", "Reference", FieldKind.TEXT, "leave it blank on a new challenge"),
    Field("policy", "Procedure", FieldKind.TEXT, "the procedure's name or id, such as nelincs"),
    Field(
        "date_of_notification",
        "Date of Notification",
        FieldKind.DATE,
        f"enter the date the challenge was raised, {DATE_HINT}",
    ),
    Field(
        "raised_by_name",
        "From (Allocated Child Protection Conference Chair/IRO)",
        FieldKind.TEXT,
        "enter the name of the IRO or CP chair raising the challenge",
        aliases=("From", "Raised by"),
    ),
    Field("raised_by_iro", "Raised by an IRO", FieldKind.CHECKBOX, aliases=("IRO",)),
    Field(
        "raised_by_cp_chair",
        "Raised by a Child Protection Conference Chair",
        FieldKind.CHECKBOX,
        aliases=("CP chair", "Child Protection Chair"),
    ),
    Field("addressed_to_name", "To", FieldKind.TEXT, "enter the name of the manager responding"),
    Field("addressed_to_role", "Their role", FieldKind.TEXT, "enter the responding manager's role"),
    Field("child_name", "Name of Child", FieldKind.TEXT, "enter the child's full name"),
    Field(
        "child_date_of_birth",
        "DoB",
        FieldKind.DATE,
        f"enter the child's date of birth, {DATE_HINT}",
        aliases=("Date of Birth",),
    ),
    Field(
        "child_case_number",
        "LCS number",
        FieldKind.TEXT,
        "enter the child's case number from the case-management system",
        aliases=("Case number", "LCS no", "Mosaic number", "Liquidlogic number"),
    ),
    Field("status_child_in_care", "Child in care", FieldKind.CHECKBOX, aliases=("CiC", "LAC")),
    Field(
        "status_cp_plan",
        "Child protection plan",
        FieldKind.CHECKBOX,
        aliases=("Subject to a child protection plan",),
    ),
    Field("social_worker", "Social Worker", FieldKind.TEXT, "enter the allocated social worker"),
    Field("team", "Team", FieldKind.TEXT, "enter the child's team"),
    Field("team_manager", "Team Manager", FieldKind.TEXT, "enter the team manager"),
)

SEED_TEAM_AND_MANAGER = Field(
    "team_and_team_manager",
    "Team and Team Manager",
    FieldKind.TEXT,
    "enter the team and its manager",
)
"""The seed 003 layout's single field; kept whole unless it splits unambiguously."""


LEVEL_TAG_PREFIX = "stage_"


def level_field(stage: Stage) -> Field:
    """The tick box for one level of a procedure's ladder: ``stage_1``, ``stage_case_alert``."""
    return Field(LEVEL_TAG_PREFIX + stage.id.replace("-", "_"), stage.label, FieldKind.CHECKBOX)


STAGE_FIELDS: dict[Stage, Field] = {stage: level_field(stage) for stage in STANDARD_LADDER}
"""The standard ladder's tick boxes (the seed 003 form's and the seed procedures')."""


def level_fields(policy: Policy) -> dict[Stage, Field]:
    """The tick boxes of ``policy``'s form: one per level, under the council's names."""
    return {s.stage: level_field(s.stage) for s in policy.stages}


AGREEMENT_PREFIX = "agreed_"


def agreement_fields(rules: StagePolicy) -> dict[str, Field]:
    """At a level with joint responders, or people who must be satisfied beside the
    responder, a tick for each one's agreement, by role: the level is resolved only when
    all are ticked."""
    return {
        role: Field(AGREEMENT_PREFIX + _tag_part(role), f"Agreed by the {role}", FieldKind.CHECKBOX)
        for role in rules.must_agree
    }


def _tag_part(words: str) -> str:
    """``Head of QA`` → ``head_of_qa``: one role's tick has one tag at every level, so a
    form whose tags were lost maps its label back to the same tag."""
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


DETAIL_PREFIX = "detail_"


def detail_field(asked: FormField) -> Field:
    """A field the council's procedure adds to its form (an alert type, a review date)."""
    if asked.kind is PolicyFieldKind.DATE:
        return Field(
            DETAIL_PREFIX + asked.id, asked.label, FieldKind.DATE, f"enter a date, {DATE_HINT}"
        )
    hint = "write one of: " + ", ".join(asked.options) if asked.options else ""
    return Field(DETAIL_PREFIX + asked.id, asked.label, FieldKind.TEXT, hint)


def detail_fields(policy: Policy) -> tuple[Field, ...]:
    return tuple(detail_field(f) for f in policy.fields)


CAFCASS_FIELDS: tuple[Field, ...] = (
    Field(
        "cafcass_requested",
        "At any point: CAFCASS",
        FieldKind.CHECKBOX,
        aliases=("CAFCASS", "At any point (subject to Service Manager Agreement)"),
    ),
    Field(
        "cafcass_request_date",
        "Date of CAFCASS request",
        FieldKind.DATE,
        f"enter the date the referral was requested, {DATE_HINT}",
    ),
)

INFORMAL_FIELDS: tuple[Field, ...] = (
    Field(
        "informal_date",
        "Date of informal discussion",
        FieldKind.DATE,
        f"enter the date of the informal discussion, {DATE_HINT}",
    ),
    Field("informal_with", "Discussed with", FieldKind.TEXT, "enter who took part"),
    Field("informal_outcome", "Outcome of informal discussion", FieldKind.LONG_TEXT),
)

BODY_FIELDS: tuple[Field, ...] = (
    Field(
        "concern",
        "What are we worried about? What actions have taken place to resolve the worries?",
        FieldKind.LONG_TEXT,
        "describe the concern and what has been done so far",
        aliases=("What are we worried about?",),
    ),
    Field(
        "outcome_impact",
        "Outcome and Impact for the Child/Young Person",
        FieldKind.LONG_TEXT,
        aliases=("Outcome and Impact for the Child/Young Person.",),
    ),
)

THEME_FIELDS: dict[str, Field] = {
    key: Field(f"theme_{key}", label, FieldKind.CHECKBOX) for key, label in THEMES.items()
}

RESPONSE_FIELDS: tuple[Field, ...] = (
    Field(
        "response_text",
        "Response to Challenge and Resolution",
        FieldKind.LONG_TEXT,
        aliases=(
            "Response to Challenge and Resolution from Team manager/Service Manager/Head of Service",
        ),
    ),
    Field("response_by", "Response by", FieldKind.TEXT, "enter the name of the manager responding"),
    Field(
        "response_date",
        "Date of response",
        FieldKind.DATE,
        f"enter the date of the response, {DATE_HINT}",
    ),
    Field("response_resolved", "Resolved", FieldKind.CHECKBOX),
    Field("response_not_resolved", "Not resolved", FieldKind.CHECKBOX),
)

FINAL_FIELDS: tuple[Field, ...] = (
    Field(
        "final_comments",
        "Child Protection/IRO Service Manager final comments",
        FieldKind.LONG_TEXT,
    ),
    Field(
        "final_comments_date",
        "Date of final comments",
        FieldKind.DATE,
        f"enter the date of the final comments, {DATE_HINT}",
    ),
)


SEPARATE_CHALLENGE = Field(
    "separate_challenge",
    "Separate challenge for this child",
    FieldKind.CHECKBOX,
    aliases=("A separate challenge",),
)
"""Ticked on a new form for a child who already has an open challenge about another concern."""

DECISION_FIELDS: dict[str, Field] = {
    "reopen": Field(
        "iro_decision_reopen",
        "Re-open: agreed actions not implemented or not effective",
        FieldKind.CHECKBOX,
    ),
    "close": Field("iro_decision_close", "Close the challenge unresolved", FieldKind.CHECKBOX),
    "withdraw": Field("iro_decision_withdraw", "Withdraw the challenge", FieldKind.CHECKBOX),
}
"""The IRO's decisions, by ``record.Decision`` value: one tick at most."""

IRO_FIELDS: tuple[Field, ...] = (
    SEPARATE_CHALLENGE,
    *DECISION_FIELDS.values(),
    Field(
        "iro_decision_reason",
        "Reason for the IRO's decision",
        FieldKind.LONG_TEXT,
        "write why the challenge is closed or withdrawn",
    ),
    Field(
        "iro_decision_date",
        "Date of the IRO's decision",
        FieldKind.DATE,
        f"enter the date of the decision, {DATE_HINT}",
    ),
)
"""Section 11, the IRO's: what the IRO decides on a challenge formflow already has."""


def action_fields(row: int) -> tuple[Field, Field, Field]:
    """The three cells of action row ``row`` (1-based) of the action table."""
    return (
        Field(f"action_{row}", "Action", FieldKind.TEXT),
        Field(
            f"action_{row}_by_when",
            "By when",
            FieldKind.DATE,
            f"enter the date action {row} is due, {DATE_HINT}",
        ),
        Field(f"action_{row}_by_whom", "By whom", FieldKind.TEXT),
    )


def prerequisite_field(prerequisite_id: str, label: str) -> Field:
    """A date field for one of the policy's CAFCASS prerequisites."""
    return Field(
        f"cafcass_prerequisite_{prerequisite_id}",
        label,
        FieldKind.DATE,
        f"enter the date this was done, {DATE_HINT}",
    )


PREREQUISITE_TAG_PREFIX = "cafcass_prerequisite_"


def prerequisite_fields(policy: Policy) -> tuple[Field, ...]:
    """The date fields of ``policy``'s CAFCASS prerequisites, in its order."""
    return tuple(prerequisite_field(p.id, p.label) for p in policy.cafcass.prerequisites)


def history_fields(entry: int) -> tuple[Field, ...]:
    """The fields of earlier stage ``entry`` (1-based, oldest first) on a next-stage form.

    Its actions use tags ``history_{entry}_action_{row}``, ``..._by_when``, ``..._by_whom``.
    """
    prefix = f"history_{entry}_"
    return (
        Field(prefix + "stage", "Stage", FieldKind.TEXT),
        Field(prefix + "raised_on", "Raised on", FieldKind.DATE),
        Field(prefix + "due", "Response due", FieldKind.DATE),
        Field(prefix + "addressed_to_name", "Addressed to", FieldKind.TEXT),
        Field(prefix + "addressed_to_role", "Role", FieldKind.TEXT),
        Field(prefix + "concern", "Concern", FieldKind.LONG_TEXT),
        Field(prefix + "response_text", "Response", FieldKind.LONG_TEXT),
        Field(prefix + "response_by", "Response by", FieldKind.TEXT),
        Field(prefix + "response_date", "Date of response", FieldKind.DATE),
        Field(prefix + "outcome", "Outcome", FieldKind.TEXT),
    )


def history_action_fields(entry: int, row: int) -> tuple[Field, Field, Field]:
    prefix = f"history_{entry}_"
    action, by_when, by_whom = action_fields(row)
    return (
        Field(prefix + action.tag, action.label, action.kind),
        Field(prefix + by_when.tag, by_when.label, by_when.kind),
        Field(prefix + by_whom.tag, by_whom.label, by_whom.kind),
    )
