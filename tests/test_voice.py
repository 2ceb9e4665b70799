"""The scratch dialogue voice (issue 16 item 6): eSpeak NG from its wheel, reproducible, placed at
the lines' times, AAC in film.mp4 and shots/, `--no-audio`, the cache key, the length check."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import MULTISHOT, small_film, write_film
from multishot.backends.speech import Voice, synthesize_all, voice_for
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.post.ffmpeg import ffmpeg_binary
from multishot.shotlist.errors import ShotListError


def test_voices_follow_the_description_and_are_stable() -> None:
    ana = voice_for("ana", "a woman in her thirties, black hair in a bun")
    kenji = voice_for("kenji", "a man in his forties, stubble")
    tomas = voice_for("tomas", "a boy of ten, red knit cap")
    assert ana.name.startswith("en+f") and kenji.name.startswith("en+m") and tomas.name.startswith("en+m")
    assert tomas.pitch > 60  # a child speaks higher
    assert voice_for("ana", "a woman in her thirties, black hair in a bun") == ana


def test_synthesis_is_reproducible_and_audible() -> None:
    lines = [("Is this seat taken?", Voice("en+f3", 50, 175)), ("Not since Kyoto.", Voice("en+m3", 42, 170))]
    rate, a = synthesize_all(lines)
    _, b = synthesize_all(lines)
    assert rate == 22050 and len(a) == 2
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
        assert 0.5 < len(x) / rate < 3.0 and np.abs(x).max() > 3000


def _pcm(path: Path, rate: int = 8000) -> np.ndarray:
    out = subprocess.run([ffmpeg_binary(), "-hide_banner", "-nostdin", "-i", str(path), "-vn", "-f", "s16le",
                          "-ac", "1", "-ar", str(rate), "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, np.int16)


def _has_audio(path: Path) -> bool:
    log = subprocess.run([ffmpeg_binary(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    return "Audio: aac" in log


def _talking(tmp_path: Path, line: str = "You came back.") -> Path:
    data = small_film()
    data["scenes"][1]["shots"][0]["dialogue"] = {"mara": line}
    return write_film(tmp_path / "talk.yaml", data)


def test_film_and_its_shot_carry_the_line_where_it_is_said(tmp_path: Path) -> None:
    out = render_file(_talking(tmp_path), RenderOptions(out_root=tmp_path / "r", review=False)).out_dir
    film = out / "film.mp4"
    assert _has_audio(film) and _has_audio(out / "shots" / "both.mp4")
    assert not _has_audio(out / "shots" / "wide.mp4")  # no dialogue, no track
    pcm = _pcm(film).astype(np.float64)
    # Shot "both" starts at 4.25 s (34 frames at 8 fps); the line starts 0.12 s into it.
    rms = [float(np.sqrt(np.mean(pcm[int(t * 8000):int((t + 0.25) * 8000)] ** 2))) for t in np.arange(0, 6.0, 0.25)]
    loud = [i * 0.25 for i, v in enumerate(rms) if v > 300]
    assert loud and 4.25 <= min(loud) < 4.75 and max(loud) < 6.25
    assert max(rms[:16]) < 50  # silence before the shot
    again = render_file(_talking(tmp_path), RenderOptions(out_root=tmp_path / "again", review=False)).out_dir
    assert (again / "film.mp4").read_bytes() == film.read_bytes()  # a cold render: the same bytes


def test_no_audio_and_the_cache_key(tmp_path: Path) -> None:
    src = _talking(tmp_path)
    root = tmp_path / "r"
    silent = render_file(src, RenderOptions(out_root=root, review=False, audio=False))
    assert not _has_audio(silent.out_dir / "film.mp4") and "Subtitle" in subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-i", str(silent.out_dir / "film.mp4")], capture_output=True, text=True).stderr
    voiced = render_file(src, RenderOptions(out_root=root, review=False))
    assert _has_audio(voiced.out_dir / "film.mp4") and voiced.misses > 0

    def voice_key() -> str:
        m = json.loads(voiced.manifest.read_text())
        return next(a["key"] for a in m["artifacts"] if a["stage"] == "voice")

    first = voice_key()
    again = render_file(src, RenderOptions(out_root=root, review=False))
    assert again.misses == 0  # everything, the voice included, comes from the cache
    render_file(_talking(tmp_path, "You came back at last."), RenderOptions(out_root=root, review=False))
    assert voice_key() != first  # a changed line is a new voice track


def test_a_line_longer_than_its_shot_is_refused_naming_the_shot(tmp_path: Path) -> None:
    data = small_film()
    data["scenes"][0]["shots"][2]["dialogue"] = {"tomas": "I ran all the way from the village to tell you, "
                                                           "the letter came this morning and nobody else could read it."}
    src = write_film(tmp_path / "long.yaml", data)
    with pytest.raises(ShotListError) as info:
        render_file(src, RenderOptions(out_root=tmp_path / "r", review=False))
    (problem,) = info.value.problems
    assert problem.path == "scenes[0].shots[2].dialogue" and "`tomas`" in problem.message
    assert problem.line == next(i for i, l in enumerate(src.read_text().splitlines(), 1) if l.strip() == "dialogue:")
    assert render_file(src, RenderOptions(out_root=tmp_path / "r", review=False, audio=False)).status == "complete"
    run = subprocess.run([*MULTISHOT, "validate", str(src)], capture_output=True, text=True, env=_env())
    assert run.returncode == 2 and "scenes[0].shots[2].dialogue" in run.stderr + run.stdout


def _env() -> dict[str, str]:
    import os

    from conftest import ROOT

    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
