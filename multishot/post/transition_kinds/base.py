"""What a transition is: `TransitionKind`, the one object a built-in module or a plug-in declares.

A blend maps (outgoing frame, incoming frame, progress t in (0, 1)) to one film frame. Blends
run in numpy on the overlap only, so the film's length is exactly the sum of shot lengths minus
overlaps (post/timing.py). The geometry follows ffmpeg's xfade filter of the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Blend = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class TransitionKind:
    """One transition type of the shot-list language (SHOTLIST.md)."""

    name: str
    #: No overlap in the film: the incoming shot replaces the outgoing one between two frames.
    hard_cut: bool = False
    #: The overlap's frames come from a generation stage (a bridge); `blend` draws it without them.
    needs_generation: bool = False
    help: str = ""
    #: How the overlap is drawn; None only for a hard cut (it has no overlap).
    blend: Blend | None = None

    def __post_init__(self) -> None:
        if not self.hard_cut and self.blend is None:
            raise ValueError(f"transition `{self.name}` overlaps the two shots, so it needs a `blend` "
                             "(outgoing frame, incoming frame, t) -> frame")


def mix(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """(1 - t)·a + t·b, rounded to 8 bits: the dissolve, and the step every blend builds on."""
    return (a.astype(np.float32) * (1.0 - t) + b.astype(np.float32) * t + 0.5).astype(np.uint8)
