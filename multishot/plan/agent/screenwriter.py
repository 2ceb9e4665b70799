"""The screenwriter: a logline becomes beats, and beats become scenes (the treatment).

Contract: Brief → Treatment. A treatment names the cast (id → description), the places
(id → description), and the scenes in order, each with its beat (what happens), time of day,
cast, shot budget and seconds. The rule-based screenwriter here reads the logline the way a
story editor skims one — who (names or "a/an/the <person>"), where ("in/at/on the <place>"),
when (night, dawn…), what (the object: "a letter") — and lays the story on the classical act
structure (setup → turn → climax → resolution) scaled to the number of scenes. It is a pure
function of the brief: the same logline always gives the same treatment.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from pydantic import Field

from multishot.plan.agent.base import Contract, display_name
from multishot.plan.agent.critic import ATTIRE
from multishot.plan.film_plan import slugify
from multishot.shotlist.schema import Film, Format, Id

MIN_SHOT_SECONDS = 0.5
MAX_SHOTS = 60


@dataclass(frozen=True)
class Brief:
    """What `multishot direct` was asked for. `characters`: (name, description) pairs as the
    user typed them; an empty description is invented (visibly: colour + garment)."""

    logline: str
    characters: tuple[tuple[str, str], ...] = ()
    shots: int = 8
    duration: float | None = None
    title: str | None = None
    style: str | None = None
    resolution: str | None = None
    fps: int | None = None
    seed: int | None = None

    @property
    def seconds(self) -> float:
        """The film's duration budget (default: three seconds a shot)."""
        return float(self.duration) if self.duration is not None else 3.0 * self.shots

    def problems(self) -> list[str]:
        out = []
        if not self.logline.strip():
            out.append("the logline is empty")
        if not 1 <= self.shots <= MAX_SHOTS:
            out.append(f"--shots must be between 1 and {MAX_SHOTS}")
        elif self.seconds / self.shots < MIN_SHOT_SECONDS:
            out.append(f"{self.seconds:g}s for {self.shots} shots leaves under {MIN_SHOT_SECONDS}s a shot")
        if self.resolution is not None:
            try:
                Format(resolution=self.resolution)
            except ValueError:
                out.append(f"--resolution `{self.resolution}`: expected WIDTHxHEIGHT with even numbers, e.g. 832x480")
        ids = [character_id(name) for name, _ in self.characters]
        for cid in {c for c in ids if ids.count(c) > 1}:
            out.append(f"character `{cid}` is given twice")
        return out


class SceneBeat(Contract):
    id: Id
    location: Id
    time: str | None = None
    weather: str | None = None
    beat: str = Field(min_length=1, description="what happens in the scene, one sentence")
    characters: list[Id] = Field(default_factory=list)
    shots: int = Field(ge=1, le=MAX_SHOTS)
    duration: float = Field(gt=0)


class Treatment(Contract):
    title: str = Field(min_length=1)
    style: str | None = None
    characters: dict[Id, str] = Field(default_factory=dict)
    locations: dict[Id, str] = Field(min_length=1)
    scenes: list[SceneBeat] = Field(min_length=1)
    #: Optional object of the story ("the letter"), for detail shots.
    prop: str | None = None
    #: Optional: how actions name a character ("the old keeper"); default: the id as a name.
    names: dict[Id, str] = Field(default_factory=dict)


def treatment_problems(t: Treatment, brief: Brief | None) -> list[str]:
    """What the schema cannot see: references resolve, ids are unique, shots add up."""
    out = []
    ids = [s.id for s in t.scenes]
    for sid in sorted({s for s in ids if ids.count(s) > 1}):
        out.append(f"scenes: scene id `{sid}` is used twice")
    for i, scene in enumerate(t.scenes):
        if scene.location not in t.locations:
            out.append(f"scenes[{i}].location: unknown location `{scene.location}`; defined: {', '.join(t.locations)}")
        for cid in scene.characters:
            if cid not in t.characters:
                out.append(f"scenes[{i}].characters: unknown character `{cid}`; defined: {', '.join(t.characters) or 'none'}")
    if brief is not None:
        total = sum(s.shots for s in t.scenes)
        if total != brief.shots:
            out.append(f"scenes: the shots of all scenes must add up to {brief.shots}, not {total}")
        for name, _ in brief.characters:
            if character_id(name) not in t.characters:
                out.append(f"characters: the given character `{character_id(name)}` is missing")
    return out


