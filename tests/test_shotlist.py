"""The shot-list language: every class of bad input gets a clear error naming file, line, field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from multishot.plan.film_plan import build_plan, stable_seed
from multishot.shotlist import ShotListError, load_film

GOOD = """\
multishot: 1
title: Test Film
characters:
  mara: {description: a woman in a yellow raincoat}
locations:
  cliffs: {description: black cliffs, grey sea}
scenes:
  - id: one
    location: cliffs
    shots:
      - id: a
        size: wide
        duration: 2
        characters: [mara]
        transition: {type: dissolve, duration: 0.5}
      - id: b
        duration: 1.5
"""


def write(tmp_path: Path, text: str, name: str = "film.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ShotListError) as info:
        load_film(write(tmp_path, text))
    return [str(p) for p in info.value.problems]


def test_good_file_loads(tmp_path: Path) -> None:
    film = load_film(write(tmp_path, GOOD))
    assert film.title == "Test Film"
    assert film.scenes[0].shots[0].transition.type == "dissolve"
    assert film.format.width == 832 and film.format.fps == 16


def test_shotlist_doc_flow_mapping_commas_are_one_description(tmp_path: Path) -> None:
    film = load_film(write(tmp_path, GOOD))
    assert film.locations["cliffs"].description == "black cliffs, grey sea"


def test_unknown_key_names_line_and_suggests(tmp_path: Path) -> None:
    msgs = problems(tmp_path, GOOD.replace("        duration: 2\n", "        durration: 2\n"))
    assert any("film.yaml:13: scenes[0].shots[0].durration: unknown key `durration`; did you mean `duration`?" in m
               for m in msgs), msgs


def test_all_errors_reported_together(tmp_path: Path) -> None:
    bad = GOOD.replace("size: wide", "size: wde").replace("[mara]", "[mra]").replace("location: cliffs", "location: clifs")
    msgs = problems(tmp_path, bad)
    assert len(msgs) == 3, msgs
    assert any("did you mean `wide`" in m for m in msgs)
    assert any("unknown character `mra`; did you mean `mara`" in m and "characters[0]" in m for m in msgs)
    assert any("unknown location `clifs`" in m and ":9:" in m for m in msgs)


@pytest.mark.parametrize("edit, expected", [
    (lambda t: t.replace("multishot: 1", "multishot: 2"), "multishot"),
    (lambda t: t.replace("title: Test Film\n", ""), "title: required field is missing"),
    (lambda t: t.replace("duration: 2", "duration: -1"), "greater than 0"),
    (lambda t: t.replace("id: a", "id: Bad Id"), "ids use only lowercase"),
    (lambda t: t.replace("id: b", "id: a"), "shot id `a` is used twice"),
    (lambda t: t + "    weather: rain\n    weather: fog\n", "duplicate key `weather`"),
    (lambda t: t.replace("duration: 0.5", "duration: 3"), "must be shorter than both shots"),
    (lambda t: t + "        transition: fade\n", "this is the last shot"),
    (lambda t: t.replace("title: Test Film", "title: Test Film\nformat: {resolution: 800by600}"), "WIDTHxHEIGHT"),
    (lambda t: t.replace("size: wide", "size: 3"), "is not allowed"),
    (lambda t: t.replace("        duration: 1.5\n", "        duration: 1.5\n        dialogue: {tomas: hi}\n"), "unknown character `tomas`"),
    (lambda t: t.replace("{description: a woman in a yellow raincoat}", "{description: x, reference: ../../etc/passwd}"), "leaves the shot list's folder"),
    (lambda t: t.replace("{description: a woman in a yellow raincoat}", "{description: x, reference: refs/none.png}"), "not found"),
    (lambda t: t.replace("transition: {type: dissolve, duration: 0.5}", "transition: disolve"), "did you mean `dissolve`"),
])
def test_each_bad_input_class(tmp_path: Path, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    msgs = problems(tmp_path, edit(GOOD))
    assert any(expected in m for m in msgs), msgs
    assert all(m.startswith(str(tmp_path / "film.yaml")) for m in msgs)


def test_not_yaml(tmp_path: Path) -> None:
    msgs = problems(tmp_path, "title: [unclosed\n")
    assert "not valid YAML" in msgs[0] and ":2:" in msgs[0] or ":1:" in msgs[0]


def test_empty_and_wrong_top_level(tmp_path: Path) -> None:
    assert "empty" in problems(tmp_path, "")[0]
    assert "expected a mapping" in problems(tmp_path, "- a\n- b\n")[0]


def test_yaml_tags_are_not_executed(tmp_path: Path) -> None:
    msgs = problems(tmp_path, "!!python/object/apply:os.system ['echo pwned']\n")
    assert "YAML tag `tag:yaml.org,2002:python/object/apply:os.system` is not allowed" in msgs[0]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ShotListError, match="file not found"):
        load_film(tmp_path / "nope.yaml")


def test_seeds_are_stable_when_shots_are_inserted(tmp_path: Path) -> None:
    film = load_film(write(tmp_path, GOOD))
    before = {s.id: s.seed for s in build_plan(film, tmp_path / "film.yaml").shots}
    inserted = GOOD.replace("      - id: b\n", "      - id: new\n        duration: 1\n      - id: b\n")
    film2 = load_film(write(tmp_path, inserted, "film2.yaml"))
    after = {s.id: s.seed for s in build_plan(film2, tmp_path / "film2.yaml").shots}
    assert before["a"] == after["a"] and before["b"] == after["b"]
    assert len(set(after.values())) == 3
    assert stable_seed(7, "a") != stable_seed(8, "a")


def test_plan_timing_and_prompt_domains(tmp_path: Path) -> None:
    film = load_film(write(tmp_path, GOOD))
    plan = build_plan(film, tmp_path / "film.yaml")
    a, b = plan.shots
    assert a.num_frames == 32 and b.num_frames == 24
    assert a.overlap_frames() == 8
    assert plan.total_frames == 32 + 24 - 8
    assert "a woman in a yellow raincoat" in a.prompt  # canonical description, verbatim
    assert "black cliffs, grey sea" in a.prompt and "wide shot" in a.prompt
