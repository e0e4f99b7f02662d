"""``formflow new``, ``formflow render`` and ``formflow pack``: the documents, from the shell."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from functools import partial
from pathlib import Path

import click

from formflow.commands.home import echo_written, home_of, opened
from formflow.commands.options import config_option, home_option, home_policies, iso_date, level_id
from formflow.config import Settings, load_settings
from formflow.core.calendar import uk_date
from formflow.core.engine import assess
from formflow.core.record import Challenge, LegalStatus, Role, Stage
from formflow.intake import read_form
from formflow.outbox.folders import Home
from formflow.pipeline.packs import PACKED, CafcassPacks
from formflow.policy_catalogue import PolicyCatalogue
from formflow.render import (
    Writer,
    write_cafcass_pack,
    write_closure_note,
    write_final_record,
    write_next_stage,
)
from formflow.sample import NewForm, Prefill, write_new_form
from formflow.schema import schema_errors
from formflow.store.register import Register

KINDS: dict[str, Writer] = {
    "next-stage": write_next_stage,
    "final": write_final_record,
    "closure": write_closure_note,
    "cafcass": write_cafcass_pack,
}


@click.command()
@click.option("--policy", "policy_id", help="Procedure id (default: the settings' default).")
@click.option("--pdf", is_flag=True, help="Write a fillable PDF instead of a Word form.")
@click.option(
    "--sample",
    is_flag=True,
    help="The fictional sample challenge, raised today, for trying formflow out.",
)
@click.option("--child-name", help="Pre-fill: the child's full name.")
@click.option(
    "--child-dob", callback=iso_date, help="Pre-fill: the child's date of birth, YYYY-MM-DD."
)
@click.option("--case-number", help="Pre-fill: the LCS/case number.")
@click.option(
    "--legal-status",
    type=click.Choice([s.value for s in LegalStatus]),
    default=LegalStatus.CHILD_IN_CARE.value,
    show_default=True,
)
@click.option("--raised-by", help="Pre-fill: the IRO or CP chair raising the challenge.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.IRO.value)
@click.option(
    "--stage",
    callback=level_id,
    help="The level the form is raised at: its id, as 'formflow policies show' lists them "
    "(default: the first level of the procedure's ladder for --role).",
)
@click.option("--to", "addressed_to", help="Pre-fill: the manager the challenge goes to.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@home_option
@config_option
def new(
    policy_id: str | None,
    pdf: bool,
    sample: bool,
    child_name: str | None,
    child_dob: dt.date | None,
    case_number: str | None,
    legal_status: str,
    raised_by: str | None,
    role: str,
    stage: Stage | None,
    addressed_to: str | None,
    output: Path,
    home: Path,
    config: Path | None,
) -> None:
    """Write a challenge form: blank, the sample, or pre-filled from the options.

    A blank form or the sample has no reference: formflow gives one when the completed
    form is dropped into the inbox. A pre-filled form gets its reference now (one free in
    the register at --home, where there is one); the challenge is registered under it
    when the form is dropped into the inbox.

    To pre-fill, give the child's name, date of birth, case number and the person raising
    it together. --sample writes a fictional stage 1 challenge raised today.

    \b
    Example:
      formflow new -o challenge.docx
      formflow new --sample --home . -o inbox/stage1-challenge.docx
      formflow new --policy rotherham --pdf --child-name "Tegan Example" \\
        --child-dob 2014-02-09 --case-number LCS-000123 --raised-by "Morwenna Pentreath" \\
        --role IRO --stage 1 -o challenge.pdf
    """
    prefill = _prefill(
        child_name, child_dob, case_number, raised_by, legal_status, role, stage, addressed_to
    )
    if sample and prefill is not None:
        raise click.UsageError(
            "--sample is the fictional sample: give it without --child-name and the rest."
        )
    try:
        settings = load_settings(config, home=home)
        place = home_of(home, settings)
        written = write_new_form(
            output,
            home=place,
            settings=settings,
            policies=home_policies(home, settings),
            today=dt.date.today(),
            policy_id=policy_id,
            sample=sample,
            prefill=prefill,
            pdf=pdf,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_what_was_written(written, place))


def _prefill(
    child_name: str | None,
    child_dob: dt.date | None,
    case_number: str | None,
    raised_by: str | None,
    legal_status: str,
    role: str,
    stage: Stage | None,
    addressed_to: str | None,
) -> Prefill | None:
    """The pre-fill options, all four given or none."""
    given = {
        "--child-name": child_name,
        "--child-dob": child_dob,
        "--case-number": case_number,
        "--raised-by": raised_by,
    }
    missing = [option for option, value in given.items() if not value]
    if len(missing) == len(given):
        return None
    if not (child_name and child_dob and case_number and raised_by):
        raise click.UsageError(
            "To pre-fill a form give all of --child-name, --child-dob, --case-number and "
            f"--raised-by; missing: {', '.join(missing)}."
        )
    return Prefill(
        child_name,
        child_dob,
        case_number,
        raised_by,
        LegalStatus(legal_status),
        Role(role),
        stage,
        addressed_to,
    )


def _what_was_written(new: NewForm, home: Home) -> str:
    written, challenge = new.path, new.challenge
    if challenge is None:
        return (
            f"Blank form written to {written}. It has no reference yet: formflow gives one "
            "when the completed form is dropped into the inbox."
        )
    if challenge.reference is None:
        return (
            f"Sample form (fictional, raised {uk_date(challenge.date_of_notification)}) written "
            f"to {written}. Drop it into {home.inbox}: formflow gives it a reference then."
        )
    checked = (
        f"free in the register in {home.root}"
        if new.reference_checked
        else f"no register in {home.root} to check it against"
    )
    return (
        f"Form written to {written} with reference {challenge.reference}, chosen now "
        f"({checked}). The challenge is registered under it when the form is dropped into "
        f"{home.inbox}."
    )


REFERENCE = click.option(
    "--reference", help="A challenge in the register, such as PC-2025-7KQ3XM (with --home)."
)


def _from_register(reference: str, home: Path, settings: Settings) -> Challenge:
    """The register's current record of ``reference``, read without changing anything."""
    place = home_of(home, settings)
    if place.register_url is None and not place.database.is_file():
        raise click.ClickException(
            f"There is no register in {home}: give --home the folder formflow watch runs in."
        )
    with Register(place.register) as register:
        challenge = register.challenge(reference)
    if challenge is None:
        raise click.ClickException(f"The register in {home} has no challenge {reference}.")
    return challenge


