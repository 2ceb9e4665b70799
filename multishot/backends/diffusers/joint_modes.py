"""Joint generation modes: which published mechanism a joint group runs, named once.

A profile's `joint:` section picks one of these per checkpoint, because the attention pattern
a model runs must be the one its weights were trained (or, training-free, validated) with:

============  ==========================================================================
self mode     what a video token of shot i attends to (self-attention)
============  ==========================================================================
``full``      every token of the group -- HoloCine's full-attention checkpoint
              (arXiv 2510.20822, ``HoloCine_inference_full_attention.py``).
``sparse``    its own shot plus the first latent frame of EVERY shot, its own included
              a second time -- HoloCine's sparse checkpoint, as its varlen packing builds it.
``cinetrans`` inside the block band: its own shot plus latent frame 0 of the whole video
              (block-diagonal + "Visible-First-Frame", CineTrans arXiv 2508.11484); outside
              the band dense self- AND cross-attention, as CineTrans's ``WanModel`` does.
``multishot`` multishot's own training-free variant: own shot plus the first frame of every
              OTHER shot, in every block.
============  ==========================================================================

Text modes: ``holocine`` (one prompt, tokenised once, HoloCine's global/shot spans),
``cinetrans`` (per-shot prompts and a general prompt encoded separately, each shot reading its
own and the general one), ``window`` / ``own`` (multishot's variants, see joint.py). Layouts:
``continuous`` (one latent video, cuts at 4t+1 pixel frames, one decode: what both papers run)
and ``stacked`` (multishot's own variant: every shot a separate 4k+1 clip placed end to end,
decoded per shot).

This module is torch-free so profiles and `plan` can describe a mode without loading torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

LayoutMode = Literal["continuous", "stacked"]
TextMode = Literal["holocine", "cinetrans", "window", "own"]
SelfAttentionMode = Literal["full", "sparse", "cinetrans", "multishot"]

#: CineTrans's mask band in `configs/t2v.yaml`: blocks 6..27 (inclusive) of Wan 2.1's 30.
CINETRANS_BAND_30 = (6, 27)
#: HoloCine's trained length: 241 frames at 832x480 (15 s at 16 fps).
HOLOCINE_MAX_FRAMES = 241


@dataclass(frozen=True)
class JointMode:
    """The mechanism of one joint group (see the module docstring)."""

    layout: LayoutMode = "stacked"
    text: TextMode = "window"
    self_attention: SelfAttentionMode = "multishot"
    #: Inclusive (first, last) block of the mask band (``cinetrans``); None = CineTrans's band
    #: scaled to the model's depth (6..27 of 30).
    band: tuple[int, int] | None = None
    #: Longest group in pixel frames (HoloCine: 241); longer runs of shots are chunked.
    max_frames: int | None = None

    def __post_init__(self) -> None:
        if self.band is not None and not 0 <= self.band[0] <= self.band[1]:
            raise ValueError(f"band must be (first, last) block with first <= last, got {self.band}")

    def band_blocks(self, num_layers: int) -> tuple[int, ...]:
        """The blocks inside the mask band for a model of `num_layers` blocks."""
        if self.band is not None:
            first, last = self.band
        else:  # at least one plain block at each end wherever the reference has some
            first = math.ceil(CINETRANS_BAND_30[0] * num_layers / 30)
            last = num_layers - 1 - math.ceil((29 - CINETRANS_BAND_30[1]) * num_layers / 30)
        return tuple(b for b in range(num_layers) if first <= b <= last)

    def layout_kwargs(self, num_layers: int) -> dict[str, Any]:
        """The `JointLayout` settings of this self-attention mode."""
        if self.self_attention == "full":
            return dict(summary="all", blocks=(), outside="full", cross_outside="window")
        if self.self_attention == "sparse":
            return dict(summary="first", pool_includes_own=True, blocks=None)
        if self.self_attention == "cinetrans":
            return dict(summary="video_first", blocks=self.band_blocks(num_layers), outside="full",
                        cross_outside="dense")
        return dict(summary="first", pool_includes_own=False, blocks=None)

    def describe(self) -> dict[str, Any]:
        """For `profiles show`, `plan` and the manifest."""
        out: dict[str, Any] = {"layout": self.layout, "text": self.text, "self_attention": self.self_attention}
        if self.self_attention == "cinetrans":
            out["band"] = list(self.band) if self.band is not None else "6-27 of 30, scaled to the model"
        if self.max_frames is not None:
            out["max_frames"] = self.max_frames
        return out


#: What a profile without a `joint:` section runs (multishot's training-free variant).
DEFAULT_MODE = JointMode()
