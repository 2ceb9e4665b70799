"""JSON schemas for one model request: the role's pydantic contract, narrowed to this request.

Why: a small model prompted for "one JSON object of this shape" drifts — prose, wrong ids, the
wrong number of shots, replies that never end. Servers that constrain decoding to a JSON schema
(llama.cpp's grammar sampler, OpenAI's structured outputs, vLLM's guided decoding) make every
token of the answer fit the schema, so the schema is worth making as tight as the request
allows: the treatment's scene ids in order, the exact number of shots in each scene, the known
character ids. The base is always the role's contract (`Model.model_json_schema()`), so the
schema and the validation of the answer cannot disagree; narrowing only removes answers the
contract's own checks (`treatment_problems`, `breakdown_problems`, `camera_problems`) would
reject anyway.

`max_tokens` per role comes from the shot count: an answer is a few dozen tokens a shot, and a
bound keeps a runaway reply from filling the context (and the server from generating on after
the client gave up).
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from multishot.plan.agent.cinematographer import CameraPlan
from multishot.plan.agent.director import Breakdown
from multishot.plan.agent.screenwriter import Brief, Treatment
from multishot.shotlist.schema import Film, Shot

Schema = dict[str, Any]
TIMES = ["dawn", "day", "dusk", "night"]
#: (base, per shot) completion tokens: measured answers are ~25 (camera), ~60 (director) and
#: ~90 (a revised shot with all its fields) tokens a shot; the bound is about twice that.
TOKEN_BUDGET: dict[str, tuple[int, int]] = {"screenwriter": (400, 60), "director": (200, 120),
                                            "cinematographer": (100, 60), "revise": (300, 180),
                                            "critic": (200, 60)}
MAX_TOKENS_CAP = 8192


def max_tokens(role: str, shots: int) -> int:
    base, per_shot = TOKEN_BUDGET[role]
    return min(MAX_TOKENS_CAP, base + per_shot * max(1, shots))


def inline(model: type[BaseModel]) -> Schema:
    """The model's JSON schema with every `$ref` replaced by its definition (so a request's
    schema can be narrowed in place, and servers without `$ref` support read it)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]]))
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def _ids(ids: list[str]) -> Schema:
    """A list of ids from a known set (an empty set allows only the empty list)."""
    return {"type": "array", "items": {"enum": ids}} if ids else {"type": "array", "maxItems": 0}


def _lines(ids: list[str]) -> Schema:
    """Dialogue: character id → line, only known characters."""
    return {"type": "object", "properties": {c: {"type": "string"} for c in ids}, "additionalProperties": False}


def _tidy(schema: Schema) -> Schema:
    """Drop the titles pydantic adds (tokens in every prompt that carries the schema)."""
    if isinstance(schema, dict):
        return {k: _tidy(v) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    if isinstance(schema, list):
        return [_tidy(v) for v in schema]
    return schema


def screenwriter_schema(brief: Brief) -> Schema:
    from multishot.plan.agent.screenwriter import character_id

    s = inline(Treatment)
    props = s["properties"]
    props.pop("names", None)   # optional sugar; the model is not asked for it
    given = [character_id(n) for n, _ in brief.characters]
    props["characters"] = {"type": "object", "additionalProperties": {"type": "string"},
                           "properties": {c: {"type": "string"} for c in given}, "required": given}
    props["locations"] = {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1}
    scene = props["scenes"]["items"]
    scene["properties"]["time"] = {"enum": TIMES}
    scene["properties"]["shots"] = {"type": "integer", "minimum": 1, "maximum": brief.shots}
    scene["required"] = ["id", "location", "time", "beat", "characters", "shots", "duration"]
    props["scenes"].update(minItems=1, maxItems=min(brief.shots, 6))
    s["required"] = ["title", "characters", "locations", "scenes"]
    s.pop("additionalProperties", None)
    s["additionalProperties"] = False
    return _tidy(s)


def director_schema(treatment: Treatment) -> Schema:
    """One entry per treatment scene, in order, each with exactly the scene's shot count."""
    s = inline(Breakdown)
    intent = s["properties"]["scenes"]["items"]["properties"]["shots"]["items"]
    cast = list(treatment.characters)
    intent["properties"]["characters"] = _ids(cast)
    intent["properties"]["dialogue"] = _lines(cast)
    intent["required"] = ["id", "purpose", "characters", "action", "duration"]
    scenes = []
    for beat in treatment.scenes:
        scenes.append({"type": "object", "additionalProperties": False, "required": ["scene", "shots"],
                       "properties": {"scene": {"const": beat.id},
                                      "shots": {"type": "array", "items": intent,
                                                "minItems": beat.shots, "maxItems": beat.shots}}})
    n = len(scenes)
    s["properties"]["scenes"] = {"type": "array", "prefixItems": scenes, "items": False,
                                 "minItems": n, "maxItems": n}
    return _tidy(s)


def camera_schema(breakdown: Breakdown) -> Schema:
    """One camera per shot intent, in order, each naming its shot id."""
    s = inline(CameraPlan)
    camera = s["properties"]["shots"]["items"]
    camera["required"] = ["id", "size", "angle", "movement", "lighting", "screen_direction"]
    items = []
    for intent in breakdown.intents():
        one = copy.deepcopy(camera)
        one["properties"]["id"] = {"const": intent.id}
        items.append(one)
    n = len(items)
    s["properties"]["shots"] = {"type": "array", "prefixItems": items, "items": False, "minItems": n, "maxItems": n}
    return _tidy(s)


def revise_schema(film: Film) -> Schema:
    """The film's scenes, by their ids; every shot field but `id` optional (what is left out
    is kept: the revision is merged shot by shot, see `merge_revision`)."""
    shot = inline(Shot)
    cast = list(film.characters)
    shot["properties"]["characters"] = _ids(cast)
    shot["properties"]["dialogue"] = _lines(cast)
    for field in ("seed", "profile"):
        shot["properties"].pop(field, None)
    shot["required"] = ["id"]
    shot["additionalProperties"] = False
    scene = {"type": "object", "additionalProperties": False, "required": ["id", "shots"],
             "properties": {"id": {"enum": [s.id for s in film.scenes]},
                            "location": {"enum": list(film.locations)} if film.locations else {"type": "string"},
                            "time": {"type": "string"}, "weather": {"type": "string"},
                            "shots": {"type": "array", "items": shot, "minItems": 1}}}
    return _tidy({"type": "object", "additionalProperties": False, "required": ["scenes"],
                  "properties": {"scenes": {"type": "array", "items": scene, "minItems": 1,
                                            "maxItems": len(film.scenes)}}})
