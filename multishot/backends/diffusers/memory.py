"""Memory strategies: how a pipeline sits on the GPU, chosen by the profile, not by stages.

The ladder, fastest first (each one after `none` also tiles and slices the VAE decode):

* ``none``: every component on the device.
* ``vae_tiling``: same, with tiled/sliced VAE decoding (the decode of 81 frames at 720p is often
  the peak).
* ``model_cpu_offload``: whole components move to the GPU when they run (accelerate hooks).
* ``group_offload``: transformer blocks stream to the GPU one group at a time, overlapping
  copies with compute on a CUDA stream (diffusers' group offloading).
* ``sequential_cpu_offload``: every leaf module streams in when used; slowest, least memory.

On a CPU device the offload strategies mean nothing (there is nothing to offload *to*), so they
place the pipeline on the CPU and only the VAE tiling part applies.

A worker keeps one pipeline resident at a time when pipelines sit fully on the GPU: placing one
parks the others (their modules go back to CPU RAM, shared modules excepted), so a keyframe
model and a video model that each fit alone do not OOM together.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable
from typing import Any

from .loading import LoadedPipeline

log = logging.getLogger("multishot.backends.diffusers")

_FULLY_PLACED = ("none", "vae_tiling")
_GROUP_HOOKS = ("lazy_prefetch_group_offloading", "layer_execution_tracker", "group_offloading")


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA out-of-memory (torch.cuda.OutOfMemoryError is torch.OutOfMemoryError)."""
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError)


def free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _modules(pipe: Any) -> dict[str, Any]:
    import torch

    return {k: v for k, v in pipe.components.items() if isinstance(v, torch.nn.Module)}


def _tile_vae(pipe: Any, on: bool) -> None:
    vae = getattr(pipe, "vae", None)
    if vae is None:
        return
    for name in (("enable_tiling", "enable_slicing") if on else ("disable_tiling", "disable_slicing")):
        fn = getattr(vae, name, None)
        if callable(fn):
            fn()


def apply_strategy(pipe: Any, strategy: str, device: Any) -> None:
    """Place `pipe` on `device` under `strategy` (from a clean, hook-free state)."""
    import torch

    device = torch.device(device)
    _tile_vae(pipe, strategy != "none")
    if strategy in _FULLY_PLACED or device.type == "cpu":
        for module in _modules(pipe).values():
            module.to(device)
        return
    if strategy == "model_cpu_offload":
        pipe.enable_model_cpu_offload(device=device)
    elif strategy == "group_offload":
        # The VAE stays whole on the device: its decode is one call, and tiling bounds it.
        pipe.enable_group_offload(onload_device=device, offload_device=torch.device("cpu"),
                                  offload_type="block_level", num_blocks_per_group=1,
                                  use_stream=device.type == "cuda", exclude_modules=["vae"])
    elif strategy == "sequential_cpu_offload":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        raise ValueError(f"unknown memory strategy {strategy!r}")


def teardown(pipe: Any) -> None:
    """Remove offload hooks of any kind and bring every module back to CPU RAM."""
    import torch

    remove = getattr(pipe, "remove_all_hooks", None)
    if callable(remove):
        remove()
    for module in _modules(pipe).values():
        registry = getattr(module, "_diffusers_hook", None)
        if registry is not None:
            for name in _GROUP_HOOKS:
                registry.remove_hook(name, recurse=True)
        module.to(torch.device("cpu"))
    free_memory()


def place(entry: LoadedPipeline, others: Iterable[LoadedPipeline]) -> None:
    """Make `entry` ready to run under its current strategy, parking fully placed pipelines of
    other entries first."""
    import torch

    device = torch.device(entry.device)
    if device.type != "cpu":
        mine = {id(m) for m in _modules(entry.pipe).values()}
        parked = False
        for other in others:
            if other is entry or other.applied not in _FULLY_PLACED:
                continue
            for module in _modules(other.pipe).values():
                if id(module) not in mine:
                    module.to(torch.device("cpu"))
            other.applied = None
            parked = True
        if parked:
            free_memory()
    if entry.applied == entry.strategy:
        return
    if entry.applied is not None:
        teardown(entry.pipe)
    apply_strategy(entry.pipe, entry.strategy, device)
    entry.applied = entry.strategy
    log.debug("placed %s under %s on %s", type(entry.pipe).__name__, entry.strategy, device)


def step_down(entry: LoadedPipeline) -> tuple[str, str] | None:
    """Move `entry` one step down its ladder after an out-of-memory error: tear down, free, and
    return (from, to); None when it is already at its lightest strategy."""
    if entry.level + 1 >= len(entry.ladder):
        return None
    before = entry.strategy
    teardown(entry.pipe)
    entry.applied = None
    entry.level += 1
    return before, entry.strategy
