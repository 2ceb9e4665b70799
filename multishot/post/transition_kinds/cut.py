"""The two hard cuts: no overlap, so no blend (the film clock gives them no frames)."""

from __future__ import annotations

from multishot.post.transition_kinds.base import TransitionKind

CUT = TransitionKind("cut", hard_cut=True, help="the next shot replaces this one at once")
MATCH_CUT = TransitionKind("match-cut", hard_cut=True, help="a hard cut whose two frames rhyme in composition")
