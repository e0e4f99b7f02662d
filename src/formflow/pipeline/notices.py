"""Covering emails: an ``.eml`` draft for every document, sent over SMTP when configured.

Who receives what (roles come from the challenge's policy)::

    next-stage form   To: the stage's responder     Cc: the policy's copy-to roles, the IRO
    final record      To: the IRO / CP chair        Cc: the responder, copy-to roles
    CAFCASS pack      To: the IRO                   Cc: the policy's CAFCASS notifications
    closure note      To: the IRO / CP chair        Cc: the responder
    action reminder   To: the IRO / CP chair

Addresses come from an optional ``[directory]`` table in formflow.toml that maps people,
roles, or both, to addresses; a person's own address is used before their role's::

    [directory]
    "Priya Raman" = "priya.raman@northtown.example"
    "Team Manager" = "cic-team-managers@northtown.example"
    "IRO" = "iro-service@northtown.example"

Each recipient is named as the challenge names them ("Priya Raman, Team Manager"; a role
alone where the form names nobody). One with no address in the directory is written as
an empty address group, ``"Priya Raman, Team Manager (address needed)":;``: a valid
header that sends nowhere, and the draft's first line says whose address must be filled
in (the pipeline logs it too). So is an address that is not one (``[directory]`` checked at
start-up, or typed in the form's "To" box, ``priya.raman@@northtown``): the draft is
written without it and its first lines say why, so a form never fails on an address. Subjects carry the reference and stage, never the child's
name; the body gives the child's initials only.

Sending: only when ``[smtp]`` is configured::

    [smtp]
    host = "smtp.northtown.example"
    port = 587
    from = "formflow@northtown.example"
    starttls = true
    username = "formflow"
    password_env = "FORMFLOW_SMTP_PASSWORD"   # the variable's name, never the password
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import os
import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.headerregistry import Address, Group
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from formflow.config import NotAnAddress, Settings, directory_entries, email_address
from formflow.core.calendar import uk_date
from formflow.core.engine import Document, current_due, outstanding_duties
from formflow.core.policy import Policy, StagePolicy
from formflow.core.record import Action, Challenge, ClosureKind, Role
from formflow.errors import NoticeError
from formflow.reports.tables import initials
from formflow.store.register import Register

log = logging.getLogger(__name__)

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


ADDRESS_NEEDED = " (address needed)"
_NOT_AN_ADDRESS = " (address needed: {where} is not an email address)"


@dataclass(frozen=True)
class Recipient:
    """Someone a notice goes to: their role under the procedure, and their name where the
    challenge gives it."""

    role: str
    name: str | None = None
    address: str | None = None
    """An address typed for them on the form (in its "To" box): used before the directory."""

    @property
    def label(self) -> str:
        return f"{self.name}, {self.role}" if self.name else self.role


@dataclass(frozen=True)
class Recipients:
    to: tuple[Recipient, ...]
    cc: tuple[Recipient, ...] = ()


def named(challenge: Challenge, role: str, responder: str) -> Recipient:
    """``role`` with the name the challenge gives whoever holds it: the manager the form
    is addressed to, the IRO or chair who raised it, the child's social worker or team
    manager."""
    names = {
        "Social Worker": challenge.social_worker,
        "Team Manager": challenge.team_manager,
        _raiser(challenge): challenge.raised_by.name,
    }
    to = challenge.addressed_to
    typed = None
    if to is not None and to.name and role == responder:
        if "@" in to.name:  # an address typed in the "To" box, not a name
            typed = to.name.strip()
        else:
            names[role] = to.name
    return Recipient(role, names.get(role) or None, typed)


def _unique(roles: Sequence[str | None], drop: Sequence[str] = ()) -> tuple[str, ...]:
    seen: list[str] = []
    for role in roles:
        if role and role not in seen and role not in drop:
            seen.append(role)
    return tuple(seen)


RAISER_NOT_STATED = "IRO or CP chair"
"""The raiser's role group when the form did not state the role: the directory may name it."""


def _raiser(challenge: Challenge) -> str:
    role = challenge.raised_by.role
    return role.value if role else RAISER_NOT_STATED


