"""Ray executor (issue 11) on Ray's own test cluster: two nodes, each declaring one (fake) GPU,
so the scheduler places one actor per node as it would on a real cluster. The renders go through
the CLI (`--ray ADDRESS`) and must equal the in-process film byte for byte. One cluster for the
module: starting one on two cores takes ~10 s."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest
from _scale import EXAMPLE, in_process_film, render

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'multishot[ray]'")

from multishot.graph.executors import Call, ShotFailed  # noqa: E402
from multishot.graph.executors.ray_actors import RayActors  # noqa: E402


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    from ray.cluster_utils import Cluster

    # Test-only variables set by conftest (offline HF, a private model cache) reach the actors.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 1})
    made.add_node(num_cpus=1, num_gpus=1)
    made.wait_for_nodes()
    yield made
    made.shutdown()


@pytest.mark.parametrize("profile,paradigm", [("animatic", "keyframe"), ("tiny", "stitching")])
def test_a_ray_cluster_makes_the_in_process_film_bit_for_bit(cluster, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                             tmp_path_factory: pytest.TempPathFactory,
                                                             profile: str, paradigm: str) -> None:
    reference = in_process_film(tmp_path_factory, EXAMPLE, profile, paradigm)
    summary, run = render(EXAMPLE, tmp_path, "--profile", profile, "--paradigm", paradigm,
                          env={"MULTISHOT_RAY_ADDRESS": cluster.address})
    assert run.returncode == 0, run.stderr
    assert Path(summary["film"]).read_bytes() == reference.read_bytes()
    assert json.loads(Path(summary["manifest"]).read_text())["executor"] == "RayActors"


def test_killed_actors_are_replaced_and_a_shot_that_kills_them_fails_by_name(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    executor = RayActors(cluster.address, lambda obj: None, retries=1)
    try:
        assert executor.slots == 2
        # An actor SIGKILLed mid-task: the task is retried on a new actor and still answers.
        pids = executor.worker_pids()
        result: dict[str, object] = {}
        slow = Call("subprocess:check_output", {"args": ["sh", "-c", "sleep 3; echo done"]}, tmp_arg=None)
        worker = threading.Thread(target=lambda: result.update(out=executor.make(slow, tmp_path / "a", label="video of `a`")))
        worker.start()
        import time

        time.sleep(1.5)
        os.kill(pids[0], signal.SIGKILL)  # the first idle actor took the task (a FIFO of idle actors)
        worker.join(120)
        assert result.get("out") == b"done\n"
        now = executor.worker_pids()
        assert pids[0] not in now and pids[1] in now and len(now) == 2  # replaced, the other untouched
        # Work that kills every actor it lands on: bounded retries, then a clear failure.
        killer = Call("subprocess:run", {"args": ["sh", "-c", "kill -KILL $PPID"]}, tmp_arg=None)
        with pytest.raises(ShotFailed, match=r"video of `b` failed: the Ray actor running it died 2 times"):
            executor.make(killer, tmp_path / "b", label="video of `b`")
    finally:
        executor.close()


def test_ray_missing_is_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray not installed is simulated by hiding the module (the one mock: a missing package)."""
    import sys

    from typer.testing import CliRunner

    from multishot.cli.main import app
    from conftest import small_film, write_film

    film = write_film(tmp_path / "film.yaml", small_film())
    monkeypatch.setitem(sys.modules, "ray", None)
    result = CliRunner().invoke(app, ["render", str(film), "--out", str(tmp_path / "out"), "--ray", "auto"])
    assert result.exit_code == 2
    assert "pip install 'multishot[ray]'" in result.output
