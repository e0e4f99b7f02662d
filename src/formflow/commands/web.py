"""The dashboard's commands: ``serve``, and ``users add/remove/list/passwd`` for who may
sign in to it. Thin over ``formflow.web``; errors become "Error: ..." with exit status 1."""

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

from formflow.commands.logs import log_to_stderr
from formflow.commands.options import formflow_command, home_option, home_policies
from formflow.config import load_settings
from formflow.errors import AccountError, FormflowError
from formflow.outbox.folders import Home
from formflow.store.register import Register

if TYPE_CHECKING:
    from formflow.web.accounts import Accounts
    from formflow.web.server import Dashboard


def accounts_file(home: Path) -> Path:
    return home.resolve() / "var" / "users.db"


def start_dashboard(home: Home, *, host: str | None = None, port: int | None = None) -> Dashboard:
    """The dashboard bound and serving in a thread, its address printed."""
    from formflow.web.app import create_app
    from formflow.web.server import make_server

    settings = load_settings(home=home.root)
    if settings.register_url:  # it reads var/ directly: it would show an empty register
        raise FormflowError(
            "The dashboard does not yet read a register on PostgreSQL ([register] url or "
            "FORMFLOW_REGISTER_URL): use status, show and export meanwhile."
        )
    app = create_app(home, settings)
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
            f"`{formflow_command()} users add NAME --home {home.root}`.",
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
    place = Home(home.resolve())
    home_policies(place.root, load_settings(home=place.root))  # formflow.toml checked first
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    try:
        place.create()
        with Register(place.database):  # created and migrated before the threads open it
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
    yield Accounts(accounts_file(home))


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


@click.group()
def users() -> None:
    """Who may sign in to the dashboard (kept in HOME/var/users.db).

    \b
    Examples:
      formflow users add amara.okafor --home .
      formflow users add amara.okafor --sso --home .   # signs in through the proxy only
      formflow users list --home .
    """


@users.command("add")
@click.argument("name")
@click.option("--sso", is_flag=True, help="No password: signs in through the SSO proxy only.")
@home_option
def users_add(name: str, sso: bool, home: Path) -> None:
    """Add a user NAME; asks for the password twice (not with --sso).

    \b
    Example:
      formflow users add amara.okafor --home /srv/formflow
    """
    with _accounts(home) as accounts:
        accounts.add(name, None if sso else _new_password())
    click.echo(f"Added {name}.")


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
    """List the users and when each was added.

    \b
    Example:
      formflow users list --home /srv/formflow
    """
    with _accounts(home) as accounts:
        listed = accounts.users()
    for user in listed:
        how = "password" if user.has_password else "single sign-on only"
        click.echo(f"{user.name}  added {user.created}  ({how})")
    if not listed:
        click.echo(
            f"No users yet: add one with `{formflow_command()} users add NAME --home {home}`."
        )
