"""The two import loops issue 14 names stay gone: `graph/engine.py` ⇄ `graph/manifest.py` and
the five files of `plan/agent/`. Imports under `if TYPE_CHECKING:` count: a loop hidden from the
interpreter is still a loop for a reader."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "multishot"


def module_graph(prefix: str) -> dict[str, set[str]]:
    """Module → the modules under `prefix` it imports (absolute and relative imports)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("multishot",) + path.relative_to(PACKAGE).with_suffix("").parts
        is_init = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_init else parts)
        package = parts[:-1]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
                module = ".".join(p for p in (base, node.module or "") if p)
                deps.add(module)
                deps |= {f"{module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[name] = deps
    inside = {m for m in graph if m.startswith(prefix + ".")}
    return {m: {d for d in graph[m] if d in inside and d != m} for m in inside}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state and (found := visit(d)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


@pytest.mark.parametrize("prefix", ["multishot.graph", "multishot.plan.agent", "multishot.post",
                                    "multishot.evaluate", "multishot.shotlist"])
def test_no_import_loop(prefix: str) -> None:
    found = cycle(module_graph(prefix))
    assert found is None, " → ".join(found or [])


def test_the_checker_finds_a_loop() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
