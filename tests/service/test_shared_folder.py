"""``[folders] shared`` (issue 26): the inbox, outbox and archive on a share several
servers use, var/ in each server's own home; the setting checked at start like the rest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pikepdf
import pytest
from service_support import cli, new_form

from formflow.config import settings_from_toml
from formflow.errors import ConfigError
from formflow.outbox.folders import claim_name


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


def _written(said: str) -> list[Path]:
    """The paths a command said it wrote ("  written: PATH")."""
    return [
        Path(line.split("written: ", 1)[1]) for line in said.splitlines() if "written: " in line
    ]


def test_the_commands_name_the_files_where_they_are_on_the_shared_folder(
    tmp_path: Path, home_register: str
) -> None:
    """`new`, `show`, `pack --reference`, `withdraw` and `status` name the inbox and the
    outbox on the share, where a person finds them, not as if they were in the home."""
    share = tmp_path / "share"
    share.mkdir()
    home = tmp_path / "server-a"
    home.mkdir()
    (home / "formflow.toml").write_text(f'[folders]\nshared = "{share}"\n', encoding="utf-8")
    code, said = cli(home, "new", "--sample", "-o", str(tmp_path / "sample.docx"))
    assert code == 0, said
    assert f"Drop it into {share / 'inbox'}:" in said
    code, said = cli(home, "process", str(new_form(tmp_path, "challenge.docx")))
    assert code == 0, said
    [reference] = [p.name for p in (share / "outbox").glob("PC-*")]
    code, said = cli(home, "show", reference)
    assert code == 0, said
    shown = [line.split("document: ", 1)[1] for line in said.splitlines() if "document: " in line]
    assert shown
    assert all(Path(line.rsplit(" (", 1)[0]).is_file() for line in shown), shown

    supplied = share / "outbox" / reference / "CAFCASS"
    supplied.mkdir()
    care_order = pikepdf.new()
    care_order.add_blank_page()
    care_order.save(supplied / "1 Care Order.pdf")
    code, said = cli(home, "pack", str(supplied), "--reference", reference, "--by", "Ann Example")
    assert code == 0, said
    packed = _written(said)
    assert share / "outbox" / reference / f"{reference}-cafcass-bundle.pdf" in packed
    assert all(path.is_file() for path in packed), said

    code, said = cli(home, "withdraw", reference, "--by", "Ann Example", "--reason", "In error")
    assert code == 0, said
    withdrawn = _written(said)
    assert withdrawn and all(path.is_file() for path in withdrawn), said
    assert all(path.is_relative_to(share / "outbox" / reference) for path in withdrawn), said

    left = share / "inbox" / ".processing" / claim_name("left.docx", dt.datetime(2026, 12, 1, 9))
    left.write_bytes(b"")
    code, said = cli(home, "status")
    assert code == 0, said
    assert f"Files in progress (1), in {share / 'inbox' / '.processing'}:" in said
