"""Which of a model's texts are worth keeping: strings that are not loops, and critic notes that
say what to change.

Why: a small model at temperature 0 falls into loops inside a schema-constrained string — the
surgeon logline's treatment came back with every description `A.J.A.A.A.A.…` to the length bound
— and a schema cannot say "not the same two characters fifty times". A string whose bytes
compress to under DEGENERATE_RATIO of their length is a loop (prose compresses to ~1.0 at these
lengths, a loop to 0.15–0.6): such a text is written again (`junk`, below, and text_fallback.py).

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
from typing import Iterable, Sequence

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
#: zlib-compressed size / size below which a string is a loop (measured: the 135M model's loops
#: 0.15–0.58 — docs/notes/issue-18c.md; prose 0.96–1.4 when short, but 0.69 for the rule
#: director's own 150-character action that names "the first musician" twice, so not 0.7).
DEGENERATE_RATIO = 0.62


def degenerate(text: str) -> bool:
    """Is the string a loop: one short pattern, or one sentence, repeated?"""
    data = text.encode("utf-8")
    return len(data) >= DEGENERATE_MIN and len(zlib.compress(data, 9)) < DEGENERATE_RATIO * len(data)


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


# -- text a film cannot use ---------------------------------------------------------------------
#
# A schema-valid answer can still carry text no image prompt can use. Measured with SmolLM2-135M
# (docs/notes/issue-18c.md): every action "a" (or "acti"), a keeper described as "A lighthouse
# keeper finds a message in a" (the logline, cut mid-phrase), descriptions `A_SURGEENEBLAKER`,
# "{{surgeon}}", "<img src=". These go verbatim into every frame's prompt. The structure the model
# chose (scenes, purposes, cast, sizes, angles) is kept; such a text is replaced by the rule
# planner's text for the same field, and the replacement is recorded (`Replaced`), so the plan
# says which words came from the model and which from the rules.

#: A token no sentence of a shot list has: markup, template braces, snake_case, a run of capitals
#: or letters glued to a long number.
_ODD = re.compile(r"[_<>{}\\|]|[A-Z]{5,}|[A-Za-z][0-9]{3,}|[0-9]{3,}[A-Za-z]{3,}")
#: Content words a field needs at least (an action names who and what: "the keeper reads").
MIN_WORDS = {"action": 2, "beat": 2, "description": 2, "lighting": 1, "line": 1, "weather": 1}
#: Share of the logline's content words a text must repeat (besides being made of them) to be
#: the logline again: "a lighthouse keeper" in a description is a subject, the whole sentence is not,
#: and "The cliffs, Mara and Tomas in view" (3 of "Mara and Tomas meet on the cliffs"' 4) is a shot.
ECHO_COVER = 0.8
#: An action written on more than this share of a film's shots (and on at least three) says
#: nothing about any of them.
SAME_SHARE = 0.5


def junk(text: str, kind: str, brief: Sequence[str] = ()) -> str | None:
    """Why `text` cannot go into the film as a `kind` field (None: it can). `brief`: the
    logline (and title), which a text must not merely be a cut-off copy of."""
    stripped = text.strip()
    if not stripped:
        return "empty"
    if degenerate(stripped):
        return "the text loops"
    odd = _ODD.search(stripped)
    if odd:
        return f"not words ({stripped[max(0, odd.start() - 8):odd.end() + 8]!r})"
    content = _content(stripped)
    need = MIN_WORDS.get(kind, 1)
    # a line of dialogue may be all small words ("Why not?"); it must still be words
    if len(content if kind != "line" else _words(stripped)) < need:
        return f"too few words ({len(content)} of at least {need})"
    said = _words(stripped)
    for source in brief:
        whole, theirs = _words(source), set(_content(source))
        if kind == "beat" or not theirs:
            continue   # a one-scene film's beat may well be its logline
        if 3 <= len(said) <= len(whole) and said != whole and whole[:len(said) - 1] == said[:-1] \
                and whole[len(said) - 1].startswith(said[-1]):   # "… hears a kn": cut mid-word too
            return "the logline, cut off"
        # an action may tell the logline's event (the rule director's own "… is pulled in: <the
        # logline>"); a description or a line that is the logline describes or says nothing
        if (kind in ("description", "line") and len(content) >= 3
                and sum(w in theirs for w in content) >= ECHO_SHARE * len(content)
                and len(theirs & set(content)) >= ECHO_COVER * len(theirs)):
            return f"the logline again, not {'an' if kind[0] in 'aeiou' else 'a'} {kind}"
    return None


def normal(text: str) -> str:
    """A text's words, lower case, single-spaced: what two texts share when they say the same."""
    return " ".join(_words(text))


def repeated(texts: Sequence[str]) -> set[str]:
    """The texts (`normal`) that fill more than SAME_SHARE of `texts`, when there are ≥ 3."""
    said = [normal(t) for t in texts]
    if len(said) < 3:
        return set()
    return {n for n in set(said) if n and said.count(n) > SAME_SHARE * len(said) and said.count(n) >= 3}


@dataclass(frozen=True)
class Replaced:
    """One model text the film does not use, and what stands in its place."""

    role: str
    field: str      # `characters.keeper`, `scenes[0].shots[1].action`, `shots[3].lighting`
    text: str       # the model's, as its role's answer had it
    reason: str
    used: str       # what the film has instead
    by: str = "rules"   # who wrote `used`: "model" (asked for this text alone) or "rules"

    def to_json(self) -> dict[str, str]:
        return {"role": self.role, "field": self.field, "text": self.text[:120], "reason": self.reason,
                "used": self.used[:200], "by": self.by}
