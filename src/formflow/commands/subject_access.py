"""``formflow subject-access``: a child's own record, bundled for the records team."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from formflow.commands.home import opened
from formflow.commands.options import home_option, iso_date
from formflow.reports.subject_access import write_subject_access


@click.command("subject-access")
@home_option
@click.option("--case", "case_number", help="The child's LCS number, such as LCS-000123.")
@click.option(
    "--name", help="The child's name (with --date-of-birth), when there is no LCS number."
)
@click.option("--date-of-birth", callback=iso_date, help="The child's date of birth (YYYY-MM-DD).")
@click.option(
    "--out",
    "folder",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="The folder to write the bundle into (it must exist; nothing is written elsewhere).",
)
@click.option("--by", "by", required=True, help="Who makes the request (name and role).")
def subject_access(
    home: Path,
    case_number: str | None,
    name: str | None,
    date_of_birth: dt.date | None,
    folder: Path,
    by: str,
) -> None:
    """Write every challenge about one child (timelines, documents, original forms, and an
    index naming everyone else the record names) as a PDF bundle and a zip into FOLDER,
    for the records team to review before release. The request is audited.

    \b
    Example:
      formflow subject-access --case LCS-000123 --out /secure/sar-2026-041 \\
          --by "Ada Lovell, Records Manager" --home /srv/formflow
    """
    with opened(home, create=False) as ctx:
        bundle = write_subject_access(
            ctx.home,
            ctx.register,
            folder,
            council_name=ctx.settings.council_name,
            by=by,
            now=dt.datetime.now(),
            case_number=case_number,
            name=name,
            date_of_birth=date_of_birth,
        )
    click.echo(f"{len(bundle.references)} challenge(s): {', '.join(bundle.references)}.")
    click.echo(f"Written: {bundle.pdf} and {bundle.zip}.")
    click.echo(f"{len(bundle.named)} other people named: see the index before release.")
