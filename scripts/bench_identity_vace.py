#!/usr/bin/env python
"""GPU timing of Wan VACE reference-to-video (issue 15a) against plain text-to-video, one shot.

Wan 2.1 VACE 1.3B architecture with random weights (`WanVACETransformer3DModel` from the
Wan2.1-VACE-1.3B-diffusers transformer config: 30 layers, 12 heads of 128, VACE blocks on
layers 0, 2, ..., 28, 96 control channels) and the Wan 2.1 T2V 1.3B transformer of the same
size, the real Wan 2.1 VAE architecture (fp32), transformers in bf16, built from configs (no
download). Prompt embeddings are random tensors of umT5-XXL's shape (512 x 4096): the text
encoder is the same for both and is left out of the timing. One 81-frame 832x480 shot, few
UniPC steps with CFG, all in one process:

  t2v          WanPipeline, the shot from text alone
  vace-refs    WanVACEPipeline with 2 reference images (each adds a latent frame)
  vace-infill  WanVACEPipeline with 2 reference images and first/last frames pinned (video +
               mask), as multishot's keyframe infill calls it

Each: one warm-up call (1 step), then the timed call; seconds end to end, seconds per step
(from the step callback, CUDA synchronised), VAE decode excluded/included as said in the JSON,
and peak GPU memory (torch.cuda.max_memory_allocated, reset before each timed call).

    python scripts/bench_identity_vace.py --out "$OUT"           # on one H200, < 150 s
    python scripts/bench_identity_vace.py --tiny --out /tmp/v    # tiny shapes on CPU, seconds
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

VACE_1_3B = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16,
                 out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                 qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024,
                 vace_layers=list(range(0, 30, 2)), vace_in_channels=96)
TINY = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
            text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", rope_max_seq_len=32, vace_layers=[0, 1], vace_in_channels=96)


def build(tiny: bool, device: str, dtype: Any) -> dict[str, Any]:
    import torch
    from diffusers import (AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel,
                           WanVACEPipeline, WanVACETransformer3DModel)

    cfg = TINY if tiny else VACE_1_3B
    plain = {k: v for k, v in cfg.items() if not k.startswith("vace_")}
    torch.manual_seed(0)
    with torch.device(device):
        vace = WanVACETransformer3DModel(**cfg).to(dtype).eval()
        t2v = WanTransformer3DModel(**plain).to(dtype).eval()
        vae = (AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                                temperal_downsample=[False, True, True]) if tiny else AutoencoderKLWan()).eval()

    for model in (vace, t2v):  # as from_pretrained(dtype=bf16) leaves them: these stay fp32
        for name, module in model.named_modules():
            if set(name.split(".")) & set(model._keep_in_fp32_modules or ()):
                module.float()

    def sched() -> Any:
        return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)

    pipes = {"t2v": WanPipeline(tokenizer=None, text_encoder=None, vae=vae, scheduler=sched(), transformer=t2v),
             "vace": WanVACEPipeline(tokenizer=None, text_encoder=None, vae=vae, scheduler=sched(), transformer=vace)}
    for p in pipes.values():
        p.set_progress_bar_config(disable=True)
    return {"pipes": pipes, "params": {"t2v": sum(p.numel() for p in t2v.parameters()),
                                       "vace": sum(p.numel() for p in vace.parameters())}}


def run(pipe: Any, kwargs: dict[str, Any], steps: int, device: str) -> dict[str, Any]:
    import torch

    cuda = device.startswith("cuda")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    pipe(**{**kwargs, "num_inference_steps": 1, "output_type": "latent"})  # warm-up
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    marks: list[float] = []

    def on_step(_p: Any, _i: int, _t: Any, _kw: dict[str, Any]) -> dict[str, Any]:
        sync()
        marks.append(time.perf_counter())
        return {}

    sync()
    t0 = time.perf_counter()
    out = pipe(**kwargs, num_inference_steps=steps, callback_on_step_end=on_step, output_type="np")
    sync()
    total = time.perf_counter() - t0
    steps_s = [b - a for a, b in zip([t0, *marks[:-1]], marks)]
    frames = out.frames[0]
    return {"seconds": round(total, 3), "denoise_seconds": round(marks[-1] - t0, 3),
            "decode_seconds": round(total - (marks[-1] - t0), 3),
            "per_step_seconds": [round(s, 3) for s in steps_s],
            "mean_step_seconds": round(sum(steps_s[1:] or steps_s) / len(steps_s[1:] or steps_s), 3),
            "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
            "frames": list(frames.shape)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", "bench-identity-vace"))
    ap.add_argument("--tiny", action="store_true", help="tiny shapes on the CPU (checks the script)")
    ap.add_argument("--steps", type=int, default=None, help="denoising steps (default 4; tiny 2)")
    ap.add_argument("--guidance", type=float, default=5.0)
    args = ap.parse_args()

    import numpy as np
    import torch
    from PIL import Image

    tiny = args.tiny
    device = "cpu" if tiny or not torch.cuda.is_available() else "cuda"
    dtype = torch.float32 if tiny else torch.bfloat16
    width, height, frames = (64, 64, 9) if tiny else (832, 480, 81)
    steps = args.steps or (2 if tiny else 4)
    t_build = time.perf_counter()
    built = build(tiny, device, dtype)
    build_s = time.perf_counter() - t_build
    g = torch.Generator().manual_seed(1)
    text_len, text_dim = (32, 32) if tiny else (512, 4096)
    emb = (torch.randn(1, text_len, text_dim, generator=g) * 0.1).to(device, dtype)
    neg = (torch.randn(1, text_len, text_dim, generator=g) * 0.1).to(device, dtype)
    rng = np.random.default_rng(2)
    refs = [Image.fromarray(rng.integers(0, 255, (height, height * 3 // 4, 3), dtype=np.uint8)) for _ in range(2)]
    first, last = (Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)) for _ in range(2))
    grey = Image.fromarray(np.full((height, width, 3), 127, np.uint8))
    black, white = (Image.fromarray(np.full((height, width, 3), v, np.uint8)) for v in (0, 255))
    common = dict(prompt_embeds=emb, negative_prompt_embeds=neg, height=height, width=width, num_frames=frames,
                  guidance_scale=args.guidance)

    def gen() -> Any:
        return torch.Generator(device=device).manual_seed(0)

    pipes = built["pipes"]
    results = {
        "t2v": run(pipes["t2v"], {**common, "generator": gen()}, steps, device),
        "vace-refs": run(pipes["vace"], {**common, "generator": gen(), "reference_images": refs}, steps, device),
        "vace-infill": run(pipes["vace"], {**common, "generator": gen(), "reference_images": refs,
                                           "video": [first] + [grey] * (frames - 2) + [last],
                                           "mask": [black] + [white] * (frames - 2) + [black]}, steps, device),
    }
    base = results["t2v"]
    for name, r in results.items():
        r["x_t2v_seconds"] = round(r["seconds"] / base["seconds"], 3)
        r["x_t2v_step"] = round(r["mean_step_seconds"] / base["mean_step_seconds"], 3)
    report = {
        "what": "Wan VACE 1.3B reference-to-video vs Wan T2V 1.3B, random weights from the real configs",
        "tiny": tiny, "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__, "diffusers": __import__("diffusers").__version__,
        "shape": {"frames": frames, "width": width, "height": height, "reference_images": 2},
        "steps": steps, "guidance": args.guidance, "dtype": str(dtype).removeprefix("torch."), "vae_dtype": "float32",
        "params": built["params"], "build_seconds": round(build_s, 2),
        "notes": "seconds exclude text encoding (random prompt embeddings); include VAE encode of the "
                 "conditioning (VACE) and VAE decode; mean_step_seconds leaves out the first step",
        "results": results,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_identity_vace.json").write_text(json.dumps(report, indent=2))
    rows = ["| run | seconds | s/step | × t2v step | decode s | peak GiB |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        rows.append(f"| {name} | {r['seconds']:.2f} | {r['mean_step_seconds']:.3f} | {r['x_t2v_step']:.2f} | "
                    f"{r['decode_seconds']:.2f} | {r['peak_gib'] if r['peak_gib'] is not None else '–'} |")
    md = (f"# Wan VACE reference-to-video vs T2V ({report['device']})\n\n"
          f"{frames} frames at {width}x{height}, {steps} steps, CFG {args.guidance}, {report['dtype']} "
          f"transformers, fp32 VAE, 2 reference images; random weights from the real configs "
          f"(VACE {built['params']['vace'] / 1e9:.2f}B, T2V {built['params']['t2v'] / 1e9:.2f}B parameters). "
          f"{report['notes']}.\n\n" + "\n".join(rows) + "\n")
    (out / "bench_identity_vace.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