def _from_record(record: Path) -> Challenge:
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise click.ClickException(
            f"Cannot read {record.name} as a challenge record: {exc}"
        ) from exc
    errors = schema_errors("challenge", data)
    if errors:
        raise click.ClickException(
            f"{record.name} is not a valid challenge record: "
            + "; ".join(e.message for e in errors)
        )
    return Challenge.from_dict(data)


def _load_challenge(
    source: Path | None,
    reference: str | None,
    home: Path,
    settings: Settings,
    policies: PolicyCatalogue,
) -> Challenge:
    """From exactly one of: a record (.json), a completed form (.docx, .pdf), the register."""
    if (source is None) == (reference is None):
        raise click.UsageError("Give exactly one challenge: a file, or --reference with --home.")
    if reference is not None:
        return _from_register(reference, home, settings)
    assert source is not None
    if source.suffix.lower() in {".docx", ".pdf"}:
        return read_form(source, policies=policies, settings=settings)
    return _from_record(source)


@click.command()
@click.option(
    "--from",
    "source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A record (.json) or a completed form (.docx, .pdf).",
)
@REFERENCE
@home_option
@click.option("--kind", type=click.Choice(sorted(KINDS)), default="next-stage", show_default=True)
@click.option("-o", "--outdir", type=click.Path(file_okay=False, path_type=Path), required=True)
@config_option
def render(
    source: Path | None,
    reference: str | None,
    home: Path,
    kind: str,
    outdir: Path,
    config: Path | None,
) -> None:
    """Write a challenge's documents, from a record, a completed form or the register.

    \b
    Example:
      formflow render --from PC-2025-7KQ3XM.json --kind next-stage -o outbox/
      formflow render --from inbox/challenge.docx --kind cafcass -o outbox/
      formflow render --reference PC-2025-7KQ3XM --home /srv/formflow --kind final -o out/
    """
    settings = load_settings(config, home=home)
    policies = home_policies(home, settings)
    challenge = _load_challenge(source, reference, home, settings, policies)
    policy = policies(challenge.policy)
    today = dt.date.today()
    assessment = assess(challenge, policy, settings.calendar, today)
    for path in KINDS[kind](
        challenge, policy, settings, outdir, today=today, assessment=assessment
    ):
        click.echo(str(path))


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--challenge",
    "source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The challenge: a record (.json) or a completed form (.docx, .pdf).",
)
@REFERENCE
@home_option
@click.option(
    "--by",
    help="Who builds the pack, for the register's audit trail (with --reference; "
    "default: the computer account running formflow).",
)
@click.option(
    "-o",
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the pack (with --challenge); a pack from the register goes into "
    "outbox/REFERENCE/.",
)
@config_option
def pack(
    folder: Path,
    source: Path | None,
    reference: str | None,
    home: Path,
    by: str | None,
    outdir: Path | None,
    config: Path | None,
) -> None:
    """Build the CAFCASS referral pack from the IRO's folder of documents.

    Name each file, or its sub-folder, starting with its item number 1 to 7 (for example
    "1 Care Order.pdf", "item-3 review records.pdf", "5 wishes/letter.pdf"). Only PDFs go
    into the bundle; the checklist marks every item provided or MISSING and lists files
    that need converting to PDF or cannot be read.

    With --reference the pack is part of the challenge's record: a "pack" event in the
    register, its documents published into outbox/REFERENCE/ beside the others, an
    earlier pack kept (the new one's files are named "... (2).pdf" and so on).

    \b
    Example:
      formflow pack outbox/PC-2025-7KQ3XM/CAFCASS --reference PC-2025-7KQ3XM --home /srv/formflow \\
        --by "Morwenna Pentreath, IRO"
      formflow pack "S:/Challenges/PC-2025-7KQ3XM/CAFCASS" --challenge PC-2025-7KQ3XM.json -o out/
    """
    settings = load_settings(config, home=home)
    policies = home_policies(home, settings)
    write = partial(
        write_cafcass_pack,
        supplied=folder,
        on_problem=lambda problem: click.echo(problem, err=True),
    )
    if reference is not None and source is None:
        _pack_into_the_record(reference.strip().upper(), home, settings, write, by, outdir)
        return
    challenge = _load_challenge(source, reference, home, settings, policies)
    if outdir is None:
        raise click.UsageError("Give -o FOLDER: where to write the pack of a --challenge file.")
    policy = policies(challenge.policy)
    for path in write(challenge, policy, settings, outdir, today=dt.date.today()):
        click.echo(str(path))


def _pack_into_the_record(
    reference: str,
    home: Path,
    settings: Settings,
    write: Writer,
    by: str | None,
    outdir: Path | None,
) -> None:
    """The pack of a challenge in the register: recorded, then published in its outbox."""
    published = home_of(home, settings).outbox_for(reference)
    if outdir is not None and outdir.resolve() != published:
        raise click.UsageError(
            f"A pack from the register is part of its record and goes into {published}; "
            "leave out -o (or give that folder)."
        )
    _from_register(reference, home, settings)  # a plain message for a home or reference not there
    who = (by or _account()).strip()
    if not who:
        raise click.UsageError("--by must name who builds the pack.")
    with opened(home, create=False) as ctx:
        packed = CafcassPacks(ctx.register, ctx.pipeline.services).pack(reference, write, by=who)
    click.echo(f"{reference}  {PACKED} (by {who})")
    echo_written(ctx.home, packed.outputs)


def _account() -> str:
    """The name of the computer account running formflow: who built a pack when --by
    does not say."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no name for this user id (a bare container)
        return f"user id {os.getuid()}"
