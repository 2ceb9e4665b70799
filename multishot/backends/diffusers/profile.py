"""Model profiles: one YAML file is the whole truth about a model setup.

A profile names, per role (a `Capability`), the diffusers pipeline class, where its weights come
from (a Hub repo at a pinned revision, or a local folder), the dtype, default resolution, frames,
steps, guidance, scheduler shift and a memory-strategy ladder. Finding, reading and listing
profile files is backend-neutral and lives in backends/profile.py (re-exported here); the
shipped files are in backends/profiles/. This module is the diffusers backend's profile model
(`Profile`, a `BaseProfile`), named on the diffusers entry of the backend registry.

This module is pure data (pydantic + YAML) and imports neither torch nor diffusers, so
`multishot profiles list` stays instant. Validation happens once, here: loading and generation
code trusts these models and never re-parses dicts.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from multishot.backends.base import Capability
from multishot.backends.profile import (  # the backend-neutral machinery, re-exported for old imports
    PROFILE_SUFFIXES,
    BaseProfile,
    ProfileError,
    ProfileInfo,
    builtin_profile_dir,
    cache_root,
    find_profile,
    format_errors,
    list_profiles,
    load_profile,
    profile_dirs,
    profile_files,
    profile_origins,
    read_profile_data,
    resolve_local_path,
)

_PROFILE_SUFFIXES = PROFILE_SUFFIXES
_profile_files = profile_files
_format_errors = format_errors


#: Memory strategies, fastest (most GPU memory) first. A role lists the ones it may use, in this
#: order; on CUDA out-of-memory the backend moves one step down its list (see memory.py).
MEMORY_STRATEGIES: tuple[str, ...] = (
    "none", "vae_tiling", "model_cpu_offload", "group_offload", "sequential_cpu_offload",
)
MemoryStrategy = Literal["none", "vae_tiling", "model_cpu_offload", "group_offload", "sequential_cpu_offload"]
DType = Literal["bfloat16", "float16", "float32"]

#: How each pipeline class receives the conditioning frames. A role whose pipeline is not listed
#: here cannot serve image_to_video / first_last_to_video: checked when the profile is read, so a
#: typo fails before any download.
IMAGE_CONDITIONED: dict[str, str] = {
    "WanImageToVideoPipeline": "image",
    "LTXImageToVideoPipeline": "image",
    "LTXConditionPipeline": "conditions",
}
FIRST_LAST_CONDITIONED: dict[str, str] = {
    "WanImageToVideoPipeline": "last_image",
    "LTXConditionPipeline": "conditions",
}
#: Joint generation (joint.py) drives a Wan text-to-video transformer directly.
JOINT_PIPELINES: frozenset[str] = frozenset({"WanPipeline"})

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_CLASS = re.compile(r"^[A-Z][A-Za-z0-9]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where a model (or one component of it) comes from: a Hub repo at a revision, or a local
    folder. A local folder may contain ``{cache}`` (the multishot cache root) and may be relative
    to the profile file. `build: tiny` marks a folder multishot can build offline (tiny.py)."""

    repo: str | None = None
    revision: str | None = None
    path: str | None = None
    build: Literal["tiny"] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Source:
        if (self.repo is None) == (self.path is None):
            raise ValueError("give exactly one of `repo` (a Hub model id) or `path` (a local folder)")
        if self.repo is not None:
            if not _REPO.match(self.repo):
                raise ValueError(f"`repo` must look like owner/name, got {self.repo!r}")
            if not self.revision:
                raise ValueError("a Hub `repo` needs a `revision` (a 40-hex commit; `main` only while unpinned)")
        elif self.revision is not None:
            raise ValueError("`revision` only applies to a Hub `repo`, not a local `path`")
        if self.build is not None and self.path is None:
            raise ValueError("`build` only applies to a local `path`")
        return self

    @property
    def pinned(self) -> bool:
        """True for a local folder or a Hub repo at a full commit hash."""
        return self.repo is None or bool(_HEX40.match(self.revision or ""))

    def label(self) -> str:
        return f"{self.repo}@{self.revision}" if self.repo else str(self.path)