def _roles(kind: Document, challenge: Challenge, policy: Policy) -> tuple[tuple[str, ...], ...]:
    stage = policy.stage(challenge.stage)
    responders = responder_roles(stage, challenge)
    raiser = _raiser(challenge)
    match kind:
        case Document.NEXT_STAGE_FORM:
            escalator = [stage.raised_by] if stage.raised_by else []
            return responders, _unique([*stage.copy_to, *escalator, raiser], drop=responders)
        case Document.FINAL_RECORD:
            to = (raiser,)
            return to, _unique([*responders, *stage.copy_to], drop=to)
        case Document.CAFCASS_PACK:
            to = (raiser,)
            return to, _unique(list(policy.cafcass.notifications), drop=to)
        case Document.CLOSURE_NOTE if _withdrawn(challenge):
            # It tells the manager who was waiting that no response is needed.
            return responders, _unique([raiser], drop=responders)
        case Document.CLOSURE_NOTE | Document.IRO_NOTE:
            to = (raiser,)
            return to, _unique(list(responders), drop=to)


def _withdrawn(challenge: Challenge) -> bool:
    return challenge.closure is not None and challenge.closure.kind is ClosureKind.WITHDRAWN


def recipients_for(kind: Document, challenge: Challenge, policy: Policy) -> Recipients:
    responder = responder_role(policy.stage(challenge.stage), challenge)
    to, cc = _roles(kind, challenge, policy)
    return Recipients(
        tuple(named(challenge, r, responder) for r in to),
        tuple(named(challenge, r, responder) for r in cc),
    )


def directory_from(settings: Settings) -> dict[str, str]:
    table = settings.raw.get("directory", {})
    if not isinstance(table, dict):
        raise NoticeError(
            "[directory] in formflow.toml must map people or roles to email addresses."
        )
    return {name: entry.email for name, entry in directory_entries(settings).items()}


def _address(recipient: Recipient, directory: Mapping[str, str]) -> str | None:
    return (recipient.name and directory.get(recipient.name)) or directory.get(recipient.role)


def _header(
    people: Sequence[Recipient], directory: Mapping[str, str], problems: list[str]
) -> list[Address | Group]:
    """Each person at their address; one with none, or with one that is not an address
    (said in ``problems``, for the draft's first lines), as an empty group."""
    out: list[Address | Group] = []
    for person in people:
        address = person.address or _address(person, directory)
        if not address:
            out.append(Group(person.label + ADDRESS_NEEDED))
            continue
        try:
            out.append(Address(person.label, addr_spec=email_address(address).addr_spec))
        except NotAnAddress as exc:
            where = "the one on the form" if person.address else "the one in formflow.toml"
            out.append(Group(person.label + _NOT_AN_ADDRESS.format(where=where)))
            given = "typed on the form" if person.address else "[directory] in formflow.toml gives"
            problems.append(f"The address {given} for {person.label}: {exc}.")
    return out


def _needed(message: EmailMessage) -> list[tuple[str, str]]:
    """(who, why) for each person a draft names without an address."""
    out: list[tuple[str, str]] = []
    for header in ("To", "Cc"):
        for group in message[header].groups if message[header] is not None else ():
            if group.display_name and not group.addresses:
                who, _, why = group.display_name.partition(ADDRESS_NEEDED[:-1])
                out.append((who, why.removeprefix(": ").removesuffix(")")))
    return out


def unaddressed(message: EmailMessage) -> list[str]:
    """Who a draft names without an address: to be filled in before it is sent."""
    return [who for who, _ in _needed(message)]


def roles_unaddressed(message: EmailMessage) -> list[str]:
    """The roles a draft has no usable address for, each with why where there is more to
    say than "none": for a log, which names roles, never a person."""
    return [who.rsplit(", ", 1)[-1] + (f" ({why})" if why else "") for who, why in _needed(message)]


def draft_name(kind: Document, challenge: Challenge) -> str:
    """The part of a draft's file name after the reference: the document it covers, with
    the stage for a next-stage form (``stage-2-form``), as the document itself is named."""
    if kind is Document.NEXT_STAGE_FORM:
        return f"{challenge.stage.slug}-form"
    return kind.value.lower().replace(" ", "-")


def _subject(challenge: Challenge, what: str) -> str:
    return f"{challenge.reference} {challenge.stage.label}: {what}"


def _attach(message: EmailMessage, path: Path) -> None:
    data = path.read_bytes()
    kind = DOCX_TYPE if path.suffix == ".docx" else mimetypes.guess_type(path.name)[0]
    maintype, _, subtype = (kind or "application/octet-stream").partition("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)


def _message(
    settings: Settings,
    subject: str,
    recipients: Recipients,
    body: str,
    attachments: Sequence[Path] = (),
) -> EmailMessage:
    directory = directory_from(settings)
    message = EmailMessage()
    sender = smtp_settings(settings)
    if sender is not None:
        message["From"] = sender.sender
    problems: list[str] = []
    message["To"] = _header(recipients.to, directory, problems)
    if recipients.cc:
        message["Cc"] = _header(recipients.cc, directory, problems)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="formflow.invalid")
    message["X-Unsent"] = "1"  # Outlook opens the draft ready to send
    missing = unaddressed(message)
    if missing:
        body = (
            f"ADDRESS NEEDED before sending: formflow has no email address for "
            f"{'; '.join(missing)}. Fill it in above, or add it to [directory] in "
            "formflow.toml for next time.\n"
            + "".join(f"{problem}\n" for problem in problems)
            + "\n"
            + body
        )
    message.set_content(body)
    for path in attachments:
        _attach(message, path)
    return message


