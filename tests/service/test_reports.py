"""Status rows, the tracking spreadsheet and the yearly figures, from records alone; and
the commands over a register."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from service_support import CHILD_NAME, make_challenge

from formflow.cli import COMMANDS, main
from formflow.core.calendar import WorkingCalendar
from formflow.core.engine import assess
from formflow.core.record import (
    Cafcass,
    Challenge,
    Closure,
    ClosureKind,
    Stage,
    StageOutcome,
    StageRecord,
)
from formflow.policy_catalogue import built_in
from formflow.reports.tables import (
    EXPORT_COLUMNS,
    export_table,
    status_rows,
    write_csv,
    write_xlsx,
    year_report,
)
from formflow.store.register import Register

CAL = WorkingCalendar()
TODAY = dt.date(2025, 11, 20)


def records() -> list[Challenge]:
    open_overdue = make_challenge(reference="PC-2025-AAAAAA", themes=frozenset({"placement"}))
    resolved_fast = make_challenge(
        reference="PC-2025-BBBBBB",
        themes=frozenset({"placement", "voice_of_child"}),
        closure=Closure(dt.date(2025, 11, 7), ClosureKind.RESOLVED, "Resolved at Stage 1."),
    )
    resolved_slow = make_challenge(
        reference="PC-2025-CCCCCC",
        stage=Stage.TWO,
        date_of_notification=dt.date(2025, 12, 1),
        history=(StageRecord(Stage.ONE, dt.date(2025, 10, 1), StageOutcome.NOT_RESOLVED),),
        closure=Closure(dt.date(2025, 12, 3), ClosureKind.RESOLVED, "Resolved at Stage 2."),
    )
    referred = make_challenge(
        reference="PC-2025-DDDDDD",
        cafcass=Cafcass(requested=True, request_date=dt.date(2025, 11, 5)),
        closure=Closure(dt.date(2025, 11, 5), ClosureKind.REFERRED_TO_CAFCASS, "Referred."),
    )
    last_year = make_challenge(reference="PC-2024-EEEEEE", date_of_notification=dt.date(2024, 6, 3))
    return [open_overdue, resolved_fast, resolved_slow, referred, last_year]


def test_status_lists_open_challenges_with_overdue_marked() -> None:
    rows = status_rows(records(), built_in(), CAL, TODAY)
    assert [(r.reference, r.overdue) for r in rows] == [
        ("PC-2024-EEEEEE", True),
        ("PC-2025-AAAAAA", True),
    ]
    assert rows[1].child == "T.E." and rows[1].responder == "Team Manager"
    assert rows[1].due == "2025-11-10"


def test_withdrawn_and_merged_challenges_are_not_listed_as_open() -> None:
    ended = [
        make_challenge(reference=reference, closure=Closure(TODAY, kind, "Raised in error."))
        for reference, kind in (
            ("PC-2025-WWWWWW", ClosureKind.WITHDRAWN),
            ("PC-2025-MMMMMM", ClosureKind.MERGED),
        )
    ]
    assert status_rows(ended, built_in(), CAL, TODAY) == []


def test_the_year_report_figures() -> None:
    report = year_report(records(), 2025, CAL)
    assert report.raised == 4
    assert report.resolved_by_stage == {"Stage 1": 1, "Stage 2": 1}
    assert report.still_open == 1
    assert report.cafcass_referrals == 1
    assert report.themes == {
        "Inadequate voice of the child/young person": 1,
        "Placement concerns": 2,
    }
    fast = CAL.working_days_between(dt.date(2025, 11, 3), dt.date(2025, 11, 7))
    slow = CAL.working_days_between(dt.date(2025, 10, 1), dt.date(2025, 12, 3))
    assert (fast, slow) == (4, 45)
    assert report.median_working_days_to_resolve == (fast + slow) / 2
    assert report.resolved_within_timescale == 0.5
    assert year_report(records(), 2030, CAL).median_working_days_to_resolve is None


def test_the_spreadsheet_has_initials_and_case_number_never_the_name(tmp_path: Path) -> None:
    rows = export_table(records(), built_in(), CAL, TODAY)
    csv_path = write_csv(rows, tmp_path / "out" / "challenges.csv")
    xlsx_path = write_xlsx(rows, tmp_path / "out" / "challenges.xlsx")
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert tuple(table[0]) == EXPORT_COLUMNS
    first = dict(zip(EXPORT_COLUMNS, table[1], strict=True))
    assert first["Reference"] == "PC-2024-EEEEEE"
    by_reference = {r[0]: dict(zip(EXPORT_COLUMNS, r, strict=True)) for r in table[1:]}
    fast = by_reference["PC-2025-BBBBBB"]
    assert fast["Child initials"] == "T.E." and fast["Case number"] == "LCS-000123"
    assert fast["Status"] == "resolved" and fast["Closed"] == "2025-11-07"
    assert fast["Themes"] == "Placement concerns; Inadequate voice of the child/young person" or (
        fast["Themes"] == "Inadequate voice of the child/young person; Placement concerns"
    )
    assert by_reference["PC-2025-CCCCCC"]["Date raised"] == "2025-10-01"
    assert CHILD_NAME not in csv_path.read_text(encoding="utf-8-sig")
    sheet = load_workbook(xlsx_path).active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == list(EXPORT_COLUMNS)
    assert sheet.max_row == len(rows) + 1


# --- the commands --------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, home_register: str) -> Path:
    with Register(home_register) as register:
        for challenge in records():
            policy = built_in()(challenge.policy)
            register.save_challenge(
                challenge, assess(challenge, policy, CAL, TODAY), dt.datetime(2025, 11, 3, 9)
            )
            register.add_event(
                challenge.reference,
                "transition",
                dt.datetime(2025, 11, 3, 9),
                message="Raised at Stage 1.",
            )
    return tmp_path


SERVICE_COMMANDS = [
    name for name, target in COMMANDS.items() if target.startswith("formflow.commands.service:")
]


@pytest.mark.parametrize("command", SERVICE_COMMANDS)
def test_every_command_has_help_with_an_example_and_home(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "--home" in result.output


def test_status_json_and_table(home: Path) -> None:
    result = CliRunner().invoke(
        main, ["status", "--home", str(home), "--json", "--today", "2025-11-20"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["challenges"]
    assert [r["reference"] for r in rows] == ["PC-2024-EEEEEE", "PC-2025-AAAAAA"]
    table = CliRunner().invoke(main, ["status", "--home", str(home), "--today", "2025-11-20"])
    assert "PC-2025-AAAAAA" in table.output and "Tegan" not in table.output


def test_show_export_report(home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["show", "PC-2025-CCCCCC", "--home", str(home)])
    assert shown.exit_code == 0, shown.output
    assert "2025-10-01  Stage 1 raised; ended not resolved" in shown.output
    assert "Tegan" not in shown.output
    as_json = runner.invoke(main, ["show", "PC-2025-CCCCCC", "--home", str(home), "--json"])
    assert as_json.exit_code == 0, as_json.output
    shown_json = json.loads(as_json.output)
    assert shown_json["reference"] == "PC-2025-CCCCCC"
    assert shown_json["challenge"]["child"]["name"] == "T.E."
    assert "Tegan" not in as_json.output
    assert [e["message"] for e in shown_json["events"]] == ["Raised at Stage 1."]
    assert shown_json["stages"][0] == {
        "stage": "Stage 1",
        "raised_on": "2025-10-01",
        "outcome": "not resolved",
        "late_response": None,
    }
    assert [e["message"] for e in shown_json["timeline"]] == ["Raised at Stage 1."]
    assert shown_json["documents"] == []
    open_one = runner.invoke(main, ["show", "PC-2025-AAAAAA", "--home", str(home), "--json"])
    assert json.loads(open_one.output)["deadlines"]["response"] >= "2025-"
    missing = runner.invoke(main, ["show", "PC-2025-ZZZZZZ", "--home", str(home)])
    assert missing.exit_code == 1 and "no challenge" in missing.output
    out = tmp_path / "export.xlsx"
    exported = runner.invoke(main, ["export", "--home", str(home), "--xlsx", str(out)])
    assert exported.exit_code == 0 and out.exists()
    reported = runner.invoke(main, ["report", "--home", str(home), "--year", "2025", "--json"])
    assert json.loads(reported.output)["raised"] == 4


def test_commands_on_an_empty_folder_say_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["status", "--home", str(tmp_path)])
    assert result.exit_code == 1 and "formflow watch" in result.output


def test_a_record_round_trips_through_the_register(register_url: str) -> None:
    challenge = dataclasses.replace(records()[2])
    with Register(register_url) as register:
        register.save_challenge(
            challenge,
            assess(challenge, built_in()("nelincs"), CAL, TODAY),
            dt.datetime(2025, 12, 3),
        )
        assert register.challenge("PC-2025-CCCCCC") == challenge


def test_every_challenge_raised_is_counted_once_where_it_ended(
    tmp_path: Path, home_register: str
) -> None:
    """Withdrawn, merged and referred challenges too, so the figures add up; through
    `formflow report`."""
    ended = [
        make_challenge(reference=reference, closure=Closure(TODAY, kind, "Ended."))
        for reference, kind in (
            ("PC-2025-WWWWWW", ClosureKind.WITHDRAWN),
            ("PC-2025-MMMMMM", ClosureKind.MERGED),
            ("PC-2025-UUUUUU", ClosureKind.CLOSED_UNRESOLVED),
        )
    ]
    report = year_report([*records(), *ended], 2025, CAL)
    assert report.raised == 7
    counts = dict(report.where_ended())
    assert sum(counts.values()) == report.raised
    assert counts["Withdrawn"] == counts["Merged into another challenge"] == 1
    assert counts["Referred to CAFCASS"] == 1
    with Register(home_register) as register:
        for challenge in [*records(), *ended]:
            policy = built_in()(challenge.policy)
            assessed = assess(challenge, policy, CAL, TODAY)
            register.save_challenge(challenge, assessed, dt.datetime(2025, 11, 3, 9))
    printed = CliRunner().invoke(main, ["report", "--home", str(tmp_path), "--year", "2025"])
    assert printed.exit_code == 0, printed.output
    lines = printed.output.splitlines()
    assert lines[0] == "Challenges raised in 2025: 7"
    assert "  Withdrawn: 1" in lines and "  Merged into another challenge: 1" in lines
    shown = [int(line.rsplit(": ", 1)[1]) for line in lines[1 : 1 + len(counts)]]
    assert sum(shown) == 7
