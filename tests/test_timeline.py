"""The editorial timeline (timeline.otio) and its exports, checked against a real render: the
timeline read back by OpenTimelineIO is as long as film.mp4, has one clip per shot, and plays
the very frames the film shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, small_film, write_film
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.post.ffmpeg import probe, read_frames
from multishot.post.otio import (FORMATS, TimelineError, available_formats, build_timeline,
                                     edl_rate, export_timeline, fcpxml_rate, film_starts,
                                     place_shots, read_timeline, write_timeline)


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The conftest film (dissolve, fade and wipe among cuts; two scenes; moving cameras),
    rendered by the animatic without seam colour matching so film pixels equal clip pixels."""
    root = tmp_path_factory.mktemp("timeline")
    data = small_film()
    data["scenes"][1]["shots"][1]["movement"] = "dolly-out"
    source = write_film(root / "film.yaml", data)
    result = render_file(source, RenderOptions(out_root=root / "renders", smooth=False))
    assert result.status == "complete"
    manifest = json.loads(result.manifest.read_text())
    return result.out_dir, manifest


def film_frames(path: Path) -> int:
    return probe(path).frames


def test_timeline_matches_the_rendered_film(render: tuple[Path, dict]) -> None:
    out_dir, manifest = render
    path = write_timeline(out_dir, manifest)
    assert path == out_dir / "timeline.otio"
    timeline = otio.adapters.read_from_file(str(path))
    fps = manifest["fps"]
    frames = film_frames(out_dir / "film.mp4")
    assert abs(timeline.duration().rescaled_to(fps).value - frames) <= 1
    clips = list(timeline.find_clips())
    assert [c.name for c in clips] == [s["id"] for s in manifest["shots"]]
    assert len(timeline.tracks) == 1 and timeline.tracks[0].kind == otio.schema.TrackKind.Video
    for clip, shot in zip(clips, manifest["shots"]):
        assert clip.media_reference.target_url == f"shots/{shot['id']}.mp4"
        assert (out_dir / clip.media_reference.target_url).is_file()
        assert clip.media_reference.available_range.duration.value == shot["frames"]
        assert clip.metadata["multishot"]["prompt"] == shot["prompt"]
        assert clip.metadata["multishot"]["seed"] == shot["seed"]


def test_transitions_and_scene_markers(render: tuple[Path, dict]) -> None:
    out_dir, manifest = render
    timeline = build_timeline(manifest)
    track = timeline.tracks[0]
    transitions = [item for item in track if isinstance(item, otio.schema.Transition)]
    soft = [s for s in manifest["shots"][:-1] if s["transition"]["type"] not in ("cut", "match-cut")]
    assert [t.metadata["multishot"]["type"] for t in transitions] == [s["transition"]["type"] for s in soft]
    assert {t.metadata["multishot"]["type"] for t in transitions} == {"dissolve", "fade", "wipe-left"}
    for t, shot in zip(transitions, soft):
        expected = (otio.schema.TransitionTypes.SMPTE_Dissolve if shot["transition"]["type"] == "dissolve"
                    else otio.schema.TransitionTypes.Custom)
        assert t.transition_type == expected
        overlap = round(shot["transition"]["duration"] * manifest["fps"])
        assert (t.in_offset + t.out_offset).value == overlap
    # a transition sits between the two clips it joins
    for i, item in enumerate(track):
        if isinstance(item, otio.schema.Transition):
            assert isinstance(track[i - 1], otio.schema.Clip) and isinstance(track[i + 1], otio.schema.Clip)
    markers = [(c.name, m.name) for c in timeline.find_clips() for m in c.markers]
    assert markers == [("wide", "scene 1: outside"), ("both", "scene 2: inside")]


def _frame(path: Path, index: int) -> np.ndarray:
    return next(read_frames(path, start_frame=index, count=1)).astype(np.int16)


