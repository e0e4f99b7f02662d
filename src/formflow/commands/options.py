"""Option parsing shared by the command modules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder holding inbox/, outbox/, var/ (the register) and formflow.toml.",
)


def iso_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    """A click callback: YYYY-MM-DD to a date, or a usage error that says how to write it."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: write it as YYYY-MM-DD.") from None
