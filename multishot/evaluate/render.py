"""Measure a finished render from its folder: the manifest says what was planned (shots, frames,
transitions), the cached clips say where characters were; evaluate/ does the measuring."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from multishot.evaluate.identity import mean_margin
from multishot.evaluate.identity_render import render_identity
from multishot.evaluate.metrics import CharacterBoxes, FilmMetrics, evaluate_film
from multishot.evaluate.timeline import PlannedBoundary, ShotSpan, clock_layout
from multishot.post.atomic import atomic_write_text
from multishot.post.manifest_record import RenderManifest, as_manifest, read_manifest
from multishot.post.render_folder import RenderFolder


class NotARender(ValueError):
    """The folder or file given to `multishot eval` is not a multishot render."""


def find_render(path: Path) -> tuple[Path, Path]:
    """(render folder, film file) from a film.mp4 or a render folder."""
    path = Path(path)
    if not path.exists():
        raise NotARender(f"{path} does not exist: pass a folder made by `multishot render` (renders/<title>/)")
    folder = path if path.is_dir() else path.parent
    film = path if path.is_file() else RenderFolder(folder).film
    if not RenderFolder(folder).is_render():
        raise NotARender(f"{folder} has no manifest.json: pass a folder made by `multishot render` (renders/<title>/)")
    if not film.is_file():
        raise NotARender(f"{film} does not exist: the render is not finished (run `multishot render` again)")
    return folder, film


def planned_timeline(manifest: RenderManifest | dict[str, Any]) -> tuple[list[ShotSpan], list[PlannedBoundary]]:
    """Where the manifest's shots and seams are in the film, on the same frame clock the
    assembler and the OTIO export use (post/timing.py)."""
    record = as_manifest(manifest)
    return clock_layout(record.clock(), record.shot_ids())


def character_boxes(folder: Path, manifest: RenderManifest | dict[str, Any]) -> CharacterBoxes | None:
    """Per-shot character boxes saved beside each clip by backends that can report them."""
    per_shot: dict[str, list[dict[str, Any]]] = {}
    for entry in as_manifest(manifest).artifacts:
        if entry.stage != "video":
            continue
        info = folder / entry.path / "info.json"
        if info.is_file():
            boxes = json.loads(info.read_text()).get("boxes")
            if boxes:
                per_shot[entry.item] = [{k: tuple(v) for k, v in frame.items()} for frame in boxes]
    return CharacterBoxes(per_shot=per_shot) if per_shot else None


def evaluate_render(path: Path, manifest_override: dict[str, Any] | None = None) -> FilmMetrics:
    """Metrics of a render (a folder or its film.mp4) against the plan in its manifest, or
    against `manifest_override` (the plan rebuilt from a shot list)."""
    folder, film = find_render(path)
    manifest = read_manifest(RenderFolder(folder).manifest)
    plan = as_manifest(manifest_override) if manifest_override else manifest
    spans, boundaries = planned_timeline(plan)
    metrics = evaluate_film(film, boundaries, spans, float(plan.fps), boxes=character_boxes(folder, manifest))
    identity = render_identity(folder, manifest)
    return dataclasses.replace(metrics, planned_frames=plan.frames,
                               identity=identity, identity_margin=mean_margin(identity) if identity else None)


def write_metrics(folder: Path, metrics: FilmMetrics) -> Path:
    return atomic_write_text(RenderFolder(folder).metrics, json.dumps(metrics.to_json(), indent=2))
