"""Characters as figures: one recognisable silhouette per character, the same in every shot.

A figure's look is a pure function of the character id and its canonical description (which
the shot list inserts verbatim everywhere), so continuity is by construction: colours come from
the description's colour words ("yellow oilskin raincoat" -> yellow body, "red knit cap" -> red
cap) and otherwise from a hash. Figures are deliberately *not* tinted by time of day: in a previz
the colour is an identity token, which is also what the character-consistency metric reads.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .colours import COLOURS, RGB, colour_of, has_any, hsv, mix, shade, tokens
from .seeds import unit

GARMENTS = ("coat", "raincoat", "oilskin", "jacket", "sweater", "jumper", "shirt", "dress", "gown",
            "cloak", "robe", "suit", "uniform", "hoodie", "parka", "vest", "cardigan", "overalls",
            "tunic", "blouse", "apron", "kimono", "jersey", "top", "tshirt", "blazer", "poncho",
            "smock", "sari", "overcoat", "mackintosh", "anorak", "waistcoat", "habit", "armour",
            "armor", "fleece", "windbreaker", "shawl")
LONG_GARMENTS = ("coat", "raincoat", "oilskin", "dress", "gown", "cloak", "robe", "overcoat",
                 "mackintosh", "parka", "habit", "kimono", "sari", "poncho")
HEADWEAR = {"cap": "cap", "beanie": "cap", "helmet": "cap", "hat": "brim", "beret": "cap",
            "bonnet": "brim", "fedora": "brim", "sombrero": "brim", "hood": "hood", "hooded": "hood",
            "headscarf": "hood", "turban": "cap", "bandana": "cap", "crown": "crown"}
HAIR = ("hair", "haired", "braid", "braids", "plait", "ponytail", "curls", "bun", "locks", "mane",
        "beard", "bob", "dreadlocks", "bearded", "moustache", "mustache", "stubble", "goatee")
GLASSES = {"glasses": "clear", "spectacles": "clear", "eyeglasses": "clear", "specs": "clear",
           "bifocals": "clear", "monocle": "clear", "sunglasses": "dark", "shades": "dark",
           "goggles": "dark"}
FACIAL_HAIR = {"beard": "beard", "bearded": "beard", "goatee": "beard", "moustache": "moustache",
               "mustache": "moustache", "moustached": "moustache", "stubble": "stubble"}
#: Things a character carries (drawn in the hand on the side they face) and their usual colour.
HELD: dict[str, tuple[tuple[str, ...], RGB]] = {
    "bag": (("bag", "satchel", "handbag", "purse", "sack"), (176, 136, 88)),
    "case": (("suitcase", "briefcase", "case", "valise", "toolbox"), (110, 70, 45)),
    "umbrella": (("umbrella", "parasol"), (30, 30, 36)),
    "lantern": (("lantern", "lamp", "torch", "flashlight"), (250, 220, 130)),
    "book": (("book", "notebook", "diary", "journal", "logbook", "folder", "clipboard"), (130, 40, 40)),
    "letter": (("letter", "envelope", "newspaper", "paper", "papers", "map"), (238, 230, 205)),
    "cup": (("cup", "mug", "flask", "bottle", "glass"), (230, 232, 236)),
    "stick": (("cane", "stick", "staff", "walking", "crutch", "broom", "rifle", "sword", "spear"), (120, 85, 50)),
    "phone": (("phone", "smartphone", "camera"), (25, 25, 30)),
    "flowers": (("flowers", "bouquet", "rose", "roses"), (210, 60, 90)),
}
_HOLD_VERBS = ("holding", "holds", "carrying", "carries", "clutching", "clutches", "with", "gripping",
               "grips", "hugging", "clasping", "under")
LEGWEAR = ("trousers", "pants", "jeans", "skirt", "boots", "shorts", "leggings", "breeches")
SKIN = ((241, 206, 178), (224, 178, 140), (198, 146, 104), (160, 108, 72), (112, 74, 50),
        (86, 58, 42))
HAIR_NATURAL = ((30, 26, 24), (70, 48, 32), (110, 74, 44), (150, 80, 40), (205, 175, 110))


@dataclass(frozen=True)
class FigureStyle:
    char_id: str
    body: RGB
    arms: RGB
    legs: RGB
    skin: RGB
    hair: RGB
    hair_kind: str  # short | long | braid | bald
    hat: str | None  # cap | brim | hood | crown | None
    hat_colour: RGB
    height: float  # relative to an adult (1.0)
    width: float
    long_coat: bool
    glasses: str | None = None  # clear | dark
    facial_hair: str | None = None  # beard | moustache | stubble
    apron: RGB | None = None
    held: str | None = None  # a kind of HELD
    held_colour: RGB = (128, 128, 128)
    uniform: bool = False

    @property
    def signature(self) -> np.ndarray:
        """Main colours, largest area first: body, then headwear (or hair)."""
        second = self.hat_colour if self.hat else self.hair
        return np.array([self.body, second], np.uint8)


@functools.lru_cache(maxsize=512)
def figure_style(char_id: str, description: str) -> FigureStyle:
    """Read a character description the way a storyboard artist would skim it."""
    d = description or ""
    h = lambda *p: unit("figure", char_id, d, *p)  # noqa: E731
    body = colour_of(d, tuple(g for g in GARMENTS if g != "apron"))
    uniform = has_any(d, ("uniform", "uniformed"))
    if body is None and has_any(d, ("trench", "trenchcoat")):
        body = (184, 156, 108)  # a trench coat is stone-coloured unless said otherwise
    if body is None and uniform:
        body = (38, 48, 88)
    if body is None:
        loose = _loose_non_hair(d)
        body = loose[0] if loose else hsv(h("body"), 0.55 + 0.3 * h("bs"), 0.55 + 0.35 * h("bv"))
    hat = None
    for word in (w for w in HEADWEAR if has_any(d, (w,))):
        hat = HEADWEAR[word]
        break
    hat_colour = colour_of(d, tuple(HEADWEAR)) or hsv(h("hat"), 0.6, 0.7)
    old = has_any(d, ("old", "elderly", "aged", "sixties", "seventies", "eighties", "grandmother",
                      "grandfather", "granny", "grandpa", "retired"))
    hair = colour_of(d, HAIR) or ((200, 200, 204) if old else HAIR_NATURAL[int(h("hair") * 5)])
    hair_kind = ("braid" if has_any(d, ("braid", "braids", "plait", "ponytail")) else
                 "bun" if has_any(d, ("bun", "chignon", "topknot")) else
                 "bald" if has_any(d, ("bald", "shaved")) else
                 "long" if has_any(d, ("long", "woman", "girl", "curls")) and not has_any(d, ("short",))
                 else "short")
    child = has_any(d, ("boy", "girl", "child", "kid", "toddler", "baby", "infant", "son", "daughter"))
    if child and has_any(d, ("teen*", "teenage*", "fifteen", "sixteen", "seventeen")):
        height = 0.9
    elif child:
        height = 0.72
    else:
        height = 0.96 + 0.06 * h("height")
    height *= 1.06 if has_any(d, ("tall", "lanky")) else (0.93 if has_any(d, ("short", "small", "tiny")) else 1.0)
    width = 1.16 if has_any(d, ("broad", "stocky", "burly", "heavy", "oversized", "bulky", "fat")) \
        else (0.88 if has_any(d, ("thin", "slim", "slender", "wiry", "skinny")) else 1.0)
    legs = colour_of(d, LEGWEAR) or shade(mix(body, (60, 60, 70), 0.6), 0.8)
    held, held_colour = _held(d)
    return FigureStyle(
        char_id=char_id, body=body, arms=shade(body, 0.8), legs=legs,
        skin=SKIN[int(h("skin") * len(SKIN))], hair=hair, hair_kind=hair_kind, hat=hat,
        hat_colour=hat_colour, height=height, width=width,
        long_coat=has_any(d, LONG_GARMENTS + ("trench", "trenchcoat")),
        glasses=next((GLASSES[w] for w in tokens(d) if w in GLASSES), None),
        facial_hair=next((FACIAL_HAIR[w] for w in tokens(d) if w in FACIAL_HAIR), None),
        apron=(colour_of(d, ("apron",)) or (236, 234, 226)) if has_any(d, ("apron", "aprons")) else None,
        held=held, held_colour=held_colour, uniform=uniform,
    )


def _held(d: str) -> tuple[str | None, RGB]:
    """The object a description says the character carries ("a paper bag", "holding a cane")."""
    words = tokens(d)
    for kind, (nouns, colour) in HELD.items():
        for i, w in enumerate(words):
            if w in nouns:
                near = words[max(0, i - 5):i]
                if kind in ("bag", "case", "umbrella", "stick", "lantern") or any(v in near for v in _HOLD_VERBS):
                    c = colour_of(" ".join(words[max(0, i - 3):i + 1]), nouns)
                    if kind == "bag" and "paper" in near:
                        c = c or (190, 150, 100)
                    return kind, c or colour
    return None, (128, 128, 128)


def _loose_non_hair(d: str) -> list[RGB]:
    """Colour words not attached to hair or headwear (those colour other parts)."""
    words = tokens(d)
    out: list[RGB] = []
    for i, w in enumerate(words):
        if w in COLOURS and w != "dark":
            nxt = words[i + 1:i + 4]
            if not any(n in HAIR or n in HEADWEAR for n in nxt):
                out.append(COLOURS[w])
    return out


def character_signature(char_id: str, description: str) -> np.ndarray:
    """(k, 3) uint8: the figure's main colours, body first. Present inside its box in every shot."""
    return figure_style(char_id, description).signature


