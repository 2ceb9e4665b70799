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


def absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module a (possibly relative) `from … import` in `path` names: `from .weights import X`
    in multishot/backends/diffusers/profile.py is multishot.backends.diffusers.weights."""
    if node.level == 0:
        return node.module or ""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1]  # a module's package; for __init__.py the package itself
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, absolute(path, node)))
    return found


def test_relative_imports_are_resolved_and_checked(tmp_path: Path) -> None:
    """Relative imports count like absolute ones (they were skipped before: backends/ has ~50)."""
    relative = [(path, node) for path in PACKAGE.rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.ImportFrom) and node.level > 0]
    assert relative, "no relative import left to check"
    for path, node in relative:
        assert layer_of(absolute(path, node)) in ORDER, (path, node.lineno)  # resolved into a layer
    init = PACKAGE / "backends" / "diffusers" / "__init__.py"
    assert absolute(init, ast.ImportFrom(module="profile", names=[], level=1)) == "multishot.backends.diffusers.profile"
    assert absolute(PACKAGE / "backends" / "diffusers" / "joint.py",
                    ast.ImportFrom(module="base", names=[], level=2)) == "multishot.backends.base"
    # An upward relative import is caught: a backends module reaching into paradigms.
    bad = PACKAGE / "backends" / "x.py"
    assert layer_of(absolute(bad, ast.ImportFrom(module="paradigms.base", names=[], level=2))) == "paradigms"


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
