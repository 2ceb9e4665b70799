"""Real screenplays (issue 17 item 9): the held-out corpus in ../shared/corpus/fountain (read in
place, never copied into the repository; SOURCES.md there says where each file comes from).

One test per defect class found on it, each stated on the real file where the file has the
case, plus every file importing and validating, and two of them rendering on the animatic.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.shotlist import load_film
from multishot.shotlist.fountain import import_fountain, parse_fountain, parse_heading

CORPUS = ROOT.parent / "shared" / "corpus" / "fountain"
FILES = sorted(CORPUS.glob("*.fountain")) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not FILES, reason=f"the held-out corpus is not at {CORPUS}")


def read(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def headings(name: str) -> list[str]:
    return [e.text for e in parse_fountain(read(name)).elements if e.kind == "scene_heading"]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_corpus_file_imports_and_validates(path: Path, tmp_path: Path) -> None:
    """Import → YAML → the ordinary loader: the same film, every id valid, no scene lost."""
    text, film = import_fountain(path, target=tmp_path / "film.yaml")
    (tmp_path / "film.yaml").write_text(text, encoding="utf-8")
    assert load_film(tmp_path / "film.yaml") == film
    n_headings = sum(e.kind == "scene_heading" for e in parse_fountain(path.read_text(encoding="utf-8")).elements)
    opening = int(film.scenes[0].id == "opening")
    assert len(film.scenes) == n_headings + opening  # a heading with nothing under it is still a scene


def test_int_and_ext_of_one_place_are_two_locations() -> None:
    """Big Fish has INT. and EXT. BLOOM HOUSE: the exterior must not be described as an interior."""
    _, film = import_fountain(CORPUS / "Big Fish.fountain")
    plays = headings("Big Fish.fountain")
    assert any(h.startswith("EXT.") and "BLOOM HOUSE -" in h for h in plays)
    assert any(h.startswith("INT.") and "BLOOM HOUSE -" in h for h in plays)
    real = [sc for sc in film.scenes if sc.id != "opening"]
    for heading, scene in zip(plays, real):
        description = film.locations[scene.location].description
        if re.match(r"INT\.?/EXT", heading):
            assert description.endswith("interior and exterior"), (heading, description)
        elif re.match(r"EXT[. ]", heading):
            assert description.endswith(", exterior"), (heading, description)
        elif re.match(r"INT[. ]", heading):
            assert description.endswith(", interior"), (heading, description)
    assert film.locations["bloom-house-ext"].description == "bloom house, exterior"
    assert film.locations["bloom-house-int"].description == "bloom house, interior"


@pytest.mark.parametrize("name, heading, time", [
    ("The-Last-Birthday-Card.fountain", "INT. SAN FRANCISCO APARTMENT, DAY", "day"),
    ("The-Last-Birthday-Card.fountain", "INT. SAUSALITO HOME, THE NEXT MORNING", "morning"),
    ("Big Fish.fountain", "INT.  WILL’S BEDROOM - NIGHT (1973)", "night"),
    ("Big Fish.fountain", "EXT.  THE DARK FOREST - DAY [LATER]", "day"),
    ("Big Fish.fountain", "EXT.  FIELD - PRE-DAWN", "dawn"),
    ("Big Fish.fountain", "INT.  HALF-DARK PARIS APARTMENT - (PRESENT) DAY", "day"),
    ("SceneHeaders.fountain", "INT HOUSE DAY", "day"),
    ("SceneHeaders.fountain", "INT. HOUSE - DAY (1979)", "day"),
])
def test_time_of_day_from_real_headings(name: str, heading: str, time: str) -> None:
    assert heading in headings(name)
    location, _, parsed, _ = parse_heading(heading)
    assert parsed == time and time.upper() not in location.upper().split()


def test_every_big_fish_scene_with_a_time_word_gets_a_time() -> None:
    _, film = import_fountain(CORPUS / "Big Fish.fountain")
    real = [sc for sc in film.scenes if sc.id != "opening"]
    for heading, scene in zip(headings("Big Fish.fountain"), real):
        if re.search(r"\b(DAY|NIGHT|DAWN|DUSK|MORNING)\b", heading):
            assert scene.time is not None, heading


def test_i_e_headings_are_scene_headings() -> None:
    play = parse_fountain(read("SceneHeaders.fountain"))
    assert "I./E. HOUSE - DAY" in [e.text for e in play.elements if e.kind == "scene_heading"]
    assert not [e.text for e in play.elements if e.kind == "action" and e.text.startswith(("I./E", "I/E"))]


def test_nested_boneyard_does_not_leak() -> None:
    """test.fountain: `/*ignored /*nested*/ */` inside an action line and a nested block."""
    _, film = import_fountain(CORPUS / "test.fountain")
    actions = " ".join(shot.action for _, shot in film.shots())
    assert "*/" not in actions and "/*" not in actions and "ignored" not in actions.lower()


def test_non_latin_names_are_transliterated() -> None:
    """cyrillic.fountain's cue `МАШA` (a Latin A at the end) is one character, `masha`."""
    _, film = import_fountain(CORPUS / "cyrillic.fountain")
    assert list(film.characters) == ["masha"]
    spoken = [shot for _, shot in film.shots() if shot.dialogue]
    assert spoken and all(list(shot.dialogue) == ["masha"] for shot in spoken)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", shot.id) and not shot.id.startswith("shot-")
               for _, shot in film.shots())


def test_all_caps_action_is_recased_like_latin_caps() -> None:
    """cyrillic.fountain writes its (non-heading) `ИНТ. КВАРТИРА …` lines in CAPS: they are re-cased
    by the same rule as Latin CAPS, not left shouting."""
    _, film = import_fountain(CORPUS / "cyrillic.fountain")
    caps = [shot.action for _, shot in film.shots() if shot.action.startswith("Инт")]
    assert caps and all(not any(w.isupper() and len(w) > 1 for w in a.split()) for a in caps)


@pytest.mark.parametrize("name", ["utf-8-bom.fountain", "cyrillic.fountain"])
def test_corpus_files_render_on_the_animatic(name: str, tmp_path: Path) -> None:
    """End to end, small and fast: 160x96 at 8 fps, every shot held to 1 s."""
    text, film = import_fountain(CORPUS / name)
    data = yaml.safe_load(text)
    data["format"] = {"resolution": "160x96", "fps": 8, "seed": 1}
    for scene in data["scenes"]:
        for shot in scene["shots"]:
            shot["duration"] = 1
            shot.pop("transition", None)
    path = tmp_path / "film.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    # Shots held to 1 s cannot hold their lines spoken (render refuses that, rightly): no voice.
    result = render_file(path, RenderOptions(out_root=tmp_path / "renders", audio=False))
    assert result.status == "complete" and result.film is not None and result.film.is_file()
    assert result.shots == len(film.shots())