@dataclass(frozen=True)
class Placement:
    """Where and how big a figure stands, in world pixels."""

    cx: float
    feet_y: float
    h: float  # full-body height of an adult-sized figure at this framing
    vscale: float = 1.0  # foreshortening of the body below the head (high angle < 1 < low angle)
    head_scale: float = 1.0
    overhead: bool = False
    facing: int = 0  # screen direction of the face: +1 right, -1 left, 0 toward the camera


class Painter:
    """Draws on an RGB image and, optionally, a coverage mask with the same shapes."""

    def __init__(self, rgb: Image.Image, mask: Image.Image | None, origin: tuple[int, int]) -> None:
        self.d = ImageDraw.Draw(rgb)
        self.m = ImageDraw.Draw(mask) if mask is not None else None
        self.ox, self.oy = origin

    def _p(self, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(x - self.ox, y - self.oy) for x, y in pts]

    def _b(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [x0 - self.ox, y0 - self.oy, max(x0, x1) - self.ox, max(y0, y1) - self.oy]

    def polygon(self, pts: list[tuple[float, float]], fill: RGB) -> None:
        self.d.polygon(self._p(pts), fill=fill)
        if self.m:
            self.m.polygon(self._p(pts), fill=255)

    def ellipse(self, x0: float, y0: float, x1: float, y1: float, fill: RGB) -> None:
        self.d.ellipse(self._b(x0, y0, x1, y1), fill=fill)
        if self.m:
            self.m.ellipse(self._b(x0, y0, x1, y1), fill=255)

    def pieslice(self, x0: float, y0: float, x1: float, y1: float, a0: float, a1: float, fill: RGB) -> None:
        self.d.pieslice(self._b(x0, y0, x1, y1), a0, a1, fill=fill)
        if self.m:
            self.m.pieslice(self._b(x0, y0, x1, y1), a0, a1, fill=255)

    def chord(self, x0: float, y0: float, x1: float, y1: float, a0: float, a1: float, fill: RGB) -> None:
        self.d.chord(self._b(x0, y0, x1, y1), a0, a1, fill=fill)
        if self.m:
            self.m.chord(self._b(x0, y0, x1, y1), a0, a1, fill=255)

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: RGB) -> None:
        self.d.rectangle(self._b(x0, y0, x1, y1), fill=fill)
        if self.m:
            self.m.rectangle(self._b(x0, y0, x1, y1), fill=255)

    def line(self, pts: list[tuple[float, float]], fill: RGB, width: int) -> None:
        self.d.line(self._p(pts), fill=fill, width=width)
        if self.m:
            self.m.line(self._p(pts), fill=255, width=width)

    def text(self, x: float, y: float, text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
             fill: RGB, stroke: RGB, stroke_width: int) -> None:
        kw = dict(font=font, stroke_width=stroke_width)
        self.d.text((x - self.ox, y - self.oy), text, fill=fill, stroke_fill=stroke, **kw)
        if self.m:
            self.m.text((x - self.ox, y - self.oy), text, fill=255, stroke_fill=255, **kw)