def character_id(name: str) -> str:
    return slugify(name).replace("-", "_")[:40] or "lead"


# -- reading a logline ---------------------------------------------------------------------------

ARTICLES = {"a", "an", "the", "his", "her", "their", "its", "my", "our", "your", "one", "two", "three"}
STOP = {
    "in", "on", "at", "to", "from", "with", "by", "for", "of", "and", "or", "but", "who", "that",
    "which", "when", "while", "as", "after", "before", "into", "through", "across", "over", "under",
    "about", "is", "are", "was", "were", "has", "have", "had", "will", "would", "can", "must",
    "must", "be", "been", "not", "no", "than", "then", "until", "where", "whose", "if", "so",
    "he", "she", "they", "it", "we", "i", "you", "him", "them", "this", "these", "those", "every",
    "near", "beneath", "inside", "along", "around", "beyond", "toward", "towards", "within",
    "between", "up", "down", "out", "off", "only", "just", "very", "also", "finally", "never",
}
PERSON_NOUNS = set((
    "woman man girl boy child kid baby mother father mom dad daughter son sister brother sisters "
    "brothers twins friend friends stranger keeper courier robot android detective soldier king "
    "queen prince princess witch wizard knight pilot sailor captain doctor nurse teacher student "
    "farmer thief dog cat fox wolf bear bird owl horse dragon ghost monster alien astronaut "
    "scientist artist painter musician dancer singer writer poet chef baker fisherman fisher "
    "hunter widow widower orphan grandmother grandfather grandma grandpa teenager boxer runner "
    "cyclist driver mechanic inventor engineer priest nun monk guard officer cop lawyer judge "
    "spy assassin warrior hero heroine villain lover couple neighbour neighbor janitor clerk "
    "waitress waiter librarian archivist gardener shepherd beekeeper miner sheriff outlaw "
    "cowboy mermaid giant dwarf elf vampire zombie puppet doll toy clown magician photographer "
    "journalist reporter explorer traveller traveler wanderer refugee immigrant nomad hermit "
    "diver surfer skater climber ranger pirate smuggler bride groom ballerina lighthousekeeper").split())
PLACE_NOUNS = set((
    "sea ocean coast beach shore island harbour harbor port city town village street road alley "
    "square market station train ship boat lighthouse tower castle palace house home apartment "
    "flat room kitchen attic basement cellar garden park forest woods wood jungle desert mountain "
    "mountains hill hills valley river lake pond field fields farm school hospital office factory "
    "library church temple cathedral bar cafe diner restaurant shop store hotel motel prison "
    "moon mars planet spaceship cave bridge rooftop roof subway metro airport museum theatre "
    "theater stage arena camp ruins cliff cliffs tundra glacier swamp marsh canyon highway "
    "countryside suburb suburbs laboratory lab studio workshop garage barn mill bakery mine "
    "orchard vineyard cemetery graveyard court courtroom ballroom classroom gym pool stadium "
    "wasteland jungle reef sky clouds orbit").split())
PLACE_PREPS = {"in", "at", "on", "across", "through", "into", "inside", "near", "beneath", "under",
               "above", "over", "along", "around", "beyond", "toward", "towards", "to", "from",
               "within", "between", "outside", "underneath"}
CAPITAL_STOP = ARTICLES | STOP | {
    "when", "after", "before", "during", "once", "every", "some", "nobody", "everyone", "everything",
    "someone", "something", "there", "here", "now", "today", "tonight", "years", "later", "meanwhile",
    "what", "why", "how", "all", "both", "each", "another", "other", "new", "old", "last", "first"}
TIMES = (("night", ("night", "midnight", "moonlit", "moonlight", "nocturnal", "dark")),
         ("dawn", ("dawn", "sunrise", "daybreak", "morning")),
         ("dusk", ("dusk", "sunset", "twilight", "evening")),
         ("day", ("day", "noon", "afternoon", "daylight", "midday")))
