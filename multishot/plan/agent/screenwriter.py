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

from multishot.plan.agent.base import Contract
from multishot.plan.agent.vocabulary import ATTIRE, display_name
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
FEATHERS = ("bright green feathers", "brown and white feathers", "glossy black feathers")
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


#: Words that, right after a noun, read as the verb of the clause ("musicians … discover",
#: "two sisters inherit"): where a noun phrase ends. Verbs in -s/-ed after a noun are found by form.
VERBS = set((
    "discover discovers inherit find race chase search become fight meet fall fly run return "
    "must choose try learn lose win steal save escape hide wait build plan dream sing dance play "
    "travel walk leave come go get make take give bring carry help teach watch hear see face "
    "follow guard lead deliver cook wake sail drive ride climb cross open fix care love share "
    "uncover rescue protect confront repair restore hunt survive smuggle paint write read rebuild "
    "trade swap sell buy miss remember forget keep bury dig mend feed chase track stalk visit "
    "ask tell answer hold lift push pull break catch throw send receive count sew wash"
    ).split())
PERSON_NOUNS |= set((
    "surgeon porter violinist cellist pianist guitarist drummer grandson granddaughter parrot "
    "eagle forger critic patient owner boss actor actress poet priestess monk sculptor tailor "
    "butcher carpenter plumber smith blacksmith fireman firefighter paramedic veterinarian "
    "caretaker conductor busker vendor mayor senator president emperor empress duchess duke "
    "lord lady servant maid butler nanny coach athlete swimmer skier hacker programmer "
    "soldier general sergeant cadet recruit").split())
PLACE_NOUNS |= set(("flats highlands ward coast mall warehouse alley lane plaza pier dock docks "
                    "bay lagoon dunes steppe prairie plains meadow grove glade marketplace "
                    "tavern pub inn chapel monastery mosque shrine greenhouse observatory "
                    "hangar runway platform terminal corridor hallway ward clinic "
                    "backstage apartment penthouse loft shed cabin hut tent ship").split())


def _wardrobe(name: str) -> str:
    colour = _pick(WARDROBE_COLOURS, "colour", name)
    article = "an" if colour[0] in "aeiou" else "a"
    return f"in {article} {colour} {_pick(WARDROBE, 'garment', name)}, {_pick(HAIR, 'hair', name)}"


def singular(word: str) -> str:
    """musicians → musician, sisters → sister, cliffs → cliff (only to look a word up)."""
    low = word.lower()
    for suffix, repl in (("ies", "y"), ("ves", "f"), ("es", ""), ("s", "")):
        if low.endswith(suffix) and len(low) > len(suffix) + 2 and not low.endswith("ss"):
            base = low[: -len(suffix)] + repl
            if base in PERSON_NOUNS or base in PLACE_NOUNS:
                return base
    return low


def _kind(word: str) -> str | None:
    base = singular(word)
    return "person" if base in PERSON_NOUNS else "place" if base in PLACE_NOUNS else None


def _name(tok: str) -> bool:
    return len(tok) > 1 and tok[0].isupper() and tok[1:].islower() and tok.lower() not in CAPITAL_STOP


def _verbish(tokens: list[str], k: int, object_next: bool = False) -> bool:
    """Whether tokens[k] is the verb after the noun before it ("keeper finds", "Moon records").
    `object_next`: tokens[k] ends the run and a determiner follows it ("alley share one
    umbrella"): a word no list knows, between a noun and its object, reads as the verb."""
    low = tokens[k].lower()
    prev = tokens[k - 1]
    after_noun = _kind(prev) is not None or _name(prev)
    if _name(tokens[k]):
        return False
    if low in VERBS or (after_noun and low.endswith("s") and low[:-1] in VERBS):
        return True   # "two sisters inherit", "a flooded city guards"
    if not after_noun or _kind(low) is not None or _name(tokens[k]):
        return False
    if object_next and k == len(tokens) - 1 and _kind(prev) is not None:
        return True
    return low.endswith("ed") or (low.endswith("s") and not low.endswith(("ss", "us", "is")))


