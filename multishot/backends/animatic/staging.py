"""Staging: where the horizon sits and where figures stand, from shot size and camera angle.

This is the film grammar a storyboard artist applies without thinking: an extreme-wide shows
tiny figures in a big place, a close-up is head and shoulders, a high angle raises the horizon
and shrinks the legs, a low angle drops it so figures tower. Everything is in *world* pixels of
the shot's picture area at rest (the camera transform moves it later).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..base import CharacterInShot, ShotLayout
from .caption import Font, load_font
from .colours import RGB, has_any, shade
from .figures import FigureStyle, Placement, skeleton, figure_box, figure_style
from .palette import Look, location_look
from .seeds import unit

SIZES = ("extreme-wide", "wide", "full", "medium", "medium-close", "close", "extreme-close", "insert")
ANGLES = ("eye", "high", "low", "overhead", "dutch", "over-shoulder")

#: size -> (adult figure height in picture heights, how it is anchored, anchor value, bg blur).
#: "ground": feet at that fraction of the way from horizon to frame bottom; "feet": feet at that
#: fraction of picture height; "head": top of the tallest head at that fraction.
_SIZE_RULES: dict[str, tuple[float, str, float, float]] = {
    "extreme-wide": (0.11, "ground", 0.62, 0.0),
    "wide": (0.3, "ground", 0.8, 0.0),
    "full": (0.78, "feet", 0.93, 0.0),
    "medium": (1.9, "head", 0.1, 0.004),
    "medium-close": (2.8, "head", 0.1, 0.007),
    "close": (4.2, "head", 0.08, 0.01),
    "extreme-close": (8.0, "head", -0.1, 0.014),
    "insert": (4.2, "head", 0.08, 0.03),
}
#: angle -> (eye-level horizon replacement for exteriors, for interiors, body vscale, head scale)
_ANGLE_RULES: dict[str, tuple[float | None, float | None, float, float]] = {
    "high": (0.14, 0.26, 0.84, 1.12),
    "low": (0.84, 0.92, 1.12, 0.9),
}


def norm(word: str | None, default: str) -> str:
    """'Extreme wide' / 'extreme_wide' -> 'extreme-wide'."""
    if not word:
        return default
    return "-".join(word.strip().lower().replace("_", " ").replace("-", " ").split()) or default


@dataclass(frozen=True)
class Figure:
    char_id: str
    style: FigureStyle
    placement: Placement
    label_xy: tuple[float, float]


@dataclass(frozen=True)
class Shoulder:
    """The dark, soft foreground shoulder of an over-the-shoulder shot."""

    colour: RGB
    side: int  # -1 left, +1 right
    char_id: str | None
    head: RGB = (20, 20, 24)  # back of the head: their hair or hat, in shadow


@dataclass(frozen=True)
class Prop:
    """An insert's object, with the sleeve and hand of the character holding it (if any)."""

    kind: str
    colour: RGB
    holder: Figure | None
    scale: float = 1.0


@dataclass(frozen=True)
class Stage:
    look: Look
    width: int
    pic_h: int
    size: str
    angle: str
    horizon: float | None
    figures: tuple[Figure, ...]
    shoulder: Shoulder | None
    prop: Prop | None
    blur: float
    dutch_deg: float
    label_px: int
    yaw: float = 0.0  # camera bearing in the set, degrees (0: the master's view)


def label_font(px: int) -> Font:
    """The face of the id labels over figures."""
    return load_font(px, bold=True)


