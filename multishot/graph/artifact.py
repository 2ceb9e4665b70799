"""What the engine makes: stages, their content-addressed keys, and artifacts.

Its own module so the manifest (which records artifacts) and the engine (which makes them) both
import it and neither imports the other.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from multishot.graph import verify
from multishot.post.render_folder import CACHE

CACHE_DIR = CACHE  # the render folder's cache (post/render_folder.py)


def artifact_key(stage: str, version: int, inputs: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the inputs, shortened (collisions are not a concern at
    the scale of one film's artifacts; 96 bits)."""
    blob = json.dumps({"stage": stage, "version": version, "inputs": inputs},
                      sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Stage:
    """A named, versioned step. Bump `version` when its code changes what it produces, and every
    cached artifact of it is invalidated — and only those."""

    name: str
    version: int
    ext: str
    description: str = ""


@dataclass(frozen=True)
class GroupWork:
    """One piece of work that made several artifacts at once (a joint generation makes every
    shot of its group): what each of them records of it in the manifest."""

    #: The items made together, in order.
    items: tuple[str, ...]
    #: Wall-clock seconds of the whole piece of work.
    seconds: float
    #: The part of `seconds` charged to one artifact: the work's seconds split evenly over the
    #: artifacts it filed (the manifest's seconds then add up to the render's work, once).
    share: float


@dataclass
class Artifact:
    stage: str
    item: str
    key: str
    path: Path
    hit: bool
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    #: Size and sha256 of what is on disk (graph/verify.py), recorded in the manifest.
    record: verify.ArtifactRecord | None = None
    #: Why it was (re-)made: "missing", "forced", or why the cached one failed verification.
    reason: str | None = None
    #: The work it was made by, when that work made several artifacts at once (`seconds` then
    #: includes its share of that work).
    group: GroupWork | None = None
