"""The one shot-list writer: a Film (or its plain data) as the YAML `multishot` reads back.

`multishot import` (shotlist/fountain.py), `multishot direct` and the agent paradigm
(plan/agent/direct.py) all write through here, so every shot list multishot writes has one
shape, the one SHOTLIST.md shows: a comment header, a blank line, then block style except for
lists of ids and the format line, which read better on one line (`characters: [mara, tomas]`,
`format: {resolution: 832x480, fps: 16, seed: 7}`). Only safe YAML is emitted (a SafeDumper
subclass: no Python tags), and every writer's output is checked by loading it back in its tests.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from multishot.shotlist.schema import Film

_ID = re.compile(r"[a-z0-9_-]+")


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter when PyYAML has it (the same bytes, a feature-length script's shot list
    in a fraction of the time)."""


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flow = all(isinstance(v, str) and _ID.fullmatch(v) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.Node:
    flow = set(value) <= {"resolution", "fps", "seed"} and bool(value)
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=flow or None)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def comment(text: str) -> str:
    """`text` as YAML comment lines (an empty line stays a bare `#`), nothing for no text."""
    return "".join(f"# {line}\n" if line else "#\n" for line in text.splitlines())


def data_to_yaml(data: dict[str, Any], header: str = "") -> str:
    """Shot-list data (plain dicts, lists, strings, numbers) as YAML, under `header` as comments.
    The header is one or more lines of plain text; the caller keeps it printable."""
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    top = comment(header)
    return f"{top}\n{body}" if top else body


def clean(value: Any) -> Any:
    """Drop None and empty collections, so the written file shows only what was decided."""
    if isinstance(value, dict):
        out = {k: clean(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def film_to_yaml(film: Film, header: str = "") -> str:
    """The shot list as YAML that `load_film` reads back to the same Film."""
    return data_to_yaml(clean(film.model_dump(mode="json")), header)
