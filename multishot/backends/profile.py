"""Profiles, backend-neutral: where profile files are, how one is found by name, read and
reported, and multishot's cache folder. A profile is one YAML file naming its backend
(`backend:`); what a backend's profile may say beyond that (the diffusers backend's roles,
speed and identity settings) is that backend's model (backends/diffusers/profile.py).

Search path: $MULTISHOT_PROFILE_PATH folders first (a user may shadow a shipped profile), the
profiles shipped with multishot (`backends/profiles/`, beside the backends), then each backend
plug-in's folder (backends/registry.py `BackendKind.profile_dir`).

Pure data (YAML + pydantic errors): no torch, no diffusers, so `profiles list` stays instant.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from multishot.errors import InvalidInput

PROFILE_SUFFIXES = (".yaml", ".yml")


class ProfileError(InvalidInput, ValueError):
    """A profile file is missing or invalid; the message names the file and every bad field."""


@dataclass(frozen=True)
class ProfileInfo:
    """One line of `multishot profiles list`."""

    name: str
    backend: str
    capabilities: tuple[str, ...]
    models: tuple[str, ...]
    licence: str
    pinned: bool
    path: str
    notes: str = ""
    #: Where the profile came from: `builtin`, `$MULTISHOT_PROFILE_PATH`, or a plug-in's distribution.
    origin: str = "builtin"


def builtin_profile_dir() -> Path:
    return Path(__file__).with_name("profiles")


def profile_dirs() -> list[Path]:
    """$MULTISHOT_PROFILE_PATH folders (os.pathsep-separated), then the shipped profiles."""
    extra = [Path(p).expanduser() for p in os.environ.get("MULTISHOT_PROFILE_PATH", "").split(os.pathsep) if p]
    return [*extra, builtin_profile_dir()]


def profile_origins() -> dict[str, tuple[Path, str]]:
    """name -> (file, origin) over the whole search path; the first folder wins a name."""
    from multishot.backends.registry import plugin_profile_dirs

    folders = [*((d, "$MULTISHOT_PROFILE_PATH") for d in profile_dirs()[:-1]), (builtin_profile_dir(), "builtin"),
               *plugin_profile_dirs()]
    found: dict[str, tuple[Path, str]] = {}
    for d, origin in folders:
        if d.is_dir():
            for f in sorted(d.iterdir()):
                if f.suffix in PROFILE_SUFFIXES:
                    found.setdefault(f.stem, (f, origin))
    return found


def profile_files() -> dict[str, Path]:
    return {name: path for name, (path, _) in profile_origins().items()}


def find_profile(name_or_path: str | os.PathLike[str]) -> Path:
    """The file of a profile given by name (searched on the path, with a did-you-mean) or by path."""
    text = os.fspath(name_or_path)
    p = Path(text).expanduser()
    if p.suffix in PROFILE_SUFFIXES or os.sep in text or "/" in text:
        if not p.is_file():
            raise ProfileError(f"profile file {p} does not exist")
        return p
    files = profile_files()
    if text not in files:
        close = difflib.get_close_matches(text, list(files), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise ProfileError(f"unknown profile `{text}`{hint} Known profiles: {', '.join(sorted(files))}. "
                           "Run `multishot profiles list` for details.")
    return files[text]


def read_profile_data(path: Path) -> dict[str, Any]:
    """A profile file as a mapping (safe YAML), its `name` checked against the file name and
    `source_file` set, ready for a backend's profile model to validate."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(f"invalid profile {path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ProfileError(f"invalid profile {path}: expected a mapping at the top level")
    data.setdefault("name", path.stem)
    if data["name"] != path.stem:
        raise ProfileError(f"invalid profile {path}:\n  name: {data['name']!r} does not match the file name "
                           f"{path.stem!r}")
    data.pop("x-defaults", None)  # a conventional place for YAML anchors
    data["source_file"] = str(path.resolve())
    return data


def format_errors(path: Path, err: ValidationError) -> str:
    """A model's validation errors as one message naming the file and every bad field."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith(("function-after", "tagged-union")))
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  {loc or '(top level)'}: {msg}")
    return f"invalid profile {path}:\n" + "\n".join(lines)


def cache_root() -> Path:
    """multishot's own cache: $MULTISHOT_CACHE, else ~/.cache/multishot (read at call time so
    tests and workers can point it elsewhere)."""
    env = os.environ.get("MULTISHOT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "multishot"


def resolve_local_path(template: str, base: Path) -> Path:
    """Expand ``{cache}`` and ``~``; a relative path is relative to the profile file's folder."""
    p = Path(template.replace("{cache}", str(cache_root()))).expanduser()
    return p if p.is_absolute() else (base / p)
