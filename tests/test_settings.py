"""formflow.toml is checked whole at the start of every command: each mistake named by
its section, key and line, before anything is read or written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from formflow.cli import main
from formflow.config import NotAnAddress, email_address, line_of

GOOD = """\
[council]
name = "Northtown Council"

[directory]
"Priya Raman" = "priya.raman@northtown.example"
"Team Manager" = "cic-team-managers@northtown.example"
"""

MISTAKES = {
    "address": (
        '"Head of Service" = "head of service@northtown"\n',
        "line 7: [directory] \"Head of Service\": 'head of service@northtown' is not an email "
        "address (it has a space or line break in it",
    ),
    "two @": (
        '"Service Manager" = "sm@@northtown.example"\n',
        "line 7: [directory] \"Service Manager\": 'sm@@northtown.example' is not an email "
        "address (it has more than one @",
    ),
    "not text": ('"IRO" = 42\n', "line 7: [directory] IRO: must be an email address in quotes"),
    "role": (
        '"Head of Servce" = "hos@northtown.example"\n',
        'line 7: [directory] "Head of Servce": no procedure has a role called \'Head of '
        "Servce': did you mean 'Head of Service'?",
    ),
    "role's case": (
        '"team manager" = "tm@northtown.example"\n',
        "line 7: [directory] \"team manager\": no procedure has a role called 'team manager': "
        "did you mean 'Team Manager'?",
    ),
    "smtp port": (
        '[smtp]\nhost = "smtp.northtown.example"\nport = "587"\n',
        "line 9: [smtp] port: must be a whole number from 1 to 65535, not '587'",
    ),
    "smtp from": (
        '[smtp]\nhost = "smtp.northtown.example"\nfrom = "formflow"\n',
        "line 9: [smtp] from: 'formflow' is not an email address (it has no @",
    ),
    "folder": (
        '[policies]\nfolder = "S:/not-mounted"\n',
        "line 8: [policies] folder: ",
    ),
    "year": ('[calendar]\nconfirmed_until = "2027"\n', "line 8: [calendar] confirmed_until"),
    "date": (
        '[calendar]\nclosure_days = ["2025-13-01"]\n',
        "line 8: [calendar] closure_days: has '2025-13-01', which is not a date",
    ),
    "section": (
        "[directroy]\n",
        "line 7: [directroy]: is not a section formflow reads: did you mean",
    ),
    "register password": (
        '[register]\nurl = "postgresql://formflow:Secret-1@db.northtown.example/formflow"\n',
        "line 8: [register] url: must not hold the password: anyone who can read "
        "formflow.toml could read it. Put the whole address in the FORMFLOW_REGISTER_URL "
        "environment variable",
    ),
    "register engine": (
        '[register]\nurl = "mysql://formflow@db.northtown.example/formflow"\n',
        "line 8: [register] url: must be a PostgreSQL address such as",
    ),
    "procedure": (
        'default_policy = "nelincz"\n',
        "line 3: [council] default_policy: There is no policy 'nelincz'",
    ),
    "cafcass phone": (
        'cafcass_phone = "ring Cafcass"\n',
        "line 3: [council] cafcass_phone: must be a telephone number in quotes, such as "
        "\"01632 960123\", not 'ring Cafcass'",
    ),
}
COUNCIL_KEYS = {"procedure", "cafcass phone"}
"""Mistakes in keys of [council], the file's first section."""


def home_with(tmp_path: Path, text: str) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "formflow.toml").write_text(text, encoding="utf-8")
    return home


def with_mistake(kind: str) -> str:
    added, _ = MISTAKES[kind]
    if kind in COUNCIL_KEYS:
        return GOOD.replace('name = "Northtown Council"\n', f'name = "Northtown Council"\n{added}')
    return GOOD + added


