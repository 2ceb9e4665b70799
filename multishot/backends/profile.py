"""Profiles, backend-neutral: where profile files are, how one is found by name, read,
validated and reported, and multishot's cache folder. A profile is one YAML file naming its
backend (`backend:`; a file without one is a diffusers profile). What a backend's profile may
say is that backend's *profile model*, named on its registry entry (backends/registry.py
`BackendKind.profile_model`): the diffusers backend's `Profile` (roles, speed, identity;
backends/diffusers/profile.py), the animatic's `AnimaticProfile`, a plug-in's own model or
`BaseProfile` here, the fields every profile has. `load_profile` reads the file, asks the
registry for the model of the backend it names and validates with it.

Search path: $MULTISHOT_PROFILE_PATH folders first (a user may shadow a shipped profile), the
profiles shipped with multishot (`backends/profiles/`, beside the backends), then each backend
plug-in's folder (backends/registry.py `BackendKind.profile_dir`).

Pure data (YAML + pydantic errors): no torch, no diffusers, so `profiles list` stays instant.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from multishot.backends.base import Capability
from multishot.errors import InvalidInput

PROFILE_SUFFIXES = (".yaml", ".yml")
#: The backend of a profile file that names none (every profile before there were others).
DEFAULT_BACKEND = "diffusers"


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


class BaseProfile(BaseModel):
    """The fields every profile has, whatever its backend; a backend without settings of its
    own (a plug-in that names no model) validates its profiles with this, one that has settings
    subclasses it (the animatic, diffusers). Unknown keys are errors, so a typo is named."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    #: A backend of the registry (backends/registry.py `backend_names`: built-ins and plug-ins).
    backend: str = DEFAULT_BACKEND
    licence: str
    notes: str = ""
    #: What the backend declares it can do (a diffusers profile's come from its roles instead).
    capabilities: tuple[Capability, ...] = ()
    #: The file it came from (set by `load_profile`; relative paths resolve against it).
    source_file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_roles(cls, data: Any) -> Any:
        if isinstance(data, dict) and "roles" in data and "roles" not in cls.model_fields:
            backend = str(data.get("backend", DEFAULT_BACKEND))
            raise ValueError(f"a{'n' if backend[:1] in 'aeiou' else ''} {backend} profile has no `roles` "
                             "(only diffusers profiles name models)")
        return data

    def loaded(self) -> "BaseProfile":
        """The profile as renders use it, after reading (a model may attach what lives beside
        the file: the diffusers model its MagCache calibration and speed settings)."""
        return self

    @property
    def capability_set(self) -> frozenset[Capability]:
        return frozenset(self.capabilities)

    @property
    def has_fast(self) -> bool:
        return False

    def fast_variant(self) -> "BaseProfile":
        """As `render --fast` runs it: a profile without speed settings is already as fast as it is."""
        return self

    def draft_variant(self) -> "BaseProfile":
        """As `render --draft` runs it (see `fast_variant`)."""
        return self

    @property
    def base_dir(self) -> Path:
        return Path(self.source_file).parent if self.source_file else Path.cwd()

    def info(self, capabilities: frozenset[Capability] | None = None) -> "ProfileInfo":
        """Its line of `multishot profiles list` (`capabilities`: what the backend says it offers)."""
        caps = capabilities if capabilities is not None else self.capability_set
        return ProfileInfo(name=self.name, backend=self.backend,
                           capabilities=tuple(c.value for c in Capability if c in caps), models=(),
                           licence=self.licence, pinned=True, path=self.source_file or "", notes=self.notes)


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


def profile_model(path: Path, data: dict[str, Any]) -> type[BaseProfile]:
    """The profile model of the backend a profile file names, from the backend registry; an
    unknown backend is a ProfileError naming the file, the field and the closest known name."""
    from multishot.backends.registry import backend_kind, backend_names

    backend = data.get("backend", DEFAULT_BACKEND)
    kind = backend_kind(backend) if isinstance(backend, str) else None
    if kind is None:
        known = backend_names()
        close = difflib.get_close_matches(str(backend), known, n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise ProfileError(f"invalid profile {path}:\n  backend: unknown backend `{backend}`{hint} "
                           f"Known: {', '.join(known)}", file=path, field="backend")
    return kind.profile_model


def parse_profile(path: Path) -> BaseProfile:
    """Read and validate one profile file with its backend's profile model."""
    data = read_profile_data(path)
    model = profile_model(path, data)
    try:
        profile = model.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(format_errors(path, exc), file=path) from None
    return profile.loaded()


def load_profile(name_or_path: str | os.PathLike[str]) -> BaseProfile:
    """A profile by name (searched in `profile_dirs()`) or by path to a .yaml file, validated by
    the profile model of the backend it names."""
    return parse_profile(find_profile(name_or_path))


def list_profiles() -> list[ProfileInfo]:
    """Every profile on the search path, by name, each as its own model reports it. A broken
    file raises ProfileError (naming the file) rather than silently disappearing from the list."""
    return [replace(parse_profile(path).info(), origin=origin) for _, (path, origin) in sorted(profile_origins().items())]


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
