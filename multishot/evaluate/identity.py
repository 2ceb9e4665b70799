"""Measured identity: does a character look like itself across its shots, and unlike the others?

A weightless metric that works on any backend. For every shot a character is in, its still
(a keyframe, or a clip's first and last frame) is cut to the character's box where the backend
reported boxes (the animatic does), shrunk by `INSET` on every side so the background at the
box edges counts less, else taken whole. Each cut-out gets a fingerprint:

* a colour histogram: 18 hue x 3 saturation bins, normalised, brightness left out (a character
  walks from dusk into a lamp-lit room and keeps the colours of its clothes, not their
  brightness); similarity is the histogram intersection (1 = the same colour distribution);
* a perceptual hash (pHash): the 8x8 lowest frequencies of the 32x32 grey DCT, above-median bit
  per frequency (the DC term left out); similarity is 1 - Hamming distance / 63.

The score of two cut-outs is the mean of the two similarities. Per character the report gives
`same`: the mean score between its cut-outs in *different* shots, `other`: the mean score
against every other character's cut-outs, and `margin = same - other`. A margin above zero
says the character is recognisable as itself more than as anyone else; the colour part is
blind to two characters dressed alike and the hash part to lighting changes, which is why both
are reported beside the mean. Whole-frame fingerprints (no boxes) measure the shots, not the
person, and are marked so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import cv2
import numpy as np

Box = tuple[float, float, float, float]

_HUE_SAT_BINS = (18, 3)
#: Fraction of a box's width and height left out on each side.
INSET = 0.2
_HASH_SIZE = 8


@dataclass(frozen=True)
class Fingerprint:
    """One cut-out of one character in one shot."""

    char_id: str
    shot_id: str
    histogram: np.ndarray  # (18*3,) float, sums to 1
    phash: np.ndarray      # (63,) bool
    boxed: bool


@dataclass(frozen=True)
class CharacterIdentity:
    char_id: str
    shots: list[str]
    #: Mean score between this character's cut-outs in different shots; None in < 2 shots.
    same: float | None
    #: Mean score against every other character's cut-outs; None when it is the only one.
    other: float | None
    margin: float | None
    #: The colour and hash parts of `same` and `other`, for reading what moved.
    same_colour: float | None
    same_hash: float | None
    other_colour: float | None
    other_hash: float | None
    #: True when every cut-out used a reported box (False: whole keyframes were compared).
    boxed: bool


def crop(frame: np.ndarray, box: Box | None) -> np.ndarray:
    """The box's inner pixels (inset, clipped to the frame); the whole frame without a box or for
    an empty one."""
    if box is None:
        return frame
    h, w = frame.shape[:2]
    bx0, by0, bx1, by1 = box
    dx, dy = (bx1 - bx0) * INSET, (by1 - by0) * INSET
    x0, y0, x1, y1 = (int(round(v)) for v in (bx0 + dx, by0 + dy, bx1 - dx, by1 - dy))
    x0, x1 = max(0, min(w, x0)), max(0, min(w, x1))
    y0, y1 = max(0, min(h, y0)), max(0, min(h, y1))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return frame
    return frame[y0:y1, x0:x1]


def colour_histogram(region: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(np.ascontiguousarray(region, dtype=np.uint8), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, list(_HUE_SAT_BINS), [0, 180, 0, 256]).ravel()
    total = float(hist.sum())
    return hist / total if total > 0 else hist


def phash(region: np.ndarray) -> np.ndarray:
    """63 bits: the low 8x8 DCT frequencies of the 32x32 grey image above their median."""
    grey = cv2.cvtColor(np.ascontiguousarray(region, dtype=np.uint8), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:_HASH_SIZE, :_HASH_SIZE].ravel()[1:]
    return low > np.median(low)


def fingerprint(frame: np.ndarray, char_id: str, shot_id: str, box: Box | None = None) -> Fingerprint:
    region = crop(frame, box)
    return Fingerprint(char_id, shot_id, colour_histogram(region), phash(region), box is not None)


def colour_similarity(a: Fingerprint, b: Fingerprint) -> float:
    return float(np.minimum(a.histogram, b.histogram).sum())


def hash_similarity(a: Fingerprint, b: Fingerprint) -> float:
    return 1.0 - float(np.count_nonzero(a.phash != b.phash)) / a.phash.size


def score(a: Fingerprint, b: Fingerprint) -> float:
    return 0.5 * (colour_similarity(a, b) + hash_similarity(a, b))


def _means(pairs: Sequence[tuple[Fingerprint, Fingerprint]]) -> tuple[float | None, float | None, float | None]:
    if not pairs:
        return None, None, None
    colour = float(np.mean([colour_similarity(a, b) for a, b in pairs]))
    hashed = float(np.mean([hash_similarity(a, b) for a, b in pairs]))
    return 0.5 * (colour + hashed), colour, hashed


def identity_report(prints: Iterable[Fingerprint]) -> list[CharacterIdentity]:
    """Per character (sorted by id): same-character and other-character scores and their margin."""
    by_char: dict[str, list[Fingerprint]] = {}
    for fp in prints:
        by_char.setdefault(fp.char_id, []).append(fp)
    out = []
    for cid in sorted(by_char):
        mine = by_char[cid]
        same_pairs = [(a, b) for a, b in itertools.combinations(mine, 2) if a.shot_id != b.shot_id]
        other_pairs = [(a, b) for a in mine for oid, theirs in by_char.items() if oid != cid for b in theirs]
        same, same_c, same_h = _means(same_pairs)
        other, other_c, other_h = _means(other_pairs)
        out.append(CharacterIdentity(
            char_id=cid, shots=list(dict.fromkeys(fp.shot_id for fp in mine)), same=same, other=other,
            margin=None if same is None or other is None else same - other,
            same_colour=same_c, same_hash=same_h, other_colour=other_c, other_hash=other_h,
            boxed=all(fp.boxed for fp in mine)))
    return out


def shot_prints(shot_id: str, characters: Sequence[str], stills: Sequence[np.ndarray],
                boxes: Sequence[Mapping[str, Box] | None] | None = None) -> list[Fingerprint]:
    """Fingerprints of every character of one shot on each of its stills (`boxes[k]` go with
    `stills[k]`; a character without a box on a still is fingerprinted on the whole still)."""
    out = []
    for k, still in enumerate(stills):
        frame_boxes = (boxes[k] if boxes is not None and k < len(boxes) else None) or {}
        for cid in characters:
            out.append(fingerprint(still, cid, shot_id, frame_boxes.get(cid)))
    return out


def mean_margin(report: Sequence[CharacterIdentity]) -> float | None:
    values = [r.margin for r in report if r.margin is not None]
    return float(np.mean(values)) if values else None
