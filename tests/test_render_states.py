"""What a render leaves behind and what it says about itself (issue 17 item 7): no temp links
after re-renders, no half-written encodes after an interrupt or a kill, `interrupted` and exit
130 after SIGINT, an interrupted render recognised after SIGKILL, a full disk named, output
folders ffmpeg could misread, and one render of a folder at a time. Real processes, real
signals (os.kill), a real full filesystem (a tiny tmpfs in a private mount namespace)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from conftest import MULTISHOT, ROOT, small_film, write_film
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.post.ffmpeg import probe, read_video

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "400"}


def slow_film(path: Path) -> Path:
    """The small film at a size that takes a few seconds, so a signal lands mid-render."""
    data = small_film(resolution="480x288", fps=16)
    for scene in data["scenes"]:
        for shot in scene["shots"]:
            shot["duration"] = shot["duration"] * 2
    return write_film(path, data)


def start_render(film: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*MULTISHOT, "render", str(film), "--out", str(out), "--no-review", "--json", *extra],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".tmp" in p.name or ".part." in p.name]


def video_artifacts(out_dir: Path) -> int:
    video = out_dir / ".cache" / "video"
    return len([p for p in video.iterdir() if p.is_dir() and not p.name.startswith(".")]) if video.is_dir() else 0


def test_rerenders_leave_no_temp_links(tmp_path: Path, film_file: Path) -> None:
    """Every re-render used to leave `.<name>.<pid>.tmp` hard links (rename() between two links
    to one inode does nothing); stale ones of a killed render are swept."""
    opts = RenderOptions(out_root=tmp_path / "r", review=False)
    first = render_file(film_file, opts)
    stale = [first.out_dir / "shots" / ".wide.mp4.999999.tmp", first.out_dir / ".manifest.json.999999.tmp",
             first.out_dir / ".cache" / "assemble" / ".0123.999999.tmp.mp4.part.mp4"]
    for path in stale:
        path.write_bytes(b"left by a killed render")
    for _ in range(2):
        again = render_file(film_file, opts)
        assert again.status == "complete" and again.misses == 0
        assert leftovers(first.out_dir) == []
    assert (first.out_dir / "shots" / "wide.mp4").samefile(first.out_dir / entry_path(again.manifest, "wide") / "clip.mp4")


def entry_path(manifest: Path, item: str) -> str:
    return next(e["path"] for e in json.loads(manifest.read_text())["artifacts"] if e["item"] == item)


INTERRUPT_CLOSE = """
import os, signal, sys, threading
import numpy as np
from pathlib import Path
from multishot.post.ffmpeg import VideoWriter
out = Path(sys.argv[1])
rng = np.random.default_rng(0)
frames = rng.integers(0, 255, (8, 360, 640, 3), dtype=np.uint8)  # noise: slow to encode
try:
    with VideoWriter(out, 640, 360, 16) as writer:
        for i in range(80):
            writer.write(frames[i % 8])
        # the with-block ends: close() waits for x264 to flush its lookahead; Ctrl-C lands there
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
except KeyboardInterrupt:
    print("interrupted")
