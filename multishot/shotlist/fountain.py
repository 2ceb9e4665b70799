"""Fountain screenplays (https://fountain.io/syntax) → shot lists.

Writers draft in Fountain, the plain-text screenplay format; `multishot import` turns one into a
shot list that renders as it is and is meant to be edited: scene headings become scenes and
locations (with time of day), character cues become characters, action paragraphs become shots,
dialogue becomes dialogue shots and `CUT TO:` / `DISSOLVE TO:` become transitions.

The parser is our own. Of the Fountain parsers on PyPI, `fountain` (2016) and `jouvence` (2020)
are unmaintained, `screenplain` keeps its parser as an internal of a PDF/HTML renderer, and the
rest are weeks-old 0.x packages; the syntax is small enough to implement carefully here, with
the spec's own cases as tests (tests/test_fountain.py). It covers: title page; scene headings
(INT/EXT/EST/INT./EXT/INT/EXT/I/E, forced `.`, scene numbers `#1A#`); action (forced `!`,
line breaks, indentation); characters (forced `@`, extensions `(V.O.)`, dual dialogue `^`);
dialogue with parentheticals, lyrics `~` and two-space blank lines; transitions (`… TO:`,
forced `>`); centered text `> … <`; page breaks `===`; sections `#`; synopses `=`; notes
`[[ ]]` and boneyard `/* */` (both removed, notes kept aside); emphasis markup (removed from the
text that goes into prompts).

From screenplay to shots (`screenplay_to_data`), rules a user can predict:
* one action paragraph is one shot; a paragraph whose estimated screen time exceeds the 6 s
  ceiling is split at sentence ends;
* one dialogue block is one shot per ~6 s of speech; dual dialogue is one two-shot;
* durations: action 2 s + 1 s per 4 words, dialogue 1 s + 1 s per 2.5 words (a common speech
  rate), clamped to 2–6 s and rounded to 0.5 s;
* sizes: the first shot of a scene is wide; later action shots are wide with nobody in them,
  medium with one character, full with several; a character's first line in a scene is medium,
  their later lines close; dual dialogue is a medium two-shot;
* off-screen speakers (V.O., O.S., O.C.) are heard, not shown;
* a character's description is taken from their first appearance in action (the Fountain habit
  of introducing a character in CAPS with a few words about them), else their name.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from anyascii import anyascii

from multishot.shotlist.errors import Problem, ShotListError, printable
from multishot.shotlist.loader import parse_film
from multishot.shotlist.schema import Film
from multishot.shotlist.writer import data_to_yaml
from multishot.shotlist.screenplay_text import (NameIndex, caps_runs, plain_text, recase, slug,
                                                strip_boneyard, strip_notes, title_word, tokens)

# --------------------------------------------------------------------------------------------
# Parsing: text → elements
# --------------------------------------------------------------------------------------------

Kind = str  # scene_heading | action | character | dialogue | parenthetical | lyrics | transition
#             | centered | page_break | section | synopsis

_SENTINEL = "\x00"
#: Scene heading prefixes (the spec's INT, EXT, EST, INT./EXT, INT/EXT, I/E, and I./E. as the
#: reference parser's own tests write it).
_HEADING = re.compile(r"^(?:int\.?/ext|i\.?/e|int|ext|est)[. ]", re.I)
_SCENE_NUMBER = re.compile(r"#([\w.\-]+)#")
_PAGE_BREAK = re.compile(r"^\s*={3,}\s*$")
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z ]*?):\s*(.*)$")
_TITLE_KEYS = {"title", "credit", "author", "authors", "source", "draft date", "date", "contact",
               "copyright", "notes", "revision", "format", "logline"}


@dataclass(frozen=True)
class Element:
    """One screenplay element. `text` keeps Fountain's emphasis markup; `plain()` removes it."""

    kind: Kind
    text: str
    scene_number: str | None = None   # scene headings: `#1A#`
    extension: str | None = None      # characters: `V.O.`, `CONT'D`, …
    dual: bool = False                # characters: `^` (the second speaker of dual dialogue)
    depth: int = 0                    # sections: number of `#`
    forced: bool = False

    def plain(self) -> str:
        return plain_text(self.text)


@dataclass(frozen=True)
class Screenplay:
    title_page: dict[str, str]
    elements: list[Element]
    notes: list[str] = field(default_factory=list)

    def of_kind(self, kind: Kind) -> list[Element]:
        return [e for e in self.elements if e.kind == kind]


