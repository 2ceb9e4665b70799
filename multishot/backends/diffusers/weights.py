"""Key mappings for weights overrides: fine-tuned checkpoints published in another layout.

A profile's `weights_override` names a safetensors file and a mapping from here; loading.py
applies it and then loads the result strictly (every key present, none extra, shapes equal),
so a mapping that does not fit fails with the list of mismatching keys instead of silently
leaving random or base weights in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

StateDict = dict[str, Any]
log = logging.getLogger(__name__)


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


def lora_to_diffusers(state: StateDict, layout: str) -> StateDict:
    """A Wan LoRA's keys to the layout diffusers' `load_lora_adapter` takes (``transformer.``
    prefix, diffusers module names), through diffusers' own converter for original-Wan LoRAs
    (`WanPipeline.lora_state_dict`). CineTrans's checkpoint is peft-style on original-Wan
    modules (``blocks.0.self_attn.q.lora_A.default.weight``, no prefix): its adapter name is
    dropped and the ``diffusion_model.`` prefix added, which makes it an original-Wan LoRA.
    CineTrans merges ``W + B @ A`` (alpha 1); with no alpha keys diffusers scales by 1 too."""
    if layout == "diffusers":
        return dict(state)
    if layout == "cinetrans":
        state = {k.replace(".default.", "."): v for k, v in state.items()}
    if layout not in ("cinetrans", "wan-original"):
        raise ValueError(f"unknown LoRA format `{layout}`")
    state = {k if k.startswith("diffusion_model.") else "diffusion_model." + k: v for k, v in state.items()}
    _warn_dropped_diffs(state)
    from diffusers import WanPipeline

    out = WanPipeline.lora_state_dict(state)
    return out[0] if isinstance(out, tuple) else out


def _warn_dropped_diffs(state: StateDict) -> None:
    """ComfyUI's LoRA extraction (Kijai's CausVid / AccVid / lightx2v files) stores full
    differences for parameters a low-rank pair cannot hold: ``.diff`` on norm scales and other
    non-matrix weights, ``.diff_b`` on norm biases. diffusers' converter drops those (it treats
    them as zeroed); ComfyUI adds them. When one is not zero, the loaded LoRA is not the whole
    published change: say so once, with the count, rather than silently."""
    dropped = [k for k, v in state.items()
               if (k.endswith(".diff") or (k.endswith(".diff_b") and "norm" in k)) and bool((v != 0).any())]
    if dropped:
        log.warning("LoRA: %d non-zero full-weight differences (e.g. %r) are not applied by diffusers' "
                    "converter; the rest of the LoRA is", len(dropped), dropped[0])


def pickle_to_safetensors(src: str, dst: str) -> int:
    """Convert a pickled PyTorch checkpoint (e.g. CineTrans's published LoRA ``weights.pt``) to
    safetensors, which is all multishot loads. ``torch.load(weights_only=True)`` unpickles
    tensors and plain containers only, so a file carrying code is refused, not run. A checkpoint
    wrapped in one ``state_dict`` / ``module`` / ``model`` key is unwrapped. Returns the number
    of tensors written."""
    import pickle
    import warnings

    import torch
    from safetensors.torch import save_file

    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing
            warnings.simplefilter("ignore")
            state = torch.load(src, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
        raise ValueError(f"{src}: not a plain tensor checkpoint; it holds objects other than tensors "
                         f"({type(error).__name__}), and multishot never unpickles code") from None
    while isinstance(state, dict) and len(state) == 1 and next(iter(state)) in ("state_dict", "module", "model"):
        state = next(iter(state.values()))
    if not isinstance(state, dict) or not state:
        raise ValueError(f"{src}: expected a dict of tensors, found {type(state).__name__}")
    bad = [str(k) for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f"{src}: {len(bad)} entries are not named tensors (first: {bad[0][:80]})")
    save_file({k: v.detach().contiguous() for k, v in state.items()}, dst)
    return len(state)


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
