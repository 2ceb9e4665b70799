"""`manifest.json` read back as typed records, for every consumer of a finished render.

graph/manifest.py writes the manifest as a render goes (a build log); the OTIO export, the
metrics, the review page and the CLI read it. They read these frozen dataclasses instead of
indexing dicts, so a field's name and default are written once, here. The reader is lenient in
what it ignores (unknown keys are kept in `extra`, old manifests without a field get its
default), strict in what it converts (a shot's frames are an int), so a damaged file fails
in `from_json`, not deep inside a consumer. cli/render_folder.py checks the shape first and
turns a bad file into a sentence.

It is in `post`, the lowest layer, because the OTIO export (post/otio.py) is one of its readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
          "status", "shots", "artifacts", "outputs", "multishot")


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


def as_manifest(manifest: "RenderManifest | Mapping[str, Any]") -> RenderManifest:
    """A consumer's entry point: typed records whether it was handed the JSON or the records."""
    return manifest if isinstance(manifest, RenderManifest) else RenderManifest.from_json(manifest)
