"""The form's fields as the intake looks them up: by tag, and by a tolerantly matched label.

Labels are compared after normalising case, punctuation and spacing. A label that still
differs (a word changed, a typo) matches when difflib's ratio is at least
``FUZZY_THRESHOLD`` and both are long enough for a ratio to mean something; numbers must
agree exactly, so "Stage 1" never matches "Stage 2".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache

from formflow import form
from formflow.core.policy import Policy
from formflow.form import Field

RawForm = dict[str, str | bool]
"""Field values as read from a file, by tag: text as typed, or a checkbox's state."""

FUZZY_THRESHOLD = 0.9
FUZZY_MIN_LENGTH = 12

_APOSTROPHES = re.compile(r"['’‘`]")
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_DIGITS = re.compile(r"[0-9]+")


def normalise_label(text: str) -> str:
    """Lower case, apostrophes dropped, other punctuation and spacing as single spaces."""
    return _NOT_WORD.sub(" ", _APOSTROPHES.sub("", text.lower())).strip()


@dataclass(frozen=True, eq=False)
class LabelIndex:
    """Normalised label (and alias) to field, for one table's or the whole form's fields."""

    exact: dict[str, Field]
    fuzzy: tuple[tuple[str, Field], ...]

    def match(self, text: str) -> Field | None:
        return self.match_exact(text) or self.match_fuzzy(text)

    def match_exact(self, text: str) -> Field | None:
        return self.exact.get(normalise_label(text))

    def match_fuzzy(self, text: str) -> Field | None:
        key = normalise_label(text)
        return self._closest(key) if len(key) >= FUZZY_MIN_LENGTH else None

    def _closest(self, key: str) -> Field | None:
        digits = _DIGITS.findall(key)
        scored = []
        for label, candidate in self.fuzzy:
            if _DIGITS.findall(label) != digits:
                continue
            # The ratio can never exceed this bound; skipping early keeps matching cheap.
            if 2 * min(len(key), len(label)) / (len(key) + len(label)) < FUZZY_THRESHOLD:
                continue
            matcher = SequenceMatcher(None, key, label, autojunk=False)
            if matcher.quick_ratio() < FUZZY_THRESHOLD:
                continue
            ratio = matcher.ratio()
            if ratio >= FUZZY_THRESHOLD:
                scored.append((ratio, candidate))
        scored.sort(key=lambda pair: pair[0], reverse=True)
        if not scored or (len(scored) > 1 and scored[1][0] == scored[0][0]):
            return None
        return scored[0][1]


def label_index(fields: Iterable[Field]) -> LabelIndex:
    exact: dict[str, Field] = {}
    for item in fields:
        for text in (item.label, *item.aliases):
            exact.setdefault(normalise_label(text), item)
    fuzzy = tuple((label, item) for label, item in exact.items() if len(label) >= FUZZY_MIN_LENGTH)
    return LabelIndex(exact, fuzzy)


def main_fields() -> tuple[Field, ...]:
    """Every field of the form outside the action table and the earlier-stage tables."""
    return (
        *form.HEADER_FIELDS,
        form.SEED_TEAM_AND_MANAGER,
        *form.STAGE_FIELDS.values(),
        *form.CAFCASS_FIELDS,
        *form.INFORMAL_FIELDS,
        *form.BODY_FIELDS,
        *form.THEME_FIELDS.values(),
        *form.RESPONSE_FIELDS,
        *form.FINAL_FIELDS,
        *form.IRO_FIELDS,
    )


@cache
def main_index() -> LabelIndex:
    return label_index(main_fields())


@cache
def history_index(entry: int) -> LabelIndex:
    return label_index(form.history_fields(entry))


@cache
def policy_index(policy: Policy) -> LabelIndex:
    """The rows of one procedure's form whose labels the procedure sets: its levels, the
    fields it adds, and its CAFCASS prerequisites."""
    return label_index(
        (
            *form.level_fields(policy).values(),
            *form.detail_fields(policy),
            *(f for level in policy.stages for f in form.agreement_fields(level).values()),
            *form.prerequisite_fields(policy),
        )
    )


def action_tags(row: int, history_entry: int | None = None) -> tuple[str, str, str]:
    fields = (
        form.action_fields(row)
        if history_entry is None
        else form.history_action_fields(history_entry, row)
    )
    return (fields[0].tag, fields[1].tag, fields[2].tag)


@cache
def official_form_tags() -> frozenset[str]:
    """The tags formflow's own form carries outside its earlier-stage tables: a document
    with a content control for each of them has nothing left for the label reader."""
    tags = {f.tag for f in main_fields() if f is not form.SEED_TEAM_AND_MANAGER}
    for row in range(1, form.MAX_ACTIONS + 1):
        tags.update(action_tags(row))
    return frozenset(tags)


@cache
def history_tags(entry: int) -> tuple[str, ...]:
    """Every tag of earlier stage ``entry`` (1-based) on a next-stage form."""
    tags = [f.tag for f in form.history_fields(entry)]
    for row in range(1, form.MAX_ACTIONS + 1):
        tags += action_tags(row, entry)
    return tuple(tags)


@cache
def known_tags() -> frozenset[str]:
    """Every fixed tag on the form; prerequisite tags are recognised by their prefix."""
    tags = {*official_form_tags(), form.SEED_TEAM_AND_MANAGER.tag}
    for entry in range(1, form.MAX_HISTORY + 1):
        tags.update(history_tags(entry))
    return frozenset(tags)


def is_known_tag(tag: str) -> bool:
    return tag in known_tags() or tag.startswith(_PROCEDURE_TAG_PREFIXES)


_PROCEDURE_TAG_PREFIXES = (
    form.PREREQUISITE_TAG_PREFIX,
    form.LEVEL_TAG_PREFIX,
    form.DETAIL_PREFIX,
    form.AGREEMENT_PREFIX,
)
"""Tags a procedure sets: its CAFCASS steps, its levels, the fields it adds, its joint
responders' agreements."""


@cache
def _fields_by_tag() -> dict[str, Field]:
    return {item.tag: item for item in main_fields()}


def field(tag: str) -> Field:
    """One of the form's main fields, by its tag."""
    return _fields_by_tag()[tag]
