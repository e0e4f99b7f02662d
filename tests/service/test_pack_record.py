"""The CAFCASS pack is part of the record: ``formflow pack --reference`` records a "pack"
event with its documents, never overwrites an earlier pack, and ``check``, ``backup``
and ``restore`` cover both the pack and the IRO's CAFCASS folder."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner, Result
from service_support import open_register, show_json

from conftest import make_challenge
from formflow.cli import main
from formflow.config import Settings
from formflow.core.engine import assess
from formflow.outbox.folders import Home
from formflow.policy_catalogue import built_in
from formflow.resources import data_root

REFERENCE = "PC-2025-7KQ3XM"
IRO = "Morwenna Pentreath, IRO"
INSTALLED = data_root()
"""The formflow under test's own data: schemas and the built-in procedures."""


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def registered_home(root: Path) -> Home:
    """A home whose register holds the fictional stage 1 challenge of a child in care,
    and whose IRO has put a care order and a letter in the CAFCASS folder."""
    home = Home(root)
    challenge = make_challenge()
    assessment = assess(challenge, built_in()("nelincs"), Settings().calendar, dt.date.today())
    with open_register(home.root) as register:
        register.save_challenge(challenge, assessment, dt.datetime(2025, 11, 3, 9))
    supplied = home.cafcass_for(REFERENCE)
    (supplied / "5 wishes and feelings").mkdir(parents=True)
    one_page_pdf(supplied / "1 Care Order.pdf")
    one_page_pdf(supplied / "5 wishes and feelings" / "letter.pdf")
    return home


def one_page_pdf(path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(path)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Packed:
    home: Home
    first: Result
    second: Result
    first_sums: dict[str, str]
    """The first pack's files and their sums, taken before the second pack."""


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Packed]:
    """The pack built twice: once with no --by, then by the IRO."""
    home = registered_home(tmp_path_factory.mktemp("home"))
    folder = str(home.cafcass_for(REFERENCE))
    where = ["--reference", REFERENCE, "--home", str(home.root)]
    first = run("pack", folder, *where)
    assert first.exit_code == 0, first.output
    sums = {p.name: sha256(p) for p in home.outbox_for(REFERENCE).glob("*.*")}
    second = run("pack", folder, *where, "--by", IRO)
    assert second.exit_code == 0, second.output
    yield Packed(home, first, second, sums)


def pack_events(home: Home) -> list[dict[str, object]]:
    events = show_json(home.root, REFERENCE)["timeline"]
    assert isinstance(events, list)
    return [e for e in events if e["what"] == "pack"]


def test_a_pack_from_the_register_is_an_event_with_its_documents(packed: Packed) -> None:
    first, second = pack_events(packed.home)
    assert first["who"] == getpass.getuser()
    assert second["who"] == IRO
    assert first["documents"] == [
        f"{REFERENCE}/{REFERENCE}-cafcass-checklist.docx",
        f"{REFERENCE}/{REFERENCE}-cafcass-checklist.pdf",
        f"{REFERENCE}/{REFERENCE}-cafcass-iro-report-draft.docx",
        f"{REFERENCE}/{REFERENCE}-cafcass-bundle.pdf",
    ]
    bundle = packed.home.outbox_for(REFERENCE) / f"{REFERENCE}-cafcass-bundle.pdf"
    assert f"written: {bundle}" in packed.first.output


def test_a_second_pack_is_a_new_version_and_the_first_is_kept_unchanged(packed: Packed) -> None:
    _, second = pack_events(packed.home)
    assert second["documents"] == [
        f"{REFERENCE}/{REFERENCE}-cafcass-checklist (2).docx",
        f"{REFERENCE}/{REFERENCE}-cafcass-checklist (2).pdf",
        f"{REFERENCE}/{REFERENCE}-cafcass-iro-report-draft (2).docx",
        f"{REFERENCE}/{REFERENCE}-cafcass-bundle (2).pdf",
    ]
    outbox = packed.home.outbox_for(REFERENCE)
    assert len(packed.first_sums) == 4
    for name, digest in packed.first_sums.items():
        assert sha256(outbox / name) == digest, f"{name} was overwritten"
    with open_register(packed.home.root) as register:
        listed = [d.path for d in register.documents(REFERENCE)]
    assert len(listed) == 8
    assert all((packed.home.outbox / path).is_file() for path in listed)


def test_the_bundle_holds_the_iros_documents(packed: Packed) -> None:
    bundle = packed.home.outbox_for(REFERENCE) / f"{REFERENCE}-cafcass-bundle (2).pdf"
    with pikepdf.open(bundle) as pdf:
        assert len(pdf.pages) >= 3  # the index, then one page from each supplied PDF


