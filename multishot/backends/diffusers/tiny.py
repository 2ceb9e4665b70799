"""The `tiny` profile's models: random-weight, miniature versions of the real Wan pipelines.

They are built offline from small configs (fixed seeds), written once with
``save_pretrained(safe_serialization=True)`` into ``{cache}/models/tiny-v<N>/<name>``, and then
always loaded back through the same loading code real profiles use (a local-folder model). A
render on `tiny` therefore exercises the real classes end to end: tokenizer, UMT5 text encoder,
CLIP image encoder, Wan transformer, Wan VAE, scheduler and the pipelines' own ``__call__``,
in about a second per shot on a CPU. The pictures are meaningless (random weights); the shapes,
seeds, conditioning paths and caching are not.

Three models, mirroring the `wan-2.1-*` profiles:

* ``wan_t2v``: WanPipeline. Serves text_to_video, joint_shots, and text_to_image (num_frames=1,
  as with the real Wan T2V, which was trained on images too; no separate image model).
* ``wan_i2v``: WanImageToVideoPipeline with an image encoder (Wan 2.1 I2V layout).
* ``wan_flf2v``: WanImageToVideoPipeline whose image embedder has the positional embedding for
  two images (Wan 2.1 FLF2V layout: ``last_image=``). Real FLF2V cannot take a single image, so
  I2V and FLF2V are separate models here as in the real profiles.

The text encoder, tokenizer and VAE are one set of weights saved in every folder; the profile
shares them across roles (`shared_components`), so they are loaded once.

The tokenizer is a T5 (Unigram) tokenizer built in code from a small English film vocabulary
plus single letters, so any prompt tokenizes (hf-internal-testing repos are not downloadable).
Bump TINY_VERSION whenever a config here changes: it names the cache folder, and the folder name
is part of the profile identity, so old cached renders are not mistaken for new ones.
"""

from __future__ import annotations

import os
import shutil
import string
import tempfile
from pathlib import Path
from typing import Any

TINY_VERSION = 1
WAN_NAMES = ("wan_t2v", "wan_i2v", "wan_flf2v")
#: The identity models (VACE, SD + IP-Adapter) are built by tiny_identity.py, each group on
#: first use only, so the Wan models' folders and bytes are what they always were.
MODEL_NAMES = (*WAN_NAMES, "wan_vace", "sd_ip", "sd_ip_adapter")

_WORDS = """a an the and or of in on at to by with from into over under through across behind
man woman boy girl child old young keeper mother father friend stranger he she they her his it
walks runs climbs looks turns stands sits waits opens closes holds reads falls rises smiles cries
sea ocean wave cliff cliffs rock beach sand lighthouse lamp room stairs door window glass letter
rain storm wind snow fog sun moon light dark night day dusk dawn sky cloud clouds fire
red yellow blue green grey gray black white silver gold amber teal brown
wide close medium shot camera dolly pan tilt zoom static slow fast film grain 35mm soft muted
palette cinematic blurry deformed hands watermark low quality""".split()

_TEXT_DIM = 32
_CLIP_DIM = 16
_CLIP_SIZE = 32
_CLIP_PATCH = 8


def _vocab() -> list[tuple[str, float]]:
    """Special tokens, whole words, then single characters; Unigram scores make a whole word
    cheaper than spelling it out, so known words stay one token."""
    specials = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    words = [("\u2581" + w, -1.0) for w in dict.fromkeys(_WORDS)]
    chars = [(c, -6.0) for c in ["\u2581", *string.ascii_lowercase, *string.digits, *",.!?'-:;"]]
    return specials + words + chars


def tokenizer() -> Any:
    from transformers import T5Tokenizer

    return T5Tokenizer(vocab=_vocab(), extra_ids=0)


def _text_encoder(vocab_size: int) -> Any:
    import torch
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    cfg = UMT5Config(vocab_size=vocab_size, d_model=_TEXT_DIM, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                     relative_attention_num_buckets=8, relative_attention_max_distance=16,
                     feed_forward_proj="gated-gelu")
    return UMT5EncoderModel(cfg).eval()


def _vae() -> Any:
    import torch
    from diffusers import AutoencoderKLWan

    torch.manual_seed(0)
    return AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True]).eval()


def _transformer(seed: int, *, in_channels: int = 16, image_dim: int | None = None,
                 pos_embed_seq_len: int | None = None) -> Any:
    import torch
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    return WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=in_channels,
        out_channels=16, text_dim=_TEXT_DIM, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32, image_dim=image_dim,
        pos_embed_seq_len=pos_embed_seq_len,
    ).eval()


def _image_encoder() -> tuple[Any, Any]:
    import torch
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(0)
    cfg = CLIPVisionConfig(hidden_size=_CLIP_DIM, projection_dim=_CLIP_DIM, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=32, image_size=_CLIP_SIZE,
                           patch_size=_CLIP_PATCH)
    return CLIPVisionModel(cfg).eval(), CLIPImageProcessor(crop_size=_CLIP_SIZE, size=_CLIP_SIZE)


def build_pipelines() -> dict[str, Any]:
    """The three tiny pipelines in memory (deterministic: fixed seeds, CPU, float32)."""
    from diffusers import UniPCMultistepScheduler, WanImageToVideoPipeline, WanPipeline

    tok = tokenizer()
    shared = dict(tokenizer=tok, text_encoder=_text_encoder(len(tok)), vae=_vae())
    sched = dict(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    image_encoder, image_processor = _image_encoder()
    clip_tokens = (_CLIP_SIZE // _CLIP_PATCH) ** 2 + 1
    return {
        "wan_t2v": WanPipeline(**shared, scheduler=UniPCMultistepScheduler(**sched), transformer=_transformer(0)),
        "wan_i2v": WanImageToVideoPipeline(
            **shared, scheduler=UniPCMultistepScheduler(**sched), image_encoder=image_encoder,
            image_processor=image_processor, transformer=_transformer(1, in_channels=36, image_dim=_CLIP_DIM)),
        "wan_flf2v": WanImageToVideoPipeline(
            **shared, scheduler=UniPCMultistepScheduler(**sched), image_encoder=image_encoder,
            image_processor=image_processor,
            transformer=_transformer(2, in_channels=36, image_dim=_CLIP_DIM, pos_embed_seq_len=2 * clip_tokens)),
    }


def ensure_built(folder: Path) -> Path:
    """Make sure ``<root>/<name>`` exists, where `folder` is ``<root>/<name>``; builds every
    missing tiny model into a temporary folder next to it and renames it into place, so a
    reader never sees a half-written model and concurrent builders do not clash."""
    folder = Path(folder)
    root, name = folder.parent, folder.name
    expected = f"tiny-v{TINY_VERSION}"
    if root.name != expected or name not in MODEL_NAMES:
        raise ValueError(f"{folder} is not a tiny model folder this multishot can build "
                         f"(expected .../{expected}/{{{','.join(MODEL_NAMES)}}})")
    from . import tiny_identity

    group = WAN_NAMES if name in WAN_NAMES else tiny_identity.GROUPS[name]
    missing = [n for n in group if not tiny_identity.is_built(root / n)]
    if not missing:
        return folder
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".build-{os.getpid()}-", dir=root))
    try:
        if name in WAN_NAMES:
            pipes = build_pipelines()
            for n in missing:
                pipes[n].save_pretrained(tmp / n, safe_serialization=True)
        else:
            tiny_identity.build(name, tmp)
        for n in missing:
            try:
                os.rename(tmp / n, root / n)
            except OSError:
                if not tiny_identity.is_built(root / n):  # not a concurrent build: real error
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
