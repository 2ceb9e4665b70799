"""Ray: one actor per GPU of a cluster (`--ray auto`, `--ray ADDRESS`, MULTISHOT_RAY_ADDRESS).

The scheduler is Ray's, as in FastVideo, xDiT and cache-dit: each actor asks for `num_gpus=1`,
so Ray places one per GPU and sets its CUDA_VISIBLE_DEVICES; an actor loads its models once (its
own BackendPool) and runs shot-level work sent as data (a Call). Artifacts come back through the
shared cache folder: the driver names a temp path in the render's cache and the actor writes it
there, so large clips never pass through the driver or Ray's object store (a studio's nodes
mount one render folder; README "Scaling out"). An actor that dies mid-shot (killed, node lost)
costs that shot only: a new actor takes its place and the shot is tried again, at most
`retries` more times, then the render fails with a sentence naming the shot.

`--ray local` starts a private Ray instance on this machine (benchmarks, a single box).
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Any, Callable

from multishot.graph.executors.base import BackendPool, Call, ShotFailed, remote_form, run_in_worker, take_idle
from multishot.graph.executors.local import ExecutorUnusable

#: What the driver's environment passes on to the actors (offline mode, test cache folders).
FORWARDED_ENV = ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")


class _Worker:
    """The actor's body: its own backends, loaded on first use and kept."""

    def __init__(self) -> None:
        self.pool = BackendPool()

    def pid(self) -> int:
        return os.getpid()

    def run(self, work: Call, tmp: str) -> Any:
        return run_in_worker(work, Path(tmp), self.pool)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorUnusable("--ray needs Ray, an optional extra: pip install 'multishot[ray]'") from None
    return ray


class RayActors:
    def __init__(self, address: str, profile_of: Callable[[Any], str | None], *, retries: int = 2,
                 on_event: Callable[..., None] | None = None) -> None:
        ray = self._ray = _import_ray()
        self.retries = retries
        self._profile_of = profile_of
        self.on_event: Callable[..., None] = on_event or (lambda kind, **data: None)
        self._closed = False
        self._lock = threading.Lock()
        env = {k: v for k, v in os.environ.items() if k.startswith("MULTISHOT_") or k in FORWARDED_ENV}
        self._owns = not ray.is_initialized()
        if self._owns:
            try:
                ray.init(address=None if address == "local" else address, runtime_env={"env_vars": env},
                         logging_level="ERROR", log_to_driver=False, include_dashboard=False,
                         configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise ExecutorUnusable(f"--ray {address}: cannot reach a Ray cluster ({error}); start one with "
                                       "`ray start --head`, or give its address") from None
        gpus = int(ray.cluster_resources().get("GPU", 0))
        if gpus < 1:
            self.close()
            raise ExecutorUnusable(f"--ray {address}: the cluster has no GPU (Ray reports none); "
                                   "multishot runs one actor per GPU")
        self._actor_cls = ray.remote(num_gpus=1, max_restarts=0)(_Worker)
        self.slots = gpus
        self._all: list[Any] = []
        self._idle: queue.Queue[Any] = queue.Queue()
        for _ in range(gpus):
            self._idle.put(self._spawn())

    def _spawn(self) -> Any:
        actor = self._actor_cls.remote()
        with self._lock:
            self._all.append(actor)
        return actor

    def worker_pids(self) -> list[int]:
        """The actors' process ids (tests kill one)."""
        return [self._ray.get(a.pid.remote(), timeout=120) for a in list(self._all)]

    def make(self, work: Call, tmp: Path, *, label: str) -> Any:
        ray = self._ray
        sent = remote_form(work, self._profile_of)
        lost: list[str] = []
        for _attempt in range(self.retries + 1):
            actor = self._take()
            try:
                result = ray.get(actor.run.remote(sent, str(tmp)))
            except ray.exceptions.RayActorError as error:
                if self._closed:
                    raise ShotFailed(f"{label}: stopped") from None
                reason = f"actor died ({type(error).__name__})"
                lost.append(reason)
                with self._lock:
                    self._all = [a for a in self._all if a is not actor]
                self.on_event("worker-lost", item=label, worker="ray-actor", reason=reason)
                _remove(tmp)
                self._idle.put(self._spawn())
                continue
            except ray.exceptions.RayTaskError as error:
                self._idle.put(actor)
                cause = getattr(error, "cause", None)
                raise (cause if isinstance(cause, BaseException) else RuntimeError(str(error))) from None
            self._idle.put(actor)
            return result
        raise ShotFailed(f"{label} failed: the Ray actor running it died {len(lost)} times ({'; '.join(lost)})")

    def _take(self) -> Any:
        return take_idle(self._idle, lambda: self._closed, "Ray actors")

    def close(self) -> None:
        """Kill every actor; disconnect (and stop a Ray instance this executor started)."""
        if self._closed:
            return
        self._closed = True
        for actor in list(getattr(self, "_all", [])):
            try:
                self._ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
