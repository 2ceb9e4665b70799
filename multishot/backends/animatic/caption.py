"""The caption strip: shot id, size, movement and action, drawn as plain text.

Text from the shot list is only ever rasterised here -- never formatted into a command or
markup -- so quotes, `$(...)` or emoji are just glyphs. Control characters are flattened to
spaces, long lines end in an ellipsis, and a font without a glyph draws a box instead of
failing.
"""

from __future__ import annotations

import functools
import unicodedata

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..base import ShotLayout

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
STRIP_BG = (18, 18, 22)
TEXT_MAIN = (236, 236, 230)
TEXT_DIM = (160, 162, 170)
TICK = (236, 170, 60)


@functools.lru_cache(maxsize=32)
def load_font(px: int, bold: bool = False) -> Font:
    """DejaVu Sans when the system has it (wide Unicode coverage), else Pillow's bundled font."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(name, px)
    except OSError:
        pass
    try:
        return ImageFont.load_default(size=px)
    except (TypeError, OSError, ImportError):  # old Pillow or no FreeType: a fixed bitmap font
        return ImageFont.load_default()


def font_id() -> str:
    """Which font draws text here (part of the backend identity: it changes pixels)."""
    f = load_font(12)
    name = getattr(f, "getname", lambda: ("bitmap", ""))()
    return " ".join(n for n in name if n)


def clean(text: str) -> str:
    """One printable line: control/format characters become spaces, runs of space collapse."""
    chars = [" " if unicodedata.category(ch)[0] in ("C", "Z") else ch for ch in str(text)]
    return " ".join("".join(chars).split())


def _width(font: Font, text: str) -> float:
    try:
        return float(font.getlength(text))
    except (UnicodeEncodeError, AttributeError):
        return 6.0 * len(text)


def fit(font: Font, text: str, max_w: float) -> str:
    """`text` shortened (at a word boundary when one is near) with an ellipsis to fit `max_w`."""
    text = clean(text)
    if _width(font, text) <= max_w:
        return text
    ell = "…" if isinstance(font, ImageFont.FreeTypeFont) else "..."
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if _width(font, text[:mid].rstrip() + ell) <= max_w:
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo]
    space = cut.rfind(" ")
    if space > 0.7 * lo:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + ell if cut else ell


def _draw_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font: Font, fill: tuple[int, int, int]) -> None:
    try:
        draw.text(xy, text, font=font, fill=fill)
    except UnicodeEncodeError:  # a bitmap font knows only Latin-1
        draw.text(xy, text.encode("latin-1", "replace").decode("latin-1"), font=font, fill=fill)


def caption_height(height: int) -> int:
    """Strip height for a frame `height` pixels tall (0 when too small to hold text)."""
    if height < 40:
        return 0
    return max(12, round(height * (0.075 if height >= 120 else 0.16)))


def render_strip(layout: ShotLayout, width: int, strip_h: int) -> np.ndarray:
    """(strip_h, width, 3) uint8: line 1 the shot's camera facts, line 2 its action."""
    img = Image.new("RGB", (width, strip_h), STRIP_BG)
    if strip_h == 0:
        return np.zeros((0, width, 3), np.uint8)
    draw = ImageDraw.Draw(img)
    pad = max(3, round(strip_h * 0.15))
    facts = [layout.shot_id, layout.size, layout.angle or "", layout.movement or "static"]
    head = " · ".join(clean(f) for f in facts if clean(f))
    place = " · ".join(clean(f) for f in (layout.scene_id, layout.location_id, layout.time or "",
                                            layout.weather or "") if clean(f))
    two_lines = strip_h >= 26
    px = max(7, round(strip_h * (0.34 if two_lines else 0.6)))
    font, bold = load_font(px), load_font(px, bold=True)
    if two_lines:
        y1, y2 = round(strip_h * 0.1), round(strip_h * 0.52)
        head_fit = fit(bold, head, width * 0.62 - pad)
        _draw_text(draw, (pad, y1), head_fit, bold, TEXT_MAIN)
        place_fit = fit(font, place, width - pad * 3 - _width(bold, head_fit))
        _draw_text(draw, (width - pad - _width(font, place_fit), y1), place_fit, font, TEXT_DIM)
        _draw_text(draw, (pad, y2), fit(font, layout.action, width - 2 * pad), font, TEXT_MAIN)
    else:
        line = f"{clean(layout.shot_id)}: {clean(layout.action)}" if clean(layout.action) else head
        _draw_text(draw, (pad, round(strip_h * 0.15)), fit(font, line, width - 2 * pad), font, TEXT_MAIN)
    return np.asarray(img).copy()


def draw_progress(strip: np.ndarray, i: int, n: int) -> None:
    """A thin bar along the strip's top edge, i / (n - 1) of the width (empty on frame 0)."""
    if strip.shape[0] < 4 or n < 2:
        return
    w = round(strip.shape[1] * i / (n - 1))
    if w:
        strip[:2, :w] = TICK