def test_clips_play_the_frames_the_film_shows(render: tuple[Path, dict]) -> None:
    """For every clip, a frame in its pure part (outside transitions) at track time T is the
    film's frame T: the in/out points are exact, not just the total length."""
    out_dir, manifest = render
    timeline = build_timeline(manifest)
    track = timeline.tracks[0]
    film = out_dir / "film.mp4"
    checked = 0
    for clip in timeline.find_clips():
        in_track = track.range_of_child(clip)
        start = int(in_track.start_time.value)
        length = int(in_track.duration.value)
        source_start = int(clip.source_range.start_time.value)
        for offset in (length // 2, length - 1 - length // 4):
            shot_frame = _frame(out_dir / clip.media_reference.target_url, source_start + offset)
            film_frame = _frame(film, start + offset)
            wrong = _frame(out_dir / clip.media_reference.target_url, max(0, source_start + offset - 3))
            diff = np.abs(film_frame - shot_frame).mean()
            assert diff < 3.0, f"{clip.name}: film frame {start + offset} differs from the clip by {diff:.1f}"
            checked += 1
            if np.abs(wrong - shot_frame).mean() > 3.0:  # the camera moves: an offset would show
                assert np.abs(film_frame - wrong).mean() > diff
    assert checked == 2 * len(manifest["shots"])


def test_film_starts_match_the_plan(render: tuple[Path, dict]) -> None:
    out_dir, manifest = render
    starts = film_starts(manifest)
    assert starts[0] == 0
    shots = manifest["shots"]
    last = shots[-1]
    assert starts[-1] + last["frames"] == manifest["frames"] == film_frames(out_dir / "film.mp4")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_round_trip(render: tuple[Path, dict], fmt: str) -> None:
    out_dir, manifest = render
    if not available_formats()[fmt]:
        pytest.skip(f"OpenTimelineIO adapter for {fmt} not installed (pip install {FORMATS[fmt][2]})")
    path = export_timeline(out_dir, fmt)
    assert path == out_dir / f"timeline{FORMATS[fmt][1]}"
    timeline = read_timeline(path)
    fps = manifest["fps"]
    film_seconds = film_frames(out_dir / "film.mp4") / fps
    assert abs(timeline.duration().to_seconds() - film_seconds) <= 1 / fps + 1e-9
    clips = list(timeline.find_clips())
    assert len(clips) == len(manifest["shots"])
    if fmt != "edl":  # EDL clip names come back from comments; otio and fcpxml keep names
        assert [c.name for c in clips] == [s["id"] for s in manifest["shots"]]
    if fmt in ("edl", "fcpxml"):  # editors get absolute media paths
        url = clips[0].media_reference.target_url
        assert url.startswith("file://") and url.endswith("shots/wide.mp4")


def test_edl_keeps_dissolves_and_reels(render: tuple[Path, dict]) -> None:
    out_dir, _ = render
    text = export_timeline(out_dir, "edl").read_text()
    assert "TITLE: Small Film" in text
    assert " D " in text  # the dissolve (and the other soft transitions) as CMX dissolves
    assert "S001" in text and "S005" in text


def test_rates_for_formats_that_know_only_standard_timecode() -> None:
    assert edl_rate(16) == 48 and edl_rate(8) == 24 and edl_rate(25) == 25 and edl_rate(10) == 30
    assert edl_rate(7) == 24
    assert fcpxml_rate(8) == 24 and fcpxml_rate(24) == 24 and fcpxml_rate(16) == 16


def test_fcpxml_at_16_fps_round_trips(tmp_path: Path) -> None:
    manifest = {"title": "Sixteen", "fps": 16, "resolution": "160x96", "shots": [
        {"id": "a", "scene": "s", "frames": 40, "transition": {"type": "dissolve", "duration": 0.5}},
        {"id": "b", "scene": "s", "frames": 33, "transition": {"type": "cut", "duration": 0}}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    for fmt in ("fcpxml", "edl"):
        if not available_formats()[fmt]:
            continue
        timeline = read_timeline(export_timeline(tmp_path, fmt))
        assert abs(timeline.duration().to_seconds() - (40 + 33 - 8) / 16) <= 1 / 16 + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(4, 60), st.sampled_from(["cut", "dissolve", "fade", "match-cut", "wipe-up"]),
                          st.integers(1, 12)), min_size=1, max_size=8))
