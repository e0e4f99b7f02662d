"""Editor and system junk in the inbox is never read (PITFALLS.md, watchdog section)."""

from __future__ import annotations

from pathlib import PurePath

import pytest

from formflow.watch.junk import judge_name, judge_path

INBOX = PurePath("/srv/home/inbox")


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("challenge.docx", True),
        ("Stage 2 response.pdf", True),
        ("notes.txt", True),  # not junk: read, then rejected with a reason
        ("~$allenge.docx", False),  # Word's owner file ends in .docx
        ("~WRL0001.tmp", False),
        ("~wrl3905.TMP", False),
        (".~lock.challenge.docx#", False),
        ("._challenge.docx", False),
        (".DS_Store", False),
        ("Thumbs.db", False),
        ("thumbs.db", False),
        ("desktop.ini", False),
        ("Desktop.ini", False),
        ("upload.tmp", False),
        ("challenge.docx.part", False),
        (".hidden.docx", True),  # a form saved under a hidden name: read, never left
        (".Hidden.PDF", True),
        (".challenge.docx.partial", False),  # a copy program's work in progress
        (".notes.txt", False),
        (".processing", False),
    ],
)
def test_junk_names(name: str, read: bool) -> None:
    verdict = judge_name(name)
    assert verdict.read is read, verdict.reason
    if not read:
        assert verdict.reason.startswith("ignored:")


@pytest.mark.parametrize(
    "path",
    [
        INBOX / "rejected" / "challenge.docx",
        INBOX / ".processing" / "20251103T100000-0a1b2c3d--challenge.docx",
        PurePath("/elsewhere/challenge.docx"),
    ],
)
def test_only_files_directly_in_the_inbox_are_read(path: PurePath) -> None:
    assert not judge_path(INBOX, path).read


def test_a_form_directly_in_the_inbox_is_read() -> None:
    assert judge_path(INBOX, INBOX / "challenge.docx").read
