"""The procedures one home can use: formflow's own, and the council's, in one catalogue.

    built in          formflow's policies/ (the four seed procedures)
    HOME/policies/    the council's own procedures, beside the register
    [policies] folder a folder formflow.toml names (a shared drive, say)

Each later place overrides an earlier one for the same id: a council's ``nelincs.json``
replaces the built-in nelincs, and ``notices`` says so. A file is named after the id it
declares. Every command builds one catalogue for its home and passes it to whatever needs a
policy (intake, pipeline, reports): there is no other lookup. Files are read again only when
they change: the service looks a policy up several times for every form, and validating it
against the schema each time cost 20 ms.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from formflow.config import Settings
from formflow.core.policy import (
    Policy,
    is_version_1,
    migrate,
    policy_from_dict,
    structural_problems,
)
from formflow.errors import PolicyError
from formflow.resources import policies_dir
from formflow.schema import schema_errors

HOME_FOLDER = "policies"
POLICY_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
"""schemas/policy.schema.json's pattern for an id, which is also its file's name."""


def read_policy(text: str, name: str) -> Policy:
    """A policy from the text of file ``name``, validated; every problem is named in the
    error. A version 1 file is migrated to version 2 first (``policy_data``)."""
    data = policy_data(text, name)
    problems = structural_problems(data)
    if problems:
        raise PolicyError(f"{name} is not a valid policy:\n- " + "\n- ".join(problems))
    return policy_from_dict(data)


def policy_data(text: str, name: str) -> dict[str, Any]:
    """The version 2 data of a policy file that passes its version's schema."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{name} is not a valid policy: it must be a JSON object.")
    old = is_version_1(data)
    errors = schema_errors("policy-v1" if old else "policy", data)
    if errors:
        lines = [
            f"- at {'/'.join(map(str, e.absolute_path)) or 'top level'}: {e.message}"
            for e in errors
        ]
        raise PolicyError(f"{name} is not a valid policy:\n" + "\n".join(lines))
    return migrate(data) if old else data


class Origin(StrEnum):
    BUILT_IN = "built in"
    HOME = "home"
    CONFIGURED = "formflow.toml"


@dataclass(frozen=True)
class PolicyFolder:
    path: Path
    origin: Origin

    def describe(self) -> str:
        match self.origin:
            case Origin.BUILT_IN:
                return f"formflow's built-in procedures ({self.path})"
            case Origin.HOME:
                return f"this home's policies folder ({self.path})"
            case Origin.CONFIGURED:
                return f"the folder formflow.toml names under [policies] ({self.path})"


@dataclass(frozen=True)
class PolicyEntry:
    """Where one id's procedure is read from, and the files it replaces."""

    id: str
    path: Path
    folder: PolicyFolder
    overrides: tuple[Path, ...] = ()

    def notice(self) -> str | None:
        if not self.overrides:
            return None
        replaced = ", ".join(str(p) for p in self.overrides)
        return f"The '{self.id}' procedure is read from {self.path}, which overrides {replaced}."


@dataclass(frozen=True)
class _Cached:
    mtime_ns: int
    size: int
    policy: Policy


