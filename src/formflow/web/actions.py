"""Acting on a challenge from its page (issue 23 part 2): every life event, through the
same pipeline as the command line and the watcher.

    GET  /challenges/REF/actions/ACTION           the action's form (fields, version)
    POST /challenges/REF/actions/ACTION           checked: errors in the GOV.UK manner,
                                                  else what will happen, to confirm
    POST /challenges/REF/actions/ACTION/confirm   recorded by ``RecordedEvents.act``:
                                                  documents and drafts as the watcher's

What may be done is the engine's to say: an action is offered when ``engine.apply``
accepts it on the record as it stands, and the role allows it (``formflow.web.access``).
The page carries the record's version; ``act`` checks it inside the register transaction,
so a form the watcher processed meanwhile is never overruled unseen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
import secrets
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from lxml import etree
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers.response import Response as BaseResponse

from formflow.core.calendar import WorkingCalendar, uk_date
from formflow.core.engine import (
    AMENDABLE,
    ActionsNotImplemented,
    Amend,
    CloseUnresolved,
    Escalate,
    Event,
    ExtendDeadline,
    LateResponse,
    MergeInto,
    Reassign,
    RequestCafcass,
    Respond,
    Transition,
    Withdraw,
    apply,
    assess,
    check_mergeable,
)
from formflow.core.policy import Policy
from formflow.core.record import REFERENCE_PATTERN, Action, Challenge, Response, Stage
from formflow.core.record import Person as Responder
from formflow.errors import ChallengeChanged, FormflowError, RejectedForm, TransitionError
from formflow.form import (
    ACCEPTED_SUFFIXES,
    BODY_FIELDS,
    CAFCASS_FIELDS,
    HEADER_FIELDS,
    INFORMAL_FIELDS,
    MAX_ACTIONS,
    SEPARATE_CHALLENGE,
    THEME_FIELDS,
    Field,
    FieldKind,
    detail_fields,
    level_fields,
    prerequisite_fields,
)
from formflow.intake import read_form_bytes
from formflow.intake.safety import MAX_FILE_BYTES
from formflow.outbox import files
from formflow.pipeline import Pipeline, Services
from formflow.pipeline.events import record_version
from formflow.sample import sample_challenge, write_new_form
from formflow.store.register import FileRecord
from formflow.web import access, audit

log = logging.getLogger(__name__)

actions = Blueprint("actions", __name__)

LABELS: dict[str, str] = {
    "respond": "Respond",
    "escalate": "Escalate to the next level",
    "request-cafcass": "Request a referral to CAFCASS",
    "reopen": "Re-open: agreed actions not implemented",
    "withdraw": "Withdraw",
    "close": "Close unresolved",
    "extend": "Extend the deadline",
    "reassign": "Hand to another manager",
    "amend": "Correct a detail",
    "merge": "Merge into another challenge",
    "late-reply": "Record a late reply",
}
"""The actions a challenge's page may offer, in the words of its buttons."""

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"

PROBE = "(checking what the procedure allows)"


@dataclass(frozen=True)
class Offer:
    action: str
    label: str


# --- what the engine allows -------------------------------------------------------------


def _probes(
    action: str, challenge: Challenge, calendar: WorkingCalendar, today: dt.date
) -> list[Event]:
    """Events of ``action`` with harmless values, for the engine to accept or refuse on
    the record's state: the web layer keeps no copy of the procedure's rules."""
    far = calendar.next_working_day(today.replace(year=today.year + 5))
    answer = Response(PROBE, today, PROBE, False)
    match action:
        case "respond":
            return [Respond(today, False, PROBE, PROBE)]
        case "escalate":
            return [Escalate(today, PROBE, PROBE)]
        case "request-cafcass":
            return [RequestCafcass(today)]
        case "reopen":
            return [ActionsNotImplemented(today, PROBE, challenge.stage)]
        case "withdraw":
            return [Withdraw(today, PROBE)]
        case "close":
            return [CloseUnresolved(today, PROBE)]
        case "extend":
            return [ExtendDeadline(today, far, PROBE)]
        case "reassign":
            return [Reassign(today, Responder(PROBE, PROBE), PROBE)]
        case "amend":
            return [Amend(today, "concern", PROBE, PROBE)]
        case "merge":
            return [MergeInto(today, "PC-0000-000000", PROBE)]
        case _:  # a late reply, to any level that has been answered or moved on
            return [LateResponse(today, s, answer) for s in _stages_met(challenge)]


