"""The identity metric of a finished render (evaluate/identity.py) from its folder: every
shot's first and last frame (kept beside each cached clip), cut to each character's box where
the backend saved boxes (info.json), whole otherwise; the manifest says who is in which shot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from PIL import Image

from multishot.evaluate.identity import CharacterIdentity, Fingerprint, identity_report, shot_prints
from multishot.post.manifest_record import RenderManifest, as_manifest


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def render_prints(folder: Path, manifest: RenderManifest | Mapping[str, Any]) -> list[Fingerprint]:
    """Fingerprints of every character on its shots' first and last frames."""
    record = as_manifest(manifest)
    cast = {s.id: list(s.characters) for s in record.shots}
    clips: dict[str, Path] = {}
    for entry in record.artifacts:
        if entry.stage == "video" and entry.item in cast:
            clips[entry.item] = Path(folder) / entry.path
    prints: list[Fingerprint] = []
    for shot_id, characters in cast.items():
        clip = clips.get(shot_id)
        if not characters or clip is None or not (clip / "first.png").is_file() or not (clip / "last.png").is_file():
            continue
        boxes = None
        info = clip / "info.json"
        if info.is_file():
            per_frame = json.loads(info.read_text()).get("boxes") or []
            if per_frame:
                boxes = [{k: tuple(v) for k, v in per_frame[i].items()} for i in (0, -1)]
        prints += shot_prints(shot_id, characters, [_png(clip / "first.png"), _png(clip / "last.png")], boxes)
    return prints


def render_identity(folder: Path, manifest: RenderManifest | Mapping[str, Any]) -> list[CharacterIdentity] | None:
    """Per character identity scores of a render, or None when no shot shows a character."""
    prints = render_prints(folder, manifest)
    return identity_report(prints) if prints else None
