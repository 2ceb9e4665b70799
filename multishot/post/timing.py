"""The film clock: where every shot starts, how long the film is, where each seam falls.

Every part of multishot that places shots in time reads this one module: assembly (how many
frames the film has), the OTIO export (clip trims and transition offsets), the metrics (where
a cut detector should find each seam), the planner (start frames, the plan table) and the
review page. Before it existed each did the arithmetic itself, and the metrics' copy, which
summed seconds and rounded at the end, put a seam one frame off whenever a transition was not
a whole number of frames (two 0.53 s dissolves at 16 fps: shot 3 at frame 47 instead of 48).

The rule (SHOTLIST.md): a shot of `d` seconds has `round(d * fps)` frames; a transition of `t`
seconds into the next shot makes the two shots share `round(t * fps)` frames, none for a hard
cut (post/vocabulary.py); the last shot's transition leads nowhere and is ignored. So the next
shot starts `frames - overlap` frames after this one, and the film is
`sum(frames) - sum(overlaps)` frames long. All of it is integer frame arithmetic: seconds are
rounded once, per shot and per transition, never summed.

Pure functions and frozen data only; it is in `post`, the lowest layer, so every layer reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, TypeVar

from multishot.post.vocabulary import is_hard_cut

N = TypeVar("N", int, float)


def shot_frames(seconds: float, fps: int) -> int:
    """Frames of a shot that lasts `seconds` (at least one)."""
    return max(1, round(seconds * fps))


def overlap_frames(transition: str, seconds: float, fps: int) -> int:
    """Frames two shots share across a transition of `seconds`: none for a hard cut."""
    return 0 if is_hard_cut(transition) else round(float(seconds or 0.0) * fps)


def starts(lengths: Sequence[N], overlaps: Sequence[N]) -> list[N]:
    """Where each shot starts when shot i shares `overlaps[i]` with shot i+1 (one overlap per
    seam; extra entries, such as a last shot's unused transition, are ignored). Works in frames
    (ints) and, for plans given in seconds, in seconds."""
    out: list[N] = []
    t = lengths[0] * 0 if lengths else 0
    for i, length in enumerate(lengths):
        out.append(t)
        if i + 1 < len(lengths):
            t = t + length - overlaps[i]
    return out


@dataclass(frozen=True)
class SeamTime:
    """Seam i, between shot i and shot i+1, in film frames."""

    index: int
    kind: str       # the transition type
    start: int      # first film frame of the incoming shot (the first blended one)
    overlap: int    # frames the two shots share; 0 for a hard cut

    @property
    def end(self) -> int:
        """First film frame that shows only the incoming shot."""
        return self.start + self.overlap

    @property
    def cut_point(self) -> int:
        """Where an editor's cut sits: the middle of the overlap (⌊N/2⌋ frames into it), the
        point an OTIO transition is centred on."""
        return self.start + self.overlap // 2


@dataclass(frozen=True)
class FilmClock:
    """A film's shots on the frame clock. `frames[i]` is shot i's length; `overlaps[i]` the
    frames shot i shares with shot i+1 and `kinds[i]` that transition's type (one per seam)."""

    fps: int
    frames: tuple[int, ...]
    overlaps: tuple[int, ...] = ()
    kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        seams = max(0, len(self.frames) - 1)
        if len(self.overlaps) != seams or len(self.kinds) != seams:
            raise ValueError(f"{len(self.frames)} shots need {seams} overlaps and kinds, "
                             f"got {len(self.overlaps)} and {len(self.kinds)}")

    @classmethod
    def of(cls, fps: int, shots: Sequence[tuple[int, str, float]]) -> "FilmClock":
        """From `(frames, transition type into the next shot, transition seconds)` per shot."""
        seams = list(shots[:-1])
        return cls(int(fps), tuple(int(f) for f, _, _ in shots),
                   tuple(overlap_frames(kind, sec, fps) for _, kind, sec in seams),
                   tuple(str(kind) for _, kind, _ in seams))

    @classmethod
    def of_seconds(cls, fps: int, shots: Sequence[tuple[float, str, float]]) -> "FilmClock":
        """From `(shot seconds, transition type, transition seconds)`, as a shot list gives them."""
        return cls.of(fps, [(shot_frames(d, fps), kind, sec) for d, kind, sec in shots])

    @property
    def starts(self) -> list[int]:
        """Film frame at which each shot becomes visible."""
        return starts(list(self.frames), list(self.overlaps))

    @property
    def ends(self) -> list[int]:
        """Film frame just after each shot's last frame."""
        return [s + f for s, f in zip(self.starts, self.frames)]

    @property
    def total(self) -> int:
        """Frames in the assembled film."""
        return sum(self.frames) - sum(self.overlaps)

    @property
    def duration(self) -> float:
        return self.total / self.fps

    @property
    def seams(self) -> list[SeamTime]:
        first = self.starts[1:]
        return [SeamTime(i, self.kinds[i], first[i], self.overlaps[i]) for i in range(len(first))]

    def incoming(self, i: int) -> int:
        """Frames shot i shares with the shot before it."""
        return self.overlaps[i - 1] if i else 0

    def outgoing(self, i: int) -> int:
        """Frames shot i shares with the shot after it."""
        return self.overlaps[i] if i < len(self.overlaps) else 0

    def trims(self, i: int) -> tuple[int, int]:
        """(head, tail) frames of shot i an editor's track leaves to the transitions around it
        when each cut sits in the middle of its overlap: ⌊N/2⌋ of the incoming overlap at the
        head, the rest (N − ⌊N/2⌋) of the outgoing one at the tail. The trimmed clips then add
        up to exactly the film's length (post/otio.py)."""
        n_in, n_out = self.incoming(i), self.outgoing(i)
        return n_in // 2, n_out - n_out // 2
