"""The shot-list language, version 1 (SHOTLIST.md), as pydantic models.

Field names are a contract with users: never rename one. Every model forbids unknown keys so a
typo is an error with a did-you-mean rather than a silently ignored setting.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from multishot.post.vocabulary import did_you_mean, is_hard_cut, transition_names

ID_PATTERN = r"^[a-z0-9_-]+$"
#: Ids name files (`shots/<id>.mp4`, `keyframes/<id>_first.png`, cache entries): 64 characters
#: keep every such name far below the 255-byte limit of common file systems, so an id that
#: validates can always be published.
ID_MAX_LENGTH = 64
Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)]
#: Seeds fit in 32 bits: numpy's legacy generators and many samplers take no more, and a seed of
#: 2**64 would validate here only to fail inside diffusers.
MAX_SEED = 2**32 - 1

SIZES = ("extreme-wide", "wide", "full", "medium", "medium-close", "close", "extreme-close", "insert")
ANGLES = ("eye", "high", "low", "overhead", "dutch", "over-shoulder")
MOVEMENTS = ("static", "pan-left", "pan-right", "tilt-up", "tilt-down", "dolly-in", "dolly-out",
             "truck-left", "truck-right", "crane-up", "crane-down", "zoom-in", "zoom-out", "orbit",
             "handheld")
#: The built-in transition names (the vocabulary itself is `post/vocabulary.py`; a plug-in's
#: transition is accepted by `Transition.type` too, since it validates against the live table).
TRANSITIONS = transition_names()

Size = Literal["extreme-wide", "wide", "full", "medium", "medium-close", "close", "extreme-close", "insert"]
Angle = Literal["eye", "high", "low", "overhead", "dutch", "over-shoulder"]
Movement = Literal["static", "pan-left", "pan-right", "tilt-up", "tilt-down", "dolly-in", "dolly-out",
                   "truck-left", "truck-right", "crane-up", "crane-down", "zoom-in", "zoom-out",
                   "orbit", "handheld"]


def _transition_enum(schema: dict[str, Any]) -> None:
    """The JSON schema lists the vocabulary (constrained decoding for the agent's LLM roles)."""
    schema["enum"] = list(transition_names())

DEFAULT_TRANSITION_SECONDS = 0.5


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Transition(_Strict):
    """How a shot passes into the next one. `duration` is the overlap of the two shots."""

    type: str = Field(default="cut", json_schema_extra=_transition_enum)
    duration: float = Field(default=DEFAULT_TRANSITION_SECONDS, gt=0, le=10, strict=True, allow_inf_nan=False)

    @field_validator("type", mode="before")
    @classmethod
    def _known(cls, value: object) -> object:
        """Only names of the transition vocabulary, with a did-you-mean for a typo."""
        if isinstance(value, str) and value not in transition_names():
            expected = ", ".join(f"'{n}'" for n in transition_names())
            raise ValueError(f"`{value}` is not allowed; expected one of {expected}{did_you_mean(value)}")
        return value

    @property
    def overlap(self) -> float:
        """Seconds the two shots overlap in the film: none for a hard cut."""
        return 0.0 if is_hard_cut(self.type) else self.duration


class Format(_Strict):
    resolution: str = "832x480"
    fps: int = Field(default=16, ge=1, le=120, strict=True)
    seed: int = Field(default=7, ge=0, le=MAX_SEED, strict=True)

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, value: str) -> str:
        m = re.fullmatch(r"([0-9]+)x([0-9]+)", str(value).strip())  # ASCII digits only, not `８３２`
        if not m or not (16 <= int(m.group(1)) <= 8192 and 16 <= int(m.group(2)) <= 8192):
            raise ValueError("expected WIDTHxHEIGHT, e.g. 832x480 (16..8192 each)")
        if int(m.group(1)) % 2 or int(m.group(2)) % 2:
            raise ValueError("width and height must be even (H.264 yuv420p needs it)")
        return value

    @property
    def width(self) -> int:
        return int(self.resolution.split("x")[0])

    @property
    def height(self) -> int:
        return int(self.resolution.split("x")[1])


