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
    core = sorted((PACKAGE / "core").rglob("*.py"))
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


def _unit(module: str) -> str | None:
    """The top-level package or module of formflow that ``module`` belongs to."""
    parts = module.split(".")
    if parts[0] != "formflow" or len(parts) < 2:
        return None
    return parts[1]


def _is_unit(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def _dependencies() -> dict[str, set[str]]:
    """Which of formflow's packages and top-level modules each one imports."""
    graph: dict[str, set[str]] = {}
    for module in PACKAGE.rglob("*.py"):
        source = module.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if source == "__init__":
            continue
        targets = graph.setdefault(source, set())
        for name in _imports(module):
            if name == "formflow":
                continue
            unit = _unit(name)
            if unit is not None and unit != source:
                targets.add(unit)
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "formflow":
                targets.update(a.name for a in node.names if _is_unit(a.name))
    return graph


def _reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        unit = todo.pop()
        if unit not in seen:
            seen.add(unit)
            todo.extend(graph.get(unit, ()))
    return seen


def test_the_dependency_graph_has_the_packages_we_expect() -> None:
    graph = _dependencies()
    assert {
        "core",
        "intake",
        "render",
        "outbox",
        "store",
        "reports",
        "pipeline",
        "watch",
        "commands",
    } <= set(graph)
    assert "outbox" in graph["pipeline"]
    assert "store" in graph["pipeline"]
    assert "pipeline" in graph["watch"]


CROSS_CUTTING = {
    "__init__",
    "cli",
    "config",
    "errors",
    "form",
    "policy_catalogue",
    "resources",
    "sample",
    "schema",
}
"""The modules that may sit flat at the top: settings, errors, the form's fields, the
procedures on disk, packaged files, the schema, the sample and the CLI's entry point.
Everything else lives in a package that says what it is."""


def test_no_flat_shell_modules_at_the_top() -> None:
    flat = {module.stem for module in PACKAGE.glob("*.py")}
    assert flat - CROSS_CUTTING == set()


def test_no_import_cycle_between_packages() -> None:
    graph = _dependencies()
    cycles = sorted(unit for unit in graph if unit in _reaches(graph, unit))
    assert cycles == []


def test_no_package_imports_one_above_it() -> None:
    graph = _dependencies()
    above = {"pipeline", "watch", "commands", "web", "cli"}
    for lower in ("core", "intake", "render", "outbox", "store", "reports"):
        assert _reaches(graph, lower) & above == set(), lower
    assert "watch" not in _reaches(graph, "pipeline")
    assert "reports" not in _reaches(graph, "store")
    assert "web" not in _reaches(graph, "watch") | _reaches(graph, "pipeline")


def _module_name(path: Path) -> str:
    parts = ("formflow", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_dependencies() -> dict[str, set[str]]:
    """Which of formflow's modules each one imports (``from package import module`` is an
    import of the module)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module in modules:
                submodules = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
                targets.update(submodules or {node.module})
        targets.discard(name)
    return graph


def test_no_two_modules_import_each_other() -> None:
    graph = _module_dependencies()
    assert "formflow.intake.pdf_replies" in graph["formflow.intake._pdf_worker"]
    cycles = sorted(module for module in graph if module in _reaches(graph, module))
    assert cycles == []
