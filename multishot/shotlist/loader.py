"""Load a shot list: safe YAML with line numbers, schema validation, reference checks.

YAML is composed with PyYAML's SafeLoader (no object construction from tags), and the node
tree is kept so every error can name the line it comes from. All problems of a file are collected
and raised together as one ShotListError. Before composing, `bounds.check_bounds` rejects alias
bombs, recursive aliases and deep nesting from the event stream (see there why).
"""

from __future__ import annotations

import difflib
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from multishot.shotlist.bounds import BoundsExceeded, check_bounds
from multishot.shotlist.errors import Problem, ShotListError, format_path
from multishot.shotlist.names import check_profile
from multishot.post.vocabulary import is_hard_cut, transition_names
from multishot.shotlist.schema import DEFAULT_TRANSITION_SECONDS, Film

Loc = tuple[str | int, ...]


#: Given a paradigm name, why it is not one (with a did-you-mean), or None. The paradigm registry
#: lives in a layer above this one, so the caller that knows it passes it in.
ParadigmCheck = Callable[[str], "str | None"]


def load_film(path: str | Path, *, check_paradigm: ParadigmCheck | None = None) -> Film:
    """Parse and validate a shot-list file; raise ShotListError listing every problem.
    `check_paradigm` also checks `paradigm:` (the CLI's validate and render pass it)."""
    from multishot.plugins import load_transitions

    load_transitions()  # a plug-in's transition names are shot-list vocabulary too
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShotListError([Problem(path, None, "", "file not found")]) from None
    except (UnicodeDecodeError, IsADirectoryError) as err:
        raise ShotListError([Problem(path, None, "", f"cannot read as UTF-8 text: {err}")]) from None
    return parse_film(text, path, check_paradigm=check_paradigm)


def parse_film(text: str, path: Path, *, check_paradigm: ParadigmCheck | None = None) -> Film:
    data, lines, problems = _compose(text, path)
    if problems:
        raise ShotListError(problems)
    if not isinstance(data, dict):
        raise ShotListError([Problem(path, 1, "", "expected a mapping of keys (multishot:, title:, scenes: …)")])
    problems = check_references(data, lines, path)
    problems += check_names(data, lines, path, check_paradigm)
    try:
        film = Film.model_validate(data)
    except ValidationError as err:
        problems += [_problem_from(e, data, lines, path) for e in err.errors()]
    if problems:
        raise ShotListError(problems)
    return film


def shot_locations(path: Path) -> dict[str, tuple[int | None, str]]:
    """shot id -> (line, field path) in a valid shot-list file, so findings about a shot (the
    continuity gates) can be printed as `file:line: field: message` like schema problems."""
    data, lines, _ = _compose(Path(path).read_text(encoding="utf-8"), Path(path))
    out: dict[str, tuple[int | None, str]] = {}
    scenes = data.get("scenes") if isinstance(data, dict) else None
    for si, scene in enumerate(scenes if isinstance(scenes, list) else []):
        shots = scene.get("shots") if isinstance(scene, dict) else None
        for hi, shot in enumerate(shots if isinstance(shots, list) else []):
            if isinstance(shot, dict) and isinstance(shot.get("id"), str):
                loc = ("scenes", si, "shots", hi)
                out.setdefault(shot["id"], (_line_for(loc + ("id",), lines), format_path(loc)))
    return out


