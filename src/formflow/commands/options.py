"""Option parsing shared by the command modules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from formflow.config import Settings
from formflow.core.record import LEVEL_ID_PATTERN, Stage
from formflow.policy_catalogue import PolicyCatalogue

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder holding inbox/, outbox/, var/ (the register), formflow.toml and policies/.",
)


def home_policies(home: Path, settings: Settings) -> PolicyCatalogue:
    """The home's procedures, each council file that overrides another said on stderr."""
    catalogue = PolicyCatalogue.for_home(home, settings)
    for notice in catalogue.notices():
        click.echo(f"Note: {notice}", err=True)
    return catalogue


def iso_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    """A click callback: YYYY-MM-DD to a date, or a usage error that says how to write it."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: write it as YYYY-MM-DD.") from None


def level_id(_ctx: click.Context, _param: click.Parameter, value: str) -> Stage:
    """A click callback: a level id as typed (``1``, ``Informal``, ``case-alert``); the
    procedure then says whether it has that level."""
    text = value.strip().lower()
    if not LEVEL_ID_PATTERN.match(text):
        raise click.BadParameter(f"'{value}' is not a level id, such as informal, 1 or alert.")
    return Stage(text)
