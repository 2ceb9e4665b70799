#!/usr/bin/env python
"""Benchmark: joint multi-shot generation with shot-sparse attention vs dense vs independent.

Model: the Wan 2.1 T2V 1.3B transformer architecture (30 layers, dim 1536 = 12 heads x 128,
ffn 8960, text_dim 4096, patch (1, 2, 2); the config of Wan-AI/Wan2.1-T2V-1.3B-Diffusers) with
random weights in bf16 -- speed does not depend on the weights. Shots are 81 frames at 832x480:
21 latent frames of 60x104 latents -> 30x52 tokens per frame -> 32,760 tokens per shot.

For N shots it measures, per full transformer forward (one denoising step, conditional branch):
  (a) dense      -- the stock processor over the concatenated N-shot video (every token sees
                    every token); skipped (and extrapolated ~N^2) beyond a time cap or on OOM;
  (b) sparse     -- our ShotAttnProcessor: shot-sparse self-attention + window cross-attention,
                    once per summary stride (1 = full first-frame summaries, 2 = 4x fewer);
  (c) independent -- N single-shot stock forwards (sum of N times one measured forward), i.e.
                    what generating every shot on its own costs.
Before that, an attention-only microbenchmark of one layer isolates the kernel: dense SDPA over
all tokens, sparse (ours), FlexAttention (optional), independent (all shots batched).

Joint-mode sections (issue 10 item 7), each built exactly the way multishot builds a group
(`JointMode(...).layout_kwargs(num_layers)` into `JointLayout`, `install_shot_attention`):
  --joint-modes ARCH..  a HoloCine-sized continuous group -- 241 frames at 832x480 in 6 shots
                    (`cuts_from_shot_lengths` / `latent_shot_frames`: 61 latent frames, 95,160
                    tokens) -- one forward in each self-attention mode: full, sparse (HoloCine's
                    pool, own first frame included), cinetrans (band of blocks), plus the dense
                    stock processors and the shots run independently. ARCH: 1.3b (Wan 2.1 T2V
                    1.3B) and/or a14b (one expert of Wan 2.2 A14B: 40 layers, 40 x 128 heads,
                    ffn 13824). Target: cinetrans <= 1.1 x dense.
  --group-sparse N  N stacked shots of 81 frames (21 latent frames each) in HoloCine's sparse
                    mode vs N independent single-shot forwards (1.3B). Target: <= 1.35 x.
  --vae             the whole-group decode of a (1, 16, 61, 60, 104) latent (241 frames at
                    832x480) by AutoencoderKLWan with the Wan 2.1 VAE config, random weights,
                    float32 (as multishot loads it), with and without tiling. Target: <= 80 GiB.
  --deadline-s S    stop starting measurements S seconds after the start (partial JSON kept).

Timing: warm-up, torch.cuda.synchronize, median of reps, peak memory per config
(torch.cuda.max_memory_allocated after reset_peak_memory_stats; it includes the weights and
inputs, `base_gib` is what was allocated before the call). Results go to <out>/<name>.json
(default bench_holistic.json; rewritten after every measurement, so a timeout keeps what ran).

    python scripts/bench_holistic.py                       # full run on one GPU (~6-8 min)
    python scripts/bench_holistic.py --modes sparse independent --shots 1 2 4 8 13
    python scripts/bench_holistic.py --modes dense --dense-cap 200     # dense up to 13 shots
    python scripts/bench_holistic.py --smoke               # tiny config on CPU, seconds
    python scripts/bench_holistic.py --joint-modes 1.3b a14b --vae --group-sparse 13 \
        --name holistic_modes --deadline-s 500                  # issue 10 item 7 (H200)
    python scripts/bench_holistic.py --smoke --joint-modes 1.3b a14b --vae --group-sparse 3
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from multishot.backends.diffusers.holocine_text import (  # noqa: E402
    cuts_from_shot_lengths,
    latent_shot_frames,
)
from multishot.backends.diffusers.joint_modes import JointMode  # noqa: E402
from multishot.backends.diffusers.shot_attention import (  # noqa: E402
    JointLayout,
    dense_masked_reference,
    install_shot_attention,
    sdpa_blhd,
    shot_sparse_attention,
)

WAN_1_3B = dict(
    patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
    text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024,
)
#: One transformer expert of Wan 2.2 T2V A14B (Wan-AI/Wan2.2-T2V-A14B-Diffusers, transformer/).
WAN_A14B = dict(WAN_1_3B, num_attention_heads=40, ffn_dim=13824, num_layers=40)
TINY = dict(
    patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=16, out_channels=16,
    text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=64,
)

#: A wider/deeper tiny model standing in for A14B in --smoke (so the band scales with depth).
TINY_DEEP = dict(TINY, num_attention_heads=4, num_layers=4)
#: Wan 2.1 VAE (Wan-AI/Wan2.1-T2V-1.3B-Diffusers, vae/config.json).
WAN_VAE = dict(base_dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
               temperal_downsample=[False, True, True])
TINY_VAE = dict(WAN_VAE, base_dim=8)


class Bench:
    """Times callables the same way everywhere and keeps the JSON current."""

    def __init__(self, device: torch.device, reps: int, out: Path, meta: dict[str, Any],
                 name: str = "bench_holistic", deadline_s: float = math.inf) -> None:
        self.device, self.reps, self.path = device, reps, out / f"{name}.json"
        self.data: dict[str, Any] = {"meta": meta, "attention": [], "forward": []}
        self.t_start = time.perf_counter()
        self.deadline = self.t_start + deadline_s
        out.mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        """Seconds before the deadline (inf without one)."""
        return self.deadline - time.perf_counter()

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def time(self, fn: Callable[[], Any], cap_s: float = math.inf, reps: int | None = None,
             min_left_s: float = 0.0) -> dict[str, Any]:
        """Warm-up once, then up to `reps` timed runs (fewer when one run is slow against
        `cap_s` or would pass the deadline). Returns median seconds, all samples and peak
        memory; {"skipped": "deadline"} when fewer than `min_left_s` seconds are left."""
        if self.left() < min_left_s:
            return {"skipped": f"deadline ({max(self.left(), 0):.0f}s left, needs {min_left_s:.0f}s)"}
        reps = self.reps if reps is None else reps
        base = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated() / 2**30
        t0 = time.perf_counter()
        fn()
        self.sync()
        warm = time.perf_counter() - t0
        samples: list[float] = []
        n = reps if warm * reps <= cap_s else max(0, min(reps, int(cap_s // max(warm, 1e-9)) - 1))
        if math.isfinite(self.left()):
            n = min(n, max(0, int(self.left() // max(warm, 1e-9))))
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            self.sync()
            samples.append(time.perf_counter() - t0)
        peak = torch.cuda.max_memory_allocated() / 2**30 if self.device.type == "cuda" else None
        return {"seconds": statistics.median(samples) if samples else warm, "samples": samples, "warmup": warm,
                "from_warmup_only": not samples, "peak_gib": peak, "base_gib": base}

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2))
        tmp.replace(self.path)


def is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


# ---------------------------------------------------------------------------------------------
# Correctness of the fast path on this device/dtype
# ---------------------------------------------------------------------------------------------


def check_exactness(device: torch.device, dtype: torch.dtype, heads: int, head_dim: int, grid: tuple[int, int]) -> dict:
    """Sparse kernel (this device, this dtype) vs the explicit-mask reference in float32 on the
    same (dtype-rounded) inputs. The floor is what stock dense SDPA in `dtype` scores against
    its own float32 reference: the sparse error should be of the same order."""
    layout = JointLayout(frames=(3, 2, 3), grid=grid)
    g = torch.Generator(device="cpu").manual_seed(0)
    q, k, v = (torch.randn(1, layout.num_tokens, heads, head_dim, generator=g).to(dtype) for _ in range(3))
    q32, k32, v32 = (t.float() for t in (q, k, v))

    def rel(a: torch.Tensor, b: torch.Tensor) -> float:
        return ((a.float().cpu() - b).norm() / b.norm()).item()

    fast = shot_sparse_attention(q.to(device), k.to(device), v.to(device), layout)
    floor = sdpa_blhd(q.to(device), k.to(device), v.to(device))
    return {"tokens": layout.num_tokens, "dtype": str(dtype),
            "rel_err_sparse_vs_fp32_masked_reference": rel(fast, dense_masked_reference(q32, k32, v32, layout)),
            "rel_err_floor_dense_sdpa_vs_fp32": rel(floor, sdpa_blhd(q32, k32, v32))}


def cast_like_from_pretrained(model: Any, dtype: torch.dtype) -> Any:
    """Cast to `dtype` but keep `_keep_in_fp32_modules` (RoPE tables, time embedder, norms) in
    their original precision, as `from_pretrained(torch_dtype=...)` does for real checkpoints."""
    keep = set(getattr(model, "_keep_in_fp32_modules", None) or [])
    for name, module in model.named_modules():
        if keep & set(name.split(".")):
            continue
        for pname, param in module.named_parameters(recurse=False):
            param.data = param.data.to(dtype)
        for bname, buf in module.named_buffers(recurse=False):
            if buf.is_floating_point():
                module._buffers[bname] = buf.to(dtype)
    return model


# ---------------------------------------------------------------------------------------------
# Attention-only microbenchmark
# ---------------------------------------------------------------------------------------------


def attention_bench(b: Bench, shots: list[int], frames: int, grid: tuple[int, int], heads: int, head_dim: int,
                    dtype: torch.dtype, strides: list[int], flex: bool, cap_s: float) -> None:
    tpf = grid[0] * grid[1]
    n = frames * tpf
    for N in shots:
        L = N * n
        row: dict[str, Any] = {"shots": N, "tokens": L}
        try:
            q, k, v = (torch.randn(1, L, heads, head_dim, device=b.device, dtype=dtype) for _ in range(3))
        except RuntimeError as exc:
            if not is_oom(exc):
                raise
            row["error"] = "OOM allocating q/k/v"
            b.data["attention"].append(row)
            continue
        with torch.inference_mode():
            try:
                row["dense"] = b.time(lambda: sdpa_blhd(q, k, v), cap_s)
            except RuntimeError as exc:
                if not is_oom(exc):
                    raise
                row["dense"] = {"skipped": "OOM"}
            for s in strides:
                lay = JointLayout(frames=(frames,) * N, grid=grid, summary_stride=s)
                row[f"sparse_s{s}"] = b.time(lambda: shot_sparse_attention(q, k, v, lay))
                row[f"sparse_s{s}"]["pairs_vs_independent"] = lay.attention_pairs() / (N * n * n)
                if flex and b.device.type == "cuda":
                    try:
                        row[f"flex_s{s}"] = b.time(lambda: shot_sparse_attention(q, k, v, lay, impl="flex"))
                    except Exception as exc:  # FlexAttention is optional; report why it failed
                        row[f"flex_s{s}"] = {"skipped": f"{type(exc).__name__}: {str(exc)[:200]}"}
            qi, ki, vi = (t.view(N, n, heads, head_dim) for t in (q, k, v))
            row["independent"] = b.time(lambda: sdpa_blhd(qi, ki, vi))
        del q, k, v
        b.data["attention"].append(row)
        b.save()
        print(f"[attention] N={N:>2} L={L:>7} " + " ".join(
            f"{key}={val['seconds'] * 1e3:.1f}ms" for key, val in row.items()
            if isinstance(val, dict) and "seconds" in val), flush=True)


# ---------------------------------------------------------------------------------------------
# Full transformer forward
# ---------------------------------------------------------------------------------------------


def forward_bench(b: Bench, model: Any, shots: list[int], frames: int, latent_hw: tuple[int, int], text_len: int,
                  dtype: torch.dtype, strides: list[int], modes: list[str], cap_s: float) -> None:
    cfg = model.config
    C, p_h, p_w, text_dim = cfg.in_channels, cfg.patch_size[1], cfg.patch_size[2], cfg.text_dim
    grid = (latent_hw[0] // p_h, latent_hw[1] // p_w)
    t = torch.tensor([999], device=b.device)
    single: dict[str, Any] | None = None
    dense_skip_from: int | None = None
    dense_last: tuple[int, float] | None = None
    for N in shots:
        row: dict[str, Any] = {"shots": N, "tokens": N * frames * grid[0] * grid[1]}
        with torch.inference_mode():
            x = torch.randn(1, C, N * frames, *latent_hw, device=b.device, dtype=dtype)
            text = torch.randn(1, (N + 1) * text_len, text_dim, device=b.device, dtype=dtype)
            if "independent" in modes:
                if single is None:
                    x1 = torch.randn(1, C, frames, *latent_hw, device=b.device, dtype=dtype)
                    t1 = torch.randn(1, text_len, text_dim, device=b.device, dtype=dtype)
                    single = b.time(lambda: model(x1, t, t1, return_dict=False))
                    del x1, t1
                row["independent"] = {"seconds": N * single["seconds"], "peak_gib": single["peak_gib"],
                                      "how": f"{N} x one single-shot forward ({single['seconds']:.3f}s)"}
            if "sparse" in modes:
                for s in strides:
                    lay = JointLayout.build([frames] * N, grid, text_tokens=text_len, summary_stride=s)
                    try:
                        with install_shot_attention(model, lay):
                            row[f"sparse_s{s}"] = b.time(lambda: model(x, t, text, return_dict=False))
                    except RuntimeError as exc:
                        if not is_oom(exc):
                            raise
                        row[f"sparse_s{s}"] = {"skipped": "OOM"}
            if "dense" in modes:
                if dense_skip_from is not None and N >= dense_skip_from and dense_last is not None:
                    n0, s0 = dense_last
                    row["dense"] = {"skipped": f"over the {cap_s:.0f}s cap", "estimated_seconds": s0 * (N / n0) ** 2,
                                    "how": f"({N}/{n0})^2 x measured dense at {n0} shots (attention-dominated)"}
                else:
                    try:
                        row["dense"] = b.time(lambda: model(x, t, text, return_dict=False), cap_s)
                        dense_last = (N, row["dense"]["seconds"])
                        nxt = [m for m in shots if m > N]
                        if nxt and row["dense"]["seconds"] * (nxt[0] / N) ** 2 > cap_s:
                            dense_skip_from = nxt[0]
                    except RuntimeError as exc:
                        if not is_oom(exc):
                            raise
                        row["dense"] = {"skipped": "OOM"}
                        dense_skip_from = N
            del x, text
        b.data["forward"].append(row)
        b.save()
        print(f"[forward] N={N:>2} " + " ".join(
            f"{key}={val.get('seconds', val.get('estimated_seconds', float('nan'))):.3f}s"
            for key, val in row.items() if isinstance(val, dict)), flush=True)


# ---------------------------------------------------------------------------------------------
# Joint modes as multishot builds them (issue 10 item 7)
# ---------------------------------------------------------------------------------------------

Spans = tuple[tuple[tuple[int, int], ...], ...]


def holocine_text_spans(n_shots: int, text_tokens: int) -> Spans:
    """Plausible HoloCine one-prompt spans in a `text_tokens` context: every shot reads the
    global caption (first ~20%), its own disjoint range of the per-shot captions and the padding
    (last ~10%), the shape `holocine_visible_text` gives (disjoint sorted ranges). Cost depends
    only on how many keys a shot reads, not on which."""
    g = max(1, round(0.2 * text_tokens))
    pad = max(g + n_shots, round(0.9 * text_tokens))
    w = (pad - g) // n_shots
    return tuple(((0, g), (g + k * w, g + (k + 1) * w), (pad, text_tokens)) for k in range(n_shots))


def cinetrans_text_spans(n_shots: int, text_tokens: int) -> Spans:
    """CineTrans's context [prompt_0 .. prompt_{n-1}, general] (joint.py `_text_context`)."""
    T, n = text_tokens, n_shots
    return tuple(((k * T, (k + 1) * T), (n * T, (n + 1) * T)) for k in range(n))


