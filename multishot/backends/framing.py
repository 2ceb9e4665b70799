"""Keyframe framing: where a shot's movement leaves the camera, as a zoom of its first frame.

The convention belongs to the backend that draws the keyframes (the `Backend` interface's
optional `keyframe_zooms`); this is the default every backend shares today, the animatic's
camera model (the reference previz): the first keyframe is the shot size itself and the last is
where the movement ends — a dolly-in tighter, a dolly-out wider — so an infill never has to
cross-fade between two framings. Paradigms ask `keyframe_zooms(backend, movement)` and never
import a backend's camera.
"""

from __future__ import annotations

from typing import Any

#: Scale reached by the figures at the end of a scaling move (keyframes use it as layout.zoom).
END_SCALE = {"dolly-in": 1.35, "dolly-out": 1 / 1.35, "zoom-in": 1.6, "zoom-out": 1 / 1.6}


def _norm(word: str | None) -> str:
    """'Dolly in' / 'dolly_in' -> 'dolly-in' (the animatic's spelling rule)."""
    if not word:
        return "static"
    return "-".join(word.strip().lower().replace("_", " ").replace("-", " ").split()) or "static"


def movement_end_zoom(movement: str | None) -> float:
    """The framing zoom of a shot's last frame relative to its first (1.0 for non-scaling moves),
    so a keyframe planner can ask `text_to_image` for the end still at that `layout.zoom`."""
    return END_SCALE.get(_norm(movement), 1.0)


def keyframe_zooms(backend: Any, movement: str | None) -> tuple[float, float]:
    """(first, last) keyframe zoom of a shot with `movement`, by `backend`'s own convention
    when it declares one (`keyframe_zooms(movement)`), else the shared default."""
    own = getattr(backend, "keyframe_zooms", None)
    if callable(own):
        first, last = own(movement)
        return float(first), float(last)
    return 1.0, movement_end_zoom(movement)
