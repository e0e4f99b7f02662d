"""``formflow due`` and ``formflow policies``: the procedures and their deadlines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from formflow.commands.options import home_option, home_policies, iso_date
from formflow.config import load_settings
from formflow.core.engine import deadline
from formflow.core.policy import statutory_warnings
from formflow.core.record import Stage
from formflow.errors import FormflowError
from formflow.policy_catalogue import PolicyCatalogue, read_policy_file

CONFIG = click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default: HOME/formflow.toml if present).",
)

STAGE_CHOICE = click.Choice([s.value for s in Stage], case_sensitive=False)


@click.command()
@click.option("--policy", "policy_id", required=True, help="Procedure id, such as nelincs.")
@click.option("--stage", required=True, type=STAGE_CHOICE, help="informal, 1, 2, 3 or 4.")
@click.option(
    "--from", "raised_on", required=True, callback=iso_date, help="Date raised (YYYY-MM-DD)."
)
@click.option(
    "--challenge-start",
    callback=iso_date,
    help="When the formal challenge began, for cumulative targets (default: --from).",
)
@home_option
@CONFIG
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def due(
    policy_id: str,
    stage: str,
    raised_on: dt.date,
    challenge_start: dt.date | None,
    home: Path,
    config: Path | None,
    as_json: bool,
) -> None:
    """Say when a response is due; the first line printed is the due date.

    Day 0 is the day of notification (or the next working day, if it fell on a weekend,
    bank holiday or closure day); the response is due by the end of the Nth working day
    after it.

    \b
    Example:
      formflow due --policy nelincs --stage 2 --from 2025-12-22 --challenge-start 2025-12-15
      formflow due --home /srv/formflow --policy merton --stage 1 --from 2025-11-03
    """
    settings = load_settings(config, home=home)
    policy = home_policies(home, settings)(policy_id)
    when = deadline(policy, Stage(stage), raised_on, settings.calendar, challenge_start)
    for warning in when.warnings:
        click.echo(f"Warning: {warning}", err=True)
    rules = policy.stage(Stage(stage))
    if as_json:
        payload = {
            "due": when.due.isoformat(),
            "overall_target": when.overall_target.isoformat() if when.overall_target else None,
            "first_contact_due": (
                when.first_contact_due.isoformat() if when.first_contact_due else None
            ),
            "day_zero": when.day_zero.isoformat(),
            "policy": policy.id,
            "stage": stage,
            "responder": rules.responder,
            "working_days": rules.timescale_working_days,
            "warnings": list(when.warnings),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(when.due.isoformat())
    click.echo(
        f"{Stage(stage).label} under {policy.id}: the {rules.responder} responds within "
        f"{rules.timescale_working_days} working days of {when.day_zero:%A %-d %B %Y} (day 0)."
    )
    if when.first_contact_due:
        click.echo(f"First contact due: {when.first_contact_due.isoformat()}")
    if when.overall_target:
        click.echo(
            f"Overall target ({rules.cumulative_working_days} working days from the start): "
            f"{when.overall_target.isoformat()}"
        )


@click.group()
def policies() -> None:
    """List, show and check the council procedures formflow follows.

    \b
    Example:
      formflow policies list
    """


def _catalogue(home: Path, config: Path | None) -> PolicyCatalogue:
    return home_policies(home, load_settings(config, home=home))


@policies.command("list")
@home_option
@CONFIG
def list_policies(home: Path, config: Path | None) -> None:
    """List the procedures this home can use, one per line: id, name, where it is read from.

    \b
    Example:
      formflow policies list --home /srv/formflow
    """
    catalogue = _catalogue(home, config)
    broken = 0
    for entry in catalogue.entries().values():
        try:
            policy = catalogue.read(entry.path)
        except FormflowError as exc:  # one bad file does not hide the others
            click.echo(f"Error: {exc}", err=True)
            broken += 1
            continue
        click.echo(f"{policy.id}\t{policy.name}\t{entry.folder.origin.value}: {entry.path}")
    if broken:
        raise click.ClickException(f"{broken} procedure file(s) cannot be used; see above.")


@policies.command("show")
@click.argument("policy_id")
@home_option
@CONFIG
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the procedure's file as it is (to start your own).",
)
def show_policy(policy_id: str, home: Path, config: Path | None, as_json: bool) -> None:
    """Show one procedure: where it is read from, its stages, timescales, CAFCASS rules, notes.

    \b
    Example:
      formflow policies show rotherham
      formflow policies show nelincs --json > /srv/formflow/policies/merton.json
    """
    catalogue = _catalogue(home, config)
    try:
        entry = catalogue.entry(policy_id)
        policy = catalogue.read(entry.path)
        if as_json:
            click.echo(entry.path.read_text(encoding="utf-8"), nl=False)
            return
    except OSError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{policy.name} ({policy.id})")
    click.echo(f"Read from: {entry.path} ({entry.folder.origin.value})")
    click.echo(f"Source: {', '.join(policy.source_files)}")
    for s in policy.stages:
        cumulative = (
            f", {s.cumulative_working_days} from the start" if s.cumulative_working_days else ""
        )
        bypass = "may be bypassed" if s.may_be_bypassed else "may not be bypassed"
        click.echo(
            f"  {s.stage.label}: {s.responder}, {s.timescale_working_days} working days"
            f"{cumulative}; {bypass}"
        )
        if s.copy_to:
            click.echo(f"    copy to: {', '.join(s.copy_to)}")
    cafcass = policy.cafcass
    when = "at any time" if cafcass.when == "any_time" else "after the last stage"
    concurrent = "alongside the escalation" if cafcass.concurrent else "instead of escalating"
    click.echo(f"  CAFCASS: {when}, {concurrent}")
    for p in cafcass.prerequisites:
        click.echo(f"    first: {p.label}")
    for note in policy.notes:
        click.echo(f"  Note - {note.topic}: {note.choice}")


@policies.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@home_option
@CONFIG
def check_policy(file: Path, home: Path, config: Path | None) -> None:
    """Validate a procedure file, warn where it departs from statutory guidance, and say
    whether this home will use it and how (which folder, overriding what).

    Exits 1 when the file is invalid; warnings alone exit 0.

    \b
    Example:
      formflow policies check --home /srv/formflow /srv/formflow/policies/merton.json
    """
    catalogue = _catalogue(home, config)
    policy = read_policy_file(file)
    warnings = statutory_warnings(policy)
    for warning in warnings:
        click.echo(f"Warning: {warning}")
    click.echo(f"{file.name}: valid policy '{policy.id}' with {len(warnings)} warning(s).")
    click.echo(catalogue.placement(file))