class ComponentSource(Source):
    """One pipeline component taken from another model (e.g. the same VAE or text encoder in
    two repos), so it is downloaded and loaded once and passed to `from_pretrained`."""

    subfolder: str | None = None


class WeightsFile(_Strict):
    """One safetensors file of weights, from the Hub (pinned `repo` + `revision` + `filename`)
    or on disk (`path`): the shared part of a weights override and a LoRA."""

    repo: str | None = None
    revision: str | None = None
    path: str | None = None
    filename: str | None = None
    #: The file's SHA-256 as published (optional): checked once per process before the file is
    #: loaded, so a truncated download or a file replaced in the cache is refused by name.
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _one_source(self) -> WeightsFile:
        if (self.repo is None) == (self.path is None):
            raise ValueError("give exactly one of `repo` (+ `revision`, `filename`) or `path` (a .safetensors file)")
        if self.repo is not None and (not self.revision or not self.filename):
            raise ValueError("a Hub weights file needs `revision` and `filename`")
        name = self.filename or self.path or ""
        if not name.endswith(".safetensors"):
            raise ValueError(f"only .safetensors weights are loaded, got {name!r} "
                             "(convert a pickled .pt with `multishot models convert`)")
        return self

    @property
    def pinned(self) -> bool:
        return self.repo is None or bool(_HEX40.match(self.revision or ""))

    def source_label(self) -> str:
        return f"{self.repo}@{self.revision}:{self.filename}" if self.repo else str(self.path)


class WeightsOverride(WeightsFile):
    """Replace one component's weights with a fine-tuned checkpoint (e.g. HoloCine's DiT),
    renaming keys with a named mapping from weights.py."""

    component: str
    mapping: str

    @model_validator(mode="after")
    def _known_mapping(self) -> WeightsOverride:
        from .weights import KEY_MAPPINGS

        if self.mapping not in KEY_MAPPINGS:
            raise ValueError(f"unknown `mapping` {self.mapping!r}; known: {', '.join(sorted(KEY_MAPPINGS))}")
        return self

    def label(self) -> str:
        return self.source_label()


class LoraSpec(WeightsFile):
    """A LoRA merged into one transformer of the role (loaded with diffusers' own LoRA loading,
    through peft), e.g. the CineTrans-DiT LoRA (arXiv 2508.11484, rank 64). `format` names the
    key layout it was published in: `diffusers`, `wan-original` (``diffusion_model.blocks.N
    .self_attn.q.lora_A.weight``: diffusers converts it) or `cinetrans` (CineTrans's training
    code saves peft-style ``blocks.N.self_attn.q.lora_A.default.weight`` without the prefix).
    Safetensors only: a pickled ``.pt`` is converted first with `multishot models convert`."""

    component: Literal["transformer", "transformer_2"] = "transformer"
    format: Literal["diffusers", "wan-original", "cinetrans"] = "wan-original"
    scale: float = 1.0
    #: Merge into the weights once loaded (no extra matmuls per step; the LoRA cannot be
    #: switched off again in that process). Attached (default) keeps it a separate adapter.
    fuse: bool = False

    def label(self) -> str:
        return f"{self.component}<-{self.source_label()}:{self.format}x{self.scale}{':fused' if self.fuse else ''}"


