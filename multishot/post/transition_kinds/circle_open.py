"""Circle open: a circle growing from the centre reveals the incoming shot."""

from __future__ import annotations

import numpy as np

from multishot.post.transition_kinds.base import TransitionKind


def circle_open(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    h, w = a.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    radius = t * np.hypot(w / 2, h / 2)
    inside = (xx - w / 2) ** 2 + (yy - h / 2) ** 2 <= radius ** 2
    out = a.copy()
    out[inside] = b[inside]
    return out


TRANSITION = TransitionKind("circle-open", help="a growing circle reveals the next shot", blend=circle_open)
