"""Tiny random-weight models for the identity mechanisms (issue 15), built like tiny.py's.

Built offline from small configs with fixed seeds, saved with ``save_pretrained(
safe_serialization=True)`` (or, for the IP-Adapter, ``safetensors.torch.save_file``) into
``{cache}/models/tiny-v<N>/<name>``, and always loaded back through the real loading path: the
VACE pipeline through `PipelineCache` like every profile, the IP-Adapter through diffusers'
own ``load_ip_adapter`` (ip_adapter.py). The pictures are meaningless; the conditioning paths,
shapes and seeds are the real ones.

* ``wan_vace``: `WanVACEPipeline` whose `WanVACETransformer3DModel` reads VACE's control stream
  (the masked video and each reference image as one extra latent frame; arXiv 2503.07598). Its
  tokenizer, text encoder and VAE are the very weights of tiny.py's Wan models (same builders,
  same seeds), so a profile may share them from ``wan_t2v``.
* ``sd_ip``: a `StableDiffusionPipeline` (UNet, VAE, CLIP text encoder and a CLIP BPE tokenizer
  built in code from a small vocabulary) for keyframe stills.
* ``sd_ip_adapter``: an IP-Adapter for that UNet (arXiv 2308.06721), laid out as h94/IP-Adapter
  is on the Hub: ``models/ip-adapter_tiny.safetensors`` (``image_proj.*`` and ``ip_adapter.N.
  to_k_ip/to_v_ip`` keys, shapes read off the UNet's cross-attention layers) and
  ``models/image_encoder`` (a `CLIPVisionModelWithProjection`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The models this file builds, in the groups that are built together (an adapter's shapes
#: come from its UNet, so the two are made in one go).
GROUPS: dict[str, tuple[str, ...]] = {
    "wan_vace": ("wan_vace",),
    "sd_ip": ("sd_ip", "sd_ip_adapter"),
    "sd_ip_adapter": ("sd_ip", "sd_ip_adapter"),
}
IP_ADAPTER_SUBFOLDER = "models"
IP_ADAPTER_WEIGHTS = "ip-adapter_tiny.safetensors"
IP_ADAPTER_ENCODER = "image_encoder"

_SD_TEXT_DIM = 32
_SD_IMAGE_EMBED = 16
_SD_MAX_TOKENS = 77


def is_built(folder: Path) -> bool:
    """Whether `folder` (one of this file's models) is complete on disk."""
    if folder.name == "sd_ip_adapter":
        return (folder / IP_ADAPTER_SUBFOLDER / IP_ADAPTER_WEIGHTS).is_file() and \
            (folder / IP_ADAPTER_SUBFOLDER / IP_ADAPTER_ENCODER / "config.json").is_file()
    return (folder / "model_index.json").is_file()


def _vace_pipeline() -> Any:
    import torch
    from diffusers import UniPCMultistepScheduler, WanVACEPipeline, WanVACETransformer3DModel

    from . import tiny

    tok = tiny.tokenizer()
    torch.manual_seed(3)
    # VACE's control input: 16 inactive + 16 reactive latent channels and the mask folded to
    # 8x8 = 64 channels (the tiny VAE's spatial factor is 8, as the real one's).
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=tiny._TEXT_DIM, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32, vace_layers=[0, 1], vace_in_channels=96,
    ).eval()
    sched = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    return WanVACEPipeline(tokenizer=tok, text_encoder=tiny._text_encoder(len(tok)), vae=tiny._vae(),
                           scheduler=sched, transformer=transformer)


