"""``[files] mode``: the files formflow writes for people on the share, and their folders,
take the mode the council sets; what formflow keeps for itself stays owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from formflow.cli import main


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_mode_0640_gives_0640_files_and_0750_folders_in_the_outbox(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "formflow.toml").write_text('[files]\nmode = "0640"\n')
    form = tmp_path / "stage1-challenge.docx"
    runner = CliRunner()
    assert (
        runner.invoke(main, ["new", "--sample", "--home", str(home), "-o", str(form)]).exit_code
        == 0
    )
    result = runner.invoke(main, ["process", "--home", str(home), str(form)])
    assert result.exit_code == 0, result.output
    outbox = home / "outbox"
    [folder] = [p for p in outbox.iterdir() if p.name.startswith("PC-")]
    published = sorted(folder.iterdir())
    assert len(published) == 3  # the stage 1 form (Word, PDF) and its covering email
    assert {p.name: mode_of(p) for p in published} == {p.name: 0o640 for p in published}
    assert mode_of(outbox / "tracker.xlsx") == 0o640
    assert mode_of(outbox / "tracker.csv") == 0o640
    for shared in (outbox, folder, home / "inbox", home / "inbox" / "rejected"):
        assert mode_of(shared) == 0o750, shared
    # What formflow keeps for itself is the service account's only.
    assert mode_of(home / "var") == 0o700
    assert mode_of(home / "var" / "formflow.db") == 0o600
    [original] = (home / "var" / "archive" / folder.name).iterdir()
    assert mode_of(original) == 0o600


def test_without_files_mode_the_shared_folders_are_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = CliRunner().invoke(main, ["tick", "--home", str(home)])
    assert result.exit_code == 0, result.output
    for shared in (home / "outbox", home / "inbox", home / "inbox" / "rejected"):
        assert mode_of(shared) == 0o700, shared


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ('"0777"', '"0777" makes documents runnable as programs'),
        ('"0646"', '"0646" lets anyone on the machine change the records'),
        ('"0440"', '"0440" would stop formflow reading or rewriting its own files'),
        ('"rw-r-----"', 'must be a file mode in quotes, such as "0640"'),
        ("640", 'must be a file mode in quotes, such as "0640", not 640'),
    ],
)
def test_a_files_mode_that_cannot_be_used_is_refused_with_a_plain_message(
    tmp_path: Path, mode: str, message: str
) -> None:
    (tmp_path / "formflow.toml").write_text(f"[files]\nmode = {mode}\n")
    result = CliRunner().invoke(main, ["status", "--home", str(tmp_path)])
    assert result.exit_code == 1
    assert f"formflow.toml line 2: [files] mode: {message}" in result.output
    assert not (tmp_path / "outbox").exists()


def test_files_mode_reaches_a_rejected_file_and_its_note(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "formflow.toml").write_text('[files]\nmode = "0640"\n')
    junk = tmp_path / "not a form.docx"
    junk.write_bytes(b"")
    result = CliRunner().invoke(main, ["process", "--home", str(home), str(junk)])
    assert result.exit_code == 1, result.output
    rejected = home / "inbox" / "rejected"
    assert mode_of(rejected / "not a form.docx") == 0o640
    assert mode_of(rejected / "not a form.docx.errors.txt") == 0o640
