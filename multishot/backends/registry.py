"""From a profile name to a backend object: the one place that knows every backend.

A new backend is one folder under `backends/` and one entry in `_FACTORIES`. Profiles are YAML
files (backends/diffusers/profiles/, plus $MULTISHOT_PROFILE_PATH); a profile names its backend.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from multishot.backends.base import Backend, Capability
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
    return _FACTORIES[p.backend](p)


def _declared_capabilities(profile: Profile) -> frozenset[Capability]:
    """What a weightless backend really offers (asked from the backend itself, so the list can
    never drift from the code); diffusers profiles declare theirs through their roles."""
    if profile.backend == "diffusers":
        return profile.capability_set
    try:
        return frozenset(_FACTORIES[profile.backend](profile).capabilities)
    except ImportError:
        return profile.capability_set


def list_profiles() -> list[ProfileInfo]:
    """Every profile with its backend, capabilities, models and licence (`multishot profiles list`)."""
    out = []
    for info in _list_profile_files():
        if info.backend != "diffusers":
            info = profile_info(load_profile(info.path), _declared_capabilities(load_profile(info.path)))
        out.append(info)
    return out
