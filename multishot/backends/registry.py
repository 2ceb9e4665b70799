"""From a profile name to a backend object: the one place that knows every backend.

A built-in backend is one folder under `backends/` and one entry in `_FACTORIES`; another
package adds one through the `multishot.backends` entry-point group (multishot/plugins.py), as a
`BackendKind`: its name (what a profile's `backend:` says), how to make it from a profile, and
the folder of profiles it ships. Profiles are YAML files (the shipped ones, $MULTISHOT_PROFILE_PATH,
and the plug-ins' folders); a profile names its backend.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from multishot.backends.base import Backend, Capability, implements_what_it_declares
from multishot.backends.diffusers.loading import ModelNotAvailable, download_profile
from multishot.backends.diffusers.profile import (
    Profile,
    ProfileError,
    ProfileInfo,
    load_profile,
    profile_identity,
    profile_info,
)
from multishot.backends.diffusers.profile import list_profiles as _list_profile_files

__all__ = ["DEFAULT_PROFILE", "ModelNotAvailable", "ProfileError", "ProfileInfo", "download_profile", "get_backend",
           "list_profiles", "load_profile", "profile_identity"]

#: The profile used when neither the shot list nor the command line names one.
DEFAULT_PROFILE = "animatic"


def _animatic(profile: Profile) -> Backend:
    from multishot.backends.animatic import AnimaticBackend

    return AnimaticBackend()


def _diffusers(profile: Profile) -> Backend:
    from multishot.backends.diffusers.backend import DiffusersBackend

    return DiffusersBackend(profile)


_FACTORIES: dict[str, Callable[[Profile], Backend]] = {
    "animatic": _animatic,
    "diffusers": _diffusers,
}


@dataclass(frozen=True)
class BackendKind:
    """A backend from a plug-in: `create` makes it from a loaded profile (whose `backend:` is
    `name`; such a profile lists its `capabilities`, as the animatic's does) and `profile_dir`,
    when given, is a folder of profiles it ships (searched after the built-in ones)."""

    name: str
    create: Callable[[Profile], Backend]
    profile_dir: Path | None = None


def _plugins() -> dict[str, tuple[BackendKind, str]]:
    from multishot.plugins import BACKENDS, discovered

    out = {}
    for plugin in discovered(BACKENDS):
        if plugin.name not in _FACTORIES:
            kind = plugin.load(BackendKind)
            out[kind.name] = (kind, plugin.origin)
    return out


def backend_names() -> list[str]:
    """Every backend a profile may name: the built-ins, then the plug-ins."""
    return [*_FACTORIES, *_plugins()]


def plugin_profile_dirs() -> list[tuple[Path, str]]:
    """The plug-ins' profile folders, with the distribution each came from."""
    return [(kind.profile_dir, origin) for kind, origin in _plugins().values() if kind.profile_dir is not None]


def _factory(name: str) -> Callable[[Profile], Backend]:
    if name in _FACTORIES:
        return _FACTORIES[name]
    return _plugins()[name][0].create


def get_backend(profile: str | os.PathLike[str] | Profile | None = None, *, fast: bool = False,
                draft: bool = False) -> Backend:
    """The backend for a profile name, profile file or loaded profile (default: animatic);
    `fast` runs it with its `fast:` settings (`render --fast`), `draft` with its draft
    settings (`render --draft`); ProfileError if it has none. Creating a backend loads no
    weights; pipelines load on first use, once per worker."""
    p = profile if isinstance(profile, Profile) else load_profile(profile or DEFAULT_PROFILE)
    if draft:
        p = p.draft_variant()
    elif fast:
        p = p.fast_variant()
    return implements_what_it_declares(_factory(p.backend)(p), f"profile `{p.name}` (backend `{p.backend}`)")


def _declared_capabilities(profile: Profile) -> frozenset[Capability]:
    """What a weightless backend really offers (asked from the backend itself, so the list can
    never drift from the code); diffusers profiles declare theirs through their roles."""
    if profile.backend == "diffusers":
        return profile.capability_set
    try:
        return frozenset(_factory(profile.backend)(profile).capabilities)
    except ImportError:
        return profile.capability_set


def list_profiles() -> list[ProfileInfo]:
    """Every profile with its backend, capabilities, models and licence (`multishot profiles list`)."""
    out = []
    for info in _list_profile_files():
        if info.backend != "diffusers":
            from dataclasses import replace

            info = replace(profile_info(load_profile(info.path), _declared_capabilities(load_profile(info.path))),
                           origin=info.origin)
        out.append(info)
    return out
