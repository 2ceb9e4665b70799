#!/usr/bin/env python
"""GPU benchmark of `render --fast` and distilled settings (issue 13), one shot side by side.

Wan 2.1 1.3B architecture with random weights (true transformer config; the real Wan VAE
architecture; a UMT5-XXL-sized text encoder unless --small-text), bf16 with an fp32 VAE, one
81-frame shot at 832x480, all in one process, one model on disk loaded through each path:

  baseline    plain diffusers `WanPipeline`, 50 UniPC steps, CFG 5 (what a script does)
  default     multishot's backend on the same model and settings (a profile around the folder)
  fast        `--fast` without distillation: the profile's fast settings (regional compile +
              TaylorSeer lite, interval 4 after 5 full steps, as `wan-2.1-1.3b.yaml`)
  distilled   4 flow-match Euler steps at shift 5, guidance 1 (no CFG pass), a random rank-64
              LoRA in original-Wan layout loaded through the profile's `loras:` (fused, and
              attached as a second row), as `wan-2.1-14b-fast.yaml` does for the 14B

For each: seconds for the shot (end to end through the pipeline call, after one warm-up call
that also compiles), the seconds and share of text encoding and VAE decode (timed by wrapping
the pipeline's `encode_prompt` and `vae.decode`), compile seconds (first call minus a warm
call), peak GPU memory. Ratios are against the baseline measured in the same run. Random
weights make quality unmeasurable: which settings are lossless is stated, not measured here.

    python scripts/bench_fast.py --out DIR     # on a GPU
    python scripts/bench_fast.py --smoke       # tiny shapes on CPU, seconds
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench_gpu import (  # noqa: E402
    NEGATIVE, PROMPT, SMOKE_SMALL, SMOKE_VAE, TEXT_FULL, TEXT_SMOKE, WAN_1_3B, shot_request, write_pipeline,
)

UMT5_XXL = dict(d_model=4096, d_kv=64, num_heads=64, d_ff=10240, num_layers=24)
FAST = {"compile": True, "cache": {"kind": "taylorseer", "interval": 4, "warmup_steps": 5, "lite": True}}


class Timers:
    """Wall time spent inside the wrapped callables (device-synced), per name."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.seconds: dict[str, float] = {}

    def wrap(self, obj: Any, attr: str, name: str) -> None:
        inner = getattr(obj, attr)
        if getattr(inner, "_bench_wrapped", False):
            return

        def timed(*a: Any, **kw: Any) -> Any:
            _sync(self.device)
            t = time.perf_counter()
            out = inner(*a, **kw)
            _sync(self.device)
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t
            return out

        timed._bench_wrapped = True  # type: ignore[attr-defined]
        setattr(obj, attr, timed)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def lora_file(folder: Path, cfg: dict[str, Any], rank: int, seed: int) -> Path:
    """A random LoRA on every attention and FFN linear, in original-Wan key layout with
    ``lora_down`` / ``lora_up`` names as published distillation LoRAs use (cross-attention
    keys and values read the text already projected to the model width)."""
    from safetensors.torch import save_file

    dim = cfg["num_attention_heads"] * cfg["attention_head_dim"]
    gen = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    shapes = {f"{a}.{p}": (dim, dim) for a in ("self_attn", "cross_attn") for p in "qkvo"}
    shapes.update({"ffn.0": (cfg["ffn_dim"], dim), "ffn.2": (dim, cfg["ffn_dim"])})
    for i in range(cfg["num_layers"]):
        for mod, (out_f, in_f) in shapes.items():
            key = f"diffusion_model.blocks.{i}.{mod}"
            state[f"{key}.lora_down.weight"] = (0.01 * torch.randn(rank, in_f, generator=gen)).to(torch.bfloat16)
            state[f"{key}.lora_up.weight"] = (0.01 * torch.randn(out_f, rank, generator=gen)).to(torch.bfloat16)
    path = folder / f"random_lora_rank{rank}.safetensors"
    save_file(state, str(path))
    return path


def write_profile(folder: Path, name: str, model: Path, *, width: int, height: int, frames: int,
                  steps: int, guidance: float, **extra: Any) -> Path:
    import yaml

    role = dict(pipeline="WanPipeline", path=str(model), dtype="bfloat16", component_dtypes={"vae": "float32"},
                width=width, height=height, frames=frames, fps=16, steps=steps, guidance=guidance,
                scheduler="UniPCMultistepScheduler", flow_shift=3.0, memory=["none"], **extra)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "licence": "random weights (benchmark)",
                                    "roles": {"text_to_video": role}}, sort_keys=False))
    return path