TIME_ORDER = ("dawn", "day", "dusk", "night")
WEATHERS = (("storm", ("storm", "stormy", "thunder", "lightning", "hurricane", "gale")),
            ("rain", ("rain", "rainy", "raining", "drizzle", "downpour")),
            ("snow", ("snow", "snowy", "snowing", "blizzard", "winter")),
            ("fog", ("fog", "foggy", "mist", "misty", "haze")),
            ("wind", ("wind", "windy")))
WARDROBE_COLOURS = ("yellow", "red", "green", "blue", "orange", "purple", "teal", "grey", "white", "brown")
WARDROBE = ("raincoat", "knit sweater", "wool coat", "cycling jacket", "long cloak", "work jacket",
            "hooded parka", "cardigan")
HAIR = ("short black hair", "a silver braid", "curly red hair", "a shaved head", "long brown hair",
        "a grey beard", "blond hair in a bun", "dark curls")
PLACE_LOOKS = ("weathered grey stone under a pale sky", "warm wood and amber lamplight",
               "cold concrete and blue shadows", "green hedges and white walls",
               "rust-red brick and wet cobbles", "sand-coloured walls and long shadows")
DEFAULT_PLACES = (("street", "a quiet street at the edge of town, grey cobbles"),
                  ("kitchen", "a small kitchen with yellow walls"),
                  ("field", "an open field under a wide blue sky"),
                  ("harbour", "a narrow harbour with blue boats"))
ANIMALS = {"dog", "cat", "fox", "wolf", "bear", "bird", "owl", "horse", "dragon", "monster"}
FUR = ("thick grey fur", "russet fur and a white chest", "glossy black fur", "sand-coloured fur",
       "white fur flecked with brown")
STYLES = ("35mm film, muted teal and amber palette, soft grain",
          "hand-drawn storyboard look, ink lines, flat colours",
          "16mm documentary look, natural light, warm grain",
          "clean digital cinema, cool blue palette, shallow depth of field")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’-]*|[.,;:!?]")


