"""Which names in the inbox are never read: editor lock files, system junk, folders.

A decision on a name alone (no I/O), with the reason, so the table of cases in the tests
reads like the list in PITFALLS.md. Word's owner file ``~$name.docx`` ends in ``.docx``,
so a suffix filter alone lets it through: junk is checked first.

A hidden name (one starting with a dot) is ignored unless it ends in a form's suffix:
copy programs write ``.name.partial`` and rename it when whole, but a person who saves
``.form.docx`` meant a form, and would otherwise never learn why nothing happened.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import PurePath

from formflow.form import ACCEPTED_SUFFIXES

JUNK_PATTERNS: tuple[tuple[str, str], ...] = (
    ("~$*", "a Word owner (lock) file"),
    ("~wrl*.tmp", "a Word temporary file"),
    (".~lock.*#", "a LibreOffice lock file"),
    ("._*", "a macOS resource fork"),
    (".ds_store", "a macOS folder settings file"),
    ("thumbs.db", "a Windows thumbnail cache"),
    ("desktop.ini", "a Windows folder settings file"),
    ("*.tmp", "a temporary file"),
    ("*.part", "a partial download"),
    ("*.crdownload", "a partial download"),
    ("~*", "an editor's temporary file"),
)


@dataclass(frozen=True)
class Verdict:
    read: bool
    reason: str


def judge_name(name: str) -> Verdict:
    """Whether a file of this name, directly in the inbox, should be read."""
    lowered = name.lower()
    for pattern, what in JUNK_PATTERNS:
        if fnmatch.fnmatchcase(lowered, pattern):
            return Verdict(False, f"ignored: {what}")
    if name.startswith(".") and not lowered.endswith(ACCEPTED_SUFFIXES):
        return Verdict(False, "ignored: a hidden file that is not a form")
    if not name.strip():
        return Verdict(False, "ignored: no name")
    return Verdict(True, "a file to read")


def judge_path(inbox: PurePath, path: PurePath) -> Verdict:
    """As ``judge_name``, and only for files directly in the inbox (not in rejected/ or
    the claim folder)."""
    if path.parent != inbox:
        return Verdict(False, "ignored: not directly in the inbox")
    return judge_name(path.name)
