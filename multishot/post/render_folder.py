"""The render folder (`renders/<title>/`, DESIGN.md "Outputs of one render") as one typed object.

Every file a render writes or a command reads is named here once: the film, its shots and
keyframes, the manifest, metrics, review page, contact sheet, timeline, subtitles, the agent's
outputs and the cache. The engine publishes under these names, `eval`/`export`/`open` find them,
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
AGENT = "agent"
CACHE = ".cache"


def shot_name(shot_id: str) -> Path:
    """`shots/<id>.mp4`, relative to the render folder (what the engine publishes)."""
    return Path(SHOTS) / f"{shot_id}.mp4"


def keyframe_name(shot_id: str, which: str) -> Path:
    """`keyframes/<id>_<first|last>.png`, relative to the render folder."""
    return Path(KEYFRAMES) / f"{shot_id}_{which}.png"


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
    def cache(self) -> Path:
        return self.root / CACHE

    def shot(self, shot_id: str) -> Path:
        return self.root / shot_name(shot_id)

    def keyframe(self, shot_id: str, which: str) -> Path:
        return self.root / keyframe_name(shot_id, which)

    def is_render(self) -> bool:
        """A folder `multishot render` made: it has a manifest."""
        return self.manifest.is_file()
