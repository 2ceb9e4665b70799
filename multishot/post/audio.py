"""The scratch dialogue track: spoken lines placed at their subtitle times, mixed, muxed as AAC.

A shot's lines are spoken in order, each starting at its cue (post/subtitles.py) or just after
the previous line ends, whichever is later; a shot whose lines would run past its last frame is
refused (`overflows`), because in a film the next shot would cut the sentence off.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from multishot.post.subtitles import Cue

#: Silence kept between two lines of one shot, and before a shot's last frame.
GAP_S = 0.06
END_S = 0.02


@dataclass(frozen=True)
class Spoken:
    """One line as heard: where it starts in the film and its samples."""

    start: float
    samples: np.ndarray
    shot_id: str


@dataclass(frozen=True)
class Overflow:
    shot_id: str
    needed: float    # seconds the shot's lines take, spoken
    available: float  # seconds from the first line's start to the shot's end

    def __str__(self) -> str:
        return (f"its dialogue takes {self.needed:.2f}s to say but the shot leaves {self.available:.2f}s; "
                f"lengthen the shot (duration) or shorten the lines")


def place(cues: Sequence[Cue], samples: Sequence[np.ndarray], rate: int,
          shot_ends: dict[str, float]) -> tuple[list[Spoken], list[Overflow]]:
    """Start times of the spoken lines, and the shots whose lines do not fit before their end."""
    spoken: list[Spoken] = []
    need: dict[str, tuple[float, float]] = {}  # shot -> (first start, last end)
    prev_end: dict[str, float] = {}
    for cue, pcm in zip(cues, samples, strict=True):
        start = max(cue.start, prev_end.get(cue.shot_id, -1.0) + GAP_S)
        end = start + len(pcm) / rate
        prev_end[cue.shot_id] = end
        first = need.get(cue.shot_id, (start, end))[0]
        need[cue.shot_id] = (first, end)
        spoken.append(Spoken(start, pcm, cue.shot_id))
    over = [Overflow(shot, end - first, shot_ends[shot] - END_S - first)
            for shot, (first, end) in need.items() if end > shot_ends[shot] - END_S]
    return spoken, over


def mix(spoken: Sequence[Spoken], rate: int, seconds: float, offset: float = 0.0) -> np.ndarray:
    """int16 mono samples of `seconds` of film from `offset`, every line added at its start."""
    n = max(1, round(seconds * rate))
    acc = np.zeros(n, np.int32)
    for line in spoken:
        at = round((line.start - offset) * rate)
        a, b = max(0, at), min(n, at + len(line.samples))
        if b > a:
            acc[a:b] += line.samples[a - at:b - at]
    return np.clip(acc, -32768, 32767).astype(np.int16)


def write_wav(path: Path, pcm: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(pcm, "<i2").tobytes())
    return path


#: AAC at 96 kb/s, 48 kHz mono: plenty for a scratch voice.
AAC_ARGS = ("-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "1")


def mux(video: Path, out: Path, *, wav: Path | None = None, srt: Path | None = None) -> None:
    """`video`'s picture copied into `out` with an AAC track from `wav` and/or a mov_text
    subtitle track from `srt` (one ffmpeg call, argument list, no re-encode of the picture)."""
    from multishot.post.ffmpeg import run_ffmpeg

    args = ["-i", str(video)]
    maps = ["-map", "0:v"]
    codecs = ["-c:v", "copy"]
    k = 1
    if wav is not None:
        args += ["-i", str(wav)]
        maps += ["-map", f"{k}:a"]
        codecs += list(AAC_ARGS)
        k += 1
    if srt is not None:
        args += ["-f", "srt", "-i", str(srt)]
        maps += ["-map", f"{k}:s"]
        codecs += ["-c:s", "mov_text", "-metadata:s:s:0", "language=eng"]
    run_ffmpeg([*args, *maps, *codecs, "-movflags", "+faststart", "-f", "mp4", str(out)])


__all__ = ["AAC_ARGS", "Overflow", "Spoken", "mix", "mux", "place", "write_wav"]
