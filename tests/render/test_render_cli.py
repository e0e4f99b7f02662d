"""``formflow new``, ``render`` and ``pack`` from the command line."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from pdf_checks import pages
from render_fixtures import NELINCS, SETTINGS, TODAY, docx_text, stage_two

from conftest import on_both_engines, open_register
from formflow.cli import main
from formflow.core.engine import assess
from formflow.core.record import Person, Stage
from formflow.intake import read_form
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.render import write_form
from formflow.sample import Prefill, write_new_form


@pytest.mark.parametrize("command", ["new", "render", "pack"])
def test_every_document_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_new_writes_a_blank_form(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["new", "-o", str(tmp_path / "form.docx")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "form.docx").stat().st_size > 0
    assert "It has no reference yet: formflow gives one when the completed form" in result.output


def test_new_sample_is_raised_today_under_the_homes_settings(tmp_path: Path) -> None:
    (tmp_path / "formflow.toml").write_text('[council]\nname = "Northtown Council"\n')
    form = tmp_path / "sample.docx"
    args = ["new", "--sample", "--home", str(tmp_path), "-o", str(form)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Sample form (fictional, raised" in result.output
    assert "formflow gives it a reference then" in result.output
    challenge = read_form(form, policies=built_in())
    assert challenge.date_of_notification == dt.date.today()
    assert challenge.reference is None
    assert "Northtown Council" in docx_text(form)
    due = assess(challenge, NELINCS, SETTINGS.calendar, dt.date.today())
    assert not due.overdue and due.due is not None and due.due > dt.date.today()


@on_both_engines
def test_new_prefilled_says_its_reference_is_chosen_now_and_free(service_home: Path) -> None:
    form = service_home / "form.docx"
    prefill = ["--child-name", "Tegan Example", "--child-dob", "2014-02-09"]
    prefill += ["--case-number", "LCS-000123", "--raised-by", "Morwenna Pentreath"]
    result = CliRunner().invoke(
        main, ["new", *prefill, "--home", str(service_home), "-o", str(form)]
    )
    assert result.exit_code == 0, result.output
    found = re.findall(r"PC-\d{4}-[A-Z0-9]{6}", docx_text(form))
    assert found, "the form carries no reference"
    reference = found[0]
    assert reference != "PC-2025-7KQ3XM"  # the one the register holds
    assert f"with reference {reference}, chosen now (free in the register" in result.output
    assert "registered under it when the form is dropped into" in result.output


def test_a_prefilled_form_without_a_register_says_its_reference_was_not_checked(
    tmp_path: Path,
) -> None:
    prefill = Prefill(
        "Tegan Example",
        dt.date(2014, 2, 9),
        "LCS-000123",
        "Morwenna Pentreath",
        stage=Stage.TWO,
        addressed_to="Sam Okafor",
    )
    new = write_new_form(
        tmp_path / "form.docx",
        home=Home(tmp_path),
        settings=SETTINGS,
        policies=built_in(),
        today=TODAY,
        prefill=prefill,
    )
    assert new.challenge is not None and new.challenge.reference is not None
    assert new.reference_checked is False
    assert new.challenge.addressed_to == Person("Sam Okafor", NELINCS.stage(Stage.TWO).responder)
    assert new.challenge.reference in docx_text(new.path)
    assert not Home(tmp_path).database.exists()  # asking for a reference made no register


def test_render_from_a_record(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    record.write_text(json.dumps(stage_two().to_dict()), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["render", "--from", str(record), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert "PC-2025-7KQ3XM-stage-2-form.pdf" in result.output


def test_render_refuses_a_file_that_is_not_a_record(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    record.write_text("not json", encoding="utf-8")
    result = CliRunner().invoke(main, ["render", "--from", str(record), "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: Cannot read record.json" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--child-name", "Tegan Example"], "missing: --child-dob, --case-number, --raised-by"),
        (["--child-dob", "09/02/2014"], "write it as YYYY-MM-DD"),
    ],
)
def test_new_explains_an_incomplete_or_wrong_prefill(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["new", *args, "-o", str(tmp_path / "form.docx")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "form.docx").exists()


@pytest.fixture
def service_home(tmp_path: Path) -> Path:
    """A service home whose register holds the fictional stage 2 challenge (on PostgreSQL
    in a test run ``on_both_engines``)."""
    challenge = stage_two()
    with open_register(tmp_path) as register:
        assessment = assess(challenge, NELINCS, SETTINGS.calendar, TODAY)
        register.save_challenge(challenge, assessment, dt.datetime(2025, 11, 7, 9))
    return tmp_path


@on_both_engines
def test_render_from_the_register(service_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["render", "--reference", "PC-2025-7KQ3XM", "--home", str(service_home), "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "PC-2025-7KQ3XM-stage-2-form.docx",
        "PC-2025-7KQ3XM-stage-2-form.pdf",
    ]


def test_pack_from_a_record_goes_where_o_says(tmp_path: Path) -> None:
    folder = tmp_path / "CAFCASS"
    folder.mkdir()
    (folder / "3 review records.docx").write_bytes(b"not converted")
    record = tmp_path / "record.json"
    record.write_text(json.dumps(stage_two().to_dict()))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["pack", str(folder), "--challenge", str(record)])
    assert result.exit_code == 2
    assert "Give -o FOLDER" in result.output
    result = CliRunner().invoke(
        main, ["pack", str(folder), "--challenge", str(record), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "PC-2025-7KQ3XM-cafcass-bundle.pdf").is_file()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda whole: whole[: len(whole) // 2], id="cut short"),
        pytest.param(lambda whole: b"%PDF-1.4 broken", id="no EOF marker"),
        pytest.param(lambda whole: b"", id="empty"),
    ],
)
def test_pack_names_a_damaged_file_and_says_what_to_do(
    service_home: Path, tmp_path: Path, damage: Callable[[bytes], bytes]
) -> None:
    folder = tmp_path / "CAFCASS"
    folder.mkdir()
    whole = folder / "1 Care Order.pdf"
    write_form(None, NELINCS, SETTINGS, whole, today=TODAY, pdf=True)
    (folder / "7 care plan.pdf").write_bytes(damage(whole.read_bytes()))
    source = ["--reference", "PC-2025-7KQ3XM", "--home", str(service_home)]
    result = CliRunner().invoke(main, ["pack", str(folder), *source])
    assert result.exit_code == 0, result.output
    assert "Item 7: 7 care plan.pdf: cannot be read as a PDF" in result.stderr
    assert "save a copy under the same name" in result.stderr
    assert "EOF marker" not in result.output + result.stderr
    assert (service_home / "outbox/PC-2025-7KQ3XM/PC-2025-7KQ3XM-cafcass-bundle.pdf").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reference", "PC-2025-AAAAAA"], "has no challenge PC-2025-AAAAAA"),
        ([], "Give exactly one challenge"),
    ],
)
def test_render_explains_a_missing_challenge(
    service_home: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        main, ["render", *args, "--home", str(service_home), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code != 0
    assert message in result.stderr


def test_render_without_a_register_says_where_to_look(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["render", "--reference", "PC-2025-7KQ3XM", "--home", str(tmp_path), "-o", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "There is no register in" in result.stderr


@pytest.mark.parametrize(
    ("council", "says"),
    [
        (
            'cafcass_phone = "01632 960123"\n',
            "Cafcass Legal, initially by telephone: 01632 960123",
        ),
        (
            "",
            "find the number of Cafcass Legal, or of your local Cafcass office, on the Cafcass website (www.cafcass.gov.uk)",
        ),
    ],
    ids=["set", "not set"],
)
def test_the_cafcass_checklist_gives_the_councils_number_or_where_to_find_it(
    tmp_path: Path, council: str, says: str
) -> None:
    settings = tmp_path / "formflow.toml"
    settings.write_text(f'[council]\nname = "Northtown Council"\n{council}', encoding="utf-8")
    folder = tmp_path / "CAFCASS"
    folder.mkdir()
    record = tmp_path / "record.json"
    record.write_text(json.dumps(stage_two().to_dict()))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "pack",
            str(folder),
            "--challenge",
            str(record),
            "-o",
            str(out),
            "--config",
            str(settings),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(
        " ".join(p.text() for p in pages(out / "PC-2025-7KQ3XM-cafcass-checklist.pdf")).split()
    )
    assert says in text
    if not council:
        assert not re.search(r"\d{4} ?\d{6}", text)  # no number made up
