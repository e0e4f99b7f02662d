"""The dashboard's commands: ``serve``, and ``users add/remove/role/list/passwd`` for who
may sign in to it and with which role. Thin over ``formflow.web``; errors become "Error: ..." with exit status 1."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from formflow.commands.home import home_of
from formflow.commands.logs import log_to_stderr
from formflow.commands.options import formflow_command, home_option, home_policies
from formflow.config import directory_entries, load_settings
from formflow.errors import AccountError, FormflowError
from formflow.outbox.folders import Home
from formflow.store.register import Register

if TYPE_CHECKING:
    from formflow.web.accounts import Accounts
    from formflow.web.server import Dashboard


def start_dashboard(home: Home, *, host: str | None = None, port: int | None = None) -> Dashboard:
    """The dashboard bound and serving in a thread, its address printed."""
    from formflow.web.app import create_app
    from formflow.web.server import make_server

    app = create_app(home, load_settings(home=home.root))
    web = app.extensions["formflow"].web
    try:
        dashboard = make_server(app, web, host=host, port=port).start()
    except OSError as exc:
        raise FormflowError(
            f"The dashboard cannot listen on {host or web.host} port {web.port if port is None else port}: "
            f"{exc.strerror or exc}. Choose another with [web] port in formflow.toml (or --port)."
        ) from exc
    click.echo(f"Dashboard at {dashboard.url}", err=True)
    if not app.extensions["formflow"].accounts.users():
        click.echo(
            f"No one can sign in yet: create a user with "
            f"`{formflow_command()} users add NAME --role admin --home {home.root}`.",
            err=True,
        )
    return dashboard


@click.command()
@home_option
@click.option("--host", help="Address to listen on (default 127.0.0.1, or [web] host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default 8080, or [web] port).")
def serve(home: Path, host: str | None, port: int | None) -> None:
    """Serve the dashboard: open challenges, each challenge's timeline and documents,
    the annual figures and the rejected files, to signed-in users only.

    `formflow watch` starts it too when formflow.toml has a [web] section (or with --web).

    \b
    Example:
      formflow serve --home /srv/formflow --port 8080
    """
    os.umask(0o077)
    log_to_stderr(verbose=False)  # as `watch` logs: warnings, and the dashboard's audit lines
    settings = load_settings(home=home.resolve())
    place = home_of(home, settings)
    home_policies(place.root, settings)  # formflow.toml checked first
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    try:
        place.create()
        with Register(place.register):  # created and migrated before the threads open it
            dashboard = start_dashboard(place, host=host, port=port)
    except OSError as exc:
        raise click.ClickException(str(exc)) from exc
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo("Press Ctrl+C to stop.", err=True)
    stop.wait()
    dashboard.stop()
    click.echo("Stopped.", err=True)


@contextmanager
def _accounts(home: Path) -> Iterator[Accounts]:
    from formflow.web.accounts import Accounts

    os.umask(0o077)
    settings = load_settings(home=home.resolve())
    accounts = Accounts.of(home_of(home, settings))
    try:
        yield accounts
    finally:
        accounts.close()


def _new_password() -> str:
    """Asked until it is long enough and typed the same twice: a mistake asks again,
    never ends the command."""
    from formflow.web.accounts import MIN_PASSWORD_LENGTH, check_password

    def usable(password: str) -> str:
        try:
            return check_password(password)
        except AccountError as exc:
            raise click.BadParameter(str(exc)) from exc

    password: str = click.prompt(
        f"Password (at least {MIN_PASSWORD_LENGTH} characters)",
        hide_input=True,
        confirmation_prompt=True,
        value_proc=usable,
    )
    return password


ROLE_HELP = (
    "admin, iro-service, business-support, manager (needs --person) or viewer: "
    "what the user may see and do on the dashboard."
)


def _checked_person(home: Path, role: str, person: str | None) -> str | None:
    """The ``[directory]`` person a user is tied to: one the directory names, and always
    given for a manager, who sees only the challenges addressed to that person or team."""
    if person is None:
        if role == "manager":
            raise click.ClickException(
                "A manager sees only the challenges addressed to them or their team: say who "
                'they are with --person "Full Name", as [directory] in formflow.toml names them.'
            )
        return None
    known = directory_entries(load_settings(home=home.resolve()))
    if person not in known:
        raise click.ClickException(
            f"{person!r} is not in [directory] of formflow.toml: add them there (with their "
            'email and team, e.g. "Priya Raman" = { email = "...", team = "..." }) first.'
        )
    return person


@click.group()
def users() -> None:
    """Who may sign in to the dashboard, and with which role (kept beside the register:
    HOME/var/users.db, or its PostgreSQL database).

    \b
    Examples:
      formflow users add amara.okafor --role business-support --home .
      formflow users add priya --role manager --person "Priya Raman" --sso --home .
      formflow users role priya viewer --home .
      formflow users list --home .
    """


@users.command("add")
@click.argument("name")
@click.option("--role", "role", required=True, help=ROLE_HELP)
@click.option("--person", help='The person in [directory] the user is, e.g. "Priya Raman".')
@click.option("--sso", is_flag=True, help="No password: signs in through the SSO proxy only.")
@home_option
def users_add(name: str, role: str, person: str | None, sso: bool, home: Path) -> None:
    """Add a user NAME with a role; asks for the password twice (not with --sso).

    \b
    Example:
      formflow users add amara.okafor --role business-support --home /srv/formflow
    """
    from formflow.web.accounts import check_role

    with _accounts(home) as accounts:
        try:
            check_role(role)
        except AccountError as exc:
            raise click.BadParameter(str(exc), param_hint="--role") from exc
        tied = _checked_person(home, role, person)
        accounts.add(name, None if sso else _new_password(), role=role, person=tied)
    click.echo(f"Added {name} ({role}{f', {tied}' if tied else ''}).")


@users.command("role")
@click.argument("name")
@click.argument("role")
@click.option("--person", help='The person in [directory] the user is, e.g. "Priya Raman".')
@home_option
def users_role(name: str, role: str, person: str | None, home: Path) -> None:
    """Give the user NAME the role ROLE (and the person, with --person); at once.

    \b
    Example:
      formflow users role priya manager --person "Priya Raman" --home /srv/formflow
    """
    with _accounts(home) as accounts:
        user = accounts.user(name)
        if user is None:
            raise click.ClickException(f"There is no user {name}.")
        accounts.set_role(name, role, _checked_person(home, role, person or user.person))
    click.echo(f"{name} is now {role}.")


@users.command("remove")
@click.argument("name")
@home_option
def users_remove(name: str, home: Path) -> None:
    """Remove the user NAME; their sessions end at once.

    \b
    Example:
      formflow users remove amara.okafor --home /srv/formflow
    """
    with _accounts(home) as accounts:
        accounts.remove(name)
    click.echo(f"Removed {name}.")


@users.command("passwd")
@click.argument("name")
@home_option
def users_passwd(name: str, home: Path) -> None:
    """Set a new password for NAME; their sessions end at once.

    \b
    Example:
      formflow users passwd amara.okafor --home /srv/formflow
    """
    with _accounts(home) as accounts:
        if not accounts.exists(name):
            raise click.ClickException(f"There is no user {name}.")
        accounts.set_password(name, _new_password())
    click.echo(f"Changed the password of {name}.")


@users.command("list")
@home_option
def users_list(home: Path) -> None:
    """List the users: role, the [directory] person and team, when each was added.

    \b
    Example:
      formflow users list --home /srv/formflow
    """
    with _accounts(home) as accounts:
        listed = accounts.users()
    directory = directory_entries(load_settings(home=home.resolve()))
    for user in listed:
        how = "password" if user.has_password else "single sign-on only"
        entry = directory.get(user.person) if user.person else None
        who = f"  {user.person}" + (f", {entry.team}" if entry and entry.team else "")
        line = (
            f"{user.name}  {user.role}{who if user.person else ''}  added {user.created}  ({how})"
        )
        if not user.role_set:
            line += (
                "  [admin because added before roles: set one with "
                f"`{formflow_command()} users role {user.name} ROLE`]"
            )
        click.echo(line)
    if not listed:
        click.echo(
            f"No users yet: add one with `{formflow_command()} users add NAME --role admin "
            f"--home {home}`."
        )