def _strip_comments(text: str) -> tuple[str, list[str]]:
    """Remove boneyard and notes. A removed span that leaves its line empty removes the line,
    so a note on its own line inside a dialogue block does not end the block."""
    text, notes = strip_notes(strip_boneyard(text, _SENTINEL), _SENTINEL)
    lines = []
    for line in text.split("\n"):
        if _SENTINEL in line:
            if not line.replace(_SENTINEL, "").strip():
                continue
            line = line.replace(_SENTINEL, "")
        lines.append(line)
    return "\n".join(lines), notes


def _title_page(lines: list[str]) -> tuple[dict[str, str], int]:
    """Key: value pairs at the very start, up to the first blank line; values may continue on
    lines indented by a tab or 3+ spaces. Returns (title page, index of the first body line)."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return {}, 0
    m = _TITLE_KEY.match(lines[first])
    if not m or m.group(1).strip().lower() not in _TITLE_KEYS:
        return {}, 0
    page: dict[str, list[str]] = {}
    key: str | None = None
    i = first
    while i < len(lines) and lines[i].strip():
        line = lines[i]
        m = _TITLE_KEY.match(line)
        if m and not line.startswith((" ", "\t")):
            key = m.group(1).strip().lower()
            page[key] = [m.group(2).strip()] if m.group(2).strip() else []
        elif key is not None and (line.startswith("\t") or line.startswith("   ")):
            page[key].append(line.strip())
        i += 1
    return {k: "\n".join(v) for k, v in page.items()}, i


def _is_blank(line: str | None) -> bool:
    return line is None or not line.strip()


def _character_cue(line: str) -> tuple[str, str | None, bool] | None:
    """(name, extension, dual) if the line reads as a character cue by its letters alone."""
    text = line.strip()
    dual = text.endswith("^")
    if dual:
        text = text[:-1].rstrip()
    forced = text.startswith("@")
    if forced:
        text = text[1:].strip()
    name, extension = text, None
    if "(" in text:  # `NAME (EXT)`: the extension runs from the first `(` to a final `)`
        head, _, rest = text.partition("(")
        if not rest.rstrip().endswith(")"):
            return None
        name, extension = head, rest.rstrip()[:-1]
    name = name.strip()
    if not name or not any(ch.isalpha() for ch in name):
        return None
    if not forced and name != name.upper():
        return None
    return name, (extension.strip() if extension else None), dual


def parse_fountain(text: str) -> Screenplay:
    """Parse Fountain text into its title page and a flat list of elements."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text, notes = _strip_comments(text)
    lines = text.split("\n")
    title_page, start = _title_page(lines)
    lines = lines[start:]
    out: list[Element] = []
    action: list[str] = []

    def flush_action() -> None:
        while action and not action[-1].strip():
            action.pop()
        if action:
            out.append(Element("action", "\n".join(action)))
        action.clear()

    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        prev = lines[i - 1] if i > 0 else None
        nxt = lines[i + 1] if i + 1 < n else None
        stripped = line.strip()
        before_blank = _is_blank(prev) and not action

        if not stripped:
            if action and len(line) >= 2 and nxt is not None and nxt.strip():
                action.append("")  # two spaces: a blank line inside the paragraph
            else:
                flush_action()
            i += 1
            continue
        if line.startswith("!"):
            action.append(line[1:])
            i += 1
            continue
        if _PAGE_BREAK.match(line):
            flush_action()
            out.append(Element("page_break", ""))
            i += 1
            continue
        if stripped.startswith("#"):
            flush_action()
            depth = len(stripped) - len(stripped.lstrip("#"))
            out.append(Element("section", stripped[depth:].strip(), depth=depth))
            i += 1
            continue
        if stripped.startswith("="):
            flush_action()
            out.append(Element("synopsis", stripped[1:].strip()))
            i += 1
            continue
        if stripped.startswith(">") and stripped.endswith("<") and len(stripped) > 1:
            flush_action()
            out.append(Element("centered", stripped[1:-1].strip()))
            i += 1
            continue
        if stripped.startswith(">"):
            flush_action()
            out.append(Element("transition", stripped[1:].strip(), forced=True))
            i += 1
            continue
        if stripped.startswith("~"):
            flush_action()
            out.append(Element("lyrics", stripped[1:].strip()))
            i += 1
            continue
        forced_heading = line.startswith(".") and len(line) > 1 and line[1].isalnum()
        if before_blank and (forced_heading or (_HEADING.match(stripped) and _is_blank(nxt))):
            flush_action()
            heading = (line[1:] if forced_heading else stripped).rstrip()
            number = None
            if heading.endswith("#"):  # a scene number `#1A#` ends the heading
                number = _SCENE_NUMBER.fullmatch(heading, heading.rfind("#", 0, len(heading) - 1))
            if number:
                heading = heading[:number.start()]
            out.append(Element("scene_heading", heading.strip(), forced=forced_heading,
                               scene_number=number.group(1) if number else None))
            i += 1
            continue
        if (before_blank and _is_blank(nxt) and stripped == stripped.upper()
                and stripped.endswith("TO:")):
            flush_action()
            out.append(Element("transition", stripped))
            i += 1
            continue
        cue = _character_cue(line) if before_blank and not _is_blank(nxt) else None
        if cue is not None:
            flush_action()
            name, extension, dual = cue
            out.append(Element("character", name, extension=extension, dual=dual,
                               forced=stripped.startswith("@")))
            i = _dialogue(lines, i + 1, out)
            continue
        action.append(line.rstrip())
        i += 1
    flush_action()
    return Screenplay(title_page, out, notes)


