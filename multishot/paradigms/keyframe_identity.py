"""The keyframe paradigm's identity and framing choices (issue 15), kept beside keyframe.py.

* `end_move`: where a shot's move ends relative to its start, in the animatic camera's
  convention (a dolly-in ends 1.35x tighter, a pan slides the world a quarter frame);
* `composes_end`: whether the backend composes the end keyframe from the start keyframe
  (profile `identity.end_keyframe.compose` and an image-to-image the backend can run);
* `consistent_scenes`: the stills each scene generates together when the profile asks for
  consistent keyframes (`identity.keyframes: consistent`).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from multishot.backends.animatic.camera import movement_end_zoom
from multishot.backends.base import Backend
from multishot.plan.film_plan import ShotSpec
from multishot.plan.keyframe_prompts import keyframe_prompt
from multishot.post.reframe import Move

#: How far the world slides on screen by the end of each translating move (fractions of the
#: frame; + right, + down), after the animatic's camera paths (backends/animatic/camera.py):
#: a pan turns a quarter frame, a truck moves the near layer ~0.3 frame and the far ~0.1, an
#: orbit sweeps the background while the subject holds.
_SLIDE: dict[str, tuple[float, float]] = {
    "pan-left": (0.25, 0.0), "pan-right": (-0.25, 0.0), "tilt-up": (0.0, 0.25), "tilt-down": (0.0, -0.25),
    "truck-left": (0.2, 0.0), "truck-right": (-0.2, 0.0), "crane-up": (0.0, 0.2), "crane-down": (0.0, -0.2),
    "orbit": (0.2, 0.0),
}


def end_move(spec: ShotSpec) -> Move:
    """The re-framing from a shot's first keyframe to its last."""
    movement = spec.shot.movement or "static"
    dx, dy = _SLIDE.get(movement, (0.0, 0.0))
    return Move(zoom=movement_end_zoom(movement), dx=dx, dy=dy)


def composes_end(backend: Backend, spec: ShotSpec) -> bool:
    """True when the end keyframe is made from the start keyframe: the shot moves, the
    profile asks for it and the backend has an image-to-image."""
    settings = getattr(backend, "end_keyframe", None)
    return (settings is not None and bool(getattr(settings, "compose", False))
            and hasattr(backend, "image_to_image") and not end_move(spec).is_still)


def is_consistent(backend: Backend) -> bool:
    return getattr(backend, "keyframes_mode", "independent") == "consistent" and hasattr(backend, "keyframes_together")


def consistent_scenes(items: Sequence[tuple[ShotSpec, str]], backend_of: Callable[[ShotSpec], Backend],
                      zoom_of: Callable[[ShotSpec, str], float]) -> list[tuple[str, Backend, list[tuple[ShotSpec, str, float, str | None]]]]:
    """The stills of `items` that consistent backends generate together, grouped by scene and
    backend in film order: (scene id, backend, [(spec, which, zoom, prompt)])."""
    groups: dict[tuple[str, str], tuple[str, Backend, list[Any]]] = {}
    for spec, which in items:
        backend = backend_of(spec)
        if not is_consistent(backend):
            continue
        key = (spec.scene_id, spec.profile)
        entry = groups.setdefault(key, (spec.scene_id, backend, []))
        entry[2].append((spec, which, zoom_of(spec, which), keyframe_prompt(spec, which)))
    return list(groups.values())
