"""A role's speed settings (profile `speed:` / `fast:`) put onto loaded diffusers models.

Two kinds, applied at two times. Kernel settings change how a transformer computes, not what:
the attention backend (diffusers' attention dispatch) and regional compilation of the repeated
blocks (`compile_repeated_blocks`, the PyTorch regional-compilation recipe); they are applied
once when the transformer is loaded and are part of its cache key. Step caches change what is
computed (they reuse earlier steps' block outputs): diffusers' own FirstBlockCache, TaylorSeer
(arXiv 2503.06923) and MagCache (arXiv 2506.09045), enabled through ``enable_cache`` for one
pipeline call and disabled after it, because one loaded pipeline serves several roles.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Iterator
from typing import Any

from .profile import CacheSpec, RoleSpec, SpeedSpec

TRANSFORMERS = ("transformer", "transformer_2")


class SpeedSettingError(ValueError):
    """A speed setting this model or this diffusers cannot run (said before any work)."""


def prepare_transformer(module: Any, spec: SpeedSpec) -> Any:
    """Attention backend and regional compile on a freshly loaded transformer."""
    if spec.attention_backend:
        from diffusers.models.attention_dispatch import _AttentionBackendRegistry

        # set_attention_backend also makes the backend the process-wide default; this module's
        # processors keep it explicitly, every other model keeps the default it had.
        before = _AttentionBackendRegistry.get_active_backend()[0]
        try:
            module.set_attention_backend(spec.attention_backend)
        except (ValueError, ImportError, RuntimeError) as exc:
            raise SpeedSettingError(f"attention backend `{spec.attention_backend}`: {exc}") from None
        finally:
            _AttentionBackendRegistry.set_active_backend(before)
    if spec.compile:
        # Not fullgraph: a step cache installs its hooks on the very blocks compiled here, and
        # its bookkeeping is compiler-disabled, so it must be allowed to break the graph; with
        # no cache there are no breaks and the compiled code is the same.
        kwargs: dict[str, Any] = {"fullgraph": False}
        if spec.compile_mode:
            kwargs["mode"] = spec.compile_mode
        try:
            module.compile_repeated_blocks(**kwargs)
        except ValueError as exc:  # the model declares no repeated blocks
            raise SpeedSettingError(f"regional compile: {exc}") from None
    return module


#: TaylorSeer's default module patterns (``^blocks.*attn``, matched whole) name no module of a
#: Wan transformer, whose attentions are ``blocks.N.attn1`` / ``attn2``: without these the
#: cache would silently do nothing on Wan.
WAN_TAYLORSEER_MODULES = (r"^blocks\.\d+\.attn[12]$", r"^blocks\.\d+\.ffn$")


def cache_config(spec: CacheSpec, steps: int, mag_ratios: tuple[float, ...] | None = None,
                 *, calibrate: bool = False, module: Any = None) -> Any:
    """The diffusers hook config for `spec` at `steps` denoising steps (for `module`)."""
    from diffusers.hooks import FirstBlockCacheConfig, MagCacheConfig, TaylorSeerCacheConfig

    if spec.kind == "first_block":
        return FirstBlockCacheConfig(**({"threshold": spec.threshold} if spec.threshold is not None else {}))
    if spec.kind == "taylorseer":
        kw: dict[str, Any] = {}
        if spec.interval is not None:
            kw["cache_interval"] = spec.interval
        if spec.warmup_steps is not None:
            kw["disable_cache_before_step"] = spec.warmup_steps
        if spec.max_order is not None:
            kw["max_order"] = spec.max_order
        if spec.lite:
            kw["use_lite_mode"] = True
        elif type(module).__name__.startswith("WanTransformer"):
            kw["cache_identifiers"] = list(WAN_TAYLORSEER_MODULES)
        return TaylorSeerCacheConfig(**kw)
    kw = {"num_inference_steps": steps}
    for ours, theirs in (("threshold", "threshold"), ("max_skip_steps", "max_skip_steps"),
                         ("retention_ratio", "retention_ratio")):
        if getattr(spec, ours) is not None:
            kw[theirs] = getattr(spec, ours)
    if calibrate:
        return MagCacheConfig(calibrate=True, **kw)
    if not mag_ratios:
        raise SpeedSettingError("MagCache needs this model's magnitude ratios: run "
                                "`multishot profiles calibrate PROFILE` once")
    return MagCacheConfig(mag_ratios=list(mag_ratios), **kw)


def transformers_of(pipe: Any) -> list[Any]:
    return [m for m in (getattr(pipe, name, None) for name in TRANSFORMERS) if m is not None]


@contextlib.contextmanager
def step_cache(pipe: Any, role: RoleSpec, *, calibrate: bool = False) -> Iterator[None]:
    """The role's step cache on the pipeline's transformer(s) for one call (none: no-op).
    Always disabled afterwards, also on error, so the next role sharing the pipeline runs
    uncached unless it asks for a cache itself."""
    spec = role.speed.cache
    if spec is None:
        yield
        return
    models = transformers_of(pipe)
    enabled = []
    try:
        for model in models:
            model.enable_cache(cache_config(spec, role.steps, role.mag_ratios, calibrate=calibrate, module=model))
            enabled.append(model)
        yield
    finally:
        for model in enabled:
            model.disable_cache()


_RESULTS = re.compile(r"MagCache Calibration Results: \[([^\]]*)\]")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def collect_mag_ratios() -> Iterator[list[list[float]]]:
    """The ratios diffusers' MagCache hook measures in calibration mode, one list per denoising
    context (``cond`` first, then ``uncond`` under CFG). diffusers reports them on its logger
    (and prints them, which is kept off multishot's output)."""
    logger = logging.getLogger("diffusers.hooks.mag_cache")
    handler, level = _Collect(), logger.level
    found: list[list[float]] = []
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield found
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        for line in handler.lines:
            m = _RESULTS.search(line)
            if m:
                found.append([float(x) for x in m.group(1).split(",") if x.strip()])
