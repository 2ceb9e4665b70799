"""Every "invalid input" error survives pickling (issue-fixes, item 2): an error raised in a
worker process (graph/executors/worker.py) or a Ray actor reaches the driver by pickle, and must
arrive as the same class with its file, line, field and message, so the CLI still says it in
one sentence with exit code 2 (a class that did not travel used to arrive as a RuntimeError)."""

from __future__ import annotations

import importlib
import pickle
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import multishot
from multishot.errors import InvalidInput
from multishot.graph.executors.worker import _picklable_error
from multishot.shotlist.errors import Problem, ShotListError


def _import_everything() -> None:
    """Import every module of the package, so every subclass is defined (only a module whose
    third-party dependency is not installed is left out)."""
    for module in pkgutil.walk_packages(multishot.__path__, "multishot."):
        try:
            importlib.import_module(module.name)
        except ModuleNotFoundError as error:
            if (error.name or "").startswith("multishot"):
                raise


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


_import_everything()
CLASSES = sorted({c for c in _subclasses(InvalidInput) if c.__module__.startswith("multishot")} | {InvalidInput},
                 key=lambda c: f"{c.__module__}.{c.__qualname__}")

#: How to make the classes whose `__init__` is not InvalidInput's (message, file, line, field).
FACTORIES: dict[type, Callable[[], InvalidInput]] = {
    ShotListError: lambda: ShotListError([Problem(Path("film.yaml"), 12, "scenes[0].shots[1].size", "unknown size `hueg`"),
                                          Problem(Path("film.yaml"), 3, "title", "missing")]),
}


def _make(cls: type) -> InvalidInput:
    if cls in FACTORIES:
        return FACTORIES[cls]()
    assert cls.__init__ is InvalidInput.__init__, (  # type: ignore[misc]
        f"{cls.__qualname__} has its own __init__: add how to make one to FACTORIES")
    return cls("the shot `x` has no such field", file=Path("film.yaml"), line=7, field="scenes[0].shots[0].lens")


def test_every_subclass_is_found() -> None:
    names = {c.__name__ for c in CLASSES}
    assert {"ShotListError", "ProfileError", "UnknownParadigm", "CapabilityError", "LoraUnusable",
            "ModelNotAvailable", "ExecutorUnusable", "OutputUnusable", "UnknownShot"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_invalid_input_round_trips_through_pickle(cls: type, protocol: int) -> None:
    error = _make(cls)
    error.add_note("while rendering shot `x`")
    back = pickle.loads(pickle.dumps(error, protocol=protocol))
    assert type(back) is cls
    assert str(back) == str(error) and back.args == error.args
    assert (back.file, back.line, back.field) == (error.file, error.line, error.field)
    assert back.file is not None and back.line is not None and back.field
    assert back.where() == error.where()
    assert back.__notes__ == ["while rendering shot `x`"]
    if isinstance(error, ShotListError):
        assert isinstance(back, ShotListError) and back.problems == error.problems
        assert (back.file, back.line, back.field) == (Path("film.yaml"), 3, "title")  # the first problem


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_worker_sends_the_error_itself(cls: type) -> None:
    """The worker replaces an error that does not pickle by a RuntimeError: these stay themselves."""
    error = _make(cls)
    assert _picklable_error(error) is error
