"""Fades through a solid colour: out to it over the first half of the overlap, in from it over
the second."""

from __future__ import annotations

import numpy as np

from multishot.post.transition_kinds.base import Blend, TransitionKind, mix


def through(colour: int) -> Blend:
    def blend(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
        solid = np.full_like(a, colour)
        return mix(a, solid, t * 2) if t < 0.5 else mix(solid, b, t * 2 - 1)
    return blend


FADE = TransitionKind("fade", help="through black", blend=through(0))
FADE_TO_WHITE = TransitionKind("fade-to-white", help="through white", blend=through(255))
