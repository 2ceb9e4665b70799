"""Benchmark: a 12-shot, 60-second, 832x480, 16 fps animatic film against the ffmpeg floor.

The floor is ffmpeg alone encoding the same number of frames of the same size with the same
encoder settings as film.mp4 (the exact frames of the rendered film, piped from memory), measured
in the same run. Target: render time / floor ≤ 2.0, for rendering the film (every stage from the
shot list to film.mp4, shots/ and keyframes/, cold cache). The review outputs a render also
writes by default (metrics.json, report.html, timeline.otio, contact sheet; `--no-review` skips
them) are timed separately and reported beside it.

    make bench            # or: python scripts/bench_animatic.py [--keep DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from multishot.paradigms.base import RenderOptions  # noqa: E402
from multishot.paradigms.runner import render_file  # noqa: E402
from multishot.post.ffmpeg import H264_ARGS, VideoWriter, probe, read_frames  # noqa: E402

MOVES = ["dolly-in", "pan-left", "truck-right", "static", "orbit", "zoom-out",
         "handheld", "crane-up", "tilt-down", "dolly-out", "pan-right", "zoom-in"]
SIZES = ["extreme-wide", "wide", "full", "medium", "medium-close", "close",
         "wide", "medium", "close", "extreme-close", "full", "wide"]
TRANSITIONS = {2: {"type": "dissolve", "duration": 0.5}, 5: {"type": "fade", "duration": 0.5},
               8: {"type": "wipe-left", "duration": 0.5}}


def bench_shotlist(dialogue: bool = False) -> dict:
    """12 shots whose lengths minus the three 0.5 s overlaps add up to exactly 60 s; with
    `dialogue`, every shot's first character says a line (subtitles and the scratch voice)."""
    shots = []
    for i in range(12):
        cast = [["mara"], ["tomas"], ["mara", "tomas"], ["ines"]][i % 4]
        shot = {"id": f"s{i + 1:02d}", "size": SIZES[i], "movement": MOVES[i],
                "duration": 5.5 if i < 3 else 5, "characters": cast,
                "action": f"beat {i + 1}: the story moves on"}
        if dialogue:
            shot["dialogue"] = {cast[0]: f"Beat {i + 1}. The story moves on, and so do we."}
        if i in TRANSITIONS:
            shot["transition"] = TRANSITIONS[i]
        shots.append(shot)
    return {
        "multishot": 1, "title": "Bench Sixty", "style": "35mm film",
        "format": {"resolution": "832x480", "fps": 16, "seed": 3},
        "characters": {"mara": {"description": "a woman in a yellow oilskin raincoat"},
                       "tomas": {"description": "a boy in a red knit cap"},
                       "ines": {"description": "a fisherwoman in a blue sweater"}},
        "locations": {"cliffs": {"description": "black basalt cliffs over a grey sea"},
                      "room": {"description": "the lamp room of a lighthouse, brass lens"},
                      "harbour": {"description": "a small harbour at dawn, fishing boats"}},
        "scenes": [{"id": "a", "location": "cliffs", "time": "dusk", "weather": "rain", "shots": shots[:4]},
                   {"id": "b", "location": "room", "time": "night", "shots": shots[4:8]},
                   {"id": "c", "location": "harbour", "time": "dawn", "shots": shots[8:]}],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="render into this folder and keep it")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--dialogue", action="store_true",
                        help="give every shot a line: measures subtitles and the scratch voice too")
    args = parser.parse_args()
    import cv2

    cv2.setNumThreads(1)  # as `multishot render` does (cli/main.py)
    work = args.keep or Path(tempfile.mkdtemp(prefix="multishot-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    shotlist = work / "bench.yaml"
    shotlist.write_text(yaml.safe_dump(bench_shotlist(args.dialogue), sort_keys=False))
    out_root = work / "renders"

    started = time.perf_counter()
    result = render_file(shotlist, RenderOptions(out_root=out_root, paradigm="stitching", force=True, review=False))
    render_s = time.perf_counter() - started
    assert result.film is not None
    from multishot.paradigms.runner import review_render

    started = time.perf_counter()
    review_render(result.out_dir)
    review_s = time.perf_counter() - started
    info = probe(result.film)

    frames = list(read_frames(result.film))
    started = time.perf_counter()
    with VideoWriter(work / "floor.mp4", info.width, info.height, info.fps, H264_ARGS) as writer:
        for frame in frames:
            writer.write(frame)
    floor_s = time.perf_counter() - started

    manifest = json.loads(result.manifest.read_text())
    by_stage: dict[str, float] = {}
    for entry in manifest["artifacts"]:
        by_stage[entry["stage"]] = by_stage.get(entry["stage"], 0.0) + entry["seconds"]
    ratio = render_s / floor_s
    report = {"dialogue": args.dialogue, "frames": info.frames, "duration_s": info.duration, "size": f"{info.width}x{info.height}",
              "render_s": round(render_s, 3), "floor_s": round(floor_s, 3), "ratio": round(ratio, 3),
              "review_s": round(review_s, 3), "ratio_with_review": round((render_s + review_s) / floor_s, 3),
              "target": 2.0, "stages_s": {k: round(v, 3) for k, v in by_stage.items()},
              "encoder": " ".join(H264_ARGS[:6])}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"film: {info.frames} frames, {info.duration:.2f}s, {info.width}x{info.height} @ {info.fps:g} fps")
        print(f"multishot render (stitching, animatic, cold cache): {render_s:7.2f} s")
        print(f"ffmpeg alone encoding the same {info.frames} frames:      {floor_s:7.2f} s")
        print(f"ratio: {ratio:.2f}  (target <= 2.0)  stages: {report['stages_s']}")
        print(f"review outputs (metrics, report.html, timeline.otio, contact sheet): {review_s:.2f} s "
              f"-> ratio with review {report['ratio_with_review']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
