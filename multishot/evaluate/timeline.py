"""The planned film as plain data: where each shot sits and where each seam falls.

`evaluate` sits below `shotlist` and `plan` (layer rule), so it cannot read their types; callers
hand it these small records instead. They live in their own module, not in `metrics.py`, because
every metric module needs them and `metrics.py` imports every metric module; `metrics.py`
re-exports them, so `from multishot.evaluate.metrics import PlannedBoundary` works.

Time → frame convention (the one the assembler uses): frame `i` is shown during
`[i/fps, (i+1)/fps)`, so a shot that becomes visible at `t` starts at frame `round(t*fps)`.
A transition of duration `d` planned at `t` blends frames `round(t*fps) .. round((t+d)*fps) - 1`;
the last pure frame of the outgoing shot is the one before, the first pure frame of the incoming
shot is `round((t+d)*fps)`. For a hard cut (`d = 0`) both reduce to "the cut is at frame
`round(t*fps)`", which is also how PySceneDetect reports a cut (first frame of the new scene).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, Sequence

import numpy as np

from multishot.post.timing import FilmClock, starts
from multishot.post.vocabulary import is_hard_cut

BoundaryKind = Literal["cut", "gradual"]

def boundary_kind(transition: str) -> BoundaryKind:
    """Map a shot-list transition type to what a cut detector can be expected to see: hard cuts
    (post/vocabulary.py) are cuts, everything else blends over time."""
    return "cut" if is_hard_cut(transition) else "gradual"


@dataclass(frozen=True)
class PlannedBoundary:
    """One seam of the film as planned.

    `time` is when the incoming shot starts being visible (seconds from the film's start); for a
    gradual transition the two shots overlap during `[time, time + duration]`.
    """

    time: float
    kind: BoundaryKind
    duration: float = 0.0
    shot_out: str = ""
    shot_in: str = ""

    def frames(self, fps: float) -> tuple[int, int]:
        """(first blended frame, first pure incoming frame). Equal for a hard cut."""
        first = frame_at(self.time, fps)
        if self.kind == "cut":
            return first, first
        return first, max(first, frame_at(self.time + self.duration, fps))


class ShotSpan(NamedTuple):
    """A shot's place in the film, seconds; overlaps its neighbours by their transitions.
    A NamedTuple so callers may pass plain `(shot_id, start_s, end_s)` tuples."""

    shot_id: str
    start: float
    end: float


def frame_at(t: float, fps: float) -> int:
    """Index of the frame on screen when something planned for second `t` begins."""
    return int(round(t * fps))


def transition_mask(n_frames: int, boundaries: Sequence[PlannedBoundary], fps: float) -> np.ndarray:
    """True for frames that blend two shots (inside a gradual transition's overlap)."""
    mask = np.zeros(n_frames, dtype=bool)
    for b in boundaries:
        first, after = b.frames(fps)
        mask[max(0, first):max(0, min(n_frames, after))] = True
    return mask


def shot_interiors(n_frames: int, shots: Sequence[tuple[str, float, float]],
                   boundaries: Sequence[PlannedBoundary], fps: float) -> dict[str, range]:
    """Frames that show one shot and nothing else, per shot id (transition overlaps removed).

    Within a shot these frames are contiguous: overlaps only ever sit at a shot's head or tail.
    """
    blended = transition_mask(n_frames, boundaries, fps)
    out: dict[str, range] = {}
    for shot_id, start, end in shots:
        lo, hi = max(0, frame_at(start, fps)), min(n_frames, frame_at(end, fps))
        while lo < hi and blended[lo]:
            lo += 1
        while hi > lo and blended[hi - 1]:
            hi -= 1
        out[shot_id] = range(lo, hi)
    return out


def layout_timeline(
    shots: Sequence[tuple[str, float, str, float]], fps: int | None = None,
) -> tuple[list[ShotSpan], list[PlannedBoundary]]:
    """Spans and boundaries from `(shot_id, duration_s, transition_into_next, transition_s)`.

    Follows SHOTLIST.md: a transition's duration is taken from the overlap of the two shots, so
    the next shot starts `transition_s` before this one ends; hard cuts overlap by nothing.
    The last shot's transition is ignored (there is no next shot).

    With `fps` the plan is put on the film clock first (post/timing.py: durations and overlaps
    rounded to frames one by one, as the film is assembled), which is what a render must be
    measured against. Without it the layout stays in exact seconds, for plans that are not
    frame-aligned by construction (synthetic test films whose times are whole frames already).
    """
    if fps is not None:
        return clock_layout(FilmClock.of_seconds(fps, [(d, t, s) for _, d, t, s in shots]),
                            [shot_id for shot_id, *_ in shots])
    lengths = [float(d) for _, d, _, _ in shots]
    overlaps = [0.0 if is_hard_cut(t) else min(float(s), d) for (_, _, t, s), d in zip(shots, lengths)]
    begin = starts(lengths, overlaps)
    spans = [ShotSpan(shot_id, b, b + d) for (shot_id, *_), b, d in zip(shots, begin, lengths)]
    boundaries = [PlannedBoundary(time=begin[i + 1], kind=boundary_kind(shots[i][2]), duration=overlaps[i],
                                  shot_out=shots[i][0], shot_in=shots[i + 1][0])
                  for i in range(len(shots) - 1)]
    return spans, boundaries


def clock_layout(clock: FilmClock, shot_ids: Sequence[str]) -> tuple[list[ShotSpan], list[PlannedBoundary]]:
    """Spans and boundaries of a film on the frame clock, in seconds of whole frames, so every
    `frame_at` of them lands on the frame the assembler put there."""
    fps = clock.fps
    spans = [ShotSpan(sid, s / fps, e / fps) for sid, s, e in zip(shot_ids, clock.starts, clock.ends)]
    boundaries = [PlannedBoundary(time=seam.start / fps, kind=boundary_kind(seam.kind),
                                  duration=seam.overlap / fps, shot_out=shot_ids[seam.index],
                                  shot_in=shot_ids[seam.index + 1])
                  for seam in clock.seams]
    return spans, boundaries
