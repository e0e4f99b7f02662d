"""Claiming, rejecting, archiving and publishing: atomic, never overwriting, repeatable."""

from __future__ import annotations

import datetime as dt
import os
import stat
import threading
from pathlib import Path

import pytest

from formflow.errors import FormflowError
from formflow.outbox import folders
from formflow.outbox.folders import Home

NOW = dt.datetime(2025, 11, 3, 10, 0)


def test_only_one_of_many_racing_claimers_gets_a_file(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.create()
    for round_ in range(20):
        dropped = home.inbox / f"form{round_}.docx"
        dropped.write_bytes(b"x")
        barrier = threading.Barrier(4)
        results: list[Path | None] = []

        def racer(
            path: Path = dropped,
            barrier: threading.Barrier = barrier,
            results: list[Path | None] = results,
        ) -> None:
            barrier.wait()
            results.append(folders.claim(path, home.claims, NOW))

        threads = [threading.Thread(target=racer) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        winners = [r for r in results if r is not None]
        assert len(winners) == 1 and len(results) == 4
        assert folders.original_name(winners[0]) == f"form{round_}.docx"
    assert len(list(home.claims.iterdir())) == 20


def test_a_claimed_file_is_held_by_one_process_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "claimed.docx"
    path.write_bytes(b"x")
    with folders.held(path) as first:
        assert first
        # flock is per open file description: a second open in the same process conflicts
        with folders.held(path) as second:
            assert not second
    with folders.held(tmp_path / "gone.docx") as missing:
        assert not missing


def test_rejected_names_never_clash_and_notes_sit_beside_them(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.create()
    targets = []
    for i in range(3):
        claimed = home.claims / folders.claim_name("form.docx", NOW)
        claimed.write_bytes(f"version {i}".encode())
        targets.append(folders.reject(claimed, home.rejected, f"Problem {i}."))
    assert [t.name for t in targets] == ["form.docx", "form (2).docx", "form (3).docx"]
    assert (home.rejected / "form (2).docx.errors.txt").read_text() == "Problem 1.\n"
    assert (home.rejected / "form (3).docx").read_bytes() == b"version 2"
    assert stat.S_IMODE((home.rejected / "form.docx.errors.txt").stat().st_mode) == 0o600


def test_rejecting_a_file_another_process_filed_first_leaves_no_note(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.create()
    gone = home.claims / folders.claim_name("form.docx", NOW)
    with pytest.raises(FileNotFoundError):
        folders.reject(gone, home.rejected, "Problem.")
    assert list(home.rejected.iterdir()) == []


@pytest.mark.parametrize("kind", ["link", "named pipe", "link to a folder"])
def test_only_links_and_special_files_are_special(tmp_path: Path, kind: str) -> None:
    (tmp_path / "form.docx").write_bytes(b"x")
    entry = tmp_path / "entry"
    if kind == "named pipe":
        os.mkfifo(entry)
    else:
        entry.symlink_to(tmp_path if kind == "link to a folder" else tmp_path / "form.docx")
    assert folders.is_special(entry)
    assert not folders.is_special(tmp_path / "form.docx")
    assert not folders.is_special(tmp_path)  # a folder is left to the watcher's own rule
    assert not folders.is_special(tmp_path / "gone.docx")


def test_a_link_is_never_held(tmp_path: Path) -> None:
    (tmp_path / "form.docx").write_bytes(b"x")
    (tmp_path / "link.docx").symlink_to(tmp_path / "form.docx")
    with folders.held(tmp_path / "link.docx") as mine:
        assert not mine
    with folders.held(tmp_path / "form.docx") as mine:
        assert mine


def test_rejecting_again_after_a_crash_reuses_the_note_it_wrote(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.create()
    claimed = home.claims / folders.claim_name("form.docx", NOW)
    claimed.write_bytes(b"x")
    (home.rejected / "form.docx.errors.txt").write_text("Problem.\n")  # written, then killed
    target = folders.reject(claimed, home.rejected, "Problem.")
    assert target.name == "form.docx"
    assert sorted(p.name for p in home.rejected.iterdir()) == ["form.docx", "form.docx.errors.txt"]


def test_archiving_is_repeatable_under_the_unique_claim_name(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.create()
    claimed = home.claims / folders.claim_name("form.docx", NOW)
    claimed.write_bytes(b"x")
    target = folders.archive(claimed, home.archive / "PC-2025-7KQ3XM")
    assert target.name == claimed.name and not claimed.exists()


def test_publish_moves_committed_files_and_discards_the_rest(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.create()
    job = folders.job_dir(home, "job1")
    (job / "PC-2025-7KQ3XM").mkdir()
    (job / "PC-2025-7KQ3XM" / "kept.docx").write_bytes(b"k")
    (job / "PC-2025-7KQ3XM" / "orphan.docx").write_bytes(b"o")
    (job / ".scratch-1").mkdir()
    (job / ".scratch-1" / "half.docx").write_bytes(b"h")
    published, discarded = folders.publish(
        job, home.outbox, lambda rel: rel == "PC-2025-7KQ3XM/kept.docx"
    )
    assert [p.name for p in published] == ["kept.docx"]
    assert (home.outbox / "PC-2025-7KQ3XM" / "kept.docx").read_bytes() == b"k"
    assert not (home.outbox / "PC-2025-7KQ3XM" / "orphan.docx").exists()
    assert not job.exists() and len(discarded) == 2
    assert folders.publish(job, home.outbox, lambda _rel: True) == ([], [])  # repeatable


def test_free_names_never_overwrite(tmp_path: Path) -> None:
    (tmp_path / "a.docx").write_bytes(b"")
    assert folders.free_name(tmp_path, "a.docx", set()) == "a (2).docx"
    assert folders.free_name(tmp_path, "a.docx", {"a (2).docx"}) == "a (3).docx"
    assert folders.free_name(tmp_path, "b.docx", set()) == "b.docx"


@pytest.mark.parametrize(
    "name",
    ["Ä" * 120 + ".docx", "x" * 254, "challenge." + "d" * 240, "short name.docx"],
    ids=["long unicode", "long without suffix", "long suffix", "short"],
)
def test_any_name_can_be_claimed_and_rejected_beside_its_note(tmp_path: Path, name: str) -> None:
    """A name near the 255-byte limit still fits with the claim prefix, ' (2)' and
    '.errors.txt': the start of it and its suffix are kept."""
    inbox, claims, rejected = tmp_path / "inbox", tmp_path / "claims", tmp_path / "rejected"
    inbox.mkdir()
    claims.mkdir()
    for attempt in (1, 2):  # the second file of the same name is rejected as 'NAME (2)'
        (inbox / name).write_bytes(b"not a form %d" % attempt)
        claimed = folders.claim(inbox / name, claims, dt.datetime(2025, 11, 3, 9))
        assert claimed is not None
        kept = folders.original_name(claimed)
        assert len(kept.encode()) <= folders.MAX_KEPT_NAME_BYTES
        assert kept == name or kept.endswith(("~.docx", "~"))
        moved = folders.reject(claimed, rejected, "It is not a form.")
        assert moved.read_bytes() == b"not a form %d" % attempt
        assert (rejected / (moved.name + ".errors.txt")).is_file()
    assert len(list(rejected.iterdir())) == 4


@pytest.mark.parametrize(
    "name",
    ["a\nINFO fake log line.docx", "tab\there.docx", "bell\x07\x1b[31m.docx", "\u202eexcod.docx"],
    ids=["newline", "tab", "escape sequence", "right-to-left override"],
)
def test_a_claim_gives_back_the_name_that_was_dropped_whatever_its_characters(
    tmp_path: Path, name: str
) -> None:
    claimed = tmp_path / folders.claim_name(name, dt.datetime(2025, 11, 3, 9))
    assert folders.original_name(claimed) == name


def test_a_hidden_form_is_rejected_under_a_name_the_person_can_see(tmp_path: Path) -> None:
    claims, rejected = tmp_path / "claims", tmp_path / "rejected"
    claims.mkdir()
    claimed = claims / folders.claim_name(".challenge.docx", dt.datetime(2025, 11, 3, 9))
    claimed.write_bytes(b"not a form")
    moved = folders.reject(claimed, rejected, "It is not a form.")
    assert moved.name == "challenge.docx"
    assert (rejected / "challenge.docx.errors.txt").is_file()


def test_a_file_is_dropped_into_the_inbox_as_a_copy_never_over_another(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    form = downloads / "challenge.docx"
    form.write_bytes(b"the form")
    dropped = folders.drop(form, inbox)
    assert dropped == inbox / "challenge.docx" and dropped.read_bytes() == b"the form"
    assert form.read_bytes() == b"the form"  # the person's own copy stays where it was
    assert folders.drop(dropped, inbox) == dropped  # already in the inbox: taken as it is
    form.write_bytes(b"another form of the same name")
    with pytest.raises(FormflowError, match="already exists in the inbox"):
        folders.drop(form, inbox)
    assert dropped.read_bytes() == b"the form"
