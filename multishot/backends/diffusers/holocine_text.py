"""HoloCine's text side: the one prompt string, its token spans, the per-shot text windows, and the
frame cuts -- each reproduced exactly as HoloCine's own code computes them.

HoloCine (Meng et al., "HoloCine: Holistic Generation of Cinematic Multi-Shot Long Video
Narratives", arXiv 2510.20822) encodes a whole scene as ONE prompt,

    [global caption] <global> This scene contains N shots. [per shot caption] <s1> [shot cut] <s2> ...

runs the text encoder once over it, and then lets each shot's video tokens read only the global
part, their own shot's part and the padding ("window cross-attention"). The model was trained with
exactly these strings and windows, so a re-implementation must hit them token for token: a window
that is off by one token (HoloCine's windows each carry one extra token past the span) moves the
output by ~0.1 on the parity goldens (``../shared/parity/holocine/README.md``).

What each function reproduces of HoloCine's released inference (yihao-meng/HoloCine at ab32068),
described by behaviour, written here from scratch:

- `holocine_prompt` -- the multi-shot prompt string its inference scripts assemble;
- `snap_4t_plus_1`, `holocine_cut_frames` -- its rounding of cuts to 4t+1 frames and its
  automatic cut rule;
- `latent_shot_frames` -- how its shot embedding maps pixel cuts to latent cuts;
- `holocine_token_spans` -- how its prompter tokenises the prompt once (whitespace cleaning)
  and finds each caption's token span;
- `holocine_visible_text` -- the cross-attention mask its DiT forward builds from those spans.

Nothing here imports torch, ftfy or transformers at module level: the planner may import
`compose_holocine_captions` without loading a model stack.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Sequence

GLOBAL_MARK = "[global caption]"
PER_SHOT_MARK = "[per shot caption]"
SHOT_CUT_MARK = "[shot cut]"
MARKERS = (GLOBAL_MARK, PER_SHOT_MARK, SHOT_CUT_MARK)

#: `\s` of the `regex` module that HoloCine's prompter uses: the Unicode White_Space property.
#: Stdlib `re`'s `\s` also matches U+001C..U+001F; spelled out so the two agree without `regex`.
_WHITESPACE = re.compile("[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


# --------------------------------------------------------------------------------------------
# The prompt string
# --------------------------------------------------------------------------------------------

def holocine_prompt(global_caption: str, shot_captions: Sequence[str]) -> str:
    """The exact prompt HoloCine's inference scripts build from structured input.

    The shot count sentence is appended (after stripping the global caption) only when the caption
    does not already contain "This scene contains" -- HoloCine's own test, kept verbatim, so a
    caption that says it itself is left untouched (not even stripped). Shot captions are joined
    as given.

    Stricter than the reference in one way: inputs that would silently break the token spans
    raise ValueError -- an empty caption (HoloCine's run script then switches to raw-prompt mode,
    and an empty last shot gets no tokens, which makes the reference drop the whole cross mask)
    and a caption that contains one of the three markers (it would start a span of its own).
    """
    shots = list(shot_captions)
    if not global_caption or not global_caption.strip():
        raise ValueError("HoloCine needs a non-empty global caption")
    if not shots:
        raise ValueError("HoloCine needs at least one shot caption")
    for where, text in [("global caption", global_caption)] + [(f"shot {i + 1}", s) for i, s in enumerate(shots)]:
        if not text or not text.strip():
            raise ValueError(f"{where}: empty caption (every HoloCine shot needs text of its own)")
        for mark in MARKERS:
            if mark in text:
                raise ValueError(f"{where}: contains HoloCine's marker {mark!r}, which would start a "
                                 "span of its own; rephrase it")
    if "This scene contains" not in global_caption:
        global_caption = global_caption.strip() + f" This scene contains {len(shots)} shots."
    per_shot = f" {SHOT_CUT_MARK} ".join(shots)
    return f"{GLOBAL_MARK} {global_caption} {PER_SHOT_MARK} {per_shot}"


# --------------------------------------------------------------------------------------------
# Frames: 4t+1 counts, cuts, latent frames per shot
# --------------------------------------------------------------------------------------------

def snap_4t_plus_1(n: int) -> int:
    """The nearest 4t+1 (HoloCine's cut rounding): Wan's VAE turns 4t+1 pixel frames into
    t+1 latent frames. Python's `round` is banker's rounding, so ties go to the even t:
    3 -> 1, 7 -> 9, 11 -> 9."""
    return 4 * round((n - 1) / 4) + 1


def holocine_cut_frames(total_frames: int, n_shots: int, custom: Sequence[int] | None = None) -> list[int]:
    """HoloCine's shot cut frames (pixel index of the first frame of shots 2..N), as its
    HoloCine's scripts compute them for a clip of `snap_4t_plus_1(total_frames)` frames.

    Without `custom` (or with an empty one -- the reference tests truthiness) the clip is split
    evenly: cut i is `snap(round(i * total / n_shots))`. Custom cuts are only snapped. Either way
    the cuts are then deduplicated, sorted and kept only strictly inside the clip -- so, as in the
    reference, there can be fewer cuts than `n_shots - 1` (the surplus captions then go unused);
    `latent_shot_frames` is the check that refuses that.
    """
    if n_shots < 1:
        raise ValueError(f"n_shots must be at least 1, got {n_shots}")
    total = snap_4t_plus_1(total_frames)
    if custom:
        cuts = [snap_4t_plus_1(f) for f in custom]
    else:
        step = total / n_shots
        cuts = [snap_4t_plus_1(round(i * step)) for i in range(1, n_shots)]
    return [f for f in sorted(set(cuts)) if 0 < f < total]


def latent_shot_frames(total_frames: int, cut_frames: Sequence[int]) -> list[int]:
    """Latent frames per shot for one continuous clip of `total_frames` pixel frames cut at
    `cut_frames` (first pixel frame of shots 2..N), by HoloCine's shot-embedding rule:
    latent cut = `(f - 1) // 4 + 1` over `(total - 1) // 4 + 1` latent frames. The golden's
    37 frames cut at [13, 25] give [4, 3, 3].

    The reference silently drops cuts at or past the end and merges cuts that land on the same
    latent frame, leaving a caption without frames (or frames read by the wrong caption). Here
    each of those is a ValueError that names the cut.
    """
    if total_frames < 1:
        raise ValueError(f"total_frames must be at least 1, got {total_frames}")
    n_latent = (total_frames - 1) // 4 + 1
    bounds = [0]
    for i, f in enumerate(cut_frames):
        lat = (f - 1) // 4 + 1
        if i and lat == bounds[-1]:
            raise ValueError(f"shot cuts at frames {cut_frames[i - 1]} and {f} collapse onto latent frame "
                             f"{lat} (latent = (f-1)//4+1); put cuts at least 4 frames apart")
        if i and lat < bounds[-1]:
            raise ValueError(f"shot cut frames must increase: {f} comes after {cut_frames[i - 1]}")
        if lat <= bounds[-1]:
            what = "the clip start" if i == 0 else f"the cut at frame {cut_frames[i - 1]}"
            raise ValueError(f"shot cut at frame {f} (latent frame {lat}) leaves no latent frame after "
                             f"{what}: shot {i + 1} would get zero latent frames")
        bounds.append(lat)
    if bounds[-1] >= n_latent:
        raise ValueError(f"shot cut at frame {cut_frames[-1]} (latent frame {bounds[-1]}) leaves the last "
                         f"shot zero latent frames: {total_frames} frames have {n_latent} latent frames")
    bounds.append(n_latent)
    return [b - a for a, b in zip(bounds, bounds[1:])]


def cuts_from_shot_lengths(frames_per_shot: Sequence[int]) -> tuple[int, list[int]]:
    """(total frames, cut frames) of one continuous HoloCine clip whose shots last about
    `frames_per_shot` frames: the total and every cumulative start frame of shots 2..N snapped to
    4t+1, so each cut falls on a latent frame boundary (pixel frame 4t+1 is the first frame of
    latent frame t+1). Unlike a stack of separate clips, a shot need not be 4k+1 frames itself:
    [13, 12, 12] gives (37, [13, 25]), HoloCine's golden layout.

    Raises ValueError when snapping leaves a shot without latent frames (shots shorter than about
    4 frames).
    """
    lengths = list(frames_per_shot)
    if not lengths:
        raise ValueError("need at least one shot")
    for i, n in enumerate(lengths):
        if n < 1:
            raise ValueError(f"shot {i + 1}: {n} frames; every shot needs at least one")
    total = snap_4t_plus_1(sum(lengths))
    cuts, start = [], 0
    for n in lengths[:-1]:
        start += n
        cuts.append(snap_4t_plus_1(start))
    latent_shot_frames(total, cuts)  # raises when a shot ends up with no latent frames
    return total, cuts


# --------------------------------------------------------------------------------------------
# Token spans and the per-shot text windows
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromptSpans:
    """Token spans of one HoloCine prompt, ends exclusive: `global_span` covers
    `[global caption] ... N shots.` (None without that marker); `shots[k]` covers shot k's caption
    including the `[shot cut]` that ends it. HoloCine's `positions` dict, typed."""

    global_span: tuple[int, int] | None
    shots: tuple[tuple[int, int], ...]

    def to_positions(self) -> dict[str, Any]:
        """HoloCine's own form, `{'global': [a, b] | None, 'shots': [[a, b], ...]}`."""
        return {"global": list(self.global_span) if self.global_span is not None else None,
                "shots": [list(s) for s in self.shots]}


def clean_whitespace(text: str) -> str:
    """HoloCine's `clean='whitespace'` (also Wan's and diffusers' `prompt_clean`): ftfy, HTML
    entities unescaped twice, whitespace runs collapsed to one space, ends stripped."""
    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return _WHITESPACE.sub(" ", text).strip()


def _char_spans(prompt: str) -> list[tuple[int, int, int]]:
    """(span id, start char, end char) as `encode_prompt` finds them: -1 for the global span, from
    its marker to the per-shot marker; shot k from the previous boundary (the per-shot marker for
    shot 0) up to and including its `[shot cut]`; the last shot to the end of the string."""
    spans: list[tuple[int, int, int]] = []
    g = prompt.find(GLOBAL_MARK)
    p = prompt.find(PER_SHOT_MARK)
    if g >= 0:
        spans.append((-1, g, p if p >= 0 else len(prompt)))
    if p >= 0:
        start, shot = p, 0
        for m in re.finditer(re.escape(SHOT_CUT_MARK), prompt):
            spans.append((shot, start, m.end()))
            start, shot = m.end(), shot + 1
        if start < len(prompt):
            spans.append((shot, start, len(prompt)))
    return spans


def holocine_token_spans(tokenizer: Any, prompt: str, text_len: int) -> tuple[PromptSpans, dict[str, Any]]:
    """Tokenize `prompt` once, as HoloCine's prompter does, and return its
    token spans plus the tokenizer output (`input_ids`, `attention_mask`: (1, text_len) int64
    tensors; `offset_mapping`: (text_len, 2)).

    `tokenizer` is a fast Hugging Face tokenizer (offsets need one), e.g. Wan's umT5 tokenizer.
    The prompt is cleaned (`clean_whitespace`), padded to `text_len` and truncated. A token belongs
    to the first char span (global first, then shots in order) its offsets overlap; a span's token
    range is [min, max + 1]. Special and pad tokens (empty offsets) belong to none, so `</s>` is
    outside every span.

    Reproduced quirks of the reference (all inert for a `holocine_prompt` string):
    - the char spans are found in the RAW prompt but the offsets index the CLEANED one, so
      leading or doubled whitespace shifts tokens across span borders;
    - a token's offsets include its leading space (Metaspace `▁`), so the `▁[` of
      `[per shot caption]` overlaps the global char span and counts as global;
    - a shot whose span holds no token is skipped, not kept empty, so later shots move up a slot.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError("holocine_token_spans needs a fast tokenizer (use_fast=True): the spans come "
                        "from its character offsets")
    enc = tokenizer([clean_whitespace(prompt)], padding="max_length", truncation=True, max_length=text_len,
                    add_special_tokens=True, return_attention_mask=True, return_offsets_mapping=True,
                    return_tensors="pt")
    offsets = enc["offset_mapping"][0]
    char_spans = _char_spans(prompt)
    owner: dict[int, list[int]] = {}
    for i, (start, end) in enumerate(offsets.tolist()):
        if start == end:
            continue
        for span_id, s0, s1 in char_spans:
            if not (end <= s0 or start >= s1):
                owner.setdefault(span_id, []).append(i)
                break
    glob = owner.get(-1)
    spans = PromptSpans(
        global_span=(min(glob), max(glob) + 1) if glob else None,
        shots=tuple((min(owner[k]), max(owner[k]) + 1) for k in sorted(owner) if k >= 0),
    )
    return spans, {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                   "offset_mapping": offsets}


def _merge(ranges: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(r for r in ranges if r[1] > r[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def holocine_visible_text(spans: PromptSpans, text_len: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Per shot, the text tokens its video tokens may read in cross-attention, as disjoint sorted
    (start, end) ranges -- HoloCine's mask, in the form multishot's shot attention takes.

    HoloCine allows `[g0, g1 + 1)` (the global span plus one token: the first token of shot 0),
    `[s0, s1 + 1)` (the shot's span plus one token: the next shot's first token, or `</s>` for the
    last shot) and the padding `[max_end + 1, text_len)`, with `max_end` the largest span end.
    It ORs these boolean masks; listed as ranges they overlap, and a key listed twice would
    weigh twice in the softmax (+ln 2 on its logit), hence the merge into disjoint ranges.

    Without a global span the reference builds no mask at all (every shot reads everything), so
    each shot gets the full `(0, text_len)`. Apply the result to the positive prompt only: HoloCine
    leaves the negative prompt's cross-attention unmasked.
    """
    if spans.global_span is None:
        return tuple(((0, text_len),) for _ in spans.shots)
    g0, g1 = spans.global_span
    pad_start = max([g1] + [s1 for _, s1 in spans.shots]) + 1

    def clip(a: int, b: int) -> tuple[int, int]:  # what torch's `mask[a:b] = True` touches
        return min(max(a, 0), text_len), min(max(b, 0), text_len)

    return tuple(_merge([clip(g0, g1 + 1), clip(s0, s1 + 1), clip(pad_start, text_len)])
                 for s0, s1 in spans.shots)


# --------------------------------------------------------------------------------------------
# Character tags
# --------------------------------------------------------------------------------------------

def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?" else text + "."


def compose_holocine_captions(global_text: str, shot_texts: Sequence[str],
                              characters: Sequence[tuple[str, str]]) -> tuple[str, list[str]]:
    """Global and shot captions in HoloCine's character convention: the global caption introduces
    each character once (`[character1] is <description>.`, in the order given) and every caption
    refers to them only by tag. HoloCine was trained on such captions (see the examples in its
    inference scripts), which is how one description binds to a person across shots.

    A character's name is replaced by its tag as a whole word, case-insensitively, with any run of
    whitespace between the words of a multi-word name -- in the shot texts, in `global_text` and in
    the other characters' descriptions ("Mara's" becomes "[character1]'s"; a description keeps its
    own character's name). Longer names win over
    names they contain ("Ann Lee" before "Ann"), and a replaced tag is never matched again.
    """
    seen: set[str] = set()
    for i, (name, description) in enumerate(characters, start=1):
        key = " ".join(name.split()).casefold()
        if not key:
            raise ValueError(f"character {i}: empty name")
        if key in seen:
            raise ValueError(f"character {i}: name {name!r} is given twice")
        if not description.strip():
            raise ValueError(f"character {i} ({name}): empty description")
        seen.add(key)

    # One named group per character, longest name first, so "Ann Lee" wins over "Ann".
    def name_pattern(i: int) -> str:
        words = r"\s+".join(re.escape(w) for w in characters[i][0].split())
        return rf"(?P<c{i + 1}>(?<!\w){words}(?!\w))"

    order = sorted(range(len(characters)), key=lambda i: -len(" ".join(characters[i][0].split())))
    pattern = re.compile("|".join(name_pattern(i) for i in order), re.IGNORECASE) if characters else None

    def tag(text: str, own: int | None = None) -> str:
        """`own`: the character whose description this is; it keeps its own name ("an old
        fisherman" stays, rather than "[character1] is an old [character1]")."""
        if pattern is None:
            return text
        return pattern.sub(lambda m: m.group(0) if m.lastgroup == f"c{own}" else f"[character{m.lastgroup[1:]}]",
                           text)

    intro = " ".join(_sentence(f"[character{i}] is {tag(desc.strip(), own=i)}")
                     for i, (_, desc) in enumerate(characters, start=1))
    global_caption = " ".join(x for x in (tag(global_text.strip()), intro) if x)
    return global_caption, [tag(t) for t in shot_texts]
