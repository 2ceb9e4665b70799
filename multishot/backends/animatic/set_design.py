"""The set of a location: inside or outside, and what stands in it, read from its description.

A previz set is a room the camera can turn around in (Storyboarder's shot generator, FrameForge,
game-engine previz): four walls at fixed compass bearings, a window on the far wall of the
master shot (the time of day is seen through it), the entrance opposite, and the furniture the
description names placed along the side walls. Everything is a pure function of the description
(and the scene id, which may say INT/EXT), so every shot of a location shares one set, and a
reverse shot, looking the other way, sees the other walls.

Bearings are degrees clockwise from the master's view: 0 is the wall the master shot faces
(window side), 90 the right wall, 180 behind the master camera (the entrance), 270 the left.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .colours import RGB, colour_of, has_any, hsv, tokens
from .seeds import unit

#: Words that make a place an interior; the first interior or exterior word of a description
#: decides (its head noun comes first: "the lamp room of a lighthouse", "a kitchen over the sea").
INTERIOR_WORDS = (
    "room", "kitchen", "bedroom", "hall", "hallway", "corridor", "office", "interior", "inside",
    "indoors", "lounge", "bar", "cafe", "restaurant", "library", "classroom", "studio", "attic",
    "cellar", "basement", "apartment", "flat", "bathroom", "shop", "store", "cockpit", "cabin",
    "chapel", "church", "ward", "barn", "warehouse", "parlour", "parlor", "study", "diner", "pub",
    "tavern", "compartment", "carriage", "wagon", "lobby", "foyer", "stairwell", "staircase",
    "stairs", "loft", "garage", "hut", "tent", "cell", "bunker", "gallery", "museum", "theatre",
    "theater", "cinema", "gym", "clinic", "hospital", "lift", "elevator", "sleeper", "galley",
    "dormitory", "nursery", "pantry", "workshop", "laboratory", "lab", "salon", "ballroom",
)
EXTERIOR_WORDS = (
    "exterior", "outside", "outdoors", "cliff", "cliffs", "street", "streets", "platform", "beach",
    "shore", "forest", "woods", "field", "fields", "garden", "yard", "courtyard", "rooftop", "roof",
    "park", "road", "square", "market", "harbour", "harbor", "pier", "quay", "deck", "bridge",
    "mountain", "mountains", "desert", "meadow", "sea", "ocean", "lake", "river", "valley", "hill",
    "hills", "alley", "city", "town", "village", "sky", "moor", "dunes", "coast", "headland",
)


def is_interior(description: str, scene_id: str = "") -> bool:
    """Inside or outside: an explicit INT/EXT (description or scene id) decides, else the first
    interior or exterior word of the description, else a window means a room."""
    words = tokens(description)
    head = tokens(scene_id.replace("-", " ").replace("_", " "))[:1] + words[:1]
    if "int" in head:
        return True
    if "ext" in head:
        return False
    for w in words:
        if w in INTERIOR_WORDS:
            return True
        if w in EXTERIOR_WORDS:
            return False
    return has_any(description, ("window*", "ceiling", "wallpaper", "fireplace"))


#: Set dressing: piece kind -> the nouns that ask for it.
DRESSING: dict[str, tuple[str, ...]] = {
    "seat": ("seat", "seats", "bench", "benches", "sofa", "couch", "settee", "armchair", "chair",
             "chairs", "pew", "pews", "banquette", "berth", "berths"),
    "table": ("table", "tables", "desk", "desks", "workbench"),
    "shelf": ("shelf", "shelves", "bookshelf", "bookshelves", "bookcase", "books", "archive"),
    "bed": ("bed", "beds", "bunk", "bunks", "cot", "crib"),
    "counter": ("counter", "stove", "oven", "cooker", "sink", "fridge", "cupboard", "cupboards",
                "cabinet", "cabinets", "dresser"),
    "lamp": ("lamp", "lamps", "lantern", "lanterns", "lens", "chandelier", "candle", "candles"),
    "clock": ("clock", "clocks"),
    "frame": ("painting", "paintings", "portrait", "mirror", "poster", "posters", "photograph",
              "photographs", "map", "maps", "picture", "pictures"),
    "curtain": ("curtain", "curtains", "drapes", "blinds"),
    "plant": ("plant", "plants", "flowers", "fern", "ferns", "vase"),
    "fireplace": ("fireplace", "hearth", "fire"),
    "rack": ("rack", "racks", "luggage", "suitcases", "suitcase", "trunk"),
    "bottles": ("bottles", "bottle", "wine", "whisky", "whiskey", "jars"),
}
#: What a kind of room holds even when the description names nothing.
ROOM_DEFAULTS: dict[str, tuple[str, ...]] = {
    "compartment": ("seat", "rack"), "carriage": ("seat", "rack"), "sleeper": ("bed", "rack"),
    "kitchen": ("counter", "table"), "bedroom": ("bed", "frame"), "office": ("table", "shelf"),
    "study": ("table", "shelf"), "library": ("shelf", "table"), "bar": ("bottles", "table"),
    "pub": ("bottles", "table"), "tavern": ("bottles", "table"), "cafe": ("table", "counter"),
    "diner": ("counter", "seat"), "restaurant": ("table", "frame"), "classroom": ("table", "frame"),
    "parlour": ("seat", "fireplace"), "parlor": ("seat", "fireplace"), "lounge": ("seat", "lamp"),
    "cabin": ("bed", "table"), "church": ("seat", "lamp"), "chapel": ("seat", "lamp"),
    "hospital": ("bed", "curtain"), "ward": ("bed", "curtain"), "workshop": ("table", "shelf"),
}
#: Default colours per piece kind (the description's colour word wins).
PIECE_COLOURS: dict[str, RGB] = {
    "seat": (120, 40, 45), "table": (120, 82, 50), "shelf": (105, 70, 45), "bed": (200, 198, 190),
    "counter": (190, 185, 170), "lamp": (190, 155, 70), "clock": (230, 225, 210),
    "frame": (150, 115, 60), "curtain": (150, 50, 60), "plant": (60, 130, 60),
    "fireplace": (110, 90, 80), "rack": (150, 120, 70), "bottles": (60, 110, 70),
}


@dataclass(frozen=True)
class Piece:
    """One piece of set dressing, standing against the wall at `bearing`."""

    kind: str
    bearing: float  # degrees, centre of the piece
    span: float     # degrees of wall it covers
    colour: RGB


@dataclass(frozen=True)
class SetDesign:
    """A location's set. `walls` are the (far, right, near, left) wall colours before lighting."""

    interior: bool
    walls: tuple[RGB, RGB, RGB, RGB]
    window: tuple[float, float]  # bearing, span
    door: tuple[float, float]
    door_glass: bool             # a glazed door onto a lit corridor (train compartments, shops)
    pieces: tuple[Piece, ...]
    room: str                    # the room word that chose the defaults ("" when none)


