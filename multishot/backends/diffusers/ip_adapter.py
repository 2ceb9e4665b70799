"""IP-Adapter keyframes (arXiv 2308.06721): the characters' bank images steer each still.

An IP-Adapter adds, in every cross-attention layer of an image model, a second key/value
projection that reads a few tokens made from a CLIP image embedding. multishot loads it with
diffusers' own `load_ip_adapter` into the profile's text_to_image pipeline (once per pipeline)
when the profile says `identity: {keyframes: ip_adapter}`. With several characters in a shot,
every character's image is given to the one adapter as a list: diffusers embeds each image,
projects each to its own tokens and concatenates them, so the attention reads all of them
(each character is conditioned, not only the first). A still with no character runs with the
adapter at scale 0 and zero image embeddings, which adds exactly nothing to the attention.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .profile import IPAdapterSpec

_MARK = "_multishot_ip_adapter"


def adapter_folder(spec: IPAdapterSpec, base: Path, profile_name: str | None = None) -> Path:
    """The local folder holding the adapter's weights and image encoder: a local path (built
    first for `build: tiny`) or the Hub repo's files at its pinned revision."""
    from .loading import _COMPONENT_FILES, fetch_repo_files, local_folder

    if spec.repo is None:
        return local_folder(spec, base, profile_name=profile_name)
    assert spec.revision is not None
    enc = spec.image_encoder_folder if "/" in spec.image_encoder_folder else \
        f"{spec.subfolder}/{spec.image_encoder_folder}"
    patterns = [f"{spec.subfolder}/{spec.weight_name}", *(f"{enc}/{p}" for p in _COMPONENT_FILES)]
    return fetch_repo_files(spec.repo, spec.revision, patterns, profile_name=profile_name)


def ensure_loaded(pipe: Any, spec: IPAdapterSpec, base: Path, profile_name: str | None = None) -> None:
    """Load the adapter into `pipe` through diffusers' `load_ip_adapter` unless it is there."""
    label = spec.model_dump_json()
    if getattr(pipe, _MARK, None) == label:
        return
    if getattr(pipe, _MARK, None) is not None:
        pipe.unload_ip_adapter()
    folder = adapter_folder(spec, base, profile_name)
    pipe.load_ip_adapter(os.fspath(folder), subfolder=spec.subfolder, weight_name=spec.weight_name,
                         image_encoder_folder=spec.image_encoder_folder, local_files_only=True)
    setattr(pipe, _MARK, label)


def call_inputs(pipe: Any, spec: IPAdapterSpec | None, references: Mapping[str, np.ndarray],
                character_ids: Sequence[str], guidance: float) -> dict[str, Any]:
    """Keyword arguments for one still: every character's image (shot order first) through the
    adapter at the profile's scale; with none, scale 0 and zero embeddings. Empty when `pipe`
    has no adapter loaded."""
    if getattr(pipe, _MARK, None) is None:
        return {}
    from PIL import Image

    from .vace import reference_order

    ids = reference_order(character_ids, references)
    if ids and spec is not None:
        pipe.set_ip_adapter_scale(spec.scale)
        return {"ip_adapter_image": [[Image.fromarray(np.ascontiguousarray(references[c])) for c in ids]]}
    import torch

    pipe.set_ip_adapter_scale(0.0)
    dim = pipe.image_encoder.config.projection_dim
    batch = 2 if guidance > 1.0 else 1  # negative and positive embeddings under CFG
    return {"ip_adapter_image_embeds": [torch.zeros(batch, 1, dim, dtype=pipe.dtype, device=pipe.device)]}
