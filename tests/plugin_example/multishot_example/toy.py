"""Toy: a backend that draws the animatic's previz as a negative (every frame inverted). Its
profile ships beside it (profiles/toy.yaml: `backend: toy`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from multishot.backends.animatic import AnimaticBackend
from multishot.backends.base import Frame, ShotRequest
from multishot.backends.registry import BackendKind


class ToyBackend:
    def __init__(self, profile: Any) -> None:
        self._inner = AnimaticBackend()
        self.name = profile.name
        self.capabilities = self._inner.capabilities

    def identity(self) -> dict[str, Any]:
        return {"toy": 1, "inner": self._inner.identity()}

    def text_to_image(self, req: ShotRequest) -> Frame:
        return 255 - self._inner.text_to_image(req)

    def text_to_video(self, req: ShotRequest) -> Iterable[Frame]:
        return [255 - f for f in self._inner.text_to_video(req)]

    def image_to_video(self, req: ShotRequest, first: Frame) -> Iterable[Frame]:
        return [255 - f for f in self._inner.image_to_video(req, 255 - first)]

    def first_last_to_video(self, req: ShotRequest, first: Frame, last: Frame) -> Iterable[Frame]:
        return [255 - f for f in self._inner.first_last_to_video(req, 255 - first, 255 - last)]

    def joint_shots(self, reqs: Sequence[ShotRequest], memory: Any = None) -> list[list[Frame]]:
        return [[255 - f for f in shot] for shot in self._inner.joint_shots(reqs, memory)]


BACKEND = BackendKind("toy", ToyBackend, profile_dir=Path(__file__).with_name("profiles"))
