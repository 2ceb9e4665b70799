"""Re-framing a still by a camera move: the picture a move would end on, as far as the start
frame already shows it.

A dolly-in or zoom-in ends tighter: the centre of the start frame, scaled up. A dolly-out or
zoom-out ends wider: the start frame scaled down in the middle, the new border continued from
its edges. A pan, truck, tilt, crane or orbit ends with the world slid across the frame: the
start frame shifted, the revealed strip continued from the edge. Only the re-framing is done
here; an image-to-image model then repaints the picture (border and detail) under the end
prompt (graph/scene_keyframes.py), so the end keyframe is derived from the start keyframe
instead of being a second, unrelated draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

Frame = np.ndarray


@dataclass(frozen=True)
class Move:
    """Where a move ends relative to its start: `zoom` > 1 is tighter; `dx`, `dy` are how far
    the world slides on screen, as fractions of the frame's width and height (+ right, + down)."""

    zoom: float = 1.0
    dx: float = 0.0
    dy: float = 0.0

    @property
    def is_still(self) -> bool:
        return abs(self.zoom - 1.0) < 1e-6 and abs(self.dx) < 1e-6 and abs(self.dy) < 1e-6

    def describe(self) -> list[float]:
        return [round(self.zoom, 4), round(self.dx, 4), round(self.dy, 4)]


def _scale_about_centre(frame: Frame, zoom: float) -> Frame:
    h, w = frame.shape[:2]
    if zoom >= 1.0:  # crop the centre, scale back up
        cw, ch = max(1, round(w / zoom)), max(1, round(h / zoom))
        x0, y0 = (w - cw) // 2, (h - ch) // 2
        crop = Image.fromarray(frame[y0:y0 + ch, x0:x0 + cw])
        return np.asarray(crop.resize((w, h), Image.Resampling.BICUBIC))
    sw, sh = max(1, round(w * zoom)), max(1, round(h * zoom))  # shrink into the middle, extend edges
    small = np.asarray(Image.fromarray(frame).resize((sw, sh), Image.Resampling.BICUBIC))
    top, left = (h - sh) // 2, (w - sw) // 2
    return np.pad(small, ((top, h - sh - top), (left, w - sw - left), (0, 0)), mode="edge")


def _shift(frame: Frame, dx: float, dy: float) -> Frame:
    h, w = frame.shape[:2]
    sx, sy = round(dx * w), round(dy * h)
    sx, sy = max(-(w - 1), min(w - 1, sx)), max(-(h - 1), min(h - 1, sy))
    padded = np.pad(frame, ((max(sy, 0), max(-sy, 0)), (max(sx, 0), max(-sx, 0)), (0, 0)), mode="edge")
    y0, x0 = max(-sy, 0), max(-sx, 0)
    return padded[y0:y0 + h, x0:x0 + w]


def reframe(frame: Frame, move: Move) -> Frame:
    """`frame` (H, W, 3) uint8 as the move's end would frame it, same size."""
    if move.is_still:
        return frame.copy()
    out = _scale_about_centre(frame, move.zoom) if abs(move.zoom - 1.0) > 1e-6 else frame
    if move.dx or move.dy:
        out = _shift(out, move.dx, move.dy)
    return np.ascontiguousarray(out, dtype=np.uint8)
