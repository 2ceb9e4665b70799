"""Character consistency: does each character look the same in every shot it appears in?

Needs to know where characters are: a backend that can report per-frame boxes (the animatic draws
its characters, so it knows) provides `{char_id: (x0, y0, x1, y1)}` per frame, in pixels of the
frame they go with. Per shot and character we pool the pixels inside the boxes (shrunk by
`INSET` on every side, so background at the box edges counts less) into

* a Lab colour histogram; consistency = mean pairwise Hellinger distance between a character's
  per-shot histograms, in [0, 1], lower = more consistent (0: identical colour distribution);
* a mean Lab colour; when a reference signature colour is known (the character bank's), the
  mean CIE76 ΔE between it and each shot's mean colour (≈2.3 is a just-noticeable difference).

This is a colour identity proxy: it cannot tell two same-coloured characters apart and it counts
a lighting change as a change, which is why it reports per character and per shot, not one score.
Work is streamed (`AppearanceAccumulator`), so a film's frames never need to sit in memory.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import cv2
import numpy as np

from multishot.evaluate.seams import hellinger, lab_histogram

Box = tuple[float, float, float, float]
RGB = tuple[int, int, int]

#: Fraction of the box width/height ignored on each side.
INSET = 0.1


@dataclass(frozen=True)
class ShotAppearance:
    """Plain input: one shot's frames and, per frame, where each character is."""

    shot_id: str
    frames: Sequence[np.ndarray]
    boxes: Sequence[Mapping[str, Box]]


@dataclass(frozen=True)
class CharacterBoxes:
    """Boxes for a whole film, as `evaluate_film` takes them.

    `per_shot[shot_id][k]` are the boxes on the k-th frame of that shot, counted from the frame
    where the shot starts in the film (its span start); frames inside transition overlaps are
    skipped. `frame_size` (w, h) is the frame the boxes were drawn on; None = the film's own.
    """

    per_shot: Mapping[str, Sequence[Mapping[str, Box]]]
    frame_size: tuple[int, int] | None = None
    signatures: Mapping[str, RGB] = field(default_factory=dict)


@dataclass(frozen=True)
class CharacterConsistency:
    char_id: str
    shots: list[str]
    #: Mean pairwise Hellinger distance of per-shot colour histograms; None if seen in < 2 shots.
    pairwise: float | None
    #: Mean CIE76 ΔE of per-shot mean colour to the signature colour; None without a signature.
    signature_delta_e: float | None
    #: Mean colour per shot (RGB 0..255), for the report page.
    shot_colours: dict[str, RGB]


def _lab_float(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 (..., 3) to true-scale Lab (L 0..100, a/b about -128..127)."""
    flat = np.ascontiguousarray(rgb.reshape(-1, 1, 3)).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float64)


def _rgb_of_lab(lab: np.ndarray) -> RGB:
    px = cv2.cvtColor(lab.astype(np.float32).reshape(1, 1, 3), cv2.COLOR_LAB2RGB).reshape(3)
    r, g, b = (int(round(float(np.clip(v, 0.0, 1.0)) * 255)) for v in px)
    return (r, g, b)


class AppearanceAccumulator:
    """Streams frames in, keeps per (shot, character) sums only."""

    def __init__(self, inset: float = INSET) -> None:
        self.inset = inset
        self._hist: dict[tuple[str, str], np.ndarray] = {}
        self._lab: dict[tuple[str, str], np.ndarray] = {}
        self._count: dict[tuple[str, str], int] = {}
        self._order: list[str] = []

    def add(self, shot_id: str, frame: np.ndarray, boxes: Mapping[str, Box],
            scale: tuple[float, float] = (1.0, 1.0)) -> None:
        """Pool the pixels inside each box; `scale` maps box pixels to `frame` pixels (sx, sy)."""
        if shot_id not in self._order:
            self._order.append(shot_id)
        h, w = frame.shape[:2]
        for char_id, (x0, y0, x1, y1) in boxes.items():
            x0, x1 = sorted((x0 * scale[0], x1 * scale[0]))
            y0, y1 = sorted((y0 * scale[1], y1 * scale[1]))
            dx, dy = (x1 - x0) * self.inset, (y1 - y0) * self.inset
            xa, xb = int(max(0, round(x0 + dx))), int(min(w, round(x1 - dx)))
            ya, yb = int(max(0, round(y0 + dy))), int(min(h, round(y1 - dy)))
            if xb <= xa or yb <= ya:
                continue
            patch = frame[ya:yb, xa:xb]
            n = patch.shape[0] * patch.shape[1]
            key = (shot_id, char_id)
            self._hist[key] = self._hist.get(key, 0.0) + lab_histogram(patch) * n
            self._lab[key] = self._lab.get(key, 0.0) + _lab_float(patch).sum(axis=0)
            self._count[key] = self._count.get(key, 0) + n

    def result(self, signatures: Mapping[str, RGB] | None = None) -> list[CharacterConsistency]:
        signatures = signatures or {}
        chars = sorted({c for _, c in self._count})
        out = []
        for char_id in chars:
            shots = [s for s in self._order if (s, char_id) in self._count]
            hists = [self._hist[(s, char_id)] / self._count[(s, char_id)] for s in shots]
            labs = [self._lab[(s, char_id)] / self._count[(s, char_id)] for s in shots]
            pairs = [hellinger(a, b) for a, b in itertools.combinations(hists, 2)]
            delta_e = None
            if char_id in signatures:
                ref = _lab_float(np.array(signatures[char_id], dtype=np.uint8).reshape(1, 3))[0]
                delta_e = float(np.mean([np.linalg.norm(lab - ref) for lab in labs]))
            out.append(CharacterConsistency(
                char_id=char_id, shots=shots,
                pairwise=float(np.mean(pairs)) if pairs else None,
                signature_delta_e=delta_e,
                shot_colours={s: _rgb_of_lab(lab) for s, lab in zip(shots, labs, strict=True)},
            ))
        return out


def character_consistency(shots: Sequence[ShotAppearance],
                          signatures: Mapping[str, RGB] | None = None,
                          inset: float = INSET) -> list[CharacterConsistency]:
    """Per-character consistency across shots (see the module docstring)."""
    acc = AppearanceAccumulator(inset)
    for shot in shots:
        if len(shot.frames) != len(shot.boxes):
            raise ValueError(f"shot {shot.shot_id}: {len(shot.frames)} frames but boxes for "
                             f"{len(shot.boxes)}; give one (possibly empty) mapping per frame")
        for frame, boxes in zip(shot.frames, shot.boxes, strict=True):
            acc.add(shot.shot_id, np.asarray(frame), boxes)
    return acc.result(signatures)


def mean_consistency(chars: Sequence[CharacterConsistency]) -> float | None:
    """Film-level consistency: mean pairwise distance over characters seen in 2+ shots."""
    values = [c.pairwise for c in chars if c.pairwise is not None]
    return float(np.mean(values)) if values else None
