"""Consistent self-attention across a batch of stills: one scene's keyframes generated together.

StoryDiffusion (arXiv 2405.01434) makes a set of images show the same people without training:
while the images are denoised together, each image's self-attention also reads a random share
of the *other* images' tokens, so appearance (faces, clothes, colours) is negotiated across the
set while each image keeps its own layout from its own prompt. What we take from the paper and
its public code, restated for a DiT (Wan) instead of an SDXL UNet:

* the share is sampled per *source* image: for every step, each image's tokens are kept with
  probability ``sample_ratio`` and every reader sees the same kept tokens of that image (the
  memory-efficient form of the reference, which samples indices per image, not per query);
  a reader always sees all of its own tokens;
* the sample is drawn again at every denoising step, and the first step(s) run plain attention
  so each image's composition forms from its own prompt first (``start_step``);
* identity images ("id" images in the reference) are read by the others; the reference
  generates them first and stores their sampled tokens per step. Here the identity images are
  the character bank's portraits, given as clean latents and re-noised to the current noise
  level at every step (an *anchor* item): their tokens at step t are what a generation of that
  very image would hold at t, and nothing reads back into them. A keyframe reads only the
  anchors of the characters it shows (the reference reads only the current character's bank),
  and the other keyframes of the scene that share a character with it.

Differences on purpose: the reference applies the rule only in the UNet decoder and skips it
at random on some layer calls; a DiT has no decoder, so `blocks` names a band (default all),
and there is no random skipping, so the film is reproducible: the token samples come from a
CPU generator seeded from the items' seeds and the step, on any device.

Every keyframe is a one-frame Wan text-to-video generation (Wan's `text_to_image` role), the
items stacked in the batch dimension; the projections, RoPE and dispatch are the shot-attention
machinery's (shot_attention.py), so outputs match the stock processor bit for bit wherever an
item reads nothing but itself (``sample_ratio = 0`` reduces exactly to independent generation).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Sequence

import torch

from .shot_attention import _apply_rotary_emb, _dispatch, _heads

Impl = Literal["gather", "mask"]


def mix_seed(*parts: object) -> int:
    """A 63-bit seed from any printable parts (stable across processes, unlike `hash`)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


@dataclass(frozen=True)
class ConsistentPlan:
    """Who reads whom in one batch, and how many tokens are sampled.

    Items are the batch rows in order: `n_anchors` anchors (identity images, re-noised every
    step) first, then the generated stills. ``reads[i]`` lists the other items whose sampled
    tokens item i's self-attention also reads; an anchor reads nothing."""

    reads: tuple[tuple[int, ...], ...]
    sample_ratio: float
    seed: int
    n_anchors: int = 0
    start_step: int = 1
    #: Inclusive [first, last] transformer blocks that read the others; None = every block.
    blocks: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        n = len(self.reads)
        if not 0.0 <= self.sample_ratio <= 1.0:
            raise ValueError(f"sample_ratio must be in [0, 1], got {self.sample_ratio}")
        if not 0 <= self.n_anchors < n or n == 0:
            raise ValueError(f"n_anchors={self.n_anchors} must leave at least one still among {n} items")
        for i, js in enumerate(self.reads):
            if i < self.n_anchors and js:
                raise ValueError(f"anchor {i} must read nothing (it is a given image), got {js}")
            if any(j == i or not 0 <= j < n for j in js):
                raise ValueError(f"item {i} reads {js}: items read other items of the batch only")

    @property
    def n_items(self) -> int:
        return len(self.reads)

    def active(self, step: int, block: int) -> bool:
        """Whether `block` at denoising `step` reads across the batch."""
        if step < self.start_step or self.sample_ratio <= 0.0:
            return False
        return self.blocks is None or self.blocks[0] <= block <= self.blocks[1]

    def keep(self, step: int, tokens: int) -> torch.Tensor:
        """(items, tokens) bool: the tokens of each item the others may read at `step`. Drawn on
        the CPU from (seed, step), so every device and every run draws the same sample."""
        gen = torch.Generator(device="cpu").manual_seed(mix_seed("consistent", self.seed, step, tokens))
        return torch.rand((self.n_items, tokens), generator=gen) < self.sample_ratio

    def key_mask(self, step: int, tokens: int) -> torch.Tensor:
        """(items, items * tokens) bool over the batch's tokens laid end to end: True where item
        i's queries may attend (all of its own tokens, the kept tokens of the items it reads)."""
        keep = self.keep(step, tokens)
        mask = torch.zeros((self.n_items, self.n_items, tokens), dtype=torch.bool)
        for i, js in enumerate(self.reads):
            mask[i, i] = True
            for j in js:
                mask[i, j] = keep[j]
        return mask.reshape(self.n_items, self.n_items * tokens)


