"""Assemble shot clips into one film, streaming frames into a single encoder.

Shots are decoded one after another and written straight into the film encoder; only a
transition's overlap is held in memory. A film is therefore one decode per shot and one encode,
whatever its length, and its frame count is exactly sum(shot frames) − sum(overlaps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from multishot.post.ffmpeg import H264_ARGS, VideoWriter, read_frames
from multishot.post.smoothing import ColourMatch, apply_colour_match
from multishot.post.transitions import blend_cut, transition_frames


@dataclass(frozen=True)
class Clip:
    """One shot as it enters the film."""

    path: Path
    frames: int
    colour: ColourMatch | None = None  # seam smoothing applied to this clip's first frames


@dataclass(frozen=True)
class Seam:
    """How clip i passes into clip i+1."""

    kind: str = "cut"
    overlap: int = 0            # frames shared by both clips (0 for hard cuts)
    blend: int = 0              # for soft `cut`s: frames each side leaning toward the other
    bridge: tuple[np.ndarray, ...] = field(default=(), compare=False)  # generated overlap frames


def film_length(clips: list[Clip], seams: list[Seam]) -> int:
    return sum(c.frames for c in clips) - sum(s.overlap for s in seams)


def film_frames(clips: list[Clip], seams: list[Seam]) -> Iterator[np.ndarray]:
    """Every frame of the film, in order."""
    if len(seams) != max(0, len(clips) - 1):
        raise ValueError("need one seam between each pair of clips")
    readers = [_clip_reader(c) for c in clips]
    consumed_in = 0                 # frames of this clip already taken by the previous seam
    carried: list[np.ndarray] = []  # …of which these still have to be written (soft cuts)
    for i, clip in enumerate(clips):
        reader = readers[i]
        seam = seams[i] if i < len(seams) else None
        hold = (seam.overlap or seam.blend) if seam is not None else 0
        body = clip.frames - consumed_in - hold
        if body < 0:
            raise ValueError(f"clip {clip.path.name} is shorter than its transitions")
        yield from carried
        for _ in range(body):
            yield next(reader)
        if seam is None:
            break
        tail = [next(reader) for _ in range(hold)]
        head = [next(readers[i + 1]) for _ in range(hold)]
        if seam.overlap:
            if seam.bridge and len(seam.bridge) != hold:
                raise ValueError("a bridge must have exactly the overlap's frame count")
            yield from (seam.bridge or transition_frames(seam.kind, tail, head))
            carried = []
        else:
            if seam.blend:
                tail, head = blend_cut(tail, head)
            yield from tail
            carried = head
        consumed_in = hold


def _clip_reader(clip: Clip) -> Iterator[np.ndarray]:
    for index, frame in enumerate(read_frames(clip.path)):
        yield apply_colour_match(frame, clip.colour, index) if clip.colour else frame


def assemble(clips: list[Clip], seams: list[Seam], out: Path, *, width: int, height: int,
             fps: int, on_frame: Callable[[int], None] | None = None,
             extra_args: tuple[str, ...] = H264_ARGS) -> int:
    """Write the film to `out` (atomically); return its frame count."""
    expected = film_length(clips, seams)
    with VideoWriter(out, width, height, fps, extra_args) as writer:
        for n, frame in enumerate(film_frames(clips, seams)):
            writer.write(frame)
            if on_frame:
                on_frame(n)
    if writer.frames != expected:
        raise RuntimeError(f"assembled {writer.frames} frames, expected {expected}")
    return writer.frames
