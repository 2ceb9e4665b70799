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
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from multishot.shotlist.errors import Problem, ShotListError, printable
from multishot.shotlist.loader import parse_film
from multishot.shotlist.schema import Film

# --------------------------------------------------------------------------------------------
# Parsing: text → elements
# --------------------------------------------------------------------------------------------

Kind = str  # scene_heading | action | character | dialogue | parenthetical | lyrics | transition
#             | centered | page_break | section | synopsis

_SENTINEL = "\x00"
_BONEYARD = re.compile(r"/\*.*?(\*/|\Z)", re.S)
_NOTE = re.compile(r"\[\[(.*?)\]\]", re.S)
_HEADING = re.compile(r"^(?:int\.?/ext|int/ext|i/e|int|ext|est)[. ]", re.I)
_SCENE_NUMBER = re.compile(r"\s*#([\w.\-]+)#\s*$")
_PAGE_BREAK = re.compile(r"^\s*={3,}\s*$")
_CENTERED = re.compile(r"^\s*>\s*(.*?)\s*<\s*$")
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


def plain_text(text: str) -> str:
    """Remove emphasis markup (`*italic*`, `**bold**`, `***both***`, `_underline_`) and the
    backslash escapes that protect literal `*` and `_`."""
    protected = text.replace("\\*", "\x01").replace("\\_", "\x02")
    for pattern in (r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*", r"\*\*(?=\S)(.+?)(?<=\S)\*\*",
                    r"\*(?=\S)(.+?)(?<=\S)\*", r"(?<![A-Za-z0-9])_(?=\S)(.+?)(?<=\S)_(?![A-Za-z0-9])"):
        protected = re.sub(pattern, r"\1", protected)
    return protected.replace("\x01", "*").replace("\x02", "_")


def _strip_comments(text: str) -> tuple[str, list[str]]:
    """Remove boneyard and notes. A removed span that leaves its line empty removes the line,
    so a note on its own line inside a dialogue block does not end the block."""
    notes: list[str] = []
    text = _BONEYARD.sub(_SENTINEL, text)

    def keep(m: re.Match[str]) -> str:
        notes.append(" ".join(m.group(1).split()))
        return _SENTINEL

    text = _NOTE.sub(keep, text)
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
    m = re.match(r"^([^(]*?)\s*(?:\((.*)\))?\s*$", text)
    if not m:
        return None
    name, extension = m.group(1).strip(), m.group(2)
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
        centered = _CENTERED.match(line)
        if centered:
            flush_action()
            out.append(Element("centered", centered.group(1)))
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
            heading = line[1:] if forced_heading else stripped
            number = _SCENE_NUMBER.search(heading)
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

#: Times of day a heading may end in, as the shot list writes them (free text is allowed too).
TIMES = {"DAY": "day", "NIGHT": "night", "DAWN": "dawn", "DUSK": "dusk", "MORNING": "morning",
         "AFTERNOON": "afternoon", "EVENING": "evening", "SUNSET": "dusk", "SUNRISE": "dawn",
         "NOON": "midday", "MIDDAY": "midday", "MIDNIGHT": "midnight", "TWILIGHT": "dusk",
         "LATE NIGHT": "night", "EARLY MORNING": "dawn", "MAGIC HOUR": "dusk"}
#: Heading suffixes that say "same time as before" (the scene inherits the previous time).
CONTINUITY = {"CONTINUOUS", "LATER", "MOMENTS LATER", "SAME", "SAME TIME", "CONTINUED",
              "A MOMENT LATER", "SECONDS LATER"}
#: Screenplay transitions → shot-list transitions (unknown `… TO:` is a cut).
TRANSITION_WORDS = (
    ("MATCH CUT", "match-cut"), ("DISSOLVE", "dissolve"), ("FADE TO WHITE", "fade-to-white"),
    ("BURN TO WHITE", "fade-to-white"), ("WHITE", "fade-to-white"), ("FADE", "fade"),
    ("BLACK", "fade"), ("WIPE", "wipe-left"), ("IRIS", "circle-open"), ("CUT", "cut"),
)
OFF_SCREEN = {"V.O.", "VO", "O.S.", "OS", "O.C.", "OC", "OFF", "V.O", "O.S"}
WEATHER = ("thunderstorm", "storm", "rain", "drizzle", "snow", "fog", "mist", "hail", "wind")
_STOP = {"the", "a", "an", "of", "to", "and", "in", "on", "at", "his", "her", "their", "its",
         "is", "are", "with", "into", "from", "for", "as", "by", "it", "he", "she", "they"}


