"""The service commands: watch, process, tick, status, show, export, report.

Each takes ``--home DIR`` (default: the current folder), which holds ``inbox/``,
``outbox/``, ``var/`` and an optional ``formflow.toml``. Thin over the library: errors
become "Error: ..." with exit status 1. Output names references, never children.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

import click

from formflow.commands.home import Context, opened, refresh_tracker
from formflow.commands.logs import log_to_stderr
from formflow.commands.options import home_option, iso_date
from formflow.config import tracker_live
from formflow.core.calendar import uk_date
from formflow.core.planning import awaiting_decisions, rehearse
from formflow.core.policy import STATUTORY_TOTAL_WORKING_DAYS
from formflow.errors import PolicyError
from formflow.outbox import files, folders
from formflow.pipeline import Outcome, Result
from formflow.pipeline.claims import BeingProcessed, being_processed
from formflow.reports import tables, tracker
from formflow.watch.supervisor import MAX_JOBS, Watcher, watch_options

verbose_option = click.option("-v", "--verbose", is_flag=True, help="Log each decision to stderr.")


def _echo_result(result: Result) -> None:
    click.echo(result.line(dt.datetime.now()))


@click.command()
@home_option
@click.option(
    "--poll",
    type=click.FloatRange(min=0.1),
    help="Poll every SECONDS instead of native events (SMB/CIFS/NFS shares).",
)
@click.option(
    "--settle",
    type=click.FloatRange(min=0),
    help="Read a file once its size and time are unchanged this long (default 2; 0.2 "
    "once native events see its writer close it).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=MAX_JOBS),
    help="Process up to N files side by side (default 4).",
)
@click.option(
    "--web",
    is_flag=True,
    help="Serve the dashboard beside the watcher (also when formflow.toml has [web]).",
)
@verbose_option
def watch(
    home: Path,
    poll: float | None,
    settle: float | None,
    jobs: int | None,
    web: bool,
    verbose: bool,
) -> None:
    """Watch HOME/inbox and process each form dropped there, until stopped.

    Prints one line per file: time, file name, outcome, reference. Outputs go to
    outbox/REFERENCE/, originals to var/archive/REFERENCE/, unusable files to
    inbox/rejected/ with NAME.errors.txt. Deadlines are chased every hour.
    outbox/tracker.xlsx and tracker.csv are rewritten after every change.

    \b
    Example:
      formflow watch --home /srv/formflow --poll 5
    """
    log_to_stderr(verbose)
    _quiet_resource_tracker()
    writer = tracker.TrackerWriter()  # cued for nothing while it is not started
    with opened(home, on_change=writer.changed) as ctx, ExitStack() as running:
        try:
            options = watch_options(ctx.settings, poll=poll, settle=settle, jobs=jobs)
            if web or "web" in ctx.settings.raw:
                from formflow.commands.web import start_dashboard

                running.callback(start_dashboard(ctx.home).stop)
        except OSError as exc:
            raise click.ClickException(str(exc)) from exc
        if tracker_live(ctx.settings):  # false: no tracker of every child on the share
            running.callback(writer.stop)
            writer.start(
                tracker.refresher_in_child(
                    ctx.home.register, ctx.home.outbox, ctx.policies, ctx.settings
                )
            )
        stop = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        # Both end the watch between files: Ctrl+C never lands in the middle of a step,
        # and a watcher started with SIGINT ignored (a background job) still stops on it.
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        # Everything made so far lives as long as the watch: out of the collector's sight,
        # it is not walked again by each full collection while forms are laid out here.
        # Imported here: WeasyPrint takes about a second to load, which `formflow status`
        # and the other commands in this module should not wait for.
        from formflow.render.pdf import settle_heap

        settle_heap()
        click.echo(f"Watching {ctx.home.inbox} (Ctrl+C to stop)", err=True)
        Watcher(ctx.pipeline, options, report=_echo_result, announce=_say).run(stop)
        click.echo("Stopped.", err=True)


def _say(text: str) -> None:
    click.echo(text, err=True)


QUIET_RESOURCE_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


def _quiet_resource_tracker() -> None:
    """After a kill -9 of the watcher, Python's resource tracker (the process that removes
    the semaphores of the PDF processes' queues) removes them and then warns, on the
    watcher's terminal, of "leaked semaphore objects": nothing an operator can act on.
    The tracker takes its warning settings from this process's when it starts."""
    if QUIET_RESOURCE_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(QUIET_RESOURCE_TRACKER)


