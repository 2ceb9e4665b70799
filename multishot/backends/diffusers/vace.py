"""Wan VACE reference-to-video (arXiv 2503.07598): every character of a shot conditions it.

VACE adds a control stream to Wan: a video with a mask (black where frames are given, white
where they are generated) and any number of reference images, each encoded as one extra latent
frame in front of the video. multishot uses it for a shot's generation when a profile says
`identity: {video: reference}`: the stitching paradigm's text-to-video shot (no frames given)
and the keyframe paradigm's infill (first and last keyframes given, the frames between grey and
masked white), both with the bank image of every character in the shot, in the shot's order.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

#: VACE's "nothing here" value: mid grey in the video, white in the mask (generate it).
_GREY = 127


def reference_order(character_ids: Sequence[str], references: Mapping[str, np.ndarray]) -> list[str]:
    """The characters whose images condition the shot: the shot's own order first (so the
    lead's image is the first reference), then any other reference the request carries."""
    ordered = [c for c in character_ids if c in references]
    return ordered + sorted(c for c in references if c not in ordered)


def call_inputs(references: Mapping[str, np.ndarray], character_ids: Sequence[str], width: int, height: int,
                frames: int, first: np.ndarray | None = None, last: np.ndarray | None = None) -> dict[str, Any]:
    """`WanVACEPipeline` keyword arguments: `reference_images` (PIL, each at its own aspect:
    the pipeline letterboxes them onto a white canvas of the video's size) and, when keyframes
    are given, `video` and `mask` of `frames` frames with the given frames pinned."""
    from PIL import Image

    from .frames import frame_to_pil

    out: dict[str, Any] = {}
    ids = reference_order(character_ids, references)
    if ids:
        out["reference_images"] = [Image.fromarray(np.ascontiguousarray(references[c])) for c in ids]
    if first is None and last is None:
        return out  # the pipeline's default: an all-zero video, every frame generated
    grey = np.full((height, width, 3), _GREY, np.uint8)
    video = [grey] * frames
    known = [False] * frames
    if first is not None:
        video[0], known[0] = np.asarray(frame_to_pil(first, width, height)), True
    if last is not None:
        video[-1], known[-1] = np.asarray(frame_to_pil(last, width, height)), True
    black, white = (np.full((height, width, 3), v, np.uint8) for v in (0, 255))
    out["video"] = [Image.fromarray(f) for f in video]
    out["mask"] = [Image.fromarray(black if k else white) for k in known]
    return out