def mode_layout(self_attention: str, frames: tuple[int, ...], grid: tuple[int, int], text_tokens: int,
                num_layers: int, layout: str = "continuous") -> tuple[JointLayout, JointMode]:
    """The JointLayout multishot builds for one group in `self_attention` mode (joint.py:
    `JointLayout(frames=..., grid=..., text_tokens=..., text_spans=..., **mode.layout_kwargs(L))`)."""
    text = "cinetrans" if self_attention == "cinetrans" else "holocine"
    mode = JointMode(layout=layout, text=text, self_attention=self_attention)  # type: ignore[arg-type]
    spans = (cinetrans_text_spans if text == "cinetrans" else holocine_text_spans)(len(frames), text_tokens)
    lay = JointLayout(frames=tuple(frames), grid=grid, text_tokens=text_tokens, text_spans=spans,
                      **mode.layout_kwargs(num_layers))
    return lay, mode


def self_pairs_fraction(lay: JointLayout, num_layers: int) -> float:
    """Self-attention query-key pairs over all blocks, as a fraction of dense in every block."""
    L = lay.num_tokens
    sparse = sum(n * len(lay.keys_of(i)) for i, n in enumerate(lay.item_tokens))
    per_block = [sparse if lay.self_mode(b) == "sparse" else L * L for b in range(num_layers)]
    return sum(per_block) / (num_layers * L * L)


