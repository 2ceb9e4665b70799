"""Bridge: generated in-between frames across the seam. A paradigm that can generate them
replaces the overlap (graph/stages.py `bridge`); without them it dissolves, so the film's timing
is the same either way."""

from __future__ import annotations

from multishot.post.transition_kinds.base import TransitionKind
from multishot.post.transition_kinds.dissolve import dissolve

TRANSITION = TransitionKind("bridge", needs_generation=True,
                            help="generated in-between frames across the seam (a dissolve without them)",
                            blend=dissolve)
