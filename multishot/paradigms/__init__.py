"""Layer 4 (below cli): the paradigms. One file each; this registry is the only list of them.

Adding a paradigm = one file with a `PARADIGM` and one line here.
"""

from __future__ import annotations

import importlib

from multishot.paradigms.base import Paradigm

#: name -> module path.
REGISTRY: dict[str, str] = {
    "stitching": "multishot.paradigms.stitching",
    "keyframe": "multishot.paradigms.keyframe",
    "transition": "multishot.paradigms.transition",
    "holistic": "multishot.paradigms.holistic",
    "agent": "multishot.paradigms.agent",
}


class UnknownParadigm(ValueError):
    pass


def names() -> list[str]:
    return list(REGISTRY)


def get_paradigm(name: str) -> Paradigm:
    """A paradigm by name; `agent+P` composes the agent roles in front of paradigm P."""
    if name.startswith("agent+"):
        inner = name[len("agent+"):]
        if inner == "agent" or inner.startswith("agent+"):
            raise UnknownParadigm("`agent` runs once, in front of another paradigm: use agent+P")
        from multishot.paradigms.agent import compose

        return compose(get_paradigm(inner))
    if name in REGISTRY:
        return importlib.import_module(REGISTRY[name]).PARADIGM
    raise UnknownParadigm(f"unknown paradigm `{name}`; choose one of: {', '.join(REGISTRY)}, "
                          "or agent+P (e.g. agent+keyframe)")
