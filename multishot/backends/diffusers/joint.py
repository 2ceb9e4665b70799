"""Joint multi-shot denoising on a diffusers WanPipeline (the holistic paradigm's generator).

All shots of a scene are denoised together as one latent video, laid out shot after shot along
the latent frame axis, with the shot-aware attention of `shot_attention.py` installed (sparse
inter-shot self-attention, window cross-attention: HoloCine arXiv 2510.20822, CineTrans arXiv
2508.11484). The pipeline's own scheduler loop runs unchanged (``output_type="latent"``); the
result is split per shot and each shot is decoded by the VAE on its own, which is what keeps
cuts clean: Wan's causal VAE would otherwise smear one shot's last frames into the next.

Long films do not fit one pass (13 shots of 81 frames at 480p is already ~426k tokens), so
`plan_chunks` splits a shot list into balanced chunks, and a `SummaryMemory` carries the
summary frames of earlier shots into the next chunk (or, in streaming mode, into the next
single shot) as extra items whose tokens every shot can see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import torch

from multishot.backends.chunks import plan_chunks  # noqa: F401  (re-exported for callers and tests)

from .joint_modes import DEFAULT_MODE, JointMode
from .shot_attention import JointLayout, install_shot_attention

MemoryMode = Literal["renoise", "clean"]
TextMode = Literal["window", "own", "holocine", "cinetrans"]


def latent_frames(num_frames: int, temporal_factor: int = 4) -> int:
    """Latent frames of a clip of `num_frames` frames for Wan's causal VAE (first frame alone,
    then `temporal_factor` frames per latent frame)."""
    if num_frames < 1 or (num_frames - 1) % temporal_factor:
        raise ValueError(f"a Wan shot needs {temporal_factor}k+1 frames (e.g. 49, 81), got {num_frames}")
    return (num_frames - 1) // temporal_factor + 1


# --------------------------------------------------------------------------------------------
# Memory of earlier shots
# --------------------------------------------------------------------------------------------


@dataclass
class SummaryMemory:
    """Summary frames of shots generated earlier, shown to the shots being generated now.

    `latents` holds the *clean* latents (x0, already in the transformer's normalised latent
    space) of one or more summary frames per earlier shot, concatenated along the frame axis:
    (1, C, sum(frames), h, w). They enter the joint video in front of the shots as memory items
    whose tokens every shot attends to (keys/values); their own outputs are thrown away.

    How they are shown (`mode`), the design choice:

    * ``"renoise"`` (default): before every step the memory frames are set to
      ``(1 - sigma) * x0 + sigma * eps`` with the current sigma and a noise `eps` fixed for the
      whole run. The memory then looks exactly like the shots around it at every step -- the
      same noise level, the same timestep modulation -- which is the only thing Wan 2.1 / 2.2
      T2V saw in training (one timestep for the whole video). Early steps carry little of the
      memory, late steps carry all of it, as for the shots' own summaries.
    * ``"clean"``: memory frames stay x0 and their tokens get timestep 0 (diffusers' Wan accepts
      per-token timesteps, shape (B, L)), so they are clean key/value context from the first
      step. Stronger conditioning, but mixed noise levels in one sequence are out of
      distribution for T2V checkpoints (Wan 2.2 TI2V trained for it), and per-token
      modulation costs 6 x dim floats per token per block.
    """

    latents: torch.Tensor
    frames: tuple[int, ...]
    prompts: tuple[str, ...]
    mode: MemoryMode = "renoise"

    def __post_init__(self) -> None:
        if self.latents.ndim != 5 or self.latents.shape[0] != 1:
            raise ValueError("memory latents must be (1, C, F, h, w)")
        if sum(self.frames) != self.latents.shape[2]:
            raise ValueError(f"memory frames {self.frames} do not add up to {self.latents.shape[2]} latent frames")
        if len(self.prompts) != len(self.frames):
            raise ValueError("one prompt per memory item")
        if self.mode not in ("renoise", "clean"):
            raise ValueError(f"unknown memory mode {self.mode!r}")

    @property
    def n_items(self) -> int:
        return len(self.frames)

    @classmethod
    def from_shots(
        cls,
        shot_latents: Sequence[torch.Tensor],
        prompts: Sequence[str],
        *,
        take: Literal["first", "last", "first+last"] = "first",
        mode: MemoryMode = "renoise",
    ) -> "SummaryMemory":
        """Memory from the clean latents of whole shots (each (1, C, f, h, w)): keep the
        summary frame(s) of each, one memory item per shot."""
        picks, frames = [], []
        for lat in shot_latents:
            f = lat.shape[2]
            idx = {"first": [0], "last": [f - 1], "first+last": sorted({0, f - 1})}[take]
            picks.append(lat[:, :, idx])
            frames.append(len(idx))
        return cls(torch.cat(picks, dim=2).detach(), tuple(frames), tuple(prompts), mode)

    def tail(self, k: int) -> "SummaryMemory":
        """Only the last `k` items: a rolling window for streaming long films."""
        k = max(1, min(k, self.n_items))
        start = sum(self.frames[:-k])
        return SummaryMemory(self.latents[:, :, start:], self.frames[-k:], self.prompts[-k:], self.mode)

    def extend(self, other: "SummaryMemory") -> "SummaryMemory":
        return SummaryMemory(torch.cat([self.latents, other.latents.to(self.latents)], dim=2),
                             self.frames + other.frames, self.prompts + other.prompts, self.mode)


@dataclass
class JointResult:
    """Frames per shot (T, H, W, 3) uint8, the clean latents per shot (1, C, f, h, w), and the
    layout that produced them."""

    frames: list[np.ndarray]
    latents: list[torch.Tensor]
    layout: JointLayout
    prompts: tuple[str, ...] = field(default=())

    def memory(self, last_k: int | None = None, *, take: Literal["first", "last", "first+last"] = "first",
               mode: MemoryMode = "renoise") -> SummaryMemory:
        """Memory for the next chunk: summary frames of the last `last_k` shots (all if None)."""
        k = len(self.latents) if last_k is None else max(1, min(last_k, len(self.latents)))
        prompts = self.prompts[-k:] if self.prompts else ("",) * k
        return SummaryMemory.from_shots(self.latents[-k:], prompts, take=take, mode=mode)


# --------------------------------------------------------------------------------------------
# Chunking
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Joint denoising
# --------------------------------------------------------------------------------------------


def _encode(pipe: Any, prompts: list[str], max_sequence_length: int, device: torch.device) -> torch.Tensor:
    """Each prompt through the pipeline's own encoder, padded to `max_sequence_length`,
    concatenated along the sequence: (1, len(prompts) * max_sequence_length, D)."""
    embeds, _ = pipe.encode_prompt(prompt=prompts, do_classifier_free_guidance=False,
                                   max_sequence_length=max_sequence_length, device=device)
    return embeds.reshape(1, -1, embeds.shape[-1])


def _transformers(pipe: Any) -> list[Any]:
    return [t for t in (getattr(pipe, "transformer", None), getattr(pipe, "transformer_2", None)) if t is not None]


def _fuse(global_prompt: str, shot_prompt: str) -> str:
    return " ".join(p.strip() for p in (global_prompt, shot_prompt) if p and p.strip())


#: Decoded frames larger than this (pixels per frame) are decoded in spatial tiles: the VAE's
#: activations grow with the frame area, not with the number of frames (it decodes causally,
#: one latent frame at a time with a feature cache).
TILE_ABOVE_PIXELS = 832 * 480


def _decode(pipe: Any, latents: torch.Tensor) -> np.ndarray:
    """One shot's (or one continuous group's) latents -> (T, H, W, 3) uint8, with the
    pipeline's own de-normalisation."""
    from diffusers.utils.torch_utils import get_module_execution_device

    vae = pipe.vae
    s_sp = getattr(pipe, "vae_scale_factor_spatial", 8)
    if latents.shape[-1] * latents.shape[-2] * s_sp * s_sp > TILE_ABOVE_PIXELS and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()
    lat = latents.to(get_module_execution_device(vae), dtype=vae.dtype)
    z = vae.config.z_dim
    mean = torch.tensor(vae.config.latents_mean).view(1, z, 1, 1, 1).to(lat.device, lat.dtype)
    inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, z, 1, 1, 1).to(lat.device, lat.dtype)
    video = vae.decode(lat / inv_std + mean, return_dict=False)[0]
    frames = pipe.video_processor.postprocess_video(video, output_type="np")[0]
    return (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)


