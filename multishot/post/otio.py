"""The film as an editorial timeline (OpenTimelineIO), so it can be finished in an editor.

Every render writes `timeline.otio` next to `film.mp4`: one video track, one clip per shot that
references `shots/<id>.mp4`, the planned transitions as OTIO transitions, shot ids and prompts as
clip metadata and a marker where each scene starts. `export_timeline` converts it with
OpenTimelineIO's own adapters (CMX 3600 EDL, Final Cut Pro X XML), which since OTIO 0.17 are
separate packages (`otio-cmx3600-adapter`, `otio-fcpx-xml-adapter`).

How overlaps map to OTIO. In the film, a transition of N frames out of shot A shows A's last N
frames blended with B's first N frames, so the film is sum(frames) − sum(overlaps) long
(`post/assemble.py`). An OTIO transition sits *on* a cut point: `in_offset` frames before it are
played from the outgoing clip's trimmed range plus the incoming clip's head handle, `out_offset`
frames after it from the incoming clip's trimmed range plus the outgoing clip's tail handle, and
a track is as long as the sum of its clips' trimmed ranges. Putting the cut in the middle of the
overlap (in_offset = ⌊N/2⌋, out_offset = N − ⌊N/2⌋), trimming A to end `out_offset` frames early
and B to start `in_offset` frames late makes the overlap use exactly the frames the film blends,
every handle lies inside the shot's file, and the track is exactly as long as the film.

This module is in `post` (the lowest layer), so it reads the run manifest as a plain dict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import opentimelineio as otio

from multishot.post.atomic import atomic_write_text
from multishot.post.manifest_record import RenderManifest, ShotRecord, as_manifest, read_manifest
from multishot.post.render_folder import TIMELINE, RenderFolder, shot_name
from multishot.post.subtitles import ShotLines, plan_cues
from multishot.post.timing import FilmClock

TIMELINE_NAME = TIMELINE

#: `--format` → (OTIO adapter name, file suffix, the pip package that provides the adapter).
FORMATS: dict[str, tuple[str, str, str]] = {
    "otio": ("otio_json", ".otio", "opentimelineio"),
    "edl": ("cmx_3600", ".edl", "otio-cmx3600-adapter"),
    "fcpxml": ("fcpx_xml", ".fcpxml", "otio-fcpx-xml-adapter"),
}

#: Marker colours cycled per scene, so neighbouring scenes differ on an editor's ruler.
SCENE_COLOURS = (otio.schema.MarkerColor.GREEN, otio.schema.MarkerColor.CYAN,
                 otio.schema.MarkerColor.YELLOW, otio.schema.MarkerColor.MAGENTA)


class TimelineError(ValueError):
    """The manifest cannot be laid out as a timeline, or an export format is unavailable."""


@dataclass(frozen=True)
class ShotPlacement:
    """Where one shot sits: its file's frames, and the part of them the track plays."""

    shot_id: str
    scene: str
    frames: int           # frames in shots/<id>.mp4
    trim_in: int          # first frame of the trimmed range (the incoming transition's head)
    trim_out: int         # frames after the trimmed range (the outgoing transition's tail)
    film_start: int       # film frame of the clip's trimmed in point
    overlap_out: int      # frames shared with the next shot (0 for a hard cut or the last shot)
    transition: str       # transition type into the next shot

    @property
    def trimmed(self) -> int:
        return self.frames - self.trim_in - self.trim_out


Manifest = RenderManifest | Mapping[str, Any]


def manifest_clock(manifest: Manifest) -> FilmClock:
    """The film clock (post/timing.py) of a manifest's shots."""
    return as_manifest(manifest).clock()


def place_shots(manifest: Manifest) -> list[ShotPlacement]:
    """Lay the manifest's shots out on one track (see the module docstring for the arithmetic)."""
    if isinstance(manifest, Mapping) and not manifest.get("shots"):
        raise TimelineError("the manifest lists no shots")
    m = as_manifest(manifest)
    if not m.shots:
        raise TimelineError("the manifest lists no shots")
    clock = m.clock()
    out: list[ShotPlacement] = []
    for i, (shot, start) in enumerate(zip(m.shots, clock.starts)):
        frames = clock.frames[i]
        n_in, n_out = clock.incoming(i), clock.outgoing(i)
        trim_in, trim_out = clock.trims(i)  # the previous transition's in_offset, this one's out_offset
        if trim_in + trim_out >= frames or n_in + n_out > frames:
            raise TimelineError(f"shot `{shot.id}` ({frames} frames) is shorter than its transitions "
                                f"({n_in} + {n_out} frames)")
        # The trimmed clip enters the track at its cut point: the middle of the incoming overlap.
        out.append(ShotPlacement(shot.id, shot.scene, frames, trim_in, trim_out, start + trim_in, n_out,
                                 shot.transition.type))
    return out


def film_starts(manifest: Manifest) -> list[int]:
    """Film frame at which each shot becomes visible (`FilmPlan.start_frames`, from plain data)."""
    if isinstance(manifest, Mapping) and not manifest.get("shots"):
        return []
    return manifest_clock(manifest).starts


