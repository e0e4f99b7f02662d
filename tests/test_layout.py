"""The package layout is the architecture: these tests keep it so.

They read the source (the AST of every module), so an import hidden inside a function
counts as much as one at the top.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import formflow

PACKAGE = Path(formflow.__file__).parent
PURE_THIRD_PARTY = {"holidays"}
"""Libraries the core may use: they compute, they do not touch files, clocks or networks."""


def _imports(module: Path) -> set[str]:
    """Every module name ``module`` imports, absolute."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: relative import"
            assert node.module is not None
            names.add(node.module)
    return names


def test_nothing_in_the_core_imports_the_shell() -> None:
    core = sorted((PACKAGE / "core").glob("*.py"))
    assert len(core) >= 6  # __init__, record, calendar, policy, engine, planning
    refused = {
        f"{module.name} imports {name}"
        for module in core
        for name in _imports(module)
        if not (
            name.split(".")[0] in sys.stdlib_module_names
            or name.split(".")[0] in PURE_THIRD_PARTY
            or name == "__future__"
            or name in ("formflow.core", "formflow.errors")
            or name.startswith("formflow.core.")
        )
    }
    assert refused == set()
