"""Drawing transitions between two shots: the overlap frames of a seam, and the softened cut.

Each transition's blend maps (outgoing frame, incoming frame, progress t in (0, 1)) to one film
frame; the blends are declared with their transitions (post/transition_kinds/, one module each,
and plug-ins), and this module draws them. They run in numpy on the overlap only, so the film's
length is exactly the sum of shot lengths minus overlaps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from multishot.post.transition_kinds.base import Blend, mix
from multishot.post.vocabulary import blend_of, transition_names

__all__ = ["BLENDS", "Blend", "blend_cut", "transition_frames"]


class _Blends(Mapping[str, Blend]):
    """name -> blend of every transition that has an overlap, read live from the vocabulary
    (so a plug-in registered later is drawn too). Read-only: a transition is added by
    registering its TransitionKind, never here."""

    def __getitem__(self, name: str) -> Blend:
        blend = blend_of(name)
        if blend is None:
            raise KeyError(name)
        return blend

    def __iter__(self) -> Iterator[str]:
        return (n for n in transition_names() if blend_of(n) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


BLENDS: Mapping[str, Blend] = _Blends()


def transition_frames(kind: str, tail: list[np.ndarray], head: list[np.ndarray]) -> list[np.ndarray]:
    """The overlap frames of a transition: `tail` (outgoing) and `head` (incoming) have the same
    length n; frame k uses progress (k + 0.5) / n so neither endpoint is a pure copy."""
    if len(tail) != len(head):
        raise ValueError(f"transition needs equal overlaps, got {len(tail)} and {len(head)}")
    blend = BLENDS[kind]
    n = len(tail)
    return [blend(a, b, (k + 0.5) / n) for k, (a, b) in enumerate(zip(tail, head))]


def blend_cut(tail: list[np.ndarray], head: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Soften a `cut` that is not meant to be hard: the last frames of the outgoing shot lean
    toward the incoming shot's first frame and vice versa. No frame is added or removed, so the
    cut's timing is untouched."""
    n = len(tail)
    first_in, last_out = head[0], tail[-1]
    new_tail = [mix(f, first_in, 0.5 * (k + 1) / (n + 1)) for k, f in enumerate(tail)]
    new_head = [mix(f, last_out, 0.5 * (n - k) / (n + 1)) for k, f in enumerate(head)]
    return new_tail, new_head