def _dialogue(lines: list[str], i: int, out: list[Element]) -> int:
    """Read a dialogue block after a character cue; return the index after it. A line of two
    spaces is a blank line that keeps the block going."""
    speech: list[str] = []

    def flush() -> None:
        if speech:
            out.append(Element("dialogue", "\n".join(speech).strip("\n")))
        speech.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            if len(line) >= 2 and i + 1 < len(lines) and lines[i + 1].strip():
                speech.append("")
                i += 1
                continue
            break
        if stripped.startswith("(") and stripped.endswith(")"):
            flush()
            out.append(Element("parenthetical", stripped))
        elif stripped.startswith("~"):
            flush()
            out.append(Element("lyrics", stripped[1:].strip()))
        else:
            speech.append(stripped)
        i += 1
    flush()
    return i


# --------------------------------------------------------------------------------------------
# Screenplay → shot-list data
# --------------------------------------------------------------------------------------------

MIN_SHOT_S, MAX_SHOT_S = 2.0, 6.0
WORDS_PER_SECOND_SPEECH = 2.5
WORDS_PER_SECOND_ACTION = 4.0

#: Times of day a heading may name, as the shot list writes them (free text is allowed too).
#: A heading's last part names one anywhere in it (`NIGHT (1973)`, `DAY [LATER]`, `PRE-DAWN`,
#: `THE NEXT MORNING`, `DAY / DRIVING`); so does a last part after a comma (`APARTMENT, DAY`).
TIMES = {"DAY": "day", "NIGHT": "night", "DAWN": "dawn", "DUSK": "dusk", "MORNING": "morning",
         "AFTERNOON": "afternoon", "EVENING": "evening", "SUNSET": "dusk", "SUNRISE": "dawn",
         "NOON": "midday", "MIDDAY": "midday", "MIDNIGHT": "midnight", "TWILIGHT": "dusk",
         "LATE NIGHT": "night", "EARLY MORNING": "dawn", "MAGIC HOUR": "dusk", "PRE-DAWN": "dawn",
         "PREDAWN": "dawn", "DAYBREAK": "dawn", "FIRST LIGHT": "dawn", "NIGHTFALL": "dusk",
         "GOLDEN HOUR": "dusk", "LATE AFTERNOON": "afternoon", "EARLY EVENING": "evening",
         "DAYTIME": "day", "NIGHTTIME": "night", "NIGHT-TIME": "night"}
_TIME_WORD = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(TIMES, key=len, reverse=True))
                        + r")(?![\w-])")