def test_check_agrees_with_a_home_that_was_packed(packed: Packed) -> None:
    result = run("check", "--home", str(packed.home.root), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["problems"] == []
    assert report["counts"]["outputs"] == 8
    assert report["counts"]["CAFCASS files"] == 2


def test_backup_and_restore_keep_the_pack_and_the_iros_folder(
    packed: Packed, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    made = run("backup", "--home", str(packed.home.root), str(backup))
    assert made.exit_code == 0, made.output
    manifest = json.loads((backup / "manifest.json").read_text())["files"]
    supplied = f"outbox/{REFERENCE}/CAFCASS"
    assert f"{supplied}/1 Care Order.pdf" in manifest
    assert f"{supplied}/5 wishes and feelings/letter.pdf" in manifest
    assert f"outbox/{REFERENCE}/{REFERENCE}-cafcass-bundle (2).pdf" in manifest
    restored = Home(tmp_path / "restored")
    result = run("restore", "--home", str(restored.root), str(backup))
    assert result.exit_code == 0, result.output
    assert "The register agrees with the archive and the outbox." in result.output
    for relative in manifest:
        if relative.startswith("outbox/"):
            original, copy = packed.home.root / relative, restored.root / relative
            assert sha256(copy) == sha256(original), relative


def test_a_changed_file_of_the_iros_folder_in_a_backup_is_refused(
    packed: Packed, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    assert run("backup", "--home", str(packed.home.root), str(backup)).exit_code == 0
    (backup / "outbox" / REFERENCE / "CAFCASS" / "1 Care Order.pdf").write_bytes(b"changed")
    restored = tmp_path / "restored"
    result = run("restore", "--home", str(restored), str(backup))
    assert result.exit_code == 1
    assert "CAFCASS/1 Care Order.pdf has changed since the backup" in result.output
    assert not restored.exists()


def test_a_pack_from_the_register_goes_nowhere_else(tmp_path: Path) -> None:
    home = registered_home(tmp_path / "home")
    elsewhere = tmp_path / "out"
    where = ["--reference", REFERENCE, "--home", str(home.root), "-o", str(elsewhere)]
    result = run("pack", str(home.cafcass_for(REFERENCE)), *where)
    assert result.exit_code == 2
    assert f"is part of its record and goes into {home.outbox_for(REFERENCE)}" in result.output
    assert not elsewhere.exists()


def test_check_finds_a_cafcass_folder_for_a_challenge_not_in_the_register(
    tmp_path: Path,
) -> None:
    home = registered_home(tmp_path / "home")
    stray = home.cafcass_for("PC-2025-AAAAAA")
    stray.mkdir(parents=True)
    one_page_pdf(stray / "1 Care Order.pdf")
    result = run("check", "--home", str(home.root))
    assert result.exit_code == 1
    assert "PROBLEM (CAFCASS folder without challenge): outbox/PC-2025-AAAAAA/CAFCASS/" in (
        result.output
    )


def test_a_document_dropped_beside_the_packs_says_where_it_belongs(tmp_path: Path) -> None:
    home = registered_home(tmp_path / "home")
    one_page_pdf(home.outbox_for(REFERENCE) / "1 Care Order.pdf")
    result = run("check", "--home", str(home.root))
    assert result.exit_code == 1
    assert f"move it into outbox/{REFERENCE}/CAFCASS/" in result.output


def project_folder(root: Path, *, council_procedure: bool = True) -> Path:
    """A copy of formflow's project folder (its built-in procedures and schemas), with a
    council procedure of its own beside the built-in ones, as ``make run`` users add one."""
    for name in ("policies", "schemas"):
        shutil.copytree(INSTALLED / name, root / name)
    if not council_procedure:
        return root
    merton = json.loads((root / "policies" / "nelincs.json").read_text())
    merton["id"] = "merton"
    (root / "policies" / "merton.json").write_text(json.dumps(merton))
    return root


@pytest.mark.parametrize("into", ["a new folder", "the project folder"])
def test_a_backup_of_the_project_folder_restores_no_copies_of_the_built_in_procedures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, into: str
) -> None:
    """``make run`` keeps its home in the project folder, whose policies/ are the
    built-in procedures: restored as the council's own, each would override its built-in
    and hide every later fix to it, with a note from every command."""
    source = project_folder(tmp_path / "formflow")
    monkeypatch.setenv("FORMFLOW_DATA", str(source))
    registered_home(source)
    backup = tmp_path / "backup"
    assert run("backup", "--home", str(source), str(backup)).exit_code == 0
    installed = project_folder(tmp_path / "formflow-2", council_procedure=False)
    fixed = json.loads((installed / "policies" / "nelincs.json").read_text())
    fixed["notes"].append({"topic": "t", "found": "a later fix", "choice": "c"})
    (installed / "policies" / "nelincs.json").write_text(json.dumps(fixed))
    monkeypatch.setenv("FORMFLOW_DATA", str(installed))  # a later formflow, on a new machine
    target = installed if into == "the project folder" else tmp_path / "restored"
    result = run("restore", "--home", str(target), str(backup))
    assert result.exit_code == 0, result.output
    built_in_names = {p.name for p in (INSTALLED / "policies").glob("*.json")}
    restored = {p.name for p in (target / "policies").glob("*.json")}
    assert restored - built_in_names == {"merton.json"}
    if into == "a new folder":
        assert restored == {"merton.json"}
    else:
        assert (target / "policies" / "nelincs.json").read_bytes() == json.dumps(fixed).encode()
    status = run("status", "--home", str(target))
    assert status.exit_code == 0, status.output
    assert "overrides" not in status.output + status.stderr
    assert REFERENCE in status.output


def test_built_in_copies_in_an_older_backup_are_not_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup made before copies of the built-in procedures were left out."""
    home = registered_home(tmp_path / "home")
    backup = tmp_path / "backup"
    assert run("backup", "--home", str(home.root), str(backup)).exit_code == 0
    (backup / "policies").mkdir()
    shutil.copy(data_root() / "policies" / "nelincs.json", backup / "policies" / "nelincs.json")
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["files"]["policies/nelincs.json"] = sha256(backup / "policies" / "nelincs.json")
    (backup / "manifest.json").write_text(json.dumps(manifest))
    restored = tmp_path / "restored"
    result = run("restore", "--home", str(restored), str(backup))
    assert result.exit_code == 0, result.output
    assert not (restored / "policies" / "nelincs.json").exists()
    status = run("status", "--home", str(restored))
    assert "overrides" not in status.output + status.stderr
