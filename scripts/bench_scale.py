#!/usr/bin/env python
"""Benchmark: what scaling out costs and gives (issue 11).

Renders one shot list through `render_file` (the CLI's code path) with each executor and reports
seconds, the overhead per shot against the in-process render, and whether the film bytes equal
the in-process film (they must). Every render starts cold (fresh output folder, models loaded by
whoever runs the shots), so a worker's start-up and model load are part of its overhead.

CPU (default, no GPU present):
  the example shot list on the animatic, stitching: in process; local workers (1 and 2, CPU
  workers standing in for GPUs, MULTISHOT_TEST_FAKE_GPUS); a local Ray instance with 2 fake GPUs.
GPU (`--gpu`, one or more GPUs): N shots of 81 frames at 832x480 on the Wan 2.1 T2V 1.3B
  architecture with random weights (scripts/bench_gpu.py writes the pipeline), stitching:
  in process vs 1 worker (`--gpus 0`; target overhead <= 1.02x); on a machine of k >= 2 GPUs also
  k shots over k GPUs (`--gpus all`; target speed-up >= 0.9 k) -- written to run there unchanged.
  The one-GPU defaults (3 shots of 33 frames, 8 steps) finish in well under 2 minutes on an H200.
Ulysses (`--cp 2 4`, GPUs): `render --gpus 0..k-1 --cp k` of a 13-shot scene (holistic: one joint
  generation, 5 latent frames a shot at 832x480 = 101,400 tokens, Wan 1.3B architecture) vs the
  same render on one GPU (`--gpus 0`): whole-render speed-up (target >= 0.85 k) and whether the
  film bytes are equal; then the exactness check of the shot masks under Ulysses on those GPUs
  (NCCL) and the joint forward alone (scripts/ulysses_check.py --bench). A k the GPUs or the
  model's heads cannot take is recorded as skipped or refused, not a crash.
`--cpu-profiles animatic tiny`: on the CPU, in process vs 1 local worker for each profile.
Results: bench_scale_{cpu,gpu}.json and .md under --out ($OUT).

    python scripts/bench_scale.py                     # CPU, ~2 min on 2 cores
    python scripts/bench_scale.py --cpu-profiles animatic tiny --out docs/benchmarks
    python scripts/bench_scale.py --gpu --out $OUT     # one GPU: 1 worker vs in process
    python scripts/bench_scale.py --gpu --cp 2 4 --out $OUT   # + Ulysses on a 4-GPU machine
    python scripts/bench_scale.py --gpu --smoke        # tiny shapes on CPU: checks the GPU path
    python scripts/bench_scale.py --gpu --smoke --cp 2 --cp-shots 3   # ... and the --cp render path
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def timed_render(film: Path, out: Path, **options: Any) -> dict[str, Any]:
    from multishot.paradigms.base import RenderOptions
    from multishot.paradigms.runner import BackendPool, render_file

    started = time.perf_counter()
    result = render_file(film, RenderOptions(out_root=out, review=False, **options), pool=BackendPool())
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "status": result.status, "shots": result.shots,
            "film": str(result.film) if result.film else None}


def fresh_render(film: Path, out: Path, *args: str) -> dict[str, Any]:
    """`multishot render` as a user runs it: a new process that imports, plans, loads and
    renders, so the in-process and the worker runs both pay their own start-up. The manifest
    then splits the time: `video_s` per shot as the engine timed it (the first shot also loads
    the model, in whichever process makes it) and the rest (`outside_video_s`: start-up,
    planning, bridges, assembly)."""
    import subprocess

    from multishot.post.manifest_record import RenderManifest

    cmd = [sys.executable, "-c", "from multishot.cli.main import run; run()", "render", str(film),
           "--out", str(out), "--no-review", "--json", *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    (manifest_path,) = out.glob("*/manifest.json")
    manifest = RenderManifest.from_json(json.loads(manifest_path.read_text()))
    video = [a.seconds for a in manifest.artifacts if a.stage == "video"]
    return {"seconds": round(seconds, 3), "status": summary.get("status"), "shots": len(video),
            "film": str(manifest_path.parent / manifest.outputs.get("film", "film.mp4")),
            "video_s": [round(v, 3) for v in video],
            "outside_video_s": round(seconds - sum(video), 3),
            "steady_video_s": round(sum(video[1:]) / max(1, len(video) - 1), 3)}


def compare(runs: dict[str, dict[str, Any]], base: str) -> None:
    reference = Path(runs[base]["film"]).read_bytes() if runs[base]["film"] else None
    for name, run in runs.items():
        run["same_film"] = bool(run["film"]) and Path(run["film"]).read_bytes() == reference
        run["vs_in_process"] = round(run["seconds"] / runs[base]["seconds"], 3)
        run["overhead_s_per_shot"] = round((run["seconds"] - runs[base]["seconds"]) / max(1, run["shots"]), 3)


def cpu_one_worker(args: argparse.Namespace, work: Path) -> dict[str, dict[str, Any]]:
    """In process vs one local worker (a CPU worker standing in for a GPU) per profile."""
    film = ROOT / "shotlists" / "lighthouse.yaml"
    out: dict[str, dict[str, Any]] = {}
    for profile in args.cpu_profiles:
        opts = dict(profile=profile, paradigm=args.paradigm)
        runs = {"in-process": timed_render(film, work / f"{profile}-ip", **opts)}
        os.environ["MULTISHOT_TEST_FAKE_GPUS"] = "1"
        runs["1 worker"] = timed_render(film, work / f"{profile}-w1", gpus="all", **opts)
        os.environ.pop("MULTISHOT_TEST_FAKE_GPUS", None)
        compare(runs, "in-process")
        out.update({f"{profile} {name}": run for name, run in runs.items()})
    return out


def cpu(args: argparse.Namespace, work: Path) -> dict[str, dict[str, Any]]:
    if args.cpu_profiles:
        return cpu_one_worker(args, work)
    film = ROOT / "shotlists" / "lighthouse.yaml"
    runs: dict[str, dict[str, Any]] = {}
    opts = dict(profile="animatic", paradigm=args.paradigm)
    runs["in-process"] = timed_render(film, work / "ip", **opts)
    for n in (1, 2):
        os.environ["MULTISHOT_TEST_FAKE_GPUS"] = str(n)
        runs[f"local workers x{n}"] = timed_render(film, work / f"w{n}", gpus="all", **opts)
    os.environ.pop("MULTISHOT_TEST_FAKE_GPUS", None)
    try:
        import ray
    except ImportError:
        print("ray not installed: skipping the Ray run (pip install 'multishot[ray]')")
    else:
        started = time.perf_counter()
        ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        start_s = time.perf_counter() - started
        try:
            runs["ray local x2"] = {**timed_render(film, work / "ray", ray="local", **opts), "ray_start_s": round(start_s, 2)}
        finally:
            ray.shutdown()
    compare(runs, "in-process")
    return runs


def gpu(args: argparse.Namespace, work: Path) -> dict[str, dict[str, Any]]:
    import torch
    import yaml

    import bench_gpu
    import gpu_e2e

    if args.smoke:
        config, text, vae, width, height, frames = bench_gpu.SMOKE_SMALL, bench_gpu.TEXT_SMOKE, bench_gpu.SMOKE_VAE, 32, 32, 9
    else:
        config, text, vae, width, height, frames = bench_gpu.WAN_1_3B, bench_gpu.TEXT_FULL, None, 832, 480, args.frames
    bench_gpu.write_pipeline(work / "wan", config, text, vae, seed=0)
    gpu_e2e.write_profile(work / "profiles", work / "wan", width=width, height=height, frames=frames, steps=args.steps)
    os.environ["MULTISHOT_PROFILE_PATH"] = str(work / "profiles")
    count = torch.cuda.device_count()
    shots = max(args.shots, count)
    film = work / "film.yaml"
    film.write_text(yaml.safe_dump(gpu_e2e.shot_list(shots, frames, width, height), sort_keys=False))
    opts = dict(profile="e2e-wan", paradigm="stitching")
    if args.smoke and count == 0:
        os.environ["MULTISHOT_TEST_FAKE_GPUS"] = "1"
    if args.in_driver:
        runs = {"in-process": timed_render(film, work / "ip", **opts),
                "1 worker": timed_render(film, work / "w1", gpus="0", **opts)}
    else:  # what a user runs: two fresh `multishot render` processes
        flags = ("--profile", "e2e-wan", "--paradigm", "stitching")
        runs = {"in-process": fresh_render(film, work / "ip", *flags),
                "1 worker": fresh_render(film, work / "w1", *flags, "--gpus", "0")}
        base = runs["in-process"]
        for run in runs.values():
            run["steady_overhead_s_per_shot"] = round(run["steady_video_s"] - base["steady_video_s"], 3)
            run["one_time_overhead_s"] = round(run["seconds"] - base["seconds"]
                                               - run["steady_overhead_s_per_shot"] * max(0, run["shots"] - 1), 3)
    if count >= 2:
        runs[f"{count} workers"] = timed_render(film, work / f"w{count}", gpus="all", **opts)
        runs[f"{count} workers"]["speedup_vs_1_worker"] = round(runs["1 worker"]["seconds"] / runs[f"{count} workers"]["seconds"], 3)
        runs[f"{count} workers"]["target"] = f">= {0.9 * count:.2f}"
    compare(runs, "in-process")
    runs["1 worker"]["target"] = "<= 1.02x in process"
    runs["1 worker"]["target_met"] = runs["1 worker"]["vs_in_process"] <= 1.02
    if args.cp:
        runs.update(context_parallel(args, work, count, width, height))
    return runs


def context_parallel(args: argparse.Namespace, work: Path, count: int, width: int, height: int) -> dict[str, dict[str, Any]]:
    """`render --gpus ... --cp k` of one 13-shot scene (holistic: one joint generation), the
    path users run: one worker on one GPU, then one worker spanning k GPUs (Ulysses), each a fresh
    `multishot render` process (`--in-driver`: in this one), cold (workers started, models loaded,
    every rank decoding), so the speed-up is the whole render's, start-up included. Then the exactness check of the shot masks under Ulysses on these
    GPUs and, for reference, the joint forward alone (scripts/ulysses_check.py)."""
    import yaml

    import gpu_e2e
    import ulysses_check
    from multishot.errors import InvalidInput

    frames = 4 * (args.latent_frames - 1) + 1
    film = work / "joint.yaml"
    film.write_text(yaml.safe_dump(gpu_e2e.shot_list(args.cp_shots, frames, width, height), sort_keys=False))
    if not count:  # --smoke on a CPU: CPU ranks over gloo stand in for the GPUs
        os.environ["MULTISHOT_TEST_FAKE_GPUS"] = str(max(args.cp))

    def joint_render(out: Path, gpus: str, cp: int | None) -> dict[str, Any]:
        if args.in_driver:
            return timed_render(film, out, profile="e2e-wan", paradigm="holistic", gpus=gpus, cp=cp)
        flags = ["--profile", "e2e-wan", "--paradigm", "holistic", "--gpus", gpus]  # a fresh `multishot render`
        return fresh_render(film, out, *flags, *(["--cp", str(cp)] if cp else []))

    runs: dict[str, dict[str, Any]] = {"joint render 1 GPU": joint_render(work / "cp1", "0", None)}
    base = runs["joint render 1 GPU"]
    for k in args.cp:
        name = f"joint render --cp {k}"
        if count and k > count:
            runs[name] = {"skipped": f"needs {k} GPUs, this machine has {count}"}
            continue
        try:
            run = joint_render(work / f"cp{k}", ",".join(str(i) for i in range(k)), k)
        except (InvalidInput, SystemExit) as error:  # e.g. k does not divide the model's heads (exit 2)
            runs[name] = {"refused": str(error)[-800:]}
            continue
        run["same_film"] = bool(run["film"]) and Path(run["film"]).read_bytes() == Path(base["film"]).read_bytes()
        run["speedup"] = round(base["seconds"] / run["seconds"], 3)
        run["efficiency"] = round(run["speedup"] / k, 3)
        run["target"] = f">= {0.85 * k:.2f}x"
        run["target_met"] = run["speedup"] >= 0.85 * k
        runs[name] = run
    cp_out = work / "ulysses"
    cp_out.mkdir(exist_ok=True)
    device = "cuda" if count else "cpu"
    worlds = [w for w in args.cp if w <= max(count, 1) or not count]
    for world in worlds:  # the shot masks exact under Ulysses on these GPUs (NCCL), case by case
        runs[f"ulysses check x{world}"] = ulysses_check.check(world, device, cp_out)
    if count:  # the forward alone (the 1.3B shape needs GPUs; --smoke on a CPU checks exactness only)
        for world, run in ulysses_check.bench(worlds, device, cp_out, args.latent_frames, 3).items():
            runs[f"ulysses {args.cp_shots}-shot joint forward x{world}"] = run
    return runs


def markdown(runs: dict[str, dict[str, Any]], title: str) -> str:
    """The runs as a table (what the JSON holds, for a human)."""
    keys = ["seconds", "vs_in_process", "overhead_s_per_shot", "steady_video_s", "steady_overhead_s_per_shot",
            "one_time_overhead_s", "same_film", "seconds_per_forward", "speedup",
            "efficiency", "target_met", "skipped", "refused"]
    lines = [f"# {title}", "", "| run | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, run in runs.items():
        if not all(isinstance(v, (int, float, str, bool, type(None), list)) for v in run.values()):
            lines.append(f"| {name} | " + " | ".join("" for _ in keys) + f" |  <!-- {json.dumps(run)} -->")
            continue
        lines.append(f"| {name} | " + " | ".join(str(run.get(k, "")) for k in keys) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", action="store_true", help="the GPU sections (Wan 2.1 1.3B random weights)")
    parser.add_argument("--smoke", action="store_true", help="with --gpu: tiny shapes, runs on a CPU")
    parser.add_argument("--in-driver", action="store_true",
                        help="--gpu: time both renders inside this process (it has torch imported and "
                             "CUDA up already, which only the worker then pays for) instead of as fresh CLI runs")
    parser.add_argument("--shots", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--frames", type=int, default=33, help="--gpu: frames per shot (4k+1)")
    parser.add_argument("--cp", type=int, nargs="*", default=[], help="--gpu: Ulysses degrees to time, e.g. 2 4")
    parser.add_argument("--latent-frames", type=int, default=5, help="--cp: latent frames per shot (5: 17 frames)")
    parser.add_argument("--cp-shots", type=int, default=13, help="--cp: shots of the one joint generation")
    parser.add_argument("--cpu-profiles", nargs="*", default=[], help="CPU: in process vs 1 worker per profile")
    parser.add_argument("--paradigm", default="stitching")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "bench_out")))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="multishot-scale-"))
    runs = gpu(args, work) if args.gpu else cpu(args, work)
    for name, run in runs.items():
        print(f"{name:>30}: " + json.dumps({k: v for k, v in run.items() if k != "film"}), flush=True)
    name = "bench_scale_gpu" if args.gpu else ("bench_scale_cpu_1worker" if args.cpu_profiles else "bench_scale_cpu")
    (args.out / f"{name}.json").write_text(json.dumps(runs, indent=2))
    (args.out / f"{name}.md").write_text(markdown(runs, name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