#: Heading words that say "same time as before" (the scene inherits the previous time):
#: CONTINUOUS, LATER, MOMENTS LATER, SAME (TIME), CONTINUED, A BIT LATER, …
_CONTINUITY_WORD = re.compile(r"(?<![\w-])(CONTINUOUS|CONTINUED|LATER|SAME|CONT'D)(?![\w-])")
#: A heading part that is only a note in brackets or a year: `(1979)`, `[THE STORM]`.
_BRACKETED = re.compile(r"(?:\s*(?:\([^()]*\)|\[[^\[\]]*\]))+\s*")
_SETTING = re.compile(r"(int\.?\s*/\s*ext\.?|i\.?\s*/\s*e\.?|int\.?|ext\.?|est\.?)(?=[\s.\-–—]|$)[\s.]*", re.I)
#: Screenplay transitions → shot-list transitions (unknown `… TO:` is a cut). A crossfade is a
#: dissolve (the two pictures overlap), not a fade through black.
TRANSITION_WORDS = (
    ("MATCH CUT", "match-cut"), ("DISSOLVE", "dissolve"), ("CROSSFADE", "dissolve"),
    ("CROSS-FADE", "dissolve"), ("CROSS FADE", "dissolve"), ("FADE TO WHITE", "fade-to-white"),
    ("BURN TO WHITE", "fade-to-white"), ("WHITE", "fade-to-white"), ("FADE", "fade"),
    ("BLACK", "fade"), ("WIPE", "wipe-left"), ("IRIS", "circle-open"), ("CUT", "cut"),
)
OFF_SCREEN = {"V.O.", "VO", "O.S.", "OS", "O.C.", "OC", "OFF", "V.O", "O.S"}
WEATHER = ("thunderstorm", "storm", "rain", "drizzle", "snow", "fog", "mist", "hail", "wind")
_STOP = {"the", "a", "an", "of", "to", "and", "in", "on", "at", "his", "her", "their", "its",
         "is", "are", "with", "into", "from", "for", "as", "by", "it", "he", "she", "they"}


class _Ids:
    """Unique ids within one namespace: `lens`, `lens-2`, …"""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, base: str, fallback: str) -> str:
        base = base or fallback
        candidate, k = base, 2
        while candidate in self.used:
            candidate, k = f"{base}-{k}", k + 1
        self.used.add(candidate)
        return candidate


def _duration(words: int, per_second: float, base: float) -> float | int:
    seconds = round(min(MAX_SHOT_S, max(MIN_SHOT_S, base + words / per_second)) * 2) / 2
    return int(seconds) if seconds.is_integer() else seconds


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def _chunks(text: str, per_second: float, base: float) -> list[str]:
    """Split text at sentence ends into pieces that each fit MAX_SHOT_S."""
    budget = (MAX_SHOT_S - base) * per_second
    pieces: list[str] = []
    current: list[str] = []
    words = 0
    for sentence in _sentences(text):
        n = len(sentence.split())
        if current and words + n > budget:
            pieces.append(" ".join(current))
            current, words = [], 0
        current.append(sentence)
        words += n
    if current:
        pieces.append(" ".join(current))
    return pieces or [text]


def _words(text: str) -> int:
    return len(text.split())


def _read_time(part: str) -> tuple[str | None, bool]:
    """(time of day, continues) named in one heading part, brackets and all."""
    upper = part.upper().replace("[", " ").replace("]", " ").replace("(", " ").replace(")", " ")
    m = _TIME_WORD.search(upper)
    if m:
        return TIMES[m.group(1)], False
    return None, bool(_CONTINUITY_WORD.search(upper))


def parse_heading(heading: str) -> tuple[str, str, str | None, bool]:
    """`INT. LIGHTHOUSE - LAMP ROOM - NIGHT` → ("LIGHTHOUSE - LAMP ROOM", "int", "night", False);
    the last flag says the heading continues the previous scene's time (CONTINUOUS, LATER).
    The time is read from the last part (after ` - `, or after a comma): `NIGHT (1973)`,
    `DAY [LATER]`, `PRE-DAWN`, `SAN FRANCISCO APARTMENT, DAY`, `HOUSE DAY`; trailing notes in
    brackets (`- [THE STORM]`, `(1979)`) are not part of the place."""
    text = " ".join(plain_text(heading).split())
    m = _SETTING.match(text)
    setting = ""
    if m:
        setting = re.sub(r"\s+", "", m.group(1).lower()).rstrip(".")
        text = text[m.end():].lstrip("-–— ")
    parts = [p.strip() for p in re.split(r"\s+[-–—]+\s+|\s+--\s+", text) if p.strip()]
    time: str | None = None
    continues = False
    while len(parts) > 1:
        time, continues = _read_time(parts[-1])
        if time or continues:
            parts.pop()
            break
        if not _BRACKETED.fullmatch(parts[-1]):
            break
        parts.pop()  # a note, not a place
    if parts and not (time or continues):
        head, comma, tail = parts[-1].rpartition(",")
        if comma and head.strip():
            time, continues = _read_time(tail)
            if time or continues:
                parts[-1] = head.strip()
        else:
            words = parts[-1].split()
            if len(words) > 1 and words[-1].upper().rstrip(".") in TIMES:  # `INT HOUSE DAY`
                time, parts[-1] = TIMES[words[-1].upper().rstrip(".")], " ".join(words[:-1])
    location = " - ".join(parts) or text or "somewhere"
    location = re.sub(r" ?\[[^\[\]]*\]", "", location).strip() or location  # `[MID/LATE ‘70’S]`: a note
    return location, setting, time, continues


