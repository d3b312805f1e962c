"""The domain imports no framework, no store, no crypto, and reads no clock (DESIGN.md §2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import caseflow.domain

DOMAIN = Path(caseflow.domain.__file__).resolve().parent
MODULES = sorted(DOMAIN.rglob("*.py"))
FORBIDDEN = (
    "flask",
    "sqlalchemy",
    "crypto",
    "app",
    "caseflow.store",
    "caseflow.service",
    "time",  # the domain has no use for it but the clock
)
CLOCKS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "time_ns"),
}
#: Only these may touch files: the rule loader (at start) and the diagram command.
FILE_READERS = {"rules.py", "diagram.py"}


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_there_are_modules_to_check() -> None:
    assert {"decider.py", "state.py", "events.py", "rules.py"} <= {m.name for m in MODULES}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: str(m.relative_to(DOMAIN)))
def test_the_domain_imports_nothing_from_outer_layers(module: Path) -> None:
    for name in imported(ast.parse(module.read_text(encoding="utf-8"))):
        for banned in FORBIDDEN:
            assert name != banned and not name.startswith(banned + "."), f"{module}: {name}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: str(m.relative_to(DOMAIN)))
def test_the_domain_reads_no_clock_and_no_file(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            # datetime.now and datetime.datetime.now alike
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            assert (name, node.attr) not in CLOCKS, f"{module}:{node.lineno} reads the clock"
        if module.name not in FILE_READERS and isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in {"open", "read_text", "read_bytes", "write_text", "load"}, (
                f"{module}:{node.lineno} touches a file"
            )
