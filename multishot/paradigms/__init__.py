"""Layer 4 (below cli): the paradigms. One file each; this registry is the only list of the
built-in ones, and other packages add theirs through the `multishot.paradigms` entry-point group
(multishot/plugins.py).

Adding a paradigm = one file with a `PARADIGM` (its options, flags, needs and stage graph are
declared in it: paradigms/base.py) and one line in `REGISTRY` — or, from another package, one
entry point.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, fields
from pathlib import Path

from multishot.errors import InvalidInput
from multishot.paradigms.base import OptionFlag, Paradigm, option_flags
from multishot.plugins import BUILTIN, PARADIGMS, Plugin, PluginError, discovered
from multishot.shotlist.loader import load_film
from multishot.shotlist.schema import Film

#: name -> module path of the built-in paradigms.
REGISTRY: dict[str, str] = {
    "stitching": "multishot.paradigms.stitching",
    "keyframe": "multishot.paradigms.keyframe",
    "transition": "multishot.paradigms.transition",
    "holistic": "multishot.paradigms.holistic",
    "agent": "multishot.paradigms.agent",
}


class UnknownParadigm(InvalidInput, ValueError):
    """`--paradigm` or `paradigm:` names no registered paradigm (exit 2)."""


def _plugins() -> dict[str, Plugin]:
    return {p.name: p for p in discovered(PARADIGMS) if p.name not in REGISTRY and "+" not in p.name}


def names() -> list[str]:
    """Every paradigm: the built-ins, then the plug-ins."""
    return [*REGISTRY, *_plugins()]


def origin(name: str) -> str:
    """`builtin`, or the distribution a plug-in paradigm came from."""
    plugin = _plugins().get(name)
    return plugin.origin if plugin is not None else BUILTIN


def paradigm_problem(name: str) -> str | None:
    """Why `name` is not a paradigm (with a did-you-mean), or None; imports no paradigm."""
    if name.startswith("agent+"):
        inner = name[len("agent+"):]
        if inner == "agent" or inner.startswith("agent+"):
            return "`agent` runs once, in front of another paradigm: use agent+P"
        problem = paradigm_problem(inner)
        return None if problem is None else problem.replace(f"`{inner}`", f"`{inner}` (in `{name}`)", 1)
    known = names()
    if name in known:
        return None
    options = [*known, *(f"agent+{p}" for p in known if p != "agent")]
    guess = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    hint = f"; did you mean `{guess[0]}`?" if guess else ""
    return (f"unknown paradigm `{name}`{hint} Choose one of: {', '.join(known)}, "
            "or agent+P (e.g. agent+keyframe)")


def get_paradigm(name: str) -> Paradigm:
    """A paradigm by name; `agent+P` composes the agent roles in front of paradigm P."""
    problem = paradigm_problem(name)
    if problem is not None:
        raise UnknownParadigm(problem)
    if name.startswith("agent+"):
        from multishot.paradigms.agent import compose

        return compose(get_paradigm(name[len("agent+"):]))
    if name in REGISTRY:
        return importlib.import_module(REGISTRY[name]).PARADIGM
    paradigm = _plugins()[name].load(Paradigm)
    if paradigm.name != name:
        raise PluginError(f"plug-in paradigm `{name}` (from {origin(name)}) calls itself `{paradigm.name}`")
    return paradigm


def all_option_flags() -> list[OptionFlag]:
    """Every paradigm's flags, for `render`. Two paradigms may not claim one flag or one option
    name (they share one command line and one RenderOptions)."""
    out: list[OptionFlag] = []
    seen: dict[str, str] = {}
    for name in names():
        for flag in option_flags(name, get_paradigm(name).options):
            for key in (flag.flag.name, flag.field):
                other = seen.setdefault(key, name)
                if other != name:
                    raise PluginError(f"paradigms `{other}` and `{name}` both declare `{key}`")
            out.append(flag)
    return out


def option_names() -> set[str]:
    """The field names of every paradigm's options (what RenderOptions accepts beyond its own)."""
    return {f.name for name in names() for f in fields(get_paradigm(name).options or _NoOptions)}


@dataclass(frozen=True)
class _NoOptions:
    pass


def load_checked_film(path: Path) -> Film:
    """`load_film` plus the check of `paradigm:` against this registry (file, line, did-you-mean)."""
    return load_film(path, check_paradigm=paradigm_problem)
