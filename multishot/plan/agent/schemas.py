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
from typing import Sequence, Any

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
    # maxItems: an unbounded list let SmolLM2-135M repeat `"keeper"` until max_tokens.
    return {"type": "array", "items": {"enum": ids}, "maxItems": len(ids)} if ids else {"type": "array", "maxItems": 0}


def _lines(ids: list[str]) -> Schema:
    """Dialogue: character id → line, only known characters."""
    return {"type": "object", "properties": {c: {"type": "string"} for c in ids}, "additionalProperties": False}


#: The longest free-text field a constrained answer may write. A small model at temperature 0
#: repeats a sentence until max_tokens cuts the reply into invalid JSON (SmolLM2-135M wrote one
#: character description for 640 tokens); a bound closes the string and the object instead.
MAX_TEXT = 240


def _tidy(schema: Schema) -> Schema:
    """Drop the titles pydantic adds (tokens in every prompt that carries the schema) and bound
    every free string (MAX_TEXT)."""
    if isinstance(schema, dict):
        out = {k: _tidy(v) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
        if out.get("type") == "string" and "enum" not in out and "const" not in out:
            out["maxLength"] = min(int(out.get("maxLength", MAX_TEXT)), MAX_TEXT)
        return out
    if isinstance(schema, list):
        return [_tidy(v) for v in schema]
    return schema


def screenwriter_schema(brief: Brief, cast: Sequence[str] = (), places: Sequence[str] = (),
                        split: Sequence[tuple[str, int]] = ()) -> Schema:
    """The treatment; with `cast`/`places` (the ids the logline reading found) the id maps are
    closed to exactly those keys and the scenes may name only them. Open maps (id → description)
    are a trap for a small model: llama.cpp's converter honours neither `maxProperties` nor
    `propertyNames`, and SmolLM2-135M filled `characters` with `"Lighthouse_38": …` keys until
    max_tokens cut the reply off. With `split` ((scene id, shots) of the logline reading) the
    scenes are fixed in number, ids and shot counts — the one constraint a schema cannot say
    otherwise is "the shots add up to N", which a 135M model missed in every reply."""
    from multishot.plan.agent.screenwriter import character_id

    s = inline(Treatment)
    props = s["properties"]
    props.pop("names", None)   # optional sugar; the model is not asked for it
    given = [character_id(n) for n, _ in brief.characters]
    people = list(dict.fromkeys([*given, *cast]))
    if cast:
        props["characters"] = {"type": "object", "additionalProperties": False, "required": people,
                               "properties": {c: {"type": "string"} for c in people}}
    else:
        props["characters"] = {"type": "object", "additionalProperties": {"type": "string"},
                               "properties": {c: {"type": "string"} for c in given}, "required": given}
    if places:
        props["locations"] = {"type": "object", "additionalProperties": False, "required": list(places),
                              "properties": {p: {"type": "string"} for p in places}}
    else:
        props["locations"] = {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1}
    scene = props["scenes"]["items"]
    scene["properties"]["time"] = {"enum": TIMES}
    if places:
        scene["properties"]["location"] = {"enum": list(places)}
    if cast:
        scene["properties"]["characters"] = _ids(people)
    scene["properties"]["shots"] = {"type": "integer", "minimum": 1, "maximum": brief.shots}
    scene["required"] = ["id", "location", "time", "beat", "characters", "shots", "duration"]
    props["scenes"].update(minItems=1, maxItems=min(brief.shots, 6))
    if split:
        fixed = []
        for scene_id, shots in split:
            one = copy.deepcopy(scene)
            one["properties"]["id"] = {"const": scene_id}
            one["properties"]["shots"] = {"const": shots}
            fixed.append(one)
        props["scenes"] = {"type": "array", "prefixItems": fixed, "minItems": len(fixed), "maxItems": len(fixed)}
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
    # No `items: false` after the prefix: llama.cpp's converter rejects it with HTTP 400 ("schema
    # must be an object"); minItems = maxItems = the prefix length close the array as well.
    s["properties"]["scenes"] = {"type": "array", "prefixItems": scenes, "minItems": n, "maxItems": n}
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
    s["properties"]["shots"] = {"type": "array", "prefixItems": items, "minItems": n, "maxItems": n}
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
