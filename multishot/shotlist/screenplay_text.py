"""Screenplay text, in time linear in its length: emphasis markup, comments, words in CAPS and
the names in them, ids from any script.

Why a module of its own: the Fountain importer used regular expressions with lazy `.*?` bodies
for these, and on hostile input they backtrack quadratically or worse (one 60 KB line of
`***a ` took 24 s, a centred line of 8,000 spaces 186 s — issue 17). Everything here scans its
input a bounded number of times; scripts/bench_fountain.py measures it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from anyascii import anyascii

# --------------------------------------------------------------------------------------------
# Emphasis: `***both***`, `**bold**`, `*italic*`, `_underline_`
# --------------------------------------------------------------------------------------------

def _ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _unwrap(text: str, delim: str, opener_ok: Callable[[int], bool],
            closer_ok: Callable[[int], bool]) -> str:
    """Replace each `delim…delim` span by its body, with the semantics of the regular expression
    `D(?=\\S)(.+?)(?<=\\S)D` applied by `re.sub` (leftmost, shortest body, within one line),
    in linear time: candidate closers are found once and looked up by bisection, and an opener
    with no closer before the end of its line skips the rest of that line."""
    if delim not in text:
        return text
    n, width = len(text), len(delim)
    starts = [m.start() for m in re.finditer(f"(?={re.escape(delim)})", text)]
    closers = [q for q in starts if q > 0 and not text[q - 1].isspace() and closer_ok(q)]
    out: list[str] = []
    pos = 0
    k = 0  # index into starts
    while k < len(starts):
        p = starts[k]
        if p < pos or p + width >= n or text[p + width].isspace() or not opener_ok(p):
            k += 1
            continue
        c = bisect_left(closers, p + width + 1)
        if c == len(closers):
            break  # no closer anywhere after: no later opener has one either
        q = closers[c]
        newline = text.find("\n", p + width, q)
        if newline != -1:  # the nearest closer is on a later line: nothing closes on this one
            k = bisect_left(starts, newline, k)
            continue
        out.append(text[pos:p])
        out.append(text[p + width:q])
        pos = q + width
        k = bisect_left(starts, pos, k)
    out.append(text[pos:])
    return "".join(out)


def plain_text(text: str) -> str:
    """Remove emphasis markup (`*italic*`, `**bold**`, `***both***`, `_underline_`) and the
    backslash escapes that protect literal `*` and `_`. Linear in the length of `text`."""
    protected = text.replace("\\*", "\x01").replace("\\_", "\x02")
    always: Callable[[int], bool] = lambda _: True
    for delim in ("***", "**", "*"):
        protected = _unwrap(protected, delim, always, always)
    n = len(protected)
    protected = _unwrap(protected, "_", lambda p: p == 0 or not _ascii_alnum(protected[p - 1]),
                        lambda q: q + 1 >= n or not _ascii_alnum(protected[q + 1]))
    return protected.replace("\x01", "*").replace("\x02", "_")


# --------------------------------------------------------------------------------------------
# Comments: boneyard `/* */` (nesting) and notes `[[ ]]`
# --------------------------------------------------------------------------------------------

def strip_boneyard(text: str, sentinel: str) -> str:
    """Replace each boneyard span by `sentinel`. Boneyards nest (`/* a /* b */ c */` is one
    span, as in afterwriting and Highland); an unclosed one runs to the end of the text; a `*/`
    with nothing open is text."""
    out: list[str] = []
    depth, pos, start = 0, 0, 0
    for m in re.finditer(r"/\*|\*/", text):
        if m.group(0) == "/*":
            if depth == 0:
                start = m.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                out.append(text[pos:start])
                out.append(sentinel)
                pos = m.end()
    if depth:
        out.append(text[pos:start])
        out.append(sentinel)
    else:
        out.append(text[pos:])
    return "".join(out)


def strip_notes(text: str, sentinel: str) -> tuple[str, list[str]]:
    """Replace each `[[note]]` by `sentinel`; return the text and the notes (whitespace folded).
    An unclosed `[[` is text."""
    out: list[str] = []
    notes: list[str] = []
    pos = 0
    while True:
        i = text.find("[[", pos)
        if i == -1:
            break
        j = text.find("]]", i + 2)
        if j == -1:
            break
        out.append(text[pos:i])
        out.append(sentinel)
        notes.append(" ".join(text[i + 2:j].split()))
        pos = j + 2
    out.append(text[pos:])
    return "".join(out), notes


# --------------------------------------------------------------------------------------------
# Words, CAPS and names
# --------------------------------------------------------------------------------------------

#: A word: letters and digits of any script, joined by apostrophes or hyphens (`WILL’S`, `4TH`,
#: `JEAN-LUC`). Possessive quantifiers keep it linear on `A-A-A-…`.
WORD = re.compile(r"[^\W_]++(?:[-'’][^\W_]++)*+")
_POSSESSIVE = re.compile(r"['’][sS]$")
_STOP = frozenset({"the", "a", "an", "of", "to", "and", "in", "on", "at", "his", "her", "their",
                   "its", "is", "are", "with", "into", "from", "for", "as", "by", "it", "he",
                   "she", "they"})
#: Longest caps word kept as an acronym in mixed-case text (TV, POV, FBI).
ACRONYM_MAX = 3


def is_caps(word: str) -> bool:
    """A word in capitals, in any script that has case (`KITCHEN`, `КУХНЯ`, `4TH`; not `90`)."""
    return word.isupper()


def title_word(word: str) -> str:
    """`EDWARD’S` → `Edward’s`, `JEAN-LUC` → `Jean-Luc`, `O’BRIEN` → `O’Brien`, `R2D2` stays
    (str.title would write `Edward’S`)."""
    def part(p: str) -> str:  # `R2D2`, `4TH`: letters mixed with digits stay as written
        return p if any(ch.isdigit() for ch in p) else p[:1].upper() + p[1:].lower()

    pieces = re.split(r"(['’-])", word)
    out = [part(pieces[0])]
    for sep, piece in zip(pieces[1::2], pieces[2::2]):
        suffix = sep in "'’" and piece.lower() in ("s", "t", "ll", "re", "ve", "d", "m")
        out.append(sep + (piece.lower() if suffix else part(piece)))
    return "".join(out)


def name_words(name: str) -> tuple[str, ...]:
    """A character name as the upper-case words that find it in text."""
    return tuple(m.group(0).upper() for m in WORD.finditer(name))


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int

    @property
    def key(self) -> str:
        """Upper case, possessive `’S` dropped: `Edward’s` and `EDWARD` are one name."""
        return _POSSESSIVE.sub("", self.text).upper()


def tokens(text: str) -> list[Token]:
    return [Token(m.group(0), m.start(), m.end()) for m in WORD.finditer(text)]


class NameIndex:
    """Character names found in text by word lookup (one dict probe per word), not by one
    regular expression per name: a script with a thousand speakers stays linear."""

    def __init__(self, names: Iterable[tuple[str, str]]) -> None:
        """`names`: (name as written, id) pairs."""
        #: the name's words → id; a position is tried against each length a name has, longest
        #: first (few lengths), so a thousand names sharing a first word cost nothing more
        self.by_words: dict[tuple[str, ...], str] = {}
        #: ids whose name is written in mixed case (a forced `@McCLANE`): kept as written
        self.spelling: dict[str, str] = {}
        self.order: dict[str, int] = {}
        for name, cid in names:
            self.order.setdefault(cid, len(self.order))
            if name != name.upper():
                self.spelling[cid] = name
            words = name_words(name)
            if words:
                self.by_words.setdefault(words, cid)
        self.lengths = sorted({len(w) for w in self.by_words}, reverse=True)

    def find(self, toks: Sequence[Token]) -> list[tuple[int, int, str]]:
        """(first token, end token, id) of each name occurrence, left to right, not overlapping.
        Case-insensitive; the last word may be possessive."""
        found: list[tuple[int, int, str]] = []
        keys = [t.key for t in toks]
        i = 0
        while i < len(keys):
            for length in self.lengths:
                cid = self.by_words.get(tuple(keys[i:i + length])) if i + length <= len(keys) else None
                if cid is not None:
                    found.append((i, i + length, cid))
                    i += length
                    break
            else:
                i += 1
        return found

    def present(self, text: str) -> list[str]:
        """The ids named in `text` (any case), in the order the names were given."""
        return sorted({cid for _, _, cid in self.find(tokens(text))}, key=self.order.__getitem__)


def caps_runs(toks: Sequence[Token], text: str) -> list[tuple[int, int]]:
    """(first, end) token indices of each run of CAPS words separated only by spaces."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):
        if not is_caps(toks[i].text):
            i += 1
            continue
        j = i + 1  # a number carries a run on (`SPEAKER 2`, `AGENT 99 RUNS`), never starts one
        while (j < len(toks) and (is_caps(toks[j].text) or toks[j].text.isdigit())
               and not text[toks[j - 1].end:toks[j].start].strip()):
            j += 1
        runs.append((i, j))
        i = j
    return runs


