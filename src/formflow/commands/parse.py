"""``formflow parse``: read one completed form and print its record, or why it was rejected."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from formflow.commands.options import home_option, home_policies
from formflow.config import load_settings
from formflow.errors import RejectedForm
from formflow.intake import read_form


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="On rejection too, print a JSON object (file, reasons) on stdout instead of text.",
)
@click.option("--policy", "policy_id", help="Procedure id, overriding the form's Procedure box.")
@home_option
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default: HOME/formflow.toml if present).",
)
def parse(
    file: Path, as_json: bool, policy_id: str | None, home: Path, config: Path | None
) -> None:
    """Read a completed challenge form (.docx or PDF) and print its record as JSON.

    A value the form does not state but that it or the procedure settles (the role
    written after the name in From, say) is inferred, with a note on stderr. A form that
    cannot become a record is rejected: each reason is printed on stderr, one
    per line, and the exit status is 1.

    \b
    Example:
      formflow parse inbox/challenge-stage1.docx
      formflow parse --policy rotherham --json ./-odd-name.pdf
    """
    try:
        settings = load_settings(config, home=home)
        policies = home_policies(home, settings)
        challenge = read_form(file, policies=policies, policy_id=policy_id, settings=settings)
    except RejectedForm as rejection:
        _report(file, rejection.reasons, as_json)
        sys.exit(1)
    for inference in challenge.inferred:
        click.echo(
            f"Note: {inference.field} inferred as '{inference.value}': {inference.reason}", err=True
        )
    click.echo(json.dumps(challenge.to_dict(), indent=2, ensure_ascii=False))


def _report(file: Path, reasons: list[str], as_json: bool) -> None:
    if as_json:
        payload = {"file": file.name, "accepted": False, "reasons": reasons}
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    click.echo(f"{file.name} was not accepted:", err=True)
    for reason in reasons:
        click.echo(f"- {reason}", err=True)
