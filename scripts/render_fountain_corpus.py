"""Import, validate and render every screenplay of the held-out corpus on the animatic, small
(160x96, 8 fps, each shot held to 1 s; transitions kept), and print one line per file.

    python scripts/render_fountain_corpus.py [--out DIR] [--only NAME]

The unit tests import and validate every file and render two; this renders them all.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from multishot.paradigms.base import RenderOptions  # noqa: E402
from multishot.paradigms.runner import render_file  # noqa: E402
from multishot.shotlist.fountain import import_fountain  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "fountain"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="fountain-corpus-"))
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in sorted(CORPUS.glob("*.fountain"), key=lambda p: p.stat().st_size):
        if args.only and args.only not in path.name:
            continue
        start = time.perf_counter()
        text, film = import_fountain(path)
        data = yaml.safe_load(text)
        data["format"] = {"resolution": "160x96", "fps": 8, "seed": 1}
        for scene in data["scenes"]:
            for shot in scene["shots"]:
                shot["duration"] = 1
                if isinstance(shot.get("transition"), str) and shot["transition"] not in ("cut", "match-cut"):
                    shot["transition"] = {"type": shot["transition"], "duration": 0.25}
        target = out / (path.stem.replace(" ", "-") + ".yaml")
        target.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        result = render_file(target, RenderOptions(out_root=out / "renders", review=False))
        ok = result.status == "complete" and result.film is not None and result.film.is_file()
        failed += not ok
        print(f"{path.name:34s} {len(film.scenes):4d} scenes {len(film.shots()):5d} shots  {result.status:9s} "
              f"{time.perf_counter() - start:7.1f}s  {result.film}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