def _ratio(a: Any, b: Any) -> float | None:
    sa, sb = secs(a), secs(b)
    return sa / sb if sa and sb else None


def group_forward_bench(b: Bench, model: Any, key: str, section: str, frames: tuple[int, ...],
                        latent_hw: tuple[int, int], text_len: int, dtype: torch.dtype, modes: list[str],
                        layout: str, reps: int, min_left_s: float, meta: dict[str, Any]) -> dict[str, Any]:
    """One group of shots (`frames` latent frames each), one transformer forward per mode:
    dense (stock processors, one prompt), full / sparse / cinetrans (installed as multishot does),
    independent (every shot alone with its own prompt, summed)."""
    cfg = model.config
    C, p_h, p_w, text_dim, n_layers = cfg.in_channels, cfg.patch_size[1], cfg.patch_size[2], cfg.text_dim, cfg.num_layers
    grid = (latent_hw[0] // p_h, latent_hw[1] // p_w)
    L = sum(frames) * grid[0] * grid[1]
    row: dict[str, Any] = {**meta, "frames": list(frames), "grid": list(grid), "tokens": L, "layout": layout,
                           "text_tokens": text_len, "modes": {}}
    b.data.setdefault(section, {})[key] = row
    t = torch.tensor([999], device=b.device)

    def fwd(x: torch.Tensor, ctx: torch.Tensor) -> Callable[[], Any]:
        return lambda: model(x, t, ctx, return_dict=False)

    def record(name: str, entry: dict[str, Any]) -> None:
        row["modes"][name] = entry
        b.save()
        s = secs(entry)
        print(f"[{section}:{key}] {name:>11}: " + (f"{s:.3f}s peak {entry.get('peak_gib') or 0:.1f} GiB"
              if s else str(entry.get("skipped"))), flush=True)

    with torch.inference_mode():
        x = torch.randn(1, C, sum(frames), *latent_hw, device=b.device, dtype=dtype)
        one = torch.randn(1, text_len, text_dim, device=b.device, dtype=dtype)
        for m in modes:
            try:
                if m == "dense":
                    entry = b.time(fwd(x, one), reps=reps, min_left_s=min_left_s)
                    entry["how"] = "stock WanAttnProcessor, no install; one 512-token prompt"
                elif m == "independent":
                    per: dict[int, Any] = {}
                    for f in sorted(set(frames)):
                        x1 = torch.randn(1, C, f, *latent_hw, device=b.device, dtype=dtype)
                        per[f] = b.time(fwd(x1, one), reps=reps, min_left_s=min_left_s)
                        del x1
                    if any(secs(v) is None for v in per.values()):
                        entry = {"skipped": "deadline", "per_frames": per}
                    else:
                        entry = {"seconds": sum(secs(per[f]) for f in frames),
                                 "peak_gib": max(v["peak_gib"] or 0 for v in per.values()) if b.device.type == "cuda" else None,
                                 "how": " + ".join(f"{frames.count(f)} x {f}-latent-frame forward ({secs(per[f]):.3f}s)"
                                                   for f in sorted(per)), "per_frames": per}
                else:
                    lay, jm = mode_layout(m, frames, grid, text_len, n_layers, layout)
                    ctx = torch.randn(1, lay.text_total, text_dim, device=b.device, dtype=dtype)
                    with install_shot_attention(model, lay):
                        entry = b.time(fwd(x, ctx), reps=reps, min_left_s=min_left_s)
                    entry.update({
                        "joint_mode": jm.describe(), "layout_kwargs": {k: (list(v) if isinstance(v, tuple) else v)
                                                                       for k, v in jm.layout_kwargs(n_layers).items()},
                        "sparse_blocks": sum(lay.self_mode(bk) == "sparse" for bk in range(n_layers)),
                        "text_context": lay.text_total,
                        "self_pairs_vs_dense": self_pairs_fraction(lay, n_layers)})
                    del ctx
            except RuntimeError as exc:
                if not is_oom(exc):
                    raise
                entry = {"skipped": "OOM"}
            record(m, entry)
        del x, one
    ms = row["modes"]
    row["ratios"] = {k: v for k, v in {
        "cinetrans/dense": _ratio(ms.get("cinetrans"), ms.get("dense")),
        "sparse/full": _ratio(ms.get("sparse"), ms.get("full")),
        "sparse/dense": _ratio(ms.get("sparse"), ms.get("dense")),
        "full/dense": _ratio(ms.get("full"), ms.get("dense")),
        "sparse/independent": _ratio(ms.get("sparse"), ms.get("independent")),
        "cinetrans/independent": _ratio(ms.get("cinetrans"), ms.get("independent")),
    }.items() if v is not None}
    b.save()
    return row


def build_transformer(cfg: dict[str, Any], device: torch.device, dtype: torch.dtype) -> Any:
    from diffusers import WanTransformer3DModel

    t0 = time.perf_counter()
    with torch.device(device):
        model = WanTransformer3DModel(**cfg)
    model = cast_like_from_pretrained(model, dtype).eval()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    print(f"model built in {time.perf_counter() - t0:.1f}s "
          f"({sum(p.numel() for p in model.parameters()) / 1e9:.2f}B params)", flush=True)
    return model


def time_decode(b: Bench, vae: Any, z: torch.Tensor, dec: Callable[[], None], reps: int, cap_s: float,
                min_left_s: float) -> dict[str, Any]:
    """Like Bench.time, but the warm-up decodes only the first 3 latent frames (the decoder runs
    frame by frame with a feature cache, so that exercises every kernel of the full decode at a
    fraction of its cost), and timed decodes stop once `cap_s` would be passed."""
    if b.left() < min_left_s:
        return {"skipped": f"deadline ({max(b.left(), 0):.0f}s left, needs {min_left_s:.0f}s)"}
    if b.device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated() / 2**30 if b.device.type == "cuda" else None
    t0 = time.perf_counter()
    vae.decode(z[:, :, :3], return_dict=False)
    b.sync()
    warm = time.perf_counter() - t0
    samples: list[float] = []
    while len(samples) < reps:
        if samples and (sum(samples) + samples[-1] > cap_s or b.left() < samples[-1]):
            break
        t0 = time.perf_counter()
        dec()
        b.sync()
        samples.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / 2**30 if b.device.type == "cuda" else None
    return {"seconds": statistics.median(samples), "samples": samples, "warmup": warm,
            "warmup_how": "first 3 latent frames", "peak_gib": peak, "base_gib": base}


def vae_bench(b: Bench, vae_cfg: dict[str, Any], latent: tuple[int, ...], reps: int, min_left_s: float,
              tile_kwargs: dict[str, int] | None = None, cap_s: float = 75.0) -> None:
    """Decode one latent video with AutoencoderKLWan in float32, untiled and tiled."""
    from diffusers import AutoencoderKLWan

    with torch.device(b.device):
        vae = AutoencoderKLWan(**vae_cfg)
    vae = vae.eval()  # built in float32, as multishot loads it (component_dtypes: {vae: float32})
    sec = b.data.setdefault("vae", {"config": vae_cfg, "latent": list(latent), "dtype": "float32",
                                    "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
                                    "weights_gib": sum(p.numel() for p in vae.parameters()) * 4 / 2**30,
                                    "runs": {}})
    with torch.inference_mode():
        z = torch.randn(*latent, device=b.device, dtype=torch.float32)
        for tiled in (False, True):
            name = "tiled" if tiled else "untiled"
            if tiled:
                vae.enable_tiling(**(tile_kwargs or {}))
            else:
                vae.disable_tiling()
            shape: list[int] = []

            def dec() -> None:
                out = vae.decode(z, return_dict=False)[0]
                shape[:] = list(out.shape)

            try:
                entry = time_decode(b, vae, z, dec, reps, cap_s, min_left_s)
                entry["output_shape"] = shape
                if tiled:
                    entry["tiling"] = {k: getattr(vae, k) for k in ("tile_sample_min_height", "tile_sample_min_width",
                                                                    "tile_sample_stride_height", "tile_sample_stride_width")}
            except RuntimeError as exc:
                if not is_oom(exc):
                    raise
                entry = {"skipped": "OOM"}
            if entry.get("peak_gib") is not None:
                entry["fits_80gib"] = entry["peak_gib"] <= 80.0
            sec["runs"][name] = entry
            b.save()
            s = secs(entry)
            print(f"[vae] {name:>8}: " + (f"{s:.2f}s peak {entry.get('peak_gib') or 0:.2f} GiB out {shape}"
                  if s else str(entry.get("skipped"))), flush=True)
    del vae, z
    if b.device.type == "cuda":
        torch.cuda.empty_cache()


def report_modes(b: Bench) -> None:
    """Tables and target verdicts of the joint-mode sections."""
    lines: list[str] = []
    verdict: dict[str, Any] = {}

    def cell(e: Any) -> str:
        s = secs(e)
        if s is None:
            return (e or {}).get("skipped", "-") if isinstance(e, dict) else "-"
        pk = e.get("peak_gib")
        return f"{s:.3f}s" + (f" ({pk:.1f} GiB)" if pk is not None else "")

    for section in ("joint_modes", "group_sparse"):
        for key, row in b.data.get(section, {}).items():
            lines.append(f"\n== {section} {key}: {len(row['frames'])} shots, latent frames {row['frames']}, "
                         f"{row['tokens']} tokens ==")
            for m, e in row["modes"].items():
                extra = ""
                if isinstance(e, dict) and "self_pairs_vs_dense" in e:
                    extra = (f"   sparse blocks {e['sparse_blocks']}, self pairs {e['self_pairs_vs_dense']:.3f} of dense, "
                             f"text {e['text_context']}")
                lines.append(f"  {m:>11}: {cell(e)}{extra}")
            lines.append("  ratios: " + ", ".join(f"{k}={v:.3f}" for k, v in row.get("ratios", {}).items()))
            r = row.get("ratios", {})
            if section == "joint_modes" and "cinetrans/dense" in r:
                verdict[f"{key}: cinetrans/dense<=1.1"] = {"value": r["cinetrans/dense"],
                                                           "pass": r["cinetrans/dense"] <= 1.1}
            if section == "joint_modes" and "sparse/full" in r:
                verdict[f"{key}: sparse/full (report)"] = {"value": r["sparse/full"]}
            if section == "group_sparse" and "sparse/independent" in r:
                verdict[f"{key}: sparse/independent<=1.35"] = {"value": r["sparse/independent"],
                                                               "pass": r["sparse/independent"] <= 1.35}
    vae = b.data.get("vae")
    if vae:
        lines.append(f"\n== vae decode {vae['latent']} float32 ==")
        for name, e in vae["runs"].items():
            lines.append(f"  {name:>8}: {cell(e)}  out {e.get('output_shape')}")
            if e.get("peak_gib") is not None:
                verdict[f"vae {name}: peak<=80GiB"] = {"value": e["peak_gib"], "pass": e["peak_gib"] <= 80.0}
    if not lines:
        return
    lines.append("\ntargets: " + json.dumps(verdict, indent=1))
    b.data["mode_targets"] = verdict
    b.data["elapsed_s"] = time.perf_counter() - b.t_start
    b.save()
    print("\n".join(lines), flush=True)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def secs(entry: Any) -> float | None:
    if not isinstance(entry, dict):
        return None
    return entry.get("seconds", entry.get("estimated_seconds"))


def report(b: Bench, strides: list[int], target_shots: int) -> None:
    lines = []
    for section in ("attention", "forward"):
        rows = b.data[section]
        if not rows:
            continue
        keys = ["dense"] + [f"sparse_s{s}" for s in strides] + [f"flex_s{s}" for s in strides] + ["independent"]
        keys = [k for k in keys if any(k in r for r in rows)]
        lines.append(f"\n== {section}: seconds (peak GiB) ==")
        lines.append(f"{'shots':>5} {'tokens':>8} " + " ".join(f"{k:>20}" for k in keys))
        for r in rows:
            cells = []
            for k in keys:
                e = r.get(k)
                s = secs(e)
                if s is None:
                    cells.append(f"{(e or {}).get('skipped', '-')[:20]:>20}" if isinstance(e, dict) else f"{'-':>20}")
                    continue
                mark = "~" if "estimated_seconds" in e else ""
                peak = f" ({e['peak_gib']:.1f})" if e.get("peak_gib") is not None else ""
                cells.append(f"{mark}{s:.4f}{peak}".rjust(20))
            lines.append(f"{r['shots']:>5} {r['tokens']:>8} " + " ".join(cells))
        lines.append("ratios: " + "; ".join(
            f"N={r['shots']}: " + ", ".join(
                f"{k}/indep={secs(r[k]) / secs(r['independent']):.2f} dense/{k}={secs(r['dense']) / secs(r[k]):.2f}"
                if secs(r.get("dense")) else f"{k}/indep={secs(r[k]) / secs(r['independent']):.2f}"
                for k in keys if k.startswith(("sparse", "flex")) and secs(r.get(k)) and secs(r.get("independent")))
            for r in rows))
    fwd = {r["shots"]: r for r in b.data["forward"]}
    verdict = {}
    if target_shots in fwd:
        r = fwd[target_shots]
        for s in strides:
            sp, ind, den = secs(r.get(f"sparse_s{s}")), secs(r.get("independent")), secs(r.get("dense"))
            if sp and ind:
                verdict[f"sparse_s{s}/independent<=1.35"] = {"value": sp / ind, "pass": sp / ind <= 1.35}
            if sp and den:
                verdict[f"dense/sparse_s{s}>=4"] = {"value": den / sp, "pass": den / sp >= 4.0,
                                                   "dense_estimated": "estimated_seconds" in r["dense"]}
        lines.append(f"\ntargets at {target_shots} shots: " + json.dumps(verdict))
    b.data["targets"] = verdict
    b.save()
    print("\n".join(lines))
    print(f"\nwrote {b.path}")


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny config on CPU (checks the script, not speed)")
    ap.add_argument("--shots", type=int, nargs="+", default=None, help="shot counts (default 1 2 4 8 13)")
    ap.add_argument("--modes", nargs="+", default=None, choices=["attention", "independent", "sparse", "dense"],
                    help="the shot-sparse sections (default: all four, unless a joint-mode section is asked "
                         "for, then none)")
    ap.add_argument("--strides", type=int, nargs="+", default=[1, 2], help="summary strides for sparse runs")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dense-cap", type=float, default=60.0,
                    help="seconds a dense forward may take; larger shot counts are extrapolated, not run")
    ap.add_argument("--flex", action="store_true", help="also time FlexAttention in the microbenchmark (compiles)")
    ap.add_argument("--sdpa-backend", default="auto", choices=["auto", "flash", "cudnn", "efficient", "math"])
    ap.add_argument("--out", default=os.environ.get("OUT", "bench_out"))
    ap.add_argument("--name", default="bench_holistic", help="results file <out>/<name>.json")
    # joint-mode sections (issue 10 item 7)
    ap.add_argument("--joint-modes", nargs="+", default=None, choices=["1.3b", "a14b"],
                    help="a 241-frame 6-shot continuous group per architecture, in every joint mode")
    ap.add_argument("--mode-list", nargs="+", default=["dense", "full", "sparse", "cinetrans", "independent"],
                    choices=["dense", "full", "sparse", "cinetrans", "independent"], help="modes for --joint-modes")
    ap.add_argument("--group-shots", type=int, nargs="+", default=[40] * 6,
                    help="pixel frames per shot of the --joint-modes group (snapped by cuts_from_shot_lengths)")
    ap.add_argument("--group-sparse", type=int, default=None, metavar="N",
                    help="N stacked 81-frame shots in HoloCine's sparse mode vs N independent forwards (1.3B)")
    ap.add_argument("--vae", action="store_true", help="whole-group VAE decode of 241 frames, untiled and tiled")
    ap.add_argument("--vae-cap", type=float, default=75.0,
                    help="seconds of timed decodes per VAE config (fewer than --reps when one is slow)")
    ap.add_argument("--a14b-reps", type=int, default=2, help="timed reps of an A14B forward (after one warm-up)")
    ap.add_argument("--deadline-s", type=float, default=math.inf,
                    help="start no measurement after this many seconds (results so far are kept)")
    args = ap.parse_args(argv)
    new_sections = bool(args.joint_modes or args.group_sparse or args.vae)
    if args.modes is None:
        args.modes = [] if new_sections else ["attention", "independent", "sparse", "dense"]

    if args.smoke:
        device, dtype, cfg, big, vae_cfg = torch.device("cpu"), torch.float32, TINY, TINY_DEEP, TINY_VAE
        frames, latent_hw, text_len = 3, (8, 8), 16
        shots = args.shots or [1, 2, 4]
        group_shots = [8, 8, 8] if args.group_shots == [40] * 6 else args.group_shots
        tile_kwargs: dict[str, int] | None = dict(tile_sample_min_height=32, tile_sample_min_width=32,
                                                  tile_sample_stride_height=24, tile_sample_stride_width=24)
        min_left = {"1.3b": 0.0, "a14b": 0.0, "vae": 0.0}
        args.reps = min(args.reps, 3)
    else:
        if not torch.cuda.is_available():
            sys.exit("needs a CUDA GPU (use --smoke for the CPU check)")
        device, dtype, cfg, big, vae_cfg = torch.device("cuda"), torch.bfloat16, WAN_1_3B, WAN_A14B, WAN_VAE
        frames, latent_hw, text_len = 21, (60, 104), 512  # 81 frames at 832x480
        shots = args.shots or [1, 2, 4, 8, 13]
        group_shots = args.group_shots
        tile_kwargs = None  # diffusers' defaults (256 px tiles, 192 px stride), as multishot runs it
        min_left = {"1.3b": 20.0, "a14b": 75.0, "vae": 60.0}
    heads, head_dim = cfg["num_attention_heads"], cfg["attention_head_dim"]
    grid = (latent_hw[0] // cfg["patch_size"][1], latent_hw[1] // cfg["patch_size"][2])

    meta = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "dtype": str(dtype), "config": cfg, "latent_frames_per_shot": frames,
        "grid": grid, "tokens_per_shot": frames * grid[0] * grid[1], "text_tokens_per_prompt": text_len,
        "shots": shots, "strides": args.strides, "reps": args.reps, "dense_cap_s": args.dense_cap,
        "sdpa_backend": args.sdpa_backend, "smoke": args.smoke, "argv": sys.argv[1:] if argv is None else argv,
    }
    if new_sections:
        meta.update({"a14b_config": big, "a14b_reps": args.a14b_reps, "deadline_s": args.deadline_s})
    import diffusers

    meta["diffusers"] = diffusers.__version__
    b = Bench(device, args.reps, Path(args.out), meta, name=args.name, deadline_s=args.deadline_s)
    print(json.dumps(meta))

    from contextlib import nullcontext

    ctx: Any = nullcontext()
    if args.sdpa_backend != "auto":
        from torch.nn.attention import SDPBackend, sdpa_kernel

        ctx = sdpa_kernel({"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
                           "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}[args.sdpa_backend])
    with ctx:
        b.data["exactness"] = check_exactness(device, dtype, heads, head_dim, (min(grid[0], 8), min(grid[1], 8)))
        print("exactness:", b.data["exactness"], flush=True)
        if "attention" in args.modes:
            attention_bench(b, shots, frames, grid, heads, head_dim, dtype, args.strides, args.flex, args.dense_cap)
        fmodes = [m for m in args.modes if m != "attention"]
        model = None
        if fmodes or (args.joint_modes and "1.3b" in args.joint_modes) or args.group_sparse:
            model = build_transformer(cfg, device, dtype)
        if fmodes:
            forward_bench(b, model, shots, frames, latent_hw, text_len, dtype, args.strides, fmodes, args.dense_cap)

        # Joint modes, in the order of priority: 1.3B group, VAE, N-shot sparse, A14B group.
        total, cuts = cuts_from_shot_lengths(group_shots)
        group_frames = tuple(latent_shot_frames(total, cuts))
        group_meta = {"pixel_frames": total, "cut_frames": cuts, "shot_lengths_asked": list(group_shots)}
        if args.joint_modes and "1.3b" in args.joint_modes:
            group_forward_bench(b, model, "wan2.1-1.3b", "joint_modes", group_frames, latent_hw, text_len, dtype,
                                args.mode_list, "continuous", args.reps, min_left["1.3b"], group_meta)
        if args.vae:
            n_lat = (total - 1) // 4 + 1
            vae_bench(b, vae_cfg, (1, vae_cfg["z_dim"], n_lat, *latent_hw), args.reps, min_left["vae"], tile_kwargs,
                      cap_s=args.vae_cap)
        if args.group_sparse:
            n = args.group_sparse
            group_forward_bench(b, model, f"wan2.1-1.3b-{n}x{4 * (frames - 1) + 1}f", "group_sparse",
                                (frames,) * n, latent_hw, text_len, dtype, ["sparse", "independent"], "stacked",
                                args.reps, min_left["1.3b"],
                                {"pixel_frames_per_shot": 4 * (frames - 1) + 1, "shots": n})
        if args.joint_modes and "a14b" in args.joint_modes:
            model = None
            if device.type == "cuda":
                torch.cuda.empty_cache()
            if b.left() < min_left["a14b"] + 30:
                b.data.setdefault("joint_modes", {})["wan2.2-a14b"] = {"skipped": "deadline"}
                b.save()
                print("[joint_modes:wan2.2-a14b] skipped: deadline", flush=True)
            else:
                big_model = build_transformer(big, device, dtype)
                group_forward_bench(b, big_model, "wan2.2-a14b", "joint_modes", group_frames, latent_hw, text_len,
                                    dtype, args.mode_list, "continuous", args.a14b_reps, min_left["a14b"], group_meta)
                del big_model
    if args.modes:
        report(b, args.strides, max(shots))
    report_modes(b)
    print(f"\nwrote {b.path} ({time.perf_counter() - b.t_start:.0f}s)")


if __name__ == "__main__":
    main()
