"""``[folders] shared`` (issue 26): the inbox, outbox and archive on a share several
servers use, var/ in each server's own home; the setting checked at start like the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from service_support import cli, new_form

from formflow.config import settings_from_toml
from formflow.errors import ConfigError


def test_a_shared_folder_that_is_not_there_is_refused_by_its_key_and_line(
    tmp_path: Path,
) -> None:
    text = '[council]\nname = "Northtown Council"\n\n[folders]\nshared = "not-mounted"\n'
    with pytest.raises(ConfigError) as refused:
        settings_from_toml(text, tmp_path / "formflow.toml")
    said = str(refused.value)
    assert f"formflow.toml line 5: [folders] shared: '{tmp_path / 'not-mounted'}'" in said
    assert "mount the share" in said


@pytest.mark.parametrize("value", ["0", "-5", '"a minute"', "true", "7200"])
def test_a_takeover_time_that_is_not_a_sensible_number_of_seconds_is_refused(
    tmp_path: Path, value: str
) -> None:
    text = f"[folders]\ntakeover_seconds = {value}\n"
    with pytest.raises(ConfigError, match=r"line 2: \[folders\] takeover_seconds: must be a"):
        settings_from_toml(text, tmp_path / "formflow.toml")


def test_the_takeover_time_is_a_minute_unless_set(tmp_path: Path) -> None:
    assert settings_from_toml("", tmp_path / "formflow.toml").takeover_seconds == 60
    text = "[folders]\ntakeover_seconds = 20\n"
    assert settings_from_toml(text, tmp_path / "formflow.toml").takeover_seconds == 20


def test_a_form_goes_through_the_shared_folder_and_the_home_keeps_var(
    tmp_path: Path, home_register: str
) -> None:
    """The form is dropped in the share's inbox, its documents published in the share's
    outbox and the original archived in the share's archive, where `check` from another
    server's home finds them; the server's own home holds its settings and var/ only."""
    share = tmp_path / "share"
    share.mkdir()
    homes = [tmp_path / "server-a", tmp_path / "server-b"]
    for home in homes:
        home.mkdir()
        (home / "formflow.toml").write_text(f'[folders]\nshared = "{share}"\n', encoding="utf-8")
    form = new_form(tmp_path, "challenge.docx")
    code, said = cli(homes[0], "process", str(form))
    assert code == 0, said
    assert "processed" in said
    [archived] = list((share / "archive").rglob("*challenge.docx"))
    reference = archived.parent.name
    assert (share / "outbox" / reference).is_dir()
    assert sorted(p.name for p in homes[0].iterdir()) == ["formflow.toml", "var"]
    assert not (homes[0] / "var" / "archive").exists()
    if home_register.startswith("postgresql"):  # the other server reads the same register
        code, said = cli(homes[1], "check")
        assert code == 0, said
    code, said = cli(homes[0], "check")
    assert code == 0, said
