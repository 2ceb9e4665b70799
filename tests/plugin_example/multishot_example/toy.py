"""Toy: a backend that draws the animatic's previz as a negative (every frame inverted). Its
profile ships beside it (profiles/toy.yaml: `backend: toy`) and is validated by its own profile
model, `ToyProfile`, named on its registry entry: the neutral fields plus `negative`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from multishot.backends.animatic import AnimaticBackend
from multishot.backends.base import Frame, ShotRequest
from multishot.backends.profile import BaseProfile
from multishot.backends.registry import BackendKind


class ToyProfile(BaseProfile):
    #: Draw the negative (True) or the animatic as it is (False).
    negative: bool = True


class ToyBackend:
    def __init__(self, profile: ToyProfile) -> None:
        self._inner = AnimaticBackend()
        self.name = profile.name
        self.negative = profile.negative
        self.capabilities = self._inner.capabilities

    def _out(self, frame: Frame) -> Frame:
        return 255 - frame if self.negative else frame

    def identity(self) -> dict[str, Any]:
        return {"toy": 1, "negative": self.negative, "inner": self._inner.identity()}

    def text_to_image(self, req: ShotRequest) -> Frame:
        return self._out(self._inner.text_to_image(req))

    def text_to_video(self, req: ShotRequest) -> Iterable[Frame]:
        return [self._out(f) for f in self._inner.text_to_video(req)]

    def image_to_video(self, req: ShotRequest, first: Frame) -> Iterable[Frame]:
        return [self._out(f) for f in self._inner.image_to_video(req, self._out(first))]

    def first_last_to_video(self, req: ShotRequest, first: Frame, last: Frame) -> Iterable[Frame]:
        return [self._out(f) for f in self._inner.first_last_to_video(req, self._out(first), self._out(last))]

    def joint_shots(self, reqs: Sequence[ShotRequest], memory: Any = None) -> list[list[Frame]]:
        return [[self._out(f) for f in shot] for shot in self._inner.joint_shots(reqs, memory)]


BACKEND = BackendKind("toy", ToyBackend, profile_dir=Path(__file__).with_name("profiles"), profile_model=ToyProfile)