class CacheSpec(_Strict):
    """One of diffusers' step caches, enabled on the role's transformer(s) for the call through
    ``transformer.enable_cache`` (diffusers' hooks). All are lossy: they reuse an earlier
    step's block outputs instead of computing them. `first_block` (FBCache, ParaAttention):
    skip the rest of the blocks when the first block's residual changed by less than
    `threshold`; `taylorseer` (arXiv 2503.06923): compute every `interval` steps, predict the
    others by a Taylor expansion; `magcache` (arXiv 2506.09045): skip while the accumulated
    magnitude-ratio error stays under `threshold` — it needs the model's ratios, measured once
    by `multishot profiles calibrate NAME` and stored beside the profile."""

    kind: Literal["first_block", "taylorseer", "magcache"]
    #: first_block: residual change below which the step is skipped (diffusers' default 0.05);
    #: magcache: accumulated error budget (default 0.06).
    threshold: float | None = Field(default=None, gt=0)
    #: taylorseer: full computation every `interval` steps (default 5).
    interval: int | None = Field(default=None, gt=0)
    #: taylorseer: steps computed in full before predicting (default 3); magcache: see retention.
    warmup_steps: int | None = Field(default=None, ge=0)
    #: taylorseer: Taylor order (default 1).
    max_order: int | None = Field(default=None, gt=0)
    #: taylorseer: the "lite" variant (predict only the output projection, skip every block).
    lite: bool | None = None
    #: magcache: most consecutive skipped steps (default 3) and the fraction of first steps
    #: never skipped (default 0.2).
    max_skip_steps: int | None = Field(default=None, gt=0)
    retention_ratio: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _fits_kind(self) -> CacheSpec:
        allowed = {"first_block": {"threshold"}, "taylorseer": {"interval", "warmup_steps", "max_order", "lite"},
                   "magcache": {"threshold", "max_skip_steps", "retention_ratio"}}[self.kind]
        extra = sorted(k for k in ("threshold", "interval", "warmup_steps", "max_order", "lite",
                                   "max_skip_steps", "retention_ratio") if getattr(self, k) is not None and k not in allowed)
        if extra:
            raise ValueError(f"`{'`, `'.join(extra)}` do not apply to cache kind `{self.kind}` "
                             f"(it takes {', '.join(sorted(allowed))})")
        return self


class SpeedSpec(_Strict):
    """How fast a role runs (`speed:` always, `fast:` on top of it with ``render --fast``).
    Every item is optional. `compile` (regional compilation of the repeated transformer blocks,
    diffusers' `compile_repeated_blocks`) and `attention_backend` (diffusers' attention
    dispatch, e.g. `flash`, `_native_cudnn`, `sage`) keep the model's maths: outputs agree to
    floating-point tolerance. `cache` and fewer `steps` / lower `guidance` trade quality for
    time."""

    compile: bool | None = None
    #: torch.compile mode for `compile` (None: torch's default; `max-autotune-no-cudagraphs`...).
    compile_mode: str | None = None
    attention_backend: str | None = None
    cache: CacheSpec | None = None
    steps: int | None = Field(default=None, gt=0)
    guidance: float | None = Field(default=None, ge=0.0)
    guidance_2: float | None = Field(default=None, ge=0.0)
    #: Generate at this fraction of the requested width and height (drafts), then scale the
    #: frames back to the film's size, so timing and assembly are unchanged.
    size_scale: float | None = Field(default=None, gt=0.0, le=1.0)

    def over(self, base: SpeedSpec) -> SpeedSpec:
        """These settings on top of `base` (set fields win)."""
        return base.model_copy(update={k: getattr(self, k) for k in self.model_fields_set
                                       if getattr(self, k) is not None})

    def describe(self) -> str:
        parts = []
        if self.compile:
            parts.append("regional compile" + (f" ({self.compile_mode})" if self.compile_mode else ""))
        if self.attention_backend:
            parts.append(f"attention {self.attention_backend}")
        if self.cache is not None:
            args = ", ".join(f"{k}={v}" for k, v in self.cache.model_dump(exclude_none=True).items() if k != "kind")
            parts.append(f"{self.cache.kind} cache" + (f" ({args})" if args else ""))
        for key in ("steps", "guidance", "guidance_2", "size_scale"):
            if getattr(self, key) is not None:
                parts.append(f"{key} {getattr(self, key)}")
        return ", ".join(parts) or "none"