@dataclass(frozen=True)
class Skeleton:
    """Key heights and half-widths of a standing figure (world px)."""

    head_cx: float
    head_cy: float
    r: float
    shoulder_y: float
    hip_y: float
    hem_y: float
    feet_y: float
    shw: float
    hipw: float
    hemw: float


def skeleton(style: FigureStyle, p: Placement) -> Skeleton:
    h = p.h * style.height
    vs = p.vscale
    r = 0.072 * h * p.head_scale
    hip = p.feet_y - 0.46 * h * vs
    shoulder = hip - 0.36 * h * vs
    head_cy = shoulder - 0.025 * h - 0.95 * r
    hem = hip + (0.3 * h * vs if style.long_coat else 0.04 * h * vs)
    shw = 0.13 * h * style.width
    return Skeleton(p.cx, head_cy, r, shoulder, hip, hem, p.feet_y, shw, 0.1 * h * style.width,
                  (0.14 if style.long_coat else 0.105) * h * style.width)


def figure_box(style: FigureStyle, p: Placement) -> tuple[float, float, float, float]:
    """World-space bounding box of the drawn figure (without its label)."""
    f = skeleton(style, p)
    if p.overhead:
        rx = f.shw + 0.05 * p.h * style.height
        ry = max(0.075 * p.h * style.height, f.r)
        return (p.cx - rx, p.feet_y - ry, p.cx + rx, p.feet_y + ry)
    top = f.head_cy - f.r * (1.35 if style.hat in ("brim", "crown") else 1.15)
    half = max(f.shw + 0.05 * p.h * style.height, f.hemw, f.r * (1.7 if style.hat == "brim" else 1.2))
    return (p.cx - half, top, p.cx + half, f.feet_y + 0.012 * p.h)


