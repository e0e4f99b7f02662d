"""A home opened for one command: its settings, procedures, register and pipeline.

Shared by the service, event and upkeep commands. Errors are not caught here: the
``formflow`` group turns every ``FormflowError`` into "Error: ..." (``formflow.cli``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import click

from formflow.commands.options import formflow_command, home_policies
from formflow.config import Settings, load_settings, tracker_live
from formflow.errors import FormflowError
from formflow.outbox.folders import Home
from formflow.pipeline import Pipeline, Services
from formflow.policy_catalogue import PolicyCatalogue
from formflow.reports import tracker
from formflow.store.register import Register
from formflow.store.retention import finish_disposals


@dataclass
class Context:
    home: Home
    settings: Settings
    policies: PolicyCatalogue
    register: Register
    pipeline: Pipeline


def home_of(home_dir: Path, settings: Settings) -> Home:
    """The home at ``home_dir`` as its settings place it: their file mode, the register
    on PostgreSQL where they name one (else SQLite in var/), and the inbox, outbox and
    archive on a shared folder where ``[folders] shared`` names one."""
    return Home(
        home_dir.resolve(), settings.file_mode, settings.register_url, settings.shared_folder
    )


def echo_written(home: Home, outputs: Iterable[str]) -> None:
    """Each document published, by its whole path: paths under the outbox, which
    ``[folders] shared`` may put on a share rather than in the home."""
    for path in outputs:
        click.echo(f"  written: {home.outbox / path}")


@contextmanager
def opened(
    home_dir: Path, *, create: bool = True, on_change: Callable[[], None] | None = None
) -> Iterator[Context]:
    """The home at ``home_dir``, made if ``create`` (else its register must exist); the
    register is closed when the command is done."""
    if create:
        os.umask(0o077)  # children's records: everything written is the service account's only
    settings = load_settings(home=home_dir.resolve())
    home = home_of(home_dir, settings)
    policies = home_policies(home.root, settings)
    if create:
        home.create()
    elif home.register_url is None and not home.database.exists():
        raise FormflowError(
            f"There is no register in {home.root}: run `{formflow_command()} watch --home "
            f"{home_dir}` or `{formflow_command()} process` there first."
        )
    register = Register(home.register)
    try:
        finish_disposals(home, register)  # one a kill interrupted after it committed
        services = Services(home, settings, policies)
        if on_change is not None:
            services = replace(services, on_change=on_change)
        yield Context(home, settings, policies, register, Pipeline(register, services))
    finally:
        register.close()


def refresh_tracker(ctx: Context, today: dt.date) -> None:
    """The live tracker after a one-off command changed the register (the watcher keeps
    it up to date after its own changes); none with ``[tracker] live = false``."""
    if not tracker_live(ctx.settings):
        return
    for skipped in tracker.refresh(
        ctx.register, ctx.home.outbox, ctx.policies, ctx.settings, today
    ).skipped:
        click.echo(f"{skipped} is open elsewhere: it is rewritten at the next change.", err=True)