#: Words that open a verb's object ("share *their* umbrella", "hide *him*").
OBJECTS = {"him", "them", "it", "her", "us", "me", "some", "every", "each", "another"}


@dataclass
class _Run:
    start: int             # index of the first word
    words: list[str]       # as written
    before: str            # the word before it ("" at the start), lower case
    article: str | None    # the determiner right before it, if any


def _runs(tokens: list[str]) -> list[_Run]:
    """Maximal runs of content words (no function words, no punctuation), each cut at the
    first word that reads as a verb: the noun phrases of the logline."""
    out: list[_Run] = []
    i = 0
    while i < len(tokens):
        low = tokens[i].lower()
        if low in STOP or low in ARTICLES or not tokens[i][0].isalpha():
            i += 1
            continue
        j = i
        while j < len(tokens) and tokens[j][0].isalpha() and tokens[j].lower() not in STOP | ARTICLES:
            j += 1
        words = tokens[i:j]
        object_next = j < len(tokens) and tokens[j].lower() in ARTICLES | OBJECTS
        cut = next((k for k in range(1, len(words)) if _verbish(words, k, object_next)), len(words))
        before = tokens[i - 1].lower() if i > 0 else ""
        out.append(_Run(i, words[:cut], before, before if before in ARTICLES else None))
        i = j
    return out