@pytest.mark.parametrize("kind", sorted(MISTAKES))
def test_each_mistake_is_named_with_its_key_and_line(tmp_path: Path, kind: str) -> None:
    home = home_with(tmp_path, with_mistake(kind))
    result = CliRunner().invoke(main, ["status", "--home", str(home)])
    assert result.exit_code == 1
    expected = f"Error: {home / 'formflow.toml'} {MISTAKES[kind][1]}"
    assert expected in result.output, result.output
    assert not (home / "var").exists()  # refused before anything was made


COMMANDS = {
    "watch": ["watch"],
    "process": ["process", "FORM"],
    "tick": ["tick"],
    "status": ["status"],
    "export": ["export", "--csv", "OUT.csv"],
    "serve": ["serve", "--port", "0"],
    "parse": ["parse", "FORM"],
    "due": ["due", "--policy", "nelincs", "--stage", "1", "--from", "2025-11-03"],
    "new": ["new", "-o", "OUT.docx"],
    "withdraw": ["withdraw", "PC-2025-AAAAAA", "--by", "Someone", "--reason", "A test."],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_refuses_a_mistyped_address_at_start(tmp_path: Path, command: str) -> None:
    home = home_with(tmp_path, with_mistake("address"))
    form = tmp_path / "form.docx"
    form.write_bytes(b"never read")
    args = [
        a.replace("FORM", str(form)).replace("OUT", str(tmp_path / "out"))
        for a in COMMANDS[command]
    ]
    result = CliRunner().invoke(main, [*args, "--home", str(home)])
    assert result.exit_code == 1
    assert 'line 7: [directory] "Head of Service"' in result.output
    assert form.exists() and not (home / "inbox").exists()


def test_every_mistake_is_listed_at_once(tmp_path: Path) -> None:
    text = GOOD + MISTAKES["address"][0] + MISTAKES["two @"][0] + MISTAKES["smtp port"][0]
    result = CliRunner().invoke(main, ["tick", "--home", str(home_with(tmp_path, text))])
    assert result.exit_code == 1
    assert "formflow.toml has 3 settings to correct:" in result.output
    assert all(f"line {n}: " in result.output for n in (7, 8, 11))


def test_a_good_file_and_the_example_are_accepted(tmp_path: Path) -> None:
    home = home_with(tmp_path, GOOD)
    assert CliRunner().invoke(main, ["tick", "--home", str(home)]).exit_code == 0
    example = (Path(__file__).resolve().parents[1] / "formflow.example.toml").read_text()
    (home / "formflow.toml").write_text(example, encoding="utf-8")
    assert CliRunner().invoke(main, ["tick", "--home", str(home)]).exit_code == 0


@pytest.mark.parametrize(
    "text",
    ["head of service@northtown", "priya.raman@@northtown", "nobody", "x@", "@northtown", ""],
)
def test_what_the_drafts_cannot_carry_is_not_an_address(text: str) -> None:
    with pytest.raises(NotAnAddress, match=r"an address looks like name@northtown\.example"):
        email_address(text)


def test_an_address_is_parsed_as_the_drafts_parse_it() -> None:
    assert email_address("priya.raman@northtown.example").domain == "northtown.example"


def test_a_key_is_found_under_its_own_table_however_it_is_quoted() -> None:
    text = "[smtp]\nport = 25\n\n[web] # the dashboard\nport = 8080\n'Team Manager' = \"x\"\n"
    assert line_of(text, "web", "port") == 5
    assert line_of(text, "smtp", "port") == 2
    assert line_of(text, "web", "Team Manager") == 6
    assert line_of(text, "web") == 4
    assert line_of(text, "directory", "IRO") is None


def test_a_register_url_in_the_environment_is_checked_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORMFLOW_REGISTER_URL", "postgresql://formflow@db.northtown.example")
    result = CliRunner().invoke(main, ["status", "--home", str(tmp_path / "home")])
    assert result.exit_code == 1
    assert "Error: The environment variable FORMFLOW_REGISTER_URL must name the database" in (
        result.output
    )
    assert not (tmp_path / "home").exists()