_SENTENCE_END = re.compile(r"[.!?][\"”’)\]]*\s+$")


def recase(text: str, names: NameIndex, widen: bool = True) -> str:
    """Prompt-friendly casing for screenplay text, the same rule everywhere, in any script:
    * a character name in CAPS is written as a name (`EDWARD’S` → `Edward’s`); in mixed-case
      text, up to two more CAPS words next to a name (not common words) are part of it
      (`DICK STEEL` for the cue `STEEL`), unless the run of CAPS is longer (a shout);
    * other CAPS (sounds and props: `the SCREEN DOOR SLAMS`) go to lower case, except `I` and,
      in mixed-case text, a lone short word (an acronym: POV, TV);
    * a word lowered at the start of a sentence gets a capital, so an all-CAPS paragraph reads
      as sentences (`THE DOOR OPENS. A MAN ENTERS.` → `The door opens. A man enters.`).
    `text` is one line (whitespace folded)."""
    toks = tokens(text)
    shouted = not any(ch.islower() for ch in text)
    found = names.find(toks)
    name_at = {k: cid for i, j, cid in found for k in range(i, j)}
    replace: dict[int, str] = {}
    for i, j, cid in found:  # a mixed-case name keeps its spelling, whatever the text's case
        spelled = names.spelling.get(cid, "").split()
        if len(spelled) == j - i:
            for k in range(i, j):
                suffix = _POSSESSIVE.search(toks[k].text)
                replace[k] = spelled[k - i] + (suffix.group(0).lower() if suffix else "")
    for i, j in caps_runs(toks, text):
        in_run = [k for k in range(i, j) if k in name_at]
        extra = [k for k in range(i, j) if k not in name_at]
        possessive = any(_POSSESSIVE.search(toks[k].text) for k in range(i, j - 1))
        if (widen and not shouted and in_run and len(extra) <= 2 and not possessive
                and all(toks[k].text.lower() not in _STOP for k in extra)):
            for k in range(i, j):
                replace.setdefault(k, title_word(toks[k].text))
            continue
        for k in range(i, j):
            word = toks[k].text
            if k in replace:
                continue
            if k in name_at:
                replace[k] = title_word(word)
            elif word == "I" or re.fullmatch(r"I['’][A-Z]+", word):
                replace[k] = word[:1] + word[1:].lower()
            elif not shouted and j - i == 1 and len(word) <= ACRONYM_MAX and word.lower() not in _STOP:
                replace[k] = word
            else:
                replace[k] = word.lower()
    out: list[str] = []
    pos = 0
    for k, tok in enumerate(toks):
        if k not in replace:
            continue
        word = replace[k]
        sentence_start = k == 0 or bool(_SENTENCE_END.search(text, max(0, tok.start - 8), tok.start))
        if sentence_start and word != tok.text and word[:1].islower():
            word = word[:1].upper() + word[1:]
        out.append(text[pos:tok.start])
        out.append(word)
        pos = tok.end
    out.append(text[pos:])
    result = "".join(out)
    return result[:1].upper() + result[1:]


# --------------------------------------------------------------------------------------------
# Ids
# --------------------------------------------------------------------------------------------

def slug(text: str, limit: int = 32) -> str:
    """An id ([a-z0-9_-]+) from text in any script: transliterated to ASCII (anyascii: `МАШA`
    → `mashA` → `masha`, `José` → `jose`, `李` → `li`), other characters dashed."""
    folded = anyascii(text)
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:limit].strip("-")