def test_any_plan_lays_out_exactly(shots: list[tuple[int, str, int]]) -> None:
    """Track length = sum(frames) − sum(overlaps); every transition's frames lie inside both
    shots' files (its handles exist); odd overlaps split without losing a frame."""
    fps = 8
    entries = []
    for i, (frames, kind, overlap) in enumerate(shots):
        entries.append({"id": f"s{i}", "scene": f"c{i // 3}", "frames": frames,
                        "transition": {"type": kind, "duration": overlap / fps}})
    overlaps = [0 if i == len(entries) - 1 or e["transition"]["type"] in ("cut", "match-cut")
                else round(e["transition"]["duration"] * fps) for i, e in enumerate(entries)]
    manifest = {"title": "prop", "fps": fps, "resolution": "64x32", "shots": entries}
    # what the assembler can do (a shot may be all transition), and a clip keeps >= 1 frame
    ins = [0] + overlaps[:-1]
    fits = all(ins[i] + overlaps[i] <= e["frames"]
               and e["frames"] - ins[i] // 2 - (overlaps[i] - overlaps[i] // 2) >= 1 for i, e in enumerate(entries))
    if not fits:
        with pytest.raises(TimelineError):
            place_shots(manifest)
        return
    timeline = build_timeline(manifest)
    track = timeline.tracks[0]
    assert track.duration().value == sum(e["frames"] for e in entries) - sum(overlaps)
    items = list(track)
    for i, item in enumerate(items):
        if isinstance(item, otio.schema.Transition):
            before, after = items[i - 1], items[i + 1]
            assert before.source_range.end_time_exclusive() + item.out_offset <= \
                before.media_reference.available_range.end_time_exclusive()
            assert after.source_range.start_time - item.in_offset >= after.media_reference.available_range.start_time


def test_export_errors(tmp_path: Path) -> None:
    with pytest.raises(TimelineError, match="manifest.json"):
        export_timeline(tmp_path, "edl")
    with pytest.raises(TimelineError, match="unknown format"):
        export_timeline(tmp_path, "avi")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "multishot.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_cli_export(render: tuple[Path, dict], tmp_path: Path) -> None:
    out_dir, manifest = render
    target = tmp_path / "cut.edl"
    done = cli("export", str(out_dir), "--format", "edl", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert abs(read_timeline(target).duration().to_seconds() - manifest["frames"] / manifest["fps"]) < 1e-6
    bad = cli("export", str(out_dir), "--format", "avi")
    assert bad.returncode == 2 and "unknown format" in bad.stderr
    missing = cli("export", str(tmp_path), "--format", "otio")
    assert missing.returncode == 2 and "manifest.json" in missing.stderr


def test_render_writes_the_editorial_files(tmp_path: Path) -> None:
    """Every render leaves timeline.otio, report.html and contact_sheet.png next to film.mp4
    (written by the runner after publishing) and lists them in the manifest's outputs."""
    source = write_film(tmp_path / "film.yaml", small_film())
    result = render_file(source, RenderOptions(out_root=tmp_path / "renders"))
    for name in ("timeline.otio", "report.html", "contact_sheet.png"):
        assert (result.out_dir / name).is_file(), f"the render did not write {name}"
    outputs = json.loads(result.manifest.read_text())["outputs"]
    assert outputs["timeline"] == "timeline.otio" and outputs["report"] == "report.html"
    assert outputs["contact_sheet"] == "contact_sheet.png"
    timeline = read_timeline(result.out_dir / "timeline.otio")
    assert len(list(timeline.find_clips())) == 5