def slug(text: str, limit: int = 32) -> str:
    """An id ([a-z0-9_-]+) from any text: accents folded, other characters dashed."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:limit].strip("-")


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
    for sentence in _sentences(text):
        if current and len(" ".join(current + [sentence]).split()) > budget:
            pieces.append(" ".join(current))
            current = []
        current.append(sentence)
    if current:
        pieces.append(" ".join(current))
    return pieces or [text]


def _words(text: str) -> int:
    return len(text.split())


def parse_heading(heading: str) -> tuple[str, str, str | None, bool]:
    """`INT. LIGHTHOUSE - LAMP ROOM - NIGHT` → ("LIGHTHOUSE - LAMP ROOM", "int", "night", False);
    the last flag says the heading continues the previous scene's time (CONTINUOUS, LATER)."""
    text = plain_text(heading).strip()
    m = re.match(r"^(int\.?/ext\.?|int/ext|i/e\.?|int\.?|ext\.?|est\.?)\s*", text, re.I)
    setting = ""
    if m:
        setting = m.group(1).lower().rstrip(".")
        text = text[m.end():]
    parts = [p.strip() for p in re.split(r"\s+[-–—]+\s+|\s+--\s+", text) if p.strip()]
    time: str | None = None
    continues = False
    if len(parts) > 1:
        tail = parts[-1].upper().rstrip(".")
        if tail in TIMES:
            time, parts = TIMES[tail], parts[:-1]
        elif tail in CONTINUITY:
            continues, parts = True, parts[:-1]
    location = " - ".join(parts) or text or "somewhere"
    return location, setting, time, continues


def _describe_location(location: str, setting: str) -> str:
    where = ", ".join(p.strip().lower() for p in location.split(" - ") if p.strip())
    kind = {"int": "interior", "ext": "exterior", "est": "exterior"}.get(setting, "")
    if setting in ("int/ext", "i/e", "int./ext"):
        kind = "interior and exterior"
    return f"{where}, {kind}" if kind else where


def _name_pattern(name: str) -> re.Pattern[str]:
    """`name` in any case, as whole words (finds `Mara` and `MARA` in action)."""
    return re.compile(r"(?<![\w'])" + r"\s+".join(re.escape(w) for w in name.split()) + r"(?![\w'])", re.I)


_CAPS_WORD = r"[A-Z][A-Z0-9'’\-]*"


def _caps_name(name: str) -> re.Pattern[str]:
    """`name` in CAPS, widened to up to two CAPS words either side that are not common words
    (`DICK STEEL` for the cue `STEEL`, `BRICK BRADDOCK` for `BRICK`)."""
    core = r"\s+".join(re.escape(w) for w in name.upper().split())
    stop = "|".join(w.upper() for w in sorted(_STOP))
    extra = rf"(?:(?!(?:{stop})\b){_CAPS_WORD})"
    return re.compile(rf"(?<![\w'’])(?:{extra}\s+){{0,2}}{core}(?:\s+{extra}){{0,2}}(?![\w'’])")


def _introduction(name: str, paragraphs: Iterable[str]) -> str | None:
    """The words that introduce a character in action: `MARA (60s), a keeper in a yellow
    oilskin, climbs …` → `Mara (60s), a keeper in a yellow oilskin`. Only an introduction in
    CAPS counts (the screenplay convention for a first appearance); without an appositive or
    parenthetical after the name, the sentence it is introduced in."""
    pattern = _caps_name(name)
    for text in paragraphs:
        text = " ".join(plain_text(text).split())
        m = pattern.search(text)
        if not m:
            continue
        full = display_name(name) if m.group(0).upper() == name.upper() else m.group(0).title()
        intro = re.match(r"^\s*(\([^)]*\))?\s*(,[^,.;:!?]*,)?", text[m.end():])
        extra = "".join(g for g in ((intro.group(1), intro.group(2)) if intro else ()) if g)
        if extra.strip():
            return f"{full} {extra.strip().rstrip(',')}".replace(" ,", ",")
        sentence = next((s for s in _sentences(text) if pattern.search(s)), text)
        return _readable(sentence, [name])
    return None


def display_name(name: str) -> str:
    """`MARA` → `Mara`; a name written in mixed case (a forced `@McCLANE`) stays as written."""
    return name.title() if name == name.upper() else name


def _readable(text: str, names: Iterable[str]) -> str:
    """Prompt-friendly action: one line; character names written as names (`DICK STEEL` →
    `Dick Steel`); other CAPS (sounds and props: `the SCREEN DOOR SLAMS`) in lower case, except
    `I` and, in mixed-case text, short acronyms (POV, TV)."""
    text = " ".join(plain_text(text).split())
    names = list(names)
    spans = [(m.start(), m.end()) for n in names for m in _caps_name(n).finditer(text)]
    shouted = not re.search(r"[a-z]", text)  # a paragraph all in CAPS has no acronyms to keep

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        if any(a <= m.start() < b for a, b in spans):
            return word.title()
        if word == "I" or (not shouted and (len(word) == 1 or (len(word) <= 3 and word.lower() not in _STOP))):
            return word
        return word.lower()

    out = re.sub(rf"(?<![\w'’]){_CAPS_WORD}(?![\w'’])", fix, text)
    for n in names:
        if n != n.upper():  # a forced mixed-case name keeps its spelling
            out = re.sub(r"(?<![\w'’])" + re.escape(n) + r"(?![\w'’])", n, out, flags=re.I)
    return out[:1].upper() + out[1:]


def _shot_words(text: str, limit: int) -> str:
    text = re.sub(r"['’]", "", unicodedata.normalize("NFKD", text))
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


