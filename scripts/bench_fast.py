#!/usr/bin/env python
"""GPU benchmark of the distilled profiles and `render --fast` (issue 13), one shot side by side.

Wan 2.1 1.3B architecture with random weights (true transformer config; the real Wan VAE
architecture; a UMT5-XXL-sized text encoder unless --small-text), bf16, one 81-frame shot at
832x480, all in one process, one model on disk loaded through each path. Cases (--cases):

  baseline            plain diffusers `WanPipeline`, 50 UniPC steps, CFG 5, fp32 VAE (what a
                      script does), output_type "np"
  wan-2.1-14b-fast    multishot's backend with the text_to_video settings *read from the shipped
  wan-2.1-1.3b-fast   profile* (steps, guidance, scheduler, shift, component dtypes, `speed:`,
                      the LoRA's format / scale / fuse), on the local random model, with a random
                      LoRA in that profile's published layout and rank (lightx2v: lora_down /
                      lora_up, rank 64; CausVid extraction: + diff_b biases, norm diffs, the
                      embeddings and head, rank 32)
  vae                 where a distilled shot's largest share goes: the same random latents
                      decoded in fp32, bf16, bf16 with cudnn.benchmark, bf16 channels_last_3d;
                      seconds and 8-bit PSNR / max level difference against fp32
  default, fast       multishot default and `--fast` (compile + TaylorSeer lite) on 50 steps
                      (measured in docs/benchmarks/bench_fast_h200.md; not in the default list)

For each shot: seconds end to end through the pipeline call (compiled cases: a second, warm
call; the first includes compilation), and inside it the seconds of text encoding, transformer
forwards, VAE decode, diffusers' video postprocessing and multishot's frames-to-host step
(uint8 made on the device, then copied; backend._frames_of) (timed by
wrapping those callables, device-synced), peak GPU memory. Ratios are against the baseline of
the same run. Random weights make quality unmeasurable: which settings are lossless is stated
(and for the VAE dtype measured numerically on random weights), not shown on real frames.
Results are written after every case (bench_fast.json, bench_fast.md under --out), so a run
stopped early keeps what it measured.

    python scripts/bench_fast.py --out $OUT     # on a GPU, < 200 s on an H200
    python scripts/bench_fast.py --smoke        # tiny shapes on CPU (no compile), seconds
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from bench_gpu import (  # noqa: E402
    NEGATIVE, PROMPT, SMOKE_SMALL, SMOKE_VAE, TEXT_FULL, TEXT_SMOKE, WAN_1_3B, shot_request, write_pipeline,
)

UMT5_XXL = dict(d_model=4096, d_kv=64, num_heads=64, d_ff=10240, num_layers=24)
FAST = {"compile": True, "cache": {"kind": "taylorseer", "interval": 4, "warmup_steps": 5, "lite": True}}
PROFILES = ("wan-2.1-14b-fast", "wan-2.1-1.3b-fast")
#: The published layout of each shipped profile's LoRA, for the random stand-in (see lora_file).
LORA_LAYOUT = {"wan-2.1-14b-fast": {"rank": 64, "extracted": False},
               "wan-2.1-1.3b-fast": {"rank": 32, "extracted": True}}
WAN_PROJ = {"q": "to_q", "k": "to_k", "v": "to_v", "o": "to_out.0"}
TOP_LEVEL = {"head.head": "proj_out", "time_projection.1": "condition_embedder.time_proj",
             "text_embedding.0": "condition_embedder.text_embedder.linear_1",
             "text_embedding.2": "condition_embedder.text_embedder.linear_2",
             "time_embedding.0": "condition_embedder.time_embedder.linear_1",
             "time_embedding.2": "condition_embedder.time_embedder.linear_2"}


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


def lora_file(folder: Path, model: Path, rank: int, seed: int, *, extracted: bool) -> Path:
    """A random LoRA for the model's transformer in original-Wan keys with ``lora_down`` /
    ``lora_up`` names, on every attention and FFN linear of every block (lightx2v's layout).
    `extracted`: ComfyUI's extraction layout as Kijai's CausVid LoRAs use it: also the
    embeddings, time projection and head, a ``diff_b`` bias difference on each, and ``diff``
    keys (zero) on the norm scales. Shapes are read from the model on the meta device."""
    from accelerate import init_empty_weights
    from diffusers import WanTransformer3DModel
    from safetensors.torch import save_file

    with init_empty_weights():
        t = WanTransformer3DModel.from_config(WanTransformer3DModel.load_config(model, subfolder="transformer"))
    names = dict(TOP_LEVEL) if extracted else {}
    for i in range(len(t.blocks)):
        for attn, ours in (("self_attn", "attn1"), ("cross_attn", "attn2")):
            names.update({f"blocks.{i}.{attn}.{o}": f"blocks.{i}.{ours}.{p}" for o, p in WAN_PROJ.items()})
        names[f"blocks.{i}.ffn.0"] = f"blocks.{i}.ffn.net.0.proj"
        names[f"blocks.{i}.ffn.2"] = f"blocks.{i}.ffn.net.2"
    gen = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for orig, ours in names.items():
        lin = t.get_submodule(ours)
        key = f"diffusion_model.{orig}"
        state[f"{key}.lora_down.weight"] = (0.01 * torch.randn(rank, lin.in_features, generator=gen)).to(torch.bfloat16)
        state[f"{key}.lora_up.weight"] = (0.01 * torch.randn(lin.out_features, rank, generator=gen)).to(torch.bfloat16)
        if extracted:
            state[f"{key}.diff_b"] = (0.01 * torch.randn(lin.out_features, generator=gen)).to(torch.bfloat16)
    if extracted:
        dim = t.config.num_attention_heads * t.config.attention_head_dim
        for i in range(len(t.blocks)):
            for norm in ("self_attn.norm_q", "self_attn.norm_k", "cross_attn.norm_q", "cross_attn.norm_k", "norm3"):
                state[f"diffusion_model.blocks.{i}.{norm}.diff"] = torch.zeros(dim, dtype=torch.bfloat16)
    path = folder / f"random_lora_rank{rank}{'_extracted' if extracted else ''}.safetensors"
    save_file(state, str(path))
    return path


def write_profile(folder: Path, name: str, role: dict[str, Any]) -> Path:
    import yaml

    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "licence": "random weights (benchmark)",
                                    "roles": {"text_to_video": role}}, sort_keys=False))
    return path


def base_role(model: Path, W: int, H: int, F: int, **extra: Any) -> dict[str, Any]:
    role = dict(pipeline="WanPipeline", path=str(model), dtype="bfloat16", component_dtypes={"vae": "float32"},
                width=W, height=H, frames=F, fps=16, steps=50, guidance=5.0, scheduler="UniPCMultistepScheduler",
                flow_shift=3.0, memory=["none"])
    role.update(extra)
    return role


def role_like_shipped(shipped: str, model: Path, lora: Path, W: int, H: int, F: int, smoke: bool) -> dict[str, Any]:
    """The shipped profile's text_to_video settings around the local model and random LoRA."""
    from multishot.backends.base import Capability
    from multishot.backends.diffusers.profile import load_profile

    r = load_profile(shipped).roles[Capability.TEXT_TO_VIDEO]
    speed = r.speed.model_dump(mode="json", exclude_none=True)
    for key in ("steps", "guidance", "guidance_2"):
        speed.pop(key, None)  # already folded into the role's own numbers on load
    if smoke:
        speed.pop("compile", None)  # CPU smoke runs check the path, not inductor
    loras = [{"path": str(lora), "format": lo.format, "scale": lo.scale, "fuse": lo.fuse} for lo in r.loras]
    return base_role(model, W, H, F, component_dtypes=dict(r.component_dtypes), steps=r.steps, guidance=r.guidance,
                     scheduler=r.scheduler, flow_shift=r.flow_shift, speed=speed, loras=loras)


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
    parts = {"text_s": "text", "denoise_s": "transformer", "vae_decode_s": "vae", "postprocess_s": "postprocess",
             "uint8_s": "uint8"}
    out: dict[str, Any] = {"total_s": total, **{k: timers.seconds.get(v, 0.0) for k, v in parts.items()}}
    out["other_s"] = total - sum(out[k] for k in parts)
    out["vae_share"] = out["vae_decode_s"] / total
    out["text_share"] = out["text_s"] / total
    if device == "cuda":
        out["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return out


def vae_study(model: Path, device: str, latent_shape: tuple[int, ...]) -> dict[str, Any]:
    """One set of random latents decoded four ways; seconds and the 8-bit difference to fp32."""
    from diffusers import AutoencoderKLWan

    gen = torch.Generator(device="cpu").manual_seed(7)
    latents = torch.randn(latent_shape, generator=gen).to(device)
    out: dict[str, Any] = {}
    ref: torch.Tensor | None = None

    def decode(vae: Any, dtype: torch.dtype, warm: bool, channels_last: bool = False) -> tuple[float, torch.Tensor]:
        x = latents.to(dtype)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        with torch.no_grad():
            if warm:
                vae.decode(x, return_dict=False)
            _sync(device)
            t = time.perf_counter()
            video = vae.decode(x, return_dict=False)[0]
            _sync(device)
        levels = ((video.float() / 2 + 0.5).clamp(0, 1) * 255).round()
        return time.perf_counter() - t, levels

    for name, dtype, bench, cl in (("fp32", torch.float32, False, False), ("bf16", torch.bfloat16, False, False),
                                   ("bf16+cudnn.benchmark", torch.bfloat16, True, False),
                                   ("bf16+channels_last_3d", torch.bfloat16, False, True)):
        vae = AutoencoderKLWan.from_pretrained(model, subfolder="vae", dtype=dtype).to(device)
        if cl:  # the 3-D convolutions' weights in NDHWC (other parameters have no such layout)
            for m in vae.modules():
                if isinstance(m, torch.nn.Conv3d):
                    m.weight.data = m.weight.data.contiguous(memory_format=torch.channels_last_3d)
        old = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = bench
        try:
            # Plans of fp32 and plain bf16 are warm from the shot cases; benchmark / channels_last
            # pay their autotuning on a first, untimed call.
            seconds, levels = decode(vae, dtype, warm=bench or cl or device != "cuda")
        finally:
            torch.backends.cudnn.benchmark = old
        row: dict[str, Any] = {"decode_s": seconds}
        if ref is None:
            ref = levels
        else:
            mse = float(((levels - ref) ** 2).mean())
            row.update(psnr_db=(math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)),
                       max_level_diff=float((levels - ref).abs().max()),
                       share_of_levels_changed=float((levels != ref).float().mean()))
        out[name] = row
        print(f"  [vae {name:22s}] {seconds:.2f} s " + json.dumps({k: v for k, v in row.items() if k != 'decode_s'}),
              flush=True)
        del vae, levels
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()
    return out


def markdown(meta: dict[str, Any], results: dict[str, Any], summary: dict[str, Any]) -> str:
    lines = [f"# bench_fast: {meta['device']}, torch {meta['torch']}, diffusers {meta['diffusers']}", "",
             f"Wan 2.1 1.3B architecture, random weights, {meta['shot']['frames']} frames "
             f"{meta['shot']['width']}x{meta['shot']['height']}; build {meta['build_s']:.1f} s.", "",
             "| case | settings | s / shot | x baseline | text | denoise | VAE decode | postprocess | to host (uint8) | other "
             "| compile | peak GiB |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    ratios = summary.get("speedup_vs_baseline", {})
    for name, r in results.items():
        if name == "vae":
            continue
        ratio = "1.00" if name == "baseline" else f"{ratios.get(name, float('nan')):.2f}"
        lines.append(f"| {name} | {r.get('speed_desc', '')} | {r['total_s']:.2f} | {ratio} | {r['text_s']:.2f} | "
                     f"{r['denoise_s']:.2f} | {r['vae_decode_s']:.2f} | {r['postprocess_s']:.2f} | {r['uint8_s']:.2f} | "
                     f"{r['other_s']:.2f} | {r.get('compile_s', 0.0):.1f} | {r.get('peak_gib', float('nan')):.1f} |")
    if "vae" in results:
        lines += ["", "| VAE decode of the same latents | s | PSNR vs fp32 (8-bit) | max level diff |",
                  "| --- | ---: | ---: | ---: |"]
        for name, r in results["vae"].items():
            lines.append(f"| {name} | {r['decode_s']:.2f} | {r.get('psnr_db', float('nan')):.1f} | "
                         f"{r.get('max_level_diff', 0):.0f} |")
    lines += ["", "Targets: " + json.dumps(summary.get("targets", {})), ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "bench_out")))
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_fast_work"),
                    help="where the random-weight models are written (GBs; not under --out)")
    ap.add_argument("--smoke", action="store_true", help="tiny shapes on CPU (checks the script runs)")
    ap.add_argument("--small-text", action="store_true", help="a one-layer text encoder instead of UMT5-XXL size")
    ap.add_argument("--steps", type=int, default=50, help="baseline steps")
    ap.add_argument("--cases", default="baseline," + ",".join(PROFILES) + ",vae")
    args = ap.parse_args()
    started = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() and not args.smoke else "cpu"
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    os.environ["MULTISHOT_PROFILE_PATH"] = str(work)

    from diffusers import AutoencoderKLWan, WanPipeline

    import multishot.backends.diffusers.backend as backend_module
    from multishot.backends.diffusers.backend import DiffusersBackend
    from multishot.backends.diffusers.loading import PipelineCache
    from multishot.backends.diffusers.profile import load_profile

    if args.smoke:
        cfg, text_cfg, vae_cfg, W, H, F = SMOKE_SMALL, TEXT_SMOKE, SMOKE_VAE, 64, 64, 9
        steps = min(args.steps, 6)
    else:
        cfg, text_cfg, vae_cfg, W, H, F = (WAN_1_3B, TEXT_FULL if args.small_text else UMT5_XXL, None,
                                           832, 480, 81)
        steps = args.steps
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    t = time.perf_counter()
    model = write_pipeline(work / "wan13", cfg, text_cfg, vae_cfg, seed=0, fill_device=device)
    loras = {name: lora_file(work, model, **LORA_LAYOUT[name], seed=1) for name in PROFILES if name in cases}
    build_s = time.perf_counter() - t
    print(f"built in {build_s:.1f} s", flush=True)
    timers = Timers(device)
    timers.wrap(backend_module, "_frames_of", "uint8")  # uint8 on the device + copy to host
    results: dict[str, Any] = {}
    meta = {"device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
            "torch": torch.__version__, "diffusers": __import__("diffusers").__version__, "smoke": args.smoke,
            "shot": {"width": W, "height": H, "frames": F}, "text_encoder": text_cfg, "build_s": build_s,
            "lossless": ["attention backend", "regional compile (float tolerance)", "LoRA fused vs attached"],
            "lossy": ["step caches (TaylorSeer, FirstBlockCache, MagCache)", "fewer steps / no CFG (distillation)",
                      "bf16 VAE decode (rounding; see the vae rows)"]}

    def instrument(pipe: Any) -> Any:
        timers.wrap(pipe, "encode_prompt", "text")
        timers.wrap(pipe.transformer, "forward", "transformer")
        timers.wrap(pipe.vae, "decode", "vae")
        timers.wrap(pipe.video_processor, "postprocess_video", "postprocess")
        return pipe

    def summarize() -> dict[str, Any]:
        base = results.get("baseline", {}).get("total_s")
        ratios = {k: base / v["total_s"] for k, v in results.items()
                  if base and k not in ("baseline", "vae") and "total_s" in v}
        summary: dict[str, Any] = {"speedup_vs_baseline": ratios, "targets": {}}
        if "fast" in ratios:
            summary["targets"]["fast >= 2x"] = ratios["fast"] >= 2.0
        for name in PROFILES:
            if name in ratios:
                summary["targets"][f"{name} (as the profile runs) >= 15x"] = ratios[name] >= 15.0
        summary["elapsed_s"] = time.perf_counter() - started
        return summary

    def save() -> None:
        summary = summarize()
        stem = "bench_fast_smoke" if args.smoke else "bench_fast"
        (args.out / f"{stem}.json").write_text(json.dumps({"meta": meta, "results": results, "summary": summary},
                                                         indent=1, default=str))
        (args.out / f"{stem}.md").write_text(markdown(meta, results, summary))

    def record(name: str, first: dict[str, Any], warm: dict[str, Any], **extra: Any) -> None:
        warm.update(first_call_s=first["total_s"], compile_s=first["total_s"] - warm["total_s"], **extra)
        results[name] = warm
        print(f"  [{name:18s}] {warm['total_s']:.2f} s (text {warm['text_s']:.2f}, denoise {warm['denoise_s']:.2f}, "
              f"vae {warm['vae_decode_s']:.2f}, postprocess {warm['postprocess_s']:.2f}, uint8 {warm['uint8_s']:.2f}, "
              f"other {warm['other_s']:.2f}" + (f", peak {warm['peak_gib']:.1f} GiB" if "peak_gib" in warm else "")
              + f"; first call {first['total_s']:.2f} s; elapsed {time.perf_counter() - started:.0f} s)", flush=True)
        save()

    if "baseline" in cases:
        vae = AutoencoderKLWan.from_pretrained(model, subfolder="vae", dtype=torch.float32)
        plain = instrument(WanPipeline.from_pretrained(model, vae=vae, dtype=torch.bfloat16).to(device))
        plain.set_progress_bar_config(disable=True)

        def run_plain(n: int) -> Any:
            gen = torch.Generator(device=device).manual_seed(0)
            return plain(prompt=PROMPT, negative_prompt=NEGATIVE, height=H, width=W, num_frames=F,
                         num_inference_steps=n, guidance_scale=5.0, generator=gen, output_type="np").frames[0]

        measure(device, timers, lambda: run_plain(1))  # kernels and cuDNN plans for these shapes
        once = measure(device, timers, lambda: run_plain(steps))
        record("baseline", once, dict(once), steps=steps, guidance=5.0, speed_desc=f"{steps} UniPC steps, CFG 5, fp32 VAE")
        del plain, vae
        gc.collect()

    def backend_case(name: str, profile_name: str, *, fast: bool = False, **extra: Any) -> None:
        from multishot.backends.diffusers import memory

        cache = PipelineCache()
        backend = DiffusersBackend(load_profile(profile_name), device=device, cache=cache, fast=fast)
        cap = next(iter(backend.profile.roles))
        role = backend.profile.roles[cap]
        req = shot_request(W, H, F, seed=0)
        t = time.perf_counter()
        entry = backend.pipeline(cap)  # load (LoRA, compile wrappers) ...
        memory.place(entry, cache.entries())  # ... and onto the GPU, as the baseline is, before timing
        instrument(entry.pipe)
        _sync(device)
        load_s = time.perf_counter() - t

        first = measure(device, timers, lambda: backend.text_to_video(req))
        # Compiled code is compiled on the first call: time a second one. Others are warm already.
        warm = measure(device, timers, lambda: backend.text_to_video(req)) if role.speed.compile else dict(first)
        desc = (f"{role.steps} {role.scheduler or 'repo'} steps, shift {role.flow_shift}, guidance {role.guidance}, "
                f"VAE {role.component_dtypes.get('vae', role.dtype)}, "
                + ", ".join(f"LoRA {'fused' if lo.fuse else 'attached'} x{lo.scale}" for lo in role.loras)
                + ("; " if role.loras else "") + role.speed.describe())
        record(name, first, warm, steps=role.steps, guidance=role.guidance, speed=role.speed.describe(),
               speed_desc=desc, load_s=load_s, **extra)
        cache.clear()
        gc.collect()

    if "default" in cases or "fast" in cases:
        write_profile(work, "bench-default", base_role(model, W, H, F, steps=steps, fast=FAST))
    if "default" in cases:
        backend_case("default", "bench-default")
    if "fast" in cases:
        torch._dynamo.reset()
        backend_case("fast", "bench-default", fast=True)
    for shipped in PROFILES:
        if shipped not in cases:
            continue
        write_profile(work, f"bench-{shipped}", role_like_shipped(shipped, model, loras[shipped], W, H, F, args.smoke))
        torch._dynamo.reset()
        backend_case(shipped, f"bench-{shipped}", lora=LORA_LAYOUT[shipped])
    if "vae" in cases:
        spatial, temporal = 8, 4
        shape = (1, 16, (F - 1) // temporal + 1, H // spatial, W // spatial)
        results["vae"] = vae_study(model, device, shape)
        save()
    summary = summarize()
    save()
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