def stage_shot(layout: ShotLayout, width: int, pic_h: int) -> Stage:
    """Resolve horizon, figure placements, foreground shoulder and insert prop of one shot."""
    W, Hp = width, pic_h
    look = location_look(layout.location or layout.location_id, layout.time, layout.weather,
                         layout.scene_id)
    size = norm(layout.size, "medium")
    if size not in _SIZE_RULES:
        size = "medium"
    angle = norm(layout.angle, "eye")
    h_rel, anchor, value, blur = _SIZE_RULES[size]
    rule = _ANGLE_RULES.get(angle)
    if angle == "overhead":
        horizon: float | None = None
    elif rule is not None:
        horizon = (rule[1] if look.interior else rule[0]) * Hp  # type: ignore[operator]
    else:
        horizon = look.eye_horizon * Hp
    vscale, head_scale = (rule[2], rule[3]) if rule else (1.0, 1.0)
    dutch = 0.0
    if angle == "dutch":
        dutch = 11.0 if unit("dutch", layout.shot_id) < 0.5 else -11.0
    label_px = max(8, round(Hp * 0.034))

    shown, facing, side_of_line = _blocking(layout)
    shoulder: Shoulder | None = None
    subject = layout.characters[0] if layout.characters else None
    center = 0.5 * W
    if angle == "over-shoulder":
        other = layout.characters[1] if len(layout.characters) > 1 else _partner(layout)
        f = facing.get(subject.id, 0) if subject is not None else 0
        if f:  # the one they talk to is where they look: that side of the frame
            side = f
        elif other is not None and subject is not None and other in shown:
            side = -1 if shown.index(other) < shown.index(subject) else 1
        else:
            side = -1
        if other is not None:
            shown = [c for c in shown if c.id != other.id]
        ost = figure_style(other.id, other.description) if other else None
        shoulder = Shoulder(colour=shade(ost.body, 0.45) if ost else (24, 24, 28), side=side,
                            char_id=other.id if other else None,
                            head=shade(ost.hat_colour if ost.hat else ost.hair, 0.5) if ost else (20, 20, 24))
        center = W * (0.5 - side * 0.17)
    elif len(shown) == 1 and facing.get(shown[0].id):
        center = W * (0.5 - 0.1 * facing[shown[0].id])  # looking room ahead of the face
    yaw = _yaw(shown, facing, side_of_line, layout)

    h = h_rel * Hp
    styles = [figure_style(c.id, c.description) for c in shown]
    ground_frac = value
    if anchor == "ground" and "sea" in look.motifs:
        ground_frac = 0.5 + 0.5 * value
    overhead = angle == "overhead"
    if overhead:
        feet = 0.55 * Hp
    elif anchor == "ground":
        hz = horizon if horizon is not None else 0.5 * Hp
        feet = hz + (Hp - hz) * ground_frac
    elif anchor == "feet":
        feet = value * Hp
    else:
        tallest = max(styles, key=lambda s: s.height) if styles else figure_style("", "")
        sk = skeleton(tallest, Placement(0.0, 0.0, h, vscale, head_scale))
        feet = value * Hp - (sk.head_cy - 1.1 * sk.r)

    n = len(shown)
    fig_w = 0.32 * h
    spacing = min(max(1.5 * fig_w, 0.12 * W), 0.75 * W / max(1, n - 1))
    figures: list[Figure] = []
    font = label_font(label_px)
    for i, (c, st) in enumerate(zip(shown, styles)):
        cx = center + (i - (n - 1) / 2) * spacing
        foot = feet
        if anchor == "head" and styles:
            # A child beside an adult in a medium shot or closer: keep the height difference
            # readable but never push a head out of frame.
            drop = (max(s.height for s in styles) - st.height) * h * 0.86 * vscale
            foot = feet - max(0.0, drop - 0.2 * Hp)
        pl = Placement(cx, foot, h, vscale, head_scale, overhead, facing.get(c.id, 0))
        figures.append(Figure(c.id, st, pl, _label_xy(c.id, st, pl, font, W, Hp)))

    prop: Prop | None = None
    kind = _prop_kind(layout.action)
    if size == "insert" or (not layout.characters and kind != "object"
                            and size in ("close", "extreme-close")):
        holder = None
        if layout.characters:
            c = layout.characters[0]
            st = figure_style(c.id, c.description)
            holder = Figure(c.id, st, Placement(0.5 * W, 0.5 * Hp, 0.9 * Hp), (0.02 * W, 0.03 * Hp))
        prop = Prop(kind, look.accent, holder, 1.6 if size == "extreme-close" else 1.0)
        figures = [holder] if holder else []
    return Stage(look, W, Hp, size, angle, horizon, tuple(figures), shoulder, prop, blur * Hp,
                 dutch, label_px, yaw)


#: How far a single's camera turns from the master's bearing toward the side its subject
#: stands on (degrees): a reverse pair of singles sees two different walls of the set.
YAW_SINGLE = 50.0