_WHAT = {
    Document.NEXT_STAGE_FORM: "challenge form for the {responder}",
    Document.FINAL_RECORD: "final record",
    Document.CAFCASS_PACK: "CAFCASS referral pack",
    Document.CLOSURE_NOTE: "closure note",
    Document.IRO_NOTE: "for the IRO's decision",
}


def covering_email(
    challenge: Challenge,
    policy: Policy,
    settings: Settings,
    kind: Document,
    attachments: Sequence[Path],
    *,
    summary: str,
    due: dt.date | None = None,
) -> EmailMessage:
    """The covering email for one document; ``summary`` is the transition's message."""
    stage = policy.stage(challenge.stage)
    what = _WHAT[kind].format(responder=responder_role(stage, challenge))
    recipients = recipients_for(kind, challenge, policy)
    lines = [
        f"Professional challenge {challenge.reference} ({policy.name}), {challenge.stage.label}.",
        f"Child: {initials(challenge.child.name)}",
        "",
        summary,
    ]
    if due and uk_date(due) not in summary:  # said once: most summaries give it already
        lines.append(f"Response due by the end of {uk_date(due)}.")
    if kind is Document.NEXT_STAGE_FORM:
        lines += stage.terms()
    lines += outstanding_duties(challenge, policy)
    lines += [
        "",
        "Attached: " + ", ".join(p.name for p in attachments) if attachments else "",
        *_dashboard_link(settings, challenge),
        "",
        f"Drafted by formflow for {settings.council_name}.",
    ]
    return _message(settings, _subject(challenge, what), recipients, "\n".join(lines), attachments)


def _dashboard_link(settings: Settings, challenge: Challenge) -> list[str]:
    """Where ``[web] public_url`` gives the dashboard's address: a link to the challenge's
    page, so a manager may answer in the browser instead of in Word."""
    web = settings.raw.get("web", {})
    address = web.get("public_url") if isinstance(web, dict) else None
    if not isinstance(address, str) or not address.strip():
        return []
    page = f"{address.strip().rstrip('/')}/challenges/{challenge.reference}"
    return ["", f"See it, and answer or act on it, in the dashboard: {page}"]


def reminder_email(
    challenge: Challenge, policy: Policy, settings: Settings, action: Action
) -> EmailMessage:
    """The reminder to the IRO that an agreed action's by-when date has come."""
    when = uk_date(action.by_when) if action.by_when else "now"
    body = "\n".join(
        [
            f"Professional challenge {challenge.reference} ({policy.name}), "
            f"resolved at {challenge.stage.label}.",
            f"Child: {initials(challenge.child.name)}",
            "",
            f"An agreed action was due by {when}: {action.action}",
            f"By whom: {action.by_whom or 'not stated'}.",
            "",
            "Please check it was done and was effective. If not, drop the form back into "
            "the inbox with the challenge re-opened, or escalate as the procedure says.",
            "",
            f"Drafted by formflow for {settings.council_name}.",
        ]
    )
    recipients = Recipients((Recipient(_raiser(challenge), challenge.raised_by.name or None),))
    return _message(settings, _subject(challenge, "agreed action due"), recipients, body)


def timeout_email(challenge: Challenge, policy: Policy, settings: Settings) -> EmailMessage:
    """A missed deadline at a level whose procedure waits for a named person's decision:
    to the responder, copied to the person who decides."""
    rules = policy.stage(challenge.stage)
    decider = rules.decided_by or _raiser(challenge)
    due = challenge.due_extended_to or current_due(challenge, policy, settings.calendar)
    body = "\n".join(
        [
            f"Professional challenge {challenge.reference} ({policy.name}), "
            f"{challenge.stage.label}.",
            f"Child: {initials(challenge.child.name)}",
            "",
            f"The response was due by {uk_date(due)} and formflow has not received it.",
            f"Responder: please respond now, on the {challenge.stage.label} form you were sent.",
            f"{decider}: under this procedure the challenge does not move on by itself. Decide "
            "whether to wait or to escalate it (formflow escalate, or ask business support).",
            "",
            f"Drafted by formflow for {settings.council_name}.",
        ]
    )
    responder = responder_role(rules, challenge)
    to = tuple(named(challenge, r, responder) for r in responder_roles(rules, challenge))
    recipients = Recipients(to, (named(challenge, decider, responder),))
    return _message(settings, _subject(challenge, "response overdue"), recipients, body)


