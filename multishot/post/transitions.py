"""Transitions between two shots, as functions over frames.

Each transition maps (outgoing frame, incoming frame, progress t in (0, 1)) to one film frame.
They run in numpy on the overlap only, so the film's length is exactly the sum of shot lengths
minus overlaps. The geometry follows ffmpeg's xfade filter of the same names (wipeleft: the
edge travels right-to-left revealing the incoming shot; slideleft: both shots move left).
Adding a transition = one function + one registry line.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Blend = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def _mix(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return (a.astype(np.float32) * (1.0 - t) + b.astype(np.float32) * t + 0.5).astype(np.uint8)


def dissolve(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return _mix(a, b, t)


def _through(colour: int) -> Blend:
    def blend(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
        solid = np.full_like(a, colour)
        return _mix(a, solid, t * 2) if t < 0.5 else _mix(solid, b, t * 2 - 1)
    return blend


def _wipe(axis: int, forward: bool) -> Blend:
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


def _slide(direction: int) -> Blend:
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


def circle_open(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    h, w = a.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    radius = t * np.hypot(w / 2, h / 2)
    inside = (xx - w / 2) ** 2 + (yy - h / 2) ** 2 <= radius ** 2
    out = a.copy()
    out[inside] = b[inside]
    return out


BLENDS: dict[str, Blend] = {
    "dissolve": dissolve,
    "fade": _through(0),
    "fade-to-white": _through(255),
    "wipe-left": _wipe(axis=1, forward=False),
    "wipe-right": _wipe(axis=1, forward=True),
    "wipe-up": _wipe(axis=0, forward=False),
    "wipe-down": _wipe(axis=0, forward=True),
    "slide-left": _slide(-1),
    "slide-right": _slide(+1),
    "circle-open": circle_open,
    # A bridge's overlap is replaced by generated frames when a paradigm provides them; without
    # them it dissolves, so the film's timing is the same either way.
    "bridge": dissolve,
}


def transition_frames(kind: str, tail: list[np.ndarray], head: list[np.ndarray]) -> list[np.ndarray]:
    """The overlap frames of a transition: `tail` (outgoing) and `head` (incoming) have the same
    length n; frame k uses progress (k + 0.5) / n so neither endpoint is a pure copy."""
    if len(tail) != len(head):
        raise ValueError(f"transition needs equal overlaps, got {len(tail)} and {len(head)}")
    blend = BLENDS[kind]
    n = len(tail)
    return [blend(a, b, (k + 0.5) / n) for k, (a, b) in enumerate(zip(tail, head))]


def blend_cut(tail: list[np.ndarray], head: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Soften a `cut` that is not meant to be hard: the last frames of the outgoing shot lean
    toward the incoming shot's first frame and vice versa. No frame is added or removed, so the
    cut's timing is untouched."""
    n = len(tail)
    first_in, last_out = head[0], tail[-1]
    new_tail = [_mix(f, first_in, 0.5 * (k + 1) / (n + 1)) for k, f in enumerate(tail)]
    new_head = [_mix(f, last_out, 0.5 * (n - k) / (n + 1)) for k, f in enumerate(head)]
    return new_tail, new_head
