"""The stage engine on real renders: cache hits, minimal re-renders, SIGKILL resume, determinism."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, small_film, videos_filed, write_film
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.post.ffmpeg import probe, read_video


def misses(manifest: Path) -> set[tuple[str, str]]:
    data = json.loads(manifest.read_text())
    return {(e["stage"], e["item"]) for e in data["artifacts"] if e["cache"] == "miss"}


def test_rerun_renders_nothing_and_edit_rerenders_only_touched(tmp_path: Path, film_file: Path) -> None:
    opts = RenderOptions(out_root=tmp_path / "renders")
    first = render_file(film_file, opts)
    assert first.status == "complete" and first.misses > 0
    again = render_file(film_file, opts)
    assert again.misses == 0 and again.hits == first.misses + first.hits

    data = small_film()
    data["scenes"][0]["shots"][1]["action"] = "Mara climbs faster"  # edit shot `mara` only
    write_film(film_file, data)
    edited = render_file(film_file, opts)
    assert misses(edited.manifest) == {
        ("video", "mara"),
        ("smooth", "wide>mara"), ("smooth", "mara>tomas"),   # the seams touching it
        ("assemble", "film"),
    }


def test_seeds_and_outputs_are_recorded(tmp_path: Path, film_file: Path) -> None:
    result = render_file(film_file, RenderOptions(out_root=tmp_path / "r"))
    manifest = json.loads(result.manifest.read_text())
    assert manifest["status"] == "complete"
    videos = [e for e in manifest["artifacts"] if e["stage"] == "video"]
    assert len(videos) == 5 and all(isinstance(e["seed"], int) and e["seconds"] > 0 for e in videos)
    assert len({e["seed"] for e in videos}) == 5
    out = result.out_dir
    for shot in ("wide", "mara", "tomas", "both", "lens"):
        assert (out / "shots" / f"{shot}.mp4").is_file()
        assert (out / "keyframes" / f"{shot}_first.png").is_file()
        assert (out / "keyframes" / f"{shot}_last.png").is_file()
    info = probe(out / "film.mp4")
    # 16 + 16 + 12 + 16 + 12 frames, minus the dissolve (4), fade (4) and wipe (4) overlaps
    assert info.frames == 72 - 12 and info.duration == 60 / 8


def test_same_input_same_film(tmp_path: Path, film_file: Path) -> None:
    a = render_file(film_file, RenderOptions(out_root=tmp_path / "a"))
    b = render_file(film_file, RenderOptions(out_root=tmp_path / "b"))
    assert np.array_equal(read_video(a.film), read_video(b.film))


def test_sigkill_mid_render_resumes_to_the_same_film(tmp_path: Path) -> None:
    data = small_film(resolution="320x192", fps=16)
    for scene in data["scenes"]:
        for shot in scene["shots"]:
            shot["duration"] = shot["duration"] * 2
    film = write_film(tmp_path / "film.yaml", data)
    reference = render_file(film, RenderOptions(out_root=tmp_path / "ref"))

    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "multishot.cli.main", "render", str(film), "--out", str(out), "--json"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # kill once the manifest lists a finished clip (a clip's file and its .record.json appear a
    # moment before the manifest line, so counting files in the cache folder races the kill)
    deadline = time.time() + 60
    while time.time() < deadline and not videos_filed(out / "small-film" / "manifest.json"):
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    manifest = json.loads((out / "small-film" / "manifest.json").read_text())
    assert manifest["status"] == "running", "the render must have been killed mid-way"
    assert not (out / "small-film" / "film.mp4").exists()
    done_before = {e["item"] for e in manifest["artifacts"] if e["stage"] == "video"}
    assert done_before

    resumed = render_file(film, RenderOptions(out_root=out))
    hits = {(e["stage"], e["item"]) for e in json.loads(resumed.manifest.read_text())["artifacts"] if e["cache"] == "hit"}
    assert {("video", item) for item in done_before} <= hits, "what was rendered before the kill is reused"
    leftovers = [p for p in (out / "small-film" / ".cache").rglob("*") if ".tmp" in p.name]
    assert all(not p.exists() or p.stat().st_size >= 0 for p in leftovers)
    assert np.array_equal(read_video(resumed.film), read_video(reference.film))


def test_only_renders_named_shot_and_skips_film(tmp_path: Path, film_file: Path) -> None:
    result = render_file(film_file, RenderOptions(out_root=tmp_path / "r", only=frozenset({"mara"})))
    assert result.status == "partial" and result.film is None
    assert misses(result.manifest) == {("video", "mara")}
    full = render_file(film_file, RenderOptions(out_root=tmp_path / "r"))
    assert full.status == "complete"
    assert ("video", "mara") not in misses(full.manifest)


def test_dry_run_writes_nothing(tmp_path: Path, film_file: Path) -> None:
    result = render_file(film_file, RenderOptions(out_root=tmp_path / "r", dry_run=True))
    assert result.status == "planned"
    assert not (tmp_path / "r").exists()
    assert {e["cache"] for e in result.planned} == {"planned"}


@pytest.mark.parametrize("paradigm", ["stitching", "keyframe", "transition"])
def test_only_shot_by_shot_builds_the_film_a_full_render_makes(tmp_path: Path, paradigm: str) -> None:
    """`--only` in batches, in any order, ends in the same film. It used to fail with exit 1 at
    the first seam, keyframe or character-bank image of a shot not named, or (transition) to
    silently render nothing for a shot composed on a match-cut."""
    data = small_film()
    data["scenes"][0]["shots"][0]["transition"] = "match-cut"                        # wide → mara
    data["scenes"][0]["shots"][1]["transition"] = {"type": "bridge", "duration": 0.5}  # mara → tomas
    film = write_film(tmp_path / "film.yaml", data)
    full = render_file(film, RenderOptions(out_root=tmp_path / "full", paradigm=paradigm, review=False))
    assert full.status == "complete"

    def part(*ids: str):  # type: ignore[no-untyped-def]
        return render_file(film, RenderOptions(out_root=tmp_path / "parts", paradigm=paradigm, review=False,
                                               only=frozenset(ids)))

    first = part("mara")  # composed on `wide`, which is not rendered yet
    made = {item for stage, item in misses(first.manifest) if stage == "video"}
    assert made == (set() if paradigm == "transition" else {"mara"})
    for ids in (("wide", "tomas"), ("both",), ("lens",), ("mara",)):
        result = part(*ids)
        assert result.status in ("partial", "complete")
    assert result.status == "complete"
    assert np.array_equal(read_video(result.film), read_video(full.film))


def test_force_with_only_rerenders_the_named_shot_and_its_seams(tmp_path: Path, film_file: Path) -> None:
    render_file(film_file, RenderOptions(out_root=tmp_path / "s"))
    again = render_file(film_file, RenderOptions(out_root=tmp_path / "s", force=True, only=frozenset({"mara"})))
    assert again.status == "complete"
    assert misses(again.manifest) == {("video", "mara"), ("smooth", "wide>mara"), ("smooth", "mara>tomas"),
                                      ("assemble", "film")}
    # holistic: the named shot is in the second joint group; the first group is kept from the cache
    opts = {"out_root": tmp_path / "h", "paradigm": "holistic", "review": False}
    render_file(film_file, RenderOptions(**opts))
    forced = render_file(film_file, RenderOptions(**opts, force=True, only=frozenset({"lens"})))
    assert forced.status == "complete"
    assert ("video", "lens") in misses(forced.manifest)
    assert not {item for _, item in misses(forced.manifest)} & {"wide", "mara", "tomas"}
