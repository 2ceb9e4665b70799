"""The diffusers backend: real video models, described by a profile, behind `base.Backend`.

Each capability maps to one role of the profile. A call resolves the role's pipeline from the
worker's cache (loading it once), places it under its memory strategy, runs the pipeline's own
``__call__`` with a generator seeded from the request, and returns exactly the requested number
of (H, W, 3) uint8 frames at the requested size (see frames.py for counts and sizes).

On CUDA out-of-memory the shot is retried one step down the role's memory ladder; every such
step is logged and appended to `events`, which the engine copies into the run manifest.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import Any, TypeVar

import numpy as np

from multishot.backends.base import Capability, CapabilityError, Frame, ShotRequest

from . import memory
from .frames import frame_to_pil, generation_size, resample_frames, resize_frames, to_uint8, valid_frame_count
from .loading import PIPELINES, LoadedPipeline, PipelineCache
from .profile import (FIRST_LAST_CONDITIONED, IMAGE_CONDITIONED, Profile, ProfileError, RoleSpec, load_profile,
                      profile_identity)
from .speed import step_cache

log = logging.getLogger("multishot.backends.diffusers")
T = TypeVar("T")
StepCallback = Callable[[int, int], None]


class OutOfMemory(RuntimeError):
    """Out of GPU memory even with the lightest strategy the profile allows."""


def default_device() -> str:
    """`cuda` (or `cpu`); a rank of a worker spanning several GPUs (`render --cp`) names its own
    GPU, so offloading hooks and its collectives stay on it rather than on GPU 0."""
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    from .ulysses import degree

    return f"cuda:{torch.cuda.current_device()}" if degree() > 1 else "cuda"


def temporal_factor(pipe: Any) -> int:
    """Frames per latent frame of the pipeline's VAE (Wan 4, LTX 8)."""
    return int(getattr(pipe, "vae_scale_factor_temporal", None)
               or getattr(pipe, "vae_temporal_compression_ratio", None) or 1)


def spatial_multiple(pipe: Any) -> int:
    """Pixels per latent token side: VAE factor x transformer patch (Wan 2.1: 8x2, Wan 2.2 5B:
    16x2, LTX: 32x1); at least 16, which Wan's input check demands."""
    vae = int(getattr(pipe, "vae_scale_factor_spatial", None)
              or getattr(pipe, "vae_spatial_compression_ratio", None) or 8)
    patch: Any = getattr(pipe, "transformer_spatial_patch_size", None)
    transformer = getattr(pipe, "transformer", None) or getattr(pipe, "transformer_2", None)
    if patch is None and transformer is not None:
        patch = getattr(transformer.config, "patch_size", 1)
    if isinstance(patch, (tuple, list)):
        patch = patch[-1]
    return max(16, vae * int(patch or 1))


def _frames_of(output: Any) -> np.ndarray:
    """(T, H, W, 3) frames from a pipeline output (video pipelines: `.frames`, image pipelines:
    `.images`). A tensor output (``output_type="pt"``: (T, 3, H, W) or (3, H, W) in [0, 1], on
    the generating device) is turned into uint8 there, with the arithmetic of `to_uint8`, and
    only then copied to the host: a quarter of the bytes, and the float-to-uint8 pass over 100
    million values runs on the GPU instead of one CPU thread (about 0.3 s of a 4 s distilled
    shot; scripts/bench_fast.py times it). Arrays come back as float frames as before."""
    video = output.frames[0] if hasattr(output, "frames") else output.images[0]
    if hasattr(video, "permute"):  # a torch tensor
        import torch

        video = video if video.ndim == 4 else video[None]
        levels = (video.float().clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8)
        return levels.permute(0, 2, 3, 1).contiguous().cpu().numpy()
    video = np.asarray(video, dtype=np.float32)
    return video[None] if video.ndim == 3 else video