@dataclass(frozen=True)
class GroupFrames:
    """Where the shots of one joint group sit in its latent and pixel video.

    `latent` are the latent frames per item (memory first); `pixel_bounds` the pixel frame
    ranges of the shots in the decoded video (continuous layout) or None (stacked: every shot
    is its own clip, decoded alone); `num_frames` what the pipeline is asked for."""

    latent: tuple[int, ...]
    num_frames: int
    pixel_bounds: tuple[tuple[int, int], ...] | None


def group_frames(frames_per_shot: Sequence[int], mode: JointMode, temporal_factor: int = 4,
                 memory_frames: Sequence[int] = ()) -> GroupFrames:
    """Latent and pixel spans of a group in `mode.layout`.

    continuous (HoloCine, CineTrans): the group is ONE video of 4T+1 frames; each cut falls on
    a 4t+1 pixel frame (HoloCine's rounding) and shot k's latent frames start at
    ``(cut - 1) // 4 + 1``. stacked (multishot's variant): each shot is a 4k+1 clip of its own."""
    from .holocine_text import cuts_from_shot_lengths, latent_shot_frames

    mem = tuple(int(f) for f in memory_frames)
    if mode.layout == "continuous":
        total, cuts = cuts_from_shot_lengths(list(frames_per_shot))
        lat = latent_shot_frames(total, cuts)
        edges = [0, *cuts, total]
        bounds = tuple((edges[k], edges[k + 1]) for k in range(len(frames_per_shot)))
        num = (sum(mem) + sum(lat) - 1) * temporal_factor + 1
        return GroupFrames(mem + tuple(lat), num, bounds)
    lat = [latent_frames(f, temporal_factor) for f in frames_per_shot]
    return GroupFrames(mem + tuple(lat), (sum(mem) + sum(lat) - 1) * temporal_factor + 1, None)


