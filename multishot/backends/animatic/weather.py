"""Falling rain and snow, drawn in screen space on top of each frame.

Precipitation must move while the camera holds still, so it cannot live in the pre-drawn world.
Drawing strokes per frame would cost more than the rest of the frame; instead each streak is a
precomputed set of pixel offsets, and a frame only adds its fall distance, wraps, and writes
those few thousand pixels with one fancy-indexed assignment.
"""

from __future__ import annotations

import numpy as np

from .palette import Look
from .seeds import rng


class Precipitation:
    def __init__(self, look: Look, width: int, pic_h: int, fps: float, seed: int, shot_id: str) -> None:
        wx = look.weather
        self.kind = "none" if look.interior else ("rain" if wx.rain else "snow" if wx.snow else "none")
        self.W, self.H = width, pic_h
        if self.kind == "none" or width < 8 or pic_h < 8:
            self.kind = "none"
            return
        r = rng("precip", seed, shot_id)
        fps = max(float(fps), 1.0)
        if self.kind == "rain":
            n = int(width * pic_h / 650 * wx.rain)
            length = max(3, round(pic_h * 0.035))
            self.speed = pic_h * 1.6 / fps
            self.slant = 0.12 + 0.25 * wx.wind
            k = np.arange(length, dtype=np.float64)
            self.dx = np.tile(k * self.slant, n)
            self.dy = np.tile(k, n)
            self.colour = np.array([205, 212, 225], np.uint16)
            self.x0 = np.repeat(r.uniform(0, width, n), length)
            self.y0 = np.repeat(r.uniform(0, pic_h, n), length)
            self.sway = np.zeros(1)
            self.phase = np.zeros(1)
        else:
            n = int(width * pic_h / 900 * max(wx.snow, 0.5))
            self.speed = pic_h * 0.12 / fps
            self.slant = 0.0
            ox = np.array([0, 1, 0, 1], np.float64)
            oy = np.array([0, 0, 1, 1], np.float64)
            self.dx, self.dy = np.tile(ox, n), np.tile(oy, n)
            self.x0 = np.repeat(r.uniform(0, width, n), 4)
            self.y0 = np.repeat(r.uniform(0, pic_h, n), 4)
            self.sway = np.repeat(r.uniform(0.005, 0.015, n) * width, 4)
            self.phase = np.repeat(r.uniform(0, 2 * np.pi, n), 4)
            self.fps = fps
            self.colour = np.array([248, 248, 252], np.uint16)

    def apply(self, picture: np.ndarray, i: int) -> None:
        """Draw frame `i`'s particles into `picture` (pic_h, W, 3), in place."""
        if self.kind == "none":
            return
        fall = self.speed * i
        y = (self.y0 + self.dy + fall).astype(np.int64) % self.H
        if self.kind == "rain":
            x = (self.x0 + self.dx + self.slant * fall).astype(np.int64) % self.W
        else:
            x = (self.x0 + self.dx + self.sway * np.sin(2 * np.pi * 0.4 * i / self.fps + self.phase)).astype(np.int64) % self.W
        flat = picture.reshape(-1, 3)
        idx = y * self.W + x
        if self.kind == "rain":  # half-transparent streaks
            flat[idx] = ((flat[idx].astype(np.uint16) + self.colour) >> 1).astype(np.uint8)
        else:
            flat[idx] = self.colour.astype(np.uint8)