@click.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@home_option
@verbose_option
def process(files: tuple[Path, ...], home: Path, verbose: bool) -> None:
    """Process FILES once, through the same steps as watch.

    Each file is first moved into HOME/inbox (so it is claimed, archived or rejected
    like any dropped form). Exit status 1 when any file was rejected.

    \b
    Example:
      formflow process --home . ~/Downloads/challenge-stage1.docx
    """
    from rich.progress import Progress

    log_to_stderr(verbose)
    with opened(home) as ctx:
        with Progress(transient=True, disable=len(files) < 5) as progress:
            task = progress.add_task("Processing", total=len(files))

            def shown(result: Result) -> None:
                progress.console.print(result.line(dt.datetime.now()), highlight=False)
                progress.advance(task)

            results = ctx.pipeline.process(files, shown)
        refresh_tracker(ctx, dt.date.today())
    if any(r.outcome in {Outcome.REJECTED, Outcome.RETRY} for r in results):
        sys.exit(1)


@click.command()
@home_option
@click.option("--today", callback=iso_date, help="The date to chase deadlines as of (YYYY-MM-DD).")
@click.option(
    "--rehearse",
    is_flag=True,
    help="Say what a chase on --today would do, changing nothing (for a day still to come).",
)
@verbose_option
def tick(home: Path, today: dt.date | None, rehearse: bool, verbose: bool) -> None:
    """Chase deadlines once: overdue responses move on, the IRO is reminded of actions due.

    A day later than today is only rehearsed: moving challenges on before their time would
    date stages in the future.

    \b
    Example:
      formflow tick --home . --today 2025-11-20
      formflow tick --home . --today 2027-01-11 --rehearse
    """
    log_to_stderr(verbose)
    day = today or dt.date.today()
    if day > dt.date.today() and not rehearse:
        raise click.BadParameter(
            f"{day.isoformat()} is later than today: a chase moves challenges on as they "
            "stand today. To see what a chase on that day would do, without changing "
            "anything, add --rehearse.",
            param_hint="--today",
        )
    with opened(home) as ctx:
        if rehearse:
            _rehearse(ctx, day)
            return
        ctx.pipeline.recover()
        results = ctx.pipeline.chase_deadlines(day)
        for result in results:
            click.echo(f"{result.reference}  {result.message}")
        ctx.pipeline.send_notices()
        if results:
            refresh_tracker(ctx, day)
        waiting = awaiting_decisions(
            ctx.register.challenges(open_only=True), ctx.policies, ctx.settings, day
        )
        for line in waiting:
            click.echo(line)
        if not results and not waiting:
            click.echo("Nothing is overdue.")


def _rehearse(ctx: Context, day: dt.date) -> None:
    said = rehearse(
        ctx.register.challenges(), ctx.policies, ctx.settings, day, ctx.register.reminded
    )
    click.echo(f"Rehearsal for {uk_date(day)}: nothing has been changed.")
    for reference, message in said:
        click.echo(f"{reference}  {message}")
    if not said:
        click.echo("Nothing would be overdue.")