def _text_context(pipe: Any, mode: JointMode, text: TextMode, global_prompt: str, item_prompts: list[str],
                  n_memory: int, max_sequence_length: int, device: torch.device
                  ) -> tuple[torch.Tensor, tuple[tuple[tuple[int, int], ...], ...], int]:
    """(prompt embeddings, per-item text spans, tokens per prompt) of one text mode."""
    L = max_sequence_length
    n = len(item_prompts)
    if text == "holocine":
        from .holocine_text import holocine_prompt, holocine_token_spans, holocine_visible_text

        shots = item_prompts[n_memory:]
        prompt = holocine_prompt(global_prompt, shots)
        spans, enc = holocine_token_spans(pipe.tokenizer, prompt, L)
        if int(enc["attention_mask"].sum()) >= L or len(spans.shots) != len(shots):
            from .holocine_text import clean_whitespace

            need = len(pipe.tokenizer(clean_whitespace(prompt))["input_ids"])
            raise ValueError(f"HoloCine's one prompt for {len(shots)} shots needs {need} tokens but the text "
                             f"encoder reads {L} (max_sequence_length): shorten the shot descriptions or "
                             f"split the scene")
        visible = holocine_visible_text(spans, L)
        # Memory items read what every shot reads in common: the global caption and the pads.
        common = tuple(sorted(set.intersection(*[set(_expand(v)) for v in visible]))) if visible else ()
        mem_spans = (_ranges(common),) * n_memory
        return _encode(pipe, [prompt], L, device), mem_spans + visible, L
    if text == "cinetrans":
        # CineTrans (arXiv 2508.11484, general_pr): [prompt_0 .. prompt_{n-1}, general], each
        # encoded on its own; item k reads its own prompt and the general one.
        spans = tuple(((k * L, (k + 1) * L), (n * L, (n + 1) * L)) for k in range(n))
        return _encode(pipe, item_prompts + [global_prompt], L, device), spans, L
    if text == "window":
        from .shot_attention import window_text_spans

        return _encode(pipe, [global_prompt] + item_prompts, L, device), window_text_spans(n, L), L
    from .shot_attention import own_text_spans

    return _encode(pipe, [_fuse(global_prompt, p) for p in item_prompts], L, device), own_text_spans(n, L), L


