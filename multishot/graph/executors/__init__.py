"""Where stage work runs: in process (the default), one worker per local GPU (`--gpus`; with
`--cp N` one worker per N GPUs, its joint generations sharded over them), or Ray actors on a
cluster (`--ray`). See base.py for the interface, local.py and ray_actors.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from multishot.graph.executors.base import BackendRef, Call, Executor, InProcess, ShotFailed, call
from multishot.graph.executors.local import ExecutorUnusable, LocalGPUs, parse_gpus, worker_gpus

RAY_ADDRESS_ENV = "MULTISHOT_RAY_ADDRESS"


def check_flags(*, gpus: str | None, ray: str | None, cp: int | None) -> list[list[str]] | None:
    """The GPUs of each local worker the flags ask for (None: no local workers), or
    ExecutorUnusable saying what is wrong with them, before anything is started."""
    from_env = not ray and bool(os.environ.get(RAY_ADDRESS_ENV))
    ray = ray or os.environ.get(RAY_ADDRESS_ENV) or None
    if ray and gpus:
        said = f" (the environment sets {RAY_ADDRESS_ENV}, which counts as --ray)" if from_env else ""
        raise ExecutorUnusable(f"--gpus and --ray are two ways to scale out; give one{said}")
    if cp is not None:
        if ray:
            said = f" (the environment sets {RAY_ADDRESS_ENV}, which counts as --ray)" if from_env else ""
            raise ExecutorUnusable(f"--cp spreads a worker over several local GPUs, which Ray actors (one GPU each) "
                                   f"do not do; use --gpus with --cp{said}")
        if not gpus:
            raise ExecutorUnusable(f"--cp {cp} spreads each worker over {cp} of the GPUs that --gpus names; "
                                   f"add --gpus (e.g. --gpus all --cp {cp})")
    return worker_gpus(parse_gpus(gpus), cp) if gpus else None


def open_executor(*, gpus: str | None, ray: str | None, log_dir: Path,
                  profile_of: Callable[[Any], str | None],
                  on_event: Callable[..., None] | None = None, cp: int | None = None) -> Executor:
    """The executor the flags ask for (`--ray` or MULTISHOT_RAY_ADDRESS, else `--gpus`, with
    `--cp` GPUs per worker, else in process). Bad flags raise ExecutorUnusable before any work."""
    groups = check_flags(gpus=gpus, ray=ray, cp=cp)
    ray = ray or os.environ.get(RAY_ADDRESS_ENV) or None
    if ray:
        from multishot.graph.executors.ray_actors import RayActors

        return RayActors(ray, profile_of, on_event=on_event)
    if groups is not None:
        return LocalGPUs([g for group in groups for g in group], log_dir, profile_of, on_event=on_event, cp=cp)
    return InProcess()


__all__ = ["BackendRef", "Call", "Executor", "ExecutorUnusable", "InProcess", "LocalGPUs", "RAY_ADDRESS_ENV",
           "ShotFailed", "call", "check_flags", "open_executor", "parse_gpus", "worker_gpus"]
