"""The backend interface: what generates pixels, and what it declares it can do.

A backend is a plain object with a `capabilities` set and one method per capability, named by
the capability's value (`implemented` reads the set off the methods). Paradigms
check capabilities before any work starts (DESIGN.md), so a missing one fails with a sentence,
not half a render. Frames are numpy arrays (H, W, 3) uint8 everywhere, so post-processing and
metrics never care which backend made them.
"""

from __future__ import annotations

from multishot.errors import InvalidInput

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

Frame = np.ndarray  # (H, W, 3) uint8


class Capability(str, Enum):
    TEXT_TO_IMAGE = "text_to_image"
    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"
    FIRST_LAST_TO_VIDEO = "first_last_to_video"
    JOINT_SHOTS = "joint_shots"
    #: A shot generated with every character's reference image as conditioning (Wan VACE).
    REFERENCE_TO_VIDEO = "reference_to_video"


@dataclass(frozen=True)
class CharacterInShot:
    """A character as a backend sees it: the canonical description, verbatim."""

    id: str
    description: str


@dataclass(frozen=True)
class ShotLayout:
    """Staging facts of a shot. Model backends read them through the prompt; the animatic
    draws them directly (it has no text understanding), which is what makes it a true previz."""

    shot_id: str
    scene_id: str
    location_id: str
    location: str
    time: str | None
    weather: str | None
    size: str
    angle: str | None
    movement: str | None
    characters: tuple[CharacterInShot, ...] = ()
    action: str = ""
    lighting: str | None = None
    #: For keyframes: the framing to draw, as a zoom factor relative to the shot size
    #: (1.0 = the size itself; a dolly-in's end keyframe is > 1).
    zoom: float = 1.0
    #: The way the shot's subject (first character) faces on screen, as the shot list records it.
    screen_direction: str | None = None
    #: The scene's action line: its characters from the left to the right of the frame as the
    #: master side of the line sees them (plan/blocking.py). Empty: no blocking known.
    line: tuple[CharacterInShot, ...] = ()
    #: Which side of the action line the camera stands on: +1 the master's side, -1 across it
    #: (the camera crossed the line, as `multishot check` reports).
    camera_side: int = 1
    #: Dialogue lines of the shot in order, (character id, text).
    dialogue: tuple[tuple[str, str], ...] = ()


class LoraUnusable(InvalidInput, ValueError):
    """A LoRA the shot list names cannot be used with its model (invalid input: exit 2,
    said before any shot is generated)."""


@dataclass(frozen=True)
class LoraUse:
    """A LoRA one shot asks for (a character's or the shot's own), resolved by the planner:
    a local file (`path`, absolute) or a Hub file, at `weight`. `fingerprint` names the
    file's content (a local file's size and modification time; a Hub file's pinned
    revision), so a replaced file re-renders its shots."""

    label: str
    weight: float
    format: str
    fingerprint: str
    path: str | None = None
    repo: str | None = None
    revision: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class ShotRequest:
    """Everything one generation call needs. Seeds are explicit: a backend never draws its own."""

    prompt: str
    negative: str
    width: int
    height: int
    num_frames: int
    fps: int
    seed: int
    layout: ShotLayout
    #: Per-shot prompt without the global part, for joint generation's window cross-attention.
    shot_prompt: str = ""
    #: The global part (style, characters), shared by every shot of a film.
    global_prompt: str = ""
    #: Identity images by character id (the character bank), for backends that can use them.
    references: dict[str, Frame] = field(default_factory=dict, compare=False, hash=False)
    #: LoRAs for this shot, for backends that load them (switched per shot).
    loras: tuple[LoraUse, ...] = ()

    def cache_fields(self) -> dict[str, Any]:
        """The fields that determine the output; reference images enter by their hashes."""
        from hashlib import sha256

        return {
            "prompt": self.prompt, "negative": self.negative, "width": self.width,
            "height": self.height, "num_frames": self.num_frames, "fps": self.fps,
            "seed": self.seed, "layout": repr(self.layout), "shot_prompt": self.shot_prompt,
            "global_prompt": self.global_prompt,
            "references": {k: sha256(np.ascontiguousarray(v).data).hexdigest()
                           for k, v in sorted(self.references.items())},
            **({"loras": [(lo.label, lo.weight, lo.format, lo.fingerprint) for lo in self.loras]}
               if self.loras else {}),
        }


class CapabilityError(InvalidInput, RuntimeError):
    """A paradigm needs something the chosen backend or profile cannot do."""


@runtime_checkable
class Backend(Protocol):
    name: str
    capabilities: frozenset[Capability]

    def identity(self) -> dict[str, Any]:
        """What makes this backend's output what it is (model ids, revisions, settings):
        part of every artifact's cache key."""

    def text_to_image(self, req: ShotRequest) -> Frame: ...

    def text_to_video(self, req: ShotRequest) -> Iterable[Frame]: ...

    def image_to_video(self, req: ShotRequest, first: Frame) -> Iterable[Frame]: ...

    def first_last_to_video(self, req: ShotRequest, first: Frame, last: Frame) -> Iterable[Frame]: ...

    def joint_shots(self, reqs: Sequence[ShotRequest], memory: Any = None) -> list[list[Frame]]: ...


def implemented(backend: object) -> frozenset[Capability]:
    """The capabilities `backend` (an object or its class) has a method for: a capability's
    method is named by its value (`Capability.TEXT_TO_VIDEO` -> `text_to_video`). A backend
    whose set does not change with its settings declares exactly this set; one whose set comes
    from its profile (diffusers: the profile's roles) must stay inside it."""
    return frozenset(c for c in Capability if callable(getattr(backend, c.value, None)))


def unimplemented(backend: Backend) -> list[Capability]:
    """Declared capabilities with no method behind them (a paradigm would pass the capability
    check and fail mid-render): empty for every built-in backend, checked when a backend is
    made (backends/registry.py)."""
    have = implemented(backend)
    return [c for c in Capability if c in backend.capabilities and c not in have]


def implements_what_it_declares(backend: Backend, what: str) -> Backend:
    """`backend`, once every capability it declares has its method: a paradigm checks
    capabilities before any work, so one declared without its method would pass that check and
    fail mid-render. The registry checks every backend it makes (built-ins are held to it by a
    test; a plug-in, or a profile listing capabilities for it, that breaks it is refused)."""
    missing = ", ".join(c.value for c in unimplemented(backend))
    if missing:
        raise RuntimeError(f"{what} declares {missing} but the backend has no method {missing}: "
                           "remove it from the profile's `capabilities` or implement it")
    return backend


def reads_references(backend: Backend, cap: Capability) -> bool:
    """Whether `backend` conditions calls of `cap` on `ShotRequest.references` (every
    character's bank image: IP-Adapter stills, VACE shots). A backend says so with an optional
    `reference_roles` set; paradigms then build the character bank and pass it."""
    return cap in getattr(backend, "reference_roles", frozenset())


def require(backend: Backend, needed: Iterable[Capability], why: str) -> None:
    """Fail before any work starts when `backend` lacks a capability `why` needs."""
    missing = [c.value for c in needed if c not in backend.capabilities]
    if missing:
        have = ", ".join(sorted(c.value for c in backend.capabilities)) or "nothing"
        raise CapabilityError(
            f"{why} needs {', '.join(missing)}, but backend '{backend.name}' offers only {have}. "
            "Run `multishot profiles list` to see which profile has it."
        )