def _kind(setting: str) -> str:
    """The side of the wall a heading's prefix puts the camera on."""
    if "/" in setting:
        return "interior and exterior"
    return {"int": "interior", "ext": "exterior", "est": "exterior"}.get(setting, "")


_KIND_SUFFIX = {"interior": "int", "exterior": "ext", "interior and exterior": "int-ext"}


def _describe_location(location: str, setting: str) -> str:
    where = ", ".join(p.strip().lower() for p in location.split(" - ") if p.strip())
    kind = _kind(setting)
    return f"{where}, {kind}" if kind else where


def _place_key(location: str) -> str:
    """One place however its heading spells it (case, curly or straight apostrophes)."""
    return " ".join(location.upper().replace("’", "'").split())


def display_name(name: str) -> str:
    """`MARA` → `Mara`, `EDWARD’S` → `Edward’s`; a name written in mixed case (a forced
    `@McCLANE`) stays as written."""
    return " ".join(title_word(w) for w in name.split()) if name == name.upper() else name


def _readable(text: str, names: NameIndex) -> str:
    """Prompt-friendly action: one line, emphasis removed, CAPS re-cased by one rule
    (screenplay_text.recase): names as names, other CAPS lower case, sentences capitalised."""
    return recase(" ".join(plain_text(text).split()), names)


_INTRO_TAIL = re.compile(r"\s*(\([^)]*\))?\s*(,[^,.;:!?]*,)?")


def _introductions(paragraphs: Iterable[str], names: NameIndex) -> dict[str, str]:
    """Each character's introduction in action, in one pass over the script: the first time a
    name is written in CAPS (the screenplay convention for a first appearance), with what
    follows it: `MARA (60s), a keeper in a yellow oilskin, climbs …` → `Mara (60s), a keeper in
    a yellow oilskin`; without an appositive or parenthetical, the sentence it is in. Up to two
    more CAPS words next to the name are part of it (`DICK STEEL` for the cue `STEEL`), except
    in a paragraph all in CAPS (`MARA CLIMBS.` introduces Mara, not "Mara Climbs")."""
    found: dict[str, str] = {}
    for raw in paragraphs:
        text = " ".join(plain_text(raw).split())
        toks = tokens(text)
        hits = [h for h in names.find(toks) if h[2] not in found
                and all(not any(ch.islower() for ch in toks[k].text) for k in range(h[0], h[1]))]
        if not hits:
            continue
        shouted = not any(ch.islower() for ch in text)  # all CAPS: no telling a name's words apart
        run_of = {k: run for run in caps_runs(toks, text) for k in range(*run)}
        gaps = [(m.start(), m.end()) for m in re.finditer(r"(?<=[.!?])\s+", text)]  # between sentences
        ends = [g[0] for g in gaps]
        for i, j, cid in hits:
            if cid in found:
                continue
            a, b = run_of.get(i, (i, j))
            extra = [k for k in range(a, b) if not i <= k < j]
            if shouted or len(extra) > 2 or any(toks[k].text.lower() in _STOP for k in extra):
                a, b = i, j
            full = " ".join(title_word(toks[k].text) for k in range(a, b))
            if names.spelling.get(cid) and (a, b) == (i, j):
                full = names.spelling[cid]
            intro = _INTRO_TAIL.match(text, toks[b - 1].end)
            extra_text = "".join(g for g in ((intro.group(1), intro.group(2)) if intro else ()) if g)
            if extra_text.strip():
                found[cid] = f"{full} {extra_text.strip().rstrip(',')}".replace(" ,", ",")
                continue
            k = bisect_left(ends, toks[i].start)  # the sentence the name is in
            start = gaps[k - 1][1] if k else 0
            sentence = text[start:ends[k]] if k < len(ends) else text[start:]
            found[cid] = recase(sentence, names)
    return found


def _shot_words(text: str, limit: int) -> str:
    text = re.sub(r"['’]", "", anyascii(text))
    words = [w for w in re.findall(r"[A-Za-z0-9]+", text) if w.lower() not in _STOP]
    return "-".join(words[:limit])