def _stages_met(challenge: Challenge) -> list[Stage]:
    return list(dict.fromkeys([*(h.stage for h in challenge.history), challenge.stage]))


def _accepts(event: Event, challenge: Challenge, policy: Policy, calendar: WorkingCalendar) -> bool:
    try:
        apply(challenge, event, policy, calendar)
    except TransitionError:
        return False
    return True


def allowed(
    challenge: Challenge, policy: Policy, calendar: WorkingCalendar, today: dt.date
) -> list[str]:
    """The actions the procedure allows on the record as it stands."""
    return [
        action
        for action in LABELS
        if any(
            _accepts(e, challenge, policy, calendar)
            for e in _probes(action, challenge, calendar, today)
        )
    ]


def late_reply_stages(
    challenge: Challenge, policy: Policy, calendar: WorkingCalendar, today: dt.date
) -> list[Stage]:
    """The levels a late reply may be recorded against, as the engine says."""
    return [
        e.stage
        for e in _probes("late-reply", challenge, calendar, today)
        if isinstance(e, LateResponse) and _accepts(e, challenge, policy, calendar)
    ]


# --- the request's challenge and person -------------------------------------------------


@dataclass(frozen=True)
class Context:
    challenge: Challenge
    policy: Policy
    person: access.Person
    version: str


def _dashboard() -> Any:
    return current_app.extensions["formflow"]


def _context(reference: str, action: str) -> Context:
    """The challenge and the signed-in person, or a plain refusal (audited)."""
    d = _dashboard()
    if action not in LABELS:
        abort(404, "There is no such action.")
    register = d.registers.get()
    challenge = register.challenge(reference) if REFERENCE_PATTERN.match(reference) else None
    person = access.current_person()
    if challenge is None:
        abort(404, f"There is no challenge {reference} in the register.")
    if not access.may_see(person, challenge) or not access.may_act(person, action, challenge):
        audit.refuse(LABELS[action].lower(), reference)
    policy = d.policies(challenge.policy)
    return Context(challenge, policy, person, record_version(challenge))


@actions.app_template_global()
def offers(reference: str) -> list[Offer]:
    """The buttons a challenge's page shows to the signed-in person (a template global)."""
    d = _dashboard()
    register = d.registers.get()
    challenge = register.challenge(reference)
    if challenge is None:
        return []
    person = access.current_person()
    policy = d.policies(challenge.policy)
    return [
        Offer(a, LABELS[a])
        for a in allowed(challenge, policy, d.settings.calendar, d.today())
        if access.may_act(person, a, challenge)
    ]


# --- from the form to an event -----------------------------------------------------------


@dataclass
class Asked:
    """What the form asks for: the event, or the errors to show beside its fields."""

    event: Event | None = None
    merge_into: str | None = None
    actor: str = ""
    reason: str | None = None
    errors: dict[str, str] | None = None


def _date(
    form: MultiDict[str, str], name: str, errors: dict[str, str], label: str
) -> dt.date | None:
    text = form.get(name, "").strip()
    if not text:
        errors[name] = f"Enter {label}"
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{label.capitalize()} must be a real date, such as 2026-12-15"
        return None


def _text(form: MultiDict[str, str], name: str, errors: dict[str, str], message: str) -> str:
    text = str(form.get(name, "")).strip()
    if not text:
        errors[name] = message
    return text


def _outcome(form: MultiDict[str, str], errors: dict[str, str]) -> bool:
    chosen = form.get("outcome", "")
    if chosen not in ("resolved", "not-resolved"):
        errors["outcome"] = "Select whether the matter is resolved"
    return chosen == "resolved"


def _agreed_actions(form: MultiDict[str, str], errors: dict[str, str]) -> tuple[Action, ...]:
    agreed: list[Action] = []
    for n in range(1, MAX_ACTIONS + 1):
        what = form.get(f"action_{n}", "").strip()
        when_text = form.get(f"by_when_{n}", "").strip()
        whom = form.get(f"by_whom_{n}", "").strip()
        if not (what or when_text or whom):
            continue
        if not what:
            errors[f"action_{n}"] = f"Enter what agreed action {n} is"
        when = (
            _date(form, f"by_when_{n}", errors, f"the date action {n} is due")
            if when_text
            else None
        )
        agreed.append(Action(what, when, whom or None))
    return tuple(agreed)


