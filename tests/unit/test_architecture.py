"""The arrows between the project's packages (docs/architecture.md), read from the source.

Every ``import`` in every module counts, at the top or inside a function,
under ``TYPE_CHECKING`` or not. A rule names a package and what it must never
import; a second test refuses an import cycle of any length.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The product. tests/, bench/ and migrations/ may import any of it.
PACKAGES = ("app", "caseflow", "config", "crypto", "identity", "reporting", "sanitize")

#: (the importing package, what it must never import, why).
RULES = [
    (
        "caseflow.domain",
        tuple(p for p in PACKAGES if p != "caseflow")
        + ("caseflow.store", "caseflow.service")
        + ("caseflow.clock", "caseflow.pdf", "flask", "sqlalchemy", "time"),
        "the domain is pure: decisions from events, commands and rules",
    ),
    ("crypto", tuple(p for p in PACKAGES if p != "crypto") + ("flask",), "primitives only"),
    ("sanitize", tuple(p for p in PACKAGES if p != "sanitize") + ("flask",), "knows no case"),
    (
        "identity",
        ("app", "flask", "reporting", "sanitize", "caseflow.service"),
        "accounts and keys: beneath the case services, beside the web",
    ),
    (
        "reporting",
        ("app", "flask", "identity", "sanitize", "caseflow.service"),
        "counts from the read models, never content",
    ),
    ("caseflow", ("app", "flask", "reporting"), "caseflow never imports reporting"),
    (
        "caseflow.store",
        ("caseflow.service", "identity", "reporting", "sanitize"),
        "the store knows no service",
    ),
    (
        "config",
        ("app", "flask", "caseflow.service", "caseflow.store", "identity", "reporting"),
        "settings are read before anything runs",
    ),
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every module ``name`` imports, anywhere in the file.

    ``from pkg import x`` is an import of ``pkg.x`` when that is a module of
    the project, of ``pkg`` otherwise; relative imports are resolved.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "__future__":
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield full if full in known else base


def graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    found = modules(root, packages)
    known = set(found)
    return {
        name: {i for i in imports(name, path, known) if i in known and i != name}
        for name, path in found.items()
    }


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def all_imports(root: Path) -> Iterator[tuple[str, str]]:
    found = modules(root, PACKAGES)
    known = set(found)
    for name, path in found.items():
        for target in imports(name, path, known):
            yield name, target


IMPORTS = sorted(set(all_imports(ROOT)))


def test_every_package_of_the_product_is_read() -> None:
    importers = {name.partition(".")[0] for name, _ in IMPORTS}
    assert importers == set(PACKAGES)
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert on_disk - {"tests", "bench", "migrations"} == set(PACKAGES), (
        "a new top-level package needs its rules here and in docs/architecture.md"
    )


@pytest.mark.parametrize(("package", "banned", "why"), RULES, ids=[r[0] for r in RULES])
def test_no_forbidden_arrow(package: str, banned: tuple[str, ...], why: str) -> None:
    wrong = [
        f"{importer} imports {target}"
        for importer, target in IMPORTS
        if within(importer, package) and any(within(target, b) for b in banned)
    ]
    assert not wrong, f"{package}: {why}:\n" + "\n".join(wrong)


def test_no_package_of_the_product_imports_the_web_layer() -> None:
    wrong = [
        f"{importer} imports {target}"
        for importer, target in IMPORTS
        if not within(importer, "app") and within(target, "app")
    ]
    assert not wrong, "\n".join(wrong)


def cycle(root: Path, packages: tuple[str, ...]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(graph(root, packages)).prepare()
    except graphlib.CycleError as error:
        found: list[str] = error.args[1]
        return found
    return None


def test_no_import_cycle_between_modules() -> None:
    found = cycle(ROOT, PACKAGES)
    assert found is None, "import cycle: " + " -> ".join(found or [])


def test_the_cycle_check_finds_a_cycle_inside_a_function(tmp_path: Path) -> None:
    # So the test above can fail: a three-module cycle whose last arrow is
    # an import inside a function, written as a relative import.
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("import pkg.c\n")
    (package / "c.py").write_text("def late():\n    from . import a\n")
    found = cycle(tmp_path, ("pkg",))
    assert found is not None and set(found) == {"pkg.a", "pkg.b", "pkg.c"}
    (package / "c.py").write_text("def late():\n    from . import b as _\n")
    assert set(cycle(tmp_path, ("pkg",)) or []) == {"pkg.b", "pkg.c"}
    (package / "c.py").write_text("")
    assert cycle(tmp_path, ("pkg",)) is None
