"""``formflow due`` and ``formflow policies``: the procedures and their deadlines."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import click

from formflow.commands.options import config_option, home_option, home_policies, iso_date, level_id
from formflow.config import load_settings
from formflow.core.engine import deadline
from formflow.core.policy import (
    COUNTED_FROM_CHALLENGE_START,
    COUNTED_FROM_RAISED,
    WHAT_FORMFLOW_DOES,
    Policy,
    StagePolicy,
    is_version_1,
    warnings,
)
from formflow.core.record import Stage
from formflow.errors import FormflowError
from formflow.policy_catalogue import PolicyCatalogue, policy_data, read_policy_file


@click.command()
@click.option("--policy", "policy_id", required=True, help="Procedure id, such as nelincs.")
@click.option(
    "--stage",
    required=True,
    callback=level_id,
    help="The level's id: informal, 1, 2, 3 or 4, or the procedure's own (policies show).",
)
@click.option(
    "--from", "raised_on", required=True, callback=iso_date, help="Date raised (YYYY-MM-DD)."
)
@click.option(
    "--challenge-start",
    callback=iso_date,
    help="When the formal challenge began, for cumulative targets (default: --from).",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="ID=YYYY-MM-DD",
    help="A date the procedure's own form gives (a review date), for levels counted from it.",
)
@home_option
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def due(
    policy_id: str,
    stage: Stage,
    raised_on: dt.date,
    challenge_start: dt.date | None,
    fields: tuple[str, ...],
    home: Path,
    config: Path | None,
    as_json: bool,
) -> None:
    """Say when a response is due; the first line printed is the due date (or "none",
    for a level the procedure sets no fixed timescale for).

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
    try:
        rules = policy.stage(stage)
    except FormflowError as exc:
        levels = ", ".join(s.stage.id for s in policy.stages)
        raise click.BadParameter(f"{exc} Its levels are: {levels}.", param_hint="--stage") from exc
    when = deadline(
        policy, stage, raised_on, settings.calendar, challenge_start, details=_details(fields)
    )
    for warning in when.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if as_json:
        payload = {
            "due": _iso(when.due),
            "overall_target": _iso(when.overall_target),
            "first_contact_due": _iso(when.first_contact_due),
            "day_zero": when.day_zero.isoformat(),
            "policy": policy.id,
            "stage": stage.id,
            "level": rules.stage.label,
            "responder": rules.responder,
            "timescale": rules.timescale.described(policy.field_label),
            "working_days": rules.timescale.working_days,
            "warnings": list(when.warnings),
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(_iso(when.due) or "none")
    click.echo(_due_sentence(policy, rules, when.day_zero))
    if when.first_contact_due:
        click.echo(f"First contact due: {when.first_contact_due.isoformat()}")
    if when.overall_target:
        click.echo(
            f"Overall target ({rules.cumulative_working_days} working days from the start): "
            f"{when.overall_target.isoformat()}"
        )


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _details(fields: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in fields:
        key, _, value = item.partition("=")
        try:
            out[key.strip()] = dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError as exc:
            raise click.BadParameter(
                f"'{item}' is not ID=YYYY-MM-DD, such as review_date=2026-12-03.",
                param_hint="--field",
            ) from exc
    return out


def _due_sentence(policy: Policy, rules: StagePolicy, day_zero: dt.date) -> str:
    words = rules.timescale.described(policy.field_label)
    who = (
        "the source does not say who responds; the response is due"
        if rules.responders.not_stated is not None
        else f"the {rules.responder} responds"
    )
    head = f"{rules.stage.label} under {policy.id}: {who}"
    if rules.timescale.amount is None:
        return f"{head}: {words}."
    counted = {
        COUNTED_FROM_RAISED: f"{day_zero:%A %-d %B %Y} (day 0)",
        COUNTED_FROM_CHALLENGE_START: "the start of the challenge",
    }.get(rules.counted_from, f"the form's '{policy.field_label(rules.counted_from)}'")
    return f"{head} within {words} of {counted}."


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
@config_option
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
@config_option
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
        click.echo("  " + _level_line(policy, s))
        if s.copy_to:
            click.echo(f"    copy to: {', '.join(s.copy_to)}")
    for f in policy.fields:
        options = f" ({', '.join(f.options)})" if f.options else ""
        click.echo(f"  Form field: {f.label} [{f.id}, {f.kind.value}]{options}")
    click.echo(f"  CAFCASS: {_cafcass_line(policy)}")
    for p in policy.cafcass.prerequisites:
        click.echo(f"    first: {p.label}")
    for note in policy.notes:
        click.echo(f"  Note - {note.topic}: {note.choice}")


def _cafcass_line(policy: Policy) -> str:
    """When a referral may be made and whether the escalation goes on beside it; where the
    source says neither, what formflow does instead, as the engine does it."""
    cafcass = policy.cafcass
    if cafcass.when is None:
        when = f"when is not stated, so {WHAT_FORMFLOW_DOES['cafcass.when']}"
    else:
        when = "at any time" if cafcass.when == "any_time" else "after the last stage"
    if cafcass.concurrent is None:
        concurrent = (
            f"whether the escalation goes on is not stated, so "
            f"{WHAT_FORMFLOW_DOES['cafcass.concurrent']}"
        )
    else:
        concurrent = "alongside the escalation" if cafcass.concurrent else "instead of escalating"
    return f"{when}; {concurrent}"


def _level_line(policy: Policy, s: StagePolicy) -> str:
    """``Stage 1: Team Manager, 5 working days; may be bypassed``, and what else applies."""
    parts = [f"{s.stage.label}: {s.responder}, {s.timescale.described(policy.field_label)}"]
    if s.counted_from != COUNTED_FROM_RAISED:
        parts.append(
            "counted from the start of the challenge"
            if s.counted_from == COUNTED_FROM_CHALLENGE_START
            else f"counted from '{policy.field_label(s.counted_from)}'"
        )
    if s.cumulative_working_days:
        parts.append(f"{s.cumulative_working_days} from the start")
    if s.for_roles:
        parts.append("for " + " and ".join(sorted(r.value for r in s.for_roles)) + " only")
    if s.raised_by:
        parts.append(f"raised by the {s.raised_by}")
    if s.satisfied:
        parts.append(f"resolved when the {' and '.join(s.must_agree)} are satisfied")
    if s.entry_when:
        parts.append(f"a challenge may start here {s.entry_when}")
    if s.accepted_on_timeout:
        parts.append("what was put stands when not contested in time")
    parts.extend(f"to be recorded: {duty}" for duty in s.duties)
    if s.decided_by:
        parts.append(f"on a missed deadline, the {s.decided_by} decides")
    bypass = "may be bypassed" if s.may_be_bypassed else "may not be bypassed"
    parts.append(f"{bypass} ({s.bypass_when})" if s.bypass_when else bypass)
    parts.append(f"level id '{s.stage.id}'")
    return "; ".join(parts)


@policies.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@home_option
@config_option
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
    found = warnings(policy)
    for warning in found:
        click.echo(f"Warning: {warning}")
    if _is_version_1(file):
        click.echo(
            f"{file.name} is in the version 1 policy language: formflow reads it as version 2. "
            f"'formflow policies migrate {file}' prints the version 2 text to save in its place."
        )
    click.echo(f"{file.name}: valid policy '{policy.id}' with {len(found)} warning(s).")
    click.echo(catalogue.placement(file))


def _is_version_1(file: Path) -> bool:
    return is_version_1(json.loads(file.read_text(encoding="utf-8")))


@policies.command("migrate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def migrate_policy(file: Path) -> None:
    """Print a version 1 procedure file in the version 2 policy language: the same levels,
    the same deadlines. Version 2 files are printed as they are.

    \b
    Example:
      formflow policies migrate merton.json > merton.v2.json && mv merton.v2.json merton.json
    """
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file} cannot be read: {exc}") from exc
    # policy_data gives the version 2 data of either version.
    click.echo(policy_json(policy_data(text, file.name)), nl=False)


def policy_json(data: dict[str, object]) -> str:
    """A policy as JSON text, with short lists on one line, as the built-in files are."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return re.sub(r"\[\n(\s+\"[^\"\n]*\",?\n)+\s*\]", _one_line, text) + "\n"


def _one_line(match: re.Match[str]) -> str:
    one = json.dumps(json.loads(match.group(0)), ensure_ascii=False)
    return one if len(one) < 100 else match.group(0)
