#!/usr/bin/env python
"""Ulysses context parallelism of the joint forward (issue 11, item 4): correctness and timing.

`--check` (CPU with gloo, or GPUs with NCCL): N processes run one forward of a small Wan
transformer with the shot attention processor installed (sparse self-attention, windowed
cross-attention, memory items, per-shot RoPE, CineTrans's block band, dense negative text,
the I2V image branch; and a forward whose tokens do not split evenly, which must run whole)
under `enable_ulysses(transformer, N)`; rank 0 compares each output with
the same forward in one process. Prints and writes ulysses_check.json (max |difference| per case).

`--bench` (GPUs): a 13-shot joint forward on the Wan 2.1 1.3B transformer shape (random bf16
weights, 12 heads, 30 blocks; 480x832, `--latent-frames` per shot) timed in one process and
with Ulysses over N GPUs: speed-up and efficiency (issue target >= 0.85 k).

    python scripts/ulysses_check.py --check --world 2                 # CPU, gloo, seconds
    python scripts/ulysses_check.py --check --world 4 --device cuda   # 4 GPUs, NCCL
    python scripts/ulysses_check.py --bench --world 2 --out $OUT      # timing, 2 GPUs
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TINY = dict(patch_size=(1, 2, 2), num_attention_heads=4, attention_head_dim=8, in_channels=16, out_channels=16,
            text_dim=32, freq_dim=32, ffn_dim=32, num_layers=2, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", rope_max_seq_len=64)
WAN_1_3B = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
                text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                qk_norm="rms_norm_across_heads", rope_max_seq_len=1024)
TEXT = 16  # tokens per prompt in the check (the layout only needs consistent spans)
#: --bench: the model shape, 13 shots, 480x832 -> 60x104 latents -> 30x52 tokens a frame.
BENCH = {"config": WAN_1_3B, "shots": 13, "grid": (30, 52)}


def _cases() -> dict[str, dict[str, Any]]:
    """Each case: layout settings, latent frames (memory first), extra model config."""
    return {
        "sparse+window": dict(frames=(2, 1, 3), layout={}),
        "memory+per_shot_rope": dict(frames=(1, 2, 2), layout={"n_memory": 1, "rope": "per_shot"}),
        "first+last,stride2": dict(frames=(2, 3), layout={"summary": "first+last", "summary_stride": 2}),
        "cinetrans-band": dict(frames=(2, 2, 2), layout={"summary": "video_first", "blocks": (1,),
                                                           "outside": "full", "cross_outside": "dense"}),
        "isolated-outside": dict(frames=(2, 2), layout={"blocks": (0,), "outside": "isolated"}),
        "negative-dense-text": dict(frames=(2, 2), layout={}, negative=True),
        "i2v-image-branch": dict(frames=(2, 2), layout={}, model={"added_kv_proj_dim": 32, "image_dim": 24}),
        # 3 x 3 tokens a frame, 27 in all: no equal shards for 2 or 4 ranks, so the forward must
        # run whole on every rank (ulysses._gate) and still equal the one-process forward.
        "odd-tokens-run-whole": dict(frames=(1, 2), layout={}, grid=(3, 3)),
    }


def _model(config: dict[str, Any], device: str, dtype: Any) -> Any:
    import torch
    from diffusers import WanTransformer3DModel

    torch.manual_seed(0)
    return WanTransformer3DModel(**config).eval().to(device=device, dtype=dtype)


def _inputs(case: dict[str, Any], grid: tuple[int, int], device: str, dtype: Any) -> tuple[Any, Any, dict]:
    import torch

    g = torch.Generator().manual_seed(7)
    frames = sum(case["frames"])
    x = torch.randn(1, 16, frames, grid[0] * 2, grid[1] * 2, generator=g)
    n_text = TEXT if case.get("negative") else TEXT * (len(case["frames"]) + 1)
    text = torch.randn(1, n_text, 32, generator=g)
    extra = {}
    if "model" in case:
        extra["encoder_hidden_states_image"] = torch.randn(1, 257, 24, generator=g).to(device, dtype)
    return x.to(device, dtype), text.to(device, dtype), extra


def _forward(model: Any, case: dict[str, Any], device: str, dtype: Any) -> Any:
    import torch

    from multishot.backends.diffusers.shot_attention import JointLayout, install_shot_attention

    grid = case.get("grid", (4, 4))
    layout = JointLayout.build(case["frames"], grid, text_tokens=TEXT, **case["layout"])
    x, text, extra = _inputs(case, grid, device, dtype)
    with torch.no_grad(), install_shot_attention(model, layout) as handle:
        if case.get("negative"):
            handle.state.negative = True
        return model(x, torch.tensor([700], device=device), text, return_dict=False, **extra)[0].float().cpu()


def _init(rank: int, world: int, port: int, device: str) -> str:
    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    if device == "cuda":
        torch.cuda.set_device(rank)
        dist.init_process_group("nccl", rank=rank, world_size=world)
        return f"cuda:{rank}"
    dist.init_process_group("gloo", rank=rank, world_size=world)
    return "cpu"


def _check_rank(rank: int, world: int, port: int, device: str, result_path: str) -> None:
    import torch
    import torch.distributed as dist

    from multishot.backends.diffusers.ulysses import enable_ulysses

    dev = _init(rank, world, port, device)
    results = {}
    try:
        for name, case in _cases().items():
            config = {**TINY, **case.get("model", {})}
            reference = _forward(_model(config, dev, torch.float32), case, dev, torch.float32)
            parallel_model = _model(config, dev, torch.float32)
            enable_ulysses(parallel_model, world)
            seen: list[int] = []  # what a block's attention really got: a token shard
            hook = parallel_model.blocks[0].attn1.register_forward_pre_hook(
                lambda _m, args, kwargs: seen.append((args[0] if args else kwargs["hidden_states"]).shape[1]),
                with_kwargs=True)
            out = _forward(parallel_model, case, dev, torch.float32)
            hook.remove()
            grid = case.get("grid", (4, 4))
            tokens = sum(case["frames"]) * grid[0] * grid[1]
            results[name] = {"max_abs_diff": float((out - reference).abs().max()),
                             "max_abs": float(reference.abs().max()), "tokens": tokens, "tokens_per_rank": seen[0],
                             # equal shards, or (no equal split) the whole sequence on every rank
                             "expected_per_rank": tokens // world if tokens % world == 0 else tokens}
        if rank == 0:
            Path(result_path).write_text(json.dumps(results, indent=2))
    finally:
        dist.destroy_process_group()


def _bench_rank(rank: int, world: int, port: int, device: str, result_path: str, frames: int, iters: int,
                shape: dict[str, Any]) -> None:
    import torch
    import torch.distributed as dist

    from multishot.backends.diffusers.shot_attention import JointLayout, install_shot_attention
    from multishot.backends.diffusers.ulysses import enable_ulysses

    dev = _init(rank, world, port, device) if world > 1 else ("cuda:0" if device == "cuda" else "cpu")
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    config, shots, grid = shape["config"], shape["shots"], shape["grid"]
    model = _model(config, dev, dtype)
    if world > 1:
        enable_ulysses(model, world)
    layout = JointLayout.build([frames] * shots, grid, text_tokens=512)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16, frames * shots, grid[0] * 2, grid[1] * 2, generator=g).to(dev, dtype)
    text = torch.randn(1, 512 * (shots + 1), config["text_dim"], generator=g).to(dev, dtype)
    t = torch.tensor([700], device=dev)
    times = []
    with torch.no_grad(), install_shot_attention(model, layout):
        for i in range(iters + 1):
            if device == "cuda":
                torch.cuda.synchronize()
            if world > 1:
                dist.barrier()
            start = time.perf_counter()
            model(x, t, text, return_dict=False)
            if device == "cuda":
                torch.cuda.synchronize()
            if i:  # the first forward warms up kernels and the all-to-all
                times.append(time.perf_counter() - start)
    if rank == 0:
        Path(result_path).write_text(json.dumps({"world": world, "shots": shots, "tokens": layout.num_tokens,
                                                 "seconds_per_forward": sorted(times)[len(times) // 2],
                                                 "all": [round(s, 4) for s in times]}))
    if world > 1:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(fn: Any, world: int, *args: Any) -> None:
    import torch.multiprocessing as mp

    mp.spawn(fn, args=(world, _free_port(), *args), nprocs=world, join=True)


def check(world: int, device: str, out: Path) -> dict[str, Any]:
    path = out / "ulysses_check.json"
    spawn(_check_rank, world, device, str(path))
    results = json.loads(path.read_text())
    return results


def bench(worlds: list[int], device: str, out: Path, frames: int, iters: int) -> dict[str, Any]:
    """Seconds per 13-shot joint forward in one process and under Ulysses over each N."""
    runs: dict[str, Any] = {}
    # On a CPU, a smoke run of this code path with the tiny shape.
    shape = BENCH if device == "cuda" else {"config": TINY, "shots": 3, "grid": (4, 4)}
    for world in [1, *worlds]:
        path = out / f"ulysses_bench_{world}.json"
        if world == 1:
            _bench_rank(0, 1, 0, device, str(path), frames, iters, shape)
        else:
            spawn(_bench_rank, world, device, str(path), frames, iters, shape)
        runs[str(world)] = json.loads(path.read_text())
    base = runs["1"]["seconds_per_forward"]
    for world, run in runs.items():
        run["speedup"] = round(base / run["seconds_per_forward"], 3)
        run["efficiency"] = round(run["speedup"] / int(world), 3)
        run["target_met"] = run["speedup"] >= 0.85 * int(world) if world != "1" else None
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--world", type=int, nargs="+", default=[2])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--latent-frames", type=int, default=5, help="--bench: latent frames per shot")
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--tolerance", type=float, default=1e-5)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "ulysses_out")))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    ok = True
    if args.check:
        for world in args.world:
            results = check(world, args.device, args.out)
            report[f"check_{world}"] = results
            for name, r in results.items():
                good = (r["max_abs_diff"] <= args.tolerance * max(1.0, r["max_abs"])
                        and r["tokens_per_rank"] == r["expected_per_rank"])
                ok &= good
                print(f"ulysses {world} {name}: max |diff| {r['max_abs_diff']:.3g} (|out| {r['max_abs']:.3g})"
                      f" {'ok' if good else 'FAIL'}")
    if args.bench:
        report["bench"] = bench([w for w in args.world if w > 1], args.device, args.out, args.latent_frames, args.iters)
        for world, run in report["bench"].items():
            print(f"ulysses {world}: {run['seconds_per_forward']:.3f} s per {run['shots']}-shot forward ({run['tokens']} tokens),"
                  f" speed-up {run['speedup']}x, efficiency {run['efficiency']}")
    (args.out / "ulysses.json").write_text(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