def scene_reads(casts: Sequence[frozenset[str]], anchors: Sequence[str]) -> tuple[tuple[int, ...], ...]:
    """The reading rule for a scene: anchors (one per character, in `anchors` order) come
    first and read nothing; a still reads the anchors of its own characters and every other
    still that shares a character with it (stills without characters read each other), so one
    character's look is never pulled onto another's shot."""
    n_a = len(anchors)
    reads: list[tuple[int, ...]] = [() for _ in anchors]
    for i, cast in enumerate(casts):
        own = [a for a, cid in enumerate(anchors) if cid in cast]
        others = [n_a + j for j, other in enumerate(casts)
                  if j != i and ((cast & other) or (not cast and not other))]
        reads.append(tuple(own + others))
    return tuple(reads)


@dataclass
class ConsistentState:
    """The current denoising step, shared by every processor of one installation (the
    pipeline's step callback advances it), and what tests asked to be recorded."""

    step: int = 0
    #: When a list: every active call appends {"block", "step", "mask", "probs"} (impl "mask").
    record: list[dict[str, Any]] | None = None
    _keep: dict[tuple[int, int, str], torch.Tensor] = field(default_factory=dict)


def gathered_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, plan: ConsistentPlan,
                       keep: torch.Tensor, attn_fn: Callable[..., torch.Tensor]) -> torch.Tensor:
    """(B, L, H, D) in and out. Item i attends to its own L tokens followed by the kept tokens
    of every item it reads, gathered into one key set: one dense kernel call per item, no
    B*L-wide mask. Items that read nothing share one batched call."""
    out = torch.empty_like(query)
    alone = [i for i, js in enumerate(plan.reads) if not js]
    if alone:
        idx = torch.tensor(alone, device=query.device)
        out[idx] = attn_fn(query[idx], key[idx], value[idx])
    for i, js in enumerate(plan.reads):
        if not js:
            continue
        ks = [key[i]] + [key[j][keep[j]] for j in js]
        vs = [value[i]] + [value[j][keep[j]] for j in js]
        out[i:i + 1] = attn_fn(query[i:i + 1], torch.cat(ks)[None], torch.cat(vs)[None])
    return out


