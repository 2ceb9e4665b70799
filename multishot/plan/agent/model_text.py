"""Which of a model's texts are worth keeping: strings that are not loops, and critic notes that
say what to change.

Why: a small model at temperature 0 falls into loops inside a schema-constrained string — the
surgeon logline's treatment came back with every description `A.J.A.A.A.A.…` to the length bound
— and a schema cannot say "not the same two characters fifty times". A string whose bytes
compress to under DEGENERATE_RATIO of their length is a loop (prose compresses to ~1.0 at these
lengths, a loop to 0.15–0.6): it is a problem of the answer, repaired like any other.

And the model critic's notes: asked for notes beyond the gates, SmolLM2-135M answered every round
with notes that restate the logline ("A lighthouse keeper finds a message in a bottle", on five
shots), repeat one sentence until the length bound ("The keeper is a lighthouse keeper. The
keeper is …") or name nothing to change ("A lighthouse keeper ends a scene"). Passed on, each such
note is a finding a revision must "resolve" — a round of tokens spent on nothing — and a warning
the user has to read. The gates stay rules; these checks are rules too, and deliberately simple:
a note is kept only when it is not an echo of the brief, not a loop, and uses a word of the shot
list's own language (a size, an angle, a movement, the light, a cut, an entrance, a line of
dialogue) — what a script supervisor's note names. What is dropped, and why, goes into the
transcript.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

from multishot.shotlist.schema import ANGLES, MOVEMENTS, SIZES, Film

_WORD = re.compile(r"[a-z]+")
#: Words that carry no content of their own (in a note or a logline).
STOP = frozenset((
    "a an the and or but of in on at to for from with by into onto over under is are was were be been "
    "being it its this that these those there here his her hers him he she they them their theirs "
    "we you your our as so than then very just also only one two some any all each every who whom "
    "which what when where while why how not no has have had do does did can could should would "
    "will may might must shot shots scene scenes film films").split())
#: Words of the shot list's language: a note that uses none of them names nothing to change.
CHANGE_WORDS = frozenset(
    {w for term in (*SIZES, *ANGLES, *MOVEMENTS) for w in term.split("-") if len(w) > 2 and w not in STOP}
    | set(("size sizes angle angles framing frame framed camera lens light lighting lit dark darker "
           "brighter shadow shadows direction screen face faces facing left right enter enters entering "
           "exit exits establish establishing cut cuts jump duration longer shorter seconds second hold "
           "dialogue line lines say says speak speaks show shows reveal reveals add remove move change "
           "replace swap reaction transition dissolve fade closer wider tighter continuity colour color "
           "wearing wears coat jacket hair missing").split()))
#: A note longer than this many words that repeats a run of this many words is a loop.
LOOP_WORDS = 4
#: Share of a note's content words found in the logline and title above which it is an echo.
ECHO_SHARE = 0.75


#: Strings at least this long are checked for loops (shorter ones cannot show a pattern).
DEGENERATE_MIN = 20
#: zlib-compressed size / size below which a string is a loop (measured: prose 0.96–1.4, the
#: 135M model's loops 0.15–0.58 — docs/notes/issue-18c.md).
DEGENERATE_RATIO = 0.7


def degenerate(text: str) -> bool:
    """Is the string a loop: one short pattern, or one sentence, repeated?"""
    data = text.encode("utf-8")
    return len(data) >= DEGENERATE_MIN and len(zlib.compress(data, 9)) < DEGENERATE_RATIO * len(data)


def strings(data: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every string value in a JSON answer (`scenes[0].beat`)."""
    if isinstance(data, str):
        yield path or "(top level)", data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from strings(value, f"{path}[{i}]")


def loop_problems(data: Any) -> list[str]:
    """An answer's looping strings, as problems a repair can act on."""
    return [f"{where}: the text loops ({text[:24]!r}…): write it once, in plain words"
            for where, text in strings(data) if degenerate(text)]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _content(text: str) -> list[str]:
    return [w for w in _words(text) if w not in STOP and len(w) > 2]


@dataclass(frozen=True)
class Verdict:
    """A note's fate: kept, or dropped with the reason."""

    shot_id: str
    message: str
    reason: str | None = None   # None: kept

    @property
    def kept(self) -> bool:
        return self.reason is None


def loops(text: str, n: int = LOOP_WORDS) -> bool:
    """Does the text repeat a run of `n` words (a sentence said twice, a phrase until the bound)?"""
    ws = _words(text)
    seen: set[tuple[str, ...]] = set()
    for i in range(len(ws) - n + 1):
        gram = tuple(ws[i:i + n])
        if gram in seen:
            return True
        seen.add(gram)
    return False


def judge(notes: Iterable[tuple[str, str]], film: Film, brief: Sequence[str] = ()) -> list[Verdict]:
    """Each (shot id, message) with its verdict. `brief`: the texts the notes must not merely
    restate (the logline, the title)."""
    echo = {w for text in (*brief, film.logline or "", film.title) for w in _content(text)}
    out: list[Verdict] = []
    said: set[str] = set()
    for shot_id, message in notes:
        content = _content(message)
        normal = " ".join(re.findall(r"[a-z0-9]+", message.lower()))   # shot ids count
        if not content:
            reason = "says nothing"
        elif loops(message):
            reason = "repeats itself"
        elif sum(w in echo for w in content) >= ECHO_SHARE * len(content):
            reason = "restates the logline"
        elif not any(w in CHANGE_WORDS for w in _words(message)):
            reason = "names nothing to change (no size, angle, movement, light, cut, entrance or line)"
        elif normal in said:
            reason = "repeats another note"
        else:
            reason = None
            said.add(normal)
        out.append(Verdict(shot_id, message, reason))
    return out