def draw_figure(pt: Painter, style: FigureStyle, p: Placement) -> None:
    """Head, body, accent (hat or hair), in flat identity colours; eyes once the head is big."""
    if p.overhead:
        _draw_overhead(pt, style, p)
        return
    f = skeleton(style, p)
    h = p.h * style.height
    cx = p.cx
    # Behind the body: long hair, braid, hood.
    if style.hair_kind == "long" and style.hat != "hood":
        pt.rect(cx - f.r * 1.05, f.head_cy, cx + f.r * 1.05, f.shoulder_y + 0.06 * h, style.hair)
    if style.hat == "hood":
        pt.ellipse(cx - f.r * 1.35, f.head_cy - f.r * 1.3, cx + f.r * 1.35, f.shoulder_y + 0.04 * h, style.hat_colour)
    # Legs and feet.
    lw, gap = 0.04 * h * style.width, 0.012 * h
    pt.rect(cx - gap - 2 * lw, f.hip_y - 0.02 * h, cx - gap, f.feet_y, style.legs)
    pt.rect(cx + gap, f.hip_y - 0.02 * h, cx + gap + 2 * lw, f.feet_y, style.legs)
    foot = shade(style.legs, 0.45)
    pt.ellipse(cx - gap - 2.6 * lw, f.feet_y - 0.025 * h, cx - gap + 0.2 * lw, f.feet_y + 0.012 * h, foot)
    pt.ellipse(cx + gap - 0.2 * lw, f.feet_y - 0.025 * h, cx + gap + 2.6 * lw, f.feet_y + 0.012 * h, foot)
    # Arms (slightly darker than the body, hands in skin tone).
    aw = 0.05 * h * style.width
    hand_y = f.hip_y + 0.05 * h
    for s in (-1, 1):
        pt.polygon([(cx + s * (f.shw - 0.01 * h), f.shoulder_y + 0.01 * h), (cx + s * (f.shw + aw * 0.6), f.shoulder_y + 0.03 * h),
                    (cx + s * (f.shw + aw), hand_y), (cx + s * (f.shw - aw * 0.3), hand_y)], style.arms)
        hx = cx + s * (f.shw + aw * 0.35)
        pt.ellipse(hx - 0.03 * h, hand_y - 0.01 * h, hx + 0.03 * h, hand_y + 0.045 * h, style.skin)
    # Torso (the identity colour, largest area).
    rr = 0.035 * h
    pt.polygon([(cx - f.shw, f.shoulder_y + rr), (cx - f.shw + rr, f.shoulder_y), (cx + f.shw - rr, f.shoulder_y),
                (cx + f.shw, f.shoulder_y + rr), (cx + f.hemw, f.hem_y), (cx - f.hemw, f.hem_y)], style.body)
    pt.pieslice(cx - f.shw, f.shoulder_y, cx - f.shw + 2 * rr, f.shoulder_y + 2 * rr, 180, 270, style.body)
    pt.pieslice(cx + f.shw - 2 * rr, f.shoulder_y, cx + f.shw, f.shoulder_y + 2 * rr, 270, 360, style.body)
    if style.apron is not None:  # a bib apron over the torso, down past the hem
        pt.rect(cx - 0.62 * f.shw, f.shoulder_y + 0.05 * h, cx + 0.62 * f.shw, f.hem_y + 0.06 * h, style.apron)
    if style.uniform:  # a uniform: a row of brass buttons and a dark collar
        for k in range(4):
            by = f.shoulder_y + (0.06 + 0.08 * k) * h
            pt.ellipse(cx - 0.012 * h, by - 0.012 * h, cx + 0.012 * h, by + 0.012 * h, (212, 170, 55))
        pt.rect(cx - 0.5 * f.r, f.shoulder_y - 0.005 * h, cx + 0.5 * f.r, f.shoulder_y + 0.025 * h, shade(style.body, 0.5))
    back = -p.facing if p.facing else 1  # the side of the head facing away from the camera's view
    if style.hair_kind == "braid":
        bw = max(2, round(0.32 * f.r))
        pt.line([(cx + back * 0.7 * f.r, f.head_cy + 0.3 * f.r), (cx + back * 1.15 * f.r, f.shoulder_y + 0.02 * h),
                 (cx + back * 1.05 * f.r, f.shoulder_y + 0.1 * h)], style.hair, bw)
    # Neck and head.
    pt.rect(cx - 0.4 * f.r, f.head_cy + 0.6 * f.r, cx + 0.4 * f.r, f.shoulder_y + 0.01 * h, shade(style.skin, 0.9))
    pt.ellipse(cx - f.r, f.head_cy - 1.1 * f.r, cx + f.r, f.head_cy + 1.1 * f.r, style.skin)
    if style.hair_kind != "bald":
        pt.pieslice(cx - 1.04 * f.r, f.head_cy - 1.16 * f.r, cx + 1.04 * f.r, f.head_cy + 0.5 * f.r, 180, 360, style.hair)
        if p.facing:  # turned three-quarters: the back of the head is hair
            a0, a1 = (115, 245) if p.facing > 0 else (295, 425)
            pt.chord(cx - 1.04 * f.r, f.head_cy - 1.16 * f.r, cx + 1.04 * f.r, f.head_cy + 0.9 * f.r, a0, a1, style.hair)
    if style.hair_kind == "bun":
        pt.ellipse(cx + back * 0.35 * f.r - 0.55 * f.r, f.head_cy - 1.75 * f.r, cx + back * 0.35 * f.r + 0.55 * f.r,
                   f.head_cy - 0.75 * f.r, style.hair)
    if f.r >= 3:
        _face(pt, style, cx + 0.3 * f.r * p.facing, f.head_cy, f.r)
    if style.held is not None:
        s_ = p.facing or 1
        _held_prop(pt, style, cx + s_ * (f.shw + aw * 0.35), hand_y, h)
    # Headwear on top.
    if style.hat == "cap":
        pt.pieslice(cx - 1.1 * f.r, f.head_cy - 1.3 * f.r, cx + 1.1 * f.r, f.head_cy + 0.35 * f.r, 180, 360, style.hat_colour)
        pt.rect(cx - 1.12 * f.r, f.head_cy - 0.5 * f.r, cx + 1.12 * f.r, f.head_cy - 0.3 * f.r, shade(style.hat_colour, 0.8))
    elif style.hat == "brim":
        pt.rect(cx - 0.85 * f.r, f.head_cy - 1.35 * f.r, cx + 0.85 * f.r, f.head_cy - 0.6 * f.r, style.hat_colour)
        pt.ellipse(cx - 1.7 * f.r, f.head_cy - 0.8 * f.r, cx + 1.7 * f.r, f.head_cy - 0.45 * f.r, shade(style.hat_colour, 0.85))
    elif style.hat == "crown":
        pts = [(cx - 0.9 * f.r, f.head_cy - 0.6 * f.r), (cx - 0.9 * f.r, f.head_cy - 1.35 * f.r), (cx - 0.45 * f.r, f.head_cy - 0.95 * f.r),
               (cx, f.head_cy - 1.4 * f.r), (cx + 0.45 * f.r, f.head_cy - 0.95 * f.r), (cx + 0.9 * f.r, f.head_cy - 1.35 * f.r),
               (cx + 0.9 * f.r, f.head_cy - 0.6 * f.r)]
        pt.polygon(pts, style.hat_colour)


