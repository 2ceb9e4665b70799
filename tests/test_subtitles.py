"""Subtitles from `dialogue:` (issue 16 item 5): timing, SRT/VTT, the muxed track, the review
page, timeline markers and burnt-in text — on real renders and real ffmpeg."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import opentimelineio as otio

from conftest import small_film, write_film
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.post.ffmpeg import ffmpeg_binary, read_video
from multishot.post.subtitles import (READING_CPS, ShotLines, SubtitleBurner, plan_cues, reading_overflow,
                                      to_srt, to_vtt)


def test_cues_are_timed_inside_their_shot_one_line_per_speaker() -> None:
    shots = [ShotLines("a", 0, 48, (("ana", "Is this seat taken?"), ("kenji", "No."))),
             ShotLines("b", 48, 16, ()),
             ShotLines("c", 64, 8, (("ana", "A line far too long to be read in half a second\x00\n!"),))]
    cues = plan_cues(shots, 16, {"ana": "Ana"})
    assert [c.shot_id for c in cues] == ["a", "a", "c"]
    a1, a2, c = cues
    assert 0 < a1.start < a1.end <= a2.start < a2.end <= 3.0  # in shot a, in order
    assert abs((a1.end - a1.start) - len("Is this seat taken?") / READING_CPS) < 1e-6
    assert 4.0 <= c.start < c.end <= 4.5 and "\x00" not in c.text and "\n" not in c.text  # squeezed
    assert a1.speaker == "Ana" and a2.speaker == "kenji"
    assert reading_overflow(shots[2], 16) > 2.0 and reading_overflow(shots[0], 16) == 0.0


def test_srt_and_vtt_text() -> None:
    cues = plan_cues([ShotLines("a", 16, 32, (("ana", "<b>Hi</b> & bye"),))], 16, {"ana": "Ana"})
    srt, vtt = to_srt(cues), to_vtt(cues)
    assert srt.startswith("1\n00:00:01,120 --> 00:00:02,002\nANA: <b>Hi</b> & bye\n\n")
    assert vtt.startswith("WEBVTT\n\n00:00:01.120 --> ") and "<v Ana>&lt;b&gt;Hi&lt;/b&gt; &amp; bye" in vtt


def _streams(path: Path) -> str:
    log = subprocess.run([ffmpeg_binary(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    return "\n".join(line for line in log.splitlines() if "Stream #" in line)


def _talking_film(tmp_path: Path) -> Path:
    data = small_film()
    data["scenes"][1]["shots"][0]["dialogue"] = {"mara": "You came back.", "tomas": "I had to."}
    return write_film(tmp_path / "talk.yaml", data)


def test_render_writes_srt_vtt_track_page_and_markers(tmp_path: Path) -> None:
    src = _talking_film(tmp_path)
    out = render_file(src, RenderOptions(out_root=tmp_path / "r")).out_dir
    streams = _streams(out / "film.mp4")
    assert "Subtitle: mov_text" in streams and "Video: h264" in streams
    srt = (out / "film.srt").read_text()
    assert "MARA: You came back." in srt and "TOMAS: I had to." in srt
    assert (out / "film.vtt").read_text().startswith("WEBVTT")
    page = (out / "report.html").read_text()
    assert "<track kind='subtitles' src='film.vtt'" in page and "<dd>“You came back.”</dd>" in page
    timeline = otio.adapters.read_from_file(str(out / "timeline.otio"))
    both = next(c for c in timeline.tracks[0] if c.name == "both")
    lines = [m.metadata["multishot"]["dialogue"]["text"] for m in both.markers if "dialogue" in m.metadata["multishot"]]
    assert lines == ["You came back.", "I had to."]
    # No dialogue: no subtitle files, no track (and none left over from an earlier render).
    plain = render_file(write_film(src, small_film()), RenderOptions(out_root=tmp_path / "r")).out_dir
    assert plain == out and not (out / "film.srt").exists() and "Subtitle" not in _streams(out / "film.mp4")


def test_burn_subtitles_draws_the_line_into_the_frames(tmp_path: Path) -> None:
    src = _talking_film(tmp_path)
    soft = render_file(src, RenderOptions(out_root=tmp_path / "soft", review=False)).out_dir / "film.mp4"
    burnt = render_file(src, RenderOptions(out_root=tmp_path / "burnt", review=False,
                                           burn_subtitles=True)).out_dir / "film.mp4"
    assert "Subtitle" not in _streams(burnt)
    a, b = read_video(soft), read_video(burnt)
    assert a.shape == b.shape
    diff = np.abs(a.astype(int) - b.astype(int)).max(axis=(1, 2, 3))
    changed = np.nonzero(diff > 60)[0]
    # Shot "both" starts at film frame 34 (2 + 2 + 1.5 s at 8 fps, minus the 0.5 s dissolve and
    # the 0.5 s fade); its two lines cover about its first 1.7 s.
    assert len(changed) > 8 and changed.min() >= 34 and changed.max() < 34 + 16
    burner = SubtitleBurner([], 8, 160, 96)
    frame = np.zeros((96, 160, 3), np.uint8)
    assert burner(0, frame) is frame  # no cue: untouched