def _compose(text: str, path: Path) -> tuple[Any, dict[Loc, int], list[Problem]]:
    """YAML → (plain data, {field path: line}, problems) using the safe loader only."""
    try:
        check_bounds(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except BoundsExceeded as err:
        return None, {}, [Problem(path, err.line, "", str(err))]
    except RecursionError:  # bounded above; kept so no input can ever show a traceback
        return None, {}, [Problem(path, None, "", "the YAML nests too deeply")]
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else None
        return None, {}, [Problem(path, line, "", f"not valid YAML: {getattr(err, 'problem', err)}")]
    if node is None:
        return None, {}, [Problem(path, 1, "", "the file is empty")]
    lines: dict[Loc, int] = {}
    problems: list[Problem] = []
    loader = yaml.SafeLoader("")

    def walk(n: yaml.Node, loc: Loc) -> Any:
        lines.setdefault(loc, n.start_mark.line + 1)
        if n.tag not in _PLAIN_TAGS:
            problems.append(Problem(path, n.start_mark.line + 1, format_path(loc),
                                    f"YAML tag `{n.tag}` is not allowed in a shot list"))
            return None
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in _rejoin_flow_commas(n, text):
                key_line = key_node.start_mark.line + 1
                if key_node.tag == "tag:yaml.org,2002:merge":
                    problems.append(Problem(path, key_line, format_path(loc),
                                            "YAML merge keys (<<) are not supported in shot lists; "
                                            "write the fields out"))
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    problems.append(Problem(path, key_line, format_path(loc), "a key must be a plain value"))
                    continue
                if key_node.tag not in _PLAIN_TAGS:
                    problems.append(Problem(path, key_line, format_path(loc),
                                            f"YAML tag `{key_node.tag}` is not allowed in a shot list (on a key)"))
                    continue
                key = _scalar(key_node, loader)
                if isinstance(key, _Bad):
                    problems.append(Problem(path, key_line, format_path(loc), f"bad key: {key.reason}"))
                    continue
                key = str(key) if not isinstance(key, str) else key
                if key in out:
                    problems.append(Problem(path, key_line, format_path(loc + (key,)),
                                            f"duplicate key `{key}`"))
                lines[loc + (key,)] = key_line
                out[key] = walk(value_node, loc + (key,))
                lines[loc + (key,)] = key_line
            return out
        if isinstance(n, yaml.SequenceNode):
            return [walk(item, loc + (i,)) for i, item in enumerate(n.value)]
        value = _scalar(n, loader)
        if isinstance(value, _Bad):
            problems.append(Problem(path, n.start_mark.line + 1, format_path(loc), f"bad value: {value.reason}"))
            return None
        return value

    data = walk(node, ())
    return data, lines, problems


_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}


@dataclass(frozen=True)
class _Bad:
    """A scalar PyYAML could not construct (`!!int abc`, `!!float abc`)."""

    reason: str


def _scalar(node: yaml.ScalarNode, loader: yaml.SafeLoader) -> Any:
    """Construct one plain scalar. PyYAML's int/float constructors raise a bare ValueError for an
    explicitly tagged value that is not a number; that becomes a problem, not a traceback. NaN
    and infinities are YAML floats but never a valid duration, seed or size: refused here once."""
    try:
        value = loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as err:
        shown = node.value if len(node.value) <= 40 else node.value[:40] + "…"
        return _Bad(f"`{shown}` is not a valid {node.tag.rsplit(':', 1)[-1]}")
    if isinstance(value, float) and not math.isfinite(value):
        return _Bad(f"`{node.value}` is not a finite number")
    return value


def _rejoin_flow_commas(node: yaml.MappingNode, text: str) -> list[tuple[yaml.Node, yaml.Node]]:
    """`{description: brass lens, rain on the glass}` is, to YAML, a description plus a key
    `rain on the glass` with no value; to a person it is one description with commas (SHOTLIST.md
    writes it that way). In flow mappings, a value-less plain key right after a text value is
    joined back into that value."""
    pairs = list(node.value)
    if not node.flow_style:
        return pairs
    out: list[tuple[yaml.Node, yaml.Node]] = []
    for key_node, value_node in pairs:
        no_colon = ":" not in text[key_node.end_mark.index:value_node.end_mark.index + 1].split(",")[0]
        if (out and isinstance(key_node, yaml.ScalarNode) and key_node.style is None
                and isinstance(value_node, yaml.ScalarNode) and value_node.value == "" and no_colon
                and isinstance(out[-1][1], yaml.ScalarNode) and out[-1][1].tag.endswith(":str")):
            prev_key, prev_value = out[-1]
            joined = yaml.ScalarNode(prev_value.tag, f"{prev_value.value}, {key_node.value}",
                                     prev_value.start_mark, key_node.end_mark)
            out[-1] = (prev_key, joined)
            continue
        out.append((key_node, value_node))
    return out


