"""End to end on a GPU: `multishot render` with real-size Wan 2.1 1.3B pipelines.

Builds the Wan 2.1 T2V 1.3B architecture (true transformer and VAE configs, random weights, a
one-layer text encoder of the real width — see bench_gpu.py), writes it with save_pretrained,
points a profile at the folder, and renders one shot list (N shots of 81 frames at 832x480)
through the real CLI code path with: stitching (shots one by one), holistic (all shots in one
joint generation with sparse inter-shot attention) and holistic --stream (one shot at a time,
each conditioned on the earlier shots' summary frames). Prints seconds, peak GPU memory and the
film's frame count for each; JSON to --out.

    python scripts/gpu_e2e.py --out DIR [--shots 4] [--steps 10]
    python scripts/gpu_e2e.py --smoke          # tiny shapes on CPU, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import yaml  # noqa: E402

import bench_gpu  # noqa: E402


def write_profile(folder: Path, model: Path, *, width: int, height: int, frames: int, steps: int) -> None:
    base = dict(pipeline="WanPipeline", path=str(model), dtype="bfloat16" if torch.cuda.is_available() else "float32",
                component_dtypes={"vae": "float32"}, width=width, height=height, frames=frames, fps=16,
                steps=steps, guidance=5.0, memory=["none", "model_cpu_offload"])
    profile = {"name": "e2e-wan", "backend": "diffusers", "licence": "random weights (benchmark)",
               "roles": {"text_to_video": base, "joint_shots": base, "text_to_image": {**base, "frames": 1}}}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "e2e-wan.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))


def shot_list(n: int, frames: int, width: int, height: int) -> dict:
    actions = ["the keeper climbs the spiral stairs", "the lamp turns, light sweeping the rain",
               "a boy knocks at the door", "the keeper reads the letter", "the beam crosses the sea",
               "the boy waits by the lens"]
    shots = [{"id": f"s{i + 1}", "size": ["wide", "medium", "close", "full"][i % 4], "duration": frames / 16,
              "characters": [["mara"], [], ["tomas"], ["mara", "tomas"]][i % 4], "action": actions[i % len(actions)]}
             for i in range(n)]
    shots[1]["transition"] = {"type": "dissolve", "duration": 0.5}
    return {"multishot": 1, "title": "GPU End To End", "style": "35mm film, teal and amber",
            "format": {"resolution": f"{width}x{height}", "fps": 16, "seed": 5},
            "characters": {"mara": {"description": "a woman in a yellow raincoat"},
                           "tomas": {"description": "a boy in a red knit cap"}},
            "locations": {"lamp": {"description": "the lamp room of a lighthouse"}},
            "scenes": [{"id": "night", "location": "lamp", "time": "night", "shots": shots}]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "bench_out")))
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cuda = torch.cuda.is_available() and not args.smoke
    work = Path(tempfile.mkdtemp(prefix="multishot-e2e-"))
    if args.smoke:
        config, text, vae, width, height, frames = (bench_gpu.SMOKE_SMALL, bench_gpu.TEXT_SMOKE, bench_gpu.SMOKE_VAE,
                                                    32, 32, 9)
    else:
        config, text, vae, width, height, frames = bench_gpu.WAN_1_3B, bench_gpu.TEXT_FULL, None, 832, 480, 81

    started = time.perf_counter()
    bench_gpu.write_pipeline(work / "wan", config, text, vae, seed=0)
    build_s = time.perf_counter() - started
    write_profile(work / "profiles", work / "wan", width=width, height=height, frames=frames, steps=args.steps)
    os.environ["MULTISHOT_PROFILE_PATH"] = str(work / "profiles")
    film = work / "film.yaml"
    film.write_text(yaml.safe_dump(shot_list(args.shots, frames, width, height), sort_keys=False))

    from multishot.paradigms.base import RenderOptions
    from multishot.paradigms.runner import render_file
    from multishot.post.ffmpeg import probe

    results = {"device": torch.cuda.get_device_name() if cuda else "cpu", "shots": args.shots, "frames": frames,
               "size": f"{width}x{height}", "steps": args.steps, "build_s": round(build_s, 1), "runs": []}
    for label, paradigm, stream in (("stitching", "stitching", False), ("holistic", "holistic", False),
                                    ("holistic --stream", "holistic", True)):
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        result = render_file(film, RenderOptions(out_root=work / "renders" / label.replace(" ", ""), paradigm=paradigm,
                                                 profile="e2e-wan", stream=stream, review=False))
        seconds = time.perf_counter() - started
        info = probe(result.film) if result.film else None
        run = {"paradigm": label, "status": result.status, "seconds": round(seconds, 2),
               "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
               "film_frames": info.frames if info else None, "expected_frames": args.shots * frames - 8}
        results["runs"].append(run)
        print(json.dumps(run), flush=True)
        (args.out / "gpu_e2e.json").write_text(json.dumps(results, indent=2))
    base = results["runs"][0]["seconds"]
    for run in results["runs"]:
        print(f"{run['paradigm']:>18}: {run['seconds']:8.1f} s  ({run['seconds'] / base:.2f}x stitching), "
              f"peak {run['peak_gib']} GiB, film {run['film_frames']} frames ({run['status']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
