"""Seam discontinuity: how hard does the picture jump across each boundary, compared with how
much it moves anyway inside the two shots?

For each planned boundary we compare the last pure frame of the outgoing shot with the first pure
frame of the incoming one (for a gradual transition: the frames just outside its overlap) by

* colour: Hellinger (Bhattacharyya) distance between smoothed Lab histograms, in [0, 1];
* structure: 1 - SSIM of the grey images (Wang et al. 2004), in [0, 2], ~[0, 1] in practice,

and divide each by the median of the same distance between frames the same number of frames
apart inside the adjacent shots. The ratio reads "this seam jumps N times more than the shots
move by themselves": a raw cut between unrelated generations scores high, a colour-matched seam
lower, a continuous take about 1. The frame gap matters for gradual transitions: frames on both
sides of a 0.75 s dissolve are 12 frames apart at 16 fps, and 12 frames of ordinary motion is
not a discontinuity. `eps` keeps static (synthetic or still) shots from dividing by zero.

Lab rather than HSV: hue is undefined for greys and noisy for dark pixels, which generated
frames have plenty of; Lab distances also follow perceived colour differences better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from multishot.evaluate.timeline import PlannedBoundary, shot_interiors

#: Distances are computed on frames at most this wide; enough for colour and coarse structure.
SIGNATURE_WIDTH = 160
#: Floor for the in-shot baseline (both distances are ~0.01 for encoder noise alone).
EPS = 1e-2
#: Baseline pairs per shot, evenly spaced, to keep long shots cheap.
MAX_BASELINE_PAIRS = 48

_L_BINS, _AB_BINS = 8, 12
_AB_LO, _AB_HI = 64, 192  # natural colours sit here in OpenCV's 8-bit Lab (neutral = 128)


@dataclass(frozen=True)
class FrameSignature:
    """What the seam distances need of a frame: a Lab histogram and a grey image."""

    hist: np.ndarray  # (L*a*b bins,) float64, sums to 1
    grey: np.ndarray  # (h, w) float32

    @classmethod
    def of(cls, frame: np.ndarray) -> "FrameSignature":
        h, w = frame.shape[:2]
        if w > SIGNATURE_WIDTH:
            frame = cv2.resize(frame, (SIGNATURE_WIDTH, max(1, round(h * SIGNATURE_WIDTH / w))),
                               interpolation=cv2.INTER_AREA)
        return cls(hist=lab_histogram(frame),
                   grey=cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32))


def lab_histogram(pixels: np.ndarray) -> np.ndarray:
    """Normalised, smoothed joint Lab histogram of RGB uint8 pixels (any shape, last axis 3).

    Hard bins make near-identical colours on either side of a bin edge look completely
    different (a flat sky shifted by 2 units can score distance 1), so the counts are smoothed
    with a [1, 4, 6, 4, 1]/16 kernel (sigma = 1 bin) along each axis: small colour shifts give
    small distances and only unrelated palettes saturate.
    """
    lab = cv2.cvtColor(np.ascontiguousarray(pixels.reshape(-1, 1, 3)), cv2.COLOR_RGB2LAB)
    lab = lab.reshape(-1, 3).astype(np.int32)
    li = lab[:, 0] * _L_BINS // 256
    span = _AB_HI - _AB_LO
    ai = (np.clip(lab[:, 1], _AB_LO, _AB_HI - 1) - _AB_LO) * _AB_BINS // span
    bi = (np.clip(lab[:, 2], _AB_LO, _AB_HI - 1) - _AB_LO) * _AB_BINS // span
    idx = (li * _AB_BINS + ai) * _AB_BINS + bi
    hist = np.bincount(idx, minlength=_L_BINS * _AB_BINS * _AB_BINS).astype(np.float64)
    hist = _smooth(hist.reshape(_L_BINS, _AB_BINS, _AB_BINS)).ravel()
    return hist / max(hist.sum(), 1e-12)


def _smooth(h: np.ndarray, passes: int = 2) -> np.ndarray:
    for _ in range(passes):
        for axis in range(h.ndim):
            pad = [(1, 1) if a == axis else (0, 0) for a in range(h.ndim)]
            p = np.pad(h, pad)
            n = h.shape[axis]
            h = (0.25 * np.take(p, range(0, n), axis=axis) + 0.5 * np.take(p, range(1, n + 1), axis=axis)
                 + 0.25 * np.take(p, range(2, n + 2), axis=axis))
    return h


def hellinger(p: np.ndarray, q: np.ndarray) -> float:
    """Hellinger distance of two normalised histograms (OpenCV's HISTCMP_BHATTACHARYYA), [0, 1]."""
    return float(np.sqrt(max(0.0, 1.0 - float(np.sum(np.sqrt(p * q))))))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of two grey float images (Gaussian window, sigma 1.5)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda x: cv2.GaussianBlur(x, (11, 11), 1.5)  # noqa: E731
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)
    return float(np.mean(num / den))