def _line_for(loc: Loc, lines: dict[Loc, int]) -> int | None:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return lines.get(())


def _problem_from(err: dict[str, Any], data: Any, lines: dict[Loc, int], path: Path) -> Problem:
    loc = _clean_loc(tuple(err["loc"]), data)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        known = known_keys(loc[:-1], data)
        guess = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; did you mean `{guess[0]}`?" if guess else (f"; known keys: {', '.join(known)}" if known else "")
        return Problem(path, _line_for(loc, lines), format_path(loc), f"unknown key `{key}`{hint}")
    if kind == "missing":
        return Problem(path, _line_for(loc[:-1], lines), format_path(loc), "required field is missing")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        value = _value_at(data, loc)
        guess = difflib.get_close_matches(str(value), [s.strip("'") for s in expected.replace(" or ", ", ").split(", ")], n=1)
        hint = f"; did you mean `{guess[0]}`?" if guess else ""
        return Problem(path, _line_for(loc, lines), format_path(loc),
                       f"`{value}` is not allowed; expected one of {expected}{hint}")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if kind == "string_pattern_mismatch":
        msg = "ids use only lowercase letters, digits, `_` and `-`"
    if kind == "string_too_long" and loc and ("id" in loc or "characters" in loc or "locations" in loc):
        msg = f"{msg} (ids name files)"
    if kind in ("int_type", "float_type", "string_type", "bool_type"):
        value = _value_at(data, loc)
        msg = f"{msg}, not {type(value).__name__} `{value!r}`" if value is not None else msg
    return Problem(path, _line_for(loc, lines), format_path(loc), msg)