def measure(device: str, timers: Timers, fn: Callable[[], Any]) -> dict[str, Any]:
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    timers.seconds = {}
    _sync(device)
    t = time.perf_counter()
    fn()
    _sync(device)
    total = time.perf_counter() - t
    out: dict[str, Any] = {"total_s": total, "text_s": timers.seconds.get("text", 0.0),
                           "vae_decode_s": timers.seconds.get("vae", 0.0)}
    out["text_share"] = out["text_s"] / total
    out["vae_share"] = out["vae_decode_s"] / total
    if device == "cuda":
        out["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "bench_out")))
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_fast_work"),
                    help="where the random-weight models are written (GBs; not under --out)")
    ap.add_argument("--smoke", action="store_true", help="tiny shapes on CPU (checks the script runs)")
    ap.add_argument("--small-text", action="store_true", help="a one-layer text encoder instead of UMT5-XXL size")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--cases", default="baseline,default,fast,distilled,distilled-attached,distilled-compiled,"
                                       "distilled-compiled-bf16vae,baseline-again")
    args = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() and not args.smoke else "cpu"
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    os.environ["MULTISHOT_PROFILE_PATH"] = str(work)

    from diffusers import AutoencoderKLWan, WanPipeline

    from multishot.backends.diffusers.backend import DiffusersBackend
    from multishot.backends.diffusers.loading import PipelineCache
    from multishot.backends.diffusers.profile import load_profile

    if args.smoke:
        cfg, text_cfg, vae_cfg, W, H, F = SMOKE_SMALL, TEXT_SMOKE, SMOKE_VAE, 64, 64, 9
        steps, rank = min(args.steps, 6), 4
    else:
        cfg, text_cfg, vae_cfg, W, H, F = (WAN_1_3B, TEXT_FULL if args.small_text else UMT5_XXL, None,
                                           832, 480, 81)
        steps, rank = args.steps, 64
    t = time.perf_counter()
    model = write_pipeline(work / "wan13", cfg, text_cfg, vae_cfg, seed=0)
    lora = lora_file(work, cfg, rank, seed=1)
    build_s = time.perf_counter() - t
    timers = Timers(device)
    results: dict[str, Any] = {}
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]

    def instrument(pipe: Any) -> Any:
        timers.wrap(pipe, "encode_prompt", "text")
        timers.wrap(pipe.vae, "decode", "vae")
        return pipe

    def record(name: str, first: dict[str, Any], warm: dict[str, Any], **extra: Any) -> None:
        warm.update(first_call_s=first["total_s"], compile_s=first["total_s"] - warm["total_s"], **extra)
        results[name] = warm
        print(f"  [{name:18s}] {warm['total_s']:.2f} s (text {warm['text_s']:.2f} s, vae {warm['vae_decode_s']:.2f} s"
              + (f", peak {warm['peak_gib']:.1f} GiB" if "peak_gib" in warm else "")
              + f"; first call {first['total_s']:.2f} s)", flush=True)

    if "baseline" in cases:
        vae = AutoencoderKLWan.from_pretrained(model, subfolder="vae", dtype=torch.float32)
        plain = instrument(WanPipeline.from_pretrained(model, vae=vae, dtype=torch.bfloat16).to(device))
        plain.set_progress_bar_config(disable=True)

        def run_plain() -> Any:
            gen = torch.Generator(device=device).manual_seed(0)
            return plain(prompt=PROMPT, negative_prompt=NEGATIVE, height=H, width=W, num_frames=F,
                         num_inference_steps=steps, guidance_scale=5.0, generator=gen, output_type="np").frames[0]

        def warm_up() -> Any:  # kernels and cuDNN plans for these shapes, for every case after
            gen = torch.Generator(device=device).manual_seed(0)
            return plain(prompt=PROMPT, negative_prompt=NEGATIVE, height=H, width=W, num_frames=F,
                         num_inference_steps=1, guidance_scale=5.0, generator=gen, output_type="np")

        measure(device, timers, warm_up)
        once = measure(device, timers, run_plain)
        record("baseline", once, dict(once), steps=steps, guidance=5.0)
        del plain, vae
        gc.collect()

    def backend_case(name: str, profile_name: str, *, fast: bool = False, **extra: Any) -> None:
        cache = PipelineCache()
        backend = DiffusersBackend(load_profile(profile_name), device=device, cache=cache, fast=fast)
        role = backend.profile.roles[next(iter(backend.profile.roles))]
        req = shot_request(W, H, F, seed=0)

        from multishot.backends.diffusers import memory

        t = time.perf_counter()
        entry = backend.pipeline(next(iter(backend.profile.roles)))  # load (LoRA, compile wrappers) ...
        memory.place(entry, cache.entries())  # ... and onto the GPU, as the baseline is, before timing
        instrument(entry.pipe)
        _sync(device)
        load_s = time.perf_counter() - t

        def run() -> Any:
            return backend.text_to_video(req)

        first = measure(device, timers, run)
        # Compiled code is compiled on the first call: time a second one. Others are warm already.
        warm = measure(device, timers, run) if role.speed.compile else dict(first)
        record(name, first, warm, steps=role.steps, guidance=role.guidance, speed=role.speed.describe(),
               load_s=load_s, **extra)
        cache.clear()
        gc.collect()

    write_profile(work, "bench-default", model, width=W, height=H, frames=F, steps=steps, guidance=5.0, fast=FAST)
    if "default" in cases:
        backend_case("default", "bench-default")
    if "fast" in cases:
        torch._dynamo.reset()
        backend_case("fast", "bench-default", fast=True)
        torch._dynamo.reset()
    variants = {  # name: (fused, speed, VAE dtype)
        "distilled": (True, None, "float32"),
        "distilled-attached": (False, None, "float32"),
        "distilled-compiled": (True, {"compile": True}, "float32"),
        "distilled-compiled-bf16vae": (True, {"compile": True}, "bfloat16"),
    }
    for name, (fuse, speed, vae_dtype) in variants.items():
        if name not in cases:
            continue
        extra: dict[str, Any] = {"loras": [{"path": str(lora), "format": "wan-original", "scale": 1.0, "fuse": fuse}]}
        if speed:
            extra["speed"] = speed
        path = write_profile(work, f"bench-{name}", model, width=W, height=H, frames=F, steps=4, guidance=1.0,
                             **extra)
        text = path.read_text().replace("UniPCMultistepScheduler", "FlowMatchEulerDiscreteScheduler")
        text = text.replace("flow_shift: 3.0", "flow_shift: 5.0").replace("vae: float32", f"vae: {vae_dtype}")
        path.write_text(text)
        torch._dynamo.reset()
        backend_case(name, f"bench-{name}", lora_rank=rank, lora_fused=fuse, vae_dtype=vae_dtype)
    if "baseline-again" in cases and "baseline" in cases:  # the floor's run-to-run spread
        vae = AutoencoderKLWan.from_pretrained(model, subfolder="vae", dtype=torch.float32)
        plain = instrument(WanPipeline.from_pretrained(model, vae=vae, dtype=torch.bfloat16).to(device))
        plain.set_progress_bar_config(disable=True)
        measure(device, timers, warm_up)
        once = measure(device, timers, run_plain)
        record("baseline-again", once, dict(once), steps=steps, guidance=5.0)
        del plain, vae

    base = results.get("baseline", {}).get("total_s")
    ratios = {k: base / v["total_s"] for k, v in results.items() if base and not k.startswith("baseline")}
    summary = {"speedup_vs_baseline": ratios,
               "targets": {"fast >= 2x": ratios.get("fast", 0) >= 2.0,
                           "distilled (as the profile runs) >= 15x": ratios.get("distilled", 0) >= 15.0,
                           "best distilled variant >= 15x": max((v for k, v in ratios.items()
                                                                 if k.startswith("distilled")), default=0) >= 15.0}}
    if "baseline-again" in results and base:
        summary["baseline_spread"] = results["baseline-again"]["total_s"] / base
    print(json.dumps(summary, indent=1))
    meta = {"device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
            "torch": torch.__version__, "diffusers": __import__("diffusers").__version__, "smoke": args.smoke,
            "shot": {"width": W, "height": H, "frames": F}, "text_encoder": text_cfg, "build_s": build_s,
            "lossless": ["attention backend", "regional compile (float tolerance)", "LoRA fused vs attached"],
            "lossy": ["step caches (TaylorSeer, FirstBlockCache, MagCache)", "fewer steps / no CFG (distillation)"]}
    (args.out / ("bench_fast_smoke.json" if args.smoke else "bench_fast.json")).write_text(
        json.dumps({"meta": meta, "results": results, "summary": summary}, indent=1, default=str))


if __name__ == "__main__":
    main()