class JointSpec(_Strict):
    """A role's joint-generation mechanism (`joint:`): which paper's attention pattern runs,
    chosen to match the weights (see joint_modes.py for each value's meaning)."""

    #: continuous: one video per group with cuts at 4t+1 frames (HoloCine, CineTrans);
    #: stacked: multishot's own variant, every shot a separate clip laid end to end.
    layout: Literal["continuous", "stacked"] = "continuous"
    #: holocine: one prompt with [global caption]/[shot cut] markers, tokenised once;
    #: cinetrans: per-shot prompts + a general prompt; window / own: multishot's variants.
    text: Literal["holocine", "cinetrans", "window", "own"] = "holocine"
    #: full (HoloCine's full checkpoint), sparse (HoloCine's sparse checkpoint), cinetrans
    #: (CineTrans's mask in the block band), multishot (training-free variant).
    self_attention: Literal["full", "sparse", "cinetrans", "multishot"] = "full"
    #: Inclusive [first, last] block of the CineTrans mask band; default 6-27 of 30, scaled.
    band: tuple[int, int] | None = None
    #: Longest group in pixel frames (HoloCine trained on 241); longer scenes are chunked.
    max_frames: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _band(self) -> JointSpec:
        if self.band is not None and not 0 <= self.band[0] <= self.band[1]:
            raise ValueError(f"band must be [first, last] with 0 <= first <= last, got {list(self.band)}")
        if self.band is not None and self.self_attention != "cinetrans":
            raise ValueError("band only applies to self_attention: cinetrans")
        return self

    def mode(self) -> Any:
        """The torch-free `JointMode` joint.py runs."""
        from .joint_modes import JointMode

        return JointMode(layout=self.layout, text=self.text, self_attention=self.self_attention,
                         band=self.band, max_frames=self.max_frames)


