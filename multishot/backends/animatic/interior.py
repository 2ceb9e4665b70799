"""An interior set drawn as the camera sees it: walls, window, door and dressing at their bearings.

The set (set_design.py) is a room unrolled around the camera: world x maps to a compass bearing,
`bearing = yaw + (x - W/2) / px_per_degree`, so the camera's yaw picks which walls are in view.
A master shot looks at the window wall; a reverse shot, 180 degrees round, sees the entrance
wall; a single on the left-hand character looks toward the left wall. Camera moves (pans, trucks)
still slide over the same unrolled walls, so nothing is redrawn per frame.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .colours import RGB, lit, mix, shade
from .palette import Look, TIMES
from .seeds import rng
from .set_design import Piece, SetDesign

Rect = tuple[int, int, int, int]

#: Horizontal field of view of the picture, degrees (a normal lens on a 2D set).
FOV_DEG = 64.0


def px_per_degree(W: int) -> float:
    return W / FOV_DEG


class _Set:
    """World-coordinate drawing on a canvas, plus bearing -> world x (with the 360-degree wrap)."""

    def __init__(self, px: np.ndarray, rect: Rect, W: int, yaw: float) -> None:
        self.rect, self.W, self.yaw = rect, W, yaw
        self.ppd = px_per_degree(W)
        self.image = Image.fromarray(px)
        self.d = ImageDraw.Draw(self.image)

    def xs(self, bearing: float, half_width: float = 0.0) -> list[float]:
        """World x of `bearing` for every turn of the room that can reach the canvas."""
        base = self.W / 2 + (bearing - self.yaw) * self.ppd
        period = 360.0 * self.ppd
        k0 = math.floor((self.rect[0] - half_width - base) / period)
        k1 = math.ceil((self.rect[2] + half_width - base) / period)
        return [base + k * period for k in range(k0, k1 + 1)]

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        ox, oy = self.rect[0], self.rect[1]
        return (x0 - ox, y0 - oy, max(x1, x0) - ox, max(y1, y0) - oy)

    def rect_(self, x0: float, y0: float, x1: float, y1: float, fill: RGB) -> None:
        self.d.rectangle(self.box(x0, y0, x1, y1), fill=fill)

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, fill: RGB) -> None:
        self.d.ellipse(self.box(x0, y0, x1, y1), fill=fill)

    def line(self, pts: list[tuple[float, float]], fill: RGB, width: int = 1) -> None:
        ox, oy = self.rect[0], self.rect[1]
        self.d.line([(x - ox, y - oy) for x, y in pts], fill=fill, width=width)

    def polygon(self, pts: list[tuple[float, float]], fill: RGB) -> None:
        ox, oy = self.rect[0], self.rect[1]
        self.d.polygon([(x - ox, y - oy) for x, y in pts], fill=fill)


def draw_interior(look: Look, rect: Rect, W: int, Hp: int, floor_y: float, yaw: float) -> np.ndarray:
    """Pixels of world `rect` of the location's set seen at `yaw` with the floor line at `floor_y`."""
    st = look.set
    assert st is not None
    x0, y0, x1, y1 = rect
    ppd = px_per_degree(W)
    # Walls: per column, the wall its bearing falls on; per row, a soft vertical falloff.
    xs = np.arange(x0, x1, dtype=np.float64)
    bearing = (yaw + (xs - W / 2) / ppd) % 360.0
    wall_idx = (((bearing + 45.0) % 360.0) // 90.0).astype(np.int64)
    walls = np.array([lit(c, look.light) for c in st.walls], np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)
    fall = np.interp(ys, [floor_y - 0.95 * Hp, floor_y], [0.72, 1.0]).astype(np.float32)
    px = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
    above = ys < floor_y
    if above.any():
        px[above] = np.clip(fall[above, None, None] * walls[wall_idx][None, :, :], 0, 255).astype(np.uint8)
    floor = lit(_floor(look), (1.0, 1.0, 1.0))
    below = ~above
    if below.any():
        fl = np.interp(ys[below], [floor_y, floor_y + Hp], [1.05, 0.72]).astype(np.float32)
        px[below] = np.clip(fl[:, None, None] * np.array(floor, np.float32)[None, None, :], 0, 255).astype(np.uint8)
    s = _Set(px, rect, W, yaw)
    board = shade(floor, 0.72)
    for i in range(1, 12):  # floorboards, closer together far away
        y = floor_y + (Hp * 1.5) * (i / 12) ** 2
        s.line([(x0, y), (x1, y)], board)
    for corner in (45.0, 135.0, 225.0, 315.0):  # room corners
        for x in s.xs(corner):
            s.line([(x, floor_y - 1.2 * Hp), (x, floor_y)], shade(lit(st.walls[0], look.light), 0.5), max(2, round(0.004 * W)))
    s.rect_(x0, floor_y - 0.02 * Hp, x1, floor_y, shade(lit(st.walls[0], look.light), 0.55))  # skirting
    _window(s, look, st, Hp, floor_y)
    _door(s, look, st, Hp, floor_y)
    for piece in st.pieces:
        for x in s.xs(piece.bearing, piece.span * ppd):
            _piece(s, look, piece, x, piece.span * ppd, Hp, floor_y)
    return np.asarray(s.image).copy()


def _floor(look: Look) -> RGB:
    return look.floor


def _window(s: _Set, look: Look, st: SetDesign, Hp: int, floor_y: float) -> None:
    bearing, span = st.window
    w = span * s.ppd
    train = st.room in ("compartment", "carriage", "sleeper")
    wy0, wy1 = (floor_y - 0.6 * Hp, floor_y - 0.2 * Hp) if train else (floor_y - 0.66 * Hp, floor_y - 0.26 * Hp)
    sky = TIMES[look.time.key]
    frame = shade(lit(st.walls[0], look.light), 0.45)
    for cx in s.xs(bearing, w):
        a, b = cx - w / 2, cx + w / 2
        s.rect_(a - 0.012 * s.W, wy0 - 0.012 * s.W, b + 0.012 * s.W, wy1 + 0.012 * s.W, frame)
        steps = 8
        for i in range(steps):
            t = i / (steps - 1)
            col = mix(look.sky_top, look.sky_horizon, t) if look.weather.overcast else mix(sky.sky_top, sky.sky_horizon, t)
            s.rect_(a, wy0 + (wy1 - wy0) * i / steps, b, wy0 + (wy1 - wy0) * (i + 1) / steps, col)
        r = rng(look.key, "window-out", round(cx))
        if look.time.key == "night":  # distant lights
            for _ in range(int(6 * w / s.W * 4) + 2):
                lx, ly = r.uniform(a, b), r.uniform(wy0 + 0.6 * (wy1 - wy0), wy1)
                s.ellipse(lx - 1.5, ly - 1.5, lx + 1.5, ly + 1.5, (255, 220, 150))
        else:  # a far horizon line
            s.rect_(a, wy0 + 0.68 * (wy1 - wy0), b, wy1, shade(look.ground_far, 0.9))
        if look.weather.rain or look.weather.snow:
            streak = (200, 210, 225) if look.weather.rain else (245, 245, 250)
            for _ in range(int(140 * w / s.W)):
                sx, sy = r.uniform(a, b), r.uniform(wy0, wy1)
                ln = 0.03 * Hp if look.weather.rain else 1.5
                s.line([(sx, sy), (min(b, sx + 0.2 * ln), min(wy1, sy + ln))], streak)
        bar = max(2, round(0.006 * s.W))
        s.line([(cx, wy0), (cx, wy1)], frame, bar)
        if not train:
            s.line([(a, (wy0 + wy1) / 2), (b, (wy0 + wy1) / 2)], frame, bar)
        else:  # the drop-window's rail and a small table under it
            s.rect_(a + 0.15 * w, wy1 + 0.05 * Hp, b - 0.15 * w, wy1 + 0.075 * Hp, shade((120, 82, 50), look.light[1]))


def _door(s: _Set, look: Look, st: SetDesign, Hp: int, floor_y: float) -> None:
    bearing, span = st.door
    w = span * s.ppd
    wall = lit(st.walls[2], look.light)
    leaf = shade(mix(wall, (90, 60, 40), 0.55), 0.9)
    for cx in s.xs(bearing, w):
        a, b = cx - w / 2, cx + w / 2
        s.rect_(a - 0.01 * s.W, floor_y - 0.74 * Hp, b + 0.01 * s.W, floor_y, shade(leaf, 0.6))
        s.rect_(a, floor_y - 0.72 * Hp, b, floor_y, leaf)
        if st.door_glass:  # a glazed door: the lit corridor beyond
            s.rect_(a + 0.1 * w, floor_y - 0.66 * Hp, b - 0.1 * w, floor_y - 0.3 * Hp, (236, 206, 150))
            s.rect_(a + 0.1 * w, floor_y - 0.42 * Hp, b - 0.1 * w, floor_y - 0.3 * Hp, (190, 150, 105))
        else:
            s.rect_(a + 0.12 * w, floor_y - 0.64 * Hp, b - 0.12 * w, floor_y - 0.42 * Hp, shade(leaf, 0.82))
            s.rect_(a + 0.12 * w, floor_y - 0.34 * Hp, b - 0.12 * w, floor_y - 0.08 * Hp, shade(leaf, 0.82))
        s.ellipse(b - 0.14 * w, floor_y - 0.38 * Hp, b - 0.06 * w, floor_y - 0.34 * Hp, look.accent)


def _piece(s: _Set, look: Look, p: Piece, cx: float, w: float, Hp: int, fy: float) -> None:
    """One piece of dressing centred on world x `cx`, `w` wide, standing on the floor line."""
    c = lit(p.colour, look.light)
    dark, light_ = shade(c, 0.62), shade(c, 1.25)
    a, b = cx - w / 2, cx + w / 2
    k = p.kind
    if k == "seat":  # a bench or sofa: back, cushion, base, buttoned upholstery
        s.rect_(a, fy - 0.36 * Hp, b, fy - 0.1 * Hp, c)
        s.rect_(a - 0.02 * w, fy - 0.13 * Hp, b + 0.02 * w, fy - 0.05 * Hp, light_)
        s.rect_(a, fy - 0.05 * Hp, b, fy + 0.01 * Hp, dark)
        for i in range(1, 6):
            x = a + w * i / 6
            s.line([(x, fy - 0.34 * Hp), (x, fy - 0.14 * Hp)], dark, max(1, round(0.003 * s.W)))
        s.rect_(a, fy - 0.38 * Hp, b, fy - 0.36 * Hp, dark)  # headrest edge
    elif k == "rack":  # luggage rack with a case on it
        y = fy - 0.66 * Hp
        s.rect_(a, y, b, y + 0.015 * Hp, shade(c, 0.8))
        for x in (a + 0.1 * w, b - 0.1 * w):
            s.line([(x, y), (x, y - 0.06 * Hp)], shade(c, 0.6), max(1, round(0.004 * s.W)))
        s.rect_(a + 0.2 * w, y - 0.1 * Hp, a + 0.55 * w, y, (110, 62, 40))
        s.rect_(a + 0.6 * w, y - 0.07 * Hp, a + 0.85 * w, y, (60, 70, 90))
    elif k == "table":
        s.rect_(a, fy - 0.2 * Hp, b, fy - 0.17 * Hp, light_)
        for x in (a + 0.06 * w, b - 0.1 * w):
            s.rect_(x, fy - 0.17 * Hp, x + 0.04 * w, fy + 0.04 * Hp, dark)
    elif k == "shelf":
        s.rect_(a, fy - 0.72 * Hp, b, fy, dark)
        r = rng(look.key, "books", round(cx))
        for row in range(4):
            ya, yb = fy - 0.7 * Hp + row * 0.17 * Hp, fy - 0.55 * Hp + row * 0.17 * Hp
            x = a + 0.04 * w
            while x < b - 0.06 * w:
                bw = w * r.uniform(0.03, 0.07)
                s.rect_(x, ya + r.uniform(0, 0.03) * Hp, min(x + bw, b - 0.04 * w), yb,
                        lit(((170, 50, 40), (40, 80, 140), (200, 170, 90), (60, 110, 70), (120, 60, 120))[int(r.integers(0, 5))], look.light))
                x += bw + 1
            s.rect_(a, yb, b, yb + 0.02 * Hp, c)
    elif k == "bed":
        s.rect_(a, fy - 0.34 * Hp, a + 0.06 * w, fy, shade((110, 75, 50), look.light[1]))
        s.rect_(a, fy - 0.16 * Hp, b, fy - 0.04 * Hp, c)
        s.ellipse(a + 0.07 * w, fy - 0.22 * Hp, a + 0.3 * w, fy - 0.13 * Hp, shade(c, 1.15))
        s.rect_(a + 0.3 * w, fy - 0.17 * Hp, b, fy - 0.1 * Hp, shade(look.accent, 0.8))
    elif k == "counter":  # lower cabinets, worktop, wall cupboards, a stove's rings
        s.rect_(a, fy - 0.24 * Hp, b, fy, c)
        for i in range(1, 4):
            s.line([(a + w * i / 4, fy - 0.22 * Hp), (a + w * i / 4, fy)], dark, 2)
        s.rect_(a - 0.01 * w, fy - 0.27 * Hp, b + 0.01 * w, fy - 0.24 * Hp, (70, 70, 74))
        s.rect_(a, fy - 0.74 * Hp, b, fy - 0.52 * Hp, shade(c, 0.92))
        for i in range(1, 4):
            s.line([(a + w * i / 4, fy - 0.74 * Hp), (a + w * i / 4, fy - 0.52 * Hp)], dark, 2)
        for i in (0.62, 0.78):
            s.ellipse(a + w * i - 0.03 * w, fy - 0.29 * Hp, a + w * i + 0.03 * w, fy - 0.27 * Hp, (40, 40, 44))
    elif k == "lamp":  # a lamp or lens, the room's landmark, glowing after dark
        lr = 0.13 * Hp
        ly = fy - 0.4 * Hp
        on = look.time.key in ("dusk", "night")
        s.rect_(cx - 0.25 * lr, ly, cx + 0.25 * lr, fy, shade(c, 0.5))
        if on:
            s.ellipse(cx - 2 * lr, ly - 2 * lr, cx + 2 * lr, ly + 2 * lr, mix(lit(p.colour, look.light), (255, 230, 160), 0.35))
        for i, f in enumerate((1.0, 0.78, 0.56, 0.34)):
            s.ellipse(cx - f * lr, ly - f * lr * 1.2, cx + f * lr, ly + f * lr * 1.2,
                      mix(p.colour, (255, 245, 200), (0.2 + 0.2 * i) if on else 0.1 * i))
    elif k == "clock":
        r_ = 0.06 * Hp
        y = fy - 0.58 * Hp
        s.ellipse(cx - r_ * 1.15, y - r_ * 1.15, cx + r_ * 1.15, y + r_ * 1.15, (60, 50, 40))
        s.ellipse(cx - r_, y - r_, cx + r_, y + r_, c)
        s.line([(cx, y), (cx, y - 0.8 * r_)], (30, 30, 30), 2)
        s.line([(cx, y), (cx + 0.55 * r_, y + 0.2 * r_)], (30, 30, 30), 2)
    elif k == "frame":
        s.rect_(a, fy - 0.66 * Hp, b, fy - 0.4 * Hp, c)
        s.rect_(a + 0.1 * w, fy - 0.63 * Hp, b - 0.1 * w, fy - 0.43 * Hp, mix(look.accent, (90, 110, 120), 0.5))
    elif k == "curtain":
        s.rect_(a, fy - 0.74 * Hp, b, fy - 0.12 * Hp, c)
        for i in range(1, 4):
            s.line([(a + w * i / 4, fy - 0.74 * Hp), (a + w * i / 4, fy - 0.12 * Hp)], dark, 2)
    elif k == "plant":
        s.rect_(cx - 0.25 * w, fy - 0.1 * Hp, cx + 0.25 * w, fy, (150, 80, 50))
        for dx, dy in ((-0.3, -0.22), (0.25, -0.25), (0.0, -0.32), (-0.1, -0.16), (0.2, -0.15)):
            s.ellipse(cx + dx * w - 0.2 * w, fy + dy * Hp - 0.05 * Hp, cx + dx * w + 0.2 * w, fy + dy * Hp + 0.05 * Hp, c)
    elif k == "fireplace":
        s.rect_(a, fy - 0.4 * Hp, b, fy, c)
        s.rect_(a - 0.05 * w, fy - 0.43 * Hp, b + 0.05 * w, fy - 0.39 * Hp, dark)
        s.rect_(a + 0.2 * w, fy - 0.28 * Hp, b - 0.2 * w, fy, (30, 24, 22))
        s.polygon([(a + 0.3 * w, fy), (cx, fy - 0.2 * Hp), (b - 0.3 * w, fy)], (240, 140, 40))
    elif k == "bottles":
        s.rect_(a, fy - 0.22 * Hp, b, fy, shade((100, 70, 45), look.light[1]))
        for row in (0.62, 0.42):
            y = fy - row * Hp
            s.rect_(a, y, b, y + 0.015 * Hp, dark)
            for i in range(7):
                x = a + w * (0.08 + 0.13 * i)
                s.rect_(x, y - 0.1 * Hp, x + 0.05 * w, y, shade(c, 0.8 + 0.06 * (i % 3)))


__all__ = ["FOV_DEG", "draw_interior", "px_per_degree"]
