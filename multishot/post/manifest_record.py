"""`manifest.json` read back as typed records, for every consumer of a finished render.

graph/manifest.py writes the manifest as a render goes (a build log); the OTIO export, the
metrics, the review page and the CLI read it. They read these frozen dataclasses instead of
indexing dicts, so a field's name and default are written once, here. The reader is lenient in
what it ignores (unknown keys are kept in `extra`, old manifests without a field get its
default), strict in what it converts (a shot's frames are an int), so a damaged file fails
in `from_json`, not deep inside a consumer. cli/render_folder.py checks the shape first and
turns a bad file into a sentence.

Every reader goes through here: the OTIO export (post/otio.py), the metrics and identity
(evaluate/render.py, evaluate/identity_render.py), the review page (evaluate/report.py), the
render lock (graph/render_lock.py, `RunStatus`) and the CLI's `eval`, `export` and `open`
(cli/render_folder.py checks the shape, then reads these). Only graph/manifest.py, the writer,
handles the JSON itself. It is in `post`, the lowest layer, so every layer can read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from multishot.post.timing import FilmClock


@dataclass(frozen=True)
class TransitionRecord:
    type: str = "cut"
    duration: float = 0.0
    reason: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> "TransitionRecord":
        data = data or {}
        return cls(str(data.get("type", "cut")), float(data.get("duration") or 0.0), str(data.get("reason") or ""))


@dataclass(frozen=True)
class ShotRecord:
    """One shot as the plan recorded it (FilmPlan.summary)."""

    id: str
    frames: int
    scene: str = ""
    seed: int | None = None
    duration_s: float | None = None
    profile: str | None = None
    prompt: str = ""
    size: str | None = None
    angle: str | None = None
    movement: str | None = None
    characters: tuple[str, ...] = ()
    action: str | None = None
    dialogue: dict[str, str] = field(default_factory=dict)
    transition: TransitionRecord = field(default_factory=TransitionRecord)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ShotRecord":
        return cls(
            id=str(data["id"]), frames=int(data["frames"]), scene=str(data.get("scene", "")),
            seed=data.get("seed"), duration_s=data.get("duration_s"), profile=data.get("profile"),
            prompt=str(data.get("prompt") or ""), size=data.get("size"), angle=data.get("angle"),
            movement=data.get("movement"), characters=tuple(data.get("characters") or ()),
            action=data.get("action"), dialogue=dict(data.get("dialogue") or {}),
            transition=TransitionRecord.from_json(data.get("transition")),
        )


@dataclass(frozen=True)
class ArtifactEntry:
    """One artifact line of the build log (graph/manifest.py `record`)."""

    stage: str
    item: str
    path: str
    key: str = ""
    cache: str = ""
    seconds: float = 0.0
    seed: int | None = None
    shots: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)
    #: Made by one joint generation with these items (a holistic or CineTrans group): `seconds`
    #: is then this item's even share of `group_seconds`, the whole generation's. Empty / None
    #: for an artifact made on its own, and in manifests written before these fields.
    group: tuple[str, ...] = ()
    group_seconds: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "ArtifactEntry":
        group_seconds = data.get("group_seconds")
        return cls(str(data["stage"]), str(data["item"]), str(data["path"]), str(data.get("key", "")),
                   str(data.get("cache", "")), float(data.get("seconds") or 0.0), data.get("seed"),
                   tuple(data.get("shots") or ()), dict(data.get("info") or {}),
                   tuple(str(i) for i in data.get("group") or ()),
                   None if group_seconds is None else float(group_seconds))


_KNOWN = ("title", "fps", "resolution", "frames", "duration_s", "profile", "paradigm", "source",
          "status", "shots", "artifacts", "outputs", "multishot", "seconds", "quality", "pid", "started")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class RenderManifest:
    """A render's manifest: the plan it rendered, what it made, where it published it."""

    fps: int
    shots: tuple[ShotRecord, ...]
    title: str = ""
    resolution: str = "0x0"
    frames: int | None = None
    duration_s: float | None = None
    profile: str | None = None
    paradigm: str | None = None
    source: str | None = None
    status: str = "?"
    multishot: Any = None
    artifacts: tuple[ArtifactEntry, ...] = ()
    outputs: dict[str, str] = field(default_factory=dict)
    #: Wall-clock seconds the render took (written when it ends).
    seconds: float | None = None
    #: shot id -> `draft` / `final` after `render --draft` / `--final` (empty otherwise).
    quality: dict[str, str] = field(default_factory=dict)
    #: The process that wrote it and when it started (the render lock reads them).
    pid: int | None = None
    started: float | None = None
    #: Every other header field (quality, speed, executor, timings …), as written.
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RenderManifest":
        frames = data.get("frames")
        return cls(
            fps=int(data["fps"]), shots=tuple(ShotRecord.from_json(s) for s in data.get("shots") or ()),
            title=str(data.get("title") or ""), resolution=str(data.get("resolution") or "0x0"),
            frames=frames if isinstance(frames, int) else None, duration_s=data.get("duration_s"),
            profile=data.get("profile"), paradigm=data.get("paradigm"), source=data.get("source"),
            status=str(data.get("status", "?")), multishot=data.get("multishot"),
            artifacts=tuple(ArtifactEntry.from_json(a) for a in data.get("artifacts") or ()),
            outputs={str(k): str(v) for k, v in (data.get("outputs") or {}).items()},
            seconds=_number(data.get("seconds")),
            quality={str(k): str(v) for k, v in (data.get("quality") or {}).items()},
            pid=data.get("pid") if isinstance(data.get("pid"), int) else None,
            started=_number(data.get("started")),
            extra={k: v for k, v in data.items() if k not in _KNOWN},
        )

    @property
    def size(self) -> tuple[int, int]:
        width, height = (int(v) for v in self.resolution.split("x"))
        return width, height

    def clock(self) -> FilmClock:
        """The film clock (post/timing.py) of the recorded shots."""
        return FilmClock.of(self.fps, [(s.frames, s.transition.type, s.transition.duration) for s in self.shots])

    def shot_ids(self) -> list[str]:
        return [s.id for s in self.shots]

    def artifacts_of(self, shot_id: str) -> tuple[ArtifactEntry, ...]:
        """The build-log entries that made (or reused) something for `shot_id`."""
        return tuple(a for a in self.artifacts if shot_id in a.shots)


@dataclass(frozen=True)
class RunStatus:
    """Only a manifest's run header (status, pid, started): what the render lock reads to say
    that an earlier render of the folder did not finish. Lenient, unlike `RenderManifest`: a
    manifest cut short before its plan was written still says who was rendering."""

    status: str
    pid: int | None = None
    started: float | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RunStatus":
        pid = data.get("pid")
        return cls(str(data.get("status", "?")), pid if isinstance(pid, int) else None, _number(data.get("started")))

    @classmethod
    def read(cls, path: Path) -> "RunStatus | None":
        """The run header of the manifest at `path`; None when it is missing or not a JSON object."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cls.from_json(data) if isinstance(data, dict) else None


def read_manifest(path: Path) -> RenderManifest:
    """The manifest at `path` as records. OSError when it cannot be read, ValueError (JSON) or
    KeyError/TypeError/ValueError (shape) when it is damaged; cli/render_folder.py turns those
    into a sentence for a folder a user typed."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a JSON object")
    return RenderManifest.from_json(data)


def as_manifest(manifest: "RenderManifest | Mapping[str, Any]") -> RenderManifest:
    """A consumer's entry point: typed records whether it was handed the JSON or the records."""
    return manifest if isinstance(manifest, RenderManifest) else RenderManifest.from_json(manifest)
