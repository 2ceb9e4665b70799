"""Benchmark: the Fountain importer on hostile and large inputs (issue 17 item 1).

Each case is generated here (nothing is read from outside the repository except, when present,
the held-out corpus in ../shared/corpus/fountain). Every case runs through the whole importer
(`parse_fountain` → `screenplay_to_data`, without the YAML dump and validation, which are the
loader's business) and reports seconds. Target: every case under 2 s on one core, and time
that grows linearly with input size (the `x2` rows: doubling the input at most ~2.5x the time).

    python scripts/bench_fountain.py [--json] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from multishot.shotlist.fountain import parse_fountain, screenplay_to_data  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "fountain"


def emphasis_line(n: int) -> str:
    """One line of `***a ` repeated: an opener everywhere, a closer nowhere."""
    return "INT. ROOM - DAY\n\n" + "***a " * (n // 5) + "\n"


def many_speakers(n: int) -> str:
    """A scene per ~40 speakers, every speaker with a distinct name, an action naming two of
    them and a line of dialogue: the shape that made name matching quadratic."""
    parts = []
    k = 0
    while sum(map(len, parts)) < n:
        if k % 40 == 0:
            parts.append(f"INT. ROOM {k // 40} - NIGHT\n\n")
        a, b = f"SPEAKER{k}", f"SPEAKER{k + 1}"
        parts.append(f"{a} waves at {b} across the hall.\n\n{a}\nHello there, how are you?\n\n")
        k += 1
    return "".join(parts)


def open_notes(n: int) -> str:
    return "INT. ROOM - DAY\n\nHe waits. " + "[[" * (n // 2) + "\n"


def hyphen_caps(n: int) -> str:
    return "INT. ROOM - DAY\n\n" + "A-" * (n // 2) + "a\n"


def spaces_centered(n: int) -> str:
    return "INT. ROOM - DAY\n\nHe waits.\n\n>" + " " * n + "x\n"


def nested_boneyard(n: int) -> str:
    return "INT. ROOM - DAY\n\n" + "/* " * (n // 6) + "a " + "*/ " * (n // 6) + "\nHe waits.\n"


CASES: dict[str, Callable[[int], str]] = {
    "emphasis line `***a `": emphasis_line, "many speakers": many_speakers,
    "unclosed notes `[[`": open_notes, "hyphenated CAPS": hyphen_caps,
    "centred spaces": spaces_centered, "nested boneyard": nested_boneyard,
}


def timed(text: str) -> float:
    start = time.perf_counter()
    try:
        screenplay_to_data(parse_fountain(text), fallback_title="bench")
    except ValueError:
        pass  # a script with nothing to shoot is an answer, not a hang
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every input size")
    args = parser.parse_args()
    rows = []
    for name, make in CASES.items():
        size = int((93_000 if name == "many speakers" else 60_000) * args.scale)
        one, two = timed(make(size)), timed(make(2 * size))
        rows.append({"case": name, "bytes": size, "seconds": round(one, 3),
                     "seconds_x2": round(two, 3), "growth": round(two / max(one, 1e-6), 2)})
        if not args.json:
            _print(rows[-1])
    for path in sorted(CORPUS.glob("*.fountain")) if CORPUS.is_dir() else []:
        text = path.read_text(encoding="utf-8")
        rows.append({"case": f"corpus {path.name}", "bytes": len(text.encode()), "seconds": round(timed(text), 3)})
        if not args.json:
            _print(rows[-1])
    if args.json:
        print(json.dumps(rows, indent=1))


def _print(row: dict) -> None:
    extra = f"  x2 {row['seconds_x2']:7.3f}s  growth {row['growth']:.2f}" if "growth" in row else ""
    print(f"{row['case']:38s} {row['bytes']:8d} B  {row['seconds']:7.3f}s{extra}", flush=True)


if __name__ == "__main__":
    main()