class LoraRef(_Strict):
    """A LoRA for the shots it applies to (optional): a `.safetensors` file inside the shot
    list's folder (`path`), or a Hub file (`repo` + pinned `revision` + `filename`), at
    `weight`. `format` is its key layout (`wan-original`, `diffusers` for PEFT/diffusers
    keys, `cinetrans`). Switched per shot on the already loaded model; backends without
    LoRAs (the animatic) ignore it."""

    path: str | None = None
    repo: str | None = None
    revision: str | None = None
    filename: str | None = None
    weight: float = Field(default=1.0, ge=-4.0, le=4.0)
    format: Literal["wan-original", "diffusers", "cinetrans"] = "wan-original"

    @model_validator(mode="after")
    def _one_source(self) -> "LoraRef":
        if (self.path is None) == (self.repo is None):
            raise ValueError("give either `path` (a .safetensors file) or `repo` + `revision` + `filename`")
        if self.repo is not None and not (self.revision and self.filename):
            raise ValueError("a Hub LoRA needs `revision` and `filename`")
        name = self.path or self.filename or ""
        if not name.endswith(".safetensors"):
            raise ValueError(f"only .safetensors LoRAs are loaded, got `{name}`")
        return self


class Character(_Strict):
    description: str = Field(min_length=1)
    reference: str | None = None
    #: Optional: a LoRA of this character, applied to every shot the character is in.
    lora: LoraRef | None = None


class Location(_Strict):
    description: str = Field(min_length=1)


class Shot(_Strict):
    id: Id
    size: Size = "medium"
    angle: Angle | None = None
    movement: Movement | None = None
    duration: float = Field(gt=0, le=600, strict=True, allow_inf_nan=False)
    action: str = ""
    lighting: str | None = None
    characters: list[Id] = Field(default_factory=list)
    relation: str | None = None
    dialogue: dict[str, str] = Field(default_factory=dict)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, strict=True)
    profile: str | None = None
    transition: Transition | None = None
    #: Optional (an addition the language allows): the side of the line a character faces,
    #: recorded so continuity checks can apply the 180-degree rule.
    screen_direction: Literal["left", "right"] | None = None
    #: Optional: LoRAs for this shot (style, motion), on top of its characters' LoRAs.
    loras: list[LoraRef] = Field(default_factory=list, max_length=8)

    @field_validator("transition", mode="before")
    @classmethod
    def _short_form(cls, value: object) -> object:
        return {"type": value} if isinstance(value, str) else value


class Scene(_Strict):
    id: Id
    location: Id
    time: str | None = None
    weather: str | None = None
    shots: list[Shot] = Field(min_length=1)


class Film(_Strict):
    multishot: Literal[1]
    title: str = Field(min_length=1)
    logline: str | None = None
    style: str | None = None
    negative: str | None = None
    format: Format = Field(default_factory=Format)
    paradigm: str | None = None
    profile: str | None = None
    characters: dict[Id, Character] = Field(default_factory=dict)
    locations: dict[Id, Location] = Field(default_factory=dict)
    scenes: list[Scene] = Field(min_length=1)

    @field_validator("multishot", mode="before")
    @classmethod
    def _version_is_the_integer(cls, value: object) -> object:
        """`multishot: true` and `multishot: 1.0` equal 1 in Python; the version is the integer 1."""
        if type(value) is not int:
            raise ValueError(f"the language version is the integer 1 (`multishot: 1`), not `{value!r}`")
        return value

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the title is blank; it names the film and its output folder")
        return value

    @model_validator(mode="after")
    def _at_least_one_shot(self) -> "Film":
        return self

    def shots(self) -> list[tuple[Scene, Shot]]:
        return [(scene, shot) for scene in self.scenes for shot in scene.shots]


ModelType = Union[type[BaseModel], None]
