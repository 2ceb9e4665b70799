"""Iris: the incoming shot appears inside a square growing from the centre of the frame."""

from __future__ import annotations

import numpy as np

from multishot.plugins import TransitionPlugin


def iris(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    h, w = a.shape[:2]
    dy, dx = int(round(h / 2 * t)), int(round(w / 2 * t))
    out = a.copy()
    out[h // 2 - dy: h // 2 + dy, w // 2 - dx: w // 2 + dx] = b[h // 2 - dy: h // 2 + dy, w // 2 - dx: w // 2 + dx]
    return out


TRANSITION = TransitionPlugin("iris", iris, help="a square opening from the centre reveals the next shot")