def _byte_alphabet() -> list[str]:
    """The 256 characters byte-level BPE writes bytes as: printable Latin-1 bytes stand for
    themselves, the others are moved past 255 (the GPT-2 / CLIP convention)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    moved = [b for b in range(256) if b not in keep]
    table = {b: chr(b) for b in keep} | {b: chr(256 + i) for i, b in enumerate(moved)}
    return [table[b] for b in range(256)]


def clip_tokenizer(folder: Path) -> Any:
    """A CLIP byte-level BPE tokenizer over a small film vocabulary (tiny.py's words, each with
    the merges that spell it) plus every single character, so any prompt tokenizes."""
    from transformers import CLIPTokenizer
    from . import tiny

    chars = _byte_alphabet()
    vocab: dict[str, int] = {}
    for c in [*chars, *(c + "</w>" for c in chars)]:
        vocab.setdefault(c, len(vocab))
    merges: list[tuple[str, str]] = []
    for word in dict.fromkeys(tiny._WORDS):
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        left = parts[0]
        for right in parts[1:]:
            pair = (left, right)
            if pair not in merges:
                merges.append(pair)
            left += right
            vocab.setdefault(left, len(vocab))
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab.setdefault(special, len(vocab))
    tok = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=_SD_MAX_TOKENS)
    tok.save_pretrained(folder)  # and read back as any saved tokenizer is
    return CLIPTokenizer.from_pretrained(folder)


def _sd_pipeline(scratch: Path) -> Any:
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tok = clip_tokenizer(scratch / "tokenizer-build")
    torch.manual_seed(4)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=_SD_TEXT_DIM, attention_head_dim=4, norm_num_groups=8,
    ).eval()
    torch.manual_seed(5)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        norm_num_groups=8, sample_size=64).eval()
    torch.manual_seed(6)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(tok), hidden_size=_SD_TEXT_DIM, intermediate_size=64,
                                        num_hidden_layers=2, num_attention_heads=4,
                                        max_position_embeddings=_SD_MAX_TOKENS,
                                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                        pad_token_id=tok.pad_token_id)).eval()
    sched = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                          set_alpha_to_one=False, steps_offset=1)
    return StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=sched,
                                   safety_checker=None, feature_extractor=None, image_encoder=None,
                                   requires_safety_checker=False)


def _ip_adapter(unet: Any, folder: Path) -> None:
    """Random IP-Adapter weights for `unet`, written as h94/IP-Adapter lays its files out."""
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(7)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=16, projection_dim=_SD_IMAGE_EMBED, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, image_size=32, patch_size=8)).eval()
    models = folder / IP_ADAPTER_SUBFOLDER
    encoder.save_pretrained(models / IP_ADAPTER_ENCODER, safe_serialization=True)
    g = torch.Generator().manual_seed(8)
    cross = unet.config.cross_attention_dim
    # The plain IP-Adapter: the image embedding projected to 4 tokens of the text width.
    state = {"image_proj.proj.weight": torch.randn(4 * cross, _SD_IMAGE_EMBED, generator=g) * 0.3,
             "image_proj.proj.bias": torch.zeros(4 * cross),
             "image_proj.norm.weight": torch.ones(cross), "image_proj.norm.bias": torch.zeros(cross)}
    # One key/value pair per cross-attention layer, numbered as diffusers numbers the UNet's
    # attention processors (self-attention takes the even numbers).
    index = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        width = unet.get_submodule(name.removesuffix(".processor")).to_k.out_features
        for kind in ("to_k_ip", "to_v_ip"):
            state[f"ip_adapter.{index}.{kind}.weight"] = torch.randn(width, cross, generator=g) * 0.5
        index += 2
    save_file({k: v.contiguous() for k, v in state.items()}, str(models / IP_ADAPTER_WEIGHTS))


def build(name: str, tmp: Path) -> list[str]:
    """Write the models of `name`'s group into `tmp/<model>`; returns the names written."""
    if name == "wan_vace":
        _vace_pipeline().save_pretrained(tmp / "wan_vace", safe_serialization=True)
        return ["wan_vace"]
    pipe = _sd_pipeline(tmp)
    pipe.save_pretrained(tmp / "sd_ip", safe_serialization=True)
    _ip_adapter(pipe.unet, tmp / "sd_ip_adapter")
    return ["sd_ip", "sd_ip_adapter"]
