"""A scene's keyframes as one consistent batch, and end keyframes composed from start ones.

Two keyframe mechanisms of the diffusers backend (issue 15), both on the `text_to_image` role
(a Wan text-to-video pipeline at one frame):

* `scene_stills`: the stills of one scene denoised together under consistent self-attention
  (consistent_attention.py, StoryDiffusion arXiv 2405.01434), the characters' bank images read
  as re-noised identity anchors;
* `edit_still`: image-to-image by SDEdit (arXiv 2108.01073): a given picture (the start keyframe
  re-framed by the shot's move) is encoded, noised to `strength` and denoised under the end
  keyframe's prompt, through diffusers' own WanVideoToVideoPipeline at one frame, built from the
  loaded pipeline's modules (no second copy of the weights).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from multishot.backends.base import Capability, CapabilityError, Frame, ShotRequest

from .frames import frame_to_pil

if TYPE_CHECKING:
    from .backend import DiffusersBackend

#: Pipelines whose one-frame call is a Wan text-to-image model these mechanisms can drive.
STILL_PIPELINES = frozenset({"WanPipeline"})


def _check(backend: DiffusersBackend, what: str) -> None:
    role = backend._role(Capability.TEXT_TO_IMAGE)
    if role.pipeline not in STILL_PIPELINES:
        raise CapabilityError(f"profile `{backend.name}`: {what} drives a Wan text-to-image role "
                              f"({', '.join(sorted(STILL_PIPELINES))}), not {role.pipeline}")


def chunks(n: int, group: int) -> list[range]:
    """Consecutive batches of at most `group` stills (a scene larger than memory allows)."""
    return [range(s, min(n, s + group)) for s in range(0, n, max(1, group))]


def portrait_prompt(description: str) -> str:
    """The text an identity anchor's tokens are formed under (the bank portrait's own words)."""
    return f"portrait, medium shot, {description}, neutral background."


def scene_stills(backend: DiffusersBackend, reqs: Sequence[ShotRequest],
                 anchors: Mapping[str, Frame] | None = None, *, impl: str = "gather",
                 record: list[dict[str, Any]] | None = None) -> list[Frame]:
    """One still per request, generated together. The requests' own seeds draw their noise;
    the token samples are seeded from all of them, so the scene is reproducible and a change
    to any of its keyframes re-renders the whole batch (the cache key says so)."""
    import torch

    from .consistent_attention import ConsistentPlan, ConsistentState, encode_still, generate_together, mix_seed, \
        scene_reads

    _check(backend, "consistent keyframes")
    if not reqs:
        return []
    sizes = {(r.width, r.height) for r in reqs}
    if len(sizes) > 1:
        raise ValueError(f"the stills of one batch need one frame size, got {sorted(sizes)}")
    spec = backend.profile.identity.consistent
    role = backend._role(Capability.TEXT_TO_IMAGE)
    bank = dict(anchors or {}) if spec.anchors else {}
    out: list[Frame | None] = [None] * len(reqs)

    for part in chunks(len(reqs), spec.group):
        batch = [reqs[i] for i in part]
        casts = [frozenset(c.id for c in r.layout.characters) for r in batch]
        described = {c.id: c.description for r in batch for c in r.layout.characters}
        cast_ids = [cid for cid in sorted(set().union(*casts)) if cid in bank]
        plan = ConsistentPlan(reads=scene_reads(casts, cast_ids), sample_ratio=spec.sample_ratio,
                              seed=mix_seed("scene", *[r.seed for r in batch]), n_anchors=len(cast_ids),
                              start_step=spec.start_step, blocks=spec.blocks)

        def work(pipe: Any, batch: list[ShotRequest] = batch, plan: ConsistentPlan = plan,
                 cast_ids: list[str] = cast_ids) -> np.ndarray:
            gw, gh = backend._size(role, batch[0], pipe)
            with torch.no_grad():
                latents = [encode_still(pipe, frame_to_pil(bank[cid], gw, gh), gh, gw) for cid in cast_ids]
            extra: dict[str, Any] = dict(role.call)
            if role.guidance_2 is not None:
                extra["guidance_scale_2"] = role.guidance_2
            state = ConsistentState(record=record)
            return generate_together(
                pipe, [r.prompt for r in batch], [r.negative for r in batch], [r.seed for r in batch], plan=plan,
                anchors=latents, anchor_prompts=[portrait_prompt(described[c]) for c in cast_ids],
                height=gh, width=gw, steps=role.steps, guidance=role.guidance, generator=backend._generator,
                extra=extra, impl=impl, state=state, on_step=backend.on_step)  # type: ignore[arg-type]

        frames = backend._run(Capability.TEXT_TO_IMAGE, work, shot=",".join(r.layout.shot_id for r in batch))
        for i, video, r in zip(part, frames, batch, strict=True):
            out[i] = backend._finish(np.asarray(video, dtype=np.float32), r, 1)[0]
    return [f for f in out if f is not None]


def edit_still(backend: DiffusersBackend, req: ShotRequest, image: Frame, strength: float) -> Frame:
    """`image` re-noised to `strength` (0: kept, 1: pure noise) and denoised under `req`'s
    prompt with `req.seed`: the image's composition and colours survive, the prompt decides
    the detail."""
    _check(backend, "composing a keyframe from another (SDEdit)")
    role = backend._role(Capability.TEXT_TO_IMAGE)

    def work(pipe: Any) -> np.ndarray:
        gw, gh = backend._size(role, req, pipe)
        out = sdedit(pipe, frame_to_pil(image, gw, gh), req.prompt, req.negative, height=gh, width=gw,
                     steps=role.steps, guidance=role.guidance, strength=strength,
                     generator=backend._generator(req.seed), extra=dict(role.call))
        return np.asarray(out[0], dtype=np.float32)

    video = backend._run(Capability.TEXT_TO_IMAGE, work, shot=req.layout.shot_id, loras=req.loras)
    return backend._finish(video, req, 1)[0]


def sdedit(pipe: Any, image: Any, prompt: str, negative: str, *, height: int, width: int, steps: int,
           guidance: float, strength: float, generator: Any, extra: dict[str, Any] | None = None,
           output_type: str = "np") -> Any:
    """One still by diffusers' WanVideoToVideoPipeline at one frame, sharing `pipe`'s modules."""
    from diffusers import WanVideoToVideoPipeline

    # A fresh scheduler: the text-to-video call pins its begin index at step 0, and SDEdit
    # starts part-way down the schedule.
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
    edit = WanVideoToVideoPipeline(tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder, vae=pipe.vae,
                                   transformer=pipe.transformer, scheduler=scheduler)
    edit.set_progress_bar_config(disable=True)
    out = edit(video=[image], prompt=prompt, negative_prompt=negative, height=height, width=width,
               num_inference_steps=steps, guidance_scale=guidance, strength=strength, generator=generator,
               output_type=output_type, **(extra or {}))
    return out.frames
