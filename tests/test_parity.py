"""Parity with the papers' own code: multishot's joint forward against HoloCine's and
CineTrans's recorded transformer calls (../shared/parity, produced by the reference
pipelines run unmodified on tiny random-weight DiTs; see each folder's README).

The weights go through multishot's real loading path (the profile mappings `holocine` and
`wan-original` into diffusers' `WanTransformer3DModel`, strict), the processors are installed
from the same `JointMode` a profile names, and every call the reference made -- positive and
negative, both steps -- must agree to rtol 1e-4 of the output's magnitude. The numeric floor
(diffusers builds its timestep sinusoid in float32) is ~6e-6; every mechanism error the
READMEs list is >= 1e-2, and `test_*_modes_are_distinguishable` shows this test would see one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

PARITY = Path(__file__).resolve().parents[2] / "shared" / "parity"
pytestmark = pytest.mark.skipif(not PARITY.is_dir(), reason=f"parity goldens not found at {PARITY} "
                                "(../shared/parity beside the checkout)")
RTOL = 1e-4


def _load(folder: str) -> tuple[dict, dict, dict]:
    from safetensors.torch import load_file

    d = PARITY / folder
    info = json.loads((d / "inputs.json").read_text())
    outs = {}
    for f in sorted(d.glob("outputs*.safetensors")):
        tag = f.stem.removeprefix("outputs").lstrip("_") or "main"
        outs[tag] = load_file(f)
    return info, load_file(d / "inputs.safetensors"), outs


def _transformer(cfg: dict, weights: Path, mapping: str):
    """diffusers' Wan transformer of the reference config, weights through loading.py."""
    from diffusers import WanTransformer3DModel

    from multishot.backends.diffusers.loading import apply_weights_override

    heads = cfg["num_heads"]
    model = WanTransformer3DModel(
        patch_size=tuple(cfg["patch_size"]), num_attention_heads=heads, attention_head_dim=cfg["dim"] // heads,
        in_channels=cfg["in_dim"], out_channels=cfg["out_dim"], text_dim=cfg["text_dim"], freq_dim=cfg["freq_dim"],
        ffn_dim=cfg["ffn_dim"], num_layers=cfg["num_layers"], cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", eps=cfg["eps"], rope_max_seq_len=1024,
    ).eval()
    apply_weights_override(model, weights, mapping)
    return model


def _rel(out: torch.Tensor, ref: torch.Tensor) -> float:
    return float((out - ref).abs().max() / ref.abs().max())


def _run(model, layout, negative_embeds, latents, t, context):
    from multishot.backends.diffusers.shot_attention import install_shot_attention

    with torch.no_grad(), install_shot_attention(model, layout) as handle:
        handle.watch_negative(model, negative_embeds)
        return model(hidden_states=latents, timestep=torch.tensor([float(t)]), encoder_hidden_states=context,
                     return_dict=False)[0]


# --------------------------------------------------------------------------------------------
# HoloCine
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def holocine():
    info, inputs, outs = _load("holocine")
    model = _transformer(info["config"], PARITY / "holocine" / "holocine_tiny_dit.safetensors", "holocine")
    return info, inputs, outs, model


def _holocine_layout(info: dict, mode_name: str):
    from transformers import AutoTokenizer

    from multishot.backends.diffusers.holocine_text import (holocine_prompt, holocine_token_spans,
                                                             holocine_visible_text, latent_shot_frames)
    from multishot.backends.diffusers.joint_modes import JointMode
    from multishot.backends.diffusers.shot_attention import JointLayout

    # The whole text chain from the captions, not the golden's spans: prompt -> tokens -> spans.
    prompt = holocine_prompt(info["global_caption_in"], info["shot_captions_in"])
    tok = AutoTokenizer.from_pretrained(PARITY / "holocine", use_fast=True)
    spans, _ = holocine_token_spans(tok, prompt, info["text_len"])
    mode = JointMode(layout="continuous", text="holocine", self_attention=mode_name)
    f, h, w = info["patch_grid_fhw"]
    frames = latent_shot_frames(info["num_frames"], info["shot_cut_frames"])
    return JointLayout(frames=tuple(frames), grid=(h, w), text_tokens=info["text_len"],
                       text_spans=holocine_visible_text(spans, info["text_len"]),
                       **mode.layout_kwargs(info["config"]["num_layers"]))


HOLOCINE_CALLS = [(mode, step, sign) for mode in ("full", "sparse") for step in (0, 1) for sign in ("posi", "nega")]


@pytest.mark.parametrize("mode,step,sign", HOLOCINE_CALLS, ids=[f"{m}-step{s}-{p}" for m, s, p in HOLOCINE_CALLS])
def test_holocine_calls_match_reference(holocine, mode: str, step: int, sign: str) -> None:
    info, inputs, outs, model = holocine
    layout = _holocine_layout(info, mode)
    latents = inputs["latents_step0"] if step == 0 else inputs["latents_step1" + ("_sparse" if mode == "sparse" else "")]
    out = _run(model, layout, inputs["context_nega"], latents, inputs["timesteps"][step], inputs[f"context_{sign}"])
    ref = outs[mode][f"step{step}_{sign}"]
    assert out.shape == ref.shape
    assert _rel(out, ref) < RTOL, f"{mode} step {step} {sign}: max rel diff {_rel(out, ref):.2e}"


