"""The dashboard's audit trail: what each signed-in person did or was refused, in the
register (``formflow show``, the challenge's page, the Sign-ins page) and in the log:
the reference and the user, never the child."""

from __future__ import annotations

import logging
from typing import NoReturn

from flask import abort, current_app

from formflow.web import access, views

audit_log = logging.getLogger("formflow.web.audit")
audit_log.setLevel(logging.INFO)  # who signed in and looked is kept whatever the verbosity


def record(
    reference: str | None,
    what: str,
    message: str,
    *,
    actor: str,
    reason: str | None = None,
    level: int = logging.INFO,
) -> None:
    """An event in the register's audit trail (with no reference for sign-ins and the
    tracker), and its line in the log."""
    dashboard = current_app.extensions["formflow"]
    register = dashboard.registers.get()
    register.add_event(
        reference, what, dashboard.now(), message=message, actor=actor, reason=reason
    )
    happened = f"{reference} {what}" if reference else what
    audit_log.log(level, "dashboard: %s by %r: %s", happened, actor, message)


def refuse(what: str, reference: str | None = None) -> NoReturn:
    """A 403 page saying what the person may do instead, and the refusal audited."""
    person = access.current_person()
    said = access.refusal(person, what)
    record(
        reference,
        views.REFUSED,
        f"{person.name} ({person.role}) was refused: {what}.",
        actor=person.name,
        reason=said,
        level=logging.WARNING,
    )
    abort(403, said)
