#!/usr/bin/env python
"""GPU benchmark: does multishot's diffusers backend cost anything over plain diffusers?

Part 1 (Wan 2.1 1.3B architecture, true config, random weights, bf16 with an fp32 VAE,
832x480, 81 frames): seconds per denoising step, total seconds per shot and peak GPU memory
(a) through `DiffusersBackend` (a profile around a local folder written with save_pretrained
and loaded back through multishot's loader) and (b) through a plain diffusers script of the
same pipeline and settings; same process, warm-up first, alternating order, and the overhead
ratio a/b (target <= 1.05). Both paths must also produce the same frames.

Part 2 (Wan 2.1 14B architecture: 40 layers, 5120 wide, 40 heads, ffn 13824): peak GPU memory
and step time for one or two steps under the offload strategies of the 14B profile
(model_cpu_offload, then group_offload reached through the backend's own out-of-memory
step-down path).

Text encoder: the real UMT5-XXL has 4.7B parameters; here it is a one-layer UMT5 of the same
width (4096), so prompt encoding is real but cheap. Per-step timings do not include it (they
are taken between consecutive `callback_on_step_end` calls, after torch.cuda.synchronize()).

    python scripts/bench_gpu.py --out DIR          # on a GPU (default DIR: $OUT, else ./bench_out)
    python scripts/bench_gpu.py --smoke            # tiny configs on CPU, seconds
    python scripts/bench_gpu.py --part 14b         # only part 2
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

WAN_1_3B = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16,
                out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)
WAN_14B = {**WAN_1_3B, "num_attention_heads": 40, "ffn_dim": 13824, "num_layers": 40}
TEXT_FULL = dict(d_model=4096, d_kv=64, num_heads=64, d_ff=1024, num_layers=1)
# Smoke: the shapes of the tiny profile (and a deeper "big" one), on CPU.
SMOKE_SMALL = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16,
                   out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
                   qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=32)
SMOKE_BIG = {**SMOKE_SMALL, "num_layers": 4, "ffn_dim": 64}
TEXT_SMOKE = dict(d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=1)
SMOKE_VAE = dict(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True])

PROMPT = "an old keeper climbs the spiral stairs of a lighthouse at dusk, rain on the glass, 35mm film"
NEGATIVE = "blurry, low quality, watermark"


# --------------------------------------------------------------------------------------------
# Building random-weight models
# --------------------------------------------------------------------------------------------


def random_transformer(config: dict[str, Any], dtype: torch.dtype, seed: int, fill_device: str = "cpu") -> Any:
    """A WanTransformer3DModel with random weights, built on the meta device and filled in
    place: the usual init of 14B parameters would take minutes on a CPU. Buffers (RoPE tables)
    are built normally. Values are uniform in +-0.02 (norm scales 1): timing and memory do not
    depend on them. `fill_device="cuda"` draws them on the GPU (seconds instead of a minute on
    one CPU thread for billions of values); the module stays on the CPU either way."""
    from accelerate import init_empty_weights
    from accelerate.utils import set_module_tensor_to_device
    from diffusers import WanTransformer3DModel

    with init_empty_weights(include_buffers=False):
        model = WanTransformer3DModel(**config)
    gen = torch.Generator(device=fill_device).manual_seed(seed)
    for name, param in list(model.named_parameters()):
        value = torch.empty(param.shape, dtype=dtype, device=fill_device)
        if param.ndim == 1 and "norm" in name and name.endswith("weight"):
            value.fill_(1.0)
        else:
            value.uniform_(-0.02, 0.02, generator=gen)
        set_module_tensor_to_device(model, name, "cpu", value=value.cpu())
    return model.eval()


def random_module(module: Any, seed: int, fill_device: str = "cpu") -> Any:
    """Fill a module built on the meta device with uniform random bf16 values (norm scales 1):
    the normal init of a 4.7B-parameter text encoder takes minutes on a CPU."""
    from accelerate.utils import set_module_tensor_to_device

    gen = torch.Generator(device=fill_device).manual_seed(seed)
    for name, param in list(module.named_parameters()):
        value = torch.empty(param.shape, dtype=torch.bfloat16, device=fill_device)
        if "norm" in name or "layer_norm" in name:
            value.fill_(1.0)
        else:
            value.uniform_(-0.02, 0.02, generator=gen)
        set_module_tensor_to_device(module, name, "cpu", value=value.cpu())
    return module.eval()


def write_pipeline(folder: Path, transformer_config: dict[str, Any], text_config: dict[str, Any],
                   vae_config: dict[str, Any] | None, seed: int, fill_device: str = "cpu") -> Path:
    """A WanPipeline of random weights saved with save_pretrained (safetensors): the real
    transformer and VAE architectures, a UMT5 encoder of the given size."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline
    from transformers import UMT5Config, UMT5EncoderModel

    from multishot.backends.diffusers import tiny

    tok = tiny.tokenizer()
    with init_empty_weights(include_buffers=False):
        text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=len(tok), feed_forward_proj="gated-gelu",
                                                   relative_attention_num_buckets=32, **text_config))
    text_encoder = random_module(text_encoder, seed, fill_device)
    torch.manual_seed(seed)
    vae = AutoencoderKLWan(**(vae_config or {}))
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    transformer = random_transformer(transformer_config, torch.bfloat16, seed, fill_device)
    pipe = WanPipeline(tokenizer=tok, text_encoder=text_encoder, vae=vae, scheduler=scheduler, transformer=transformer)
    pipe.save_pretrained(folder, safe_serialization=True)
    del pipe, transformer, text_encoder, vae
    gc.collect()
    return folder


