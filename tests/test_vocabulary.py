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


def test_each_builtin_is_one_module_object_named_by_one_registry_line() -> None:
    """A built-in transition is declared once, in its module under post/transition_kinds/, with
    its properties and its blend together; the registry line is an entry-point-style
    "module:attribute" string, the shape a plug-in's entry point has."""
    import importlib

    from multishot.post.transition_kinds import REGISTRY
    from multishot.post.vocabulary import TransitionKind, transition_kind

    assert tuple(REGISTRY) == transition_names()[: len(REGISTRY)]
    for name, target in REGISTRY.items():
        module, _, attribute = target.partition(":")
        assert module.startswith("multishot.post.transition_kinds.") and attribute, target
        kind = getattr(importlib.import_module(module), attribute)
        assert isinstance(kind, TransitionKind) and transition_kind(name) is kind
        assert (BLENDS.get(name) is kind.blend) and (kind.blend is None) == kind.hard_cut


def test_an_overlapping_transition_without_a_blend_is_refused() -> None:
    from multishot.post.vocabulary import TransitionKind

    with pytest.raises(ValueError, match="needs a `blend`"):
        TransitionKind("smear")
    assert TransitionKind("jump", hard_cut=True).blend is None