def _transition_type(text: str) -> str | None:
    """The shot-list transition for a screenplay transition; None for FADE IN (an opening)."""
    upper = plain_text(text).upper().strip().rstrip(".:")
    if upper.endswith(" IN") or upper == "FADE IN":
        return None
    for word, kind in TRANSITION_WORDS:
        if word in upper:
            return kind
    return "cut"


@dataclass
class _Scene:
    id: str
    location: str
    time: str | None
    weather: str | None
    shots: list[dict[str, Any]] = field(default_factory=list)
    spoken: set[str] = field(default_factory=set)


def _locations(play: Screenplay) -> dict[tuple[str, str], tuple[str, str]]:
    """(place key, kind) → (location id, description), for every heading of the script. The
    interior and the exterior of one place are two locations (`bloom-house-int`, `…-ext`): one
    description cannot be both "bloom house, interior" and "bloom house, exterior". A heading
    without INT/EXT (a forced `.BLOOM HOUSE`) joins the place's first location."""
    kinds: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for e in play.elements:
        if e.kind == "scene_heading":
            location, setting, _, _ = parse_heading(e.text)
            key, kind = _place_key(location), _kind(setting)
            spelled.setdefault(key, location)
            seen = kinds.setdefault(key, [])
            if kind and kind not in seen:
                seen.append(kind)
    ids = _Ids()
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for key, seen in kinds.items():
        location = spelled[key]
        base = slug(location, 24)
        for kind in seen or [""]:
            suffix = f"-{_KIND_SUFFIX[kind]}" if len(seen) > 1 else ""
            where = ", ".join(p.strip().lower() for p in location.split(" - ") if p.strip())
            out[(key, kind)] = (ids(base + suffix if base else "", f"location-{len(out) + 1}{suffix}"),
                                f"{where}, {kind}" if kind else where)
        out.setdefault((key, ""), out[(key, seen[0] if seen else "")])
    return out


