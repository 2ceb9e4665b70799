"""Layer 4 (below cli): the paradigms. One file each; this registry is the only list of them.

Adding a paradigm = one file with a `PARADIGM` and one line here.
"""

from __future__ import annotations

import importlib

from multishot.paradigms.base import Paradigm

#: name -> module path. Names listed in PLANNED are recognised but not built yet.
REGISTRY: dict[str, str] = {
    "stitching": "multishot.paradigms.stitching",
    "keyframe": "multishot.paradigms.keyframe",
    "transition": "multishot.paradigms.transition",
    "holistic": "multishot.paradigms.holistic",
}
PLANNED: dict[str, str] = {
    "agent": "director/cinematographer/continuity roles that revise the shot list first",
}


class UnknownParadigm(ValueError):
    pass


def names() -> list[str]:
    return list(REGISTRY)


def get_paradigm(name: str) -> Paradigm:
    if name in REGISTRY:
        return importlib.import_module(REGISTRY[name]).PARADIGM
    if name in PLANNED:
        raise UnknownParadigm(
            f"paradigm `{name}` ({PLANNED[name]}) is not built yet; available: {', '.join(REGISTRY)}")
    raise UnknownParadigm(f"unknown paradigm `{name}`; choose one of: {', '.join(REGISTRY)}")
