"""Real video models through Hugging Face diffusers, described by model profiles.

Importing this package is cheap (no torch, no diffusers); the heavy modules load on first use:
`DiffusersBackend` (backend.py), loading and the worker's pipeline cache (loading.py), memory
strategies (memory.py), the offline `tiny` models (tiny.py), joint generation (joint.py).
"""

from __future__ import annotations

from typing import Any

from .profile import Profile, ProfileError, ProfileInfo, list_profiles, load_profile, profile_identity

__all__ = ["DiffusersBackend", "ModelNotAvailable", "Profile", "ProfileError", "ProfileInfo", "download_profile",
           "list_profiles", "load_profile", "profile_identity"]


def __getattr__(name: str) -> Any:
    if name == "DiffusersBackend":
        from .backend import DiffusersBackend

        return DiffusersBackend
    if name in ("ModelNotAvailable", "download_profile"):
        from . import loading

        return getattr(loading, name)
    raise AttributeError(name)