def write_profile(folder: Path, name: str, model: Path, *, width: int, height: int, frames: int, steps: int,
                  memory: list[str]) -> Path:
    import yaml

    role = dict(pipeline="WanPipeline", path=str(model), dtype="bfloat16", component_dtypes={"vae": "float32"},
                width=width, height=height, frames=frames, fps=16, steps=steps, guidance=5.0, memory=memory)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "licence": "random weights (benchmark)",
                                    "roles": {"text_to_video": role}}, sort_keys=False))
    return path


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


class StepClock:
    """Timestamps at the end of every denoising step (after a device sync)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.stamps: list[float] = []

    def tick(self) -> None:
        sync(self.device)
        self.stamps.append(time.perf_counter())

    def step_times(self) -> list[float]:
        return [b - a for a, b in zip(self.stamps, self.stamps[1:], strict=False)]


def measure(device: str, fn: Callable[[StepClock], np.ndarray]) -> tuple[dict[str, Any], np.ndarray]:
    clock = StepClock(device)
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    sync(device)
    t0 = time.perf_counter()
    frames = fn(clock)
    sync(device)
    total = time.perf_counter() - t0
    steps = clock.step_times()
    result: dict[str, Any] = {
        "total_s": total, "steps_timed": len(steps),
        "step_median_s": statistics.median(steps) if steps else None,
        "step_mean_s": statistics.fmean(steps) if steps else None,
    }
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated()
        result.update(peak_gib=peak / 2**30, peak_over_start_gib=(peak - before) / 2**30,
                      allocated_at_start_gib=before / 2**30)
    return result, frames


def shot_request(width: int, height: int, frames: int, seed: int) -> Any:
    from multishot.backends.base import ShotLayout, ShotRequest

    layout = ShotLayout(shot_id="bench", scene_id="bench", location_id="bench", location="a lighthouse",
                        time="dusk", weather="rain", size="wide", angle=None, movement=None)
    return ShotRequest(prompt=PROMPT, negative=NEGATIVE, width=width, height=height, num_frames=frames, fps=16,
                       seed=seed, layout=layout)


# --------------------------------------------------------------------------------------------
# Part 1: overhead of the backend path
# --------------------------------------------------------------------------------------------


def part_overhead(args: argparse.Namespace, work: Path, device: str) -> dict[str, Any]:
    from diffusers import AutoencoderKLWan, WanPipeline

    from multishot.backends.diffusers.backend import DiffusersBackend
    from multishot.backends.diffusers.loading import PipelineCache
    from multishot.backends.diffusers.profile import load_profile

    cfg, text_cfg, vae_cfg = (SMOKE_SMALL, TEXT_SMOKE, SMOKE_VAE) if args.smoke else (WAN_1_3B, TEXT_FULL, None)
    W, H, F, steps = args.width, args.height, args.frames, args.steps
    t = time.perf_counter()
    model = write_pipeline(work / "wan13", cfg, text_cfg, vae_cfg, seed=0)
    build_s = time.perf_counter() - t
    prof = load_profile(write_profile(work, "bench-wan13", model, width=W, height=H, frames=F, steps=steps,
                                      memory=["none"]))
    warm = load_profile(write_profile(work, "bench-wan13-warm", model, width=W, height=H, frames=F, steps=2,
                                      memory=["none"]))
    cache = PipelineCache()
    clock_box: dict[str, StepClock] = {}
    backend = DiffusersBackend(prof, device=device, cache=cache, on_step=lambda i, n: clock_box["c"].tick())
    warm_backend = DiffusersBackend(warm, device=device, cache=cache, on_step=lambda i, n: clock_box["c"].tick())

    t = time.perf_counter()
    vae = AutoencoderKLWan.from_pretrained(model, subfolder="vae", dtype=torch.float32)
    plain = WanPipeline.from_pretrained(model, vae=vae, dtype=torch.bfloat16).to(device)
    plain.set_progress_bar_config(disable=True)
    plain_load_s = time.perf_counter() - t

    def run_backend(b: Any) -> Callable[[StepClock], np.ndarray]:
        def fn(clock: StepClock) -> np.ndarray:
            clock_box["c"] = clock
            return np.stack(b.text_to_video(shot_request(W, H, F, seed=0)))
        return fn

    def run_plain(n_steps: int) -> Callable[[StepClock], np.ndarray]:
        def fn(clock: StepClock) -> np.ndarray:
            def cb(_p: Any, _i: int, _t: Any, _kw: dict[str, Any]) -> dict[str, Any]:
                clock.tick()
                return {}
            gen = torch.Generator(device=device).manual_seed(0)
            out = plain(prompt=PROMPT, negative_prompt=NEGATIVE, height=H, width=W, num_frames=F,
                        num_inference_steps=n_steps, guidance_scale=5.0, generator=gen, output_type="np",
                        callback_on_step_end=cb).frames[0]
            return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
        return fn

    t = time.perf_counter()
    measure(device, run_backend(warm_backend))  # warm-up; also loads the backend's pipeline
    backend_load_and_warm_s = time.perf_counter() - t
    measure(device, run_plain(2))
    runs: dict[str, list[dict[str, Any]]] = {"multishot": [], "diffusers": []}
    outputs: dict[str, np.ndarray] = {}
    for r in range(args.repeats):
        order = [("multishot", run_backend(backend)), ("diffusers", run_plain(steps))]
        for name, fn in (order if r % 2 == 0 else order[::-1]):
            res, frames = measure(device, fn)
            res["order"] = r
            runs[name].append(res)
            outputs[name] = frames
            print(f"  [{name:9s}] repeat {r}: step {res['step_median_s']:.4f} s, total {res['total_s']:.2f} s"
                  + (f", peak {res['peak_gib']:.2f} GiB" if "peak_gib" in res else ""), flush=True)

    def med(name: str, key: str) -> float:
        return statistics.median(x[key] for x in runs[name])

    summary = {
        "step_median_s": {k: med(k, "step_median_s") for k in runs},
        "total_median_s": {k: med(k, "total_s") for k in runs},
        "overhead_ratio_step": med("multishot", "step_median_s") / med("diffusers", "step_median_s"),
        "overhead_ratio_total": med("multishot", "total_s") / med("diffusers", "total_s"),
        "outputs_max_abs_diff": int(np.abs(outputs["multishot"].astype(int) - outputs["diffusers"].astype(int)).max()),
        "pipeline_loads": cache.pipeline_loads,
    }
    if device == "cuda":
        summary["peak_gib"] = {k: max(x["peak_gib"] for x in runs[k]) for k in runs}
        summary["peak_over_start_gib"] = {k: max(x["peak_over_start_gib"] for x in runs[k]) for k in runs}
    result = {"config": {"transformer": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
                         "text_encoder": text_cfg, "width": W, "height": H, "frames": F, "steps": steps,
                         "guidance": 5.0, "dtype": "bfloat16 (VAE float32)", "repeats": args.repeats},
              "build_s": build_s, "plain_load_s": plain_load_s, "backend_load_and_warmup_s": backend_load_and_warm_s,
              "runs": runs, "summary": summary}
    cache.clear()
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return result


# --------------------------------------------------------------------------------------------
# Part 2: the 14B architecture under offloading
# --------------------------------------------------------------------------------------------


def part_14b(args: argparse.Namespace, work: Path, device: str) -> dict[str, Any]:
    from multishot.backends.base import Capability
    from multishot.backends.diffusers import memory
    from multishot.backends.diffusers.backend import DiffusersBackend
    from multishot.backends.diffusers.loading import PipelineCache
    from multishot.backends.diffusers.profile import load_profile

    cfg, text_cfg, vae_cfg = (SMOKE_BIG, TEXT_SMOKE, SMOKE_VAE) if args.smoke else (WAN_14B, TEXT_FULL, None)
    W, H, F = args.width, args.height, args.frames
    strategies = [s.strip() for s in args.strategies_14b.split(",") if s.strip()]
    t = time.perf_counter()
    model = write_pipeline(work / "wan14", cfg, text_cfg, vae_cfg, seed=1)
    build_s = time.perf_counter() - t
    prof = load_profile(write_profile(work, "bench-wan14", model, width=W, height=H, frames=F,
                                      steps=args.steps_14b, memory=strategies))
    cache = PipelineCache()
    clock_box: dict[str, StepClock] = {}
    backend = DiffusersBackend(prof, device=device, cache=cache, on_step=lambda i, n: clock_box["c"].tick())
    t = time.perf_counter()
    entry = backend.pipeline(Capability.TEXT_TO_VIDEO)
    load_s = time.perf_counter() - t
    params = sum(p.numel() for p in entry.pipe.transformer.parameters())
    results = []
    for i, strategy in enumerate(strategies):
        if i > 0:
            memory.step_down(entry)  # the same teardown/re-apply path an out-of-memory error takes
        assert entry.strategy == strategy

        def fn(clock: StepClock) -> np.ndarray:
            clock_box["c"] = clock
            return np.stack(backend.text_to_video(shot_request(W, H, F, seed=0)))

        res, _ = measure(device, fn)
        res["strategy"] = strategy
        results.append(res)
        print(f"  [14B {strategy}] step {res['step_median_s'] or float('nan'):.3f} s, total {res['total_s']:.1f} s"
              + (f", peak {res['peak_gib']:.2f} GiB" if "peak_gib" in res else ""), flush=True)
    out = {"config": {"transformer": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
                      "transformer_params": params, "width": W, "height": H, "frames": F, "steps": args.steps_14b},
           "build_s": build_s, "load_s": load_s, "runs": results, "events": backend.events}
    cache.clear()
    gc.collect()
    return out


# --------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "bench_out"))
    ap.add_argument("--smoke", action="store_true", help="tiny configs on CPU, seconds")
    ap.add_argument("--part", choices=["all", "1.3b", "14b"], default="all")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--width", type=int, default=832)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--frames", type=int, default=81)
    ap.add_argument("--steps-14b", type=int, default=2)
    ap.add_argument("--strategies-14b", default="model_cpu_offload,group_offload")
    ap.add_argument("--workdir", type=Path, default=None, help="where the random models are written (deleted after)")
    args = ap.parse_args()
    if args.smoke:
        args.width, args.height, args.frames, args.steps = 32, 32, 9, 3
    device = "cuda" if torch.cuda.is_available() and not args.smoke else "cpu"
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="multishot-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    import diffusers

    report: dict[str, Any] = {
        "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__, "diffusers": diffusers.__version__, "smoke": args.smoke,
        "note": "random weights; text encoder = 1-layer UMT5 of width 4096 (real UMT5-XXL: 4.7B params)",
    }
    try:
        if args.part in ("all", "1.3b"):
            print(f"part 1: Wan 1.3B architecture, {args.width}x{args.height}x{args.frames}, {args.steps} steps, "
                  f"on {report['device']}", flush=True)
            report["overhead"] = part_overhead(args, work, device)
            s = report["overhead"]["summary"]
            print(f"per-step median: multishot {s['step_median_s']['multishot']:.4f} s, diffusers "
                  f"{s['step_median_s']['diffusers']:.4f} s -> overhead ratio {s['overhead_ratio_step']:.3f} "
                  f"(target <= 1.05); per shot {s['overhead_ratio_total']:.3f}; outputs differ by at most "
                  f"{s['outputs_max_abs_diff']} (uint8)")
            if "peak_gib" in s:
                print(f"peak GPU memory: multishot {s['peak_gib']['multishot']:.2f} GiB, diffusers "
                      f"{s['peak_gib']['diffusers']:.2f} GiB (both pipelines resident; over start: "
                      f"{s['peak_over_start_gib']['multishot']:.2f} / {s['peak_over_start_gib']['diffusers']:.2f} GiB)")
            shutil.rmtree(work / "wan13", ignore_errors=True)
        if args.part in ("all", "14b"):
            print(f"part 2: Wan 14B architecture, {args.steps_14b} steps, strategies {args.strategies_14b}",
                  flush=True)
            report["14b"] = part_14b(args, work, device)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
        path = args.out / "bench_gpu.json"
        path.write_text(json.dumps(report, indent=2, default=str))
        print(f"results: {path}")


if __name__ == "__main__":
    main()
