"""Render one shot list with every paradigm and print their metrics side by side.

Also renders stitching without seam smoothing, so the effect of smoothing is measured on the
same shots (the clips are identical; only the seams differ).

    python scripts/compare_paradigms.py [SHOTLIST] [--profile animatic|tiny|...] [--out DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from multishot.evaluate.render import evaluate_render  # noqa: E402
from multishot.paradigms import REGISTRY  # noqa: E402
from multishot.paradigms.base import RenderOptions  # noqa: E402
from multishot.paradigms.runner import render_file  # noqa: E402

ORDER = ["stitching", "keyframe", "transition", "holistic", "agent"]


def smoothed_seams(metrics, manifest: dict) -> list[float]:  # type: ignore[no-untyped-def]
    """Colour-jump ratios of the seams stitching smooths (same-scene seams)."""
    scene = {s["id"]: s["scene"] for s in manifest["shots"]}
    return [s.colour_ratio for s in metrics.seams
            if scene.get(s.shot_out) == scene.get(s.shot_in) and s.colour_ratio is not None]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shotlist", nargs="?", type=Path, default=ROOT / "shotlists" / "lighthouse.yaml")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--out", type=Path, default=Path("renders") / "compare")
    parser.add_argument("--paradigms", nargs="*", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    names = args.paradigms or [p for p in ORDER if p in REGISTRY]
    variants = [(name, RenderOptions(paradigm=name, profile=args.profile, out_root=args.out / name)) for name in names]
    if "stitching" in names:
        variants.append(("stitching (no smoothing)", RenderOptions(paradigm="stitching", profile=args.profile,
                                                                   out_root=args.out / "stitching-raw", smooth=False)))
    rows = []
    for label, options in variants:
        started = time.perf_counter()
        result = render_file(args.shotlist, options)
        seconds = time.perf_counter() - started
        metrics = evaluate_render(result.out_dir)
        manifest = json.loads(result.manifest.read_text())
        smoothed = smoothed_seams(metrics, manifest)
        rows.append({
            "paradigm": label, "seconds": round(seconds, 2), "frames": metrics.frames,
            "cut_precision": metrics.cuts.precision, "cut_recall": metrics.cuts.recall,
            "spurious_cuts": len(metrics.cuts.spurious), "tcs": metrics.cuts.tcs,
            "seam_colour": metrics.seam_colour, "seam_structure": metrics.seam_structure,
            "same_scene_seam_colour": sum(smoothed) / len(smoothed) if smoothed else None,
            "flicker": metrics.flicker_mean, "consistency": metrics.consistency_mean,
        })
    if args.json:
        print(json.dumps(rows))
        return 0
    table = Table(title=f"paradigms on {args.shotlist.name} ({args.profile or 'file default profile'})")
    for col in rows[0]:
        table.add_column(col.replace("_", " "), justify="right" if col != "paradigm" else "left")
    for row in rows:
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()])
    Console(width=200).print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