def colour_distance(a: FrameSignature, b: FrameSignature) -> float:
    return hellinger(a.hist, b.hist)


def structure_distance(a: FrameSignature, b: FrameSignature) -> float:
    return 1.0 - ssim(a.grey, b.grey)


@dataclass(frozen=True)
class SeamScore:
    shot_out: str
    shot_in: str
    kind: str
    frame_before: int
    frame_after: int
    colour: float
    structure: float
    colour_baseline: float
    structure_baseline: float
    #: colour / max(colour_baseline, eps): the headline number, lower is smoother.
    colour_ratio: float
    structure_ratio: float


def seam_discontinuity(frames: Sequence[np.ndarray], boundaries: Sequence[PlannedBoundary],
                       shots: Sequence[tuple[str, float, float]], fps: float,
                       eps: float = EPS) -> list[SeamScore]:
    """Per-seam colour and structure jumps, each relative to the adjacent shots' own motion.

    `frames` is the whole film (any size; only frames near seams and inside the adjacent shots are
    looked at). Seams whose outside frames fall off the film are skipped.
    """
    n = len(frames)
    interiors = shot_interiors(n, shots, boundaries, fps)
    cache: dict[int, FrameSignature] = {}

    def sig(i: int) -> FrameSignature:
        if i not in cache:
            cache[i] = FrameSignature.of(np.asarray(frames[i]))
        return cache[i]

    def containing(i: int) -> range:
        return next((r for r in interiors.values() if i in r), range(i, i + 1))

    scores = []
    for b in boundaries:
        first, after = b.frames(fps)
        before = first - 1
        if before < 0 or after >= n:
            continue
        gap = after - before
        ranges = [interiors.get(b.shot_out) or containing(before),
                  interiors.get(b.shot_in) or containing(after)]
        pairs = [p for r in ranges for p in _spaced_pairs(r, gap)]
        colour_base = _median([colour_distance(sig(i), sig(j)) for i, j in pairs])
        struct_base = _median([structure_distance(sig(i), sig(j)) for i, j in pairs])
        colour = colour_distance(sig(before), sig(after))
        structure = structure_distance(sig(before), sig(after))
        scores.append(SeamScore(
            shot_out=b.shot_out, shot_in=b.shot_in, kind=b.kind,
            frame_before=before, frame_after=after, colour=colour, structure=structure,
            colour_baseline=colour_base, structure_baseline=struct_base,
            colour_ratio=colour / max(colour_base, eps),
            structure_ratio=structure / max(struct_base, eps),
        ))
    return scores


def mean_ratios(scores: Sequence[SeamScore]) -> tuple[float | None, float | None]:
    """Film-level (colour, structure) seam discontinuity: the mean ratio over seams."""
    if not scores:
        return None, None
    return (float(np.mean([s.colour_ratio for s in scores])),
            float(np.mean([s.structure_ratio for s in scores])))


def _spaced_pairs(r: range, gap: int) -> list[tuple[int, int]]:
    starts = list(range(r.start, r.stop - gap))
    if len(starts) > MAX_BASELINE_PAIRS:
        picks = np.linspace(0, len(starts) - 1, MAX_BASELINE_PAIRS).round().astype(int)
        starts = [starts[k] for k in sorted(set(picks.tolist()))]
    return [(i, i + gap) for i in starts]


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else 0.0
