"""One joint generation over several GPUs (issue 11, item 4): `render --gpus ... --cp N` starts
workers of N processes, the ranks of one torch.distributed group, and the holistic joint
forward runs sharded over them with the shot attention doing the Ulysses exchange. On the CPU:
GPUs faked with MULTISHOT_TEST_FAKE_GPUS (the `--gpus` code path), the ranks talk over gloo,
real tiny Wan pipelines, real processes and signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from _scale import MULTISHOT, alive, in_process_film, render, worker_pids
from conftest import small_film, write_film

from multishot.graph.executors import Call, LocalGPUs

FAKE2 = {"MULTISHOT_TEST_FAKE_GPUS": "2"}


def _two_scene_film() -> dict:
    """Two one-second shots in two scenes: two holistic groups, the second remembering the
    first (memory items + per-forward RoPE gathers), as small as a joint render gets."""
    data = small_film()
    data["scenes"][0]["shots"] = data["scenes"][0]["shots"][:1]
    data["scenes"][1]["shots"] = data["scenes"][1]["shots"][:1]
    data["scenes"][1]["shots"][0].pop("transition")
    for scene in data["scenes"]:
        for shot in scene["shots"]:
            shot["duration"] = 1
    return data


def test_a_joint_generation_over_two_ranks_makes_the_in_process_film(tmp_path: Path,
                                                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    film = write_film(tmp_path_factory.mktemp("cp-film") / "film.yaml", _two_scene_film())
    reference = in_process_film(tmp_path_factory, film, "tiny", "holistic")
    summary, run = render(film, tmp_path, "--profile", "tiny", "--paradigm", "holistic", "--gpus", "0,1", "--cp", "2",
                          env=FAKE2)
    assert run.returncode == 0, run.stderr[-3000:]
    # Ulysses changes where the sums run, not what they are: bit for bit (measured: equal).
    assert Path(summary["film"]).read_bytes() == reference.read_bytes()
    logs = Path(summary["out_dir"]) / ".cache" / "workers"
    assert sorted(p.name for p in logs.glob("*.log")) == ["gpu0-1.log", "gpu0-1.rank1.log"]  # one worker, two ranks
    for log in ("gpu0-1.log", "gpu0-1.rank1.log"):
        text = (logs / log).read_text()
        assert "start joint video of `wide`" in text and "start joint video of `both`" in text, text[-2000:]
        # The joint forwards really were split: every rank ran half of the tokens.
        assert "sharded forward: 24 tokens, 12 on each of 2 ranks" in text, text[-2000:]


def _rank_pid_at(log: Path, needle: str, timeout: float = 120) -> int:
    """The pid of the process whose log gets a line with `needle` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
            if needle in line:
                return int(line.split(" pid ")[1].split(":")[0])
        time.sleep(0.05)
    raise AssertionError(f"no line with {needle!r} in {log}")


def test_a_killed_rank_costs_its_group_one_retry(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """SIGKILL to rank 1 mid-shot: the driver kills what is left of the group, starts a fresh
    one on the same GPUs and retries the shot there; the film is the in-process one."""
    film = write_film(tmp_path / "film.yaml", small_film())
    reference = in_process_film(tmp_path_factory, film, "animatic", "stitching")
    out = tmp_path / "out"
    logs = out / "small-film" / ".cache" / "workers"
    env = {**os.environ, **FAKE2, "MULTISHOT_TEST_TASK_DELAY_S": "1.0"}
    proc = subprocess.Popen([*MULTISHOT, "render", str(film), "--out", str(out), "--no-review", "--json",
                             "--gpus", "all", "--cp", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        victim = _rank_pid_at(logs / "gpu0-1.rank1.log", "start video of `mara`")  # rank 1, in the task's delay
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:  # a hung render must not outlive the test (its ranks die with it)
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout.splitlines()[-1])
    assert Path(summary["film"]).read_bytes() == reference.read_bytes()
    manifest = json.loads(Path(summary["manifest"]).read_text())
    lost = [e for e in manifest["events"] if e["kind"] == "worker-lost"]
    assert [e["item"] for e in lost] == ["video of `mara`"], lost
    assert f"gpu0-1 rank 1 (pid {victim}) was killed by SIGKILL" in lost[0]["reason"], lost
    videos = [e["item"] for e in manifest["artifacts"] if e["stage"] == "video"]
    assert sorted(videos) == sorted(s["id"] for sc in small_film()["scenes"] for s in sc["shots"])  # none twice
    assert (logs / "gpu0-1.1.log").exists() and (logs / "gpu0-1.1.rank1.log").exists()  # the fresh group
    assert not any(alive(pid) for pid in worker_pids(logs)), "orphan ranks"


def test_a_task_that_fails_on_every_rank_is_its_error_not_a_lost_worker(tmp_path: Path) -> None:
    """A task error (the same on every rank) is reported as itself and not retried; the group,
    whose ranks may have parted ways inside the task, is replaced and goes on working."""
    os.environ.setdefault("MULTISHOT_TEST_FAKE_GPUS", "2")  # the ranks inherit it
    events: list[dict] = []
    executor = LocalGPUs(["0", "1"], tmp_path / "logs", lambda obj: None, cp=2,
                         on_event=lambda kind, **data: events.append({"kind": kind, **data}))
    try:
        assert executor.slots == 1
        first = executor.make(Call("os:getpid", {}, tmp_arg=None), tmp_path / "a.tmp", label="pid")
        assert first in executor.worker_pids() and len(executor.worker_pids()) == 2
        with pytest.raises(ValueError, match="Expecting"):
            executor.make(Call("json:loads", {"s": "{"}, tmp_arg=None), tmp_path / "b.tmp", label="bad json")
        assert not events  # not a lost worker, so not retried
        again = executor.make(Call("os:getpid", {}, tmp_arg=None), tmp_path / "c.tmp", label="pid")
        assert again != first and again in executor.worker_pids()
    finally:
        executor.close()
    assert not executor.worker_pids()
    assert not any(alive(pid) for pid in worker_pids(tmp_path / "logs"))


def test_bad_cp_flags_are_invalid_input_before_any_work(tmp_path: Path) -> None:
    film = write_film(tmp_path / "film.yaml", small_film())
    fake4 = {"MULTISHOT_TEST_FAKE_GPUS": "4"}
    cases = (
        (["--cp", "2"], FAKE2, "--cp 2 spreads each worker over 2 of the GPUs that --gpus names; add --gpus"),
        (["--gpus", "0,1,2", "--cp", "2"], fake4, "--cp 2 makes workers of 2 GPUs, but --gpus gives 3"),
        (["--cp", "2", "--ray", "auto"], FAKE2, "use --gpus with --cp"),
        (["--cp", "0", "--gpus", "all"], FAKE2, "--cp"),
        # The tiny transformer has 2 heads: Ulysses over 4 GPUs cannot share them out.
        (["--profile", "tiny", "--paradigm", "holistic", "--gpus", "all", "--cp", "4"], fake4,
         "tiny.yaml: roles.first_last_to_video: --cp 4 must divide the attention heads of its model's transformer "
         "(WanTransformer3DModel, 2 heads)"),
        # `--fast` on tiny runs diffusers' FirstBlockCache, which each rank would decide alone.
        (["--profile", "tiny", "--paradigm", "holistic", "--fast", "--gpus", "all", "--cp", "2"], FAKE2,
         "--cp 2 cannot run the `first_block` step cache"),
    )
    for flags, env, said in cases:
        _, run = render(film, tmp_path / "out", *flags, env=env)
        assert run.returncode == 2 and said in " ".join(run.stderr.split()), (flags, run.stderr)
        assert "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()
