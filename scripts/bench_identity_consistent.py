"""GPU benchmark (issue 15 item 5): one scene's 6 keyframes, consistent vs independent.

Wan 2.1 T2V 1.3B at its real architecture size (transformer and VAE built from the published
configs with random weights: no download, nothing leaves the machine), 832x480 stills (one
frame each), bf16 transformer, fp32 VAE. Text embeddings are random tensors of umT5's shape
(512 x 4096), so the 5B-parameter text encoder is not built: it costs the same in every mode.

Modes, each timed after one warm-up call, with peak memory (torch.cuda.max_memory_allocated):

* `independent`: 6 separate one-frame pipeline calls (today's keyframe path);
* `batched`: the 6 stills in one stock batch (no cross reading; the floor for a batch);
* `consistent`: the 6 stills together, each self-attention reading a sampled half of the
  others' tokens (consistent_attention.py, StoryDiffusion arXiv 2405.01434);
* `consistent+anchors`: the same plus 2 character bank images as re-noised identity anchors.

    python scripts/bench_identity_consistent.py                 # GPU, writes under $OUT
    python scripts/bench_identity_consistent.py --tiny --out /tmp/b   # CPU proof at tiny size

Writes bench_identity_consistent.json and .md under --out (default $OUT, else ./bench-out).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from multishot.backends.diffusers.consistent_attention import (  # noqa: E402
    ConsistentPlan, generate_together, scene_reads,
)

#: Wan-AI/Wan2.1-T2V-1.3B-Diffusers transformer/config.json (the fields that shape the model).
WAN_13B = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
               text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
               qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)


def build(tiny: bool, device: str) -> tuple[Any, int, torch.dtype]:
    """(pipeline without a text encoder, text width, transformer dtype)."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel

    torch.manual_seed(0)
    if tiny:
        from multishot.backends.diffusers import tiny as tiny_models

        transformer, vae = tiny_models._transformer(0), tiny_models._vae()
        text_dim, dtype = tiny_models._TEXT_DIM, torch.float32
    else:
        with torch.device(device):
            transformer = WanTransformer3DModel(**WAN_13B).to(torch.bfloat16).eval()
            vae = AutoencoderKLWan().eval()  # the default config is Wan 2.1's VAE
        text_dim, dtype = 4096, torch.bfloat16
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    pipe = WanPipeline(tokenizer=None, text_encoder=None, vae=vae, scheduler=scheduler, transformer=transformer)
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe, text_dim, dtype


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="CPU, tiny random Wan (proves the script runs)")
    ap.add_argument("--steps", type=int, default=None, help="denoising steps (default 10 on GPU, 3 tiny)")
    ap.add_argument("--stills", type=int, default=6)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "bench-out")))
    args = ap.parse_args()
    device = "cpu" if args.tiny else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: run with --tiny on a CPU", file=sys.stderr)
        return 2
    width, height = (64, 64) if args.tiny else (832, 480)
    steps = args.steps or (3 if args.tiny else 10)
    n = args.stills
    started = time.perf_counter()
    pipe, text_dim, dtype = build(args.tiny, device)
    build_s = time.perf_counter() - started
    gen = torch.Generator(device="cpu").manual_seed(0)
    tokens = 512 if not args.tiny else 32
    embeds = torch.randn((n + 2, tokens, text_dim), generator=gen).to(device, dtype)
    negative = torch.randn((1, tokens, text_dim), generator=gen).to(device, dtype)
    seeds = list(range(100, 100 + n))

    def generator(seed: int) -> torch.Generator:
        return torch.Generator(device=device).manual_seed(seed)

    def stock(rows: slice, seed_list: list[int], steps_: int) -> Any:
        k = len(seed_list)
        return pipe(prompt_embeds=embeds[rows], negative_prompt_embeds=negative.expand(k, -1, -1), height=height,
                    width=width, num_frames=1, num_inference_steps=steps_, guidance_scale=5.0,
                    generator=[generator(s) for s in seed_list], output_type="np").frames

    casts = [frozenset({"a"}) if i % 2 == 0 else frozenset({"a", "b"}) for i in range(n)]

    def consistent(steps_: int, anchors: int) -> Any:
        names = ["a", "b"][:anchors]
        plan = ConsistentPlan(reads=scene_reads(casts, names), sample_ratio=0.5, seed=7, n_anchors=anchors)
        z = pipe.vae.config.z_dim
        bank = [torch.randn((1, z, 1, height // 8, width // 8), generator=gen).to(device) for _ in range(anchors)]
        rows = torch.cat([embeds[n:n + anchors], embeds[:n]])
        extra = {"prompt_embeds": rows, "negative_prompt_embeds": negative.expand(n + anchors, -1, -1)}
        return generate_together(pipe, [""] * n, [""] * n, seeds, plan=plan, anchors=bank,
                                 anchor_prompts=[""] * anchors, height=height, width=width, steps=steps_,
                                 guidance=5.0, generator=generator, extra=extra)

    modes = {
        "independent": lambda s: [stock(slice(i, i + 1), [seeds[i]], s) for i in range(n)],
        "batched": lambda s: stock(slice(0, n), seeds, s),
        "consistent": lambda s: consistent(s, 0),
        "consistent+anchors": lambda s: consistent(s, 2),
    }
    results: dict[str, Any] = {}
    for name, fn in modes.items():
        with torch.no_grad():
            fn(1)  # warm-up: kernels chosen, allocator primed
            if device == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            fn(steps)
            if device == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - t0
        peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
        results[name] = {"seconds": round(seconds, 3), "per_step_s": round(seconds / steps, 4),
                         "per_still_s": round(seconds / n, 3), "peak_gib": None if peak is None else round(peak, 2)}
        print(name, results[name], flush=True)
    report = {"model": "tiny random Wan" if args.tiny else "Wan 2.1 T2V 1.3B architecture, random weights",
              "device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "torch": torch.__version__,
              "size": [width, height], "stills": n, "steps": steps, "guidance": 5.0, "sample_ratio": 0.5,
              "dtype": str(dtype).replace("torch.", ""), "build_s": round(build_s, 2),
              "total_s": round(time.perf_counter() - started, 2), "modes": results}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_identity_consistent.json").write_text(json.dumps(report, indent=2))
    lines = [f"# Consistent keyframes: {n} stills, {report['model']}, {width}x{height}, {steps} steps, "
             f"{report['dtype']}, {report['device']}", "",
             "| mode | seconds | per step (s) | per still (s) | peak GiB |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['seconds']} | {r['per_step_s']} | {r['per_still_s']} | {r['peak_gib'] or '–'} |")
    (args.out / "bench_identity_consistent.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}/bench_identity_consistent.json and .md ({report['total_s']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
