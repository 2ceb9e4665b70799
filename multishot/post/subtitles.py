"""Subtitles from the shot list's `dialogue:` lines: timed inside each shot, written as SRT and
WebVTT (post/audio.py's `mux` adds them to an mp4 as a soft track), or burnt into frames.

Timing follows common subtitling practice (e.g. Netflix's timed-text style guide: about 17
characters per second for adults, at least 5/6 s on screen): each line of a shot gets a slot
proportional to its reading time, one line per speaker in the shot's order, starting a short
lead-in after the cut and never crossing into the next shot. Lines whose reading time does not
fit their shot are squeezed into it (the reading speed rises); `reading_overflow` names them, so
a caller that needs them to fit (a spoken track) can refuse them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from multishot.post.atomic import atomic_write_text

#: Characters per second a viewer reads comfortably, and the shortest time a line stays up.
READING_CPS = 17.0
MIN_LINE_S = 0.833
#: Seconds after a shot's first frame before its first line appears, and kept clear at its end.
LEAD_IN_S = 0.12
TAIL_S = 0.08


@dataclass(frozen=True)
class ShotLines:
    """What the subtitler needs of a shot: where it sits in the film and what is said."""

    shot_id: str
    start_frame: int
    num_frames: int
    lines: tuple[tuple[str, str], ...]  # (speaker, text) in order


@dataclass(frozen=True)
class Cue:
    start: float  # seconds, film time
    end: float
    speaker: str
    text: str
    shot_id: str
    speaker_id: str = ""

    def to_json(self) -> dict[str, object]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "speaker": self.speaker,
                "text": self.text, "shot": self.shot_id}


def clean_text(text: str) -> str:
    """One line of plain text: no control characters, whitespace collapsed (a cue's text never
    carries markup or a blank line, which would end the cue in SRT/VTT)."""
    return " ".join("".join(" " if (ord(c) < 32 or ord(c) == 127) else c for c in str(text)).split())


def reading_time(text: str) -> float:
    return max(MIN_LINE_S, len(clean_text(text)) / READING_CPS)


def reading_overflow(shot: ShotLines, fps: float) -> float:
    """Seconds by which the shot's lines, read at READING_CPS, exceed the shot (0 if they fit)."""
    need = sum(reading_time(t) for _, t in shot.lines)
    room = shot.num_frames / fps - LEAD_IN_S - TAIL_S
    return max(0.0, need - room)


def plan_cues(shots: Sequence[ShotLines], fps: float, names: dict[str, str] | None = None) -> list[Cue]:
    """Cues for every line, in film time. `names` maps speaker ids to display names."""
    names = names or {}
    cues: list[Cue] = []
    for shot in shots:
        lines = [(s, clean_text(t)) for s, t in shot.lines if clean_text(t)]
        if not lines:
            continue
        t0 = shot.start_frame / fps
        dur = shot.num_frames / fps
        lead = min(LEAD_IN_S, 0.1 * dur)
        room = max(dur - lead - min(TAIL_S, 0.1 * dur), 1e-3)
        needs = [reading_time(t) for _, t in lines]
        scale = min(1.0, room / sum(needs))
        at = t0 + lead
        for (speaker, text), need in zip(lines, needs):
            end = at + need * scale
            cues.append(Cue(at, end, names.get(speaker, speaker), text, shot.shot_id, speaker))
            at = end
    return cues


def _stamp(t: float, sep: str) -> str:
    ms = max(0, round(t * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _label(cue: Cue) -> str:
    return f"{cue.speaker.upper()}: {cue.text}" if cue.speaker else cue.text


def to_srt(cues: Sequence[Cue]) -> str:
    return "".join(f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{_label(c)}\n\n"
                   for i, c in enumerate(cues, 1))


def to_vtt(cues: Sequence[Cue]) -> str:
    """WebVTT; the speaker is a voice span (`<v Name>`), the text is escaped (never markup)."""
    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    body = "".join(f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n<v {esc(c.speaker)}>{esc(c.text)}\n\n"
                   for c in cues)
    return "WEBVTT\n\n" + body


def write_atomic(path: Path, text: str) -> Path:
    """Write a subtitle file atomically (post/atomic.py)."""
    return atomic_write_text(path, text)


class SubtitleBurner:
    """Draws the cue on screen into frames (film frame index -> cue), for `--burn-subtitles`.

    Each cue's text is rasterised once (Pillow, never interpreted) and alpha-composited over the
    lower part of the picture; frames without a cue pass through untouched."""

    def __init__(self, cues: Sequence[Cue], fps: float, width: int, height: int) -> None:
        self.fps, self.W, self.H = fps, width, height
        self.cues = list(cues)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, int, int]] = {}

    def _sprite(self, k: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        if k not in self._cache:
            from PIL import Image, ImageDraw, ImageFont

            px = max(10, round(self.H * 0.05))
            try:
                font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype("DejaVuSans.ttf", px)
            except OSError:
                font = ImageFont.load_default()
            text = _label(self.cues[k])
            draw = ImageDraw.Draw(Image.new("L", (1, 1)))
            try:
                x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font, stroke_width=2)
            except UnicodeEncodeError:
                text = text.encode("latin-1", "replace").decode("latin-1")
                x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font, stroke_width=2)
            w, h = min(self.W, x1 - x0 + 4), min(self.H, y1 - y0 + 4)
            rgb = Image.new("RGB", (w, h), (0, 0, 0))
            alpha = Image.new("L", (w, h), 0)
            ImageDraw.Draw(rgb).text((2 - x0, 2 - y0), text, font=font, fill=(255, 255, 240),
                                     stroke_width=2, stroke_fill=(10, 10, 10))
            ImageDraw.Draw(alpha).text((2 - x0, 2 - y0), text, font=font, fill=255, stroke_width=2,
                                       stroke_fill=255)
            x = max(0, (self.W - w) // 2)
            y = max(0, round(self.H * 0.84) - h)
            self._cache[k] = (np.asarray(rgb, np.float32), np.asarray(alpha, np.float32)[..., None] / 255.0, x, y)
        return self._cache[k]

    def __call__(self, index: int, frame: np.ndarray) -> np.ndarray:
        t = (index + 0.5) / self.fps
        for k, c in enumerate(self.cues):
            if c.start <= t < c.end:
                rgb, a, x, y = self._sprite(k)
                h, w = rgb.shape[:2]
                out = frame.copy()
                region = out[y:y + h, x:x + w].astype(np.float32)
                out[y:y + h, x:x + w] = (region * (1 - a) + rgb * a + 0.5).astype(np.uint8)
                return out
        return frame


__all__ = ["Cue", "ShotLines", "SubtitleBurner", "plan_cues", "reading_overflow",
           "to_srt", "to_vtt", "write_atomic"]
