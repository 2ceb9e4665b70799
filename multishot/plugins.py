"""Plug-ins from other packages, through entry points (the packaging convention pytest uses).

A separate distribution adds to multishot without touching it by declaring, in its
`pyproject.toml`::

    [project.entry-points."multishot.paradigms"]
    sketch = "my_pkg.sketch:PARADIGM"          # a paradigms.base.Paradigm
    [project.entry-points."multishot.backends"]
    toy = "my_pkg.toy:BACKEND"                 # a backends.registry.BackendKind
    [project.entry-points."multishot.transitions"]
    iris = "my_pkg.iris:TRANSITION"            # a plugins.TransitionPlugin (or a vocabulary.TransitionKind)

The registries (paradigms/__init__.py, backends/registry.py, post/transition_kinds/__init__.py)
list their built-ins first and then what `discovered` finds here; a plug-in never replaces a
built-in of the same name. `multishot paradigms` and `multishot profiles list` say where each
came from: `builtin` or the distribution's name.

Outside the layers (like errors.py): every registry, in whichever layer, reads it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable

import numpy as np

PARADIGMS, BACKENDS, TRANSITIONS = "multishot.paradigms", "multishot.backends", "multishot.transitions"
BUILTIN = "builtin"


class PluginError(RuntimeError):
    """An installed plug-in cannot be loaded or is not what its entry point promises."""


@dataclass(frozen=True)
class Plugin:
    """One entry point of one of multishot's groups."""

    name: str
    target: str
    origin: str
    entry: EntryPoint

    def load(self, expected: type | tuple[type, ...]) -> Any:
        """The object the entry point names; PluginError (naming the distribution) when it does
        not import or is not an `expected`."""
        try:
            obj = self.entry.load()
        except Exception as error:  # noqa: BLE001 - any import failure of foreign code
            raise PluginError(f"plug-in `{self.name}` ({self.target}, from {self.origin}) does not load: "
                              f"{type(error).__name__}: {error}") from error
        if not isinstance(obj, expected):
            want = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
            raise PluginError(f"plug-in `{self.name}` ({self.target}, from {self.origin}) is a "
                              f"{type(obj).__name__}, not a {want}")
        return obj


@functools.lru_cache(maxsize=None)
def discovered(group: str) -> tuple[Plugin, ...]:
    """The entry points of `group` in every installed distribution, by name (the first
    distribution on the path wins a name, as Python's import does)."""
    found: dict[str, Plugin] = {}
    for ep in entry_points(group=group):
        dist = getattr(ep, "dist", None)
        origin = dist.metadata["Name"] if dist is not None else "unknown distribution"
        found.setdefault(ep.name, Plugin(ep.name, ep.value, origin, ep))
    return tuple(found.values())


def refresh() -> None:
    """Forget what was discovered (after installing a plug-in into a running process)."""
    discovered.cache_clear()
    _loaded_transitions.clear()


# --------------------------------------------------------------------------------------------
# Transitions
# --------------------------------------------------------------------------------------------

Blend = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class TransitionPlugin:
    """A transition from a plug-in: a name for the shot list's `transition.type`, and how its
    overlap is drawn (outgoing frame, incoming frame, progress t in (0, 1)) -> film frame, as
    the built-ins' blends. Its overlap is the transition's `duration`, so the film's timing
    follows the same rule as a dissolve. (A plug-in may also export a
    `multishot.post.vocabulary.TransitionKind`, exactly as a built-in module does.)"""

    name: str
    blend: Blend
    help: str = ""


_loaded_transitions: dict[str, str] = {}


def load_transitions() -> dict[str, str]:
    """Register every plug-in transition with the vocabulary (once per process), which the
    schema validates against and post/transitions.py draws from. Returns name -> origin of the
    plug-ins registered."""
    if _loaded_transitions or not discovered(TRANSITIONS):
        return dict(_loaded_transitions)
    from multishot.post import vocabulary

    for plugin in discovered(TRANSITIONS):
        if plugin.name in vocabulary.builtin_names():
            continue  # a built-in keeps its name
        obj = plugin.load((TransitionPlugin, vocabulary.TransitionKind))
        if obj.name != plugin.name:
            raise PluginError(f"plug-in transition `{plugin.name}` (from {plugin.origin}) calls itself `{obj.name}`")
        kind = obj if isinstance(obj, vocabulary.TransitionKind) else vocabulary.TransitionKind(
            obj.name, help=obj.help, blend=obj.blend)
        vocabulary.register_transition(kind)
        _loaded_transitions[obj.name] = plugin.origin
    return dict(_loaded_transitions)


def transition_origin(name: str) -> str:
    return _loaded_transitions.get(name, BUILTIN)