class PolicyCatalogue:
    """The procedures one home can use; call it with an id for the ``Policy``."""

    def __init__(self, folders: tuple[PolicyFolder, ...]) -> None:
        self.folders = folders
        self._cache: dict[Path, _Cached] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_home(cls, home: Path, settings: Settings) -> PolicyCatalogue:
        """The built-in procedures, HOME/policies/ and the folder formflow.toml names."""
        folders = [PolicyFolder(policies_dir(), Origin.BUILT_IN)]
        for path, origin in (
            (home / HOME_FOLDER, Origin.HOME),
            (settings.policy_folder, Origin.CONFIGURED),
        ):
            if path is not None and all(not _same(path, f.path) for f in folders):
                folders.append(PolicyFolder(path.absolute(), origin))
        return cls(tuple(folders))

    # --- which file for which id ----------------------------------------------------

    def entries(self) -> dict[str, PolicyEntry]:
        """Every id this home can use, with the file it is read from."""
        found: dict[str, PolicyEntry] = {}
        for folder in self.folders:
            for path in sorted(folder.path.glob("*.json")) if folder.path.is_dir() else ():
                if path.is_file():
                    found[path.stem] = _entry(path, folder, found.get(path.stem))
        return dict(sorted(found.items()))

    def entry(self, policy_id: str) -> PolicyEntry:
        """The file ``policy_id`` is read from (looked up directly: cheaper than a scan).
        An id is only ever a name (as the schema's pattern says), so a procedure typed on a
        form as ``../elsewhere`` never reaches a file outside the folders."""
        entry: PolicyEntry | None = None
        for folder in self.folders if POLICY_ID.fullmatch(policy_id) else ():
            path = folder.path / f"{policy_id}.json"
            if path.is_file():
                entry = _entry(path, folder, entry)
        if entry is None:
            known = ", ".join(self.ids()) or "none"
            raise PolicyError(
                f"There is no policy '{policy_id}'. The policies available are: {known}."
            )
        return entry

    def ids(self) -> list[str]:
        return list(self.entries())

    def notices(self) -> list[str]:
        """One sentence for each council file that replaces another with the same id."""
        return [n for e in self.entries().values() if (n := e.notice()) is not None]

    # --- reading ----------------------------------------------------------------------

    def __call__(self, policy_id: str) -> Policy:
        """The procedure with this id, or with this name: forms show people the name."""
        try:
            return self.read(self.entry(policy_id).path)
        except PolicyError:
            named = self._named(policy_id)
            if named is None:
                raise
            return named

    def _named(self, name: str) -> Policy | None:
        wanted = " ".join(name.split()).casefold()
        for entry in self.entries().values():
            try:
                policy = self.read(entry.path)
            except PolicyError:  # a broken file is reported by its own id, not here
                continue
            if " ".join(policy.name.split()).casefold() == wanted:
                return policy
        return None

    def read(self, path: Path) -> Policy:
        """The policy in ``path``, validated, read again only when the file changes."""
        try:
            stat = path.stat()
        except OSError as exc:
            raise PolicyError(f"Cannot read the policy file {path.name}: {exc.strerror}.") from exc
        cached = self._cache.get(path)
        if cached is not None and (cached.mtime_ns, cached.size) == (
            stat.st_mtime_ns,
            stat.st_size,
        ):
            return cached.policy
        policy = read_policy_file(path)
        with self._lock:
            self._cache[path] = _Cached(stat.st_mtime_ns, stat.st_size, policy)
        return policy

    # --- what `policies check` says -------------------------------------------------

    def placement(self, path: Path) -> str:
        """Whether a valid policy file at ``path`` will be used by this home, and how."""
        policy_id = path.stem
        folder = next((f for f in self.folders if _same(path.parent, f.path)), None)
        try:
            used = self.entry(policy_id)
        except PolicyError:
            used = None
        if folder is None:
            homes = " or ".join(
                str(f.path) for f in self.folders if f.origin is not Origin.BUILT_IN
            )
            replacing = (
                f", where it will override the '{policy_id}' procedure read from {used.path}"
                if used is not None
                else ""
            )
            return (
                f"Not used yet: this home reads its own procedures from {homes}. "
                f"Copy {path.name} there to use it{replacing}."
            )
        if used is not None and _same(used.path, path):
            replaced = (
                f", overriding {', '.join(str(p) for p in used.overrides)}"
                if used.overrides
                else ""
            )
            return f"Used as '{policy_id}', read from {folder.describe()}{replaced}."
        assert used is not None
        return f"Not used: {used.path} has the same id and comes later, so it overrides this file."


def read_policy_file(path: Path) -> Policy:
    """Read and validate one policy file; its name must be the id it declares."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"Cannot read the policy file {path.name}: {exc.strerror}.") from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path.name} is not UTF-8 text: save it as UTF-8 JSON.") from exc
    policy = read_policy(text, path.name)
    if path.stem != policy.id:
        raise PolicyError(f"{path.name} declares id '{policy.id}'; name the file {policy.id}.json.")
    return policy


def _entry(path: Path, folder: PolicyFolder, earlier: PolicyEntry | None) -> PolicyEntry:
    overrides = (*earlier.overrides, earlier.path) if earlier else ()
    return PolicyEntry(path.stem, path, folder, overrides)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


@cache
def built_in() -> PolicyCatalogue:
    """formflow's own procedures only, for the tools that build the shipped blank forms and
    samples, and for tests; every command uses its home's catalogue."""
    return PolicyCatalogue((PolicyFolder(policies_dir(), Origin.BUILT_IN),))