def read_logline(logline: str) -> _Reading:
    """Who, where and what a logline names. People are person nouns (a surgeon, musicians, a
    dog) or names; places are place nouns (an alley, a hospital) or names after a place
    preposition (in Tokyo, on Mars) — a name inside a phrase ("a rainy Tokyo alley") is part of
    the phrase, never a character of its own."""
    tokens = _TOKEN.findall(logline)
    lows = [t.lower() for t in tokens]
    people: list[tuple[str, str, str]] = []
    places: list[tuple[str, str]] = []
    taken: set[str] = set()
    time_words = {k for _, keys in TIMES + WEATHERS for k in keys}
    prop = None

    def add_place(pid: str, description: str) -> None:
        pid = character_id(pid)
        if pid not in taken and len(places) < 3:
            taken.add(pid)
            places.append((pid, description))

    def add_person(cid: str, name: str, description: str) -> None:
        cid = character_id(cid)
        if cid not in taken and len(people) < 3:
            taken.add(cid)
            people.append((cid, name, description))

    runs = _runs(tokens)
    skip: set[int] = set()
    implied: list[tuple[str, str]] = []
    for n, run in enumerate(runs):
        if n in skip or not run.words:
            continue
        head = run.words[-1]
        low_words = [w.lower() for w in run.words]
        phrase = " ".join(([run.article] if run.article else []) + low_words)
        written = " ".join(([run.article] if run.article else []) + [w if _name(w) else w.lower() for w in run.words])
        after_place_prep = run.before in PLACE_PREPS or run.before == "of"
        kind = _kind(head)
        end = run.start + len(run.words)
        if kind == "person":
            # "a lighthouse keeper": the place the person's noun names, if the logline names no other
            implied.extend((singular(w), f"the {w.lower()}, {_pick(PLACE_LOOKS, 'place', w.lower())}")
                           for w in run.words[:-1] if _kind(w) == "place")
            # "Detective Ruiz": a title and a name; the name is the character
            names = [w for w in run.words if _name(w) and _kind(w) is None]
            if names and _kind(run.words[0]) == "person":
                add_person(names[-1], names[-1], f"{names[-1]}, a {run.words[0].lower()}")
                continue
            base = singular(head)
            dress = next((k for k in range(end + 1, min(end + 6, len(lows))) if lows[k] in ATTIRE), None)
            if end < len(lows) and lows[end] in ("in", "wearing", "with") and dress is not None:
                description = " ".join([phrase] + lows[end:dress + 1])
                skip.update(m for m, r in enumerate(runs) if end < r.start <= dress)
            elif base in ANIMALS or base in ("parrot", "eagle"):
                description = f"{phrase} with {_pick(FUR if base in ANIMALS else FEATHERS, 'fur', head)}"
            else:
                description = f"{phrase}, {_wardrobe(base)}"
            if run.article in ("two", "both") and base != head.lower() and not description.startswith(phrase + " in"):
                # "two rival street musicians": two characters, dressed apart, so the director
                # can cut between them (shot / reverse-shot) — not one body called `musicians`
                kind_words = " ".join(low_words[:-1] + [base])
                for order in ("first", "second"):
                    cid = f"{order}_{base}"
                    add_person(cid, f"the {order} {base}",
                               f"one of {phrase}, {_wardrobe(cid)}" if base not in ANIMALS else
                               f"a {kind_words} with {_pick(FUR, 'fur', cid)}")
                continue
            add_person(head.lower(), f"the {' '.join(low_words)}", description)
        elif kind == "place":
            add_place(singular(head), f"{written}, {_pick(PLACE_LOOKS, 'place', phrase)}")
        elif _name(head):
            if run.before == "of" and places and n > 0 and _kind(runs[n - 1].words[-1]) == "place":
                pid, description = places[-1]   # "the streets of Rome": one place
                where, look = description.split(", ", 1)
                places[-1] = (pid, f"{where} of {head}, {look}")
                continue
            if after_place_prep:   # "in Lisbon", "through snowy Oslo"
                add_place(head, f"{written}, {_pick(PLACE_LOOKS, 'place', head)}")
                continue
            titles = [w.lower() for w in run.words[:-1] if _kind(w) == "person"]
            if titles:   # "Detective Ruiz"
                add_person(head, head, f"{head}, a {' '.join(titles)}, {_wardrobe(character_id(head))}")
                continue
            # "Aiko, a violinist, …": the appositive describes the name
            nxt = runs[n + 1] if n + 1 < len(runs) else None
            description = ""
            if (nxt is not None and end < len(lows) and lows[end] == "," and nxt.article
                    and nxt.start == end + 2 and _kind(nxt.words[-1]) == "person"):
                description = (f"{head}, {nxt.article} {' '.join(w.lower() for w in nxt.words)}, "
                               f"{_wardrobe(character_id(head))}")
                skip.add(n + 1)
            add_person(head, head, description)
        elif run.article and prop is None and head.lower() not in time_words | ATTIRE and not after_place_prep:
            prop = f"the {' '.join(low_words)}"
        elif after_place_prep and run.article and head.lower() not in time_words | ATTIRE:
            add_place(head.lower(), f"{phrase}, {_pick(PLACE_LOOKS, 'place', phrase)}")
    if not places and implied:
        add_place(*implied[0])
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


TITLE_WORDS = 7


def _title(logline: str, reading: _Reading | None = None) -> str:
    """The logline's first clause when it is short; else the story's object ("The Message"), else
    its place ("A Rainy Tokyo Alley") — never a clause cut off after seven words ("A Lighthouse
    Keeper Finds a Message in")."""
    clause = re.split(r"[,;:.!?—–]| (?:that|who|which|when|while|until|because) ", logline.strip())[0]
    words = clause.split()
    if len(words) > TITLE_WORDS and reading is not None:
        if reading.prop:
            words = reading.prop.split()
        elif reading.places:
            words = reading.places[0][1].split(",")[0].split()
    words = words[:TITLE_WORDS]
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
    return Treatment(title=brief.title or _title(brief.logline, reading),
                     style=brief.style or _pick(STYLES, "style", brief.logline),
                     characters=characters, locations=locations, scenes=scenes, prop=reading.prop,
                     names=names)


def stand_in(kind: str, ident: str) -> str:
    """A plain description the rules can give any character or location id (when a model's
    text for an id the rules did not read is unusable)."""
    words = ident.replace("_", " ").replace("-", " ")
    if kind == "location":
        return f"the {words}, {_pick(PLACE_LOOKS, 'place', words)}"
    return f"{display_name(ident)}, {_wardrobe(ident)}"


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
