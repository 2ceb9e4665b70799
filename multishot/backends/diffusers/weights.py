"""Key mappings for weights overrides: fine-tuned checkpoints published in another layout.

A profile's `weights_override` names a safetensors file and a mapping from here; loading.py
applies it and then loads the result strictly (every key present, none extra, shapes equal),
so a mapping that does not fit fails with the list of mismatching keys instead of silently
leaving random or base weights in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

StateDict = dict[str, Any]


def wan_original_to_diffusers(state: StateDict) -> StateDict:
    """Original Wan / DiffSynth-Studio DiT keys (``blocks.0.self_attn.q.weight``, ``head.head``,
    ...) to diffusers' WanTransformer3DModel keys, with diffusers' own converter (the one behind
    ``WanTransformer3DModel.from_single_file``), so the renaming rules are maintained upstream."""
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    return convert_wan_transformer_to_diffusers(dict(state))


def holocine_to_diffusers(state: StateDict) -> StateDict:
    """HoloCine (arXiv 2510.20822) publishes full fine-tunes of Wan2.2-T2V-A14B's two experts
    (``HoloCine_dit/full/full_{high,low}_noise.safetensors``), trained with DiffSynth-Studio, whose
    DiT keys follow the original Wan layout; so this is the Wan mapping.

    Not verified against the real files (they could not be downloaded where this was written): if
    HoloCine added parameters of its own, the strict load in loading.py fails and names them.
    HoloCine's sparse inter-shot / window cross-attention are attention *patterns* without
    weights of their own; multishot applies them in joint.py / shot_attention.py."""
    return wan_original_to_diffusers(state)


KEY_MAPPINGS: dict[str, Callable[[StateDict], StateDict]] = {
    "identity": dict,
    "wan-original": wan_original_to_diffusers,
    "holocine": holocine_to_diffusers,
}


def get_mapping(name: str) -> Callable[[StateDict], StateDict]:
    try:
        return KEY_MAPPINGS[name]
    except KeyError:
        raise ValueError(f"unknown weights mapping `{name}`; known: {', '.join(sorted(KEY_MAPPINGS))}") from None