def _face(pt: Painter, style: FigureStyle, cx: float, cy: float, r: float) -> None:
    """Eyes (from r >= 6), brows, nose and mouth (r >= 14); glasses and facial hair at any size
    where they are a few pixels, because they are how a viewer tells people apart."""
    eye = (34, 30, 30)
    er = max(1.0, 0.11 * r)
    if style.facial_hair == "beard":
        pt.pieslice(cx - 0.95 * r, cy - 0.2 * r, cx + 0.95 * r, cy + 1.15 * r, 0, 180, shade(style.hair, 0.92))
    elif style.facial_hair == "stubble":
        pt.pieslice(cx - 0.9 * r, cy - 0.1 * r, cx + 0.9 * r, cy + 1.08 * r, 0, 180, mix(style.skin, style.hair, 0.35))
    if style.glasses:
        lens = (20, 22, 28) if style.glasses == "dark" else mix(style.skin, (235, 245, 250), 0.5)
        rim = max(1, round(0.08 * r))
        for s in (-1, 1):
            ex = cx + s * 0.38 * r
            pt.ellipse(ex - 0.3 * r, cy - 0.32 * r, ex + 0.3 * r, cy + 0.22 * r, (30, 30, 34))
            pt.ellipse(ex - 0.3 * r + rim, cy - 0.32 * r + rim, ex + 0.3 * r - rim, cy + 0.22 * r - rim, lens)
        pt.line([(cx - 0.1 * r, cy - 0.08 * r), (cx + 0.1 * r, cy - 0.08 * r)], (30, 30, 34), rim)
    if r < 6:
        return
    for s in (-1, 1):
        ex = cx + s * 0.38 * r
        if style.glasses != "dark":
            pt.ellipse(ex - er, cy - 0.05 * r - er, ex + er, cy - 0.05 * r + er, eye)
    if r >= 14:
        brow = shade(style.hair, 0.8)
        for s in (-1, 1):
            ex = cx + s * 0.38 * r
            pt.line([(ex - 0.2 * r, cy - 0.3 * r), (ex + 0.2 * r, cy - 0.3 * r)], brow, max(1, round(0.06 * r)))
        pt.line([(cx, cy), (cx - 0.08 * r, cy + 0.3 * r), (cx + 0.05 * r, cy + 0.32 * r)], shade(style.skin, 0.75), max(1, round(0.05 * r)))
        pt.line([(cx - 0.25 * r, cy + 0.6 * r), (cx + 0.25 * r, cy + 0.6 * r)], shade(style.skin, 0.55), max(1, round(0.07 * r)))
    if style.facial_hair in ("moustache", "beard"):
        pt.ellipse(cx - 0.38 * r, cy + 0.36 * r, cx + 0.38 * r, cy + 0.56 * r, shade(style.hair, 0.85))