def directory_roles(policy: Policy) -> set[str]:
    """Every role a draft under ``policy`` may go to: the names ``[directory]`` may give
    an address for, beside people's."""
    roles = {RAISER_NOT_STATED, *(role.value for role in Role), *policy.cafcass.notifications}
    for stage in policy.stages:
        roles.update(stage.responders.roles, responder_roles(stage), stage.copy_to)
        roles.update(stage.satisfied, [stage.raised_by] if stage.raised_by else [])
        if stage.decided_by:
            roles.add(stage.decided_by)
    return roles


RESPONDER_NOT_STATED = "Responder"
"""The role a notice gives the person a level's form goes to, where neither the procedure
nor the form says what it is."""


def responder_role(rules: StagePolicy, challenge: Challenge | None = None) -> str:
    """The responder in words; where the procedure does not say who responds, the role the
    form gives the person it is addressed to."""
    to = challenge.addressed_to if challenge else None
    if rules.responders.not_stated is None:
        return rules.responding(to.role if to else None)
    return (to.role if to else None) or RESPONDER_NOT_STATED


def responder_roles(rules: StagePolicy, challenge: Challenge | None = None) -> tuple[str, ...]:
    """Each role a level's form goes to: every one of alternative or joint responders;
    where the procedure sets an order, only the one who responds now."""
    if rules.responders.in_order or not rules.responders.roles:
        return (responder_role(rules, challenge),)
    return rules.responders.roles


def recipients_text(message: EmailMessage) -> str:
    return "; ".join(f"{h}: {message[h]}" for h in ("To", "Cc") if message[h])


# --- SMTP -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    sender: str = "formflow@localhost"
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None
    timeout: float = 30.0


def smtp_settings(settings: Settings) -> SmtpSettings | None:
    """The ``[smtp]`` section, or None: nothing is sent unless it is configured."""
    section: Any = settings.raw.get("smtp")
    if not section:
        return None
    if not isinstance(section, dict) or not section.get("host"):
        raise NoticeError('[smtp] in formflow.toml needs at least host = "...".')
    return SmtpSettings(
        host=str(section["host"]),
        port=int(section.get("port", 587)),
        sender=str(section.get("from", "formflow@localhost")),
        starttls=bool(section.get("starttls", True)),
        username=section.get("username"),
        password_env=section.get("password_env"),
        timeout=float(section.get("timeout", 30.0)),
    )


def addressed(message: EmailMessage) -> list[str]:
    """The real addresses a message goes to (empty role groups send nowhere)."""
    out: list[str] = []
    for header in ("To", "Cc"):
        if message[header] is not None:
            out += [a.addr_spec for a in message[header].addresses if a.addr_spec]
    return out


def read_eml(path: Path) -> EmailMessage:
    parsed = message_from_bytes(path.read_bytes(), policy=email_policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def send(
    message: EmailMessage,
    smtp: SmtpSettings,
    environ: Callable[[str], str | None] = os.environ.get,
) -> list[str]:
    """Send a draft; returns the addresses it went to ([] when it has none)."""
    to = addressed(message)
    if not to:
        return []
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                password = environ(smtp.password_env or "") if smtp.password_env else None
                if password is None:
                    raise NoticeError(
                        f"[smtp] username is set but the variable {smtp.password_env!r} "
                        "holding the password is not."
                    )
                client.login(smtp.username, password)
            client.send_message(message, from_addr=smtp.sender, to_addrs=to)
    except (OSError, smtplib.SMTPException) as exc:
        raise NoticeError(f"Could not send through {smtp.host}:{smtp.port}: {exc}") from exc
    return to


def send_unsent(
    register: Register, outbox: Path, settings: Settings, now: Callable[[], dt.datetime]
) -> int:
    """Send every unsent draft in the register that has a real address, when [smtp] is
    configured; each is marked sent in the register, so it is never sent twice."""
    smtp = smtp_settings(settings)
    if smtp is None:
        return 0
    sent = 0
    for notice in register.unsent_notices():
        path = outbox / notice.path
        if not path.exists():
            continue
        message = read_eml(path)
        to = send(message, smtp)
        if to:
            register.mark_sent(notice.id, now())
            log.info("%s: notice %s sent", notice.reference, path.name)
            sent += 1
    return sent