def _actor(
    person: access.Person, form: MultiDict[str, str], errors: dict[str, str]
) -> tuple[str, str]:
    """Who the audit trail names, and who decided: business support name whom they act for."""
    if person.role != "business-support":
        return person.name, person.full_name or person.name
    whom = _text(
        form, "on_behalf_of", errors, "Enter the name of the person you are recording this for"
    )
    return f"{person.name} on behalf of {whom}", whom


def ask(action: str, ctx: Context, form: MultiDict[str, str], today: dt.date) -> Asked:
    """The event the form describes, or what is missing or wrong in it."""
    errors: dict[str, str] = {}
    actor, decider = _actor(ctx.person, form, errors)
    reason = (
        ""
        if action in ("respond", "late-reply", "request-cafcass")
        else _text(form, "reason", errors, "Enter the reason: it goes on the record")
    )
    event: Event | None = None
    merge_into: str | None = None
    match action:
        case "respond":
            text = _text(form, "text", errors, "Enter the response")
            resolved = _outcome(form, errors)
            agreed = _agreed_actions(form, errors)
            event = Respond(
                today, resolved, text, decider, agreed, tuple(form.getlist("agreed_by"))
            )
        case "late-reply":
            text = _text(form, "text", errors, "Enter the reply")
            resolved = _outcome(form, errors)
            stages = {s.id: s for s in _stages_met(ctx.challenge)}
            stage = stages.get(form.get("stage", ""))
            if stage is None:
                errors["stage"] = "Select the level the reply answers"
            else:
                event = LateResponse(today, stage, Response(text, today, decider, resolved))
        case "escalate":
            event = Escalate(today, decider, reason)
        case "request-cafcass":
            event = RequestCafcass(today)
        case "reopen":
            levels = {s.stage.id: s.stage for s in ctx.policy.stages}
            event = ActionsNotImplemented(today, reason, levels.get(form.get("stage", "")))
        case "withdraw":
            event = Withdraw(today, reason)
        case "close":
            event = CloseUnresolved(today, reason)
        case "extend":
            to = _date(form, "to", errors, "the new due date")
            event = ExtendDeadline(today, to, reason) if to else None
        case "reassign":
            name = _text(form, "to", errors, "Enter the name of the manager who takes it on")
            role = _text(form, "role", errors, "Enter their role, such as Team Manager")
            event = Reassign(today, Responder(name, role), reason)
        case "amend":
            field = form.get("field", "")
            value: str | dt.date | None = _text(form, "value", errors, "Enter the right value")
            if field not in AMENDABLE:
                errors["field"] = "Select the detail to correct"
            elif field == "date_of_birth" and value:
                value = _date(form, "value", errors, "the date of birth")
            event = Amend(today, field, value, reason) if value else None
        case "merge":
            into = form.get("into", "").strip().upper()
            if not REFERENCE_PATTERN.match(into):
                errors["into"] = (
                    "Enter the reference of the challenge to keep, such as PC-2026-7KQ3XM"
                )
            merge_into = into
            event = MergeInto(today, into, reason)
    if errors:
        return Asked(errors=errors)
    return Asked(event, merge_into, actor, reason or None)


# --- what will happen ---------------------------------------------------------------------


def foreseen(
    transition: Transition, policy: Policy, calendar: WorkingCalendar, today: dt.date
) -> str:
    """Where the challenge will stand, in the procedure's own words: "PC-2026-7KQ3XM moves
    to Stage 2, with the Service Manager, due 15 December 2026"."""
    after = transition.challenge
    state = assess(after, policy, calendar, today)
    where = f"{after.reference} will be {state.status.value} at {after.stage.label}"
    who = f", with the {state.responder}" if state.responder else ""
    if state.responder_name:
        who += f" ({state.responder_name})"
    due = f", due {uk_date(state.due)}" if state.due else ""
    return f"{where}{who}{due}."


def _preview(ctx: Context, asked: Asked) -> Transition:
    d = _dashboard()
    assert asked.event is not None
    if asked.merge_into is not None:
        register = d.registers.get()
        kept = register.challenge(asked.merge_into)
        if kept is None:
            raise TransitionError(f"There is no challenge {asked.merge_into} in the register.")
        check_mergeable(kept, ctx.challenge)
    return apply(ctx.challenge, asked.event, ctx.policy, d.settings.calendar)


def _make_documents_ahead(transition: Transition, policy: Policy) -> None:
    """Start making the documents the action will write, while the person reads the
    confirmation page: confirmed unchanged, they are handed over rather than made again
    (``pipeline.ahead``)."""
    d = _dashboard()
    today = d.now().date()  # the pipeline's day for documents (``Outputs._write``)
    after = transition.challenge
    assessment = assess(after, policy, d.settings.calendar, today)
    d.ahead.prepare(after, policy, today, assessment, transition.documents)


