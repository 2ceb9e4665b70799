"""Wipes: an edge travels across the frame revealing the incoming shot (ffmpeg xfade's
wipeleft: the edge moves right to left)."""

from __future__ import annotations

import numpy as np

from multishot.post.transition_kinds.base import Blend, TransitionKind


def wipe(axis: int, forward: bool) -> Blend:
    """Reveal `b` behind an edge moving along `axis` (1: x, 0: y)."""
    def blend(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
        out = a.copy()
        n = a.shape[axis]
        edge = int(round(n * t))
        if forward:  # incoming shot grows from the low end (left / top)
            sl = (slice(None), slice(0, edge)) if axis == 1 else (slice(0, edge),)
        else:        # from the high end (right / bottom)
            sl = (slice(None), slice(n - edge, n)) if axis == 1 else (slice(n - edge, n),)
        out[sl] = b[sl]
        return out
    return blend


WIPE_LEFT = TransitionKind("wipe-left", help="an edge moving right to left reveals the next shot",
                           blend=wipe(axis=1, forward=False))
WIPE_RIGHT = TransitionKind("wipe-right", help="an edge moving left to right reveals the next shot",
                            blend=wipe(axis=1, forward=True))
WIPE_UP = TransitionKind("wipe-up", help="an edge moving up reveals the next shot", blend=wipe(axis=0, forward=False))
WIPE_DOWN = TransitionKind("wipe-down", help="an edge moving down reveals the next shot",
                           blend=wipe(axis=0, forward=True))