def _clean_loc(loc: Loc, data: Any) -> Loc:
    """Drop pydantic's union/validator markers (e.g. 'function-before[...]') from a location."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in ("str", "int", "float")) and not (
            isinstance(node, dict) and part in node
        ):
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def _value_at(data: Any, loc: Loc) -> Any:
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, str) and loc[i:] == ("type",):
            return node  # the short form `transition: dissolve`
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    if isinstance(node, dict) and "type" in node and loc and loc[-1] == "type":
        return node["type"]
    return node


def _unwrap(annotation: Any) -> list[Any]:
    """The model classes an annotation may hold (through Optional, list, dict, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is None:
        return [annotation] if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []
    out: list[Any] = []
    for arg in typing.get_args(annotation):
        out.extend(_unwrap(arg))
    return out


def known_keys(loc: Loc, data: Any) -> list[str]:
    """The field names valid at `loc` (a mapping's location), for did-you-mean hints."""
    model: Any = Film
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        if part in model.model_fields:
            candidates = _unwrap(model.model_fields[part].annotation)
            model = candidates[0] if candidates else None
        else:
            continue  # a dict key (character or location id): same model continues
    return list(model.model_fields) if model is not None else []


def check_references(data: dict[str, Any], lines: dict[Loc, int], path: Path) -> list[Problem]:
    """Cross-references the schema cannot see: ids exist and are unique, transitions fit, files
    are in the tree. Works on the raw data, defensively, so these problems are reported in the
    same run as schema problems."""
    problems: list[Problem] = []

    def add(loc: Loc, message: str) -> None:
        problems.append(Problem(path, _line_for(loc, lines), format_path(loc), message))

    def near(name: str, options: list[str]) -> str:
        guess = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
        return f"; did you mean `{guess[0]}`?" if guess else (f"; defined: {', '.join(options)}" if options else "")

    def as_dict(v: Any) -> dict[str, Any]:
        return v if isinstance(v, dict) else {}

    def as_list(v: Any) -> list[Any]:
        return v if isinstance(v, list) else []

    characters, locations = as_dict(data.get("characters")), as_dict(data.get("locations"))
    chars, locs = [str(c) for c in characters], [str(k) for k in locations]
    flat: list[tuple[Loc, dict[str, Any]]] = []
    scene_ids: set[str] = set()
    for si, scene in enumerate(as_list(data.get("scenes"))):
        scene = as_dict(scene)
        sid, loc_id = scene.get("id"), scene.get("location")
        if isinstance(sid, str) and sid in scene_ids:
            add(("scenes", si, "id"), f"scene id `{sid}` is used twice")
        scene_ids.add(str(sid))
        if isinstance(loc_id, str) and loc_id not in locations:
            add(("scenes", si, "location"), f"unknown location `{loc_id}`" + near(loc_id, locs))
        for hi, shot in enumerate(as_list(scene.get("shots"))):
            flat.append((("scenes", si, "shots", hi), as_dict(shot)))
    fps = as_dict(data.get("format")).get("fps", 16)
    fps = fps if isinstance(fps, int) and not isinstance(fps, bool) and fps > 0 else 16
    shot_ids: set[str] = set()
    incoming = 0.0  # seconds of this shot already taken by the transition into it
    for n, (base, shot) in enumerate(flat):
        shot_id = shot.get("id")
        if isinstance(shot_id, str) and shot_id in shot_ids:
            add(base + ("id",), f"shot id `{shot_id}` is used twice (shot ids are unique in the film)")
        shot_ids.add(str(shot_id))
        for ci, cid in enumerate(as_list(shot.get("characters"))):
            if isinstance(cid, str) and cid not in characters:
                add(base + ("characters", ci), f"unknown character `{cid}`" + near(cid, chars))
        for speaker in as_dict(shot.get("dialogue")):
            if speaker not in characters:
                add(base + ("dialogue", speaker), f"unknown character `{speaker}`" + near(str(speaker), chars))
        transition = shot.get("transition")
        t_type = transition if isinstance(transition, str) else as_dict(transition).get("type")
        came_in, incoming = incoming, 0.0
        if t_type is None or t_type not in transition_names() or is_hard_cut(t_type):
            continue
        overlap = as_dict(transition).get("duration", DEFAULT_TRANSITION_SECONDS)
        if n + 1 >= len(flat):
            add(base + ("transition",), f"`{t_type}` leads into the next shot, but this is the last shot")
            continue
        durations = [s.get("duration") for s in (shot, flat[n + 1][1])]
        if not all(_seconds(d) for d in durations + [overlap]):
            continue  # the schema reports a duration that is not a number of seconds
        frames, next_frames = (max(1, round(d * fps)) for d in durations)
        out_frames = round(overlap * fps)
        if overlap >= min(durations) or out_frames >= min(frames, next_frames):
            at_fps = (f"; at {fps} fps it takes {out_frames} frames of {frames} and {next_frames}"
                      if overlap < min(durations) else "")
            add(base + ("transition",),
                f"a {overlap:g}s {t_type} must be shorter than both shots it joins "
                f"({durations[0]:g}s and {durations[1]:g}s){at_fps}")
            continue
        incoming = overlap
        # A shot between two overlapping transitions gives frames to both: together they may
        # cover it (a shot seen only through its transitions), never more than it, counted in
        # frames as the film is assembled.
        in_frames = round(came_in * fps)
        if came_in and (came_in + overlap > durations[0] or in_frames + out_frames > frames):
            add(base + ("transition",),
                f"shot `{shot_id}` ({durations[0]:g}s, {frames} frames at {fps} fps) is overlapped by "
                f"{came_in:g}s ({in_frames} frames) of the transition into it and {overlap:g}s "
                f"({out_frames} frames) of this {t_type}; together they must fit in the shot")
    root = path.resolve().parent
    for cid, character in characters.items():
        reference = as_dict(character).get("reference")
        if isinstance(reference, str):
            problem = check_path(reference, root) or check_image(reference, root)
            if problem:
                add(("characters", cid, "reference"), problem)
    lora_paths: list[tuple[Loc, Any]] = [(("characters", cid, "lora", "path"), as_dict(as_dict(c).get("lora")).get("path"))
                                         for cid, c in characters.items()]
    lora_paths += [(base + ("loras", li, "path"), as_dict(lo).get("path"))
                   for base, shot in flat for li, lo in enumerate(as_list(shot.get("loras")))]
    for loc, value in lora_paths:
        if isinstance(value, str):
            problem = check_path(value, root) or check_safetensors(value, root)
            if problem:
                add(loc, problem)
    return problems


def check_names(data: dict[str, Any], lines: dict[Loc, int], path: Path,
                check_paradigm: ParadigmCheck | None) -> list[Problem]:
    """`profile:` (film and shots) and `paradigm:` name things that exist, so `validate` says so
    with the line instead of `render` failing later."""
    problems: list[Problem] = []
    named: list[tuple[Loc, Any]] = [(("profile",), data.get("profile"))]
    for si, scene in enumerate(data.get("scenes") if isinstance(data.get("scenes"), list) else []):
        shots = scene.get("shots") if isinstance(scene, dict) else None
        for hi, shot in enumerate(shots if isinstance(shots, list) else []):
            if isinstance(shot, dict):
                named.append((("scenes", si, "shots", hi, "profile"), shot.get("profile")))
    checked: dict[str, str | None] = {}
    for loc, value in named:
        if isinstance(value, str):
            if value not in checked:
                checked[value] = check_profile(value, path)
            if checked[value]:
                problems.append(Problem(path, _line_for(loc, lines), format_path(loc), str(checked[value])))
    paradigm = data.get("paradigm")
    if check_paradigm is not None and isinstance(paradigm, str):
        message = check_paradigm(paradigm)
        if message:
            problems.append(Problem(path, _line_for(("paradigm",), lines), "paradigm", message))
    return problems


def _seconds(value: Any) -> bool:
    """A duration the overlap arithmetic can use (the schema reports any other)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 600


def resolve_path(value: str, root: Path) -> Path:
    p = Path(value)
    return p if p.is_absolute() else (root / p).resolve()


def check_path(value: str, root: Path) -> str | None:
    """A relative path must stay inside the shot list's folder tree and exist."""
    if "\0" in value:
        return "a path may not contain a NUL character"
    p = Path(value)
    target = resolve_path(value, root)
    if not p.is_absolute():
        try:
            target.relative_to(root)
        except ValueError:
            return f"path `{value}` leaves the shot list's folder; use a path inside it or an absolute path"
    if not target.is_file():
        return f"file `{value}` not found (looked at {target})"
    return None


def check_safetensors(value: str, root: Path) -> str | None:
    """A LoRA file must be a safetensors file whose header names LoRA weights: a wrong or
    broken file is said here, before any render starts."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(resolve_path(value, root)), framework="np") as f:
            keys = list(f.keys())
    except (SafetensorError, OSError, ValueError) as err:
        return f"file `{value}` is not a safetensors file that can be read ({err})"
    if not any("lora" in k.lower() for k in keys):
        return f"file `{value}` holds no LoRA weights (no `lora_A`/`lora_down` keys among its {len(keys)} tensors)"
    return None


def check_image(value: str, root: Path) -> str | None:
    """A reference must be an image Pillow can read (PNG, JPEG, WebP, …): a broken one would
    otherwise pass validation and fail the render at the character bank."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(resolve_path(value, root)) as img:
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        return f"file `{value}` is not an image that can be read ({type(err).__name__}: {err})"
    return None