def _expand(ranges: Sequence[tuple[int, int]]) -> list[int]:
    return [t for a, b in ranges for t in range(a, b)]


def _ranges(tokens: Sequence[int]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for t in tokens:
        if out and out[-1][1] == t:
            out[-1][1] = t + 1
        else:
            out.append([t, t + 1])
    return tuple((a, b) for a, b in out)


@torch.no_grad()
def joint_denoise_latents(
    pipe: Any,
    shot_prompts: Sequence[str],
    global_prompt: str,
    negative: str,
    frames_per_shot: Sequence[int],
    height: int,
    width: int,
    steps: int,
    guidance: float,
    generator: torch.Generator | None,
    memory: SummaryMemory | None = None,
    *,
    mode: JointMode | None = None,
    summary: Literal["first", "first+last", "none", "all"] | None = None,
    summary_stride: int = 1,
    blocks: Sequence[int] | None = None,
    outside: Literal["full", "isolated"] | None = None,
    rope: Literal["global", "per_shot"] = "global",
    text: TextMode | None = None,
    guidance_2: float | None = None,
    max_sequence_length: int = 512,
    max_kv_rows: int | None = None,
    decode: bool = True,
) -> JointResult:
    """Denoise all shots jointly; return frames and clean latents per shot.

    `mode` (a profile's `joint:` section) picks the published mechanism: layout, text and
    self-attention (joint_modes.py). The keyword arguments `summary`, `blocks`, `outside` and
    `text` override single settings of multishot's own variant (benchmarks, ablations).

    Text modes: ``holocine`` builds HoloCine's one prompt (``[global caption] ... [shot cut]
    ...``), tokenised once, each shot reading the global span and its own; ``cinetrans``
    encodes the shot prompts and the general prompt separately; ``window`` encodes
    ``[global, shot_1, ..., shot_N]`` separately and lets shot i read global + shot i;
    ``own`` encodes ``global + " " + shot_i`` as one prompt per shot. The negative prompt is
    always read densely (both papers). In every mode the noise is drawn for the whole group
    at once and one scheduler runs over it."""
    if len(shot_prompts) != len(frames_per_shot) or not shot_prompts:
        raise ValueError(f"{len(shot_prompts)} shot prompts for {len(frames_per_shot)} frame counts")
    mode = mode or DEFAULT_MODE
    text = text or mode.text
    device = pipe._execution_device
    models = _transformers(pipe)
    if not models:
        raise ValueError("the pipeline has no transformer")
    cfg = models[0].config
    p_t, p_h, p_w = cfg.patch_size
    s_sp, s_t = pipe.vae_scale_factor_spatial, pipe.vae_scale_factor_temporal
    if height % (s_sp * p_h) or width % (s_sp * p_w):
        raise ValueError(f"height and width must be multiples of {s_sp * p_h}, got {height}x{width}")
    if p_t != 1:
        raise ValueError("joint layout assumes temporal patch size 1 (all Wan 2.1/2.2 models)")
    h, w = height // s_sp, width // s_sp
    C = cfg.in_channels

    # Memory items first, then the shots: one item list drives latents, layout and prompts.
    mem_frames = memory.frames if memory is not None else ()
    mem_prompts = memory.prompts if memory is not None else ()
    n_mem = len(mem_frames)
    F_mem = sum(mem_frames)
    spans = group_frames(frames_per_shot, mode, s_t, mem_frames)
    shot_lat = list(spans.latent[n_mem:])
    item_prompts = list(mem_prompts) + list(shot_prompts)
    prompt_embeds, text_spans, text_tokens = _text_context(pipe, mode, text, global_prompt, item_prompts, n_mem,
                                                           max_sequence_length, device)
    settings = mode.layout_kwargs(cfg.num_layers)
    for key, value in (("summary", summary), ("outside", outside)):
        if value is not None:
            settings[key] = value
    if blocks is not None:
        settings["blocks"] = tuple(blocks)
    layout = JointLayout(frames=spans.latent, grid=(h // p_h, w // p_w), n_memory=n_mem, text_tokens=text_tokens,
                         text_spans=text_spans, summary_stride=summary_stride, rope=rope, **settings)
    do_cfg = guidance > 1.0
    negative_embeds = _encode(pipe, [negative], max_sequence_length, device) if do_cfg else None

    # Shot noise first, memory noise after, so a seed gives the same shots with or without memory.
    from diffusers.utils.torch_utils import randn_tensor

    noise = randn_tensor((1, C, sum(shot_lat), h, w), generator=generator, device=device, dtype=torch.float32)
    pipe.scheduler.set_timesteps(steps, device=device)
    sigmas = pipe.scheduler.sigmas.to(torch.float32)
    if memory is not None:
        if tuple(memory.latents.shape[1:2]) + tuple(memory.latents.shape[3:]) != (C, h, w):
            raise ValueError(f"memory latents {tuple(memory.latents.shape)} do not match ({C}, *, {h}, {w})")
        x0_mem = memory.latents.to(device=device, dtype=torch.float32)
        eps_mem = randn_tensor(tuple(x0_mem.shape), generator=generator, device=device, dtype=torch.float32)

        def mem_at(i: int) -> torch.Tensor:
            if memory.mode == "clean":
                return x0_mem
            s = sigmas[min(i, len(sigmas) - 1)].to(device)
            return (1.0 - s) * x0_mem + s * eps_mem

        latents = torch.cat([mem_at(0), noise], dim=2)
    else:
        latents = noise

    def on_step_end(_pipe: Any, i: int, _t: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        lat = kwargs["latents"]
        lat[:, :, :F_mem] = mem_at(i + 1).to(lat.dtype)
        return {"latents": lat}

    hooks = []
    if memory is not None and memory.mode == "clean":
        n_mem_tokens = F_mem * layout.tokens_per_frame

        def clean_memory_timesteps(_module: Any, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict]:
            ts, hs = kwargs["timestep"], kwargs["hidden_states"]
            B = hs.shape[0]
            ts = ts[:, None].expand(B, layout.num_tokens).clone() if ts.ndim == 1 else ts.clone()
            ts[:, :n_mem_tokens] = 0
            kwargs["timestep"] = ts
            return args, kwargs

        hooks = [m.register_forward_pre_hook(clean_memory_timesteps, with_kwargs=True) for m in models]

    call_kwargs: dict[str, Any] = dict(
        prompt_embeds=prompt_embeds, negative_prompt_embeds=negative_embeds, latents=latents,
        height=height, width=width, num_frames=spans.num_frames,
        num_inference_steps=steps, guidance_scale=guidance, generator=generator,
        output_type="latent", max_sequence_length=max_sequence_length, return_dict=False,
    )
    if memory is not None:
        call_kwargs.update(callback_on_step_end=on_step_end, callback_on_step_end_tensor_inputs=["latents"])
    if guidance_2 is not None and getattr(pipe.config, "boundary_ratio", None) is not None:
        call_kwargs["guidance_scale_2"] = guidance_2

    try:
        with install_shot_attention(models, layout, max_kv_rows=max_kv_rows) as handle:
            handle.watch_negative(models, negative_embeds)
            out = pipe(**call_kwargs)[0]
    finally:
        for hk in hooks:
            hk.remove()

    shots = torch.split(out[:, :, F_mem:], shot_lat, dim=2)
    latents_out = [s.detach().clone() for s in shots]
    frames: list[np.ndarray] = []
    if decode and spans.pixel_bounds is not None:
        # One decode of the whole group, then the pixel frames cut at the planned frames.
        video = _decode(pipe, out[:, :, F_mem:])
        frames = [video[a:b] for a, b in spans.pixel_bounds]
    elif decode:
        frames = [_decode(pipe, s) for s in latents_out]
    if decode:
        pipe.maybe_free_model_hooks()
    return JointResult(frames=frames, latents=latents_out, layout=layout, prompts=tuple(shot_prompts))


def joint_denoise(
    pipe: Any,
    shot_prompts: Sequence[str],
    global_prompt: str,
    negative: str,
    frames_per_shot: Sequence[int],
    height: int,
    width: int,
    steps: int,
    guidance: float,
    generator: torch.Generator | None,
    memory: SummaryMemory | None = None,
    **options: Any,
) -> list[np.ndarray]:
    """Joint generation of several shots with one WanPipeline; one (T, H, W, 3) uint8 array per
    shot. This is the entry point backends call; `joint_denoise_latents` also returns the
    clean latents, from which `JointResult.memory()` builds the next chunk's memory."""
    return joint_denoise_latents(pipe, shot_prompts, global_prompt, negative, frames_per_shot, height, width,
                                 steps, guidance, generator, memory, **options).frames


@torch.no_grad()
def encode_summaries(
    pipe: Any,
    shots: Sequence[Sequence[np.ndarray]],
    prompts: Sequence[str],
    height: int,
    width: int,
    *,
    take: Literal["first", "last", "first+last"] = "first",
    mode: MemoryMode = "renoise",
) -> SummaryMemory:
    """Memory from frames already rendered (and cached) rather than from latents in hand.

    Each summary frame is VAE-encoded on its own: Wan's causal VAE turns a single frame into
    exactly one latent frame (as the first frame of any clip), normalised the way the pipeline
    normalises its latents. Building memory from the cached frames means a resumed render, or
    a streaming render continued in a later session, conditions exactly as an uninterrupted one.
    """
    from diffusers.utils.torch_utils import get_module_execution_device
    from PIL import Image

    vae = pipe.vae
    device = get_module_execution_device(vae)
    z = vae.config.z_dim
    mean = torch.tensor(vae.config.latents_mean).view(1, z, 1, 1, 1).to(device, torch.float32)
    inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, z, 1, 1, 1).to(device, torch.float32)
    picks: list[torch.Tensor] = []
    counts: list[int] = []
    for frames in shots:
        last = len(frames) - 1
        indices = {"first": [0], "last": [last], "first+last": sorted({0, last})}[take]
        for i in indices:
            image = np.array(Image.fromarray(np.asarray(frames[i])).resize((width, height), Image.BICUBIC))
            x = torch.from_numpy(image).to(device, torch.float32).permute(2, 0, 1)[None, :, None] / 127.5 - 1.0
            latent = vae.encode(x.to(vae.dtype)).latent_dist.mode().to(torch.float32)
            picks.append((latent - mean) * inv_std)
        counts.append(len(indices))
    return SummaryMemory(torch.cat(picks, dim=2), tuple(counts), tuple(prompts), mode)
