"""The events business support record for someone: withdraw, close, reopen, escalate,
extend, reassign, amend, merge.

Each names the challenge, who made the decision (``--by``) and why (``--reason``); each is
one event in the register's audit trail, committed in one register transaction with the
documents and covering emails it writes (published into outbox/REFERENCE/ as a dropped
form's are), so it is safe while ``formflow watch`` runs. What makes no sense (extending
a closed challenge, re-opening a withdrawn one) is refused with a plain message and
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from formflow.commands.home import echo_written, opened, refresh_tracker
from formflow.commands.options import checked_reference, home_option, iso_date, level_id
from formflow.core.engine import (
    AMENDABLE,
    ActionsNotImplemented,
    Amend,
    CloseUnresolved,
    Escalate,
    Event,
    ExtendDeadline,
    MergeInto,
    Reassign,
    Withdraw,
)
from formflow.core.record import Person, Stage
from formflow.errors import FormflowError


def _event_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """REFERENCE, --by, --reason, --on and --home: what every event command takes."""
    for option in reversed(
        (
            click.argument("reference", callback=checked_reference),
            click.option("--by", "by", required=True, help="Who decided (their name and role)."),
            click.option(
                "--reason", required=True, help="Why: it goes on the record and the notices."
            ),
            click.option(
                "--on",
                "on",
                callback=iso_date,
                help="The date of the decision (YYYY-MM-DD; default today).",
            ),
            home_option,
        )
    ):
        command = option(command)
    return command


def _record(
    home: Path,
    reference: str,
    event: Event,
    by: str,
    reason: str,
    merge_into: str | None = None,
) -> None:
    if not by.strip():
        raise click.UsageError("--by must name who decided.")
    with opened(home, create=False) as ctx:
        ctx.pipeline.recover()
        try:
            acted = ctx.pipeline.act(
                reference, event, by=by.strip(), reason=reason, merge_into=merge_into
            )
        except FormflowError as exc:
            raise click.ClickException(f"{reference}: {exc}") from exc
        ctx.pipeline.send_notices()
        refresh_tracker(ctx, dt.date.today())
    click.echo(f"{reference}  {acted.transition.message}")
    echo_written(ctx.home, acted.outputs)


def _today(on: dt.date | None) -> dt.date:
    """The date of the decision: --on, never later than today, else today."""
    today = dt.date.today()
    if on is not None and on > today:
        raise click.BadParameter(
            f"{on.isoformat()} is in the future: give the date the decision was made.",
            param_hint="--on",
        )
    return on or today


@click.command()
@_event_options
def withdraw(reference: str, by: str, reason: str, on: dt.date | None, home: Path) -> None:
    """Withdraw a challenge raised in error, or whose matter is now resolved.

    The manager who was waiting to respond gets a closure note saying no response is needed.

    \b
    Example:
      formflow withdraw PC-2025-7KQ3XM --by "Morwenna Pentreath, IRO" --reason "Raised in error"
    """
    _record(home, reference, Withdraw(_today(on), reason), by, reason)


@click.command()
@_event_options
def close(reference: str, by: str, reason: str, on: dt.date | None, home: Path) -> None:
    """Close a challenge unresolved, by the IRO's decision (also instead of a CAFCASS referral).

    \b
    Example:
      formflow close PC-2025-7KQ3XM --by "Morwenna Pentreath, IRO" --reason "Child moved away"
    """
    _record(home, reference, CloseUnresolved(_today(on), reason), by, reason)


@click.command()
@_event_options
@click.option(
    "--stage",
    callback=level_id,
    help="The level to return to, where the procedure does not say (policies show).",
)
def reopen(
    reference: str, by: str, reason: str, on: dt.date | None, home: Path, stage: Stage | None
) -> None:
    """Re-open a resolved challenge whose agreed actions were not implemented, or did not work.

    It returns to the stage the procedure says (or, where it does not say, the --stage you
    choose), with a new form for that stage's responder.

    \b
    Example:
      formflow reopen PC-2025-7KQ3XM --by "Morwenna Pentreath, IRO" --reason "Review not held"
    """
    _record(home, reference, ActionsNotImplemented(_today(on), reason, stage), by, reason)


@click.command()
@_event_options
def escalate(reference: str, by: str, reason: str, on: dt.date | None, home: Path) -> None:
    """Move a challenge to its next level by a person's decision.

    For a procedure that waits for the IRO's (or a manager's) decision after a missed
    deadline, rather than moving on by itself; also when the IRO judges a response not
    good enough before its deadline. The next level's responder gets its form.

    \b
    Example:
      formflow escalate PC-2025-7KQ3XM --by "Morwenna Pentreath, IRO" --reason "No response"
    """
    _record(home, reference, Escalate(_today(on), by.strip(), reason), by, reason)


@click.command()
@_event_options
@click.option("--to", "to", required=True, callback=iso_date, help="The new due date (YYYY-MM-DD).")
def extend(
    reference: str, by: str, reason: str, on: dt.date | None, home: Path, to: dt.date
) -> None:
    """Extend the current stage's response deadline, as agreed.

    The due date changes in the register, the status list, the deadline chase and a new
    form for the responder that says so.

    \b
    Example:
      formflow extend PC-2025-7KQ3XM --to 2025-11-21 --by "Morwenna Pentreath, IRO" --reason "Meeting set for 20 Nov"
    """
    _record(home, reference, ExtendDeadline(_today(on), to, reason), by, reason)


@click.command()
@_event_options
@click.option("--to", "to", required=True, help="The name of the manager who takes it on.")
@click.option("--role", required=True, help="Their role, such as 'Team Manager'.")
def reassign(
    reference: str, by: str, reason: str, on: dt.date | None, home: Path, to: str, role: str
) -> None:
    """Hand the current stage to another manager (sickness, a change of team).

    The new manager gets the form for the stage; the due date is unchanged.

    \b
    Example:
      formflow reassign PC-2025-7KQ3XM --to "Sam Okafor" --role "Team Manager" --by "Business support" --reason "Priya Raman on leave"
    """
    person = Person(to.strip() or None, role.strip() or None)
    _record(home, reference, Reassign(_today(on), person, reason), by, reason)


@click.command()
@_event_options
@click.argument("field", type=click.Choice(sorted(AMENDABLE)))
@click.argument("value")
def amend(
    reference: str, by: str, reason: str, on: dt.date | None, home: Path, field: str, value: str
) -> None:
    """Correct a detail typed wrongly: FIELD is one of the choices below, VALUE the right one.

    A date of birth is written YYYY-MM-DD. The audit trail records that a child's detail was
    corrected, never the detail itself.

    \b
    Example:
      formflow amend PC-2025-7KQ3XM case_number LCS-000124 --by "Business support" --reason "Typo on the form"
    """
    new: str | dt.date = value
    if field == "date_of_birth":
        try:
            new = dt.date.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a date: write it as YYYY-MM-DD.") from None
    _record(home, reference, Amend(_today(on), field, new, reason), by, reason)


@click.command()
@_event_options
@click.argument("other", callback=checked_reference)
def merge(reference: str, by: str, reason: str, on: dt.date | None, home: Path, other: str) -> None:
    """Merge OTHER into REFERENCE: the same child and concern raised twice.

    OTHER closes as merged (a closure note says where it went); REFERENCE carries on.

    \b
    Example:
      formflow merge PC-2025-7KQ3XM PC-2025-9ZZ4AB --by "Business support" --reason "Form saved twice"
    """
    _record(home, other, MergeInto(_today(on), reference, reason), by, reason, reference)
