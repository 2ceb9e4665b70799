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

Timing: warm-up, torch.cuda.synchronize, median of reps, peak memory per config. Results go to
<out>/bench_holistic.json (rewritten after every measurement, so a timeout keeps what ran).

    python scripts/bench_holistic.py                       # full run on one GPU (~6-8 min)
    python scripts/bench_holistic.py --modes sparse independent --shots 1 2 4 8 13
    python scripts/bench_holistic.py --modes dense --dense-cap 200     # dense up to 13 shots
    python scripts/bench_holistic.py --smoke               # tiny config on CPU, seconds
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
TINY = dict(
    patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=16, out_channels=16,
    text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=64,
)


class Bench:
    """Times callables the same way everywhere and keeps the JSON current."""

    def __init__(self, device: torch.device, reps: int, out: Path, meta: dict[str, Any]) -> None:
        self.device, self.reps, self.path = device, reps, out / "bench_holistic.json"
        self.data: dict[str, Any] = {"meta": meta, "attention": [], "forward": []}
        out.mkdir(parents=True, exist_ok=True)

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def time(self, fn: Callable[[], Any], cap_s: float = math.inf) -> dict[str, Any]:
        """Warm-up once, then up to `reps` timed runs (fewer when one run is slow against
        `cap_s`). Returns median seconds, all samples and peak memory."""
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        fn()
        self.sync()
        warm = time.perf_counter() - t0
        samples: list[float] = []
        n = self.reps if warm * self.reps <= cap_s else max(0, min(self.reps, int(cap_s // max(warm, 1e-9)) - 1))
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            self.sync()
            samples.append(time.perf_counter() - t0)
        peak = torch.cuda.max_memory_allocated() / 2**30 if self.device.type == "cuda" else None
        return {"seconds": statistics.median(samples) if samples else warm, "samples": samples, "warmup": warm,
                "from_warmup_only": not samples, "peak_gib": peak}

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
    ap.add_argument("--modes", nargs="+", default=["attention", "independent", "sparse", "dense"],
                    choices=["attention", "independent", "sparse", "dense"])
    ap.add_argument("--strides", type=int, nargs="+", default=[1, 2], help="summary strides for sparse runs")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dense-cap", type=float, default=60.0,
                    help="seconds a dense forward may take; larger shot counts are extrapolated, not run")
    ap.add_argument("--flex", action="store_true", help="also time FlexAttention in the microbenchmark (compiles)")
    ap.add_argument("--sdpa-backend", default="auto", choices=["auto", "flash", "cudnn", "efficient", "math"])
    ap.add_argument("--out", default=os.environ.get("OUT", "bench_out"))
    args = ap.parse_args(argv)

    if args.smoke:
        device, dtype, cfg = torch.device("cpu"), torch.float32, TINY
        frames, latent_hw, text_len = 3, (8, 8), 16
        shots = args.shots or [1, 2, 4]
        args.reps = min(args.reps, 3)
    else:
        if not torch.cuda.is_available():
            sys.exit("needs a CUDA GPU (use --smoke for the CPU check)")
        device, dtype, cfg = torch.device("cuda"), torch.bfloat16, WAN_1_3B
        frames, latent_hw, text_len = 21, (60, 104), 512  # 81 frames at 832x480
        shots = args.shots or [1, 2, 4, 8, 13]
    heads, head_dim = cfg["num_attention_heads"], cfg["attention_head_dim"]
    grid = (latent_hw[0] // cfg["patch_size"][1], latent_hw[1] // cfg["patch_size"][2])

    meta = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "dtype": str(dtype), "config": cfg, "latent_frames_per_shot": frames,
        "grid": grid, "tokens_per_shot": frames * grid[0] * grid[1], "text_tokens_per_prompt": text_len,
        "shots": shots, "strides": args.strides, "reps": args.reps, "dense_cap_s": args.dense_cap,
        "sdpa_backend": args.sdpa_backend, "smoke": args.smoke,
    }
    import diffusers

    meta["diffusers"] = diffusers.__version__
    b = Bench(device, args.reps, Path(args.out), meta)
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
        if fmodes:
            from diffusers import WanTransformer3DModel

            t0 = time.perf_counter()
            with torch.device(device):
                model = WanTransformer3DModel(**cfg)
            model = cast_like_from_pretrained(model, dtype).eval()
            print(f"model built in {time.perf_counter() - t0:.1f}s "
                  f"({sum(p.numel() for p in model.parameters()) / 1e9:.2f}B params)", flush=True)
            forward_bench(b, model, shots, frames, latent_hw, text_len, dtype, args.strides, fmodes, args.dense_cap)
    report(b, args.strides, max(shots))


if __name__ == "__main__":
    main()
