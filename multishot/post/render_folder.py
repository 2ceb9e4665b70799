"""The render folder (`renders/<title>/`, DESIGN.md "Outputs of one render") as one typed object.

Every file a render writes or a command reads is named here once: the film, its shots and
keyframes, the character bank, the manifest, metrics, review page, contact sheet, timeline,
subtitles, the agent's outputs, the cache (with the render lock's and the workers' corners). The engine publishes under these names, `eval`/`export`/`open` find them,
the review page links them. It is in `post`, the lowest layer, so graph, evaluate and cli all
use the same paths (cli/render_folder.py is the CLI's *finding and checking* of a folder a user
typed; this is its layout).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FILM = "film.mp4"
MANIFEST = "manifest.json"
METRICS = "metrics.json"
REPORT = "report.html"
CONTACT_SHEET = "contact_sheet.png"
TIMELINE = "timeline.otio"
SUBTITLES_SRT = "film.srt"
SUBTITLES_VTT = "film.vtt"
SHOTS = "shots"
KEYFRAMES = "keyframes"
CHARACTERS = "characters"
AGENT = "agent"
AGENT_TRANSCRIPT = "transcript.json"
AGENT_SHOTLIST = "shotlist.yaml"
CACHE = ".cache"
#: Inside the cache: each worker's log (graph/executors) when a render runs on several GPUs.
WORKER_LOGS = "workers"


def shot_name(shot_id: str) -> Path:
    """`shots/<id>.mp4`, relative to the render folder (what the engine publishes)."""
    return Path(SHOTS) / f"{shot_id}.mp4"


def keyframe_name(shot_id: str, which: str) -> Path:
    """`keyframes/<id>_<first|last>.png`, relative to the render folder."""
    return Path(KEYFRAMES) / f"{shot_id}_{which}.png"


def timeline_name(suffix: str) -> str:
    """`timeline<suffix>`: the timeline in an editor's format (`.otio`, `.edl`, `.fcpxml`)."""
    return Path(TIMELINE).stem + suffix


def character_name(character_id: str) -> Path:
    """`characters/<id>.png`: a character's bank image, relative to the render folder."""
    return Path(CHARACTERS) / f"{character_id}.png"


def agent_transcript_name() -> Path:
    """`agent/transcript.json`: what the agent roles said and changed."""
    return Path(AGENT) / AGENT_TRANSCRIPT


def agent_shotlist_name() -> Path:
    """`agent/shotlist.yaml`: the shot list as the agent roles revised it."""
    return Path(AGENT) / AGENT_SHOTLIST


@dataclass(frozen=True)
class RenderFolder:
    """Paths inside one render folder."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def film(self) -> Path:
        return self.root / FILM

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def metrics(self) -> Path:
        return self.root / METRICS

    @property
    def report(self) -> Path:
        return self.root / REPORT

    @property
    def contact_sheet(self) -> Path:
        return self.root / CONTACT_SHEET

    @property
    def timeline(self) -> Path:
        return self.root / TIMELINE

    def timeline_as(self, suffix: str) -> Path:
        """`multishot export`'s default file for a format (`.edl` -> timeline.edl)."""
        return self.root / timeline_name(suffix)

    @property
    def srt(self) -> Path:
        return self.root / SUBTITLES_SRT

    @property
    def vtt(self) -> Path:
        return self.root / SUBTITLES_VTT

    @property
    def shots(self) -> Path:
        return self.root / SHOTS

    @property
    def keyframes(self) -> Path:
        return self.root / KEYFRAMES

    @property
    def agent(self) -> Path:
        return self.root / AGENT

    @property
    def characters(self) -> Path:
        return self.root / CHARACTERS

    @property
    def cache(self) -> Path:
        return self.root / CACHE

    @property
    def worker_logs(self) -> Path:
        return self.cache / WORKER_LOGS

    def shot(self, shot_id: str) -> Path:
        return self.root / shot_name(shot_id)

    def keyframe(self, shot_id: str, which: str) -> Path:
        return self.root / keyframe_name(shot_id, which)

    def character(self, character_id: str) -> Path:
        return self.root / character_name(character_id)

    def is_render(self) -> bool:
        """A folder `multishot render` made: it has a manifest."""
        return self.manifest.is_file()
