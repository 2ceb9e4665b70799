"""Where a shot happens: a location's palette and motifs, tinted by time of day and weather.

Everything here is a pure function of the location description and the scene's time and
weather. The description alone fixes motifs, layout and hues; time and weather only tint, so a
location reads as the same place in every shot: continuity of background is the point of a
previz. (`scenery.py` turns a `Look` into pixels.)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .colours import RGB, colour_of, has_any, hsv, lit, mix, shade
from .seeds import unit
from .set_design import SetDesign, set_design

MOTIF_WORDS: dict[str, tuple[str, ...]] = {
    "sea": ("sea", "ocean", "harbour", "harbor", "bay", "beach", "shore", "coast*", "lake",
            "river", "water", "waves", "pier", "port", "seaside"),
    "cliff": ("cliff*", "basalt", "headland", "crag*", "bluff*", "rocks", "rocky"),
    "forest": ("forest*", "wood", "woods", "woodland", "tree*", "jungle", "grove", "park",
               "orchard", "pine*"),
    "city": ("city", "street*", "town", "alley*", "rooftop*", "building*", "avenue", "downtown",
             "village", "square", "market", "skyline"),
    "desert": ("desert", "dune*", "sand*", "canyon", "mesa", "wasteland"),
    "snow": ("snow*", "ice", "icy", "arctic", "glacier", "tundra", "winter*", "frozen"),
    "mountain": ("mountain*", "hill*", "valley", "peak*", "ridge*", "highland*"),
    "lighthouse": ("lighthouse",),
    "lamp": ("lamp", "lens", "lantern", "candle*", "fireplace", "hearth"),
    "boat": ("boat*", "ship*", "trawler*", "yacht*", "ferry", "ferries", "dinghy", "fishing"),
    "station": ("platform*", "station", "railway*", "rails", "tracks", "train*", "depot"),
}


@dataclass(frozen=True)
class TimeOfDay:
    key: str  # dawn | day | dusk | night
    sky_top: RGB
    sky_horizon: RGB
    light: tuple[float, float, float]  # per-channel multiplier on lit surfaces
    sun: RGB
    sun_height: float  # fraction of picture height above the horizon


TIMES: dict[str, TimeOfDay] = {
    "dawn": TimeOfDay("dawn", (72, 88, 150), (246, 172, 140), (0.95, 0.84, 0.82), (255, 215, 170), 0.07),
    "day": TimeOfDay("day", (66, 128, 210), (188, 215, 240), (1.0, 1.0, 1.0), (255, 250, 225), 0.34),
    "dusk": TimeOfDay("dusk", (46, 44, 100), (236, 128, 72), (0.82, 0.64, 0.62), (255, 170, 90), 0.05),
    "night": TimeOfDay("night", (8, 10, 30), (30, 40, 78), (0.34, 0.38, 0.55), (232, 232, 215), 0.26),
}
_TIME_WORDS = {
    "dawn": ("dawn", "sunrise", "daybreak", "morning*", "first"),
    "dusk": ("dusk", "sunset", "evening", "twilight", "golden", "gloaming", "late"),
    "night": ("night*", "midnight", "dark", "moonlight*", "moonlit", "nocturnal"),
    "day": ("day*", "noon", "midday", "afternoon", "sunny", "bright", "daylight"),
}


def time_of_day(text: str | None) -> TimeOfDay:
    """dawn/day/dusk/night, or free text read by keywords ("late evening" -> dusk); text with no
    keyword maps to one of the four by hash, so it is still stable."""
    t = (text or "day").strip().lower()
    if t in TIMES:
        return TIMES[t]
    for key in ("night", "dusk", "dawn", "day"):
        if has_any(t, _TIME_WORDS[key]):
            return TIMES[key]
    return TIMES[("dawn", "day", "dusk", "night")[int(unit("time", t) * 4)]]


@dataclass(frozen=True)
class Weather:
    rain: float = 0.0  # 0 none, 1 rain, 1.6 storm
    snow: float = 0.0
    fog: float = 0.0
    overcast: float = 0.0
    wind: float = 0.0


def parse_weather(text: str | None) -> Weather:
    """Weather from free text: rain/storm/drizzle -> streaks, fog/mist -> haze, snow -> flakes."""
    t = (text or "").lower()
    if not t.strip():
        return Weather()
    storm = has_any(t, ("storm*", "thunder*", "downpour", "torrential", "gale*", "lightning"))
    rain = 1.6 if storm else (0.5 if has_any(t, ("drizzle*", "light", "shower*")) and
                              has_any(t, ("drizzle*", "rain*", "shower*")) else
                              1.0 if has_any(t, ("rain*", "wet", "shower*", "monsoon")) else 0.0)
    snow = 1.0 if has_any(t, ("snow*", "blizzard", "sleet", "flurr*")) else 0.0
    if snow and storm:
        rain = 0.0
    fog = 1.0 if has_any(t, ("fog*", "mist*", "haz*", "smog")) else 0.0
    overcast = 1.0 if (rain or snow or storm or has_any(t, ("cloud*", "overcast", "grey", "gray",
                                                              "gloom*"))) else 0.0
    wind = 1.0 if (storm or has_any(t, ("wind*", "gust*", "blow*"))) else 0.0
    return Weather(rain, snow, fog, overcast, wind)


@dataclass(frozen=True)
class Look:
    """The resolved look of one location at one time and weather."""

    key: str
    interior: bool
    motifs: frozenset[str]
    eye_horizon: float  # horizon (or floor line indoors) as a fraction of picture height
    time: TimeOfDay
    weather: Weather
    sky_top: RGB
    sky_horizon: RGB
    ground_far: RGB
    ground_near: RGB
    water: RGB
    rock: RGB
    foliage: RGB
    building: RGB
    wall: RGB
    floor: RGB
    accent: RGB
    fog_colour: RGB
    side: int  # which side a headland / big feature sits on (-1 left, +1 right)
    light: tuple[float, float, float] = (1.0, 1.0, 1.0)  # what lit surfaces are multiplied by
    set: SetDesign | None = None  # the set (walls, window, door, dressing) of an interior


def _grey_of(c: RGB) -> RGB:
    y = round(0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2])
    return (y, y, y)


@functools.lru_cache(maxsize=256)
def location_look(description: str, time: str | None, weather: str | None, scene_id: str = "") -> Look:
    """Resolve palette and motifs. The description alone fixes layout and hues; time and weather
    only tint, so one location reads as the same place at dawn and in the rain."""
    d = description.strip() or "an open place"
    h = lambda *p: unit("location", d, *p)  # noqa: E731 - a local shorthand reads better here
    motifs = frozenset(m for m, words in MOTIF_WORDS.items() if has_any(d, words))
    design = set_design(d, scene_id)
    interior = design.interior
    tod, wx = time_of_day(time), parse_weather(weather)
    light = tod.light
    if interior:  # lamps inside soften the time of day
        light = tuple(0.45 * a + 0.55 * b for a, b in zip(light, (1.0, 0.93, 0.82)))  # type: ignore[assignment]
    if wx.overcast:
        light = tuple(k * (1 - 0.18 * wx.overcast) for k in light)  # type: ignore[assignment]

    sky_top, sky_hor = tod.sky_top, tod.sky_horizon
    if wx.overcast:
        sky_top = shade(mix(sky_top, _grey_of(sky_top), 0.7), 0.85)
        sky_hor = shade(mix(sky_hor, _grey_of(sky_hor), 0.7), 0.9)

    water = colour_of(d, ("sea", "ocean", "water", "lake", "river", "bay", "waves", "harbour",
                          "harbor")) or hsv(0.53 + 0.06 * h("w"), 0.35, 0.55)
    rock = colour_of(d, ("cliff", "cliffs", "rock", "rocks", "basalt", "stone", "granite", "crags",
                         "headland")) or hsv(h("r"), 0.08, 0.36)
    foliage = colour_of(d, ("trees", "tree", "forest", "leaves", "pines", "woods", "grass",
                            "hills")) or hsv(0.24 + 0.12 * h("f"), 0.5, 0.42)
    building = colour_of(d, ("buildings", "houses", "towers", "brick", "building", "walls",
                             "tenements")) or hsv(h("b"), 0.12, 0.5)
    if "snow" in motifs:
        ground = (232, 236, 242)
    elif "desert" in motifs:
        ground = hsv(0.09 + 0.03 * h("g"), 0.45, 0.84)
    elif "city" in motifs:
        ground = hsv(h("g"), 0.04, 0.38)
    elif "cliff" in motifs:
        ground = mix(rock, foliage, 0.45)
    elif "forest" in motifs:
        ground = mix(foliage, (90, 64, 40), 0.45)
    elif "sea" in motifs:
        ground = hsv(0.1 + 0.03 * h("g"), 0.25, 0.78)
    else:
        ground = hsv(0.18 + 0.14 * h("g"), 0.42, 0.55)
    ground = colour_of(d, ("ground", "sand", "grass", "field", "road", "street", "earth", "mud",
                           "meadow", "plain", "soil")) or ground
    wall = colour_of(d, ("wall", "walls", "wallpaper", "paint", "panels", "tiles", "room")) \
        or hsv(h("wall"), 0.22, 0.66)
    floor = colour_of(d, ("floor", "floorboards", "carpet", "rug", "boards", "planks")) \
        or hsv(0.07 + 0.03 * h("fl"), 0.45, 0.45)
    accent = colour_of(d, ("lens", "lamp", "lantern", "door", "boat", "sign", "neon", "light",
                           "candle")) or hsv(h("a"), 0.6, 0.85)
    fog = mix(sky_hor, (176, 180, 186), 0.55)
    return Look(
        key=d, interior=interior, motifs=motifs,
        eye_horizon=(0.56 + 0.1 * h("hz")) if interior else (0.36 + 0.14 * h("hz")),
        time=tod, weather=wx, sky_top=sky_top, sky_horizon=sky_hor,
        ground_far=lit(mix(ground, sky_hor, 0.25), light), ground_near=lit(shade(ground, 0.85), light),
        water=lit(water, light), rock=lit(rock, light), foliage=lit(foliage, light),
        building=lit(building, light), wall=lit(wall, light), floor=lit(floor, light),
        accent=accent, fog_colour=fog, side=-1 if h("side") < 0.5 else 1, light=light,
        set=design if interior else None,
    )
