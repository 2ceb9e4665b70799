"""Keyframe stages of issue 15: a scene's stills generated together, and an end keyframe
composed from the start keyframe.

`render_scene_keyframes`: every still of one scene is one cached batch (consistent
self-attention makes each still depend on all the others), then each still is its own KEYFRAME
artifact taken from the batch, so the paradigm and the review page see the same artifacts as
on the independent path. The batch key holds every still's request, the character bank images
it reads, and the backend identity, which names the mechanism and its settings.

`render_composed_keyframe`: the end keyframe of a moving shot as the start keyframe re-framed
by the move (post/reframe.py) and repainted by the backend's image-to-image under the end
prompt, keyed by the start keyframe's key, the move and the strength.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Sequence

from multishot.backends.base import Backend
from multishot.graph.engine import Artifact, Engine, Stage
from multishot.graph.executors.base import call
from multishot.graph.stages import KEYFRAME, _with_references, load_png, save_png
from multishot.plan.film_plan import ShotSpec
from multishot.post.reframe import Move, reframe

SCENE_KEYFRAMES = Stage("scene-keyframes", 1, "", "one scene's keyframe stills generated together")


def _seed(spec: ShotSpec, which: str) -> int:
    """The same per-still seed as the independent path (stages.render_keyframe)."""
    return spec.seed + (0 if which == "first" else 1)


def render_scene_keyframes(engine: Engine, backend: Backend, scene_id: str,
                           items: Sequence[tuple[ShotSpec, str, float, str | None]],
                           references: dict[str, Artifact], *, allow: bool = False) -> dict[tuple[str, str], Artifact]:
    """The stills `items` (spec, which, zoom, prompt) of scene `scene_id`, made together by
    `backend.keyframes_together`, reading the characters' bank images `references`."""
    if not items:
        return {}
    inputs = {"backend": backend.identity(), "mechanism": getattr(backend, "keyframes_mode", "consistent"),
              "items": [{"spec": s.cache_fields(), "which": w, "zoom": round(z, 4), "prompt": p} for s, w, z, p in items],
              "references": {k: a.key for k, a in sorted(references.items())}}
    shots = tuple(dict.fromkeys(s.id for s, *_ in items))
    work = call(make_scene_keyframes, backend=backend, items=list(items), references=references)
    batch = engine.run(SCENE_KEYFRAMES, f"scene:{scene_id}", inputs, work=work, shots=shots,
                       allow=allow or any(engine.allowed(s) for s in shots))
    out: dict[tuple[str, str], Artifact] = {}
    for n, (spec, which, _, _) in enumerate(items):
        src = batch.path / f"{n}.png"
        out[(spec.id, which)] = engine.run(
            KEYFRAME, f"{spec.id}:{which}", {"scene": batch.key, "index": n},
            lambda tmp, src=src: _copy(src, tmp), seed=_seed(spec, which), shots=(spec.id,), allow=True)
    return out


def _copy(src: Path, dest: Path) -> None:
    shutil.copyfile(src, dest)


def make_scene_keyframes(tmp: Path, backend: Backend, items: list[tuple[ShotSpec, str, float, str | None]],
                         references: dict[str, Artifact]) -> dict[str, Any]:
    """The work of render_scene_keyframes, as a module-level function so a worker can run it."""
    reqs = [spec.request(num_frames=1, zoom=zoom, seed=_seed(spec, which), prompt=prompt)
            for spec, which, zoom, prompt in items]
    bank = {cid: load_png(a.path) for cid, a in references.items()}
    stills = backend.keyframes_together(reqs, bank)  # type: ignore[attr-defined]
    tmp.mkdir(parents=True)
    for n, still in enumerate(stills):
        save_png(still, tmp / f"{n}.png")
    return {"stills": len(stills), "anchors": sorted(bank)}


def render_composed_keyframe(engine: Engine, backend: Backend, spec: ShotSpec, start: Artifact, move: Move, *,
                             zoom: float, strength: float, prompt: str | None,
                             references: dict[str, Artifact] | None = None, allow: bool = False) -> Artifact:
    """The end keyframe composed from the start keyframe `start`: re-framed by `move`, then
    image-to-image at `strength` under the end keyframe's prompt."""
    refs = references or {}
    seed = _seed(spec, "last")
    inputs = {"spec": spec.cache_fields(), "backend": backend.identity(), "which": "last", "composed": True,
              "start": start.key, "move": move.describe(), "strength": strength, "zoom": round(zoom, 4),
              "prompt": prompt, "references": {k: a.key for k, a in sorted(refs.items())}}
    work = call(make_composed_keyframe, backend=backend, spec=spec, start=start, move=move, zoom=zoom,
                strength=strength, prompt=prompt, references=refs)
    return engine.run(KEYFRAME, f"{spec.id}:last", inputs, work=work, seed=seed, shots=(spec.id,), allow=allow)


def make_composed_keyframe(tmp: Path, backend: Backend, spec: ShotSpec, start: Artifact, move: Move, zoom: float,
                           strength: float, prompt: str | None, references: dict[str, Artifact]) -> None:
    """The work of render_composed_keyframe, as a module-level function so a worker can run it."""
    req = _with_references(spec.request(num_frames=1, zoom=zoom, seed=_seed(spec, "last"), prompt=prompt), references)
    framed = reframe(load_png(start.path), move)
    save_png(backend.image_to_image(req, framed, strength), tmp)  # type: ignore[attr-defined]