def _pick(options: tuple[str, ...], *key: object) -> str:
    """A deterministic choice: sha256 of the key, never Python's salted hash()."""
    digest = hashlib.sha256(":".join(str(k) for k in key).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


@dataclass
class _Reading:
    people: list[tuple[str, str, str]]       # (id, name in actions, description)
    places: list[tuple[str, str]]            # (id, description)
    prop: str | None
    time: str | None
    weather: str | None


def _phrases(tokens: list[str]) -> list[tuple[int, list[str]]]:
    """(start index, words) of "article + up to four words" noun phrases; a phrase stops at a
    function word, punctuation, or a word that reads as a verb ("gets", "races")."""
    out = []
    for i, tok in enumerate(tokens):
        if tok.lower() not in ARTICLES:
            continue
        words: list[str] = []
        for nxt in tokens[i + 1:i + 5]:
            low = nxt.lower()
            verbish = (len(words) > 0 and low.endswith("s") and not low.endswith(("ss", "us", "is"))
                       and low not in PERSON_NOUNS | PLACE_NOUNS)
            if low in STOP or low in ARTICLES or not nxt[0].isalpha() or verbish:
                break
            words.append(low)
        if words:
            out.append((i, words))
    return out


def _wardrobe(name: str) -> str:
    colour = _pick(WARDROBE_COLOURS, "colour", name)
    article = "an" if colour[0] in "aeiou" else "a"
    return f"in {article} {colour} {_pick(WARDROBE, 'garment', name)}, {_pick(HAIR, 'hair', name)}"


def read_logline(logline: str) -> _Reading:
    tokens = _TOKEN.findall(logline)
    lows = [t.lower() for t in tokens]
    people: list[tuple[str, str, str]] = []
    places: list[tuple[str, str]] = []
    taken: set[str] = set()

    def add_place(pid: str, description: str) -> None:
        pid = character_id(pid)
        if pid not in taken and len(places) < 3:
            taken.add(pid)
            places.append((pid, description))

    # Names: capitalised words that are not function words; after a place preposition, a place.
    for i, tok in enumerate(tokens):
        if not (tok[0].isupper() and tok[1:].islower() and len(tok) > 1) or tok.lower() in CAPITAL_STOP:
            continue
        if i > 0 and lows[i - 1] in PLACE_PREPS | {"the"}:
            add_place(tok, f"{tok}, {_pick(PLACE_LOOKS, 'place', tok)}")
            continue
        cid = character_id(tok)
        if cid not in taken and len(people) < 3 and tok.lower() not in PLACE_NOUNS:
            taken.add(cid)
            people.append((cid, tok, ""))

    phrases = _phrases(tokens)
    prop = None
    worn: set[int] = set()   # phrases that dress a character ("in a red coat"), not places
    time_words = {k for _, keys in TIMES + WEATHERS for k in keys}
    for start, words in phrases:
        head = words[-1]
        phrase = " ".join([lows[start]] + words)
        after_prep = start > 0 and lows[start - 1] in PLACE_PREPS
        if start in worn:
            continue
        if head in PLACE_NOUNS or (after_prep and head not in PERSON_NOUNS and head not in ATTIRE):
            add_place(head, f"{phrase}, {_pick(PLACE_LOOKS, 'place', phrase)}")
        elif head in PERSON_NOUNS or (start == 0 and not people):
            cid = character_id(head)
            if cid in taken or len(people) >= 3:
                continue
            taken.add(cid)
            # keep "in a red coat" when the logline dresses the character itself
            end = start + 1 + len(words)
            dress = next((k for k in range(end + 1, min(end + 5, len(lows))) if lows[k] in ATTIRE), None)
            if end < len(lows) and lows[end] in ("in", "wearing", "with") and dress is not None:
                description = " ".join([phrase] + lows[end:dress + 1])
                worn.add(end + 1)
            elif head in ANIMALS:
                description = f"{phrase} with {_pick(FUR, 'fur', head)}"
            else:
                description = f"{phrase}, {_wardrobe(head)}"
            people.append((cid, f"the {' '.join(words)}", description))
        elif prop is None and head not in PERSON_NOUNS and head not in time_words and head not in ATTIRE:
            prop = f"the {' '.join(words)}"
    if not places:
        for word in lows:
            if word in PLACE_NOUNS:
                add_place(word, f"a {word}, {_pick(PLACE_LOOKS, 'place', word)}")
                break
    time = next((t for t, keys in TIMES if any(k in lows for k in keys)), None)
    weather = next((w for w, keys in WEATHERS if any(k in lows for k in keys)), None)
    return _Reading(people, places, prop, time, weather)


# -- the rule-based screenwriter -----------------------------------------------------------------

ACTS = {1: ("whole",), 2: ("setup", "resolution"), 3: ("setup", "turn", "resolution"),
        4: ("setup", "turn", "climax", "resolution"),
        5: ("setup", "inciting", "turn", "climax", "resolution")}
ACT_NAMES = {"whole": "story", "setup": "setup", "inciting": "inciting", "turn": "turn",
             "climax": "climax", "resolution": "ending"}


def scene_count(shots: int) -> int:
    """Enough scenes for a story shape, never fewer than two shots a scene where possible."""
    return 1 if shots <= 3 else 2 if shots <= 6 else 3 if shots <= 11 else 4 if shots <= 18 else 5


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` into `parts` integers, the remainder going to the later (longer-story) parts."""
    base, extra = divmod(total, parts)
    return [base + (1 if i >= parts - extra else 0) for i in range(parts)]


def _title(logline: str) -> str:
    clause = re.split(r"[,;:.!?—–]| (?:that|who|which|when|while|until|because) ", logline.strip())[0]
    words = clause.split()[:7]
    small = {"a", "an", "the", "of", "to", "in", "on", "at", "and", "or", "for", "with", "by"}
    title = " ".join(w if (i and w.lower() in small) else w[:1].upper() + w[1:] for i, w in enumerate(words))
    return title.strip() or "Untitled"


def _clause(logline: str) -> str:
    """The logline as a clause to continue a sentence ("An old keeper…" → "an old keeper…");
    a name stays capitalised."""
    text = " ".join(logline.split()).strip().rstrip(".!?")
    if not text:
        return "something changes"
    first = text.split()[0]
    return text[:1].lower() + text[1:] if first.lower() in CAPITAL_STOP else text


def beat_text(act: str, protagonist: str, logline: str, place: str) -> str:
    what = _clause(logline)
    return {
        "whole": f"{protagonist}: {what}",
        "setup": f"{protagonist} in {place}, before anything changes",
        "inciting": f"it begins: {what}",
        "turn": f"{protagonist} is pulled in: {what}",
        "climax": f"{protagonist} faces the moment of decision",
        "resolution": f"{protagonist} after it is over; the world has changed",
    }[act]


def write(brief: Brief) -> Treatment:
    """The rule-based screenwriter (deterministic)."""
    reading = read_logline(brief.logline)
    characters: dict[str, str] = {}
    names: dict[str, str] = {}
    for name, description in brief.characters:
        cid = character_id(name)
        name = " ".join(name.split()) or display_name(cid)
        characters[cid] = description.strip() or f"{name}, {_wardrobe(cid)}"
        names[cid] = name
    if not characters:
        for cid, name, description in reading.people:
            characters[cid] = description or f"{name}, {_wardrobe(cid)}"
            names[cid] = name
    if not characters:
        characters["lead"] = f"a lone traveller {_wardrobe(brief.logline)}"
        names["lead"] = "the traveller"
    places = reading.places or [DEFAULT_PLACES[int(hashlib.sha256(brief.logline.encode()).digest()[0])
                                                % len(DEFAULT_PLACES)]]
    locations = dict(places)
    n = min(scene_count(brief.shots), brief.shots)
    acts = ACTS[n]
    shot_counts = split_evenly(brief.shots, n)
    cast = list(characters)
    start = TIME_ORDER.index(reading.time) if reading.time else 1
    span = min(2, len(TIME_ORDER) - 1 - start)
    scenes = []
    for i, act in enumerate(acts):
        pid, place = places[i % len(places)]
        in_scene = cast if (n < 3 or i > 0) else cast[:1]
        protagonist = names[cast[0]]
        step = round(i * span / (n - 1)) if n > 1 else 0
        scenes.append(SceneBeat(
            id=f"{i + 1:02d}-{ACT_NAMES[act]}", location=pid, time=TIME_ORDER[start + step],
            weather=reading.weather, beat=beat_text(act, protagonist, brief.logline, place.split(",")[0]),
            characters=in_scene, shots=shot_counts[i],
            duration=round(brief.seconds * shot_counts[i] / brief.shots, 3)))
    return Treatment(title=brief.title or _title(brief.logline),
                     style=brief.style or _pick(STYLES, "style", brief.logline),
                     characters=characters, locations=locations, scenes=scenes, prop=reading.prop,
                     names=names)


def names_of(treatment: Treatment) -> dict[str, str]:
    """How actions refer to each character: the treatment's name, else the id as a name."""
    return {cid: treatment.names.get(cid) or display_name(cid) for cid in treatment.characters}


def treatment_from_film(film: Film) -> Treatment:
    """A hand-written shot list read back as the screenwriter's treatment (for the roles that
    revise an existing film)."""
    scenes = []
    for scene in film.scenes:
        cast: list[str] = []
        for shot in scene.shots:
            cast += [c for c in shot.characters if c not in cast]
        beat = next((s.action for s in scene.shots if s.action.strip()), "") or scene.id
        scenes.append(SceneBeat(id=scene.id, location=scene.location, time=scene.time,
                                weather=scene.weather, beat=beat, characters=cast,
                                shots=len(scene.shots), duration=sum(s.duration for s in scene.shots)))
    return Treatment(title=film.title, style=film.style,
                     characters={cid: c.description for cid, c in film.characters.items()},
                     locations={lid: loc.description for lid, loc in film.locations.items()},
                     scenes=scenes)
