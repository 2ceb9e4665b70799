"""The layer rule: a module imports only from its own layer or the layers below it.

Order, top to bottom (README "How the code is laid out"):
cli → paradigms → graph → plan → shotlist → evaluate → backends → post
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "multishot"
ORDER = ["cli", "paradigms", "graph", "plan", "shotlist", "evaluate", "backends", "post"]


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "multishot" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in ORDER else None


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_every_module_belongs_to_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).parts
        assert len(rel) == 1 or rel[0] in ORDER, f"{path} is outside the layers"


def test_imports_only_point_down() -> None:
    violations = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).parts
        if len(rel) == 1:
            continue
        own = ORDER.index(rel[0])
        for line, module in imports(path):
            target = layer_of(module)
            if target is not None and ORDER.index(target) < own:
                violations.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({rel[0]}) imports {module} ({target})")
    assert not violations, "imports that point up:\n" + "\n".join(violations)
