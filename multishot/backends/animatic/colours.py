"""Colour words and small colour arithmetic shared by locations and figures.

The animatic has no text understanding; it reads descriptions the way a storyboard artist skims
them: a colour word followed closely by a noun it knows ("yellow oilskin raincoat", "red knit
cap", "grey sea") paints that thing. Anything it does not recognise falls back to a hash, so the
same words always give the same colours.
"""

from __future__ import annotations

import colorsys
import re
from typing import Iterable

RGB = tuple[int, int, int]

COLOURS: dict[str, RGB] = {
    "red": (196, 40, 40), "crimson": (170, 20, 50), "scarlet": (220, 36, 30),
    "maroon": (110, 20, 30), "burgundy": (115, 25, 45), "orange": (235, 125, 30),
    "amber": (230, 160, 40), "yellow": (240, 205, 40), "gold": (212, 170, 55),
    "golden": (212, 170, 55), "mustard": (200, 165, 40), "green": (50, 150, 70),
    "olive": (110, 120, 50), "emerald": (30, 150, 100), "teal": (30, 128, 128),
    "turquoise": (50, 190, 180), "cyan": (40, 190, 210), "blue": (45, 90, 200),
    "navy": (25, 35, 90), "azure": (70, 140, 230), "cobalt": (30, 70, 170),
    "purple": (120, 50, 150), "violet": (140, 70, 190), "lilac": (190, 160, 215),
    "lavender": (180, 165, 220), "magenta": (200, 40, 150), "pink": (235, 140, 170),
    "rose": (215, 110, 130), "brown": (120, 80, 45), "tan": (190, 150, 100),
    "beige": (215, 200, 165), "khaki": (170, 160, 110), "rust": (170, 75, 35),
    "copper": (180, 105, 60), "bronze": (160, 115, 55), "brass": (190, 155, 70),
    "black": (28, 28, 32), "charcoal": (55, 57, 62), "grey": (128, 130, 134),
    "gray": (128, 130, 134), "silver": (192, 196, 202), "white": (238, 238, 235),
    "ivory": (240, 235, 215), "cream": (240, 228, 195), "blond": (225, 200, 130),
    "blonde": (225, 200, 130), "ginger": (200, 100, 40), "auburn": (140, 60, 35),
    "chestnut": (120, 60, 35), "brunette": (80, 50, 30), "dark": (40, 36, 34),
}

_WORD = re.compile(r"[a-z]+")


def tokens(text: str) -> list[str]:
    """Lower-case alphabetic words of `text` ("silver-haired" -> ["silver", "haired"])."""
    return _WORD.findall(text.lower())


def colour_of(text: str, nouns: Iterable[str], window: int = 3) -> RGB | None:
    """The colour named just before one of `nouns` ("red knit cap" -> red for {"cap"})."""
    wanted = set(nouns)
    words = tokens(text)
    for i, word in enumerate(words):
        if word in COLOURS and word != "dark":
            for follower in words[i + 1:i + 1 + window]:
                if follower in wanted:
                    return COLOURS[word]
                if follower in COLOURS:
                    break
    return None


def loose_colours(text: str) -> list[RGB]:
    """Every colour word of `text`, in order."""
    return [COLOURS[w] for w in tokens(text) if w in COLOURS and w != "dark"]


def has_any(text: str, words: Iterable[str]) -> bool:
    """True when `text` contains one of `words` as a whole word (or a word starting with it,
    for entries ending in '*')."""
    toks = tokens(text)
    for w in words:
        if w.endswith("*"):
            if any(t.startswith(w[:-1]) for t in toks):
                return True
        elif w in toks:
            return True
    return False


def hsv(h: float, s: float, v: float) -> RGB:
    """RGB from hue in [0, 1), saturation and value in [0, 1]."""
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return (round(r * 255), round(g * 255), round(b * 255))


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend: t = 0 gives a, t = 1 gives b."""
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def shade(c: RGB, k: float) -> RGB:
    """Multiply brightness by k (clipped)."""
    return tuple(min(255, max(0, round(x * k))) for x in c)  # type: ignore[return-value]


def lit(c: RGB, light: tuple[float, float, float]) -> RGB:
    """Colour `c` under a coloured light (per-channel multiplier)."""
    return tuple(min(255, max(0, round(x * k))) for x, k in zip(c, light))  # type: ignore[return-value]
