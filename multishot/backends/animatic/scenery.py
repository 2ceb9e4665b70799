"""Scenery: the pixels of a location, drawn in world coordinates from its resolved `Look`.

Shapes are anchored to *world* tiles (not to the canvas), so a wider canvas for a pan shows
more of the same place, and every shot of a location shows the same hills, boats and windows.
Exteriors, interiors and the overhead view each get one function; fog and depth-of-field blur
are applied last, once per shot.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from .colours import RGB, hsv, lit, mix, shade
from .interior import draw_interior, px_per_degree
from .palette import Look, TIMES
from .seeds import rng, unit

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in world pixels

class _Canvas:
    """A PIL drawing surface addressed in world coordinates (offset by the canvas origin)."""

    def __init__(self, pixels: np.ndarray, rect: Rect) -> None:
        self.rect = rect
        self.image = Image.fromarray(pixels)
        self.draw = ImageDraw.Draw(self.image)

    def pts(self, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        x0, y0 = self.rect[0], self.rect[1]
        return [(x - x0, y - y0) for x, y in points]

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        ox, oy = self.rect[0], self.rect[1]
        return (x0 - ox, y0 - oy, max(x1, x0) - ox, max(y1, y0) - oy)

    def tiles(self, width: float) -> range:
        return range(math.floor(self.rect[0] / width) - 1, math.ceil(self.rect[2] / width) + 1)


def _rows(y0: int, y1: int, stops: list[tuple[float, RGB]]) -> np.ndarray:
    """Per-row colours (h, 1, 3) interpolated between (y, colour) stops."""
    ys = np.arange(y0, y1, dtype=np.float32)
    xs = [s[0] for s in stops]
    out = np.empty((len(ys), 1, 3), np.float32)
    for ch in range(3):
        out[:, 0, ch] = np.interp(ys, xs, [s[1][ch] for s in stops])
    return out


def draw_background(look: Look, rect: Rect, width: int, pic_h: int, horizon: float | None,
                    blur_sigma: float = 0.0, yaw: float = 0.0) -> np.ndarray:
    """Pixels of the world rectangle `rect` (H, W, 3 uint8): the location seen with its horizon
    (or floor line) at world y `horizon`; None means seen from overhead. `yaw` is the camera's
    bearing in the set, degrees (0: the master's view; 180: the reverse)."""
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    if horizon is None:
        px = _overhead(look, rect, width, pic_h)
    elif look.interior and look.set is not None:
        px = draw_interior(look, rect, width, pic_h, horizon, yaw)
    else:
        # Outside, the world is a long panorama: turning the camera slides along it.
        off = round(yaw * px_per_degree(width))
        px = _exterior(look, (x0 + off, y0, x1 + off, y1), width, pic_h, horizon)
    if look.weather.fog:
        px = _fog(px, look, rect, pic_h, horizon)
    if blur_sigma > 0.3:
        import cv2

        px = cv2.GaussianBlur(px, (0, 0), blur_sigma)
    assert px.shape == (h, w, 3)
    return px


def _sky_and_ground(look: Look, rect: Rect, pic_h: int, hz: float, upper: RGB, upper_hz: RGB,
                    lower_far: RGB, lower_near: RGB) -> np.ndarray:
    x0, y0, x1, y1 = rect
    stops = [(hz - 0.95 * pic_h, upper), (hz - 0.5, upper_hz), (hz + 0.5, lower_far),
             (max(hz + 1.0, pic_h), lower_near), (max(hz + 2.0, pic_h * 1.6), shade(lower_near, 0.8))]
    col = _rows(y0, y1, stops)
    return np.ascontiguousarray(np.broadcast_to(col, (y1 - y0, x1 - x0, 3)).astype(np.uint8))


def _exterior(look: Look, rect: Rect, W: int, Hp: int, hz: float) -> np.ndarray:
    m, key, tod = look.motifs, look.key, look.time
    px = _sky_and_ground(look, rect, Hp, hz, look.sky_top, look.sky_horizon, look.ground_far,
                         look.ground_near)
    c = _Canvas(px, rect)
    d = c.draw
    # Stars and moon / sun: sky furniture, anchored to world tiles.
    if tod.key == "night" and not look.weather.overcast:
        tw = 0.25 * W
        for k in c.tiles(tw):
            for j in range(-3, 1):
                r = rng(key, "stars", k, j)
                for sx, sy in zip(r.uniform(0, tw, 6), r.uniform(0, 0.25 * Hp, 6)):
                    y = hz - 0.03 * Hp - (j + 1) * 0.25 * Hp + sy
                    if y < hz - 0.02 * Hp:
                        v = int(150 + r.integers(0, 100))
                        d.point(c.pts([(k * tw + sx, y)]), fill=(v, v, v))
    sx = W * (0.2 + 0.6 * unit(key, "sun"))
    sy = hz - tod.sun_height * Hp
    sr = 0.045 * Hp
    if not look.weather.overcast or tod.key == "night":
        glow = mix(look.sky_horizon, tod.sun, 0.35)
        d.ellipse(c.box(sx - 2.2 * sr, sy - 2.2 * sr, sx + 2.2 * sr, sy + 2.2 * sr), fill=glow)
        d.ellipse(c.box(sx - sr, sy - sr, sx + sr, sy + sr), fill=tod.sun)
    if look.weather.overcast or unit(key, "clouds") < 0.5:
        cloud = shade(mix(look.sky_top, look.sky_horizon, 0.6), 0.8 if look.weather.overcast else 1.12)
        tw = 0.5 * W
        for k in c.tiles(tw):
            r = rng(key, "cloud", k)
            cx, cy = k * tw + r.uniform(0, tw), hz - Hp * r.uniform(0.3, 0.75)
            for _ in range(4):
                ex, ey = r.uniform(0.05, 0.12) * W, r.uniform(0.03, 0.06) * Hp
                ox = r.uniform(-0.08, 0.08) * W
                d.ellipse(c.box(cx + ox - ex, cy - ey, cx + ox + ex, cy + ey), fill=cloud)
    # Far ridge: mountains when named, gentle hills otherwise (not over open sea).
    if "mountain" in m or ("sea" not in m and "city" not in m and unit(key, "hills") < 0.7):
        amp = 0.28 if "mountain" in m else 0.09
        ridge = mix(look.sky_horizon, look.rock if "mountain" in m else look.foliage, 0.55)
        ph = [unit(key, "ridge", i) * 6.283 for i in range(3)]
        xs = np.arange(rect[0] - 8, rect[2] + 16, 8, dtype=np.float64)
        u = xs / W
        ys = hz - Hp * amp * (0.55 + 0.25 * np.sin(3.1 * u + ph[0]) + 0.15 * np.sin(7.3 * u + ph[1])
                              + 0.05 * np.sin(17.0 * u + ph[2]))
        poly = list(zip(xs, ys)) + [(xs[-1], hz + 1), (xs[0], hz + 1)]
        d.polygon(c.pts(poly), fill=ridge)
        if "snow" in m or "mountain" in m and look.weather.snow:
            cap = list(zip(xs, ys)) + [(x, y + 0.03 * Hp) for x, y in zip(xs[::-1], ys[::-1])]
            d.polygon(c.pts(cap), fill=lit((240, 242, 246), look.time.light))
    if "city" in m:
        tw = 0.07 * W
        night = tod.key in ("night", "dusk")
        for k in c.tiles(tw):
            r = rng(key, "bldg", k)
            bh, bw = Hp * r.uniform(0.12, 0.48), tw * r.uniform(0.75, 1.0)
            bx = k * tw
            base = shade(look.building, r.uniform(0.75, 1.1))
            d.rectangle(c.box(bx, hz - bh, bx + bw, hz + 1), fill=base)
            win = (255, 214, 120) if night else shade(base, 0.7)
            for wy in np.arange(hz - bh + 0.02 * Hp, hz - 0.02 * Hp, 0.045 * Hp):
                for wx in np.arange(bx + 0.12 * bw, bx + bw - 0.12 * bw, 0.22 * bw):
                    if r.random() < (0.45 if night else 0.9):
                        d.rectangle(c.box(wx, wy, wx + 0.1 * bw, wy + 0.022 * Hp), fill=win)
    shore = hz
    if "sea" in m:
        shore = hz + (Hp - hz) * (0.42 if ("cliff" in m or "city" in m or "forest" in m) else 0.55)
        d.rectangle(c.box(rect[0], hz, rect[2], shore), fill=look.water)
        crest = mix(look.water, (235, 240, 245), 0.35)
        tw = 0.1 * W
        for k in c.tiles(tw):
            r = rng(key, "wave", k)
            for _ in range(5):
                t = r.uniform(0.05, 1.0)
                wy = hz + (shore - hz) * t * t
                wl = tw * (0.2 + 0.5 * t)
                wx = k * tw + r.uniform(0, tw)
                d.line(c.pts([(wx, wy), (wx + wl, wy)]), fill=crest, width=max(1, round(2 * t)))
        if "boat" in m:
            tw = 0.3 * W
            for k in c.tiles(tw):
                r = rng(key, "boat", k)
                t = r.uniform(0.15, 0.8)
                by, bl = hz + (shore - hz) * t, 0.05 * W * (0.5 + t)
                bx = k * tw + r.uniform(0, tw - bl)
                hull = shade(lit(hsv(r.uniform(), 0.55, 0.75), tod.light), 1.0)
                d.polygon(c.pts([(bx, by - 0.25 * bl), (bx + bl, by - 0.25 * bl), (bx + 0.85 * bl, by), (bx + 0.12 * bl, by)]), fill=hull)
                d.rectangle(c.box(bx + 0.35 * bl, by - 0.5 * bl, bx + 0.6 * bl, by - 0.25 * bl), fill=lit((225, 222, 210), tod.light))
                d.line(c.pts([(bx + 0.5 * bl, by - 0.5 * bl), (bx + 0.5 * bl, by - 1.1 * bl)]), fill=shade(hull, 0.5), width=max(1, round(0.04 * bl)))
    if "forest" in m:
        tw = 0.045 * W
        for k in c.tiles(tw):
            r = rng(key, "tree", k)
            th = Hp * r.uniform(0.08, 0.2)
            tx = k * tw + r.uniform(0, tw)
            col = shade(look.foliage, r.uniform(0.6, 0.95))
            d.polygon(c.pts([(tx, hz - th), (tx - 0.35 * th, shore + 1), (tx + 0.35 * th, shore + 1)]), fill=col)
    if "desert" in m:
        for i in range(3):
            ph = unit(key, "dune", i) * 6.283
            xs = np.arange(rect[0] - 8, rect[2] + 16, 8, dtype=np.float64)
            base = hz + (Hp - hz) * (0.2 + 0.28 * i)
            ys = base - 0.05 * Hp * np.sin(xs / W * (2.5 + i) + ph)
            poly = list(zip(xs, ys)) + [(xs[-1], rect[3] + 1), (xs[0], rect[3] + 1)]
            d.polygon(c.pts(poly), fill=shade(look.ground_near, 1.08 - 0.08 * i))
    if "cliff" in m:
        s = look.side
        edge = W * (0.5 + s * 0.18)
        far = W * (0.5 + s * 2.5)
        top = hz - 0.1 * Hp
        pts_ = [(edge, hz + 0.06 * Hp), (edge + s * 0.04 * W, top + 0.02 * Hp),
                (edge + s * 0.09 * W, top), (far, top - 0.03 * Hp), (far, shore + 2),
                (edge - s * 0.05 * W, shore + 2)]
        d.polygon(c.pts(pts_), fill=look.rock)
        for i in range(6):  # basalt columns: vertical strokes on the cliff face
            x = edge + s * (0.02 + 0.035 * i) * W
            d.line(c.pts([(x, top + 0.03 * Hp), (x - s * 0.01 * W, shore)]), fill=shade(look.rock, 0.7), width=2)
        if "lighthouse" in m:
            lx, lh, lw = edge + s * 0.16 * W, 0.3 * Hp, 0.035 * W
            _lighthouse(c, lx, top + 0.01 * Hp, lh, lw, look)
    elif "lighthouse" in m:
        _lighthouse(c, W * (0.5 + look.side * 0.3), hz + 0.02 * Hp, 0.3 * Hp, 0.035 * W, look)
    if "station" in m:  # track bed and rails, then the platform with its edge line, iron pillars
        edge = shore + (Hp - shore) * 0.42
        d.rectangle(c.box(rect[0], shore, rect[2], edge), fill=shade(look.ground_far, 0.55))
        for f in (0.35, 0.75):
            y = shore + (edge - shore) * f
            d.line(c.pts([(rect[0], y), (rect[2], y)]), fill=lit((150, 150, 158), tod.light), width=max(1, round(0.006 * Hp)))
        d.rectangle(c.box(rect[0], edge, rect[2], rect[3] + 1), fill=lit((150, 148, 140), tod.light))
        d.rectangle(c.box(rect[0], edge, rect[2], edge + 0.02 * Hp), fill=lit((230, 200, 40), tod.light))
        iron = lit((58, 66, 72), tod.light)
        tw = 0.45 * W
        for k in c.tiles(tw):
            x = k * tw
            d.rectangle(c.box(x - 0.012 * W, rect[1] - 1, x + 0.012 * W, edge + 0.25 * Hp), fill=iron)
            d.arc(c.box(x, hz - 1.1 * Hp, x + tw, hz - 0.2 * Hp), 180, 360, fill=iron, width=max(2, round(0.01 * W)))
            if rng(key, "sign", k).random() < 0.35:
                sy = hz - 0.32 * Hp
                d.rectangle(c.box(x + 0.25 * tw, sy, x + 0.75 * tw, sy + 0.07 * Hp), fill=(30, 60, 130))
                d.rectangle(c.box(x + 0.3 * tw, sy + 0.025 * Hp, x + 0.7 * tw, sy + 0.045 * Hp), fill=(235, 235, 230))
        shore = edge
    # A few foreground shapes (rocks, bushes, posts) in the near ground.
    tw = 0.33 * W
    for k in c.tiles(tw) if "station" not in m else ():
        r = rng(key, "fore", k)
        for _ in range(2):
            fx = k * tw + r.uniform(0, tw)
            fy = shore + (Hp - shore) * r.uniform(0.35, 1.05)
            fs = Hp * r.uniform(0.025, 0.06)
            kind = "bush" if ("forest" in m or "mountain" in m) else "rock"
            base = look.foliage if kind == "bush" else mix(look.rock, look.ground_near, 0.35)
            col = shade(base, r.uniform(0.85, 1.05))
            d.ellipse(c.box(fx - 1.6 * fs, fy - fs, fx + 1.6 * fs, fy + 0.3 * fs), fill=col)
            top = mix(col, look.sky_horizon, 0.3)
            d.ellipse(c.box(fx - 1.1 * fs, fy - fs, fx + 0.9 * fs, fy - 0.45 * fs), fill=top)
    return np.asarray(c.image).copy()


def _lighthouse(c: _Canvas, x: float, base: float, h: float, w: float, look: Look) -> None:
    d = c.draw
    white, red = lit((235, 232, 225), look.time.light), lit((190, 45, 40), look.time.light)
    d.polygon(c.pts([(x - w / 2, base), (x - w / 3, base - h), (x + w / 3, base - h), (x + w / 2, base)]), fill=white)
    for i in range(3):
        y = base - h * (0.2 + 0.28 * i)
        d.rectangle(c.box(x - w * 0.45 + i * 0.03 * w, y - 0.07 * h, x + w * 0.45 - i * 0.03 * w, y), fill=red)
    on = look.time.key in ("dusk", "night") or look.weather.overcast
    lamp = (255, 240, 170) if on else shade(white, 0.8)
    d.rectangle(c.box(x - w / 3, base - h - 0.08 * h, x + w / 3, base - h), fill=lamp)
    d.polygon(c.pts([(x - w * 0.42, base - h - 0.08 * h), (x, base - h - 0.16 * h),
                     (x + w * 0.42, base - h - 0.08 * h)]), fill=red)
    if on:  # the beam: a pale wedge reaching across the sky
        s = -look.side
        y = base - h - 0.04 * h
        d.polygon(c.pts([(x, y), (x + s * 6 * h, y - 0.5 * h), (x + s * 6 * h, y + 0.25 * h)]),
                  fill=mix(look.sky_horizon, (255, 245, 200), 0.35))
        d.rectangle(c.box(x - w / 3, y - 0.04 * h, x + w / 3, y + 0.04 * h), fill=lamp)


def _overhead(look: Look, rect: Rect, W: int, Hp: int) -> np.ndarray:
    x0, y0, x1, y1 = rect
    base = look.floor if look.interior else look.ground_near
    px = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
    px[:] = base
    c = _Canvas(px, rect)
    d = c.draw
    m, key = look.motifs, look.key
    if look.interior:
        for i in range(math.floor(x0 / (0.08 * W)), math.ceil(x1 / (0.08 * W)) + 1):
            d.line(c.pts([(i * 0.08 * W, y0), (i * 0.08 * W, y1)]), fill=shade(base, 0.75), width=2)
        return np.asarray(c.image).copy()
    if "sea" in m:
        edge = W * (0.5 + 0.3 * look.side)
        far = edge + look.side * 10 * W
        d.rectangle(c.box(min(edge, far), y0, max(edge, far), y1), fill=look.water)
    if "city" in m:
        for i in range(math.floor(x0 / (0.4 * W)), math.ceil(x1 / (0.4 * W)) + 1):
            d.rectangle(c.box(i * 0.4 * W, y0, i * 0.4 * W + 0.08 * W, y1), fill=shade(base, 0.7))
    tw = 0.2 * W
    for kx in c.tiles(tw):
        for ky in range(math.floor(y0 / tw) - 1, math.ceil(y1 / tw) + 1):
            r = rng(key, "over", kx, ky)
            fx, fy = kx * tw + r.uniform(0, tw), ky * tw + r.uniform(0, tw)
            if "sea" in m and (fx - W * (0.5 + 0.3 * look.side)) * look.side > 0:
                continue
            fs = tw * r.uniform(0.1, 0.3)
            col = shade(look.foliage if "forest" in m else look.rock, r.uniform(0.7, 1.0))
            d.ellipse(c.box(fx - fs, fy - fs, fx + fs, fy + fs), fill=col)
    return np.asarray(c.image).copy()


def _fog(px: np.ndarray, look: Look, rect: Rect, Hp: int, hz: float | None) -> np.ndarray:
    """Haze: stronger near the horizon, where distance is greatest."""
    ys = np.arange(rect[1], rect[3], dtype=np.float32)
    if hz is None:
        a = np.full_like(ys, 0.35)
    else:
        a = 0.3 + 0.5 * np.exp(-np.abs(ys - hz) / (0.22 * Hp))
    a = (a * look.weather.fog)[:, None, None]
    fog = np.asarray(look.fog_colour, np.float32)
    return (px.astype(np.float32) * (1 - a) + fog * a).astype(np.uint8)
