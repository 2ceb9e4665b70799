"""Local-GPU executor (issue 11): real worker processes, CPU workers standing in for GPUs
through MULTISHOT_TEST_FAKE_GPUS (the same code path as `--gpus` on a GPU machine; the variable
only makes GPU discovery report N and hides CUDA from the workers). Signals are real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from _scale import EXAMPLE, MULTISHOT, alive, in_process_film, render, worker_line, worker_pids
from conftest import small_film, videos_filed, write_film

from multishot.graph.executors import Call, LocalGPUs, ShotFailed

FAKE2 = {"MULTISHOT_TEST_FAKE_GPUS": "2"}


@pytest.mark.parametrize("profile,paradigm", [("animatic", "keyframe"), ("tiny", "stitching")])
def test_two_workers_make_the_in_process_film_bit_for_bit(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                                                          profile: str, paradigm: str) -> None:
    reference = in_process_film(tmp_path_factory, EXAMPLE, profile, paradigm)
    summary, run = render(EXAMPLE, tmp_path, "--profile", profile, "--paradigm", paradigm, "--gpus", "0,1", env=FAKE2)
    assert run.returncode == 0, run.stderr
    assert Path(summary["film"]).read_bytes() == reference.read_bytes()
    manifest = json.loads(Path(summary["manifest"]).read_text())
    assert manifest["executor"] == "LocalGPUs"
    logs = Path(summary["out_dir"]) / ".cache" / "workers"
    # Both workers did shots: the independent shots really ran on two processes.
    assert all("start" in (logs / f"gpu{g}.log").read_text() for g in "01")


def _slow_small_film(tmp_path: Path) -> Path:
    return write_film(tmp_path / "film.yaml", small_film())


def test_a_worker_killed_mid_shot_costs_only_that_shot(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    film = _slow_small_film(tmp_path)
    reference = in_process_film(tmp_path_factory, film, "animatic", "stitching")
    out = tmp_path / "out"
    logs = out / "small-film" / ".cache" / "workers"
    env = {**os.environ, **FAKE2, "MULTISHOT_TEST_TASK_DELAY_S": "1.5"}
    proc = subprocess.Popen([*MULTISHOT, "render", str(film), "--out", str(out), "--no-review", "--json",
                             "--gpus", "all"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = worker_line(logs, "start video of `wide`")
    victim = int(line.split(" pid ")[1].split(":")[0])
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    summary = json.loads(stdout.splitlines()[-1])
    assert Path(summary["film"]).read_bytes() == reference.read_bytes()
    manifest = json.loads(Path(summary["manifest"]).read_text())
    lost = [e for e in manifest["events"] if e["kind"] == "worker-lost"]
    assert [e["item"] for e in lost] == ["video of `wide`"] and "SIGKILL" in lost[0]["reason"]
    videos = [e["item"] for e in manifest["artifacts"] if e["stage"] == "video"]
    assert sorted(videos) == sorted(s["id"] for sc in small_film()["scenes"] for s in sc["shots"])  # none made twice
    assert not list((out / "small-film" / ".cache").rglob("*.tmp*"))


def test_a_shot_that_kills_every_worker_fails_by_name_after_bounded_retries(tmp_path: Path) -> None:
    from multishot.graph.executors.local import FAKE_GPUS_ENV

    os.environ.setdefault(FAKE_GPUS_ENV, "2")  # monkeypatch-free: the workers inherit it
    executor = LocalGPUs(["0", "1"], tmp_path / "logs", lambda obj: None, retries=2)
    try:
        # The work itself SIGKILLs the worker that runs it: every attempt loses its worker.
        with pytest.raises(ShotFailed, match=r"video of `s3` failed: the worker running it died 3 times.*SIGKILL"):
            executor.make(Call("subprocess:run", {"args": ["sh", "-c", "kill -KILL $PPID"]}, tmp_arg=None),
                          tmp_path / "x.tmp", label="video of `s3`")
        assert executor.make(Call("os:getpid", {}, tmp_arg=None), tmp_path / "y.tmp", label="ok") in executor.worker_pids()
    finally:
        executor.close()
    assert not any(alive(pid) for pid in worker_pids(tmp_path / "logs")) and not executor.worker_pids()


@pytest.mark.parametrize("how", ["ctrl-c", "driver-killed"])
def test_stopping_the_driver_leaves_no_worker_and_the_render_resumes(tmp_path: Path, how: str,
                                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    film = _slow_small_film(tmp_path)
    reference = in_process_film(tmp_path_factory, film, "animatic", "stitching")
    out = tmp_path / "out"
    logs = out / "small-film" / ".cache" / "workers"
    env = {**os.environ, **FAKE2, "MULTISHOT_TEST_TASK_DELAY_S": "1.0"}
    proc = subprocess.Popen([*MULTISHOT, "render", str(film), "--out", str(out), "--no-review", "--gpus", "0,1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    worker_line(logs, "done video of")  # one shot is finished ...
    # ... and cached: the worker prints "done" before it answers, and the driver files the clip
    # after the answer, so on a loaded machine a kill right after the line caught nothing cached.
    manifest = out / "small-film" / "manifest.json"
    deadline = time.monotonic() + 60
    while not videos_filed(manifest) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert videos_filed(manifest), "no video was filed within 60 s"
    worker_line(logs, "start video of `mara`")
    if how == "ctrl-c":  # a terminal's Ctrl-C reaches the whole foreground process group
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.kill()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == (130 if how == "ctrl-c" else -signal.SIGKILL), stderr
    if how == "ctrl-c":
        assert "interrupted" in stderr
    pids = worker_pids(logs)
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(pids) == 2 and not any(alive(p) for p in pids), "orphan workers"
    summary, run = render(film, out, "--gpus", "0,1", env=FAKE2)
    assert run.returncode == 0, run.stderr
    assert Path(summary["film"]).read_bytes() == reference.read_bytes()
    assert summary["cached"] >= 1  # what was finished before the stop is not redone


def test_bad_gpu_flags_are_invalid_input(tmp_path: Path) -> None:
    film = _slow_small_film(tmp_path)
    for flags, said in ((["--gpus", "0,7"], "no GPU 7 on this machine (it has 0, 1)"),
                        (["--gpus", "one"], "--gpus takes `all` or GPU indices"),
                        (["--gpus", "0", "--ray", "auto"], "give one")):
        _, run = render(film, tmp_path / "out", *flags, env=FAKE2)
        assert run.returncode == 2 and said in run.stderr, run.stderr
        assert "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("variant", ["--fast", "--draft"])
def test_workers_build_the_fast_and_draft_backends_the_driver_names(tmp_path: Path, variant: str) -> None:
    """A worker resolves the driver's pool key (`tiny#fast`, `tiny#draft`) to the same backend,
    so a scaled-out fast or draft film is the in-process one, not a full-quality film filed
    under the fast key."""
    args = ("--profile", "tiny", "--paradigm", "stitching", variant)
    reference, run = render(EXAMPLE, tmp_path / "in", *args)
    assert run.returncode == 0, run.stderr
    full, run = render(EXAMPLE, tmp_path / "full", "--profile", "tiny", "--paradigm", "stitching")
    assert run.returncode == 0, run.stderr
    summary, run = render(EXAMPLE, tmp_path / "two", *args, "--gpus", "0,1", env=FAKE2)
    assert run.returncode == 0, run.stderr
    film = Path(summary["film"]).read_bytes()
    assert film == Path(reference["film"]).read_bytes() and film != Path(full["film"]).read_bytes()
