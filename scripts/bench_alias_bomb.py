"""Benchmark: how fast the shot-list loader refuses YAML alias bombs (issue 17 item 1).

A "billion laughs" file is a few hundred bytes: anchor a0 is a list of ten strings, each later
anchor a list of ten aliases of the one before, so `levels` anchors expand to 10**levels nodes.
Before the bound, 10**7 nodes took 33 s and 2.4 GB to validate and 10**9 ran past a minute.
Target: refused, with its line, in well under a second at any size. Also timed: a real shot list
of 2,000 shots (far larger than any film), which must still load.

    python scripts/bench_alias_bomb.py [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from multishot.shotlist import ShotListError, load_film  # noqa: E402


def bomb(levels: int) -> str:
    lines = ["multishot: 1", "title: Bomb", "a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def big_film(shots: int) -> str:
    out = ["multishot: 1", "title: Big", "locations:", "  x: {description: a room}", "scenes:",
           "  - id: s", "    location: x", "    shots:"]
    for i in range(shots):
        out += [f"      - id: shot-{i}", "        size: wide", "        duration: 1", f"        action: beat {i}"]
    return "\n".join(out) + "\n"


def timed(path: Path) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        film = load_film(path)
        outcome = f"loaded ({len(film.shots())} shots)"
    except ShotListError as error:
        outcome = str(error.problems[0]).replace(str(path), path.name)
    return time.perf_counter() - started, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp, "warm.yaml")
        warm.write_text(big_film(2))
        load_film(warm)  # imports and first-use costs out of the timings
        cases = [(f"bomb 10^{n} nodes ({len(bomb(n))} bytes)", bomb(n)) for n in (5, 7, 9, 12)]
        cases.append(("2,000-shot shot list", big_film(2000)))
        for name, text in cases:
            path = Path(tmp, "film.yaml")
            path.write_text(text)
            seconds, outcome = timed(path)
            rows.append({"case": name, "ms": round(seconds * 1000, 2), "outcome": outcome})
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        print(json.dumps({"rows": rows, "peak_rss_mb": round(peak_mb, 1)}))
        return
    for row in rows:
        print(f"{row['case']:<34} {row['ms']:>9.2f} ms  {row['outcome']}")
    print(f"peak RSS of the whole run: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
