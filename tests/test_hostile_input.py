"""Hostile and careless shot lists (issue 17 items 1, 3, 4, 8): every one is a problem naming
file, line and field, never a traceback, and none takes long or much memory."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from multishot.shotlist import ShotListError, load_film

BASE = """\
multishot: 1
title: Probe
locations:
  x: {description: a room}
scenes:
  - id: s
    location: x
    shots:
      - id: a
        duration: 2
        transition: {type: dissolve, duration: 0.5}
      - id: b
        duration: 2
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "film.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ShotListError) as info:
        load_film(path)
    return [str(p) for p in info.value.problems]


def bomb(levels: int) -> str:
    """The "billion laughs": each anchor is ten aliases of the one before (10**levels nodes)."""
    lines = ["multishot: 1", "title: Bomb", 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly_with_a_line(tmp_path: Path) -> None:
    started = time.perf_counter()
    msgs = problems_of(tmp_path, bomb(9))  # 10**9 nodes in 450 bytes
    elapsed = time.perf_counter() - started
    assert len(msgs) == 1 and "film.yaml:8:" in msgs[0] and "alias *a4" in msgs[0], msgs
    assert "expand to more than" in msgs[0]
    # A generous bound only to catch the unbounded walk (minutes); timings live in
    # scripts/bench_alias_bomb.py.
    assert elapsed < 5, elapsed


def test_small_aliases_still_work(tmp_path: Path) -> None:
    text = BASE.replace("  x: {description: a room}", "  x: {description: &room a room}\n  y: {description: *room}")
    path = tmp_path / "film.yaml"
    path.write_text(text)
    assert load_film(path).locations["y"].description == "a room"


@pytest.mark.parametrize(("old", "new", "line", "field", "words"), [
    ("duration: 2\n        transition", "duration: .nan\n        transition", 10, "scenes[0].shots[0].duration", "finite"),
    ("duration: 2\n        transition", "duration: .inf\n        transition", 10, "scenes[0].shots[0].duration", "finite"),
    ("duration: 2\n        transition", "duration: -.inf\n        transition", 10, "scenes[0].shots[0].duration", "finite"),
    ("duration: 0.5}", "duration: .nan}", 11, "scenes[0].shots[0].transition.duration", "finite"),
    ("duration: 0.5}", "duration: .inf}", 11, "scenes[0].shots[0].transition.duration", "finite"),
    ("duration: 2\n        transition", "duration: !!int abc\n        transition", 10, "scenes[0].shots[0].duration", "not a valid int"),
    ("duration: 2\n        transition", "duration: !!float abc\n        transition", 10, "scenes[0].shots[0].duration", "not a valid float"),
    ("  x: {description: a room}", "  x: &d {description: a room}\n  y:\n    <<: *d", 6, "locations.y", "merge keys"),
    ("title: Probe", "!foo title: Probe", 2, "", "tag `!foo`"),
    ("title: Probe", "? !!binary aGk=\n: Probe", 2, "", "tag:yaml.org,2002:binary"),
    ("title: Probe", "title: &t [*t]", 2, "", "recursive alias"),
    ("scenes:", 'characters:\n  m: {description: d, reference: "a\\0b.png"}\nscenes:', 6, "characters.m.reference", "NUL"),
])
def test_bad_yaml_values_are_problems(tmp_path: Path, old: str, new: str, line: int, field: str, words: str) -> None:
    _assert_problem(tmp_path, old, new, line, field, words)


def _assert_problem(tmp_path: Path, old: str, new: str, line: int, field: str, words: str) -> None:
    """Replacing `old` by `new` in the base file gives a problem at `line` and `field` saying `words`."""
    assert old in BASE
    msgs = problems_of(tmp_path, BASE.replace(old, new, 1))
    where = f"film.yaml:{line}: {field}:" if field else f"film.yaml:{line}:"
    assert any(f"/{where}" in m and words in m for m in msgs), msgs


@pytest.mark.parametrize("nested", [
    "logline: " + "[" * 3000 + "]" * 3000,
    "logline:\n" + "".join("  " * i + "- \n" for i in range(1, 700)),
    "logline: " + "{a: " * 1000 + "b" + "}" * 1000,
])
def test_deep_nesting_is_a_problem(tmp_path: Path, nested: str) -> None:
    msgs = problems_of(tmp_path, BASE + nested + "\n")
    assert len(msgs) == 1 and "nesting" in msgs[0] and re.search(r"film\.yaml:\d+:", msgs[0]), msgs


@pytest.mark.parametrize(("old", "new", "line", "field", "words"), [
    ("duration: 2\n        transition", "duration: true\n        transition", 10, "scenes[0].shots[0].duration", "valid number"),
    ("multishot: 1", "multishot: true", 1, "multishot", "integer 1"),
    ("multishot: 1", "multishot: 1.0", 1, "multishot", "integer 1"),
    ("title: Probe", "title: Probe\nformat: {fps: '16'}", 3, "format.fps", "valid integer"),
    ("title: Probe", "title: Probe\nformat: {resolution: ８３２x480}", 3, "format.resolution", "WIDTHxHEIGHT"),
    ("title: Probe", "title: '   '", 2, "title", "blank"),
    ("id: a\n", "id: " + "a" * 250 + "\n", 9, "scenes[0].shots[0].id", "at most 64"),
    ("id: s\n", "id: " + "s" * 65 + "\n", 6, "scenes[0].id", "at most 64"),
    ("duration: 2\n        transition", "duration: 2\n        seed: 18446744073709551616\n        transition", 11,
     "scenes[0].shots[0].seed", "less than or equal to 4294967295"),
    ("title: Probe", "title: Probe\nformat: {seed: 18446744073709551616}", 3, "format.seed", "less than or equal"),
])
def test_strict_types_and_limits(tmp_path: Path, old: str, new: str, line: int, field: str, words: str) -> None:
    _assert_problem(tmp_path, old, new, line, field, words)


def test_largest_allowed_id_and_seed_load(tmp_path: Path) -> None:
    path = tmp_path / "film.yaml"
    path.write_text(BASE.replace("id: a\n", "id: " + "a" * 64 + "\n        seed: 4294967295\n"))
    film = load_film(path)
    assert film.scenes[0].shots[0].seed == 2**32 - 1
