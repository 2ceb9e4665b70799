"""Where stage work runs: in process (the default), one worker per local GPU (`--gpus`), or Ray
actors on a cluster (`--ray`). See base.py for the interface, local.py and ray_actors.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from multishot.graph.executors.base import BackendRef, Call, Executor, InProcess, ShotFailed, call
from multishot.graph.executors.local import ExecutorUnusable, LocalGPUs, parse_gpus

RAY_ADDRESS_ENV = "MULTISHOT_RAY_ADDRESS"


def open_executor(*, gpus: str | None, ray: str | None, log_dir: Path,
                  profile_of: Callable[[Any], str | None],
                  on_event: Callable[..., None] | None = None) -> Executor:
    """The executor the flags ask for (`--ray` or MULTISHOT_RAY_ADDRESS, else `--gpus`, else in
    process). Bad flags raise ExecutorUnusable before any work."""
    from_env = not ray and bool(os.environ.get(RAY_ADDRESS_ENV))
    ray = ray or os.environ.get(RAY_ADDRESS_ENV) or None
    if ray and gpus:
        said = f" (the environment sets {RAY_ADDRESS_ENV}, which counts as --ray)" if from_env else ""
        raise ExecutorUnusable(f"--gpus and --ray are two ways to scale out; give one{said}")
    if ray:
        from multishot.graph.executors.ray_actors import RayActors

        return RayActors(ray, profile_of, on_event=on_event)
    if gpus:
        return LocalGPUs(parse_gpus(gpus), log_dir, profile_of, on_event=on_event)
    return InProcess()


__all__ = ["BackendRef", "Call", "Executor", "ExecutorUnusable", "InProcess", "LocalGPUs", "RAY_ADDRESS_ENV",
           "ShotFailed", "call", "open_executor", "parse_gpus"]
