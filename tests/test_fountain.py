"""Fountain import: the syntax spec's cases (https://fountain.io/syntax), the mapping from
screenplay to shot list, and a screenplay that imports and renders."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import yaml

from conftest import ROOT
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.shotlist import ShotListError, load_film
from multishot.shotlist.fountain import (Element, import_fountain, parse_fountain, parse_heading,
                                         plain_text, screenplay_to_data, slug)
from multishot.shotlist.schema import ID_PATTERN

FIXTURES = Path(__file__).parent / "fixtures" / "fountain"


def kinds(text: str) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in parse_fountain(text).elements]


# ---- the syntax ------------------------------------------------------------------------------

@pytest.mark.parametrize("heading", ["INT. HOUSE - DAY", "EXT. HOUSE - DAY", "EST. HOUSE - DAY",
                                     "INT./EXT. HOUSE - DAY", "INT/EXT HOUSE - DAY", "I/E HOUSE - DAY",
                                     "int. house - day", "EXT HOUSE"])
def test_scene_headings(heading: str) -> None:
    assert kinds(f"Before.\n\n{heading}\n\nAfter.") == [
        ("action", "Before."), ("scene_heading", heading), ("action", "After.")]


@pytest.mark.parametrize("line", ["INTERCUT WITH THE PHONE.", "EXTRA! EXTRA!", "ESTABLISHING nothing"])
def test_words_that_only_start_like_headings_are_action(line: str) -> None:
    assert kinds(f"\n{line}\n\nNext.")[0] == ("action", line)


def test_heading_needs_blank_lines_around_it() -> None:
    assert [k for k, _ in kinds("Action line.\nINT. HOUSE - DAY\n\nMore.")] == ["action", "action"]


def test_forced_scene_heading_and_scene_numbers() -> None:
    play = parse_fountain("\n.SNIPER SCOPE POV\n\nHe waits.\n\nINT. HOUSE - DAY #1A#\n\nIn.\n\n...and then.\n")
    heading, _, numbered, _, ellipsis = play.elements
    assert (heading.kind, heading.text, heading.forced) == ("scene_heading", "SNIPER SCOPE POV", True)
    assert (numbered.text, numbered.scene_number) == ("INT. HOUSE - DAY", "1A")
    assert ellipsis == Element("action", "...and then.")  # `..` is an ellipsis, not a heading


def test_character_dialogue_and_parentheticals() -> None:
    play = parse_fountain("\nSTEEL (O.S.)\n(quietly)\nThe man's a machine.\nIt's good.\n\nHANS (on the radio)\nWhat?\n")
    cue, paren, line, hans, what = play.elements
    assert (cue.kind, cue.text, cue.extension) == ("character", "STEEL", "O.S.")
    assert (paren.kind, paren.text) == ("parenthetical", "(quietly)")
    assert (line.kind, line.text) == ("dialogue", "The man's a machine.\nIt's good.")
    assert (hans.text, hans.extension) == ("HANS", "on the radio")  # lower-case extensions are fine
    assert what.kind == "dialogue"


def test_character_rules() -> None:
    # a CAPS line followed by a blank line is action, not a character
    assert kinds("\nTHE DOOR SLAMS.\n\nShe turns.") == [("action", "THE DOOR SLAMS."), ("action", "She turns.")]
    # names need a letter: R2D2 speaks, 23 does not
    assert kinds("\nR2D2\nBeep.")[0] == ("character", "R2D2")
    assert kinds("\n23\nSkidoo.")[0][0] == "action"
    # forced character (mixed case), forced action (a CAPS line that would be a character)
    assert kinds("\n@McCLANE\nYippie ki-yay!") == [("character", "McCLANE"), ("dialogue", "Yippie ki-yay!")]
    assert kinds("\n!SCANNING THE AISLES...\nWhere is that pit boss?") == [
        ("action", "SCANNING THE AISLES...\nWhere is that pit boss?")]


def test_dual_dialogue() -> None:
    play = parse_fountain("\nBRICK\nScrew retirement.\n\nSTEEL ^\nScrew retirement.\n")
    assert [(e.kind, e.text, e.dual) for e in play.elements] == [
        ("character", "BRICK", False), ("dialogue", "Screw retirement.", False),
        ("character", "STEEL", True), ("dialogue", "Screw retirement.", False)]


def test_two_spaces_keep_dialogue_and_action_together() -> None:
    play = parse_fountain("\nDEALER\nTen.\n  \nFour.\n\nHe deals.\n  \nThen waits.\n")
    assert [(e.kind, e.text) for e in play.elements] == [
        ("character", "DEALER"), ("dialogue", "Ten.\n\nFour."), ("action", "He deals.\n\nThen waits.")]


def test_lyrics() -> None:
    assert kinds("\nHANS\n~Happy birthday to you\n~Happy birthday to you\n") == [
        ("character", "HANS"), ("lyrics", "Happy birthday to you"), ("lyrics", "Happy birthday to you")]
    assert kinds("~Willy Wonka! The amazing chocolatier!")[0] == ("lyrics", "Willy Wonka! The amazing chocolatier!")


def test_transitions() -> None:
    assert kinds("He leaves.\n\nCUT TO:\n\nINT. HOUSE - DAY\n\nIn.")[1] == ("transition", "CUT TO:")
    forced = parse_fountain("He leaves.\n\n>Burn to White.\n\nNext.").elements[1]
    assert (forced.kind, forced.text, forced.forced) == ("transition", "Burn to White.", True)
    # an uppercase `TO:` line without a blank line after it is not a transition: by the spec's
    # rules it is a character cue (forced `>` is how to write one there)
    assert [k for k, _ in kinds("\nCUT TO:\nHe runs.")] == ["character", "dialogue"]
    assert [k for k, _ in kinds("\n> CUT TO:\nHe runs.")] == ["transition", "action"]


def test_centered_page_breaks_sections_synopses() -> None:
    assert kinds("> THE END <\n\n===\n\n# ACT ONE\n\n## Part\n\n= They meet.\n\n====") == [
        ("centered", "THE END"), ("page_break", ""), ("section", "ACT ONE"), ("section", "Part"),
        ("synopsis", "They meet."), ("page_break", "")]
    sections = [e.depth for e in parse_fountain("# One\n\n### Three").elements]
    assert sections == [1, 3]


def test_notes_and_boneyard_are_removed() -> None:
    play = parse_fountain(
        "He sits. [[fix this]] He waits.\n\n"
        "STEEL\n[[ad lib]]\nHello.\n\n"
        "/*\nINT. DELETED - NIGHT\n\nGone.\n*/\n\n"
        "Kept /* inline */ text.\n\n"
        "[[a note\nover two lines]]\n\nEnd.")
    assert [(e.kind, e.text) for e in play.elements] == [
        ("action", "He sits.  He waits."), ("character", "STEEL"), ("dialogue", "Hello."),
        ("action", "Kept  text."), ("action", "End.")]
    assert play.notes == ["fix this", "ad lib", "a note over two lines"]


def test_title_page() -> None:
    play = parse_fountain("Title:\n\t_**BRICK & STEEL**_\n\t_**FULL RETIRED**_\nCredit: Written by\n"
                          "Author: Stu\n\nINT. HOUSE - DAY\n\nIn.")
    assert play.title_page == {"title": "_**BRICK & STEEL**_\n_**FULL RETIRED**_", "credit": "Written by",
                               "author": "Stu"}
    assert [e.kind for e in play.elements] == ["scene_heading", "action"]
    assert parse_fountain("Something: happens here.\n\nMore.").title_page == {}  # not a title key


def test_emphasis_is_removed_from_prompts() -> None:
    assert plain_text("*italic* **bold** ***both*** _under_ \\*literal\\* snake_case_name") == \
        "italic bold both under *literal* snake_case_name"


def test_syntax_fixture_every_element() -> None:
    play = parse_fountain((FIXTURES / "syntax.fountain").read_text())
    counts = {k: sum(e.kind == k for e in play.elements) for k in
              ("scene_heading", "action", "character", "dialogue", "parenthetical", "lyrics", "transition",
               "centered", "page_break", "section", "synopsis")}
    assert counts == {"scene_heading": 3, "action": 5, "character": 8, "dialogue": 7, "parenthetical": 1,
                      "lyrics": 2, "transition": 2, "centered": 1, "page_break": 1, "section": 1, "synopsis": 1}
    assert "DELETED" not in str(play.elements) and len(play.notes) == 2
    assert [e.text for e in play.elements if e.kind == "character" and e.dual] == ["BRICK"]


# ---- screenplay → shot list ------------------------------------------------------------------

@pytest.mark.parametrize("heading, expected", [
    ("INT. LIGHTHOUSE - LAMP ROOM - NIGHT", ("LIGHTHOUSE - LAMP ROOM", "int", "night", False)),
    ("EXT. CLIFFS - DUSK", ("CLIFFS", "ext", "dusk", False)),
    ("INT./EXT. CAR - MOVING", ("CAR - MOVING", "int./ext", None, False)),
    ("INT. HOUSE - CONTINUOUS", ("HOUSE", "int", None, True)),
    ("SNIPER SCOPE POV", ("SNIPER SCOPE POV", "", None, False)),
])
def test_parse_heading(heading: str, expected: tuple) -> None:
    assert parse_heading(heading) == expected


def test_short_film_import(tmp_path: Path) -> None:
    text, film = import_fountain(FIXTURES / "short_film.fountain", style="35mm film")
    assert film.title == "The Letter" and film.style == "35mm film"
    assert set(film.characters) == {"mara", "tomas"}
    assert film.characters["mara"].description == "Mara (60s), a keeper in a yellow oilskin raincoat"
    assert film.characters["tomas"].description == "Tomas, a boy in a red knit cap"
    assert [(s.id, s.location, s.time) for s in film.scenes] == [("cliffs", "cliffs", "dusk"),
                                                                 ("lamp-room", "lamp-room", "night")]
    assert film.scenes[0].weather is None  # a raincoat is not rain
    shots = [shot for _, shot in film.shots()]
    for scene in film.scenes:
        assert scene.shots[0].size == "wide"  # first shot of a scene
    for shot in shots:
        assert re.fullmatch(ID_PATTERN.strip("^$"), shot.id) and 2 <= shot.duration <= 6
    by_line = {next(iter(s.dialogue.values())): s for s in shots if s.dialogue}
    assert by_line["Not tonight."].size == "medium" and by_line["Not tonight."].characters == ["mara"]
    assert by_line["Not tonight."].transition is not None and by_line["Not tonight."].transition.type == "dissolve"
    assert by_line["Thank you."].action == "Mara speaks, softly"
    assert by_line["Thank you."].size == "medium"  # Mara's first line in this scene
    assert shots[-1].transition is None  # FADE TO BLACK. leads nowhere
    # the YAML loads with the ordinary loader
    path = tmp_path / "letter.yaml"
    path.write_text(text)
    assert load_film(path) == film
    assert text.startswith("# Imported from short_film.fountain")


def test_dialogue_sizes_and_off_screen_voices() -> None:
    play = parse_fountain(
        "INT. ROOM - DAY\n\nMARA and TOMAS sit.\n\nMARA\nOne.\n\nTOMAS\nTwo.\n\nMARA\nThree.\n\n"
        "NARRATOR (V.O.)\nLong ago.\n")
    data = screenplay_to_data(play, fallback_title="x")
    shots = data["scenes"][0]["shots"]
    assert [s["size"] for s in shots] == ["wide", "medium", "medium", "close", "medium"]
    assert shots[0]["characters"] == ["mara", "tomas"]
    narrator = shots[-1]  # heard over the last shot's people, not seen
    assert narrator["characters"] == ["mara"] and narrator["dialogue"] == {"narrator": "Long ago."}
    assert narrator["action"] == "Narrator is heard off screen"


def test_transitions_map_to_the_shot_list() -> None:
    def transition_after(line: str) -> object:
        play = parse_fountain(f"INT. A - DAY\n\nOne.\n\n{line}\n\nINT. B - DAY\n\nTwo.\n")
        return screenplay_to_data(play, fallback_title="x")["scenes"][0]["shots"][-1].get("transition")

    assert transition_after("CUT TO:") is None  # the default, left out
    assert transition_after("DISSOLVE TO:") == "dissolve"
    assert transition_after("MATCH CUT TO:") == "match-cut"
    assert transition_after("SMASH CUT TO:") is None
    assert transition_after("> FADE TO BLACK.") == "fade"
    assert transition_after(">Burn to White.") == "fade-to-white"
    assert transition_after("WIPE TO:") == "wipe-left"


def test_long_paragraphs_and_speeches_split_into_shots() -> None:
    action = " ".join(f"Sentence {i} has a few more words in it." for i in range(8))
    speech = " ".join(f"Line {i} is spoken slowly here." for i in range(6))
    play = parse_fountain(f"EXT. SEA - DAY\n\n{action}\n\nMARA\n{speech}\n")
    shots = screenplay_to_data(play, fallback_title="x")["scenes"][0]["shots"]
    assert len(shots) > 3 and all(2 <= s["duration"] <= 6 for s in shots)
    spoken = " ".join(s["dialogue"]["mara"] for s in shots if "dialogue" in s)
    assert spoken == speech  # nothing lost in the split


def test_ids_are_valid_and_unique_for_any_names() -> None:
    play = parse_fountain("INT. CAFÉ « LE SÉLECT » - NIGHT\n\nJOSÉ\n¡Hola!\n\nJOSÉ\n¡Hola!\n\nINT. CAFÉ « LE SÉLECT » - DAY\n\n"
                          "Empty.\n\n李\n你好\n")
    data = screenplay_to_data(play, fallback_title="x")
    ids = [s["id"] for sc in data["scenes"] for s in sc["shots"]] + [sc["id"] for sc in data["scenes"]] + \
        list(data["characters"]) + list(data["locations"])
    assert all(re.fullmatch(r"[a-z0-9_-]+", i) for i in ids), ids
    shot_ids = [s["id"] for sc in data["scenes"] for s in sc["shots"]]
    assert len(set(shot_ids)) == len(shot_ids)
    assert "jose" in data["characters"] and len(data["locations"]) == 1  # one café, two times of day
    assert slug("Ça va?") == "ca-va" and slug("李") == "li"  # transliterated, not dropped


def test_action_before_any_heading_and_empty_scripts(tmp_path: Path) -> None:
    data = screenplay_to_data(parse_fountain("FADE IN:\n\nA cold open.\n\nCUT THE ROPE.\n\nFADE OUT.\n"),
                              fallback_title="Cold")
    assert data["title"] == "Cold" and data["scenes"][0]["id"] == "opening"
    assert [s["action"] for s in data["scenes"][0]["shots"]] == ["A cold open.", "Cut the rope."]
    empty = tmp_path / "empty.fountain"
    empty.write_text("Title: Nothing\n\n# Act one\n\n= nothing happens\n")
    with pytest.raises(ShotListError, match="no action or dialogue"):
        import_fountain(empty)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "multishot.cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_cli_import(tmp_path: Path) -> None:
    target = tmp_path / "letter.yaml"
    done = cli("import", str(FIXTURES / "short_film.fountain"), "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert target.is_file() and "2 scenes" in done.stdout and load_film(target).title == "The Letter"
    again = cli("import", str(FIXTURES / "short_film.fountain"), "-o", str(target))
    assert again.returncode == 2 and "--force" in again.stderr
    printed = cli("import", str(FIXTURES / "short_film.fountain"), "-o", "-")
    body = target.read_text()
    assert printed.returncode == 0 and printed.stdout.endswith(body[body.index("multishot: 1"):])
    missing = cli("import", str(tmp_path / "nope.fountain"))
    assert missing.returncode == 2


def test_imported_screenplay_renders(tmp_path: Path) -> None:
    """The example screenplay imports, validates and renders (small and fast for the test)."""
    text, film = import_fountain(ROOT / "shotlists" / "lighthouse.fountain")
    data = yaml.safe_load(text)
    data["format"] = {"resolution": "160x96", "fps": 8, "seed": 1}
    for scene in data["scenes"]:
        for shot in scene["shots"]:
            shot["duration"] = min(shot["duration"], 2)
    path = tmp_path / "lighthouse.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = render_file(path, RenderOptions(out_root=tmp_path / "renders"))
    assert result.status == "complete" and result.film is not None and result.film.is_file()
    assert result.shots == len(film.shots()) >= 10


# ---- issue 17: hostile input, real-script defects ---------------------------------------------

def _emphasis_oracle(text: str) -> str:
    """The regular expressions the importer used to apply (correct, but quadratic on hostile
    input): the linear scanner must give the same answer on every short string."""
    protected = text.replace("\\*", "\x01").replace("\\_", "\x02")
    for pattern in (r"\*\*\*(?=\S)(.+?)(?<=\S)\*\*\*", r"\*\*(?=\S)(.+?)(?<=\S)\*\*",
                    r"\*(?=\S)(.+?)(?<=\S)\*", r"(?<![A-Za-z0-9])_(?=\S)(.+?)(?<=\S)_(?![A-Za-z0-9])"):
        protected = re.sub(pattern, r"\1", protected)
    return protected.replace("\x01", "*").replace("\x02", "_")


@given(st.text(alphabet="*_ a\\\nB1", max_size=40))
@settings(max_examples=400, deadline=None)
def test_emphasis_scanner_matches_the_regex_semantics(text: str) -> None:
    assert plain_text(text) == _emphasis_oracle(text)


HOSTILE = {
    "emphasis": "INT. ROOM - DAY\n\n" + "***a " * 12_000 + "\n",
    "centred spaces": "INT. ROOM - DAY\n\nHe waits.\n\n>" + " " * 60_000 + "x\n",
    "unclosed notes": "INT. ROOM - DAY\n\nHe waits. " + "[[" * 30_000 + "\n",
    "many speakers": "".join(f"{'INT. ROOM %d - NIGHT' % (k // 40) + chr(10) * 2 if k % 40 == 0 else ''}"
                             f"SPEAKER{k} waves at SPEAKER{k + 1}.\n\nSPEAKER{k}\nHello there.\n\n"
                             for k in range(1_600)),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_screenplays_parse_in_bounded_time(case: str) -> None:
    """Regression guard for the quadratic (or worse) regexes (issue 17 item 1), not a speed
    target (that is scripts/bench_fountain.py): before the fix these took 24 s (the 60 KB
    emphasis line), hours (a centred line of 60,000 spaces: 8,000 took 186 s) and minutes
    (a ~90 KB script with 1,600 speakers); now each is well under a second. 10 s leaves room
    for a loaded CI machine."""
    import time
    start = time.perf_counter()
    data = screenplay_to_data(parse_fountain(HOSTILE[case]), fallback_title="x")
    assert data["scenes"] and time.perf_counter() - start < 10


def test_nested_boneyard_is_one_comment() -> None:
    play = parse_fountain("Action /*ignored /*nested*/ */ more.\n\n/*\nA /* B\n*/\nC\n*/\n\nEnd. */ stays\n")
    assert [(e.kind, e.text) for e in play.elements] == [
        ("action", "Action  more."), ("action", "End. */ stays")]  # a `*/` with nothing open is text


@pytest.mark.parametrize("heading", ["I./E. HOUSE - DAY", "I/E. HOUSE - DAY", "INT/EXT. HOUSE - DAY"])
def test_i_e_headings(heading: str) -> None:
    assert kinds(f"Before.\n\n{heading}\n\nAfter.")[1] == ("scene_heading", heading)
    assert parse_heading(heading)[0] == "HOUSE" and parse_heading(heading)[2] == "day"


@pytest.mark.parametrize("heading, location, time, continues", [
    ("INT. SAN FRANCISCO APARTMENT, DAY", "SAN FRANCISCO APARTMENT", "day", False),
    ("INT. WILL’S BEDROOM - NIGHT (1973)", "WILL’S BEDROOM", "night", False),
    ("EXT. THE DARK FOREST - DAY [LATER]", "THE DARK FOREST", "day", False),
    ("EXT. FIELD - PRE-DAWN", "FIELD", "dawn", False),
    ("INT. HOUSE - DAY (1979)", "HOUSE", "day", False),
    ("INT HOUSE DAY", "HOUSE", "day", False),
    ("INT. SAUSALITO HOME, THE NEXT MORNING", "SAUSALITO HOME", "morning", False),
    ("INT. EDWARD’S CAR - NIGHT - [THE STORM]", "EDWARD’S CAR", "night", False),
    ("INT. WILL’S CAR - DAY / DRIVING", "WILL’S CAR", "day", False),
    ("INT. HALLWAY, SCOTT'S BUILDING, A MOMENT LATER", "HALLWAY, SCOTT'S BUILDING", None, True),
    ("EXT. BLOOM BACK YARD - NIGHT [CONTINUOUS]", "BLOOM BACK YARD", "night", False),
    ("EXT. TOWN OF SPECTRE - VARIOUS SHOTS", "TOWN OF SPECTRE - VARIOUS SHOTS", None, False),
    ("INT. SOUTHERN GALLERY, SOUTH OF MARKET", "SOUTHERN GALLERY, SOUTH OF MARKET", None, False),
])
def test_time_of_day_in_real_heading_shapes(heading: str, location: str, time: str | None, continues: bool) -> None:
    parsed = parse_heading(heading)
    assert (parsed[0], parsed[2], parsed[3]) == (location, time, continues)


def test_interior_and_exterior_of_one_place_are_two_locations() -> None:
    play = parse_fountain("INT. BLOOM HOUSE - NIGHT\n\nHe sleeps.\n\nEXT. BLOOM HOUSE - DUSK\n\nA car.\n\n"
                          "INT. BLOOM HOUSE - DAY\n\nHe wakes.\n")
    data = screenplay_to_data(play, fallback_title="x")
    assert [sc["location"] for sc in data["scenes"]] == ["bloom-house-int", "bloom-house-ext", "bloom-house-int"]
    assert data["locations"] == {"bloom-house-int": {"description": "bloom house, interior"},
                                 "bloom-house-ext": {"description": "bloom house, exterior"}}
    one = screenplay_to_data(parse_fountain("EXT. CLIFFS - DUSK\n\nWind.\n"), fallback_title="x")
    assert one["locations"] == {"cliffs": {"description": "cliffs, exterior"}}  # one side: no suffix


def test_scenes_with_no_content_are_kept() -> None:
    play = parse_fountain("EXT. HOUSE - NIGHT\n\nCUT TO:\n\nINT. HOUSE - NIGHT\n\nShe waits.\n\n"
                          "DISSOLVE TO:\n\nEXT. SEA - DAWN\n")
    scenes = screenplay_to_data(play, fallback_title="x")["scenes"]
    assert [sc["time"] for sc in scenes] == ["night", "night", "dawn"]
    first, middle, last = (sc["shots"] for sc in scenes)
    assert first == [{"id": "house-establishing", "size": "wide", "duration": 2,
                      "action": "House, exterior, night"}]
    assert middle[-1]["transition"] == "dissolve"  # the transition still leads into the sea
    assert last[0]["size"] == "wide" and last[0]["action"] == "Sea, exterior, dawn"


def test_crossfade_is_a_dissolve() -> None:
    for line in ("CROSSFADE TO:", "> CROSS-FADE TO:", "CROSS FADE TO:"):
        play = parse_fountain(f"INT. A - DAY\n\nOne.\n\n{line}\n\nINT. B - DAY\n\nTwo.\n")
        assert screenplay_to_data(play, fallback_title="x")["scenes"][0]["shots"][-1]["transition"] == "dissolve"


def test_caps_are_recased_by_one_rule() -> None:
    play = parse_fountain("INT. ROOM - DAY\n\nEDWARD sits.\n\nEDWARD\nHi.\n\nSANDRA\nHi.\n\n"
                          "THE DOOR OPENS. EDWARD’S HAT FALLS! WHO IS IT?\n\n"
                          "EDWARD AND SANDRA KISS. THEY SMILE.\n\n"
                          "He turns on the TV. I SEE IT, he says. BANG! The SCREEN DOOR SLAMS.\n")
    actions = [s["action"] for s in screenplay_to_data(play, fallback_title="x")["scenes"][0]["shots"]
               if "dialogue" not in s]
    assert actions[1:] == [
        "The door opens. Edward’s hat falls! Who is it?",   # every sentence starts with a capital
        "Edward and Sandra kiss. They smile.",              # names only, not the verbs next to them
        "He turns on the TV. I see it, he says. Bang! The screen door slams."]


def test_non_latin_cues_are_transliterated() -> None:
    play = parse_fountain("INT. КУХНЯ - ДЕНЬ\n\nМАШA\nПривет.\n\n李\n你好\n")
    data = screenplay_to_data(play, fallback_title="x")
    assert list(data["characters"]) == ["masha", "li"]
    assert data["characters"]["masha"]["description"] == "Машa"


def test_names_with_numbers_and_shared_first_words() -> None:
    """`AGENT 99` and `R2D2` are names like any other (introduced, re-cased, found), and a
    thousand names sharing a first word are told apart."""
    play = parse_fountain("INT. A - DAY\n\nR2D2 beeps near AGENT 99 (40s), a spy, in the TV room.\n\n"
                          "AGENT 99\nHi.\n\nR2D2\nBeep.\n\n"
                          + "".join(f"SPEAKER {k}\nHi.\n\n" for k in range(1, 300)) + "SPEAKER 7 waves.\n")
    data = screenplay_to_data(play, fallback_title="x")
    assert data["characters"]["agent-99"]["description"] == "Agent 99 (40s), a spy"
    shots = data["scenes"][0]["shots"]
    assert shots[0]["action"] == "R2D2 beeps near Agent 99 (40s), a spy, in the TV room."
    assert shots[0]["characters"] == ["agent-99", "r2d2"] and shots[-1]["characters"] == ["speaker-7"]


def test_introduction_in_a_shouted_paragraph_is_the_name_only() -> None:
    play = parse_fountain("INT. A - DAY\n\nMARA CLIMBS.\n\nDICK STEEL (40s) waits.\n\nMARA\nHi.\n\nSTEEL\nHi.\n")
    characters = screenplay_to_data(play, fallback_title="x")["characters"]
    assert characters["mara"]["description"] == "Mara climbs."
    assert characters["steel"]["description"] == "Dick Steel (40s)"  # widened in mixed-case text
