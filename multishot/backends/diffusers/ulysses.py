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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


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
        return transformer._parallel_config
    return _enable_on_cpu(transformer, cp)


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
