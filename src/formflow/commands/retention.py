"""The records manager's commands: retention review and disposal, legal holds, a
recorded death.

``retention review`` lists what the council's schedule (``[retention]`` in
``formflow.toml``) says may go; ``retention dispose`` removes it, with the name of whoever
approved, all or nothing; ``hold`` and ``release`` keep records whatever their period.
Each prints references and dates only, never a child's name.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import click

from formflow.commands.home import opened, refresh_tracker
from formflow.commands.options import (
    checked_reference,
    checked_references,
    home_option,
    iso_date,
)
from formflow.config import Settings
from formflow.core.retention import Schedule, schedule_from_settings
from formflow.errors import RetentionError
from formflow.store import retention
from formflow.store.register import Register

NOT_CONFIGURED = (
    "Retention is not configured: formflow.toml has no [[retention.rule]], so nothing is "
    "ever disposed of. The README's 'Keeping the records' shows how to set the council's "
    "schedule."
)


def schedule_of(settings: Settings) -> Schedule:
    return schedule_from_settings(settings.raw.get("retention"))


@click.group("retention")
def retention_group() -> None:
    """Review and dispose of records as the council's retention schedule says.

    \b
    Examples:
      formflow retention review --home /srv/formflow
      formflow retention dispose PC-2019-7KQ3XM --approved-by "Ada Lovell" --home /srv/formflow
    """


@retention_group.command("review")
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def review(home: Path, as_json: bool) -> None:
    """List each closed challenge whose retention period has ended (with its rule and the
    day the period ended), each held one, and the holds in force.

    \b
    Example:
      formflow retention review --home /srv/formflow
    """
    with opened(home, create=False) as ctx:
        found = retention.retention_review(ctx.register, schedule_of(ctx.settings), dt.date.today())
    if as_json:
        click.echo(json.dumps(found.as_dict(), indent=2))
        return
    if not found.configured:
        click.echo(NOT_CONFIGURED)
    click.echo(f"Due for disposal on {found.today:%d %B %Y}: {len(found.due)}")
    for verdict in found.due:
        assert verdict.rule is not None and verdict.ends_on is not None
        click.echo(f"  {verdict.reference}  {verdict.rule.name}: ended {verdict.ends_on:%d %B %Y}")
    click.echo(f"Held, whatever their period: {len(found.held)}")
    for verdict in found.held:
        click.echo(f"  {verdict.reference}")
    for hold in found.holds:
        click.echo(
            f"  hold on {hold.reference or 'every record'} since {hold.held_at} by "
            f"{hold.held_by}: {hold.reason}"
        )
    if found.not_covered:
        click.echo(f"Closed, but no rule covers them (kept): {', '.join(found.not_covered)}")


@retention_group.command("dispose")
@home_option
@click.argument("references", nargs=-1, required=True, callback=checked_references)
@click.option("--approved-by", required=True, help="Who approved the disposal (name and role).")
def dispose(home: Path, references: list[str], approved_by: str) -> None:
    """Remove the originals, documents, email drafts and register rows of each challenge
    named, all or none: each must be closed, not held, and past its retention period. A
    disposal record without personal data is kept.

    \b
    Example:
      formflow retention dispose PC-2019-7KQ3XM --approved-by "Ada Lovell, Records Manager" \\
          --home /srv/formflow
    """
    with opened(home, create=False) as ctx:
        schedule = schedule_of(ctx.settings)
        if not schedule.configured:
            raise RetentionError(NOT_CONFIGURED)
        now = dt.datetime.now()
        done = retention.dispose(
            ctx.home,
            ctx.register,
            references,
            approved_by=approved_by,
            schedule=schedule,
            today=now.date(),
            now=now,
        )
        refresh_tracker(ctx, now.date())
    for disposal in done:
        counts = disposal.removed["counts"]
        assert isinstance(counts, dict)
        files = sum(v for k, v in counts.items() if k.endswith(("files", "drafts")))
        click.echo(
            f"Disposed of {disposal.reference} ({disposal.rule}, ended "
            f"{disposal.period_ended:%d %B %Y}): {files} file(s), {counts['events']} event(s)."
        )


@retention_group.command("died")
@home_option
@click.argument("reference", callback=checked_reference)
@click.option(
    "--on", "on", required=True, callback=iso_date, help="The date of death (YYYY-MM-DD)."
)
@click.option("--by", "by", required=True, help="Who recorded it (their name and role).")
def died(home: Path, reference: str, on: dt.date, by: str) -> None:
    """Record that the child of REFERENCE has died, against each of their challenges: a
    rule with died_before_18_years counts from that date for a child who died before 18.

    \b
    Example:
      formflow retention died PC-2019-7KQ3XM --on 2020-03-14 --by "Ada Lovell" --home .
    """
    with opened(home, create=False) as ctx:
        references = retention.record_death(
            ctx.register, reference, died_on=on, by=by, at=dt.datetime.now()
        )
    click.echo(f"Date of death recorded for {', '.join(references)}.")


@click.command()
@home_option
@click.argument("references", nargs=-1, callback=checked_references)
@click.option("--all", "every", is_flag=True, help="Hold every record, now and later.")
@click.option("--reason", required=True, help="Why (an inquiry's instruction, a claim).")
@click.option("--by", "by", required=True, help="Who placed the hold (name and role).")
def hold(home: Path, references: list[str], every: bool, reason: str, by: str) -> None:
    """Place a legal hold: held records are never disposed of, whatever their period,
    until released. --all holds every record, including those not yet made.

    \b
    Examples:
      formflow hold PC-2019-7KQ3XM --reason "Complaint 2026/14" --by "Ada Lovell" --home .
      formflow hold --all --reason "Public inquiry: notice of 3 March 2026" --by "Ada Lovell"
    """

    def place(register: Register, target: str | None, at: dt.datetime) -> None:
        retention.place_hold(register, target, reason=reason, by=by, at=at)

    targets = _targets(references, every)
    _change_holds(home, targets, place)
    click.echo(f"Held: {_named(targets)}.")


@click.command()
@home_option
@click.argument("references", nargs=-1, callback=checked_references)
@click.option("--all", "every", is_flag=True, help="Release the hold on every record.")
@click.option("--by", "by", required=True, help="Who released it (name and role).")
@click.option("--reason", help="Why it is no longer needed.")
def release(home: Path, references: list[str], every: bool, by: str, reason: str | None) -> None:
    """Release a legal hold placed with `formflow hold` (--all: the hold on every record).

    \b
    Example:
      formflow release PC-2019-7KQ3XM --by "Ada Lovell" --reason "Complaint closed" --home .
    """

    def lift(register: Register, target: str | None, at: dt.datetime) -> None:
        retention.release_hold(register, target, by=by, reason=reason, at=at)

    targets = _targets(references, every)
    holds = _change_holds(home, targets, lift)
    click.echo(f"Released: {_named(targets)}.")
    if not every and any(hold.reference is None for hold in holds):
        click.echo("Every record is still held by `formflow hold --all`.")


def _targets(references: list[str], every: bool) -> list[str | None]:
    if every == bool(references):
        raise click.UsageError("Name the references, or give --all, not both.")
    return [None] if every else list(references)


def _change_holds(
    home: Path,
    targets: list[str | None],
    change: Callable[[Register, str | None, dt.datetime], None],
) -> list[retention.Hold]:
    """Place or release holds on every target in one transaction, so a list with one
    wrong reference changes nothing; the holds in force afterwards."""
    with opened(home, create=False) as ctx:
        at = dt.datetime.now()
        with ctx.register.transaction():
            for target in targets:
                change(ctx.register, target, at)
        return retention.holds_in_force(ctx.register)


def _named(targets: list[str | None]) -> str:
    return ", ".join(target or "every record" for target in targets)
