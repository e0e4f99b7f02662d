"""The Makefile's two entry points (issue 22): `make run` gives the service formflow
alone; `make test` adds the test tools. Read from make's own dry run of a fresh clone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _installs(target: str) -> list[str]:
    """The pip installs `make TARGET` would run in a clone with no .venv yet."""
    if shutil.which("make") is None:
        pytest.fail("make is needed to check the Makefile")
    dry = subprocess.run(
        ["make", "--dry-run", "--always-make", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in dry.stdout.splitlines() if "pip install" in line]


def test_make_run_installs_formflow_without_the_test_tools() -> None:
    installs = _installs("run")
    assert any(line.endswith("install --quiet -e .") for line in installs), installs
    assert not any("[test]" in line for line in installs), installs


def test_make_test_adds_the_test_tools() -> None:
    installs = _installs("test")
    assert any(line.endswith("install --quiet -e '.[test]'") for line in installs), installs