def _room_word(words: list[str]) -> str:
    for w in words:
        if w in ROOM_DEFAULTS:
            return w
    return ""


@functools.lru_cache(maxsize=256)
def set_design(description: str, scene_id: str = "") -> SetDesign:
    """The set of the location described by `description` (see the module docstring)."""
    d = description.strip() or "a room"
    h = lambda *p: unit("set", d, *p)  # noqa: E731
    words = tokens(d)
    interior = is_interior(d, scene_id)
    wall = colour_of(d, ("wall", "walls", "wallpaper", "paint", "panels", "panelling", "paneling",
                         "tiles", "room")) or hsv(h("wall"), 0.22, 0.66)
    # The four walls take the light differently (the window lights the side walls, the entrance
    # wall is in shadow), which is also what makes a reverse angle read as another view.
    # The key light comes in from one side (a per-location choice): that wall is lit and warm,
    # the opposite one in cool shadow.
    key = 1 if h("key") < 0.5 else -1
    lit_wall, shadow_wall = _tone(wall, 1.12, 0.03), _tone(wall, 0.6, -0.06)
    walls = (wall, lit_wall if key > 0 else shadow_wall, _tone(wall, 0.5, -0.02),
             shadow_wall if key > 0 else lit_wall)
    room = _room_word(words)
    wanted: list[str] = [k for k, nouns in DRESSING.items() if any(w in nouns for w in words)]
    for k in ROOM_DEFAULTS.get(room, ()):
        if k not in wanted:
            wanted.append(k)
    if not wanted:
        wanted = [("table", "shelf", "frame", "seat")[int(h("default") * 4)]]
    train = room in ("compartment", "carriage", "sleeper")
    window = (0.0, 56.0 if train else 30.0 + 14.0 * h("win"))
    door = (180.0 + (0.0 if train else 30.0 * (h("door") - 0.5)), 26.0)
    pieces: list[Piece] = []
    for k in wanted[:5]:
        colour = colour_of(d, DRESSING[k]) or PIECE_COLOURS[k]
        if k in ("seat", "bed") and train:  # facing benches on both side walls
            pieces += [Piece(k, 90.0, 60.0, colour), Piece(k, 270.0, 60.0, colour)]
        elif k == "rack" and train:
            pieces += [Piece(k, 90.0, 60.0, colour), Piece(k, 270.0, 60.0, colour)]
        elif k == "curtain":
            pieces += [Piece(k, window[0] - window[1] / 2 - 5, 10.0, colour),
                       Piece(k, window[0] + window[1] / 2 + 5, 10.0, colour)]
        elif k == "lamp":  # the room's landmark stands beside the window, in the master's view
            b = window[0] + (1 if h("lamp") < 0.5 else -1) * (window[1] / 2 + 5)
            pieces.append(Piece(k, b, _SPANS[k], colour))
        else:
            pieces.append(Piece(k, _free_bearing(pieces, k, h), _SPANS.get(k, 30.0), colour))
    return SetDesign(interior, walls, window, door, train or has_any(d, ("shop", "corridor")),
                     tuple(pieces), room)


_SPANS = {"seat": 40.0, "table": 34.0, "shelf": 36.0, "bed": 50.0, "counter": 60.0, "lamp": 16.0,
          "clock": 10.0, "frame": 18.0, "plant": 12.0, "fireplace": 30.0, "rack": 40.0,
          "bottles": 30.0}
#: Side-wall and far-wall places a piece may take (bearings), in order of preference.
_PLACES = (90.0, 270.0, 62.0, 298.0, 120.0, 240.0, 35.0, 325.0)


def _free_bearing(pieces: list[Piece], kind: str, h: object) -> float:
    taken = {p.bearing for p in pieces}
    start = int(unit(kind, str(h("place"))) * 2)  # type: ignore[operator]
    order = _PLACES[start:] + _PLACES[:start]
    for b in order:
        if b not in taken:
            return b
    return order[0]


def _tone(c: RGB, k: float, hue_shift: float) -> RGB:
    import colorsys

    hh, s, v = colorsys.rgb_to_hsv(*(x / 255 for x in c))
    r, g, b = colorsys.hsv_to_rgb((hh + hue_shift) % 1.0, min(1.0, s * 1.1), min(1.0, v * k))
    return (round(r * 255), round(g * 255), round(b * 255))


__all__ = ["DRESSING", "EXTERIOR_WORDS", "INTERIOR_WORDS", "Piece", "SetDesign", "is_interior",
           "set_design"]
