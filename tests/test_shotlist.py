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


THREE = """\
multishot: 1
title: Three
format: {resolution: 160x96, fps: FPS}
locations:
  x: {description: a field}
scenes:
  - id: s
    location: x
    shots:
      - {id: a, duration: 1, transition: {type: dissolve, duration: IN}}
      - {id: b, duration: MID, transition: {type: wipe-left, duration: OUT}}
      - {id: c, duration: 1}
"""


def three(fps: int, into: float, mid: float, out: float) -> str:
    return (THREE.replace("FPS", str(fps)).replace("IN", str(into)).replace("MID", str(mid))
            .replace("OUT", str(out)))


@pytest.mark.parametrize("fps, into, mid, out", [
    (8, 0.9, 1, 0.9),       # each shorter than the shot, together 1.8 s of a 1 s shot
    (8, 0.5, 1, 0.625),     # 1.125 s of a 1 s shot
    (10, 0.56, 1.04, 0.46), # 1.02 s < 1.04 s, but 6 + 5 frames > the shot's 10
])
def test_a_shot_between_two_transitions_must_hold_both(tmp_path: Path, fps: int, into: float,
                                                          mid: float, out: float) -> None:
    """Each transition alone fits, so only the sum on the middle shot is wrong; it used to
    validate and then fail the render with `clip.mp4 is shorter than its transitions`."""
    msgs = problems(tmp_path, three(fps, into, mid, out))
    assert len(msgs) == 1, msgs
    assert ":11: scenes[0].shots[1].transition: shot `b`" in msgs[0]
    assert "together they must fit in the shot" in msgs[0]


def test_a_transition_may_not_take_a_whole_shot_once_counted_in_frames(tmp_path: Path) -> None:
    """0.06 s < 0.0625 s, but at 16 fps both are one frame: the shot would be all transition,
    which the editor's timeline (timeline.otio, `multishot export`) cannot lay out."""
    msgs = problems(tmp_path, three(16, 0.06, 1, 0.25).replace("{id: a, duration: 1,", "{id: a, duration: 0.0625,"))
    assert len(msgs) == 1 and "must be shorter than both shots it joins" in msgs[0], msgs
    assert "at 16 fps it takes 1 frames of 1 and 16" in msgs[0]


@pytest.mark.parametrize("out", [0.375, 0.5])  # the second: a shot seen only through its transitions
def test_a_shot_between_two_transitions_that_fit_loads_and_plans(tmp_path: Path, out: float) -> None:
    film = load_film(write(tmp_path, three(8, 0.5, 1, out)))
    plan = build_plan(film, tmp_path / "film.yaml")
    b = plan.shots[1]
    assert plan.shots[0].overlap_frames() + b.overlap_frames() <= b.num_frames


def test_titles_make_distinct_ascii_folder_names() -> None:
    from multishot.plan.film_plan import slugify

    assert slugify("The Lighthouse Keeper") == "the-lighthouse-keeper"
    assert slugify("Ölfeld — Zoë") == "olfeld-zoe"  # accents folded, not dropped
    night, sea = slugify("夜"), slugify("夜の海")
    assert night.startswith("untitled-") and sea.startswith("untitled-") and night != sea
    assert slugify("夜の海") == sea  # stable: a re-render finds its folder
    for title in ("../../etc", "a/b", "!!!", "x" * 200, "夜/..", "  "):
        slug = slugify(title)
        assert slug and "/" not in slug and slug not in (".", "..") and len(slug) <= 89
        assert slug.strip("-") == slug


def test_a_reference_must_be_a_readable_image(tmp_path: Path) -> None:
    """A broken reference used to validate and then fail the keyframe render at the bank."""
    from PIL import Image

    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "mara.png").write_text("not an image")
    text = GOOD.replace("{description: a woman in a yellow raincoat}",
                        "{description: a woman, reference: refs/mara.png}")
    msgs = problems(tmp_path, text)
    assert len(msgs) == 1 and "characters.mara.reference: file `refs/mara.png` is not an image" in msgs[0], msgs
    Image.new("RGBA", (24, 32), (200, 180, 20, 255)).save(tmp_path / "refs" / "mara.png")
    assert load_film(write(tmp_path, text)).characters["mara"].reference == "refs/mara.png"