# --- the routes ------------------------------------------------------------------------


def _form_page(
    action: str, ctx: Context, errors: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    d = _dashboard()
    return render_template(
        "actions/form.html",
        title=f"{LABELS[action]}: {ctx.challenge.reference}",
        action=action,
        label=LABELS[action],
        c=ctx.challenge,
        policy=ctx.policy,
        person=ctx.person,
        version=request.form.get("version", ctx.version),
        form=request.form,
        errors=errors or {},
        max_actions=MAX_ACTIONS,
        amendable=AMENDABLE,
        stage_options=[
            (s.id, s.label)
            for s in late_reply_stages(ctx.challenge, ctx.policy, d.settings.calendar, d.today())
        ],
        level_options=[(s.stage.id, s.stage.label) for s in ctx.policy.stages],
        must_agree=ctx.policy.stage(ctx.challenge.stage).must_agree,
    ), status


def _version_sent() -> str:
    """The record's version the page was drawn with; a post without one did not come from
    the action's page."""
    sent = request.form.get("version", "")
    if not re.fullmatch("[0-9a-f]{16}", sent):
        abort(400, "This form did not come from the challenge's page: open the challenge again.")
    return sent


def _changed(ctx: Context) -> str | None:
    if _version_sent() == ctx.version:
        return None
    return (
        f"{ctx.challenge.reference} has changed since you opened it (a form or another person "
        "has recorded something), so nothing has been recorded. Open the challenge again, "
        "check what changed, and decide again."
    )


@actions.route("/challenges/<reference>/actions/<action>", methods=["GET", "POST"])
def action_form(reference: str, action: str) -> tuple[str, int]:
    ctx = _context(reference, action)
    if request.method == "GET":
        return _form_page(action, ctx)
    if (stale := _changed(ctx)) is not None:
        return render_template(
            "actions/changed.html",
            title="The challenge has changed",
            message=stale,
            c=ctx.challenge,
        ), 409
    d = _dashboard()
    asked = ask(action, ctx, request.form, d.today())
    if asked.errors:
        return _form_page(action, ctx, asked.errors, 400)
    try:
        transition = _preview(ctx, asked)
    except TransitionError as exc:
        return _form_page(action, ctx, {"": str(exc)}, 400)
    _make_documents_ahead(transition, ctx.policy)
    return render_template(
        "actions/confirm.html",
        title=f"Check before you {LABELS[action].lower()}: {reference}",
        action=action,
        label=LABELS[action],
        c=ctx.challenge,
        message=transition.message,
        foreseen=foreseen(transition, ctx.policy, d.settings.calendar, d.today()),
        documents=[kind.value for kind in transition.documents],
        actor=asked.actor,
        fields=[(k, v) for k, v in request.form.items(multi=True) if k != "csrf"],
    ), 200


@actions.route("/challenges/<reference>/actions/<action>/confirm", methods=["POST"])
def confirm(reference: str, action: str) -> tuple[str, int]:
    ctx = _context(reference, action)
    d = _dashboard()
    asked = ask(action, ctx, request.form, d.today())
    if asked.errors or asked.event is None:
        return _form_page(action, ctx, asked.errors, 400)
    register = d.registers.get()
    services = Services(
        d.home,
        d.settings,
        d.policies,
        writers=d.ahead.writers(),
        now=d.now,
        on_change=d.tracker.changed,
    )
    pipeline = Pipeline(register, services)
    try:
        acted = pipeline.act(
            reference,
            asked.event,
            by=asked.actor,
            reason=asked.reason,
            merge_into=asked.merge_into,
            seen=_version_sent(),
        )
    except ChallengeChanged as exc:
        return render_template(
            "actions/changed.html",
            title="The challenge has changed",
            message=str(exc),
            c=ctx.challenge,
        ), 409
    except FormflowError as exc:
        return _form_page(action, ctx, {"": str(exc)}, 400)
    pipeline.send_notices()
    log.info("dashboard: %s %s by %r", reference, action, g.user)
    return render_template(
        "actions/done.html",
        title=f"Recorded: {reference}",
        c=ctx.challenge,
        message=acted.transition.message,
        outputs=acted.outputs,
    ), 200


# --- a completed form uploaded from the browser (issue 23 part 3) ------------------------

UPLOAD_LIMIT = MAX_FILE_BYTES
"""The largest form the intake reads: a bigger upload is refused before it is saved."""


def _any_new_challenge() -> Challenge:
    """What ``access.may_act`` is asked about for an upload or a new challenge, which have
    no record yet: the fictional sample, addressed to nobody."""
    return sample_challenge(_dashboard().today())


@actions.app_template_global()
def may_upload() -> bool:
    return access.may_act(access.current_person(), "upload", _any_new_challenge())


@actions.app_template_global()
def may_raise() -> bool:
    return access.may_act(access.current_person(), "raise", _any_new_challenge())


def _may_upload() -> access.Person:
    person = access.current_person()
    if not may_upload():
        audit.refuse("upload a form")
    return person


@actions.record_once
def _uploads_may_be_larger(state: BlueprintSetupState) -> None:
    """The dashboard refuses bodies over 64 KiB before any view runs (the CSRF check reads
    the form first); an upload may be a whole Word form, so its limit is set ahead of that."""

    def allow_a_form() -> None:
        if request.endpoint == "actions.upload":
            request.max_content_length = UPLOAD_LIMIT + 64 * 1024

    state.app.before_request_funcs.setdefault(None, []).insert(0, allow_a_form)


def safe_name(original: str, now: dt.datetime) -> str:
    """A name for the inbox that nobody else's file has: letters, digits, dots and dashes
    of the name given, the time and a random part, and the form's own suffix."""
    path = PurePath(original.replace("\\", "/")).name
    stem = re.sub(r"[^A-Za-z0-9.-]+", "-", PurePath(path).stem).strip(".-")[:60] or "form"
    return f"web-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}-{stem}{PurePath(path).suffix.lower()}"


@actions.route("/upload", methods=["GET", "POST"])
def upload() -> tuple[str, int] | BaseResponse:
    _may_upload()
    if request.method == "GET":
        return render_template("actions/upload.html", title="Upload a form", errors={}), 200
    sent = request.files.get("form")
    errors: dict[str, str] = {}
    data, name = b"", ""
    if sent is not None:
        try:
            data, name = sent.read(UPLOAD_LIMIT + 1), sent.filename or ""
        finally:  # a large upload is spooled to a temporary file: closed here, not left
            sent.close()
    if not data:
        errors["form"] = "Select a completed Word (.docx) or PDF form"
    elif PurePath(name).suffix.lower() not in ACCEPTED_SUFFIXES:
        errors["form"] = "The form must be a Word (.docx) or PDF file: save it as one and try again"
    elif len(data) > UPLOAD_LIMIT:
        errors["form"] = f"The form must be smaller than {UPLOAD_LIMIT // (1024 * 1024)} MB"
    if errors:
        return render_template("actions/upload.html", title="Upload a form", errors=errors), 400
    d = _dashboard()
    saved = safe_name(name, d.now())
    files.write_private(d.home.inbox / saved, data)
    digest = hashlib.sha256(data).hexdigest()
    d.registers.get().add_event(
        None, "uploaded", d.now(), message=f"{saved} uploaded to the inbox.", actor=g.user
    )
    return redirect(url_for("actions.uploaded", digest=digest, name=saved))


def how_it_ended(digest: str) -> FileRecord | None:
    """The register's latest word on a file with these bytes, or None while it waits."""
    row = _dashboard().registers.get().latest_file(digest)
    return row if row is not None and row.outcome is not None else None


@actions.route("/uploads/<digest>", methods=["GET"])
def uploaded(digest: str) -> tuple[str, int]:
    """How an uploaded form ended: processed (with its challenge), rejected (with the
    note), or still waiting for the watcher (the page reloads itself, without scripts)."""
    _may_upload()
    if not re.fullmatch("[0-9a-f]{64}", digest):
        abort(404, "There is no such upload.")
    ended = how_it_ended(digest)
    return render_template(
        "actions/uploaded.html",
        title="Your uploaded form",
        name=request.args.get("name", ""),
        ended=ended,
    ), 200


# --- a new challenge raised in the browser (issue 23 part 3) -------------------------------


def raising_sections(policy: Policy) -> list[tuple[str, tuple[Field, ...]]]:
    """The Word form's fields for raising a challenge under ``policy``, section by section:
    the same fields, labels and procedure-specific questions as ``formflow new``."""
    return [
        ("The challenge and the child", tuple(f for f in HEADER_FIELDS if f.tag != "reference")),
        ("The level it is raised at", tuple(level_fields(policy).values())),
        ("If it was discussed informally first", INFORMAL_FIELDS),
        ("The concern", BODY_FIELDS),
        ("What this procedure asks", detail_fields(policy)),
        ("Themes", tuple(THEME_FIELDS.values())),
        ("CAFCASS", (*CAFCASS_FIELDS, *prerequisite_fields(policy))),
        ("A second challenge for the same child", (SEPARATE_CHALLENGE,)),
    ]


def filled_form(blank: bytes, typed: dict[str, str], ticked: set[str]) -> bytes:
    """The blank Word form with its content controls filled by tag, as Word saves a form
    someone typed into: what the browser sends becomes the form the watcher reads."""
    with zipfile.ZipFile(io.BytesIO(blank)) as source:
        parts = {i.filename: source.read(i.filename) for i in source.infolist()}
    root = etree.fromstring(parts["word/document.xml"])
    for control in root.iter(f"{_W}sdt"):
        tag = control.find(f"{_W}sdtPr/{_W}tag")
        name = tag.get(f"{_W}val") if tag is not None else None
        texts = list(control.iter(f"{_W}t"))
        if not texts or name is None:
            continue
        if name in typed:
            texts[0].text = typed[name]
            for extra in texts[1:]:
                extra.text = ""
        elif name in ticked and (box := control.find(f".//{_W14}checked")) is not None:
            box.set(f"{_W14}val", "1")
            texts[0].text = "☒"
    parts["word/document.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts.items():
            target.writestr(name, content)
    return out.getvalue()


def _blank_form(policy: Policy) -> bytes:
    d = _dashboard()
    with tempfile.TemporaryDirectory(prefix="formflow-raise-") as scratch:
        written = write_new_form(
            Path(scratch) / "blank.docx",
            home=d.home,
            settings=d.settings,
            policies=d.policies,
            today=d.today(),
            policy_id=policy.id,
        )
        return written.path.read_bytes()


def _field_errors(
    reasons: list[str], sections: list[tuple[str, tuple[Field, ...]]]
) -> dict[str, str]:
    """The intake's reasons, each beside the field whose label it names (else in the
    summary only): the Word form's messages, word for word."""
    fields = sorted((f for _, group in sections for f in group), key=lambda f: -len(f.label))
    errors: dict[str, str] = {}
    for n, reason in enumerate(reasons):
        named = next(
            (f.tag for f in fields if f"'{f.label}'" in reason and f.tag not in errors), None
        )
        errors[named or f"#{n}"] = reason
    return errors


def _raise_page(policy: Policy, errors: dict[str, str], status: int) -> tuple[str, int]:
    d = _dashboard()
    return render_template(
        "actions/raise.html",
        title="Raise a challenge",
        policy=policy,
        procedures=[(i, d.policies(i).name) for i in d.policies.ids()],
        sections=raising_sections(policy),
        form=request.form,
        errors=errors,
    ), status


@actions.route("/raise", methods=["GET", "POST"])
def raise_challenge() -> tuple[str, int] | BaseResponse:
    d = _dashboard()
    if not may_raise():
        audit.refuse("raise a challenge")
    try:
        policy = d.policies(request.values.get("procedure") or d.settings.default_policy)
    except FormflowError:
        policy = d.policies(d.settings.default_policy)
    if request.method == "GET" or request.form.get("step") == "procedure":
        return _raise_page(policy, {}, 200)
    sections = raising_sections(policy)
    every = [f for _, group in sections for f in group]
    typed = {
        f.tag: request.form.get(f.tag, "").strip()
        for f in every
        if f.kind is not FieldKind.CHECKBOX
    }
    typed = {tag: text for tag, text in typed.items() if text}
    typed["policy"] = policy.id
    ticked = {f.tag for f in every if f.kind is FieldKind.CHECKBOX and request.form.get(f.tag)}
    data = filled_form(_blank_form(policy), typed, ticked)
    try:
        read_form_bytes(
            data,
            suffix=".docx",
            policies=d.policies,
            policy_id=None,
            settings=d.settings,
            today=d.today(),
        )
    except RejectedForm as rejection:
        return _raise_page(policy, _field_errors(rejection.reasons, sections), 400)
    saved = safe_name("raised-in-the-dashboard.docx", d.now())
    files.write_private(d.home.inbox / saved, data)
    d.registers.get().add_event(
        None, "uploaded", d.now(), message=f"{saved} raised in the dashboard.", actor=g.user
    )
    return redirect(
        url_for("actions.uploaded", digest=hashlib.sha256(data).hexdigest(), name=saved)
    )
