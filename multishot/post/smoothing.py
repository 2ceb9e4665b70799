"""Seam smoothing for stitched shots: move the incoming shot's colour toward the outgoing look.

Separately generated shots drift in white balance and exposure; at a cut that drift reads as a
jump. We use Reinhard et al.'s colour transfer (mean/std matching in Lab, 2001), measured on the
last frames of the outgoing shot and the first frames of the incoming one, and fade the
correction out over the incoming shot's first second so the shot settles into its own look.
Only colours change: no frame is moved, added or dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ColourMatch:
    """Lab statistics of both sides of a seam; `frames` is how long the correction lasts."""

    src_mean: tuple[float, float, float]
    src_std: tuple[float, float, float]
    dst_mean: tuple[float, float, float]
    dst_std: tuple[float, float, float]
    frames: int
    strength: float = 1.0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ColourMatch":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def lab_stats(frames: list[np.ndarray]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    lab = np.concatenate([cv2.cvtColor(f, cv2.COLOR_RGB2LAB).reshape(-1, 3) for f in frames]).astype(np.float32)
    return tuple(lab.mean(0).tolist()), tuple(np.maximum(lab.std(0), 1.0).tolist())


def fit_colour_match(outgoing_tail: list[np.ndarray], incoming_head: list[np.ndarray],
                     frames: int, strength: float = 1.0) -> ColourMatch:
    dst_mean, dst_std = lab_stats(outgoing_tail)
    src_mean, src_std = lab_stats(incoming_head)
    return ColourMatch(src_mean, src_std, dst_mean, dst_std, frames, strength)  # type: ignore[arg-type]


def apply_colour_match(frame: np.ndarray, match: ColourMatch, index: int) -> np.ndarray:
    """Correct frame `index` of the incoming shot; the weight fades linearly to 0 at
    `match.frames` (index 0 gets the full correction)."""
    if index >= match.frames or match.strength <= 0:
        return frame
    weight = match.strength * (1.0 - index / match.frames)
    lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB).astype(np.float32)
    src_mean, src_std = np.array(match.src_mean, np.float32), np.array(match.src_std, np.float32)
    dst_mean, dst_std = np.array(match.dst_mean, np.float32), np.array(match.dst_std, np.float32)
    moved = (lab - src_mean) * (dst_std / src_std) + dst_mean
    out = lab + weight * (moved - lab)
    return cv2.cvtColor(np.clip(out + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
