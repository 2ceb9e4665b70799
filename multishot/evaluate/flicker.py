"""Flicker: temporal jitter of brightness inside each shot.

Video diffusion models (and per-frame image models used as video) often pump brightness from
frame to frame; viewers see it as flicker long before they notice anything else. We follow each
shot's global mean luma Y(t) (Rec. 601, 8-bit levels; a global mean is already the strongest
spatial low-pass) and report, over the shot's pure frames (transition overlaps excluded, since a
fade is meant to change brightness):

* `mean_abs_delta` = mean |Y(t) - Y(t-1)|: the brightness step per frame (the headline number);
* `jitter` = mean |Y(t) - (Y(t-1) + Y(t+1)) / 2|: the part of that step a straight line through
  the neighbours does not explain. A slow, intended lighting change (dusk falling, a dolly into
  shadow) moves `mean_abs_delta` but leaves `jitter` near 0; true flicker moves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from multishot.evaluate.timeline import PlannedBoundary, shot_interiors

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)


def mean_luma(frame: np.ndarray) -> float:
    """Global mean Rec. 601 luma of an RGB uint8 frame, 0..255."""
    return float(np.asarray(frame, dtype=np.float64).reshape(-1, 3).mean(axis=0) @ _LUMA)


@dataclass(frozen=True)
class ShotFlicker:
    shot_id: str
    frames: int
    mean_abs_delta: float
    jitter: float


def luma_flicker(luma: Sequence[float]) -> tuple[float, float]:
    """(mean |ΔY|, mean second-difference residual) of one shot's luma series."""
    y = np.asarray(luma, dtype=np.float64)
    delta = float(np.mean(np.abs(np.diff(y)))) if len(y) >= 2 else 0.0
    jitter = float(np.mean(np.abs(y[1:-1] - 0.5 * (y[:-2] + y[2:])))) if len(y) >= 3 else 0.0
    return delta, jitter


def shot_flicker(luma: Sequence[float], shots: Sequence[tuple[str, float, float]],
                 boundaries: Sequence[PlannedBoundary], fps: float) -> list[ShotFlicker]:
    """Per-shot flicker from the film's per-frame mean luma (see `mean_luma`)."""
    interiors = shot_interiors(len(luma), shots, boundaries, fps)
    out = []
    for shot_id, _, _ in shots:
        r = interiors[shot_id]
        delta, jitter = luma_flicker([luma[i] for i in r])
        out.append(ShotFlicker(shot_id=shot_id, frames=len(r), mean_abs_delta=delta, jitter=jitter))
    return out


def film_flicker(frames: Sequence[np.ndarray], shots: Sequence[tuple[str, float, float]],
                 boundaries: Sequence[PlannedBoundary], fps: float) -> list[ShotFlicker]:
    """`shot_flicker` straight from frames."""
    return shot_flicker([mean_luma(f) for f in frames], shots, boundaries, fps)


def mean_flicker(per_shot: Sequence[ShotFlicker]) -> tuple[float | None, float | None]:
    """Film-level (mean_abs_delta, jitter): means over shots with at least two pure frames."""
    usable = [s for s in per_shot if s.frames >= 2]
    if not usable:
        return None, None
    return (float(np.mean([s.mean_abs_delta for s in usable])),
            float(np.mean([s.jitter for s in usable])))