def masked_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The same rule written as explicit softmax over every token of the batch, for tests and
    inspection: returns the output (B, L, H, D) and the probabilities (B, H, L, B*L), which are
    exactly zero where `mask` (B, B*L) is False."""
    b, n, h, d = query.shape
    keys = key.reshape(1, b * n, h, d).expand(b, -1, -1, -1)
    values = value.reshape(1, b * n, h, d).expand(b, -1, -1, -1)
    scores = torch.einsum("bqhd,bkhd->bhqk", query.float(), keys.float()) / d ** 0.5
    scores = scores.masked_fill(~mask.to(query.device)[:, None, None, :], float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    out = torch.einsum("bhqk,bkhd->bqhd", probs, values.float()).to(query.dtype)
    return out, probs


class ConsistentAttnProcessor:
    """Replaces diffusers' ``WanAttnProcessor`` on one block's self-attention (attn1): the
    stock math (projections, RMS qk-norm, RoPE, output projection) with the key set widened
    by the plan. Where the plan is inactive (early steps, blocks outside the band, ratio 0)
    it makes the stock call on the whole batch, so those outputs are the stock ones exactly."""

    _attention_backend: Any = None
    _parallel_config: Any = None

    def __init__(self, plan: ConsistentPlan, block: int, state: ConsistentState, impl: Impl = "gather") -> None:
        self.plan = plan
        self.block = block
        self.state = state
        self.impl = impl

    def __call__(self, attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None,
                 rotary_emb: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        if encoder_hidden_states is not None:
            raise ValueError("ConsistentAttnProcessor serves self-attention (attn1) only")
        query, key, value = _heads(attn, hidden_states, None)
        if rotary_emb is not None:
            query = _apply_rotary_emb(query, *rotary_emb)
            key = _apply_rotary_emb(key, *rotary_emb)

        step = self.state.step
        if query.shape[0] != self.plan.n_items:
            raise ValueError(f"consistent attention planned {self.plan.n_items} items, the batch has {query.shape[0]}")
        if attention_mask is not None or not self.plan.active(step, self.block):
            from diffusers.models.attention_dispatch import dispatch_attention_fn

            out = dispatch_attention_fn(query, key, value, attn_mask=attention_mask, dropout_p=0.0, is_causal=False,
                                        backend=self._attention_backend, parallel_config=self._parallel_config)
        else:
            tokens = query.shape[1]
            cache_key = (step, tokens, str(query.device))
            keep = self.state._keep.get(cache_key)
            if keep is None:
                self.state._keep.clear()
                keep = self.state._keep[cache_key] = self.plan.keep(step, tokens).to(query.device)
            if self.impl == "mask" or self.state.record is not None:
                mask = self.plan.key_mask(step, tokens)
                out, probs = masked_attention(query, key, value, mask)
                if self.state.record is not None:
                    self.state.record.append({"block": self.block, "step": step, "mask": mask,
                                              "probs": probs.detach().cpu()})
                if self.impl == "gather":  # recorded for inspection; the output stays the kernel's
                    out = gathered_attention(query, key, value, self.plan, keep, _dispatch(self._attention_backend))
            else:
                out = gathered_attention(query, key, value, self.plan, keep, _dispatch(self._attention_backend))
        out = out.flatten(2, 3).type_as(query)
        out = attn.to_out[0](out)
        return attn.to_out[1](out)


@contextlib.contextmanager
def consistent_attention(transformer: Any, plan: ConsistentPlan, *, impl: Impl = "gather",
                         state: ConsistentState | None = None) -> Iterator[ConsistentState]:
    """Install consistent self-attention on every block of a Wan transformer (Wan 2.2's second
    expert too, when given as a list), yield the shared state, and put the stock processors back."""
    models = [transformer] if hasattr(transformer, "blocks") else [t for t in transformer if t is not None]
    state = state or ConsistentState()
    saved: list[tuple[Any, Any]] = []
    try:
        for model in models:
            for b, block in enumerate(model.blocks):
                old = block.attn1.processor
                proc = ConsistentAttnProcessor(plan, b, state, impl)
                proc._attention_backend = getattr(old, "_attention_backend", None)
                proc._parallel_config = getattr(old, "_parallel_config", None)
                saved.append((block.attn1, old))
                block.attn1.set_processor(proc)
        yield state
    finally:
        for module, old in reversed(saved):
            module.set_processor(old)


# --------------------------------------------------------------------------------------------
# Generating a batch of stills together
# --------------------------------------------------------------------------------------------


def _latent_stats(pipe: Any, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    z = pipe.vae.config.z_dim
    mean = torch.tensor(pipe.vae.config.latents_mean).view(1, z, 1, 1, 1).to(like.device, like.dtype)
    inv_std = 1.0 / torch.tensor(pipe.vae.config.latents_std).view(1, z, 1, 1, 1).to(like.device, like.dtype)
    return mean, inv_std


def encode_still(pipe: Any, image: Any, height: int, width: int) -> torch.Tensor:
    """A PIL image as a normalised one-frame Wan latent (1, C, 1, h, w), float32 — what the
    denoiser holds at noise level 0 for that image."""
    device = pipe._execution_device
    video = pipe.video_processor.preprocess_video([image], height=height, width=width)
    video = video.to(device=device, dtype=pipe.vae.dtype)
    dist = pipe.vae.encode(video).latent_dist
    latents = dist.mode().float()
    mean, inv_std = _latent_stats(pipe, latents)
    return (latents - mean) * inv_std


def generate_together(pipe: Any, prompts: Sequence[str], negatives: Sequence[str], seeds: Sequence[int], *,
                      plan: ConsistentPlan, anchors: Sequence[torch.Tensor] = (),
                      anchor_prompts: Sequence[str] = (), height: int, width: int,
                      steps: int, guidance: float, generator: Callable[[int], Any],
                      extra: dict[str, Any] | None = None, impl: Impl = "gather",
                      state: ConsistentState | None = None,
                      on_step: Callable[[int, int], None] | None = None, output_type: str = "np") -> Any:
    """Denoise ``len(prompts)`` one-frame stills as one batch under `plan`, after `anchors`
    (clean latents from `encode_still`, one per anchor item, each read under its
    `anchor_prompts` entry: the text its tokens are formed with, e.g. the character's portrait
    prompt). Returns the pipeline's (B, 1, H,
    W, 3) float frames of the stills (anchors dropped; with ``output_type="latent"`` their final
    latents). Each still's starting noise is what an
    independent generation with its seed would draw; an anchor is re-noised every step with
    noise seeded from the plan, so it holds exactly ``(1 - sigma) x0 + sigma * eps``."""
    n_a = len(anchors)
    if n_a != plan.n_anchors or n_a + len(prompts) != plan.n_items:
        raise ValueError(f"plan is for {plan.n_anchors} anchors + {plan.n_items - plan.n_anchors} stills, "
                         f"got {n_a} + {len(prompts)}")
    device = pipe._execution_device
    state = state or ConsistentState()
    state.step = 0
    kwargs: dict[str, Any] = dict(extra or {})
    kwargs.update(height=height, width=width, num_frames=1, num_inference_steps=steps, guidance_scale=guidance,
                  output_type=output_type)
    gens = [generator(int(s)) for s in seeds]
    if not n_a:
        latents = None
    else:
        # The stills' noise exactly as the pipeline draws it from their generators, and the
        # anchors' clean latents noised to the first sigma (the scheduler's own schedule).
        from diffusers.utils.torch_utils import randn_tensor

        x0 = torch.cat([a.to(device=device, dtype=torch.float32) for a in anchors])
        noise_gen = torch.Generator(device="cpu").manual_seed(mix_seed("anchor-noise", plan.seed))
        eps = torch.randn(x0.shape, generator=noise_gen).to(device)
        sched = copy.deepcopy(pipe.scheduler)
        sched.set_timesteps(steps, device=device)
        sigmas = [float(s) for s in sched.sigmas]
        still_noise = randn_tensor((len(prompts), *x0.shape[1:]), generator=gens, device=device,
                                   dtype=torch.float32)
        latents = torch.cat([(1 - sigmas[0]) * x0 + sigmas[0] * eps, still_noise])
        if len(anchor_prompts) != n_a:
            raise ValueError("give one prompt per anchor")
        prompts = [*anchor_prompts, *prompts]
        negatives = [negatives[0] if negatives else ""] * n_a + list(negatives)

    def callback(_pipe: Any, i: int, _t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        state.step = i + 1
        if on_step is not None:
            on_step(i + 1, steps)
        if not n_a:
            return {}
        lat = tensors["latents"]
        sigma = sigmas[min(i + 1, len(sigmas) - 1)]
        lat[:n_a] = ((1 - sigma) * x0 + sigma * eps).to(lat.dtype)
        return {"latents": lat}

    transformers = [getattr(pipe, "transformer", None), getattr(pipe, "transformer_2", None)]
    # Given text embeddings (`extra["prompt_embeds"]`, one row per item, anchors first) replace
    # the prompts: benchmarks at real size run without the 5B-parameter text encoder.
    text = {} if "prompt_embeds" in kwargs else {"prompt": list(prompts), "negative_prompt": list(negatives)}
    with consistent_attention(transformers, plan, impl=impl, state=state):
        out = pipe(**text, generator=None if n_a else gens, latents=latents,
                   callback_on_step_end=callback, **kwargs)
    frames = out.frames
    return frames[n_a:]
