"""The transition vocabulary (post/vocabulary.py) is the one list the schema, the film clock,
the blends and the metrics read."""

from __future__ import annotations

import pydantic
import pytest

from multishot.evaluate.timeline import boundary_kind
from multishot.post.transitions import BLENDS
from multishot.post.vocabulary import hard_cuts, is_hard_cut, needs_generation, transition_names
from multishot.shotlist.schema import Shot, Transition


def test_hard_cuts_are_the_two_the_language_names() -> None:
    assert hard_cuts() == {"cut", "match-cut"}
    assert [n for n in transition_names() if needs_generation(n)] == ["bridge"]


def test_every_overlapping_transition_has_a_blend() -> None:
    for name in transition_names():
        assert is_hard_cut(name) or name in BLENDS, name


def test_schema_accepts_exactly_the_vocabulary_with_a_did_you_mean() -> None:
    for name in transition_names():
        assert Transition(type=name).type == name
    with pytest.raises(pydantic.ValidationError, match="did you mean `wipe-left`"):
        Transition(type="wipe-lef")
    with pytest.raises(pydantic.ValidationError, match="is not allowed"):
        Transition(type="explode")


def test_overlap_and_metrics_follow_the_hard_cut_property() -> None:
    for name in transition_names():
        assert Transition(type=name, duration=0.5).overlap == (0.0 if is_hard_cut(name) else 0.5)
        assert boundary_kind(name) == ("cut" if is_hard_cut(name) else "gradual")


def test_json_schema_lists_the_vocabulary() -> None:
    schema = Shot.model_json_schema()
    assert schema["$defs"]["Transition"]["properties"]["type"]["enum"] == list(transition_names())
