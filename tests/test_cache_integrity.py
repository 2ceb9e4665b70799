"""The cache is verified, not trusted (issue 17 item 2): every artifact's size and sha256 are
recorded when it is made and checked on each cache hit; a damaged one is dropped with a warning
and re-made, so no film is built from it and no later render fails on it. `multishot eval`
says when a film decodes to another frame count than its plan. Real renders, real files, real
damage (bytes flipped, files truncated) on disk."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from conftest import MULTISHOT, ROOT
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.post.ffmpeg import probe, read_video

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "400"}


def entries(manifest: Path) -> list[dict]:
    return json.loads(manifest.read_text())["artifacts"]


def entry(manifest: Path, stage: str, item: str) -> dict:
    return next(e for e in entries(manifest) if e["stage"] == stage and e["item"] == item)


def flip_bytes(path: Path, start: int = 2000, step: int = 97) -> None:
    """Damage a file in place, keeping its size (what bit rot or a careless edit does)."""
    data = bytearray(path.read_bytes())
    for i in range(start, len(data), step):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def render_cli(film: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MULTISHOT, "render", str(film), "--out", str(out), "--no-review", *extra],
                          env=ENV, capture_output=True, text=True, timeout=300)


def test_manifest_records_each_artifacts_size_and_hash(tmp_path: Path, film_file: Path) -> None:
    result = render_file(film_file, RenderOptions(out_root=tmp_path / "r", review=False))
    film = entry(result.manifest, "assemble", "film")
    cached_film = result.out_dir / film["path"]
    assert film["bytes"] == cached_film.stat().st_size > 0
    assert film["sha256"] == hashlib.sha256(cached_film.read_bytes()).hexdigest()
    assert all(isinstance(e["bytes"], int) and len(e["sha256"]) == 64 for e in entries(result.manifest))
    again = render_file(film_file, RenderOptions(out_root=tmp_path / "r", review=False))
    assert again.misses == 0  # a verified cache is still a cache
    assert entry(again.manifest, "assemble", "film")["sha256"] == film["sha256"]


def test_flipped_bytes_in_a_cached_clip_are_remade_not_assembled(tmp_path: Path, film_file: Path) -> None:
    """It used to give a film with corrupted frames, exit 0 and `complete`."""
    out = tmp_path / "r"
    first = render_file(film_file, RenderOptions(out_root=out, review=False))
    reference = read_video(first.film)
    clip = first.out_dir / entry(first.manifest, "video", "tomas")["path"] / "clip.mp4"
    flip_bytes(clip)
    shutil.rmtree(first.out_dir / ".cache" / "assemble")  # the film must be assembled again

    run = render_cli(film_file, out)
    assert run.returncode == 0, run.stderr
    assert "failed verification" in run.stderr and "tomas" in run.stderr
    manifest = first.out_dir / "manifest.json"
    assert json.loads(manifest.read_text())["status"] == "complete"
    remade = entry(manifest, "video", "tomas")
    assert remade["cache"] == "miss" and remade["reason"].startswith("failed verification")
    assert any(ev["kind"] == "cache-rejected" and ev["item"] == "tomas"
               for ev in json.loads(manifest.read_text())["events"])
    assert np.array_equal(read_video(first.out_dir / "film.mp4"), reference)


def test_truncated_cached_film_is_rebuilt(tmp_path: Path, film_file: Path) -> None:
    """It used to stay truncated while the render said '0 rendered, 9 cached'."""
    out = tmp_path / "r"
    first = render_file(film_file, RenderOptions(out_root=out, review=False))
    reference = read_video(first.film)
    film = first.out_dir / "film.mp4"  # a hard link to the cached film: truncating it damages the cache
    os.truncate(film, film.stat().st_size // 3)

    again = render_file(film_file, RenderOptions(out_root=out, review=False))
    assert again.status == "complete"
    assert entry(again.manifest, "assemble", "film")["cache"] == "miss"
    assert probe(again.film).frames == 60
    assert np.array_equal(read_video(again.film), reference)


def test_a_damaged_artifact_does_not_fail_every_later_render(tmp_path: Path, film_file: Path) -> None:
    """A clip cut to a few bytes (with its film re-assembled) used to make every render fail
    the same way while saying 'run the same command to resume'. A cache without records (an
    older multishot) and a record that is not JSON are re-made too, never trusted."""
    out = tmp_path / "r"
    first = render_file(film_file, RenderOptions(out_root=out, review=False))
    video = first.out_dir / entry(first.manifest, "video", "mara")["path"]
    os.truncate(video / "clip.mp4", 300)
    (video.parent / f"{video.name}.record.json").unlink(missing_ok=True)  # no record at all
    wide = first.out_dir / entry(first.manifest, "video", "wide")["path"]
    (wide.parent / f"{wide.name}.record.json").write_text("{not json")
    shutil.rmtree(first.out_dir / ".cache" / "assemble")

    for attempt in range(2):
        run = render_cli(film_file, out)
        assert run.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr
    manifest = first.out_dir / "manifest.json"
    assert {e["item"] for e in entries(manifest) if e["cache"] == "miss"} == set()  # second run: all cached
    assert probe(first.out_dir / "film.mp4").frames == 60


def test_dry_run_reports_a_damaged_artifact_as_to_render_and_keeps_it(tmp_path: Path, film_file: Path) -> None:
    out = tmp_path / "r"
    first = render_file(film_file, RenderOptions(out_root=out, review=False))
    clip = first.out_dir / entry(first.manifest, "video", "lens")["path"] / "clip.mp4"
    flip_bytes(clip)
    dry = render_file(film_file, RenderOptions(out_root=out, dry_run=True))
    lens = next(e for e in dry.planned if e["stage"] == "video" and e["item"] == "lens")
    assert lens["cache"] == "planned" and lens["reason"].startswith("failed verification")
    assert clip.is_file()  # a dry run writes and removes nothing


def test_eval_reports_a_film_whose_frames_differ_from_the_plan(tmp_path: Path, film_file: Path) -> None:
    result = render_file(film_file, RenderOptions(out_root=tmp_path / "r", review=False))
    film = result.out_dir / "film.mp4"
    shortened = tmp_path / "short.mp4"
    shutil.copyfile(film, shortened)  # a copy, so the cache stays whole
    os.truncate(shortened, film.stat().st_size // 2)
    os.replace(shortened, film)

    run = subprocess.run([*MULTISHOT, "eval", str(result.out_dir), "--json"], env=ENV,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    metrics = json.loads(run.stdout)
    assert metrics["planned_frames"] == 60 and 0 < metrics["frames"] < 60
    message = " ".join(run.stderr.split())
    assert f"decodes to {metrics['frames']} frames, the plan has 60" in message
    assert "Traceback" not in run.stderr
