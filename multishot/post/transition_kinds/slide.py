"""Slides: both shots move together (slide-left: the incoming one enters from the right)."""

from __future__ import annotations

import numpy as np

from multishot.post.transition_kinds.base import Blend, TransitionKind


def slide(direction: int) -> Blend:
    """Both shots move together; direction -1 = left (incoming enters from the right)."""
    def blend(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
        w = a.shape[1]
        off = int(round(w * t))
        out = np.empty_like(a)
        if direction < 0:
            out[:, : w - off] = a[:, off:]
            out[:, w - off:] = b[:, :off]
        else:
            out[:, off:] = a[:, : w - off]
            out[:, :off] = b[:, w - off:]
        return out
    return blend


SLIDE_LEFT = TransitionKind("slide-left", help="both shots move left", blend=slide(-1))
SLIDE_RIGHT = TransitionKind("slide-right", help="both shots move right", blend=slide(+1))