@click.command()
@home_option
@click.option("--today", callback=iso_date, help="Judge overdue as of this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(home: Path, today: dt.date | None, as_json: bool) -> None:
    """List open challenges: who must respond and by when; overdue ones in red. Then the
    files the watcher is working on (or that a stop left half done), and what each
    server is processing now, by the register's claims.

    --json prints {"challenges": [...], "files_in_progress": [...], "being_processed": [...]}.

    \b
    Example:
      formflow status --home .
    """
    from rich.console import Console
    from rich.table import Table

    with opened(home, create=False) as ctx:
        rows = tables.status_rows(
            ctx.register.challenges(open_only=True),
            ctx.policies,
            ctx.settings.calendar,
            today or dt.date.today(),
        )
        working = _files_in_progress(ctx)
        now = being_processed(ctx.register, ctx.settings.takeover_seconds)
    if as_json:
        whole = {
            "challenges": [r.__dict__ for r in rows],
            "files_in_progress": working,
            "being_processed": [claim.__dict__ for claim in now],
        }
        click.echo(json.dumps(whole, indent=2))
        return
    table = Table(title=f"Open challenges ({len(rows)})")
    table.add_column("Reference", no_wrap=True)
    for column in ("Child", "Stage", "Status", "Responder"):
        table.add_column(column)
    table.add_column("Due", no_wrap=True)
    for r in rows:
        style = "bold red" if r.overdue else None
        due = f"{r.due} (overdue)" if r.overdue else r.due or r.due_note
        table.add_row(r.reference, r.child, r.stage, r.status, r.responder, due, style=style)
    Console().print(table)
    if working:
        click.echo(f"Files in progress ({len(working)}), in {ctx.home.claims}:")
    for file in working:
        click.echo(f"  {file['file']}  since {file['claimed_at']}  (attempt {file['attempts']})")
    _echo_being_processed(now)


def _echo_being_processed(now: list[BeingProcessed]) -> None:
    """Who works on what now, by the register's claims (nothing when nobody does)."""
    if now:
        click.echo(f"Being processed now ({len(now)}):")
    for claim in now:
        what = claim.what if claim.kind == "file" else f"staging folder {claim.what}"
        if claim.reference:
            what += f" ({claim.reference})"
        stale = " (stale: another server may take it over)" if claim.stale else ""
        click.echo(
            f"  {what}  by {claim.host}, process {claim.pid}: "
            f"last heartbeat {claim.heartbeat_seconds_ago:.0f} s ago{stale}"
        )


def _files_in_progress(ctx: Context) -> list[dict[str, object]]:
    """The forms claimed and not yet finished: a watcher works on them now, or a stop left
    them for its next start. Listed by the name they were dropped under."""
    claims = ctx.home.claims
    names = (
        sorted(p.name for p in claims.iterdir() if not p.name.startswith("."))
        if claims.is_dir()
        else []
    )
    working: list[dict[str, object]] = []
    for claim in names:
        noted = ctx.register.file(claim)
        working.append(
            {
                "file": files.printable(folders.original_name(claim)),
                "claimed_at": noted.claimed_at if noted else claim[:15],
                "attempts": noted.attempts if noted else 0,
            }
        )
    return working


@click.command()
@click.argument("reference")
@home_option
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: the whole timeline (who, when, why, files), the record (the child by "
    "initials), deadlines, documents and notices.",
)
def show(reference: str, home: Path, as_json: bool) -> None:
    """Show one challenge's timeline: stages, files received, documents, reminders.

    \b
    Example:
      formflow show PC-2025-7KQ3XM --home .
      formflow show PC-2025-7KQ3XM --home . --json
    """
    with opened(home, create=False) as ctx:
        challenge = ctx.register.challenge(reference.upper())
        if challenge is None:
            raise click.ClickException(f"There is no challenge {reference} in the register.")
        if as_json:
            shown = tables.challenge_json(ctx.register, challenge)
            click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
            return
        events = ctx.register.events(challenge.reference)
        documents = ctx.register.documents(challenge.reference)
        try:
            procedure = ctx.policies(challenge.policy).name
        except PolicyError:  # its file gone since: the id is all there is to show
            procedure = challenge.policy
    click.echo(f"{challenge.reference}  {procedure}  {challenge.stage.label}")
    for entry in tables.timeline(challenge, events):
        click.echo(f"  {entry.when}  {entry.what}")
    for document in documents:
        click.echo(f"  document: {ctx.home.outbox / document.path} ({document.kind})")


@click.command()
@home_option
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--xlsx", "xlsx_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--today", callback=iso_date, help="Judge due dates as of this date.")
def export(
    home: Path, csv_file: Path | None, xlsx_file: Path | None, today: dt.date | None
) -> None:
    """Write the tracking spreadsheet business support keep: one row per challenge.

    \b
    Example:
      formflow export --home . --xlsx challenges.xlsx
    """
    if csv_file is None and xlsx_file is None:
        raise click.UsageError("Give --csv FILE or --xlsx FILE (or both).")
    with opened(home, create=False) as ctx:
        rows = tables.export_table(
            ctx.register.challenges(), ctx.policies, ctx.settings.calendar, today or dt.date.today()
        )
    if csv_file:
        tables.write_csv(rows, csv_file)
        click.echo(f"Wrote {len(rows)} challenge(s) to {csv_file}")
    if xlsx_file:
        tables.write_xlsx(rows, xlsx_file)
        click.echo(f"Wrote {len(rows)} challenge(s) to {xlsx_file}")


@click.command()
@home_option
@click.option("--year", type=int, required=True, help="Challenges raised in this year.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def report(home: Path, year: int, as_json: bool) -> None:
    """Figures for a year: raised, resolved at each stage, themes, time to resolve, CAFCASS.

    \b
    Example:
      formflow report --home . --year 2025 --json
    """
    with opened(home, create=False) as ctx:
        figures = tables.year_report(ctx.register.challenges(), year, ctx.settings.calendar)
    if as_json:
        click.echo(json.dumps(figures.as_dict(), indent=2))
        return
    click.echo(f"Challenges raised in {year}: {figures.raised}")
    for where, count in figures.where_ended():
        click.echo(f"  {where}: {count}")
    click.echo(f"CAFCASS referrals asked for: {figures.cafcass_referrals}")
    if figures.median_working_days_to_resolve is not None:
        click.echo(f"Median working days to resolve: {figures.median_working_days_to_resolve:g}")
    if figures.resolved_within_timescale is not None:
        click.echo(
            f"Resolved within {STATUTORY_TOTAL_WORKING_DAYS} working days: "
            f"{figures.resolved_within_timescale:.0%}"
        )
    for theme, count in figures.themes.items():
        click.echo(f"  theme: {theme}: {count}")
