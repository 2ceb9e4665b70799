"""Camera moves as per-frame affine maps from world to picture, one for each depth layer.

A 2D previz fakes depth with two layers: the background (far) and the figures (near). Moves
that translate the camera (truck, crane, dolly, orbit) shift the near layer more than the far
one -- motion parallax -- while moves that only rotate or re-lens it (pan, tilt, zoom) move both
layers alike. That difference is exactly what an animatic must show a director, and it costs
one extra warp of a small layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from multishot.backends.framing import END_SCALE, movement_end_zoom

from .seeds import rng
from .staging import norm

MOVEMENTS = ("static", "pan-left", "pan-right", "tilt-up", "tilt-down", "dolly-in", "dolly-out",
             "truck-left", "truck-right", "crane-up", "crane-down", "zoom-in", "zoom-out", "orbit",
             "handheld")

#: Scale reached by the figures at the end of a scaling move: the keyframe convention of
#: backends/framing.py, which this camera model defines.
_END_SCALE = END_SCALE
#: During a dolly the background scales as (figure scale) ** this: it is farther away.
_DOLLY_DEPTH = 0.35


@dataclass(frozen=True)
class CameraPath:
    """World -> picture affine maps, (n, 2, 3) float64, for the background and figure layers."""

    bg: np.ndarray
    fg: np.ndarray

    @property
    def parallax(self) -> bool:
        return not np.allclose(self.bg, self.fg, atol=1e-9)


def _ease(u: np.ndarray) -> np.ndarray:
    """Smoothstep: real camera moves accelerate and settle."""
    return u * u * (3.0 - 2.0 * u)


def _smooth_noise(t: np.ndarray, r: np.random.Generator) -> np.ndarray:
    """Band-limited noise in about [-1, 1]: a few seeded sines (0.3-1.7 Hz), like a held camera."""
    out = np.zeros_like(t)
    amps = np.array([0.55, 0.3, 0.15])
    for a in amps:
        f, ph = r.uniform(0.3, 1.7), r.uniform(0, 2 * math.pi)
        out += a * np.sin(2 * math.pi * f * t + ph)
    return out


def _affine(s: np.ndarray, tx: np.ndarray, ty: np.ndarray, theta_deg: np.ndarray, W: int, Hp: int) -> np.ndarray:
    """p' = s R(theta) (p - c) + c + t, with c the picture centre."""
    th = np.deg2rad(theta_deg)
    cos, sin = np.cos(th) * s, np.sin(th) * s
    cx, cy = W / 2.0, Hp / 2.0
    m = np.empty((len(s), 2, 3))
    m[:, 0, 0], m[:, 0, 1] = cos, -sin
    m[:, 1, 0], m[:, 1, 1] = sin, cos
    m[:, 0, 2] = cx + tx - (cos * cx - sin * cy)
    m[:, 1, 2] = cy + ty - (sin * cx + cos * cy)
    return m


def camera_path(movement: str | None, n: int, fps: float, seed: int, shot_id: str, W: int, Hp: int,
                zoom: float = 1.0, dutch_deg: float = 0.0) -> CameraPath:
    """Per-frame maps for `n` frames. Frame 0 is the composed framing at `zoom` (what
    `text_to_image` shows); the move unfolds from there over the shot."""
    mv = norm(movement, "static")
    u = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
    e = _ease(u)
    one, zero = np.ones(n), np.zeros(n)
    s_bg, s_fg = one.copy(), one.copy()
    tx_bg, tx_fg, ty_bg, ty_fg = zero.copy(), zero.copy(), zero.copy(), zero.copy()
    theta = np.full(n, float(dutch_deg))
    if mv in ("pan-left", "pan-right"):  # camera turns left -> the world slides right
        d = (1 if mv == "pan-left" else -1) * 0.25 * W * e
        tx_bg, tx_fg = d, d.copy()
    elif mv in ("tilt-up", "tilt-down"):  # camera tilts up -> the world slides down
        d = (1 if mv == "tilt-up" else -1) * 0.25 * Hp * e
        ty_bg, ty_fg = d, d.copy()
    elif mv in ("dolly-in", "dolly-out"):  # camera travels: near grows faster than far
        end = _END_SCALE[mv]
        s_fg = end ** e
        s_bg = (end ** _DOLLY_DEPTH) ** e
    elif mv in ("zoom-in", "zoom-out"):  # lens change: no parallax
        s_bg = _END_SCALE[mv] ** e
        s_fg = s_bg.copy()
    elif mv in ("truck-left", "truck-right"):
        d = (1 if mv == "truck-left" else -1) * W * e
        tx_fg, tx_bg = 0.3 * d, 0.1 * d
    elif mv in ("crane-up", "crane-down"):
        d = (1 if mv == "crane-up" else -1) * Hp * e
        ty_fg, ty_bg = 0.32 * d, 0.1 * d
    elif mv == "orbit":  # the subject holds, the background sweeps the other way
        d = W * e
        tx_fg, tx_bg = -0.04 * d, 0.35 * d
    elif mv == "handheld":
        t = np.arange(n) / max(float(fps), 1e-6)
        r = rng("handheld", seed, shot_id)
        tx_bg = 0.012 * W * _smooth_noise(t, r)
        ty_bg = 0.012 * Hp * _smooth_noise(t, r)
        theta = theta + 0.5 * _smooth_noise(t, r)
        s_bg = 1.0 + 0.006 * _smooth_noise(t, r)
        tx_fg, ty_fg, s_fg = tx_bg.copy(), ty_bg.copy(), s_bg.copy()
    z = float(zoom) if zoom and zoom > 0 else 1.0
    # For a dolly, `zoom` is a dolly position: the far layer scales by the same depth ratio as
    # during the move, so a dolly-in's end keyframe matches the move's last frame.
    z_bg = z ** _DOLLY_DEPTH if mv in ("dolly-in", "dolly-out") else z
    return CameraPath(bg=_affine(s_bg * z_bg, tx_bg, ty_bg, theta, W, Hp),
                      fg=_affine(s_fg * z, tx_fg, ty_fg, theta, W, Hp))


def view_extents(maps: np.ndarray, W: int, Hp: int) -> tuple[float, float, float, float]:
    """World rectangle seen by any frame: the union of the inverse-mapped picture corners."""
    a = maps[:, :, :2]
    b = maps[:, :, 2]
    inv = np.linalg.inv(a)
    corners = np.array([[0, 0], [W, 0], [0, Hp], [W, Hp]], np.float64)
    pts = np.einsum("nij,nkj->nki", inv, corners[None, :, :] - b[:, None, :])
    return (float(pts[..., 0].min()), float(pts[..., 1].min()),
            float(pts[..., 0].max()), float(pts[..., 1].max()))


def map_box(m: np.ndarray, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Bounding box of a world box after the affine map `m` (2, 3)."""
    x0, y0, x1, y1 = box
    pts = np.array([[x0, y0, 1], [x1, y0, 1], [x0, y1, 1], [x1, y1, 1]], np.float64) @ m.T
    return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