def test_holocine_modes_are_distinguishable(holocine) -> None:
    """The goldens separate the modes far beyond the tolerance, so a wrong pool, a wrong span
    or a windowed negative would fail the tests above."""
    info, inputs, outs, model = holocine
    sparse = _run(model, _holocine_layout(info, "sparse"), inputs["context_nega"], inputs["latents_step0"],
                  inputs["timesteps"][0], inputs["context_posi"])
    assert _rel(sparse, outs["full"]["step0_posi"]) > 100 * RTOL
    ours = _run(model, _holocine_layout(info, "multishot"), inputs["context_nega"], inputs["latents_step0"],
                inputs["timesteps"][0], inputs["context_posi"])
    assert _rel(ours, outs["sparse"]["step0_posi"]) > 100 * RTOL  # the own-frame duplicate matters
    windowed_negative = _run(model, _holocine_layout(info, "full"), None, inputs["latents_step0"],
                             inputs["timesteps"][0], inputs["context_nega"])
    assert _rel(windowed_negative, outs["full"]["step0_nega"]) > 100 * RTOL


# --------------------------------------------------------------------------------------------
# CineTrans
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cinetrans():
    info, inputs, outs = _load("cinetrans")
    cfg = dict(info["config"])
    model = _transformer(cfg, PARITY / "cinetrans" / "cinetrans_tiny_dit.safetensors", "wan-original")
    return info, inputs, outs["main"], model


def _cinetrans_layout(info: dict, mode_name: str = "cinetrans"):
    from multishot.backends.diffusers.joint_modes import JointMode
    from multishot.backends.diffusers.shot_attention import JointLayout

    cfg = info["config"]
    band = (cfg["start_masked_layer"], cfg["end_masked_layer"])
    mode = JointMode(layout="continuous", text="cinetrans", self_attention=mode_name, band=band)
    f, h, w = info["patch_grid_fhw"]
    n = len(info["mask_info"])
    L = info["text_len"]
    g = info["general_prompt_index"]
    # CineTrans's context order: [prompt_0 .. prompt_{n-1}, general]; shot k reads its own + general.
    spans = tuple(((k * L, (k + 1) * L), (g * L, (g + 1) * L)) for k in range(n))
    return JointLayout(frames=tuple(info["mask_info"]), grid=(h, w), text_tokens=L, text_spans=spans,
                       **mode.layout_kwargs(cfg["num_layers"]))


CINETRANS_CALLS = [(step, sign) for step in (0, 1) for sign in ("cond", "uncond")]


@pytest.mark.parametrize("step,sign", CINETRANS_CALLS, ids=[f"step{s}-{p}" for s, p in CINETRANS_CALLS])
def test_cinetrans_calls_match_reference(cinetrans, step: int, sign: str) -> None:
    info, inputs, outs, model = cinetrans
    layout = _cinetrans_layout(info)
    latents = inputs[f"latents_step{step}"]
    t = inputs["timesteps"][step]
    if sign == "cond":
        out = _run(model, layout, None, latents, t, inputs["context_posi"])
    else:
        # multishot's negative: ONE copy of the negative (16 tokens), read densely; CineTrans
        # masks N+1 identical copies, which is the same softmax (README point 5).
        L = info["text_len"]
        one = inputs["context_nega"][:, :L]
        out = _run(model, layout, one, latents, t, one)
        # ... and the reference's own 4-copy context through the masks gives the same.
        masked = _run(model, layout, None, latents, t, inputs["context_nega"])
        assert _rel(masked, outs[f"step{step}_uncond"]) < RTOL
    ref = outs[f"step{step}_{sign}"]
    assert _rel(out, ref) < RTOL, f"step {step} {sign}: max rel diff {_rel(out, ref):.2e}"


def test_cinetrans_band_and_first_frame_matter(cinetrans) -> None:
    info, inputs, outs, model = cinetrans
    ref = outs["step0_cond"]
    nomask = _run(model, _cinetrans_layout(info, "full"), None, inputs["latents_step0"], inputs["timesteps"][0],
                  inputs["context_posi"])
    assert _rel(nomask, ref) > 100 * RTOL
    assert _rel(_run(model, _cinetrans_layout(info, "multishot"), None, inputs["latents_step0"],
                     inputs["timesteps"][0], inputs["context_posi"]), ref) > 100 * RTOL


def test_cinetrans_layout_is_the_reference_mask(cinetrans) -> None:
    """The layout's explicit masks equal the reference's premask / premask_text in the band."""
    from multishot.backends.diffusers.shot_attention import build_cross_mask, build_mask

    info, inputs, _, _ = cinetrans
    layout = _cinetrans_layout(info)
    assert torch.equal(build_mask(layout, "sparse"), inputs["premask"].bool())
    assert torch.equal(build_cross_mask(layout), inputs["premask_text"].bool())
    assert layout.blocks == tuple(info["masked_blocks"])


def test_stock_diffusers_floor(cinetrans) -> None:
    """No processors: the loaded transformer equals the reference's mask-free forward to the
    floor, so the weights mapping is right before any mechanism is involved."""
    info, inputs, outs, model = cinetrans
    with torch.no_grad():
        out = model(hidden_states=inputs["latents_step0"], timestep=torch.tensor([float(inputs["timesteps"][0])]),
                    encoder_hidden_states=inputs["context_posi"], return_dict=False)[0]
    assert _rel(out, outs["step0_cond_nomask"]) < RTOL
