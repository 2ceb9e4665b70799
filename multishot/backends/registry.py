"""From a profile name to a backend object: the one place that knows every backend.

Every backend is a `BackendKind`: its name (what a profile's `backend:` says), how to make it
from a loaded profile, the model its profiles are validated with (`profile_model`;
backends/profile.py `load_profile` dispatches on it) and, for a plug-in, the folder of profiles
it ships. A built-in backend is one folder under `backends/` and one entry in `BUILTIN`; another
package adds one through the `multishot.backends` entry-point group (multishot/plugins.py).
Profiles are YAML files (the shipped ones, $MULTISHOT_PROFILE_PATH, and the plug-ins' folders);
a profile names its backend.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from multishot.backends.animatic.profile import AnimaticProfile
from multishot.backends.base import Backend, Capability, implements_what_it_declares
from multishot.backends.diffusers.loading import ModelNotAvailable, download_profile
from multishot.backends.diffusers.profile import Profile, profile_identity
from multishot.backends.profile import (
    BaseProfile,
    ProfileError,
    ProfileInfo,
    load_profile,
    parse_profile,
    profile_origins,
)

__all__ = ["BUILTIN", "DEFAULT_PROFILE", "BackendKind", "BaseProfile", "ModelNotAvailable", "ProfileError",
           "ProfileInfo", "backend_kind", "backend_names", "download_profile", "get_backend", "list_profiles",
           "load_profile", "profile_identity"]

#: The profile used when neither the shot list nor the command line names one.
DEFAULT_PROFILE = "animatic"


@dataclass(frozen=True)
class BackendKind:
    """One backend: `create` makes it from a loaded profile (whose `backend:` is `name`),
    `profile_model` validates its profile files (a `BaseProfile`; the default has only the
    fields every profile has: a backend without settings lists its `capabilities`, as the
    animatic's profile does) and `profile_dir`, when given, is a folder of profiles it ships
    (searched after the built-in ones)."""

    name: str
    create: Callable[[Any], Backend]
    profile_dir: Path | None = None
    profile_model: type[BaseProfile] = BaseProfile
    #: True when the profile itself says what the backend can do (diffusers: its roles);
    #: otherwise `profiles list` asks a backend made from it, so the list cannot drift from the code.
    profile_declares_capabilities: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.profile_model, type) and issubclass(self.profile_model, BaseProfile)):
            raise TypeError(f"backend `{self.name}`: profile_model must be a multishot.backends.profile.BaseProfile "
                            f"subclass, not {self.profile_model!r}")


def _animatic(profile: AnimaticProfile) -> Backend:
    from multishot.backends.animatic import AnimaticBackend

    return AnimaticBackend()


def _diffusers(profile: Profile) -> Backend:
    from multishot.backends.diffusers.backend import DiffusersBackend

    return DiffusersBackend(profile)


#: The built-in backends, one line each.
BUILTIN: dict[str, BackendKind] = {
    "animatic": BackendKind("animatic", _animatic, profile_model=AnimaticProfile),
    "diffusers": BackendKind("diffusers", _diffusers, profile_model=Profile, profile_declares_capabilities=True),
}


def _plugins() -> dict[str, tuple[BackendKind, str]]:
    from multishot.plugins import BACKENDS, discovered

    out = {}
    for plugin in discovered(BACKENDS):
        if plugin.name not in BUILTIN:
            kind = plugin.load(BackendKind)
            out[kind.name] = (kind, plugin.origin)
    return out


def backend_names() -> list[str]:
    """Every backend a profile may name: the built-ins, then the plug-ins."""
    return [*BUILTIN, *_plugins()]


def backend_kind(name: str) -> BackendKind | None:
    """The registry entry of a backend (built-in or plug-in), or None when there is none."""
    if name in BUILTIN:
        return BUILTIN[name]
    found = _plugins().get(name)
    return found[0] if found is not None else None


def plugin_profile_dirs() -> list[tuple[Path, str]]:
    """The plug-ins' profile folders, with the distribution each came from."""
    return [(kind.profile_dir, origin) for kind, origin in _plugins().values() if kind.profile_dir is not None]


def _kind(name: str) -> BackendKind:
    kind = backend_kind(name)
    if kind is None:  # a profile is validated against the registry, so this is a loaded-by-hand profile
        raise ProfileError(f"unknown backend `{name}`; known: {', '.join(backend_names())}")
    return kind


def get_backend(profile: str | os.PathLike[str] | BaseProfile | None = None, *, fast: bool = False,
                draft: bool = False) -> Backend:
    """The backend for a profile name, profile file or loaded profile (default: animatic);
    `fast` runs it with its `fast:` settings (`render --fast`), `draft` with its draft
    settings (`render --draft`); ProfileError if it has none. Creating a backend loads no
    weights; pipelines load on first use, once per worker."""
    p = profile if isinstance(profile, BaseProfile) else load_profile(profile or DEFAULT_PROFILE)
    if draft:
        p = p.draft_variant()
    elif fast:
        p = p.fast_variant()
    return implements_what_it_declares(_kind(p.backend).create(p), f"profile `{p.name}` (backend `{p.backend}`)")


def _declared_capabilities(profile: BaseProfile) -> frozenset[Capability]:
    """What the backend of a profile offers: the profile's own word where its model declares
    it (diffusers roles), else asked from the backend itself."""
    kind = _kind(profile.backend)
    if kind.profile_declares_capabilities:
        return profile.capability_set
    try:
        return frozenset(kind.create(profile).capabilities)
    except ImportError:
        return profile.capability_set


def list_profiles() -> list[ProfileInfo]:
    """Every profile with its backend, capabilities, models and licence (`multishot profiles list`)."""
    out = []
    for _, (path, origin) in sorted(profile_origins().items()):
        profile = parse_profile(path)
        out.append(replace(profile.info(_declared_capabilities(profile)), origin=origin))
    return out