class RoleSpec(Source):
    """How one capability is served: the pipeline, its weights and its default settings."""

    pipeline: str
    dtype: DType = "bfloat16"
    #: Per-component dtypes, e.g. ``{vae: float32}`` (Wan's VAE is recommended in fp32).
    component_dtypes: dict[str, DType] = Field(default_factory=dict)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    frames: int = Field(gt=0)
    fps: int = Field(default=16, gt=0)
    steps: int = Field(gt=0)
    guidance: float = Field(ge=0.0)
    #: Guidance of the low-noise expert of two-expert models (Wan 2.2 A14B).
    guidance_2: float | None = None
    #: Scheduler class name; None keeps the repo's own scheduler.
    scheduler: str | None = None
    flow_shift: float | None = None
    #: `request`: generate at the requested size (rounded to the model's multiple);
    #: `fit`: scale the request to fit inside width x height first (aspect kept), for models
    #: trained at one resolution and for the CPU `tiny` profile.
    size_policy: Literal["request", "fit"] = "request"
    #: Cap on generated frames; longer requests are resampled up (only sensible for `tiny`).
    max_frames: int | None = Field(default=None, gt=0)
    #: Joint generation: most video tokens in one joint pass (the rest is split into chunks
    #: with memory); None = no token limit, only the paradigm's shot limit (13).
    max_joint_tokens: int | None = Field(default=None, gt=0)
    #: Joint generation's mechanism (layout, text, self-attention); None = multishot's own
    #: training-free variant (stacked clips, window text, sparse "first" summaries).
    joint: JointSpec | None = None
    #: Extra keyword arguments for the pipeline call (e.g. max_sequence_length).
    call: dict[str, int | float | str | bool] = Field(default_factory=dict)
    memory: tuple[MemoryStrategy, ...] = ("none",)
    shared_components: dict[str, ComponentSource] = Field(default_factory=dict)
    weights_override: tuple[WeightsOverride, ...] = ()
    #: LoRAs merged into the role's transformer(s) (see LoraSpec).
    loras: tuple[LoraSpec, ...] = ()
    #: Speed settings used on every render (typically the lossless ones), see SpeedSpec.
    speed: SpeedSpec = Field(default_factory=SpeedSpec)
    #: Settings `render --fast` puts on top of `speed` (caches, fewer steps, distillation).
    fast: SpeedSpec | None = None
    #: Settings `render --draft` puts on top of `fast` (fewer steps, `size_scale`).
    draft: SpeedSpec | None = None
    #: MagCache ratios of this role's transformer (`multishot profiles calibrate`), read from
    #: the calibration file beside the profile; not written in the YAML.
    mag_ratios: tuple[float, ...] | None = None

    @field_validator("pipeline", "scheduler")
    @classmethod
    def _class_name(cls, v: str | None) -> str | None:
        if v is not None and not _CLASS.match(v):
            raise ValueError(f"must be a diffusers class name such as WanPipeline, got {v!r}")
        return v

    @field_validator("memory")
    @classmethod
    def _ladder(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError(f"list at least one memory strategy of {', '.join(MEMORY_STRATEGIES)}")
        order = [MEMORY_STRATEGIES.index(s) for s in v]
        if order != sorted(set(order)):
            raise ValueError(f"memory strategies must be distinct and in this order (lightest last): "
                             f"{', '.join(MEMORY_STRATEGIES)}")
        return v

    def load_key(self) -> tuple[Any, ...]:
        """Everything that decides what `from_pretrained` builds; roles with the same key share
        one pipeline object (per-call settings such as steps or frames do not matter)."""
        return (self.repo, self.revision, self.path, self.pipeline, self.dtype,
                tuple(sorted(self.component_dtypes.items())), self.scheduler, self.flow_shift,
                tuple(sorted((k, v.model_dump_json()) for k, v in self.shared_components.items())),
                tuple(w.model_dump_json() for w in self.weights_override),
                tuple(lo.model_dump_json() for lo in self.loras),
                bool(self.speed.compile), self.speed.compile_mode, self.speed.attention_backend)

    def with_speed(self, spec: SpeedSpec) -> RoleSpec:
        """This role run with `spec` as its speed settings: step and guidance overrides become
        the role's own, so every caller (and the cache key) sees the numbers that run."""
        update: dict[str, Any] = {"speed": spec}
        for key in ("steps", "guidance", "guidance_2"):
            if getattr(spec, key) is not None:
                update[key] = getattr(spec, key)
        return self.model_copy(update=update)


class ConsistentSpec(_Strict):
    """Consistent self-attention across one scene's keyframes, generated together as stills
    (StoryDiffusion, arXiv 2405.01434): each image's self-attention also reads a sampled share
    of the other images' tokens. The mechanism lives in backends/diffusers/consistent_attention.py."""

    #: Share of the other images' tokens each image reads (the rest are masked out); 0 reads
    #: none of them, which is exactly independent generation (a test of the mechanism).
    sample_ratio: float = Field(default=0.5, ge=0.0, le=1.0)
    #: Denoising steps before this one run plain attention, so each still's composition forms
    #: from its own prompt first (StoryDiffusion skips its first step).
    start_step: int = Field(default=1, ge=0)
    #: Inclusive [first, last] transformer blocks that read the others; None = every block.
    blocks: tuple[int, int] | None = None
    #: Most stills denoised in one batch (memory); a larger scene is split into batches, all
    #: reading the same character anchors, so identity still carries across them.
    group: int = Field(default=8, ge=1)
    #: Read each character's bank image (re-noised every step) as an identity anchor.
    anchors: bool = True

    @model_validator(mode="after")
    def _band(self) -> ConsistentSpec:
        if self.blocks is not None and not 0 <= self.blocks[0] <= self.blocks[1]:
            raise ValueError(f"blocks must be [first, last] with 0 <= first <= last, got {list(self.blocks)}")
        return self


class EndKeyframeSpec(_Strict):
    """How the end keyframe of a moving shot is made (issue 15 item 3). `compose`: from the
    start keyframe, re-framed by the move (cropped tighter for a dolly-in, shifted for a truck)
    and then re-noised to `strength` and denoised under the end prompt (SDEdit, arXiv
    2108.01073), so the end still shows the same place and people in the moved framing."""

    compose: bool = False
    strength: float = Field(default=0.6, gt=0.0, le=1.0)


#: Pipelines that take every character's reference image for a shot (`reference_images=`).
REFERENCE_CONDITIONED: frozenset[str] = frozenset({"WanVACEPipeline"})
#: Image pipelines whose diffusers class has `load_ip_adapter` (IP-Adapter, arXiv 2308.06721).
IP_ADAPTER_PIPELINES: frozenset[str] = frozenset({
    "StableDiffusionPipeline", "StableDiffusionXLPipeline", "FluxPipeline"})


class IPAdapterSpec(Source):
    """An IP-Adapter for the text_to_image role (`identity.ip_adapter`), laid out as diffusers'
    `load_ip_adapter` reads it (h94/IP-Adapter: `sdxl_models/ip-adapter_sdxl.safetensors` and
    `sdxl_models/image_encoder`). Hub files are fetched at the pinned revision first and loaded
    from that local folder, so the image encoder is pinned too."""

    subfolder: str = "models"
    weight_name: str
    #: Folder of the CLIP image encoder, inside `subfolder` (a bare name) or from the root.
    image_encoder_folder: str = "image_encoder"
    #: How strongly the reference images steer the stills (diffusers' `set_ip_adapter_scale`).
    scale: float = Field(default=0.6, ge=0.0)

    @field_validator("weight_name")
    @classmethod
    def _safetensors(cls, v: str) -> str:
        if not v.endswith(".safetensors"):
            raise ValueError(f"only .safetensors IP-Adapter weights are loaded, got {v!r}")
        return v


class IdentitySpec(_Strict):
    """How the characters' reference images condition generation (issue 15). `keyframes`: how a
    scene's keyframe stills are made; `video`: how each shot's generation reads the references
    (`first_frame`: image-to-video from the keyframe; `reference`: every character's reference
    image through a reference-to-video role such as Wan VACE)."""

    keyframes: Literal["independent", "consistent", "ip_adapter"] = "independent"
    video: Literal["first_frame", "reference"] = "first_frame"
    consistent: ConsistentSpec = Field(default_factory=ConsistentSpec)
    end_keyframe: EndKeyframeSpec = Field(default_factory=EndKeyframeSpec)
    #: The adapter `keyframes: ip_adapter` loads into the text_to_image role's pipeline.
    ip_adapter: IPAdapterSpec | None = None


class Profile(BaseProfile):
    """A whole diffusers model profile (one YAML file): the neutral fields (BaseProfile) plus
    the models per role and the identity mechanisms."""

    roles: dict[Capability, RoleSpec] = Field(default_factory=dict)
    #: Identity mechanisms (keyframes generated together, references into the shots).
    identity: IdentitySpec = Field(default_factory=IdentitySpec)

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        if self.backend != "diffusers":  # the registry hands other backends' files to their own models
            raise ValueError(f"`backend: {self.backend}` is not a diffusers profile (backends/registry.py picks "
                             "each backend's profile model)")
        if not self.roles:
            raise ValueError("a diffusers profile needs at least one entry under `roles`")
        if self.capabilities:
            raise ValueError("`capabilities` of a diffusers profile come from its `roles`; remove the list")
        checks = {
            Capability.IMAGE_TO_VIDEO: IMAGE_CONDITIONED,
            Capability.FIRST_LAST_TO_VIDEO: FIRST_LAST_CONDITIONED,
        }
        for cap, table in checks.items():
            role = self.roles.get(cap)
            if role is not None and role.pipeline not in table:
                raise ValueError(f"roles.{cap.value}.pipeline: {role.pipeline} cannot take conditioning frames "
                                 f"here; use one of {', '.join(sorted(table))}")
        joint = self.roles.get(Capability.JOINT_SHOTS)
        if joint is not None and joint.pipeline not in JOINT_PIPELINES:
            drives = ", ".join(sorted(JOINT_PIPELINES))
            raise ValueError(f"roles.joint_shots.pipeline: joint generation drives {drives}, not {joint.pipeline}")
        seen: dict[tuple[Any, ...], Capability] = {}
        for cap, role in self.roles.items():
            other = seen.setdefault(role.load_key(), cap)
            if other is not cap and self.roles[other].memory != role.memory:
                raise ValueError(f"roles.{cap.value}.memory: shares one pipeline with roles.{other.value}, "
                                 f"so both must list the same memory strategies")
        return self

    @model_validator(mode="after")
    def _identity_roles(self) -> Profile:
        """`identity:` names mechanisms; the roles must be able to run them."""
        ident = self.identity
        if ident.video == "reference":
            role = self.roles.get(Capability.REFERENCE_TO_VIDEO)
            if role is None or role.pipeline not in REFERENCE_CONDITIONED:
                raise ValueError("identity.video: reference needs a roles.reference_to_video with pipeline "
                                 f"{', '.join(sorted(REFERENCE_CONDITIONED))}")
        if ident.keyframes == "ip_adapter":
            role = self.roles.get(Capability.TEXT_TO_IMAGE)
            if ident.ip_adapter is None:
                raise ValueError("identity.keyframes: ip_adapter needs identity.ip_adapter (the adapter's weights)")
            if role is None or role.pipeline not in IP_ADAPTER_PIPELINES:
                raise ValueError("identity.keyframes: ip_adapter needs a roles.text_to_image with pipeline "
                                 f"{', '.join(sorted(IP_ADAPTER_PIPELINES))}")
        return self

    @property
    def has_fast(self) -> bool:
        return any(r.fast is not None for r in self.roles.values())

    def with_speed_applied(self) -> Profile:
        """Each role with its `speed:` step/guidance overrides made its own (done on load)."""
        return self.model_copy(update={"roles": {c: r.with_speed(r.speed) for c, r in self.roles.items()}})

    def loaded(self) -> Profile:
        """After reading: the MagCache ratios stored beside it attached, `speed:` applied."""
        return _with_calibration(self).with_speed_applied()

    def fast_variant(self) -> Profile:
        """The profile as `render --fast` runs it: every role's `fast:` on top of its `speed:`."""
        if not self.has_fast:
            raise ProfileError(f"profile `{self.name}` has no `fast:` settings; render without --fast, or use a "
                               "profile that has them (`multishot profiles show NAME` prints them)")
        roles = {c: r.with_speed(r.fast.over(r.speed)) if r.fast is not None else r for c, r in self.roles.items()}
        return self.model_copy(update={"roles": roles})

    def draft_variant(self) -> Profile:
        """The profile as `render --draft` runs it: `draft:` on top of `fast:` on top of
        `speed:`. Same seeds and timing, so an accepted draft re-renders as the final shot."""
        if not any(r.draft is not None or r.fast is not None for r in self.roles.values()):
            raise ProfileError(f"profile `{self.name}` has no `draft:` or `fast:` settings; render without --draft")
        roles = {}
        for c, r in self.roles.items():
            spec = r.speed
            for layer in (r.fast, r.draft):
                if layer is not None:
                    spec = layer.over(spec)
            roles[c] = r.with_speed(spec)
        return self.model_copy(update={"roles": roles})

    @property
    def capability_set(self) -> frozenset[Capability]:
        return frozenset(self.roles)

    def info(self, capabilities: frozenset[Capability] | None = None) -> ProfileInfo:
        """Its line of `profiles list`: every model it names, pinned only if every one is."""
        caps = capabilities if capabilities is not None else self.capability_set
        models: list[str] = []
        sources: list[Source] = []
        for role in self.roles.values():
            sources += [role, *role.shared_components.values()]
            models += [w.label() for w in (*role.weights_override, *role.loras)]
        if self.identity.ip_adapter is not None:
            sources.append(self.identity.ip_adapter)
        pinned = all(s.pinned for s in sources) and all(w.pinned for r in self.roles.values()
                                                         for w in (*r.weights_override, *r.loras))
        for s in sources:
            if s.label() not in models:
                models.append(s.label())
        return ProfileInfo(
            name=self.name, backend=self.backend,
            capabilities=tuple(c.value for c in Capability if c in caps),
            models=tuple(dict.fromkeys(models)), licence=self.licence,
            pinned=pinned, path=self.source_file or "", notes=self.notes,
        )


# --------------------------------------------------------------------------------------------
# Finding and reading profile files
# --------------------------------------------------------------------------------------------


def calibration_files(profile: Profile) -> list[Path]:
    """Where a profile's MagCache ratios live, in lookup order: beside the profile file, then
    in multishot's cache (for installed profiles whose folder is read-only)."""
    out = []
    if profile.source_file:
        src = Path(profile.source_file)
        out.append(src.with_name(src.stem + ".magcache.json"))
    out.append(cache_root() / "calibration" / f"{profile.name}.magcache.json")
    return out


def _with_calibration(profile: Profile) -> Profile:
    """Attach MagCache ratios (``{"roles": {role: {"steps": n, "ratios": [...]}}}``) to the
    roles they were measured on. A damaged file is an error naming it, not a silent skip."""
    for path in calibration_files(profile):
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            measured = {Capability(k): tuple(float(x) for x in v["ratios"]) for k, v in data["roles"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProfileError(f"calibration file {path} is damaged ({type(exc).__name__}: {exc}); delete it and "
                               f"run `multishot profiles calibrate {profile.name}` again") from None
        roles = {c: (r.model_copy(update={"mag_ratios": measured[c]}) if c in measured else r)
                 for c, r in profile.roles.items()}
        return profile.model_copy(update={"roles": roles})
    return profile


def profile_info(profile: BaseProfile, capabilities: frozenset[Capability] | None = None) -> ProfileInfo:
    """`profile.info(capabilities)`: each profile model reports itself."""
    return profile.info(capabilities)


# --------------------------------------------------------------------------------------------
# Identity (cache keys)
# --------------------------------------------------------------------------------------------


def _local_fingerprint(folder: Path) -> str | None:
    """A cheap content fingerprint of a user's local model folder: every JSON file's bytes plus
    the names and sizes of weight files (hashing gigabytes of weights per run would cost more
    than it saves)."""
    if not folder.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            rel = f.relative_to(folder).as_posix()
            h.update(rel.encode())
            h.update(f.read_bytes() if f.suffix == ".json" else str(f.stat().st_size).encode())
    return h.hexdigest()


def _source_identity(src: Source, base: Path) -> dict[str, Any]:
    if src.repo is not None:
        return {"repo": src.repo, "revision": src.revision}
    out: dict[str, Any] = {"path": src.path}
    if src.build is not None:
        # A built folder is defined by its builder's version, which is in the path template.
        out["build"] = src.build
    else:
        out["fingerprint"] = _local_fingerprint(resolve_local_path(src.path or "", base))
    return out


def profile_identity(profile: Profile) -> dict[str, Any]:
    """What makes this profile's output what it is: model ids, revisions, dtypes and default
    settings per role. Memory strategies, notes and licence are left out: they change speed and
    wording, not pixels (VAE tiling is the one near-exception; its seams are below 8-bit)."""
    roles: dict[str, Any] = {}
    for cap, r in sorted(profile.roles.items(), key=lambda kv: kv[0].value):
        roles[cap.value] = {
            "pipeline": r.pipeline, **_source_identity(r, profile.base_dir),
            "dtype": r.dtype, "component_dtypes": dict(sorted(r.component_dtypes.items())),
            "width": r.width, "height": r.height, "frames": r.frames, "fps": r.fps,
            "steps": r.steps, "guidance": r.guidance, "guidance_2": r.guidance_2,
            "scheduler": r.scheduler, "flow_shift": r.flow_shift, "size_policy": r.size_policy,
            "max_frames": r.max_frames, "call": dict(sorted(r.call.items())),
            "shared_components": {k: {**_source_identity(v, profile.base_dir), "subfolder": v.subfolder}
                                  for k, v in sorted(r.shared_components.items())},
            # sha256 only guards the bytes (a file that fails it is refused), so it names nothing.
            "weights_override": [w.model_dump(mode="json", exclude={"sha256"}) for w in r.weights_override],
            # The joint mechanism decides the pixels of a joint group (and the chunking).
            "joint": None if r.joint is None else r.joint.model_dump(mode="json"),
            "max_joint_tokens": r.max_joint_tokens,
        }
        # LoRAs and speed settings (after --fast: compile and attention kernels agree only to
        # float tolerance, caches change pixels) name the output too; each is left out when
        # empty, so profiles without them keep their cache keys.
        if r.loras:
            roles[cap.value]["loras"] = [lo.model_dump(mode="json", exclude={"sha256"}) for lo in r.loras]
        speed = r.speed.model_dump(mode="json", exclude_none=True)
        if speed:
            roles[cap.value]["speed"] = speed
        if r.speed.cache is not None and r.speed.cache.kind == "magcache":
            roles[cap.value]["mag_ratios"] = list(r.mag_ratios or ())
    ident = {"profile": profile.name, "backend": profile.backend, "roles": roles}
    if profile.identity != IdentitySpec():  # left out when default, so older keys are kept
        ident["identity"] = profile.identity.model_dump(mode="json")
    return json.loads(json.dumps(ident, sort_keys=True))
