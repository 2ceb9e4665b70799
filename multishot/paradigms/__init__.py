"""Layer 4 (below cli): the paradigms. One file each; this registry is the only list of them.

Adding a paradigm = one file with a `PARADIGM` and one line here.
"""

from __future__ import annotations

from multishot.errors import InvalidInput

import difflib
import importlib
from pathlib import Path

from multishot.paradigms.base import Paradigm
from multishot.shotlist.loader import load_film
from multishot.shotlist.schema import Film

#: name -> module path.
REGISTRY: dict[str, str] = {
    "stitching": "multishot.paradigms.stitching",
    "keyframe": "multishot.paradigms.keyframe",
    "transition": "multishot.paradigms.transition",
    "holistic": "multishot.paradigms.holistic",
    "agent": "multishot.paradigms.agent",
}


class UnknownParadigm(InvalidInput, ValueError):
    """`--paradigm` or `paradigm:` names no registered paradigm (exit 2)."""


def names() -> list[str]:
    return list(REGISTRY)


def paradigm_problem(name: str) -> str | None:
    """Why `name` is not a paradigm (with a did-you-mean), or None; imports no paradigm."""
    if name.startswith("agent+"):
        inner = name[len("agent+"):]
        if inner == "agent" or inner.startswith("agent+"):
            return "`agent` runs once, in front of another paradigm: use agent+P"
        problem = paradigm_problem(inner)
        return None if problem is None else problem.replace(f"`{inner}`", f"`{inner}` (in `{name}`)", 1)
    if name in REGISTRY:
        return None
    options = [*REGISTRY, *(f"agent+{p}" for p in REGISTRY if p != "agent")]
    guess = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    hint = f"; did you mean `{guess[0]}`?" if guess else ""
    return (f"unknown paradigm `{name}`{hint} Choose one of: {', '.join(REGISTRY)}, "
            "or agent+P (e.g. agent+keyframe)")


def get_paradigm(name: str) -> Paradigm:
    """A paradigm by name; `agent+P` composes the agent roles in front of paradigm P."""
    problem = paradigm_problem(name)
    if problem is not None:
        raise UnknownParadigm(problem)
    if name.startswith("agent+"):
        from multishot.paradigms.agent import compose

        return compose(get_paradigm(name[len("agent+"):]))
    return importlib.import_module(REGISTRY[name]).PARADIGM


def load_checked_film(path: Path) -> Film:
    """`load_film` plus the check of `paradigm:` against this registry (file, line, did-you-mean)."""
    return load_film(path, check_paradigm=paradigm_problem)
