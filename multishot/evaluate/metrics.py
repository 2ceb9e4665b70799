"""All weightless metrics of a rendered film, from one decode.

`evaluate_film` streams the film once through `multishot.post.ffmpeg`: PySceneDetect reads the
frames for cut detection (and downscales them itself), and a hook on the same stream keeps a
small thumbnail per frame for seams and flicker and pools character boxes at full resolution
for consistency. Everything else is plain arithmetic over those.

Inputs are plain data (`PlannedBoundary`, `ShotSpan`, `CharacterBoxes`) because `evaluate` sits
below `shotlist`/`plan` and may not import them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import cv2
import numpy as np
from rich.table import Table

from multishot.evaluate.consistency import (
    AppearanceAccumulator,
    Box,
    CharacterBoxes,
    CharacterConsistency,
    mean_consistency,
)
from multishot.evaluate.identity import CharacterIdentity
from multishot.evaluate.cuts import TCS_K, CutReport, FrameStream, detect_cuts, match_cuts
from multishot.evaluate.flicker import ShotFlicker, mean_flicker, mean_luma, shot_flicker
from multishot.evaluate.seams import SeamScore, mean_ratios, seam_discontinuity
from multishot.evaluate.timeline import (
    BoundaryKind,
    PlannedBoundary,
    ShotSpan,
    boundary_kind,
    frame_at,
    layout_timeline,
    shot_interiors,
)
from multishot.post.ffmpeg import FFmpegError, frame_size, read_frames

__all__ = [
    "BoundaryKind", "PlannedBoundary", "ShotSpan", "CharacterBoxes", "FilmMetrics",
    "boundary_kind", "layout_timeline", "evaluate_film", "metrics_table",
]

#: Width of the thumbnails kept per frame for seams and flicker.
ANALYSIS_WIDTH = 160


@dataclass(frozen=True)
class FilmMetrics:
    film: str
    fps: float
    frames: int
    width: int
    height: int
    cuts: CutReport
    seams: list[SeamScore]
    #: Mean seam jump relative to in-shot motion (colour, structure); lower is smoother.
    seam_colour: float | None
    seam_structure: float | None
    flicker: list[ShotFlicker]
    #: Mean |ΔY| per frame (8-bit luma levels) and its unexplained part, averaged over shots.
    flicker_mean: float | None
    jitter_mean: float | None
    consistency: list[CharacterConsistency] | None = None
    #: Mean pairwise colour distance per character across shots; lower is more consistent.
    consistency_mean: float | None = None
    #: Frames the plan says the film has (None when not known): a film that decodes to another
    #: count is damaged or truncated, and every number above describes the wrong film.
    planned_frames: int | None = None
    #: Per character: colour-histogram + perceptual-hash similarity across its shots vs against
    #: the other characters (evaluate/identity.py); None when no shot shows a character.
    identity: list[CharacterIdentity] | None = None
    #: Mean of the characters' identity margins (same - other; above 0 is recognisable).
    identity_margin: float | None = None

    @property
    def frames_problem(self) -> str | None:
        """A sentence when the decodable frames differ from the plan, else None."""
        if self.planned_frames is None or self.frames == self.planned_frames:
            return None
        return (f"{self.film} decodes to {self.frames} frames, the plan has {self.planned_frames}: the film is "
                "damaged or truncated (render it again: the cache is verified and the film is rebuilt)")

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (plain floats, ints, strings, lists, dicts; None for 'not defined')."""
        return _plain(dataclasses.asdict(self)) | {"duration": self.duration}


def evaluate_film(film_path: Path, boundaries: Sequence[PlannedBoundary],
                  shots: Sequence[tuple[str, float, float]], fps: float,
                  boxes: CharacterBoxes | Mapping[str, Sequence[Mapping[str, Box]]] | None = None,
                  *, detector: str = "adaptive", tolerance_frames: int = 2,
                  tcs_k: float = TCS_K, decode_width: int | None = 320) -> FilmMetrics:
    """Measure a rendered film against its plan: cuts, seams, flicker, character consistency.

    `shots` are `(shot_id, start_s, end_s)` spans (overlapping by their transitions);
    `boxes` (optional) are per-frame character boxes, see `CharacterBoxes`; a plain mapping
    `shot_id -> per-frame boxes` is accepted too.
    """
    film_path = Path(film_path)
    spans = [ShotSpan(*s) for s in shots]
    if boxes is not None and not isinstance(boxes, CharacterBoxes):
        boxes = CharacterBoxes(per_shot=boxes)

    thumbs: list[np.ndarray] = []
    size: list[int] = []
    appearance = AppearanceAccumulator()
    box_at = _boxes_by_frame(boxes, spans, boundaries, fps) if boxes else {}

    def on_frame(index: int, frame: np.ndarray) -> None:
        h, w = frame.shape[:2]
        if not size:
            size.extend((w, h))
        if w > ANALYSIS_WIDTH:
            thumbs.append(cv2.resize(frame, (ANALYSIS_WIDTH, max(1, round(h * ANALYSIS_WIDTH / w))),
                                     interpolation=cv2.INTER_AREA))
        else:
            thumbs.append(np.array(frame))
        if index in box_at:
            assert boxes is not None
            shot_id, frame_boxes = box_at[index]
            bw, bh = boxes.frame_size or (w, h)
            appearance.add(shot_id, frame, frame_boxes, scale=(w / bw, h / bh))

    # Decoding at a small size (ffmpeg scales while decoding) keeps evaluation a fraction of
    # render time; boxes drawn at full size are scaled to it.
    full_w, full_h = frame_size(film_path)
    decode_size = None
    if decode_width and full_w > decode_width:
        decode_size = (decode_width, max(2, round(full_h * decode_width / full_w / 2) * 2))
        if boxes is not None and boxes.frame_size is None:
            boxes = dataclasses.replace(boxes, frame_size=(full_w, full_h))
            box_at = _boxes_by_frame(boxes, spans, boundaries, fps)
    stream = FrameStream(read_frames(film_path, size=decode_size), fps, name=str(film_path), on_frame=on_frame)
    detected = detect_cuts(stream, detector)
    if not thumbs:
        raise FFmpegError(f"no frames decoded from {film_path}")

    cuts = match_cuts(detected, boundaries, fps, tolerance_frames, tcs_k, detector)
    seams = seam_discontinuity(thumbs, boundaries, spans, fps)
    seam_colour, seam_structure = mean_ratios(seams)
    flicker = shot_flicker([mean_luma(t) for t in thumbs], spans, boundaries, fps)
    flicker_mean, jitter_mean = mean_flicker(flicker)
    consistency = appearance.result(boxes.signatures) if boxes else None
    return FilmMetrics(
        film=str(film_path), fps=float(fps), frames=len(thumbs), width=full_w, height=full_h,
        cuts=cuts, seams=seams, seam_colour=seam_colour, seam_structure=seam_structure,
        flicker=flicker, flicker_mean=flicker_mean, jitter_mean=jitter_mean,
        consistency=consistency,
        consistency_mean=mean_consistency(consistency) if consistency is not None else None,
    )