def screenplay_to_data(play: Screenplay, *, fallback_title: str, style: str | None = None) -> dict[str, Any]:
    """The shot-list data (a plain dict in SHOTLIST.md's shape) for a parsed screenplay."""
    cues = [e for e in play.elements if e.kind == "character"]
    names: dict[str, str] = {}          # NAME as written → character id
    seen_upper: set[str] = set()
    char_ids = _Ids()
    for cue in cues:
        key = plain_text(cue.text).strip()
        if key.upper() not in seen_upper:
            seen_upper.add(key.upper())
            names[key] = char_ids(slug(key), f"character-{len(names) + 1}")
    by_upper = {n.upper(): cid for n, cid in names.items()}
    index = NameIndex(names.items())
    actions = [e.text for e in play.elements if e.kind == "action"]
    intros = _introductions(actions, index)
    characters = {cid: {"description": intros.get(cid) or display_name(n)} for n, cid in names.items()}

    place_ids = _locations(play)
    locations: dict[str, dict[str, str]] = {}
    loc_ids, scene_ids, shot_ids = _Ids(), _Ids(), _Ids()
    loc_ids.used.update(lid for lid, _ in place_ids.values())
    scenes: list[_Scene] = []
    pending: str | None = None           # a transition waiting for the next shot
    logline: str | None = None
    previous_time: str | None = None
    last_shot: dict[str, Any] | None = None
    n_shots = 0

    def scene() -> _Scene:
        if not scenes:  # action before any heading: an opening scene
            opening = loc_ids("opening", "opening")
            locations[opening] = {"description": "the opening of the film"}
            scenes.append(_Scene(scene_ids("opening", "scene-1"), opening, None, None))
        return scenes[-1]

    def add_shot(base: str, shot: dict[str, Any]) -> None:
        nonlocal pending, last_shot, n_shots
        current = scene()
        if pending and last_shot is not None:
            last_shot["transition"] = pending
        pending = None
        if not current.shots:
            shot["size"] = "wide"
        n_shots += 1
        shot_id = shot_ids(slug(base), f"shot-{n_shots}")
        last_shot = {"id": shot_id, **shot}
        current.shots.append(last_shot)

    def establish_if_empty() -> None:
        """A scene whose heading has nothing under it (a quick exterior before the interior, a
        montage title) keeps its place in the film as one establishing shot of the location,
        rather than vanishing without a word."""
        if scenes and not scenes[-1].shots:
            current = scenes[-1]
            where = locations[current.location]["description"]
            action = where[:1].upper() + where[1:] + (f", {current.time}" if current.time else "")
            add_shot(f"{current.id[:40]}-establishing", {"size": "wide", "duration": 2, "action": action})

    elements = play.elements
    i = 0
    while i < len(elements):
        e = elements[i]
        if e.kind == "synopsis" and logline is None and not scenes:
            logline = e.plain()
        elif e.kind == "scene_heading":
            establish_if_empty()
            location, setting, time, continues = parse_heading(e.text)
            location_id, description = place_ids[(_place_key(location), _kind(setting))]
            locations.setdefault(location_id, {"description": description})
            if time is None and continues:
                time = previous_time
            previous_time = time or previous_time
            scene_id = scene_ids(slug(e.scene_number or "", 8) + ("-" if e.scene_number else "")
                                 + slug(location, 24), f"scene-{len(scenes) + 1}")
            scenes.append(_Scene(scene_id, location_id, time, None))
        elif e.kind == "action":
            raw = " ".join(e.plain().split())
            text = _readable(e.text, index)
            if re.fullmatch(r"(FADE (IN|OUT|TO BLACK|TO WHITE)|CUT TO BLACK|SMASH CUT|DISSOLVE|CROSSFADE)[.:]?", raw):
                pending = _transition_type(raw)  # `FADE IN:` / `FADE OUT.` written as action
            elif text:
                current = scene()
                if current.weather is None:
                    current.weather = next((w for w in WEATHER if re.search(rf"\b{w}(s|y)?\b", text, re.I)), None)
                for piece in _chunks(text, WORDS_PER_SECOND_ACTION, 2.0):
                    who = index.present(piece)
                    size = "wide" if not who else ("medium" if len(who) == 1 else "full")
                    add_shot(_shot_words(piece, 3), {
                        "size": size, "duration": _duration(_words(piece), WORDS_PER_SECOND_ACTION, 2.0),
                        "action": piece, **({"characters": who} if who else {})})
        elif e.kind == "character":
            # gather this cue's block (and a following dual cue's block)
            block, i = _block(elements, i)
            dual_block: list[Element] = []
            if i + 1 < len(elements) and elements[i + 1].kind == "character" and elements[i + 1].dual:
                dual_block, i = _block(elements, i + 1)
            _dialogue_shots(block, dual_block, by_upper, scene(), add_shot)
        elif e.kind == "transition":
            pending = _transition_type(e.text)
        elif e.kind == "lyrics":  # lyrics outside a dialogue block: sung by nobody in particular
            text = _readable(e.text, index)
            add_shot(_shot_words(text, 3), {"size": "wide", "duration": _duration(_words(text), WORDS_PER_SECOND_SPEECH, 1.0),
                                            "action": f"a song: {text}"})
        i += 1
    if any(sc.shots for sc in scenes):
        establish_if_empty()

    if not scenes or not any(sc.shots for sc in scenes):
        raise ValueError("the screenplay has no action or dialogue to turn into shots")
    used_locations = {sc.location for sc in scenes}
    title = plain_text(play.title_page.get("title", "")).replace("\n", " ").strip() or fallback_title
    data: dict[str, Any] = {"multishot": 1, "title": title}
    if play.title_page.get("logline") or logline:
        data["logline"] = plain_text(play.title_page.get("logline") or logline or "").replace("\n", " ")
    if style:
        data["style"] = style
    data["format"] = {"resolution": "832x480", "fps": 16, "seed": 7}
    if characters:
        data["characters"] = characters
    data["locations"] = {k: v for k, v in locations.items() if k in used_locations}
    data["scenes"] = []
    for sc in scenes:
        entry: dict[str, Any] = {"id": sc.id, "location": sc.location}
        if sc.time:
            entry["time"] = sc.time
        if sc.weather:
            entry["weather"] = sc.weather
        entry["shots"] = sc.shots
        data["scenes"].append(entry)
    data["scenes"][-1]["shots"][-1].pop("transition", None)  # a transition needs a next shot
    for sc in data["scenes"]:
        for k, shot in enumerate(sc["shots"]):
            if shot.get("transition") == "cut":
                shot.pop("transition")  # the default; keep the file quiet
            sc["shots"][k] = {key: shot[key] for key in SHOT_KEYS if key in shot}
    return data


#: The order fields are written in (as SHOTLIST.md lists them).
SHOT_KEYS = ("id", "size", "characters", "duration", "action", "dialogue", "transition")


