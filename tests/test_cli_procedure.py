"""formflow due and formflow policies, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from formflow.cli import main
from formflow.policy_catalogue import built_in


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_due_prints_the_iso_date_first() -> None:
    code, out, _ = invoke("due", "--policy", "nelincs", "--stage", "1", "--from", "2025-12-22")
    assert code == 0
    assert out.splitlines()[0] == "2025-12-31"


def test_due_json_has_due_and_overall_target() -> None:
    code, out, _ = invoke(
        "due",
        "--policy",
        "nelincs",
        "--stage",
        "3",
        "--from",
        "2025-11-17",
        "--challenge-start",
        "2025-11-03",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["due"] == "2025-11-24"
    assert data["overall_target"] == "2025-11-24"
    assert data["responder"] == "Head of Service"


def due_with_config(tmp_path: Path, toml: str) -> tuple[int, str, str]:
    """formflow due for a stage 1 raised on 22 December 2025, with ``toml`` as settings."""
    config = tmp_path / "formflow.toml"
    config.write_text(toml)
    return invoke(
        "due",
        "--policy",
        "nelincs",
        "--stage",
        "1",
        "--from",
        "2025-12-22",
        "--config",
        str(config),
    )


def test_due_reads_closure_days_from_the_config(tmp_path: Path) -> None:
    closures = '[calendar]\nclosure_days = ["2025-12-29", "2025-12-30", "2025-12-31"]\n'
    code, out, _ = due_with_config(tmp_path, closures)
    assert code == 0
    assert out.splitlines()[0] == "2026-01-06"


def test_due_warns_about_unconfirmed_years_on_stderr() -> None:
    code, out, err = invoke("due", "--policy", "nelincs", "--stage", "1", "--from", "2028-03-01")
    assert code == 0
    assert out.splitlines()[0] == "2028-03-08"
    assert "not yet confirmed" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--policy", "nowhere", "--stage", "1", "--from", "2025-11-03"),
            "There is no policy 'nowhere'",
        ),
        (("--policy", "nelincs", "--stage", "1", "--from", "03/11/2025"), "write it as YYYY-MM-DD"),
        (
            ("--policy", "ops-flowchart", "--stage", "informal", "--from", "2025-11-03"),
            "has no level 'informal'",
        ),
    ],
)
def test_due_errors_are_plain_english(args: tuple[str, ...], message: str) -> None:
    code, _, err = invoke("due", *args)
    assert code != 0
    assert message in err
    assert "Traceback" not in err


def test_bad_config_is_explained(tmp_path: Path) -> None:
    code, _, err = due_with_config(tmp_path, '[calendar]\nclosure_days = ["29/12/2025"]\n')
    assert code == 1
    assert "not a date" in err


def test_policies_list_and_show() -> None:
    code, out, _ = invoke("policies", "list")
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == built_in().ids()
    code, out, _ = invoke("policies", "show", "rotherham")
    assert code == 0
    assert "Stage 4: Director of CYPS" in out and "10 working days" in out


def test_policies_check_warns_but_passes(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    code, out, _ = invoke("policies", "check", str(repo / "policies" / "rotherham.json"))
    assert code == 0
    assert "total 25 working days" in out


def test_policies_check_fails_on_an_invalid_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{}")
    code, _, err = invoke("policies", "check", str(path))
    assert code == 1
    assert "is not a valid policy" in err


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(main))
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    assert command.help, f"{name} has no help"
    assert "Example" in command.help, f"{name}'s help has no example"


def test_every_command_is_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name, command in _commands(main):
        if not isinstance(command, click.Group):
            assert f"formflow {name}" in readme, f"README does not mention 'formflow {name}'"


@pytest.mark.parametrize("policy_id", sorted(built_in().ids()))
def test_policies_show_says_of_cafcass_what_the_engine_does(policy_id: str) -> None:
    """Where the source does not say when a referral may be made, or whether the
    escalation goes on beside it, the engine allows it at any time and leaves the challenge
    open: ``policies show`` said the opposite ("after the last stage", "instead of
    escalating") for Barnet and Peterborough."""
    cafcass = built_in()(policy_id).cafcass
    code, out, _ = invoke("policies", "show", policy_id)
    assert code == 0
    [line] = [x for x in out.splitlines() if x.startswith("  CAFCASS: ")]
    assert ("after the last stage" in line) == (cafcass.when == "after_final_stage")
    assert ("instead of escalating" in line) == (cafcass.concurrent is False)
    if cafcass.concurrent is None:
        assert "not stated, so a referral leaves the escalation open" in line
    if cafcass.when is None:
        assert "when is not stated, so a referral may be made at any time" in line
