"""The animatic backend: a deterministic CPU previz drawn from the shot list's staging facts."""

from .backend import VERSION, AnimaticBackend
from .camera import MOVEMENTS, movement_end_zoom
from .figures import character_signature

__all__ = ["AnimaticBackend", "VERSION", "MOVEMENTS", "character_signature", "movement_end_zoom"]