def _blocking(layout: ShotLayout) -> tuple[list[CharacterInShot], dict[str, int], int]:
    """The shot's characters left to right on screen, each one's screen facing (+1 right, -1
    left, 0 toward camera), and the camera's side of the line.

    With a scene line (plan/blocking.py) the master side sees the line left to right and a
    camera across the line sees it mirrored; characters face the middle of the line. A single
    character with no partner faces the camera unless the shot records a screen direction."""
    side = -1 if layout.camera_side < 0 else 1
    line = [c.id for c in layout.line]
    chars = list(layout.characters)
    rank = {cid: i for i, cid in enumerate(line)}
    shown = sorted(chars, key=lambda c: (rank.get(c.id, len(line)), c.id))
    if side < 0:
        shown.reverse()
    facing: dict[str, int] = {}
    if len(line) >= 2:
        for c in chars:
            if c.id in rank:
                home = 1 if rank[c.id] < len(line) / 2 else -1
                facing[c.id] = home * side
    if chars and layout.screen_direction in ("left", "right"):
        facing[chars[0].id] = 1 if layout.screen_direction == "right" else -1
    return shown, facing, side


def _partner(layout: ShotLayout) -> CharacterInShot | None:
    """Whom an over-the-shoulder looks past when the shot names only its subject: the nearest
    other character on the scene's line."""
    if not layout.characters or len(layout.line) < 2:
        return None
    ids = [c.id for c in layout.line]
    me = layout.characters[0].id
    if me not in ids:
        return None
    i = ids.index(me)
    others = sorted((abs(j - i), j) for j in range(len(ids)) if j != i)
    return layout.line[others[0][1]]


def _yaw(shown: list[CharacterInShot], facing: dict[str, int], side: int, layout: ShotLayout) -> float:
    """Camera bearing in the set: the master's view (0) or its reverse (180) turned toward a
    single's subject, who stands on the side they face away from."""
    base = 0.0 if side > 0 else 180.0
    if len(shown) == 1 and facing.get(shown[0].id):
        return base - YAW_SINGLE * facing[shown[0].id]
    return base


def _label_xy(char_id: str, style: FigureStyle, p: Placement, font: Font, W: int,
              Hp: int) -> tuple[float, float]:
    """Above the head when it is in frame, else on the chest, always inside the picture."""
    x0, y0, x1, y1 = figure_box(style, p)
    tw = font.getlength(char_id) if hasattr(font, "getlength") else 6 * len(char_id)
    lh = Hp * 0.034
    y = y0 - 1.4 * lh
    if y < 0.02 * Hp:
        sk = skeleton(style, p)
        y = min(max(sk.shoulder_y + 0.06 * Hp, 0.02 * Hp), 0.86 * Hp)
    x = min(max((x0 + x1) / 2 - tw / 2, 0.01 * W), W - tw - 0.01 * W)
    return (x, y)


_PROPS = {
    "lens": ("lens", "lenses", "prism", "mirror"),
    "letter": ("letter", "note", "envelope", "paper*", "page*", "map", "document*", "telegram", "postcard"),
    "photo": ("photo*", "picture", "portrait"),
    "lantern": ("lantern", "lamp", "candle*", "torch", "flashlight"),
    "key": ("key", "keys"),
    "cup": ("cup", "mug", "glass", "teacup", "bottle"),
    "phone": ("phone", "smartphone", "cellphone", "mobile"),
    "book": ("book", "diary", "journal", "notebook", "logbook"),
    "ring": ("ring", "coin", "medal", "locket", "watch", "compass"),
}


def _prop_kind(action: str) -> str:
    for kind, words in _PROPS.items():
        if has_any(action or "", words):
            return kind
    return "object"


def prop_colours(kind: str, accent: RGB) -> tuple[RGB, RGB]:
    """(main, detail) colours of an insert's prop."""
    return {
        "lens": (accent, (255, 245, 205)),
        "letter": ((238, 230, 205), (110, 100, 90)),
        "photo": ((245, 245, 240), (70, 80, 95)),
        "lantern": ((250, 225, 140), (60, 55, 50)),
        "key": ((200, 165, 70), (120, 95, 40)),
        "cup": ((230, 232, 236), (150, 90, 60)),
        "phone": ((25, 25, 30), (90, 160, 230)),
        "book": ((130, 40, 40), (235, 225, 200)),
        "ring": ((215, 180, 80), (120, 90, 40)),
    }.get(kind, (accent, shade(accent, 0.6)))


__all__ = ["SIZES", "ANGLES", "Figure", "Prop", "Shoulder", "Stage", "norm", "prop_colours",
           "stage_shot"]
