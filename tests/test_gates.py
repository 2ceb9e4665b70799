"""The continuity gates: a clean shot list passes; each planted violation is caught, names the
shot and the rule; the rule planner's revision removes it; `multishot check` prints findings and
exits 2 on errors, 0 on warnings only."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from typer.testing import CliRunner

from multishot.plan.agent import GateOptions, RulePlanner, check_film, film_to_yaml, review
from multishot.plan.agent.loop import critique
from multishot.shotlist import Film, parse_film

CLEAN: dict[str, Any] = {
    "multishot": 1, "title": "Gate Test",
    "format": {"resolution": "160x96", "fps": 8},
    "characters": {"mara": {"description": "a woman in a yellow oilskin raincoat, silver braid"},
                   "tomas": {"description": "a boy in a red knit cap"}},
    "locations": {"cliffs": {"description": "black basalt cliffs over a grey sea"},
                  "room": {"description": "the lamp room of a lighthouse"}},
    "scenes": [
        {"id": "outside", "location": "cliffs", "time": "dusk", "shots": [
            {"id": "est", "size": "wide", "duration": 2, "action": "the beam sweeps the cliffs"},
            {"id": "mara-walks", "size": "medium", "characters": ["mara"], "duration": 2,
             "action": "Mara walks to the edge", "screen_direction": "right"},
            {"id": "tomas-enters", "size": "full", "characters": ["tomas"], "duration": 2,
             "action": "Tomas runs in from the path", "screen_direction": "left"},
            {"id": "talk-a", "size": "medium-close", "angle": "over-shoulder", "characters": ["mara", "tomas"],
             "dialogue": {"mara": "You came."}, "duration": 2, "screen_direction": "right"},
            {"id": "talk-b", "size": "medium-close", "angle": "over-shoulder", "characters": ["tomas", "mara"],
             "dialogue": {"tomas": "I always do."}, "duration": 2, "screen_direction": "left",
             "transition": {"type": "dissolve", "duration": 0.5}},
        ]},
        {"id": "inside", "location": "room", "time": "night", "shots": [
            {"id": "room-wide", "size": "wide", "characters": ["mara", "tomas"], "duration": 2,
             "action": "the two climb into the lamp room"},
            {"id": "lens", "size": "insert", "duration": 1, "action": "the brass lens turns"},
        ]},
    ],
}
LENGTH = 12.5  # 13 s of shots minus one 0.5 s dissolve


def film(edit: Callable[[dict[str, Any]], None] | None = None) -> Film:
    data = copy.deepcopy(CLEAN)
    if edit:
        edit(data)
    return Film.model_validate(data)


def shot(data: dict[str, Any], shot_id: str) -> dict[str, Any]:
    return next(s for sc in data["scenes"] for s in sc["shots"] if s["id"] == shot_id)


def set_field(shot_id: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: shot(data, shot_id).update(fields)


def add_after(shot_id: str, new: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        for scene in data["scenes"]:
            ids = [s["id"] for s in scene["shots"]]
            if shot_id in ids:
                scene["shots"].insert(ids.index(shot_id) + 1, new)
    return edit


def test_clean_film_has_no_findings() -> None:
    assert check_film(film(), GateOptions(budget=LENGTH)) == []


# (name, edit, gate options, expected (rule, shot, severity) or a list of them, text in every message)
PLANTED = [
    ("establishing", set_field("room-wide", size="close"), GateOptions(),
     ("establishing", "room-wide", "warn"), "opens on a close shot"),
    ("presence", set_field("tomas-enters", action="Tomas waits by the rail"), GateOptions(),
     ("character-presence", "tomas-enters", "warn"), "Tomas appears in scene `outside` without having entered"),
    ("crossed-line", set_field("talk-a", screen_direction="left"), GateOptions(),
     ("180-degree", "talk-a", "error"), "faces right in `mara-walks` but left here"),
    ("reverse-same-side", lambda d: (shot(d, "tomas-enters").update(screen_direction="right"),
                                     shot(d, "talk-b").update(screen_direction="right")), GateOptions(),
     [("180-degree", "talk-a", "error"), ("180-degree", "talk-b", "error")], "both face right"),
    ("reverse-unrecorded", lambda d: shot(d, "talk-b").pop("screen_direction"), GateOptions(),
     ("180-degree", "talk-b", "warn"), "without a recorded screen_direction"),
    ("jump-cut", add_after("mara-walks", {"id": "mara-again", "size": "medium", "characters": ["mara"],
                                          "duration": 1, "action": "Mara looks down", "screen_direction": "right"}),
     GateOptions(), ("jump-cut", "mara-again", "warn"), "same size (medium) and angle (eye)"),
    ("over-budget", None, GateOptions(budget=10), ("duration-budget", "room-wide", "error"), "2.50s over its 10s budget"),
    ("under-budget", None, GateOptions(budget=30), ("duration-budget", "lens", "warn"), "17.50s under"),
    ("description", set_field("mara-walks", action="Mara in her red raincoat walks to the edge"), GateOptions(),
     ("description", "mara-walks", "error"), "gives Mara a red raincoat, but their description says yellow"),
]


@pytest.mark.parametrize("name, edit, options, expected, text", PLANTED, ids=[p[0] for p in PLANTED])
def test_gate_catches_planted_violation(name: str, edit: Any, options: GateOptions,
                                        expected: Any, text: str) -> None:
    findings = check_film(film(edit), options)
    want = expected if isinstance(expected, list) else [expected]
    assert [(f.rule, f.shot_id, f.severity) for f in findings] == want, findings
    assert all(text in f.message for f in findings)


@pytest.mark.parametrize("name, edit, options, expected, text", PLANTED, ids=[p[0] for p in PLANTED])
def test_rule_planner_revises_the_violation_away(name: str, edit: Any, options: GateOptions,
                                                 expected: Any, text: str) -> None:
    """The critique → revise loop alone: each fixer removes what its gate found."""
    planted = film(edit)
    planner = RulePlanner()
    revised, findings, rounds = critique(planted, planner, rounds=3, gates=options)
    assert findings == [] and check_film(revised, options) == []
    assert 1 <= rounds <= 3
    # the revision is a valid shot list that loads from YAML back to the same film
    assert parse_film(film_to_yaml(revised), Path("revised.yaml")) == revised
    # descriptions are canon: no revision touches them
    assert revised.characters == planted.characters and revised.locations == planted.locations
    first = next(e for e in planner.transcript.entries if e["event"] == "findings")
    assert first["errors"] + first["warnings"] == (len(expected) if isinstance(expected, list) else 1)
    assert any(e["event"] == "revise" and e["changes"] for e in planner.transcript.entries)


@pytest.mark.parametrize("name, edit, options, expected, text", PLANTED, ids=[p[0] for p in PLANTED])
def test_roles_over_a_shot_list_leave_no_findings(name: str, edit: Any, options: GateOptions,
                                                  expected: Any, text: str) -> None:
    """The whole review (purposes, camera filled where unset, critique → revise)."""
    result = review(film(edit), RulePlanner(), rounds=3, gates=options)
    assert result.findings == [] and check_film(result.film, options) == []
    assert result.usage["gates"]["calls"] >= 1 and result.usage["cinematographer"]["calls"] == 1


def test_reasons_and_exemptions_silence_the_gates() -> None:
    # a shown move (a turn, an orbit) lets a character change sides; an unexplained change does not
    back = {"id": "mara-back", "size": "close", "characters": ["mara"], "duration": 1,
            "screen_direction": "left", "action": "Mara looks back toward the path"}
    crossed = check_film(film(add_after("mara-walks", back)))
    assert ("180-degree", "mara-back") in [(f.rule, f.shot_id) for f in crossed]
    turned = check_film(film(add_after("mara-walks", {**back, "action": "Mara turns back toward the path"})))
    assert "mara-back" not in [f.shot_id for f in turned]
    orbit = check_film(film(add_after("mara-walks", {**back, "movement": "orbit"})))
    assert "mara-back" not in [f.shot_id for f in orbit]
    # a dissolve between identical framings is a deliberate join, not a jump cut
    jump = add_after("mara-walks", {"id": "mara-again", "size": "medium", "characters": ["mara"], "duration": 1,
                                    "action": "Mara looks down", "screen_direction": "right"})

    def dissolve(d: dict[str, Any]) -> None:
        jump(d)
        shot(d, "mara-walks")["transition"] = {"type": "dissolve", "duration": 0.5}
    assert check_film(film(dissolve)) == []
    # "told otherwise": an exemption by rule at a scene, or a match-cut into the scene
    close_open = set_field("room-wide", size="close")
    assert check_film(film(close_open), GateOptions(allow=frozenset({"establishing:inside"}))) == []
    assert check_film(film(close_open), GateOptions(allow=frozenset({"establishing"}))) == []

    def match_cut(d: dict[str, Any]) -> None:
        close_open(d)
        shot(d, "talk-b")["transition"] = {"type": "match-cut"}
    assert check_film(film(match_cut)) == []
    # named earlier in the scene: no entrance needed
    named = set_field("tomas-enters", action="Tomas waits by the rail")
    mention = set_field("mara-walks", action="Mara walks to the edge to meet Tomas")
    assert check_film(film(lambda d: (named(d), mention(d)))) == []


def test_findings_come_in_film_order_with_every_rule_named() -> None:
    def many(d: dict[str, Any]) -> None:
        set_field("room-wide", size="close")(d)
        set_field("tomas-enters", action="Tomas waits")(d)
        set_field("talk-a", screen_direction="left")(d)
    findings = check_film(film(many), GateOptions(budget=5))
    assert [(f.shot_id, f.rule) for f in findings] == [
        ("tomas-enters", "character-presence"), ("tomas-enters", "duration-budget"),
        ("talk-a", "180-degree"), ("room-wide", "establishing")]
    assert {f.rule for f in findings} == {"character-presence", "180-degree", "duration-budget", "establishing"}
    assert all(f.shot_id and f.rule and f.message for f in findings)


# -- the command --------------------------------------------------------------------------------

def invoke(*args: str) -> Any:
    from multishot.cli.main import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def write(tmp_path: Path, data: Film | dict[str, Any], name: str = "film.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data.model_dump(mode="json") if isinstance(data, Film) else data, sort_keys=False))
    return path


def test_check_command_exit_codes_and_output(tmp_path: Path) -> None:
    ok = invoke("check", str(write(tmp_path, film(), "clean.yaml")))
    assert ok.exit_code == 0 and "no continuity findings" in ok.stdout

    warn_only = invoke("check", str(write(tmp_path, film(PLANTED[5][1]), "jump.yaml")))
    assert warn_only.exit_code == 0
    assert "jump-cut" in warn_only.stdout and "mara-again" in warn_only.stdout and "warn" in warn_only.stdout

    bad = write(tmp_path, film(set_field("talk-a", screen_direction="left")), "crossed.yaml")
    error = invoke("check", str(bad))
    assert error.exit_code == 2 and "180-degree" in error.stdout and "talk-a" in error.stdout

    lines = invoke("check", str(bad), "--json", "--budget", "10")
    assert lines.exit_code == 2
    found = [json.loads(line) for line in lines.stdout.strip().splitlines()]
    assert {(f["rule"], f["shot_id"], f["severity"]) for f in found} == {
        ("180-degree", "talk-a", "error"), ("duration-budget", "room-wide", "error")}

    allowed = invoke("check", str(write(tmp_path, film(set_field("room-wide", size="close")), "close.yaml")),
                     "--allow", "establishing:inside")
    assert allowed.exit_code == 0
    assert invoke("check", str(bad), "--allow", "no-such-rule").exit_code == 2


def test_check_reports_an_invalid_file_like_validate(tmp_path: Path) -> None:
    data = copy.deepcopy(CLEAN)
    data["scenes"][0]["shots"][0]["durration"] = 3
    result = invoke("check", str(write(tmp_path, data, "bad.yaml")))
    assert result.exit_code == 2
    assert "did you mean `duration`" in result.stderr
