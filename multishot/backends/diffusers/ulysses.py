"""One joint generation over several GPUs: Ulysses context parallelism (DeepSpeed-Ulysses,
arXiv 2309.14509) through diffusers' own machinery, with the shot attention processor kept exact.

diffusers (0.42) parallelises a Wan transformer with `ContextParallelConfig(ulysses_degree=N)`
and `transformer.enable_parallelism(config=...)`: hooks from the model's `_cp_plan` cut the
token sequence into N equal shards at the first block (and the RoPE tables with it) and gather
it again at `proj_out`, so every rank runs the blocks on 1/N of the tokens with all heads. The
all-to-all that turns that into "the whole sequence for 1/N of the heads" happens only inside
`dispatch_attention_fn` when it is given the parallel config.

Our processor (shot_attention.py) cannot hand that exchange to the dispatcher: the sparse
self-attention and the windowed cross-attention pick keys by a token's place in the joint
layout (which shot it is in), so they need the whole sequence. It therefore does the exchange
itself, with diffusers' primitive (`_all_to_all_dim_exchange`, the one its Ulysses attention
uses): sequence shards -> all tokens of H/N heads, the layout's masks applied unchanged, and
back. RoPE is applied after the exchange, from the full table (the shards gathered once per
forward), because the per-shot table is indexed by global position. Everything per token (the
projections, the RMS norm across heads, the image-context branch, dense cross-attention to one
shared prompt) stays on the shard.

CPU / gloo: `enable_parallelism` picks the device as `rank % torch.accelerator.device_count()`
(diffusers/models/modeling_utils.py, `_resolve_parallel_config`), a ZeroDivisionError on a
machine without an accelerator; `enable_ulysses` then does the same steps itself (mesh from
`init_device_mesh("cpu", ...)`, `config.setup`, the processors' `_parallel_config`,
`apply_context_parallel` with the model's `_cp_plan`), which is what lets the tests check this
on two gloo processes.

`render --gpus ... --cp N` (graph/executors/local.py) starts every worker as N processes of one
torch.distributed group with MULTISHOT_CONTEXT_PARALLEL=N; `shard_loaded` then shards each Wan
transformer as it is loaded, and every rank runs every call. A forward whose token count N does
not divide (a size whose latent grid has an odd number of tokens, say) runs unsharded on every
rank instead (`_gate`): the same maths, no speed-up, never a wrong split.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import torch

log = logging.getLogger("multishot.backends.diffusers")

#: Set by the local-GPU executor on each rank of a worker that spans N GPUs (`render --cp N`).
CP_ENV = "MULTISHOT_CONTEXT_PARALLEL"


def degree() -> int:
    """The Ulysses degree this process runs its transformers with (1: not context parallel)."""
    try:
        return max(1, int(os.environ.get(CP_ENV, "1") or 1))
    except ValueError:
        return 1


#: What the processors of the current sharded forward computed once for all blocks (the RoPE
#: tables gathered from their shards); emptied when a forward starts (`_gate`).
_PER_FORWARD: dict[Any, Any] = {}


@dataclass(frozen=True)
class Ulysses:
    """The exchange of one Ulysses group, from a processor's `_parallel_config`."""

    group: Any
    mesh: Any
    degree: int

    def to_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L/N, H, D) on each rank -> (B, L, H/N, D): every token, this rank's heads."""
        from diffusers.models.attention_dispatch import _all_to_all_dim_exchange

        return _all_to_all_dim_exchange(x.contiguous(), scatter_idx=2, gather_idx=1, group=self.group)

    def to_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, H/N, D) -> (B, L/N, H, D): back to this rank's token shard, all heads."""
        from diffusers.models.attention_dispatch import _all_to_all_dim_exchange

        return _all_to_all_dim_exchange(x.contiguous(), scatter_idx=1, gather_idx=2, group=self.group)

    def heads_slice(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's heads of a tensor every rank holds whole (the text keys/values), in the
        order `to_heads` hands them out (rank r gets heads [r*H/N, (r+1)*H/N))."""
        h = x.shape[2] // self.degree
        rank = torch.distributed.get_rank(self.group)
        return x[:, :, rank * h:(rank + 1) * h]

    def once_per_forward(self, key: Any, make: Any) -> Any:
        """`make()` the first time `key` is asked for in the current forward of the sharded
        transformer (the cache is emptied as each forward starts, on every rank alike)."""
        if key not in _PER_FORWARD:
            _PER_FORWARD[key] = make()
        return _PER_FORWARD[key]

    def gather_tokens(self, x: torch.Tensor, dim: int = 1) -> torch.Tensor:
        """The full tensor from the token shards (the RoPE tables), as diffusers' gather hook does."""
        from diffusers.hooks.context_parallel import EquipartitionSharder

        return EquipartitionSharder.unshard(x, dim, self.mesh)


def ulysses_of(parallel_config: Any, heads: int) -> Ulysses | None:
    """The Ulysses exchange a processor must do under `parallel_config` (None: not parallel)."""
    cp = getattr(parallel_config, "context_parallel_config", None)
    if cp is None or ((cp.ulysses_degree or 1) == 1 and (cp.ring_degree or 1) == 1):
        return None
    if (cp.ring_degree or 1) > 1:
        raise NotImplementedError("shot attention runs under Ulysses context parallelism only (ring_degree must be 1)")
    if cp.ulysses_anything:
        raise NotImplementedError("shot attention needs equal shards (ulysses_anything must be off)")
    if heads % cp.ulysses_degree:
        raise ValueError(f"Ulysses degree {cp.ulysses_degree} must divide the transformer's {heads} heads")
    return Ulysses(cp._ulysses_mesh.get_group(), cp._ulysses_mesh, cp.ulysses_degree)


def enable_ulysses(transformer: Any, degree: int) -> Any:
    """Shard `transformer` over the `degree` ranks of the initialised process group (Ulysses);
    returns the ParallelConfig. Each rank must call it, with the same model and degree."""
    import torch.distributed as dist
    from diffusers import ContextParallelConfig

    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("Ulysses context parallelism needs torch.distributed initialised (one process per GPU)")
    if dist.get_world_size() != degree:
        raise ValueError(f"Ulysses degree {degree} needs {degree} processes, the group has {dist.get_world_size()}")
    heads = transformer.config.num_attention_heads
    if heads % degree:
        raise ValueError(f"Ulysses degree {degree} must divide the transformer's {heads} heads")
    cp = ContextParallelConfig(ulysses_degree=degree)
    if torch.accelerator.device_count() > 0:
        transformer.enable_parallelism(config=cp)
        config = transformer._parallel_config
    else:
        config = _enable_on_cpu(transformer, cp)
    _gate(transformer, config, degree)
    return config


def _enable_on_cpu(transformer: Any, cp: Any) -> Any:
    """`enable_parallelism`'s steps with the device given (see the module docstring)."""
    import torch.distributed as dist
    from diffusers.hooks.context_parallel import apply_context_parallel
    from diffusers.models._modeling_parallel import ParallelConfig
    from torch.distributed.device_mesh import init_device_mesh

    if transformer._parallel_config is not None:
        raise RuntimeError("parallelism is already applied to this transformer")
    config = ParallelConfig(context_parallel_config=cp)
    mesh = init_device_mesh("cpu", mesh_shape=cp.mesh_shape, mesh_dim_names=cp.mesh_dim_names)
    config.setup(dist.get_rank(), dist.get_world_size(), torch.device("cpu"), mesh=mesh)
    transformer._parallel_config = config
    for module in transformer.modules():
        processor = getattr(module, "processor", None)
        if processor is not None and hasattr(processor, "_parallel_config"):
            processor._parallel_config = config
    apply_context_parallel(transformer, cp, transformer._cp_plan)
    return config


def shard_loaded(transformer: Any) -> bool:
    """Shard a freshly loaded transformer over this process's group when it runs context
    parallel (`degree()` > 1) and the model class has a context-parallel plan; True if it did.
    A model without a plan (or none run here) runs whole on every rank: correct, no speed-up."""
    n = degree()
    if n <= 1 or getattr(transformer, "_cp_plan", None) is None or getattr(transformer, "_multishot_ulysses", None):
        return False
    enable_ulysses(transformer, n)
    transformer._multishot_ulysses = n
    log.info("%s sharded over %d ranks (Ulysses)", type(transformer).__name__, n)
    return True


def _cp_hooks(transformer: Any) -> list[Any]:
    """diffusers' split and gather hooks that `apply_context_parallel` put on the model."""
    from diffusers.hooks.context_parallel import (_CONTEXT_PARALLEL_INPUT_HOOK_TEMPLATE,
                                                  _CONTEXT_PARALLEL_OUTPUT_HOOK_TEMPLATE)

    prefixes = (_CONTEXT_PARALLEL_INPUT_HOOK_TEMPLATE.format(""), _CONTEXT_PARALLEL_OUTPUT_HOOK_TEMPLATE.format(""))
    hooks = []
    for module in transformer.modules():
        registry = getattr(module, "_diffusers_hook", None)
        if registry is not None:
            hooks += [hook for name, hook in registry.hooks.items() if name.startswith(prefixes)]
    return hooks


def _gate(transformer: Any, config: Any, n: int) -> None:
    """Per forward, shard only when the token count divides by `n` (diffusers' equal shards
    demand it); otherwise every rank runs that forward whole. Also empties the per-forward cache. The split/gather hooks read
    their functions through mutable references at call time, so one flag, set by a forward
    pre-hook of the transformer (which runs before diffusers' hooks), switches them and the
    attention processors' parallel config for that call, whichever processors are installed."""
    state = {"on": True}
    for hook in _cp_hooks(transformer):
        ref = hook.fn_ref
        pre, post = ref.pre_forward, ref.post_forward
        ref.pre_forward = (lambda module, *args, _pre=pre, **kwargs:
                           _pre(module, *args, **kwargs) if state["on"] else (args, kwargs))
        ref.post_forward = lambda module, output, _post=post: _post(module, output) if state["on"] else output
    attention = [m for m in transformer.modules() if hasattr(m, "processor") and hasattr(m, "set_processor")]
    p_t, p_h, p_w = transformer.config.patch_size
    seen: set[tuple[int, ...]] = set()

    def decide(_module: Any, args: tuple, kwargs: dict[str, Any]) -> None:
        _PER_FORWARD.clear()
        hidden = kwargs.get("hidden_states", args[0] if args else None)
        shape = tuple(hidden.shape)
        tokens = (shape[2] // p_t) * (shape[3] // p_h) * (shape[4] // p_w)
        state["on"] = tokens % n == 0
        if shape not in seen:  # once per shape, in the worker's log
            seen.add(shape)
            if state["on"]:
                log.info("sharded forward: %d tokens, %d on each of %d ranks", tokens, tokens // n, n)
            else:
                log.warning("a forward of %d tokens does not split into %d equal shards: it runs whole on every "
                            "rank", tokens, n)
        for module in attention:
            processor = module.processor
            if processor is not None and hasattr(processor, "_parallel_config"):
                processor._parallel_config = config if state["on"] else None

    transformer.register_forward_pre_hook(decide, with_kwargs=True)
    transformer._multishot_ulysses_state = state
