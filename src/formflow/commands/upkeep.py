"""The commands for whoever runs the service: check, backup, restore.

Each takes ``--home DIR``. None of them repairs anything silently: ``check`` reports,
``backup`` copies, ``restore`` refuses a backup that fails its sums or a home in use.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from formflow.commands.home import home_of, opened
from formflow.commands.options import home_option
from formflow.commands.retention import NOT_CONFIGURED, schedule_of
from formflow.config import load_settings, register_url_problem
from formflow.store.backup import backup_home, restore_home
from formflow.store.check import CheckReport, check_home
from formflow.store.copy import copy_register
from formflow.store.register import Register
from formflow.store.sealed import is_sealed, restore_sealed, sealed_backup
from formflow.web.accounts import users_copied


def _print_report(report: CheckReport, as_json: bool, notes: tuple[str, ...] = ()) -> None:
    if as_json:
        whole = report.as_dict() | {"notes": list(notes)}
        click.echo(json.dumps(whole, indent=2, ensure_ascii=False))
    else:
        for note in notes:
            click.echo(f"Note: {note}")
        counts = ", ".join(f"{what} {n}" for what, n in report.counts.items())
        click.echo(f"Checked the register: {counts}.")
        for line in report.in_progress:
            click.echo(f"  in progress: {line}")
        for finding in report.problems:
            click.echo(f"  PROBLEM ({finding.kind}): {finding.message}")
        click.echo(
            "The register agrees with the archive and the outbox."
            if report.ok
            else f"{len(report.problems)} problem(s) found; nothing was changed."
        )
    if not report.ok:
        sys.exit(1)


@click.command()
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def check(home: Path, as_json: bool) -> None:
    """Check the register (SQLite's integrity check) and that it agrees with the archive
    and the outbox. Prints each disagreement; exit status 1 if there is any. Safe while
    the watcher runs: files it is working on are listed as in progress.

    \b
    Example:
      formflow check --home /srv/formflow
    """
    with opened(home, create=False) as ctx:
        report = check_home(ctx.home, ctx.register)
        configured = schedule_of(ctx.settings).configured
    _print_report(report, as_json, () if configured else (NOT_CONFIGURED,))


@click.group("register")
def register_group() -> None:
    """Move the register between SQLite and PostgreSQL (each command takes --home).

    \b
    Examples:
      formflow register copy --home /srv/formflow --to postgresql://formflow@db.example.org/formflow
      formflow register copy --home /srv/new --from postgresql://formflow@db.example.org/formflow
    """


def _register_at(place: str) -> str | Path:
    """A register named on the command line: a PostgreSQL URL, or a SQLite file."""
    if not place.startswith("postgresql"):
        return Path(place)
    problem = register_url_problem(place, in_file=False)
    if problem:
        raise click.BadParameter(f"The register's address {problem}.")
    return place


@register_group.command("copy")
@home_option
@click.option("--to", "to", help="Copy HOME's register into this new, empty one (URL or file).")
@click.option("--from", "from_", help="Copy this register (URL or file) into HOME's, empty.")
def copy(home: Path, to: str | None, from_: str | None) -> None:
    """Copy a whole register between SQLite and PostgreSQL, into an empty one, and prove
    every row arrived unchanged; then check the copy against the archive and outbox.
    Stop the watchers first: what they write meanwhile is not copied.

    \b
    Examples:
      FORMFLOW_REGISTER_URL= formflow register copy --to postgresql://formflow@db/formflow
      formflow register copy --from /srv/old/var/formflow.db --home /srv/formflow
    """
    if (to is None) == (from_ is None):
        raise click.UsageError("Give either --to or --from: where to copy the register.")
    other_place = _register_at(to or from_ or "")
    with opened(home, create=from_ is not None) as ctx, Register(other_place) as other:
        source, target = (ctx.register, other) if to else (other, ctx.register)
        places = (ctx.home.register, other_place) if to else (other_place, ctx.home.register)
        with users_copied(*places) as copy_users:
            copied = copy_register(source, target)
            users = copy_users()
        counts = ", ".join(f"{table} {n}" for table, n in copied.counts.items())
        click.echo(f"Copied the register ({source.engine_name} to {target.engine_name}): {counts}.")
        click.echo("Every row is the same in both (counts and each row's SHA-256).")
        click.echo(f"Copied {users} dashboard user(s), with their roles; each signs in again.")
        report = check_home(ctx.home, target)
    _print_report(report, as_json=False)


@click.command()
@home_option
@click.argument("destination", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--encrypt-to",
    "recipients",
    multiple=True,
    help="Encrypt the backup to this age public key (age1...); repeat for more than one.",
)
def backup(home: Path, destination: Path, recipients: tuple[str, ...]) -> None:
    """Copy the register (consistently, while the watcher runs), the dashboard's users, the
    archived originals, the outbox documents and the settings into DESTINATION, a new
    folder, with a manifest of SHA-256 sums; with --encrypt-to, as one file encrypted
    with age.

    \b
    Examples:
      formflow backup --home /srv/formflow /backups/formflow-2026-12-01
      formflow backup --home /srv/formflow /mnt/offsite/formflow-2026-12-01 \\
          --encrypt-to age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
    """
    with opened(home, create=False) as ctx:
        if recipients:
            summary = sealed_backup(
                ctx.home, ctx.register, destination, list(recipients), users=users_copied
            )
        else:
            summary = backup_home(ctx.home, ctx.register, destination, users=users_copied)
    sealed = " (encrypted)" if recipients else ""
    click.echo(
        f"Backed up {summary.challenges} challenge(s): {summary.files} file(s), "
        f"{summary.bytes / 1e6:.1f} MB{sealed}, into {summary.destination}"
    )
    for missing in summary.missing:
        click.echo(f"  not found, not in the backup: {missing}", err=True)
    if summary.missing:
        click.echo("Run `formflow check` on the home to see why.", err=True)
        sys.exit(1)


@click.command()
@home_option
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--identity",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The private key file of an encrypted backup (from age-keygen).",
)
def restore(home: Path, source: Path, identity: Path | None) -> None:
    """Restore the backup in SOURCE into HOME, which must have no register, archive or
    outbox yet, and whose register has no dashboard users yet. Every file's SHA-256 is
    checked first; then the restored home is checked.
    An encrypted backup needs --identity.

    \b
    Examples:
      formflow restore --home /srv/formflow-restored /backups/formflow-2026-12-01
      formflow restore --home /srv/formflow-restored /mnt/offsite/formflow-2026-12-01 \\
          --identity /media/keys/formflow-backup.key
    """
    settings = load_settings(home=home.resolve())
    target = home_of(home, settings)
    if is_sealed(source):
        count = restore_sealed(source, identity, target, users=users_copied)
    else:
        count = restore_home(source, target, users=users_copied)
    with Register(target.register) as register:
        report = check_home(target, register)
    click.echo(f"Restored {count} file(s) into {target.root}.")
    _print_report(report, as_json=False)
