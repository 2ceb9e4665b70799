"""`render`'s paradigm flags, collected from the paradigm registry.

Each paradigm declares its options as a dataclass whose fields carry their flag
(paradigms/base.py `option`); this module turns every registered paradigm's fields — plug-ins'
included — into options of the `render` command, and the parsed values back into the
`settings` of RenderOptions. A new paradigm's flag therefore appears in `render --help`
without an edit here or in main.py.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Callable, Optional

import typer

from multishot.paradigms import all_option_flags
from multishot.paradigms.base import OptionFlag


def _parameter(flag: OptionFlag) -> str:
    return flag.flag.name.lstrip("-").replace("-", "_")


def _annotation(kind: Any) -> Any:
    """`str | None` as typer reads it (Optional[str])."""
    args = typing.get_args(kind)
    if (typing.get_origin(kind) in (typing.Union, types.UnionType)) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return Optional[rest[0]]  # noqa: UP007 - typer's spelling
    return kind


def with_paradigm_flags(command: Callable[..., Any]) -> inspect.Signature:
    """`command`'s signature with its `**kwargs` replaced by one option per paradigm flag."""
    signature = inspect.signature(command, eval_str=True)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    taken = {p.name for p in params}
    for flag in all_option_flags():
        name = _parameter(flag)
        if name in taken:
            raise RuntimeError(f"paradigm `{flag.paradigm}` declares {flag.flag.name}, which `render` already has")
        taken.add(name)
        default = False if flag.flag.negate else flag.default
        extra = {k: v for k, v in (("min", flag.flag.min), ("max", flag.flag.max)) if v is not None}
        params.append(inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=bool if flag.flag.negate else _annotation(flag.type),
            default=typer.Option(default, flag.flag.name, help=flag.flag.help, **extra)))
    ordered = sorted(params, key=lambda p: p.kind is inspect.Parameter.KEYWORD_ONLY)
    return signature.replace(parameters=ordered)


def paradigm_settings(values: dict[str, Any]) -> dict[str, Any]:
    """The parsed flags (by parameter name) as RenderOptions settings (by option field name)."""
    out: dict[str, Any] = {}
    for flag in all_option_flags():
        value = values.get(_parameter(flag), flag.default)
        out[flag.field] = (not value) if flag.flag.negate else value
    return out