class DiffusersBackend:
    """`base.Backend` over diffusers pipelines described by a `Profile`."""

    def __init__(self, profile: Profile | str, *, device: str | None = None, cache: PipelineCache | None = None,
                 on_step: StepCallback | None = None, fast: bool = False, calibrating: bool = False) -> None:
        self.profile = profile if isinstance(profile, Profile) else load_profile(profile)
        if self.profile.backend != "diffusers":
            raise ValueError(f"profile `{self.profile.name}` is for the {self.profile.backend} backend")
        if fast:
            self.profile = self.profile.fast_variant()
        self.fast = fast
        self.name = self.profile.name
        if not calibrating:
            self._check_speed()
        self.capabilities: frozenset[Capability] = frozenset(self.profile.roles)
        #: The capabilities whose calls read `ShotRequest.references` (base.reads_references).
        self.reference_roles: frozenset[Capability] = self._reference_roles()
        self.device = device or default_device()
        self.cache = cache if cache is not None else PIPELINES
        #: Called as on_step(step, total) after every denoising step (progress bars, benchmarks).
        self.on_step = on_step
        #: Memory fallbacks and other things the run manifest should show, in order.
        self.events: list[dict[str, Any]] = []

    # ----------------------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        # Noise is drawn on the execution device, and CPU and CUDA generators differ, so the
        # device type is part of what the output is.
        return {"backend": "diffusers", "device": str(self.device).split(":")[0],
                "diffusers": version("diffusers"), **profile_identity(self.profile)}

    def _check_speed(self) -> None:
        """Refuse, before any work, a MagCache role that was never calibrated."""
        for cap, role in self.profile.roles.items():
            cache = role.speed.cache
            if cache is not None and cache.kind == "magcache" and not role.mag_ratios:
                raise ProfileError(
                    f"profile `{self.name}`{' (--fast)' if self.fast else ''}: roles.{cap.value} uses MagCache, which "
                    f"needs this model's ratios; run `multishot profiles calibrate {self.name}` once")

    def _lora_file(self, lo: Any) -> Any:
        from pathlib import Path

        if lo.path is not None:
            return Path(lo.path)
        from .loading import fetch_file

        return fetch_file(lo.repo, lo.revision, lo.filename, profile_name=self.name)

    def check_loras(self, cap: Capability, loras: Sequence[Any]) -> None:
        """Load the shot list's LoRAs onto the role's model now: a file for another model is a
        clear error before any generation (LoraUnusable), and later shots switch instantly."""
        from .shot_loras import SHOT_LORAS

        if loras:
            SHOT_LORAS.check(self.pipeline(cap).pipe, loras, self._lora_file)

    def speed(self) -> dict[str, str]:
        """What each role runs with (`plan` and the manifest show it)."""
        return {cap.value: role.speed.describe() for cap, role in sorted(self.profile.roles.items(),
                                                                          key=lambda kv: kv[0].value)}

    def calibrate_magcache(self, cap: Capability, seed: int = 0) -> list[float]:
        """Run the role once with diffusers' MagCache in calibration mode and return the
        magnitude ratios it measured for the conditional pass (one per step)."""
        from .speed import collect_mag_ratios, step_cache

        role = self._role(cap)
        if role.speed.cache is None or role.speed.cache.kind != "magcache":
            raise ProfileError(f"profile `{self.name}`: roles.{cap.value} does not use MagCache")
        entry = self.pipeline(cap)
        memory.place(entry, self.cache.entries())
        pipe = entry.pipe
        gw, gh = (role.width, role.height)
        m = spatial_multiple(pipe)
        gw, gh = max(m, gw // m * m), max(m, gh // m * m)
        n = 1 if cap is Capability.TEXT_TO_IMAGE else valid_frame_count(role.frames, temporal_factor(pipe),
                                                                          role.max_frames)
        accepted = set(inspect.signature(pipe.__call__).parameters)
        kwargs: dict[str, Any] = dict(prompt="a person walks across a sunlit square, the camera follows",
                                      negative_prompt="", height=gh, width=gw, num_inference_steps=role.steps,
                                      guidance_scale=role.guidance, generator=self._generator(seed),
                                      output_type="latent")
        if "num_frames" in accepted:
            kwargs["num_frames"] = n
        kwargs.update(role.call)
        if "image" in accepted:
            kwargs["image"] = frame_to_pil(np.full((gh, gw, 3), 128, np.uint8), gw, gh)
        with collect_mag_ratios() as found, step_cache(pipe, role, calibrate=True):
            pipe(**kwargs)
        if not found:
            raise RuntimeError(f"diffusers reported no MagCache ratios for roles.{cap.value}")
        return found[0]

    def check_context_parallel(self, degree: int) -> None:
        """Refuse, before any work, what Ulysses over `degree` GPUs cannot run (`render --cp`):
        a transformer whose attention heads `degree` does not divide (each GPU takes an equal
        share of the heads), and a step cache (each GPU would decide on its own share of the
        tokens whether to skip blocks, and the GPUs' exchanges would part ways)."""
        from multishot.backends.profile import ProfileError

        from .loading import transformer_configs

        where = self.profile.source_file or f"profile `{self.name}`"
        for cap, role in sorted(self.profile.roles.items(), key=lambda kv: kv[0].value):
            field = f"roles.{cap.value}"
            if role.speed.cache is not None:
                settings = " (its `fast:` settings)" if self.fast else ""
                raise ProfileError(
                    f"{where}: {field}: --cp {degree} cannot run the `{role.speed.cache.kind}` step cache{settings}: "
                    "each GPU of a worker would decide on its own share of the tokens whether to skip blocks; "
                    "render without --cp, or without the cache", file=self.profile.source_file, field=field)
            for comp, cls, config in transformer_configs(self.profile, role):
                heads = int(config.get("num_attention_heads") or 0)
                if heads and heads % degree:
                    fits = [d for d in range(1, heads + 1) if heads % d == 0 and d <= 8]
                    raise ProfileError(
                        f"{where}: {field}: --cp {degree} must divide the attention heads of its model's {comp} "
                        f"({cls}, {heads} heads), because Ulysses gives every GPU of a worker the same number of "
                        f"heads; use --cp {' or '.join(map(str, fits))}", file=self.profile.source_file, field=field)

    def drain_events(self) -> list[dict[str, Any]]:
        """The events recorded since the last call (for the run manifest), clearing them."""
        events, self.events = self.events, []
        return events

    def pipeline(self, cap: Capability) -> LoadedPipeline:
        """The loaded pipeline serving `cap` (loads on first use)."""
        self._role(cap)
        return self.cache.get(self.profile, cap, self.device)

    # ----------------------------------------------------------------------------------------
    def text_to_image(self, req: ShotRequest) -> Frame:
        return self._single(Capability.TEXT_TO_IMAGE, req)[0]

    def text_to_video(self, req: ShotRequest) -> list[Frame]:
        if self._by_reference(Capability.TEXT_TO_VIDEO, req):
            return self._single(Capability.REFERENCE_TO_VIDEO, req)
        return self._single(Capability.TEXT_TO_VIDEO, req)

    def image_to_video(self, req: ShotRequest, first: Frame) -> list[Frame]:
        return self._single(Capability.IMAGE_TO_VIDEO, req, first=first)

    def first_last_to_video(self, req: ShotRequest, first: Frame, last: Frame) -> list[Frame]:
        if self._by_reference(Capability.FIRST_LAST_TO_VIDEO, req):
            return self._single(Capability.REFERENCE_TO_VIDEO, req, first=first, last=last)
        return self._single(Capability.FIRST_LAST_TO_VIDEO, req, first=first, last=last)

    # Keyframe mechanisms of issue 15 (consistent_keyframes.py) --------------------------------
    @property
    def keyframes_mode(self) -> str:
        """How this profile makes a scene's keyframes: `independent` or `consistent`."""
        return self.profile.identity.keyframes

    @property
    def end_keyframe(self) -> Any:
        """The profile's end-keyframe settings (`identity.end_keyframe`: compose, strength)."""
        return self.profile.identity.end_keyframe

    def keyframes_together(self, reqs: Sequence[ShotRequest], anchors: dict[str, Frame] | None = None) -> list[Frame]:
        """One scene's stills generated together under consistent self-attention, each
        character's bank image read as an identity anchor."""
        from .consistent_keyframes import scene_stills

        return scene_stills(self, reqs, anchors)

    def image_to_image(self, req: ShotRequest, image: Frame, strength: float) -> Frame:
        """`image` re-noised to `strength` and denoised under `req` (SDEdit)."""
        from .consistent_keyframes import edit_still

        return edit_still(self, req, image, strength)

    def reference_to_video(self, req: ShotRequest, first: Frame | None = None,
                           last: Frame | None = None) -> list[Frame]:
        """A shot conditioned on every reference in `req.references` (Wan VACE, vace.py), with
        optional first and last keyframes pinned."""
        return self._single(Capability.REFERENCE_TO_VIDEO, req, first=first, last=last)

    def _reference_roles(self) -> frozenset[Capability]:
        ident, caps = self.profile.identity, set()
        if ident.video == "reference":
            caps |= {Capability.TEXT_TO_VIDEO, Capability.FIRST_LAST_TO_VIDEO}
        if ident.keyframes == "ip_adapter":
            caps.add(Capability.TEXT_TO_IMAGE)
        return frozenset(caps & set(self.capabilities))

    def _by_reference(self, cap: Capability, req: ShotRequest) -> bool:
        """identity.video: reference sends a shot that has references to the VACE role."""
        return cap in self.reference_roles and bool(req.references)

    def joint_shots(self, reqs: Sequence[ShotRequest], memory: Any = None) -> list[list[Frame]]:
        """All shots in one joint generation (joint.py); shots must share one frame size. The
        joint noise is drawn from the first shot's seed."""
        if not reqs:
            return []
        sizes = {(r.width, r.height) for r in reqs}
        if len(sizes) > 1:
            raise ValueError(f"joint generation needs one frame size for all shots, got {sorted(sizes)}")
        cap = Capability.JOINT_SHOTS
        role = self._role(cap)

        def work(pipe: Any) -> list[np.ndarray]:
            from .joint import joint_denoise

            gw, gh = self._size(role, reqs[0], pipe)
            counts = self._joint_counts(role, reqs, pipe)
            options: dict[str, Any] = {}
            if role.guidance_2 is not None:
                options["guidance_2"] = role.guidance_2
            if "max_sequence_length" in role.call:
                options["max_sequence_length"] = int(role.call["max_sequence_length"])
            if role.joint is not None:
                options["mode"] = role.joint.mode()
            return joint_denoise(pipe, [r.shot_prompt or r.prompt for r in reqs], reqs[0].global_prompt,
                                 reqs[0].negative, counts, gh, gw, role.steps, role.guidance,
                                 self._generator(reqs[0].seed), memory, **options)

        # One generation cannot switch LoRAs between its shots: the group's LoRAs (each once)
        # apply to the whole group.
        loras = tuple(dict.fromkeys(lo for r in reqs for lo in r.loras))
        videos = self._run(cap, work, shot=",".join(r.layout.shot_id for r in reqs), loras=loras)
        return [list(self._finish(v, r, r.num_frames)) for v, r in zip(videos, reqs, strict=True)]

    def joint_mode(self) -> dict[str, Any] | None:
        """The joint role's mechanism (`joint:` of the profile) as plain data, or None when the
        profile has no joint role or runs multishot's default variant."""
        role = self.profile.roles.get(Capability.JOINT_SHOTS)
        return None if role is None or role.joint is None else role.joint.mode().describe()

    @staticmethod
    def _joint_counts(role: RoleSpec, reqs: Sequence[ShotRequest], pipe: Any) -> list[int]:
        """Frames each shot asks of the joint generation. Stacked clips are each 4k+1; in a
        continuous group the shot lengths are kept and the cuts snapped to 4t+1 frames
        (joint.group_frames), with at least 5 frames so a shot keeps a latent frame."""
        tf = temporal_factor(pipe)
        if role.joint is not None and role.joint.layout == "continuous":
            cap = role.max_frames or max(r.num_frames for r in reqs)
            return [max(tf + 1, min(r.num_frames, cap)) for r in reqs]
        return [valid_frame_count(r.num_frames, tf, role.max_frames) for r in reqs]

    def joint_tokens(self, reqs: Sequence[ShotRequest]) -> tuple[int | None, list[int], int]:
        """(the profile's token budget for one joint pass, video tokens of each shot, tokens of
        one latent frame) for the holistic paradigm's chunking; (None, [], 0) without a budget.
        A joint mode's `max_frames` (HoloCine's trained 241 frames) is a budget too."""
        role = self._role(Capability.JOINT_SHOTS)
        max_frames = role.joint.max_frames if role.joint is not None else None
        if (role.max_joint_tokens is None and max_frames is None) or not reqs:
            return None, [], 0
        pipe = self.pipeline(Capability.JOINT_SHOTS).pipe
        p_t, p_h, p_w = pipe.transformer.config.patch_size
        tf = temporal_factor(pipe)
        out, per_frame = [], 0
        for r, n in zip(reqs, self._joint_counts(role, reqs, pipe)):
            gw, gh = self._size(role, r, pipe)
            s = pipe.vae_scale_factor_spatial
            per_frame = max(per_frame, (gh // (s * p_h)) * (gw // (s * p_w)))
            out.append(((n - 1) // tf + 1) * (gh // (s * p_h)) * (gw // (s * p_w)))
        budgets = [b for b in (role.max_joint_tokens,
                               None if max_frames is None else ((max_frames - 1) // tf + 1) * per_frame)
                   if b is not None]
        return min(budgets), out, per_frame

    def summarize(self, reqs: Sequence[ShotRequest], frames: Sequence[Sequence[Frame]]) -> Any:
        """Memory for the next joint generation (holistic chunks, streaming): the summary frames
        of these already rendered shots, encoded at the joint role's generation size."""
        if not reqs:
            return None
        role = self._role(Capability.JOINT_SHOTS)

        def work(pipe: Any) -> Any:
            from .joint import encode_summaries

            gw, gh = self._size(role, reqs[0], pipe)
            return encode_summaries(pipe, frames, [r.shot_prompt or r.prompt for r in reqs], gh, gw)

        return self._run(Capability.JOINT_SHOTS, work, shot="memory:" + ",".join(r.layout.shot_id for r in reqs))

    # ----------------------------------------------------------------------------------------
    def _role(self, cap: Capability) -> RoleSpec:
        if cap not in self.profile.roles:
            raise CapabilityError(f"profile `{self.name}` has no {cap.value} role. Run `multishot profiles list` "
                                  "to see which profile has it.")
        return self.profile.roles[cap]

    def _generator(self, seed: int) -> Any:
        import torch

        dev = torch.device(self.device)
        return torch.Generator(device=dev.type if dev.type == "cuda" else "cpu").manual_seed(int(seed))

    def _size(self, role: RoleSpec, req: ShotRequest, pipe: Any) -> tuple[int, int]:
        fit = (role.width, role.height) if role.size_policy == "fit" else None
        scale = role.speed.size_scale or 1.0  # drafts: smaller, resized back in _finish
        return generation_size(max(1, round(req.width * scale)), max(1, round(req.height * scale)),
                               spatial_multiple(pipe), fit)

    def _finish(self, video: np.ndarray, req: ShotRequest, count: int) -> np.ndarray:
        frames = video if video.dtype == np.uint8 else to_uint8(video)
        if frames.shape[0] != count:
            log.debug("shot %s: resampling %d generated frames to %d", req.layout.shot_id, frames.shape[0], count)
        return resize_frames(resample_frames(frames, count), req.width, req.height)

    def _single(self, cap: Capability, req: ShotRequest, first: Frame | None = None,
                last: Frame | None = None) -> list[Frame]:
        role = self._role(cap)
        count = 1 if cap is Capability.TEXT_TO_IMAGE else req.num_frames

        def work(pipe: Any) -> np.ndarray:
            gw, gh = self._size(role, req, pipe)
            # First-last models need both ends in the clip (Wan's FLF2V lays out first, n - 2
            # free frames, last): a one-frame request is generated longer and resampled.
            wanted = max(count, 2) if last is not None else count
            n_gen = valid_frame_count(wanted, temporal_factor(pipe), role.max_frames)
            accepted = set(inspect.signature(pipe.__call__).parameters)
            kwargs: dict[str, Any] = dict(
                prompt=req.prompt, negative_prompt=req.negative, height=gh, width=gw,
                num_inference_steps=role.steps, guidance_scale=role.guidance,
                generator=self._generator(req.seed), output_type="pt",
            )
            if "num_frames" in accepted:
                kwargs["num_frames"] = n_gen
            if "frame_rate" in accepted:
                kwargs["frame_rate"] = req.fps
            if role.guidance_2 is not None:
                kwargs["guidance_scale_2"] = role.guidance_2
            kwargs.update(role.call)
            cast = [c.id for c in req.layout.characters]
            if cap is Capability.REFERENCE_TO_VIDEO:
                from . import vace

                kwargs.update(vace.call_inputs(req.references, cast, gw, gh, n_gen, first, last))
            elif first is not None:
                kwargs.update(self._conditioning(cap, role, first, last, gw, gh, n_gen))
            if cap is Capability.TEXT_TO_IMAGE and "ip_adapter_image" in accepted:
                from . import ip_adapter

                spec = self.profile.identity.ip_adapter if cap in self.reference_roles else None
                if spec is not None:
                    ip_adapter.ensure_loaded(pipe, spec, self.profile.base_dir, self.name)
                kwargs.update(ip_adapter.call_inputs(pipe, spec, req.references, cast, role.guidance))
            if self.on_step is not None and "callback_on_step_end" in accepted:
                on_step, total = self.on_step, role.steps

                def callback(_pipe: Any, i: int, _t: Any, _kw: dict[str, Any]) -> dict[str, Any]:
                    on_step(i + 1, total)
                    return {}

                kwargs["callback_on_step_end"] = callback
            return _frames_of(pipe(**kwargs))

        video = self._run(cap, work, shot=req.layout.shot_id, loras=req.loras)
        return list(self._finish(video, req, count))

    @staticmethod
    def _conditioning(cap: Capability, role: RoleSpec, first: Frame, last: Frame | None, gw: int, gh: int,
                      n_gen: int) -> dict[str, Any]:
        style = (FIRST_LAST_CONDITIONED if last is not None else IMAGE_CONDITIONED)[role.pipeline]
        first_img = frame_to_pil(first, gw, gh)
        last_img = frame_to_pil(last, gw, gh) if last is not None else None
        if style == "conditions":
            from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

            conds = [LTXVideoCondition(image=first_img, frame_index=0)]
            if last_img is not None:
                conds.append(LTXVideoCondition(image=last_img, frame_index=n_gen - 1))
            return {"conditions": conds}
        out: dict[str, Any] = {"image": first_img}
        if last_img is not None:
            out["last_image"] = last_img
        return out

    def _run(self, cap: Capability, work: Callable[[Any], T], *, shot: str, loras: Sequence[Any] = ()) -> T:
        """Run `work(pipe)` for `cap` with the role's step cache and the shot's LoRAs; on CUDA
        OOM step down the memory ladder and retry."""
        from .shot_loras import SHOT_LORAS

        entry = self.pipeline(cap)
        while True:
            memory.place(entry, self.cache.entries())
            failure: str | None = None
            try:
                with SHOT_LORAS.active(entry.pipe, loras, self._lora_file), \
                        step_cache(entry.pipe, self.profile.roles[cap]):
                    return work(entry.pipe)
            except Exception as exc:
                if not memory.is_out_of_memory(exc):
                    raise
                from .ulysses import degree as ulysses_degree

                if ulysses_degree() > 1:
                    # The ranks of a --cp worker must run one strategy in lockstep: stepping down
                    # on this rank alone would part its exchanges from the others'.
                    raise OutOfMemory(
                        f"shot {shot}: out of GPU memory under `{entry.strategy}` on one GPU of a --cp worker "
                        f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); the memory ladder is "
                        "not stepped under --cp. Use a larger --cp, or render without it.") from None
                # Only the message leaves this block: the traceback pins the tensors of the
                # failed attempt, which must be freed before the retry.
                failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            step = memory.step_down(entry)
            if step is None:
                raise OutOfMemory(
                    f"shot {shot}: out of GPU memory even with memory strategy `{entry.strategy}`, the lightest "
                    f"that profile `{self.name}` allows for {cap.value}. Lower the resolution or duration, or "
                    f"use a profile with a smaller model. ({failure})")
            event = {"event": "memory_fallback", "time": time.time(), "profile": self.name, "role": cap.value,
                     "shot": shot, "from": step[0], "to": step[1], "error": failure}
            self.events.append(event)
            log.warning("shot %s: out of GPU memory under `%s`; retrying with `%s`", shot, step[0], step[1])
