"""A model's revision merged onto the film, shot by shot: what the reply leaves out is kept.

Why: asked to "send the revised scenes", a model writes back only what it thinks of — the shots
it changed, the fields it remembers. Taking its scenes as the new scenes reset every omitted
field to its default (sizes to `medium`, angles, movement, lighting, scene `time`, transitions),
and let a revision pass the 180-degree gate by deleting the `screen_direction` the gate checks.
So the reply is read as a patch:

- a scene the reply leaves out is kept as it was; a scene it sends keeps its location, time and
  weather unless the reply sets them;
- in a scene it sends, the reply's shots are the scene's shots in order: a known shot id is the
  recorded shot with the reply's fields laid over it, a new id is a new shot (moved from another
  scene: the recorded shot, moved); a shot the reply leaves out of a scene it sends is removed
  (and the diff says so);
- a recorded value is never cleared: null, "", [] or {} in the reply leave it as it was, and each
  such attempt is reported.
"""

from __future__ import annotations

from typing import Any

from multishot.shotlist.schema import Film

Data = dict[str, Any]
EMPTY: tuple[Any, ...] = (None, "", [], {})


def _lay_over(recorded: Data, reply: Data, where: str, kept: list[str]) -> Data:
    out = dict(recorded)
    for key, value in reply.items():
        if value in EMPTY:
            if recorded.get(key) not in EMPTY:
                kept.append(f"{where}: kept {key} {recorded[key]!r} (the revision tried to clear it)")
            continue
        out[key] = value
    return out


def merge_revision(film: Film, scenes: list[Any]) -> tuple[Data, list[str]]:
    """The film as data with the reply's scenes merged in, and the notes on what was kept."""
    data = film.model_dump(mode="json", exclude_none=True)
    kept: list[str] = []
    recorded_scenes = {s["id"]: s for s in data["scenes"]}
    recorded_shots = {shot["id"]: shot for s in data["scenes"] for shot in s["shots"]}
    replaced: dict[str, Data] = {}
    extra: list[Data] = []
    for scene in scenes:
        if not isinstance(scene, dict) or not isinstance(scene.get("shots"), list):
            extra.append(scene)   # left for validation to report
            continue
        sid = scene.get("id")
        base = recorded_scenes.get(sid, {}) if isinstance(sid, str) else {}
        merged = _lay_over({k: v for k, v in base.items() if k != "shots"},
                           {k: v for k, v in scene.items() if k != "shots"}, f"scene `{sid}`", kept)
        shots = []
        for shot in scene["shots"]:
            if isinstance(shot, dict) and isinstance(shot.get("id"), str) and shot["id"] in recorded_shots:
                shots.append(_lay_over(recorded_shots[shot["id"]], shot, f"shot `{shot['id']}`", kept))
            else:
                shots.append(shot)
        merged["shots"] = shots
        if sid in recorded_scenes:
            replaced[sid] = merged
        else:
            extra.append(merged)
    # The film's scene order, new scenes at the end.
    out: list[Any] = [replaced.get(s["id"], s) for s in data["scenes"]] + extra
    # A shot moved to another scene is not also kept in the scene the reply did not send.
    fresh = [s for s in out if isinstance(s, dict) and (s.get("id") in replaced or s in extra)]
    sent = {shot.get("id") for s in fresh for shot in s.get("shots", []) if isinstance(shot, dict)}
    for s in out:
        if isinstance(s, dict) and s not in fresh:
            s["shots"] = [shot for shot in s["shots"] if shot["id"] not in sent]
    data["scenes"] = [s for s in out if not isinstance(s, dict) or s in fresh or s["shots"]]
    return data, kept
