"""Option parsing shared by the command modules."""

from __future__ import annotations

import datetime as dt
import difflib
import shutil
import sys
from pathlib import Path

import click

from formflow.config import Settings, settings_to_correct
from formflow.core.record import LEVEL_ID_PATTERN, REFERENCE_PATTERN, Stage
from formflow.errors import PolicyError
from formflow.pipeline import notices
from formflow.policy_catalogue import PolicyCatalogue

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder holding inbox/, outbox/, var/ (the register), formflow.toml and policies/.",
)

config_option = click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default: HOME/formflow.toml if present).",
)


def home_policies(home: Path, settings: Settings) -> PolicyCatalogue:
    """The home's procedures, each council file that overrides another said on stderr,
    with the settings checked against them: every command reads a home through here."""
    catalogue = PolicyCatalogue.for_home(home, settings)
    check_settings(settings, catalogue)
    for notice in catalogue.notices():
        click.echo(f"Note: {notice}", err=True)
    return catalogue


def checked_reference(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """A click callback: a reference as typed (any case, spaces round it), or a usage
    error that shows how one is written."""
    written = value.strip().upper()
    if not REFERENCE_PATTERN.match(written):
        raise click.BadParameter(
            f"{value!r} is not a formflow reference: write it as on the form, such as "
            "PC-2025-7KQ3XM."
        )
    return written


def checked_references(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[str]:
    """A click callback for several references, each checked as ``checked_reference`` does."""
    return [checked_reference(ctx, param, value) for value in values]


def iso_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    """A click callback: YYYY-MM-DD to a date, or a usage error that says how to write it."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: write it as YYYY-MM-DD.") from None


def level_id(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Stage | None:
    """A click callback: a level id as typed (``1``, ``Informal``, ``case-alert``); the
    procedure then says whether it has that level. None where the option has no default."""
    if value is None:
        return None
    text = value.strip().lower()
    if not LEVEL_ID_PATTERN.match(text):
        raise click.BadParameter(f"'{value}' is not a level id, such as informal, 1 or alert.")
    return Stage(text)


def check_settings(settings: Settings, catalogue: PolicyCatalogue) -> None:
    """At the start of every command, what ``load_settings`` cannot check alone: the
    default procedure and the roles in ``[directory]`` against the procedures, and the
    sections the watcher and the dashboard read (by their own readers)."""
    problems: list[str] = []
    if "default_policy" in settings.raw.get("council", {}):
        try:
            catalogue.entry(settings.default_policy)
        except PolicyError as exc:
            problems.append(f"{settings.where('council', 'default_policy')}: {exc}")
    roles = _directory_roles(catalogue)
    for key in settings.raw.get("directory", {}):
        close = _misspelt(key, roles)
        if close is not None:
            problems.append(
                f"{settings.where('directory', key)}: no procedure has a role called "
                f"'{key}': did you mean '{close}'? (Roles are written as the procedures "
                "write them: `formflow policies show ID`.)"
            )
    if problems:
        raise settings_to_correct(settings.source, problems)
    if "watch" in settings.raw:
        from formflow.watch.supervisor import watch_options

        watch_options(settings)
    if "web" in settings.raw:
        from formflow.web.app import web_settings

        web_settings(settings)


def _directory_roles(catalogue: PolicyCatalogue) -> set[str]:
    """The roles of every procedure the home can read (one that cannot be read is said
    when it is used, as before)."""
    roles: set[str] = set()
    for policy_id in catalogue.ids():
        try:
            roles |= notices.directory_roles(catalogue(policy_id))
        except PolicyError:
            continue
    return roles


def _misspelt(key: str, roles: set[str]) -> str | None:
    """The role ``key`` is a slip for (another case, a letter or two), or None: a role
    the procedures know, or a person's name."""
    if key in roles:
        return None
    same = [role for role in roles if role.casefold() == key.casefold()]
    close = same or difflib.get_close_matches(key, sorted(roles), n=1, cutoff=0.9)
    return close[0] if close else None


def formflow_command() -> str:
    """formflow as the person at this terminal can run it, for hints: bare where the
    shell finds this same program on the PATH, else its path (after `make run` it is
    .venv/bin/formflow, which is not on the PATH)."""
    installed = Path(sys.executable).parent / "formflow"
    found = shutil.which("formflow")
    if not installed.exists() or (found and Path(found).resolve() == installed.resolve()):
        return "formflow"
    try:
        return str(installed.relative_to(Path.cwd()))
    except ValueError:
        return str(installed)
