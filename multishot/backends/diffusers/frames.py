"""Frame counts, sizes and pixel formats between a request and what a video model accepts.

Video VAEs compress time causally: the first frame alone, then `k` frames per latent frame, so a
model takes ``k*n + 1`` frames (Wan: 4n+1, LTX: 8n+1). We generate the smallest valid count at
or above the request and resample to exactly the requested count by nearest frame in time, which
keeps the first and last frames (the ones first/last-frame conditioning and seams care about)
and never blends two frames into a ghost. Likewise sizes are rounded to the model's spatial
multiple (VAE factor x patch size) and the result is resized to the requested size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from multishot.backends.base import Frame

if TYPE_CHECKING:
    from PIL.Image import Image


def valid_frame_count(requested: int, temporal_factor: int, cap: int | None = None) -> int:
    """Smallest ``temporal_factor*n + 1`` >= `requested`; with `cap`, at most the largest valid
    count <= cap."""
    if requested < 1:
        raise ValueError(f"need at least one frame, got {requested}")
    k = max(1, int(temporal_factor))
    n = 1 + k * (-(-(requested - 1) // k))
    if cap is not None and n > cap:
        n = 1 + k * ((cap - 1) // k)
    return n


def resample_frames(frames: np.ndarray, count: int) -> np.ndarray:
    """`count` frames picked from `frames` (T, H, W, 3) by nearest time; first and last kept."""
    t = frames.shape[0]
    if t == count:
        return frames
    idx = np.rint(np.linspace(0, t - 1, count)).astype(int) if count > 1 else np.array([0])
    return frames[idx]


def round_to_multiple(value: float, multiple: int) -> int:
    return max(multiple, int(round(value / multiple)) * multiple)


def generation_size(width: int, height: int, multiple: int, fit: tuple[int, int] | None = None) -> tuple[int, int]:
    """(width, height) to generate at: the request, or the request scaled to fit inside `fit`
    (aspect kept), rounded to `multiple`."""
    w, h = float(width), float(height)
    if fit is not None:
        s = min(fit[0] / w, fit[1] / h)
        w, h = w * s, h * s
    return round_to_multiple(w, multiple), round_to_multiple(h, multiple)


def to_uint8(video: np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] (diffusers' "np" output) to uint8."""
    return (np.clip(video, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def resize_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, H, W, 3) uint8 resized to (T, height, width, 3): area filter down, cubic up."""
    if frames.shape[1:3] == (height, width):
        return frames
    import cv2

    shrink = width * height < frames.shape[1] * frames.shape[2]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, (width, height), interpolation=interp) for f in frames])


def frame_to_pil(frame: Frame, width: int, height: int) -> Image:
    """A conditioning frame as the PIL image pipelines expect, at the generation size."""
    from PIL import Image

    arr = np.ascontiguousarray(frame, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"a frame must be (H, W, 3) uint8, got shape {arr.shape}")
    return Image.fromarray(resize_frames(arr[None], width, height)[0])