def _boxes_by_frame(boxes: CharacterBoxes, spans: Sequence[ShotSpan],
                    boundaries: Sequence[PlannedBoundary],
                    fps: float) -> dict[int, tuple[str, Mapping[str, Box]]]:
    """Film frame index -> (shot, boxes) for the pure frames of every shot that has boxes."""
    if not spans:
        return {}
    n_max = frame_at(max(s.end for s in spans), fps) + 1
    interiors = shot_interiors(n_max, spans, boundaries, fps)
    out: dict[int, tuple[str, Mapping[str, Box]]] = {}
    for span in spans:
        per_frame = boxes.per_shot.get(span.shot_id)
        if not per_frame:
            continue
        start = frame_at(span.start, fps)
        for k, frame_boxes in enumerate(per_frame):
            if start + k in interiors[span.shot_id] and frame_boxes:
                out[start + k] = (span.shot_id, frame_boxes)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    return value


def _fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def metrics_table(metrics: FilmMetrics) -> Table:
    """A rich table of the film-level numbers, for the CLI and logs."""
    c = metrics.cuts
    table = Table(title=f"Metrics: {Path(metrics.film).name}", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("meaning", style="dim")
    table.add_row("cut precision", _fmt(c.precision),
                  f"{c.hard_found + c.gradual_found} of {c.hard_found + c.gradual_found + len(c.spurious)}"
                  f" detections match a planned boundary (±{c.tolerance_frames} frames)")
    planned = f"of {metrics.planned_frames} planned" if metrics.planned_frames is not None else "decoded"
    table.add_row("frames", str(metrics.frames),
                  planned + (" — DIFFERENT: damaged or truncated" if metrics.frames_problem else ""))
    table.add_row("cut recall", _fmt(c.recall), f"{c.hard_found} of {c.hard_total} hard cuts found")
    table.add_row("gradual seen", _fmt(c.gradual_rate),
                  f"{c.gradual_found} of {c.gradual_total} gradual transitions visible to {c.detector}")
    spurious = ", ".join(f"{t:.2f}s" for t in c.spurious_times[:6]) or "none"
    table.add_row("spurious cuts", str(len(c.spurious)), f"cuts inside shots: {spurious}")
    table.add_row(f"TCS (k={c.tcs_k:g})", _fmt(c.tcs, 3),
                  f"CineTrans's transition control: {c.detected_shots} shots seen / "
                  f"{c.visible_planned_shots} expected (1 is right); "
                  f"plain count {_fmt(c.tcs_raw, 3)} ({len(c.detected) + 1}/{c.planned_shots})")
    table.add_row("TCS (k=1)", _fmt(c.tcs_k1, 3), "the same counts at k = 1")
    table.add_row("seam colour jump", _fmt(metrics.seam_colour, 1, "×"),
                  "Lab-histogram distance across seams / in-shot motion (lower is smoother)")
    table.add_row("seam structure jump", _fmt(metrics.seam_structure, 1, "×"),
                  "1-SSIM across seams / in-shot motion")
    table.add_row("flicker", _fmt(metrics.flicker_mean),
                  "mean |Δ luma| per frame inside shots (8-bit levels)")
    table.add_row("flicker jitter", _fmt(metrics.jitter_mean),
                  "the part of it a smooth brightness change does not explain")
    if metrics.consistency is not None:
        table.add_row("character consistency", _fmt(metrics.consistency_mean, 3),
                      "mean colour distance of a character across shots (0 = identical)")
        for ch in metrics.consistency:
            extra = ("" if ch.signature_delta_e is None
                     else f", ΔE to signature {_fmt(ch.signature_delta_e, 1)}")
            table.add_row(f"  {ch.char_id}", _fmt(ch.pairwise, 3), f"in {len(ch.shots)} shots{extra}")
    if metrics.identity:
        table.add_row("identity margin", _fmt(metrics.identity_margin, 3),
                      "colour + pHash similarity of a character across its shots minus against others (> 0 good)")
        for ch in metrics.identity:
            where = "boxes" if ch.boxed else "whole keyframes"
            table.add_row(f"  {ch.char_id}", _fmt(ch.margin, 3),
                          f"same {_fmt(ch.same, 3)}, other {_fmt(ch.other, 3)}, {len(ch.shots)} shots, {where}")
    return table