def _held_prop(pt: Painter, style: FigureStyle, hx: float, hy: float, h: float) -> None:
    """The carried object at the hand (hx, hy), sized to the figure's height `h`."""
    c, k, u = style.held_colour, style.held, 0.01 * h
    if k == "bag":
        pt.rect(hx - 6 * u, hy + 1 * u, hx + 6 * u, hy + 15 * u, c)
        pt.polygon([(hx - 6 * u, hy + 1 * u), (hx - 4 * u, hy - 1 * u), (hx + 4 * u, hy - 1 * u), (hx + 6 * u, hy + 1 * u)], shade(c, 0.8))
    elif k == "case":
        pt.rect(hx - 8 * u, hy + 3 * u, hx + 8 * u, hy + 15 * u, c)
        pt.rect(hx - 2 * u, hy, hx + 2 * u, hy + 3 * u, shade(c, 0.6))
    elif k in ("umbrella", "stick"):
        pt.line([(hx, hy - 8 * u), (hx, hy + 30 * u)], c, max(1, round(1.6 * u)))
        if k == "umbrella":
            pt.polygon([(hx - 3 * u, hy + 30 * u), (hx, hy - 10 * u), (hx + 3 * u, hy + 30 * u)], c)
    elif k == "lantern":
        pt.rect(hx - 3 * u, hy + 3 * u, hx + 3 * u, hy + 11 * u, c)
        pt.rect(hx - 3.5 * u, hy + 11 * u, hx + 3.5 * u, hy + 12.5 * u, (50, 45, 40))
    elif k in ("book", "letter", "phone"):
        pt.rect(hx - 4 * u, hy - 5 * u, hx + 4 * u, hy + 5 * u, c)
    elif k == "cup":
        pt.rect(hx - 2.5 * u, hy - 4 * u, hx + 2.5 * u, hy + 2 * u, c)
    elif k == "flowers":
        pt.line([(hx, hy), (hx, hy - 8 * u)], (60, 120, 60), max(1, round(u)))
        pt.ellipse(hx - 4 * u, hy - 14 * u, hx + 4 * u, hy - 7 * u, c)


def _draw_overhead(pt: Painter, style: FigureStyle, p: Placement) -> None:
    """Seen from above: shoulders (body colour), arms, and the top of the head (hat or hair)."""
    f = skeleton(style, p)
    h = p.h * style.height
    cx, cy = p.cx, p.feet_y
    pt.ellipse(cx - f.shw - 0.05 * h, cy - 0.06 * h, cx + f.shw + 0.05 * h, cy + 0.06 * h, style.arms)
    pt.ellipse(cx - f.shw, cy - 0.075 * h, cx + f.shw, cy + 0.075 * h, style.body)
    top = style.hat_colour if style.hat else style.hair
    pt.ellipse(cx - f.r, cy - f.r, cx + f.r, cy + f.r, top)