def screenplay_to_data(play: Screenplay, *, fallback_title: str, style: str | None = None) -> dict[str, Any]:
    """The shot-list data (a plain dict in SHOTLIST.md's shape) for a parsed screenplay."""
    cues = [e for e in play.elements if e.kind == "character"]
    names: dict[str, str] = {}          # NAME as written → character id
    char_ids = _Ids()
    for cue in cues:
        key = plain_text(cue.text).strip()
        if key.upper() not in {n.upper() for n in names}:
            names[key] = char_ids(slug(key), f"character-{len(names) + 1}")
    by_upper = {n.upper(): cid for n, cid in names.items()}
    actions = [e.text for e in play.elements if e.kind == "action"]
    characters = {cid: {"description": _introduction(n, actions) or display_name(n)} for n, cid in names.items()}
    patterns = {cid: _name_pattern(n) for n, cid in names.items()}

    locations: dict[str, dict[str, str]] = {}
    location_ids: dict[str, str] = {}
    loc_ids, scene_ids, shot_ids = _Ids(), _Ids(), _Ids()
    scenes: list[_Scene] = []
    pending: str | None = None           # a transition waiting for the next shot
    logline: str | None = None
    previous_time: str | None = None

    def scene() -> _Scene:
        if not scenes:  # action before any heading: an opening scene
            location_ids.setdefault("OPENING", loc_ids("opening", "opening"))
            locations.setdefault(location_ids["OPENING"], {"description": "the opening of the film"})
            scenes.append(_Scene(scene_ids("opening", "scene-1"), location_ids["OPENING"], None, None))
        return scenes[-1]

    def add_shot(base: str, shot: dict[str, Any]) -> None:
        nonlocal pending
        current = scene()
        shots = [s for sc in scenes for s in sc.shots]
        if pending and shots:
            shots[-1]["transition"] = pending
        pending = None
        if not current.shots:
            shot["size"] = "wide"
        shot_id = shot_ids(slug(base), f"shot-{len(shots) + 1}")
        current.shots.append({"id": shot_id, **shot})

    def present(text: str) -> list[str]:
        return [cid for cid, p in patterns.items() if p.search(text)]

    elements = play.elements
    i = 0
    while i < len(elements):
        e = elements[i]
        if e.kind == "synopsis" and logline is None and not scenes:
            logline = e.plain()
        elif e.kind == "scene_heading":
            location, setting, time, continues = parse_heading(e.text)
            key = location.upper()
            if key not in location_ids:
                location_ids[key] = loc_ids(slug(location, 24), f"location-{len(location_ids) + 1}")
                locations[location_ids[key]] = {"description": _describe_location(location, setting)}
            if time is None and continues:
                time = previous_time
            previous_time = time or previous_time
            scene_id = scene_ids(slug(e.scene_number or "", 8) + ("-" if e.scene_number else "")
                                 + slug(location, 24), f"scene-{len(scenes) + 1}")
            scenes.append(_Scene(scene_id, location_ids[key], time, None))
        elif e.kind == "action":
            raw = " ".join(e.plain().split())
            text = _readable(e.text, names)
            if re.fullmatch(r"(FADE (IN|OUT|TO BLACK|TO WHITE)|CUT TO BLACK|SMASH CUT|DISSOLVE)[.:]?", raw):
                pending = _transition_type(raw)  # `FADE IN:` / `FADE OUT.` written as action
            elif text:
                current = scene()
                if current.weather is None:
                    current.weather = next((w for w in WEATHER if re.search(rf"\b{w}(s|y)?\b", text, re.I)), None)
                for piece in _chunks(text, WORDS_PER_SECOND_ACTION, 2.0):
                    who = present(piece)
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
            text = _readable(e.text, names)
            add_shot(_shot_words(text, 3), {"size": "wide", "duration": _duration(_words(text), WORDS_PER_SECOND_SPEECH, 1.0),
                                            "action": f"a song: {text}"})
        i += 1

    if not scenes or not any(sc.shots for sc in scenes):
        raise ValueError("the screenplay has no action or dialogue to turn into shots")
    scenes = [sc for sc in scenes if sc.shots]
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
# Imported from {source} by `multishot import`.
# Scenes come from scene headings, shots from action paragraphs and dialogue; sizes and durations
# are first guesses (SHOTLIST.md lists every field). Edit freely, then: multishot render {target}
"""


class _Dumper(yaml.SafeDumper):
    """Block style, except lists of ids and the format line, which read better on one line
    (`characters: [mara, tomas]`, as SHOTLIST.md writes them)."""


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flow = all(isinstance(v, str) and re.fullmatch(r"[a-z0-9_-]+", v) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.Node:
    flow = set(value) <= {"resolution", "fps", "seed"} and bool(value)
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=flow or None)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def to_yaml(data: dict[str, Any], *, source: str, target: str) -> str:
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    # File names go into comment lines: a newline in one must not start a YAML line of its own.
    return HEADER.format(source=printable(source), target=printable(target)) + "\n" + body


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