class _Clock:
    """Film frames as OTIO times at `rate` (a whole multiple of the film's fps, so exact)."""

    def __init__(self, fps: int, rate: int | None = None) -> None:
        self.rate = rate or fps
        if self.rate % fps:
            raise TimelineError(f"timeline rate {self.rate} is not a multiple of the film's {fps} fps")
        self.k = self.rate // fps

    def t(self, frames: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frames * self.k, self.rate)

    def range(self, start: int, duration: int) -> otio.opentime.TimeRange:
        return otio.opentime.TimeRange(self.t(start), self.t(duration))


def _media_path(manifest: RenderManifest, shot_id: str) -> str:
    return manifest.outputs.get(f"shot:{shot_id}", shot_name(shot_id).as_posix())


def _transition(shot: ShotRecord, placement: ShotPlacement, next_id: str,
                clock: _Clock) -> otio.schema.Transition:
    """A dissolve is an SMPTE dissolve; every other soft transition (fades, wipes, slides,
    circle-open, generated bridges) is a Custom transition named after the multishot type, so
    an editor shows it at the right place and length and the type survives in metadata."""
    n = placement.overlap_out
    kind = placement.transition
    info = shot.transition
    return otio.schema.Transition(
        name=f"{kind}: {placement.shot_id} > {next_id}",
        transition_type=(otio.schema.TransitionTypes.SMPTE_Dissolve if kind == "dissolve"
                         else otio.schema.TransitionTypes.Custom),
        in_offset=clock.t(n // 2),
        out_offset=clock.t(n - n // 2),
        metadata={"multishot": {"type": kind, "frames": n, "duration_s": info.duration,
                                "reason": info.reason, "from": placement.shot_id,
                                "to": next_id}},
    )


def build_timeline(manifest: Manifest, *, media_root: Path | None = None,
                   rate: int | None = None) -> otio.schema.Timeline:
    """The OTIO timeline of a render. Media paths are relative to the render folder (so the
    folder can move) unless `media_root` is given, which makes them absolute `file://` URLs
    (what Final Cut Pro and most editors want on import). Times are at the film's fps unless
    `rate` (a whole multiple of it) is given, for formats that know only standard rates."""
    placements = place_shots(manifest)
    record = as_manifest(manifest)
    fps = record.fps
    clock = _Clock(fps, rate)
    shots = record.shots
    starts = record.clock().starts
    width, height = record.size
    timeline = otio.schema.Timeline(name=record.title or "multishot film")
    timeline.global_start_time = clock.t(0)
    keys = ("title", "source", "paradigm", "profile", "fps", "resolution", "frames", "duration_s", "multishot")
    timeline.metadata["multishot"] = ({k: manifest.get(k) for k in keys} if isinstance(manifest, Mapping)
                                      else {k: getattr(record, k) for k in keys})
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    previous_scene: str | None = None
    scene_number = 0
    for i, (shot, p) in enumerate(zip(shots, placements)):
        rel = _media_path(record, p.shot_id)
        url = (Path(media_root) / rel).resolve().as_uri() if media_root is not None else rel
        reference = otio.schema.ExternalReference(
            target_url=url, available_range=clock.range(0, p.frames),
            available_image_bounds=otio.schema.Box2d(otio.schema.V2d(0, 0), otio.schema.V2d(width, height))
            if width and height else None,
        )
        clip = otio.schema.Clip(
            name=p.shot_id, media_reference=reference, source_range=clock.range(p.trim_in, p.trimmed),
            metadata={"multishot": {
                "id": p.shot_id, "scene": p.scene, "prompt": shot.prompt,
                "seed": shot.seed, "profile": shot.profile, "size": shot.size,
                "angle": shot.angle, "movement": shot.movement,
                "frames": p.frames, "duration_s": shot.duration_s,
                "film_start_frame": p.film_start,
            }},
        )
        if p.scene != previous_scene:
            scene_number += 1
            clip.markers.append(otio.schema.Marker(
                name=f"scene {scene_number}: {p.scene}",
                marked_range=clock.range(p.trim_in, 0),
                color=SCENE_COLOURS[(scene_number - 1) % len(SCENE_COLOURS)],
                metadata={"multishot": {"scene": p.scene, "first_shot": p.shot_id}},
            ))
            previous_scene = p.scene
        # Dialogue markers, timed as the subtitles are (post/subtitles.py), in the clip's media time.
        for cue in plan_cues([ShotLines(p.shot_id, starts[i], p.frames,
                                        tuple(shot.dialogue.items()))], fps):
            at = round(cue.start * fps) - starts[i]
            clip.markers.append(otio.schema.Marker(
                name=f"{cue.speaker}: {cue.text}",
                marked_range=clock.range(at, max(1, round((cue.end - cue.start) * fps))),
                color=otio.schema.MarkerColor.BLUE,
                metadata={"multishot": {"dialogue": cue.to_json()}},
            ))
        track.append(clip)
        if p.overlap_out and i + 1 < len(shots):
            track.append(_transition(shot, p, shots[i + 1].id, clock))
    return timeline


def write_timeline(out_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write `out_dir/timeline.otio` (atomically) from a render's manifest; return its path."""
    out_dir = Path(out_dir)
    path = out_dir / TIMELINE_NAME
    atomic_write_text(path, otio.adapters.write_to_string(build_timeline(manifest), "otio_json"))
    return path


def available_formats() -> dict[str, bool]:
    """Which `--format`s can be written here (their OTIO adapter is installed)."""
    names = set(otio.adapters.available_adapter_names())
    return {fmt: adapter in names for fmt, (adapter, _, _) in FORMATS.items()}


def edl_rate(fps: int) -> int:
    """The timecode rate an EDL is written at. SMPTE timecode exists only for 24, 25, 30, 48, 50
    and 60 fps (and their NTSC variants), while multishot films are often 8 or 16 fps; the
    smallest valid rate that is a whole multiple of the film's fps puts every edit on an exact
    frame (16 fps → 48). Rates with no such multiple (e.g. 7 fps) fall back to 24, where an edit
    may move by under one film frame."""
    return next((rate for rate in SMPTE_RATES if rate % fps == 0), 24)


#: Integer rates with SMPTE timecode (what OpenTimelineIO's timecode functions accept).
SMPTE_RATES = (24, 25, 30, 48, 50, 60)
#: Integer project rates Final Cut Pro X (and the fcpx_xml adapter) know.
FCPX_RATES = (24, 25, 30, 50, 60)


def fcpxml_rate(fps: int) -> int:
    """The sequence rate of an FCPXML export: the film's own rate if Final Cut knows it, else the
    smallest known rate that is a multiple of it (8 fps → 24), else the film's rate as a custom
    frame duration (16 fps): the times stay exact, but an editor that accepts only standard
    project rates will ask to conform it (OTIO and EDL exports have no such limit)."""
    return next((rate for rate in FCPX_RATES if rate % fps == 0), fps)


def export_timeline(film_dir: Path, fmt: str, out: Path | None = None) -> Path:
    """Convert a render's timeline to `fmt` (otio | edl | fcpxml) with OpenTimelineIO's adapters;
    return the written file (default `film_dir/timeline.<suffix>`).

    The timeline is rebuilt from `manifest.json` (the source of truth, so an export never lags a
    re-render), with absolute media URLs for every format but `otio`, which keeps paths relative
    to the render folder. Format limits (the adapters', not ours): the CMX 3600 writer turns
    every transition into a dissolve of the same length; the FCPXML writer keeps clips, trims
    and markers but drops transitions (clips then meet at the middle of each overlap)."""
    film_dir = Path(film_dir)
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise TimelineError(f"unknown format `{fmt}`; choose one of: {', '.join(FORMATS)}")
    adapter, suffix, package = FORMATS[fmt]
    if not available_formats()[fmt]:
        raise TimelineError(f"format `{fmt}` needs the OpenTimelineIO adapter `{adapter}`: "
                            f"pip install {package}")
    manifest_path = RenderFolder(film_dir).manifest
    if not manifest_path.is_file():
        raise TimelineError(f"{film_dir} has no manifest.json; is it a render folder (renders/<title>/)?")
    manifest = read_manifest(manifest_path)
    fps = manifest.fps
    out = Path(out) if out is not None else RenderFolder(film_dir).timeline_as(suffix)
    if fmt == "otio":
        text = otio.adapters.write_to_string(build_timeline(manifest), adapter)
    elif fmt == "edl":
        timeline = _for_edl(build_timeline(manifest, media_root=film_dir))
        text = otio.adapters.write_to_string(timeline, adapter, rate=edl_rate(fps))
    else:
        rate = fcpxml_rate(fps)
        timeline = build_timeline(manifest, media_root=film_dir, rate=rate)
        text = otio.adapters.write_to_string(timeline, adapter)
        # The adapter leaves frameDuration empty for rates it has no table entry for.
        text = text.replace('frameDuration=""', f'frameDuration="1/{rate}s"')
    atomic_write_text(out, text)
    return out


def _one_line(text: str) -> str:
    """EDL is line-based: a newline or other control character in a title or name would start
    an event line of its own (issue 17 item 6), so each run of them becomes one space."""
    return " ".join(_CONTROL.split(text)).strip()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _for_edl(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """CMX 3600 reel names are at most 8 characters; name each shot's reel after its position
    (S001, S002, …) so two shots never share a reel, and keep the shot id as the clip name.
    Every name the writer prints is made one line."""
    timeline.name = _one_line(timeline.name)
    for n, clip in enumerate(timeline.find_clips(), start=1):
        clip.metadata.setdefault("cmx_3600", {})["reel"] = f"S{n:03d}"
        clip.name = _one_line(clip.name)
        for marker in clip.markers:
            marker.name = _one_line(marker.name)
    for item in timeline.tracks.find_children():
        if hasattr(item, "name") and isinstance(item.name, str):
            item.name = _one_line(item.name)
    return timeline


def read_timeline(path: Path) -> otio.schema.Timeline:
    """Read any timeline OpenTimelineIO has an adapter for (by suffix)."""
    return otio.adapters.read_from_file(str(path))

