"""The intake: one dropped file in, a valid challenge record or a list of reasons out.

    read_form(path, policies=the home's PolicyCatalogue)
      ├── safety     size cap, type by magic bytes, zip and XML checks (no parser yet)
      ├── docx_reader | pdf_reader   fields by tag, legacy name, or printed label
      ├── normalise  UK dates, ticks, whitespace, team split -> schema-shaped data
      ├── settle     a role or legal status the form does not state: inferred from what
      │              it or the procedure says (each inference recorded), else not stated
      └── validate   rules across fields, then the JSON Schema

Every problem becomes one plain-English sentence naming the form's own label; all of
them are collected and raised together as ``RejectedForm``.

It may import the core, ``errors``, ``config``, ``form`` and ``schema``, and takes the
home's policy lookup and settings as arguments; never the pipeline, the watcher, the
commands or the dashboard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from formflow import form
from formflow.config import Settings
from formflow.core.policy import Policy, named_levels
from formflow.core.record import Challenge
from formflow.errors import PolicyError, RejectedForm
from formflow.intake import settle
from formflow.intake.catalogue import RawForm, is_known_tag, policy_index
from formflow.intake.docx_reader import read_docx
from formflow.intake.labels import Block, read_labels
from formflow.intake.normalise import build_record, clean_line
from formflow.intake.pdf_reader import read_pdf
from formflow.intake.safety import (
    MAX_FILE_BYTES,
    FileKind,
    check_size,
    file_kind,
    open_package,
    suffix_note,
)
from formflow.intake.validate import rule_problems, schema_problems

PolicyLookup = Callable[[str], Policy]
"""A home's procedures by id (``PolicyCatalogue``): the only place intake finds one."""

__all__ = ["ACCEPTED_SUFFIXES", "MAX_FILE_BYTES", "accepts", "read_form", "read_form_bytes"]

ACCEPTED_SUFFIXES = form.ACCEPTED_SUFFIXES

RECOGNISED_MINIMUM = 3
"""Fields of the form that must be present (filled or not) before a file counts as one."""


def accepts(path: Path) -> bool:
    """Whether the watcher should hand this file to ``read_form`` (by name; content decides later)."""
    return path.suffix.lower() in ACCEPTED_SUFFIXES


def read_form(
    path: Path,
    *,
    policies: PolicyLookup,
    policy_id: str | None = None,
    settings: Settings | None = None,
    today: dt.date | None = None,
) -> Challenge:
    """Parse, normalise and validate one dropped file, with the home's procedures. Raises RejectedForm(reasons) with every problem found, each one plain-English sentence."""
    return read_form_bytes(
        _read_capped(path),
        suffix=path.suffix,
        policies=policies,
        policy_id=policy_id,
        settings=settings or Settings(),
        today=today or dt.date.today(),
    )


def _read_capped(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            check_size(path.stat().st_size)
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise RejectedForm(
            [
                f"formflow could not open this file ({exc.strerror}): check it is still there and drop it again."
            ]
        ) from exc
    check_size(len(data))
    return data


def read_form_bytes(
    data: bytes,
    *,
    suffix: str,
    policies: PolicyLookup,
    policy_id: str | None,
    settings: Settings,
    today: dt.date,
) -> Challenge:
    """``read_form`` for bytes already read; ``suffix`` is only used to explain a mismatch."""
    kind = file_kind(data)
    try:
        return _challenge(data, kind, _Procedure(policies, policy_id, settings), today)
    except RejectedForm as rejection:
        note = suffix_note(suffix, kind)
        if note is None:
            raise
        raise RejectedForm([note, *rejection.reasons], advice=rejection.advice) from rejection


@dataclass(frozen=True)
class _Procedure:
    """How the form's procedure is chosen: the override, else the form's, else the default."""

    policies: PolicyLookup
    override: str | None
    settings: Settings


def _challenge(data: bytes, kind: FileKind, procedure: _Procedure, today: dt.date) -> Challenge:
    document: list[Block] = []
    if kind is FileKind.DOCX:
        raw, document = read_docx(open_package(data))
    else:
        raw = read_pdf(data)
    raw = {tag: value for tag, value in raw.items() if is_known_tag(tag)}
    if sum(1 for tag in raw if tag in _CORE_TAGS) < RECOGNISED_MINIMUM:
        raise RejectedForm([_not_a_form(kind)])
    policy, problems = _policy(raw, procedure)
    chosen = policy.id if policy else clean_line(str(raw.get("policy", "")))
    if document and policy:
        raw = {**_policy_labels(document, policy), **raw}
    data_, found = build_record(raw, chosen, policy, today)
    if policy is not None:
        data_["inferred"] += [asdict(i) for i in settle.from_procedure(data_, policy)]
    problems += found + rule_problems(data_, policy, today)
    if not problems:
        problems = schema_problems(data_)
    if problems:
        raise RejectedForm(problems)
    challenge = Challenge.from_dict(data_)
    return named_levels(challenge, policy) if policy else challenge


_CORE_TAGS = frozenset(
    f.tag for f in (*form.HEADER_FIELDS, *form.STAGE_FIELDS.values(), *form.BODY_FIELDS)
)


def _not_a_form(kind: FileKind) -> str:
    return (
        f"This {kind.value} is not a challenge form: formflow found none of the form's "
        "fields (such as 'Date of Notification' or 'Name of Child'). Please fill in the "
        "challenge form and drop that instead."
    )


def _policy(raw: RawForm, procedure: _Procedure) -> tuple[Policy | None, list[str]]:
    """The procedure: the override, else the form's 'Procedure', else the configured default.

    An unknown override or default is a configuration error for the operator (PolicyError);
    an unknown procedure typed on the form is a problem for the person who filled it.
    """
    typed = raw.get("policy")
    on_form = clean_line(typed).lower() if isinstance(typed, str) else ""
    if procedure.override or not on_form:
        return procedure.policies(procedure.override or procedure.settings.default_policy), []
    try:
        return procedure.policies(on_form), []
    except PolicyError as exc:
        label = form.HEADER_FIELDS[1].label
        return None, [f"'{label}' has '{on_form}', which formflow does not know. {exc}"]


def _policy_labels(document: list[Block], policy: Policy) -> dict[str, str]:
    """The rows whose labels the procedure sets (its levels, its own fields, its CAFCASS
    prerequisites), read by label where a saved form lost its tags."""
    return read_labels(document, policy_index(policy), structure=False)
