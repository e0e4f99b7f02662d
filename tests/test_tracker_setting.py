"""``[tracker] live = false`` (issue 23 part 1): the tracker holds every child, so a
council that cannot limit who reads the outbox folder keeps it off the share."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from formflow.cli import main
from formflow.config import settings_from_toml
from formflow.errors import ConfigError


@pytest.mark.parametrize(("setting", "written"), [("", True), ("[tracker]\nlive = false\n", False)])
def test_a_processed_form_rewrites_the_tracker_only_while_it_is_live(
    tmp_path: Path, setting: str, written: bool
) -> None:
    (tmp_path / "formflow.toml").write_text(setting, encoding="utf-8")
    form = tmp_path / "stage1.docx"
    home = ["--home", str(tmp_path)]
    made = CliRunner().invoke(main, ["new", "--sample", *home, "-o", str(form)])
    assert made.exit_code == 0, made.output
    processed = CliRunner().invoke(main, ["process", *home, str(form)])
    assert processed.exit_code == 0, processed.output
    assert (tmp_path / "outbox" / "tracker.xlsx").exists() is written
    assert (tmp_path / "outbox" / "tracker.csv").exists() is written


def test_a_tracker_setting_that_is_not_true_or_false_is_named_with_its_line(
    tmp_path: Path,
) -> None:
    text = '[council]\nname = "Northtown Council"\n\n[tracker]\nlive = "no"\nshared = true\n'
    with pytest.raises(ConfigError) as raised:
        settings_from_toml(text, tmp_path / "formflow.toml")
    said = str(raised.value)
    assert "line 5: [tracker] live: must be true or false, not 'no'" in said
    assert "line 6: [tracker] shared: is not a setting of [tracker]" in said
