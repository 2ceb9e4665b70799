"""A backend declares only what it has (issue-fixes, item 4): every capability a backend lists
has its method, named by the capability's value. The animatic used to declare every capability,
`reference_to_video` included, without that method: a paradigm needing it would have passed the
capability check and failed mid-render."""

from __future__ import annotations

from typing import Any

import pytest

from multishot.backends.base import Capability, implemented, implements_what_it_declares, unimplemented
from multishot.backends.registry import backend_names, get_backend, list_profiles

PROFILES = sorted(i.name for i in list_profiles())


@pytest.mark.parametrize("name", PROFILES)
def test_every_declared_capability_has_its_method(name: str) -> None:
    backend = get_backend(name)  # makes the backend object only; no weights load
    assert backend.capabilities, name
    for cap in backend.capabilities:
        assert callable(getattr(backend, cap.value, None)), f"{name} declares {cap.value} without the method"
    assert unimplemented(backend) == []


def test_every_registered_backend_is_covered() -> None:
    """Each backend the registry knows is made (and so checked) through at least one profile."""
    covered = {i.backend for i in list_profiles()}
    assert set(backend_names()) <= covered


def test_the_animatic_declares_what_it_draws() -> None:
    animatic = get_backend("animatic")
    assert animatic.capabilities == implemented(type(animatic)) == frozenset(Capability) - {Capability.REFERENCE_TO_VIDEO}
    listed = {i.name: i for i in list_profiles()}["animatic"].capabilities
    assert set(listed) == {c.value for c in animatic.capabilities}  # `profiles list` says the same


class _Half:
    """A backend that claims a capability it has no method for."""

    name = "half"
    capabilities = frozenset({Capability.TEXT_TO_VIDEO, Capability.REFERENCE_TO_VIDEO})

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name}

    def text_to_video(self, req: Any) -> list[Any]:
        return []


def test_a_backend_declaring_a_missing_method_is_refused() -> None:
    half = _Half()
    assert unimplemented(half) == [Capability.REFERENCE_TO_VIDEO]  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="profile `half` declares reference_to_video but the backend has no "
                                           "method reference_to_video"):
        implements_what_it_declares(half, "profile `half`")  # type: ignore[arg-type]
    assert implements_what_it_declares(get_backend("tiny"), "tiny") is not None
