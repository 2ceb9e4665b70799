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
the client gave up). The two bounds must agree: a schema whose longest valid answer is longer
than max_tokens lets a looping model write a valid-so-far answer that is cut off mid-JSON (the
135M model did so in every revise request and in one logline's treatment). So `bounded` estimates
the longest answer a schema allows (`worst_case_tokens`) and shortens the free strings until it
fits the role's budget: then every answer the server can sample is complete JSON, and
max_tokens is that worst case.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any, Sequence

from pydantic import BaseModel

from multishot.plan.agent.cinematographer import CameraPlan
from multishot.plan.agent.director import Breakdown
from multishot.plan.agent.screenwriter import Brief, Treatment
from multishot.shotlist.schema import Film, Shot

Schema = dict[str, Any]
TIMES = ["dawn", "day", "dusk", "night"]
#: (base, per shot) completion tokens: the budget each role's schema is fitted to (`bounded`).
#: Measured answers are ~25 (camera), ~50 (director) and ~35 (treatment) tokens a shot at ~3
#: characters a token; the budgets hold the same fields at one character a token (a looping
#: model) with free strings of a useful length — a director's action and line ~75 characters
#: with one character in the cast, a camera's lighting 40 (below that the fit shortened them to
#: 24 and cut real actions) — and cost time only when a model loops (then ~2 minutes for 8 shots
#: of the director's at 20 tokens/s, instead of three cut-off attempts).
TOKEN_BUDGET: dict[str, tuple[int, int]] = {"screenwriter": (600, 80), "director": (200, 250),
                                            "cinematographer": (100, 110), "revise": (300, 200),
                                            "critic": (100, 150)}
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
#: Shorter natural bounds for fields that are a phrase, not a sentence (before `bounded` fits
#: them all to a role's budget).
FIELD_TEXT: dict[str, int] = {"title": 80, "weather": 40, "prop": 80, "lighting": 80, "relation": 40,
                              "time": 16, "style": 160}
#: The longest id a model may make up (a shot id; the shot-list language allows 64).
MAX_ID = 32
#: No free string is shortened below this many characters to fit a budget.
MIN_TEXT = 40


def _tidy(schema: Schema, key: str | None = None) -> Schema:
    """Drop the titles pydantic adds (tokens in every prompt that carries the schema) and bound
    every free string (MAX_TEXT, or the field's own FIELD_TEXT)."""
    if isinstance(schema, dict):
        out: Schema = {}
        for k, v in schema.items():
            if k == "title" and isinstance(v, str):
                continue
            if k == "properties" and isinstance(v, dict):
                out[k] = {name: _tidy(sub, name) for name, sub in v.items()}
            else:
                out[k] = _tidy(v, key)
        if out.get("type") == "string" and "enum" not in out and "const" not in out:
            out["maxLength"] = min(int(out.get("maxLength", MAX_TEXT)), FIELD_TEXT.get(key or "", MAX_TEXT))
        return out
    if isinstance(schema, list):
        return [_tidy(v, key) for v in schema]
    return schema


# -- the longest answer a schema allows ---------------------------------------------------------

#: Worst-case characters per token inside a free string: one. SmolLM2's tokenizer spends a token
#: on each character of the degenerate strings it writes when it loops ("A.J.A.A.…": 240
#: characters, 240 tokens, measured with the server's /tokenize) and of digits; its prose is
#: ~4 characters a token. (Non-ASCII text can take more than one token a character: emoji take
#: two. The bound is for the ASCII a schema-constrained English answer writes.)
CHARS_PER_TOKEN = 1
#: Characters per token of the fixed words of an answer (keys, ids, enum values): measured
#: 1.8–3.3 (`"01-setup-scene-1"`: 18 characters, 10 tokens; `"screen_direction": `: 20, 6); the
#: server samples a literal in the model's own tokens, not one character at a time.
LITERAL_CHARS_PER_TOKEN = 2.5
#: Tokens for one number (a digit is a token: "12.75" is 5).
NUMBER_TOKENS = 8
#: Tokens of punctuation and whitespace around one value: the comma or colon and the newline
#: and indentation the server's JSON grammar allows (`,\n        "` is 3 tokens, the quote
#: counted with the literal). With these constants the estimate is 3–25 % above the tokens of
#: the longest answer each role's schema allows (every string full, pretty-printed), measured
#: with SmolLM2's tokenizer (docs/notes/issue-18c.md).
SEPARATOR_TOKENS = 2


def _literal(value: Any) -> int:
    return math.ceil(len(json.dumps(value, ensure_ascii=False)) / LITERAL_CHARS_PER_TOKEN) + 1


def worst_case_tokens(schema: Any) -> int | None:
    """An upper estimate of the completion tokens of the longest JSON answer the schema allows,
    or None when it allows answers of any length (an open map, a list or a string without a
    bound). Every optional property counts as present: a model may write them all."""
    if schema is True or not isinstance(schema, dict):
        return None
    if "const" in schema:
        return _literal(schema["const"])
    if "enum" in schema:
        return max((_literal(v) for v in schema["enum"]), default=1)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts = [worst_case_tokens(b) for b in schema[key]]
            return None if any(p is None for p in parts) else max(parts, default=1)  # type: ignore[type-var]
    kind = schema.get("type")
    if isinstance(kind, list):
        parts = [worst_case_tokens({**schema, "type": k}) for k in kind]
        return None if any(p is None for p in parts) else max(parts)  # type: ignore[type-var]
    if kind == "string":
        if "maxLength" not in schema:
            return None
        return math.ceil(int(schema["maxLength"]) / CHARS_PER_TOKEN) + 2
    if kind in ("number", "integer"):
        if kind == "integer" and "maximum" in schema and "minimum" in schema:
            return max(len(str(schema["maximum"])), len(str(schema["minimum"]))) + 1
        return NUMBER_TOKENS
    if kind in ("boolean", "null"):
        return 2
    if kind == "object":
        extra = schema.get("additionalProperties", True)
        if extra is not False or schema.get("patternProperties"):
            return None
        total = 2
        for name, sub in (schema.get("properties") or {}).items():
            value = worst_case_tokens(sub)
            if value is None:
                return None
            total += _literal(name) + value + SEPARATOR_TOKENS
        return total
    if kind == "array":
        most = schema.get("maxItems")
        if "items" in schema:
            # llama.cpp's converter: `items`, when present, is every element's schema (a list
            # there is a tuple), and `prefixItems` is then ignored
            items = schema["items"]
            parts = [worst_case_tokens(i) for i in items] if isinstance(items, list) else None
            if parts is None:
                item = worst_case_tokens(items)
                if item is None or most is None:
                    return None
                return 2 + int(most) * (item + SEPARATOR_TOKENS)
        else:
            parts = [worst_case_tokens(p) for p in schema.get("prefixItems") or []]
            if not parts and most is None:
                return None
        if any(p is None for p in parts):
            return None
        return 2 + sum(p + SEPARATOR_TOKENS for p in parts)  # type: ignore[operator]
    return None


def _free_strings(schema: Any) -> list[Schema]:
    """The schema's free-text nodes (strings with a bound, no enum, const or pattern)."""
    found: list[Schema] = []
    if isinstance(schema, dict):
        if schema.get("type") == "string" and "maxLength" in schema and not (
                {"enum", "const", "pattern"} & set(schema)):
            found.append(schema)
        for value in schema.values():
            found += _free_strings(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _free_strings(value)
    return found


def bounded(schema: Schema, budget: int) -> tuple[Schema, int]:
    """The schema with its free strings shortened (all by one factor, none below MIN_TEXT) until
    its longest answer fits `budget` tokens, and the max_tokens to ask for: that longest answer
    (≤ budget when the fit succeeds; more when even the shortest strings do not fit — the
    schema, not the budget, decides then, so no valid answer is ever cut off). A schema that
    allows answers of any length keeps its strings and gets the budget."""
    fitted = copy.deepcopy(schema)
    worst = worst_case_tokens(fitted)
    if worst is None:
        return fitted, min(MAX_TOKENS_CAP, budget)
    if worst > budget:
        strings = _free_strings(fitted)
        natural = [int(s["maxLength"]) for s in strings]
        low, high = 0.0, 1.0
        for _ in range(24):   # bisect the common factor
            mid = (low + high) / 2
            for node, cap in zip(strings, natural):
                node["maxLength"] = max(min(cap, MIN_TEXT), int(cap * mid))
            if (worst_case_tokens(fitted) or 0) <= budget:
                low = mid
            else:
                high = mid
        for node, cap in zip(strings, natural):
            node["maxLength"] = max(min(cap, MIN_TEXT), int(cap * low))
        worst = worst_case_tokens(fitted) or budget
    return fitted, min(MAX_TOKENS_CAP, worst)


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
    intent["properties"]["id"]["maxLength"] = MAX_ID   # every character of an id is a token to bound
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


#: The shot fields a revision may set: what the gates' fixes and the critic's notes are about.
#: (Not seed, profile, LoRAs or relation: a small model filled them with noise and ran out of
#: tokens before the scene it had to fix.)
REVISE_FIELDS = ("size", "angle", "movement", "duration", "action", "lighting", "characters",
                 "dialogue", "screen_direction", "transition")
#: What a finding of each rule lets a revision change, and where: ("shot", fields) on the shot
#: it names, ("scene", fields) on every shot of that scene, ("film", fields) on every shot. The
#: gates' own fixes (rules.py) change exactly these; a model asked to fix a screen direction
#: that may also rewrite every action did (SmolLM2-135M set 8 actions to "acti").
RULE_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "establishing": ("shot", ("size", "angle", "movement")),
    "character-presence": ("shot", ("action", "characters")),
    "description": ("shot", ("action",)),
    "jump-cut": ("shot", ("size", "angle")),
    "180-degree": ("scene", ("screen_direction",)),
    "duration-budget": ("film", ("duration", "transition")),
}


def revise_fields(film: Film, findings: Sequence[tuple[str, str]]) -> dict[str, set[str]]:
    """shot id → the fields a revision may set on it, from the findings (rule, shot id). A rule
    this table does not know (a model critic's note) opens all of REVISE_FIELDS on its shot."""
    scene_of = {shot.id: scene for scene, shot in film.shots()}
    out: dict[str, set[str]] = {shot.id: set() for _, shot in film.shots()}
    for rule, shot_id in findings:
        where, fields = RULE_FIELDS.get(rule, ("shot", REVISE_FIELDS))
        if where == "film" or shot_id not in scene_of:
            targets = list(out)
        elif where == "scene":
            targets = [s.id for s in scene_of[shot_id].shots]
        else:
            targets = [shot_id]
        for target in targets:
            out[target] |= set(fields)
    return out


def revise_scenes(film: Film, shot_ids: Sequence[str]) -> list[str]:
    """The scenes a revision must send: those with a finding (all of them when a finding names
    no shot of the film, like the duration budget, which every shot's length answers)."""
    where = {shot.id: scene.id for scene, shot in film.shots()}
    if not shot_ids or any(s not in where for s in shot_ids):
        return [s.id for s in film.scenes]
    wanted = {where[s] for s in shot_ids}
    return [s.id for s in film.scenes if s.id in wanted]


def revise_schema(film: Film, findings: Sequence[tuple[str, str]] | None = None) -> Schema:
    """The scenes with findings (all scenes when `findings` is None), in film order; in each,
    its recorded shots in order, each a patch: its `id` (fixed) and only the fields its
    findings concern (RULE_FIELDS; what is left out is kept: the revision is merged shot by
    shot, see `merge_revision`). Every bound is finite, so `bounded` fits the longest answer
    into max_tokens; ids, order and count are the schema's, so a model's revision cannot reuse
    an id, drop a shot or add one (the shot count asked for is kept; an added shot — an
    establishing wide — is the gates' own fix, reported). No slot for a new shot: llama.cpp's
    converter reads `items` as the schema of every element when it is present and ignores
    `prefixItems` (measured: a `prefixItems` + `items` schema let SmolLM2 rewrite every shot
    with new ids), so a tuple here is `prefixItems` alone, closed by minItems = maxItems."""
    shot = inline(Shot)
    cast = list(film.characters)
    props = {k: v for k, v in shot["properties"].items() if k in REVISE_FIELDS}
    props["characters"] = _ids(cast)
    props["dialogue"] = _lines(cast)
    if findings is None:
        allowed = {s.id: set(REVISE_FIELDS) for _, s in film.shots()}
        chosen = [s.id for s in film.scenes]
    else:
        allowed = revise_fields(film, findings)
        chosen = revise_scenes(film, [shot_id for _, shot_id in findings])
    scenes = []
    for scene in film.scenes:
        if scene.id not in chosen:
            continue
        patches = [{"type": "object", "additionalProperties": False, "required": ["id"],
                    "properties": {"id": {"const": s.id},
                                   **{k: copy.deepcopy(v) for k, v in props.items() if k in allowed[s.id]}}}
                   for s in scene.shots]
        n = len(patches)
        scenes.append({"type": "object", "additionalProperties": False, "required": ["id", "shots"],
                       "properties": {"id": {"const": scene.id},
                                      "shots": {"type": "array", "prefixItems": patches,
                                                "minItems": n, "maxItems": n}}})
    n = len(scenes)
    return _tidy({"type": "object", "additionalProperties": False, "required": ["scenes"],
                  "properties": {"scenes": {"type": "array", "prefixItems": scenes, "minItems": n,
                                            "maxItems": n}}})


def critic_schema(shot_ids: Sequence[str], notes: int) -> Schema:
    """At most `notes` notes, each on one of the film's shots."""
    return _tidy({"type": "object", "additionalProperties": False, "required": ["notes"],
                  "properties": {"notes": {"type": "array", "maxItems": notes, "items": {
                      "type": "object", "additionalProperties": False, "required": ["shot_id", "message"],
                      "properties": {"shot_id": {"enum": list(shot_ids)},
                                     "message": {"type": "string", "minLength": 1}}}}}})