def _block(elements: list[Element], i: int) -> tuple[list[Element], int]:
    """The cue at `i` with its parentheticals, dialogue and lyrics; returns (block, last index)."""
    block = [elements[i]]
    while i + 1 < len(elements) and elements[i + 1].kind in ("dialogue", "parenthetical", "lyrics"):
        i += 1
        block.append(elements[i])
    return block, i


def _dialogue_shots(block: list[Element], dual: list[Element], by_upper: dict[str, str],
                    scene: _Scene, add_shot: Callable[[str, dict[str, Any]], None]) -> None:
    """Shots for one dialogue block (and the dual block spoken at the same time, if any)."""
    cue = block[0]
    speaker = by_upper[plain_text(cue.text).strip().upper()]
    off = (cue.extension or "").upper().replace(" ", "") in {x.replace(" ", "") for x in OFF_SCREEN}
    lines = " ".join(" ".join(plain_text(e.text).split()) for e in block[1:] if e.kind in ("dialogue", "lyrics"))
    how = [plain_text(e.text).strip("() ") for e in block[1:] if e.kind == "parenthetical"]
    name = display_name(plain_text(cue.text).strip())
    if dual:
        other = by_upper[plain_text(dual[0].text).strip().upper()]
        other_lines = " ".join(" ".join(plain_text(e.text).split()) for e in dual[1:] if e.kind in ("dialogue", "lyrics"))
        words = max(_words(lines), _words(other_lines))
        dialogue = {k: v for k, v in ((speaker, lines), (other, other_lines)) if v}
        add_shot(f"{speaker}-{other}", {
            "size": "medium", "characters": sorted({speaker, other}),
            "duration": _duration(words, WORDS_PER_SECOND_SPEECH, 1.0),
            "action": f"{name} and {display_name(plain_text(dual[0].text).strip())} speak at the same time",
            **({"dialogue": dialogue} if dialogue else {})})
        scene.spoken.update({speaker, other})
        return
    pieces = _chunks(lines, WORDS_PER_SECOND_SPEECH, 1.0) if lines else [""]
    for k, piece in enumerate(pieces):
        action = f"{name} speaks" + (f", {', '.join(how)}" if how and k == 0 else "")
        if off:
            seen = [c for c in (scene.shots[-1].get("characters", []) if scene.shots else []) if c != speaker]
            shot: dict[str, Any] = {"size": "medium" if seen else "wide",
                                    "action": f"{name} is heard off screen" + (f", {', '.join(how)}" if how and k == 0 else ""),
                                    **({"characters": seen} if seen else {})}
        else:
            shot = {"size": "close" if speaker in scene.spoken else "medium", "characters": [speaker],
                    "action": action}
            scene.spoken.add(speaker)
        shot["duration"] = _duration(_words(piece), WORDS_PER_SECOND_SPEECH, 1.0)
        if piece:
            shot["dialogue"] = {speaker: piece}
        add_shot(f"{speaker}-{_shot_words(piece, 2)}", shot)


# --------------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------------

HEADER = """\
Imported from {source} by `multishot import`.
Scenes come from scene headings, shots from action paragraphs and dialogue; sizes and durations
are first guesses (SHOTLIST.md lists every field). Edit freely, then: multishot render {target}
"""


def to_yaml(data: dict[str, Any], *, source: str, target: str) -> str:
    """The imported shot list through the one writer (shotlist/writer.py)."""
    # File names go into comment lines: a newline in one must not start a YAML line of its own.
    return data_to_yaml(data, HEADER.format(source=printable(source), target=printable(target)))


def import_fountain(path: str | Path, *, style: str | None = None,
                    target: str | Path | None = None) -> tuple[str, Film]:
    """Read a Fountain screenplay; return the shot list as YAML text and as a validated Film.
    `target` (where the YAML will be written) is only used in the header comment and for the
    validation's file name. Raises ShotListError if the screenplay cannot become a shot list."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ShotListError([Problem(path, None, "", f"cannot read the screenplay: {err}")]) from None
    play = parse_fountain(text)
    try:
        data = screenplay_to_data(play, fallback_title=path.stem.replace("_", " ").replace("-", " ").title()
                                  or "Untitled", style=style)
    except ValueError as err:
        raise ShotListError([Problem(path, None, "", str(err))]) from None
    target_path = Path(target) if target is not None else path.with_suffix(".yaml")
    yaml_text = to_yaml(data, source=path.name, target=target_path.name)
    return yaml_text, parse_film(yaml_text, target_path)
