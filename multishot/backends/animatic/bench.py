"""Drawing cost of the animatic vs encoding alone: `python -m multishot.backends.animatic.bench`.

Prints ms per frame for each camera movement (opencv limited to one thread, then default), and
the time ffmpeg needs to encode the same number of frames with the renderer's settings, measured
in the same run so the ratio is meaningful on any machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ..base import CharacterInShot, ShotLayout, ShotRequest
from .backend import AnimaticBackend
from .camera import MOVEMENTS

CAST = (CharacterInShot("mara", "a woman in her sixties, silver braid, yellow oilskin raincoat"),
        CharacterInShot("tomas", "a boy of ten, red knit cap, oversized wool sweater"))


def request(movement: str, n: int, W: int, H: int, size: str = "wide", weather: str | None = "rain") -> ShotRequest:
    lay = ShotLayout(shot_id=f"bench-{movement}", scene_id="s", location_id="cliffs",
                     location="black basalt cliffs over a grey sea", time="dusk", weather=weather,
                     size=size, angle=None, movement=movement, characters=CAST,
                     action="the lighthouse beam sweeps across the storm")
    return ShotRequest(prompt="", negative="", width=W, height=H, num_frames=n, fps=16, seed=7, layout=lay)


def ms_per_frame(req: ShotRequest) -> float:
    """CPU milliseconds per frame (process time: robust to other work on a shared machine; with
    one opencv thread it is the cost on one core), including the per-shot drawing."""
    b = AnimaticBackend()
    t = time.process_time()
    for _ in b.text_to_video(req):
        pass
    return (time.process_time() - t) * 1000 / req.num_frames


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=960)
    ap.add_argument("--size", default="832x480")
    ap.add_argument("--no-encode", action="store_true")
    a = ap.parse_args()
    W, H = (int(v) for v in a.size.split("x"))
    for threads in (1, cv2.getNumThreads()):
        cv2.setNumThreads(threads)
        print(f"opencv threads={threads}")
        for mv in MOVEMENTS:
            print(f"  {mv:12s} {ms_per_frame(request(mv, a.frames, W, H)):6.2f} ms/frame")
        print(f"  close/dolly  {ms_per_frame(request('dolly-in', a.frames, W, H, size='close')):6.2f} ms/frame")
    if a.no_encode:
        return
    from ...post.ffmpeg import VideoWriter

    frames = list(AnimaticBackend().text_to_video(request("handheld", min(a.frames, 240), W, H)))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        with VideoWriter(Path(tmp) / "enc.mp4", W, H, 16) as w:
            for i in range(a.frames):
                w.write(frames[i % len(frames)])
        enc = (time.perf_counter() - t) * 1000 / a.frames  # wall time: ffmpeg is another process
    cv2.setNumThreads(1)
    draw = float(np.mean([ms_per_frame(request(mv, a.frames, W, H)) for mv in ("handheld", "truck-left", "dolly-in")]))
    print(f"encode alone: {enc:.2f} ms/frame; draw (mean of handheld/truck/dolly, 1 thread): "
          f"{draw:.2f} ms/frame = {draw / enc:.0%} of encode")


if __name__ == "__main__":
    main()
