"""Benchmark: what verifying the cache costs (issue 17 item 2).

Every cache hit checks the artifact's file sizes and sha256 against the record written when it
was made (multishot/graph/verify.py). This renders the 60-second benchmark film of
`bench_animatic.py` once (cold), then measures, in the same run:

- a fully cached re-render (every artifact a verified hit), median of `--repeats`;
- the hashing alone: sha256 over every cached artifact, in bytes per second;
- decoding the cached clips (what assembling reads), in bytes of H.264 per second, to compare.

    python scripts/bench_verify.py [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_animatic import bench_shotlist  # noqa: E402
from multishot.graph import verify  # noqa: E402
from multishot.paradigms.base import RenderOptions  # noqa: E402
from multishot.paradigms.runner import render_file  # noqa: E402
from multishot.post.ffmpeg import read_frames  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        shotlist = Path(tmp) / "bench.yaml"
        shotlist.write_text(yaml.safe_dump(bench_shotlist(), sort_keys=False))
        options = RenderOptions(out_root=Path(tmp) / "renders", review=False)
        started = time.perf_counter()
        cold = render_file(shotlist, options)
        cold_s = time.perf_counter() - started
        cached = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            again = render_file(shotlist, options)
            cached.append(time.perf_counter() - started)
            assert again.misses == 0
        cache = cold.out_dir / ".cache"
        artifacts = [p for stage in cache.iterdir() if stage.is_dir() for p in stage.iterdir()
                     if not p.name.startswith(".") and not p.name.endswith(verify.RECORD_SUFFIX)]
        started = time.perf_counter()
        total = sum(verify.measure(p).bytes for p in artifacts)
        hash_s = time.perf_counter() - started
        clips = sorted(cache.glob("video/*/clip.mp4"))
        clip_bytes = sum(c.stat().st_size for c in clips)
        started = time.perf_counter()
        frames = sum(1 for c in clips for _ in read_frames(c))
        decode_s = time.perf_counter() - started
    result = {
        "cold_render_s": round(cold_s, 3), "cached_rerender_s": round(statistics.median(cached), 3),
        "artifacts": len(artifacts), "artifact_mb": round(total / 1e6, 2),
        "sha256_s": round(hash_s, 4), "sha256_mb_per_s": round(total / 1e6 / hash_s, 1),
        "decode_clips_s": round(decode_s, 3), "decode_frames": frames,
        "decode_mb_per_s": round(clip_bytes / 1e6 / decode_s, 1),
        "hash_share_of_cold_render": round(hash_s / cold_s, 4),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")


if __name__ == "__main__":
    main()
