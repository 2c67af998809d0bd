"""Down, never up: no library module imports the command line (the demo and the report print
with `tunecheck.render`). `__main__.py`, the program's entry point, is the one exception."""

from __future__ import annotations

import ast
from pathlib import Path

import tunecheck

SRC = Path(tunecheck.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_library_module_imports_the_cli() -> None:
    offenders = sorted(
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if p.relative_to(SRC).parts[0] not in ("cli", "__main__.py")
        and any(n == "tunecheck.cli" or n.startswith("tunecheck.cli.") for n in _imports(p))
    )
    assert offenders == []
