"""Dissolve: the two shots blend over the overlap."""

from __future__ import annotations

import numpy as np

from multishot.post.transition_kinds.base import TransitionKind, mix


def dissolve(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return mix(a, b, t)


TRANSITION = TransitionKind("dissolve", help="the two shots blend over the overlap", blend=dissolve)
