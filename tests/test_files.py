"""Files that hold children's records are written whole, owner-only, or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from formflow.outbox.files import write_private


def test_write_private_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = write_private(tmp_path / "sub" / "note.txt", "hello")
    assert target.read_text() == "hello"
    assert os.listdir(tmp_path / "sub") == ["note.txt"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "sub").stat().st_mode) == 0o700


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = write_private(tmp_path / "record.docx", b"old")

    def refuse(_source: object, _destination: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_private(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["record.docx"]