"""


def test_an_interrupt_while_the_encoder_finishes_leaves_no_part_file(tmp_path: Path) -> None:
    """An interrupted assembly used to leave a full-size `.part.mp4` (the encoder kept writing
    it after Python gave up waiting for it)."""
    out = tmp_path / "film.mp4"
    run = subprocess.run([sys.executable, "-c", INTERRUPT_CLOSE, str(out)], env=ENV, capture_output=True,
                         text=True, timeout=300)
    assert run.stdout.strip() == "interrupted", run.stderr
    time.sleep(1.0)  # an orphaned encoder would still be writing
    assert list(tmp_path.iterdir()) == []


def test_sigint_says_interrupted_and_exits_130(tmp_path: Path) -> None:
    film, out = slow_film(tmp_path / "film.yaml"), tmp_path / "r"
    proc = start_render(film, out)
    folder = out / "small-film"
    wait_for(lambda: video_artifacts(folder) >= 1, "the first shot")
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert json.loads((folder / "manifest.json").read_text())["status"] == "interrupted"
    assert "Traceback" not in stderr
    assert leftovers(folder) == []


def test_after_sigkill_in_assembly_the_next_run_finds_the_interrupted_render(tmp_path: Path) -> None:
    """The manifest stays `running` (nothing can run after SIGKILL); the next run says it found
    an interrupted render, removes the half-written film encode and finishes."""
    film, out = slow_film(tmp_path / "film.yaml"), tmp_path / "r"
    folder = out / "small-film"
    proc = start_render(film, out)
    assemble = folder / ".cache" / "assemble"
    wait_for(lambda: assemble.is_dir() and any(".part." in p.name and p.stat().st_size > 0 for p in assemble.iterdir()),
             "the film encode to start")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert json.loads((folder / "manifest.json").read_text())["status"] == "running"
    assert leftovers(folder), "the kill must have left the encode behind"

    run = subprocess.run([*MULTISHOT, "render", str(film), "--out", str(out), "--no-review"], env=ENV,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    said = " ".join(run.stderr.split())
    assert "found an interrupted render" in said and f"pid {proc.pid}" in said
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert any(e["kind"] == "found-interrupted" and e["pid"] == proc.pid for e in manifest["events"])
    assert leftovers(folder) == []
    assert probe(folder / "film.mp4").frames == manifest["frames"]


def test_a_full_disk_names_the_file(tmp_path: Path) -> None:
    """ENOSPC used to print 'No space left on device' and no file."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("needs unshare(1) and mount(8) for a private tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    probe_mount = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs '{disk}'"],
                                 capture_output=True)
    if probe_mount.returncode != 0:
        pytest.skip("cannot mount a tmpfs in a private mount namespace here")
    film = write_film(tmp_path / "film.yaml", small_film())
    render = " ".join([*MULTISHOT, "render", str(film), "--out", str(disk), "--no-review"])
    for size in ("120k", "200k", "260k"):  # the disk fills in a clip, a clip's encode, the film
        run = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size={size} tmpfs '{disk}' && {render}"],
                             env=ENV, capture_output=True, text=True, timeout=300)
        said = " ".join(run.stderr.split())
        assert run.returncode == 1, run.stderr
        assert "No space left on device" in said and f"{disk}/small-film/" in said, run.stderr
        assert "Traceback" not in run.stderr


@pytest.mark.parametrize("folder", ["-dash", "a:b"])
def test_an_output_folder_is_never_an_ffmpeg_option_or_protocol(tmp_path: Path, folder: str) -> None:
    film = write_film(tmp_path / "film.yaml", small_film())
    run = subprocess.run([*MULTISHOT, "render", "film.yaml", f"--out={folder}", "--no-review"], cwd=tmp_path,
                         env=ENV, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert film.is_file() and probe(tmp_path / folder / "small-film" / "film.mp4").frames == 60


def test_two_renders_of_one_folder_take_turns(tmp_path: Path) -> None:
    """A second render (and a --force one) of a folder that is being rendered waits for the
    first, saying so, instead of doing the work beside it. The first render is held with
    SIGSTOP so the others are certain to arrive while it runs."""
    film, out = write_film(tmp_path / "film.yaml", small_film()), tmp_path / "r"
    folder = out / "small-film"
    first = start_render(film, out)
    wait_for(lambda: (folder / ".cache" / "render.owner.json").is_file(), "the first render to hold the folder")
    os.kill(first.pid, signal.SIGSTOP)
    try:
        waiting = [start_render(film, out), start_render(film, out, "--force")]
        said: list[list[str]] = [[], []]
        readers = [threading.Thread(target=lambda p=p, s=s: s.extend(p.stderr), daemon=True)
                   for p, s in zip(waiting, said)]
        for reader in readers:
            reader.start()
        wait_for(lambda: all(any("waiting for it to finish" in line for line in s) for s in said),
                 "both later renders to say they wait")
        assert all(p.poll() is None for p in waiting)
        assert f"pid {first.pid}" in " ".join(said[0])
    finally:
        os.kill(first.pid, signal.SIGCONT)
    summaries = []
    for proc in (first, *waiting):
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        assert proc.wait(timeout=300) == 0
        summaries.append(json.loads(stdout.strip().splitlines()[-1]))
    assert summaries[0]["rendered"] == 9
    assert summaries[1]["rendered"] == 0 and summaries[1]["cached"] == 9   # found it all done
    assert summaries[2]["rendered"] == 9                                    # --force re-did it, after
    reference = render_file(film, RenderOptions(out_root=tmp_path / "ref", review=False))
    assert np.array_equal(read_video(folder / "film.mp4"), read_video(reference.film))
    assert leftovers(folder) == []
