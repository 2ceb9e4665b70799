"""The animatic's profile model (`backend: animatic`).

The animatic names no model and takes no settings, so its profile is the neutral one
(`BaseProfile`: name, licence, notes, capabilities) under its own name; a setting it comes to
take is a field here, never in the diffusers model. It is named on the animatic's entry of the
backend registry (backends/registry.py), which is how `load_profile` finds it.
"""

from __future__ import annotations

from pydantic import model_validator

from multishot.backends.profile import BaseProfile


class AnimaticProfile(BaseProfile):
    """A profile of the animatic backend."""

    @model_validator(mode="after")
    def _is_animatic(self) -> "AnimaticProfile":
        if self.backend != "animatic":
            raise ValueError(f"`backend: {self.backend}` is not an animatic profile")
        return self
