"""The agent roles with the rule planner: logline → valid shot list (property-based, many
loglines), deterministic; the roles converge on hand-written shot lists; `multishot direct`
writes a file that loads; the agent paradigm composes with another and renders on the animatic."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from multishot.plan.agent import Brief, GateOptions, RulePlanner, check_film, direct, film_to_yaml, review
from multishot.plan.agent.critic import film_length
from multishot.shotlist import Film, load_film, parse_film
from multishot.shotlist.schema import ANGLES, SIZES

LOGLINES = [
    "An old keeper gets a letter that changes everything.",
    "A courier races the dawn to deliver one last letter.",
    "Mara and Tomas sail to the island at night to find their father.",
    "When the city floods, a girl in a red coat befriends a wolf.",
    "The last robot on Earth learns to paint in the ruins of a museum.",
    "Two sisters inherit a bakery and a secret recipe during a snowstorm.",
    "x",
    "¿Dónde está Zoë? Una niña busca a su perro en el mercado.",
]
words = st.sampled_from(["a", "the", "old", "girl", "keeper", "Mara", "in", "at", "night", "red",
                         "coat", "city", "finds", "letter", "storm", "and", "Tomas", "sea", "dog",
                         "runs", "through", "forest", "."])
loglines = st.one_of(
    st.sampled_from(LOGLINES),
    st.lists(words, min_size=1, max_size=25).map(" ".join),
    st.text(st.characters(categories=("L", "N", "P", "Zs")), min_size=1, max_size=120).filter(str.strip),
)
given_characters = st.lists(
    st.tuples(st.sampled_from(["Mara", "Tomas", "Ada", "old Keeper", "Zoë"]),
              st.sampled_from(["", "a woman in a yellow oilskin raincoat", "a boy in a red knit cap, freckles"])),
    max_size=3, unique_by=lambda c: c[0].lower())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logline=loglines, shots=st.integers(1, 24), per_shot=st.floats(0.5, 6.0), characters=given_characters)
def test_rule_planner_writes_valid_shot_lists(logline: str, shots: int, per_shot: float,
                                              characters: list[tuple[str, str]]) -> None:
    brief = Brief(logline, characters=tuple(characters), shots=shots, duration=round(shots * per_shot, 2))
    result = direct(brief, RulePlanner(), rounds=3)
    film = result.film
    # valid: the written YAML loads back (schema + references) to the very same film
    text = film_to_yaml(film, "header")
    assert parse_film(text, Path("film.yaml")) == film
    assert sum(len(s.shots) for s in film.scenes) == shots
    assert film_length(film) == pytest.approx(brief.seconds, abs=0.011)
    assert result.findings == [] and check_film(film, GateOptions(budget=brief.seconds)) == []
    for name, description in characters:  # given descriptions are used verbatim
        if description:
            assert description in [c.description for c in film.characters.values()]
    assert all(shot.action for _, shot in film.shots())
    # deterministic: the same brief gives the same file
    assert film_to_yaml(direct(brief, RulePlanner(), rounds=3).film, "header") == text


@dataclass(frozen=True)
class _Shot:
    size: str
    angle: str | None
    cast: tuple[str, ...]
    facing: str | None
    action: str
    duration: float
    dissolve: bool


shot_strategy = st.builds(
    _Shot, size=st.sampled_from(SIZES), angle=st.one_of(st.none(), st.sampled_from(ANGLES)),
    cast=st.lists(st.sampled_from(["mara", "tomas", "ada"]), unique=True, max_size=3).map(tuple),
    facing=st.sampled_from([None, "left", "right"]),
    action=st.sampled_from(["", "Mara enters", "Tomas waits", "Mara in her red raincoat runs",
                            "Ada turns", "the sea"]),
    duration=st.sampled_from([0.5, 1.0, 2.5, 4.0]), dissolve=st.booleans())


def _film(scenes: list[list[_Shot]]) -> Film:
    flat = [(si, shot) for si, scene in enumerate(scenes) for shot in scene]
    data: dict[str, Any] = {
        "multishot": 1, "title": "Random",
        "characters": {"mara": {"description": "a woman in a yellow oilskin raincoat"},
                       "tomas": {"description": "a boy in a red knit cap"},
                       "ada": {"description": "a courier in a green cycling jacket"}},
        "locations": {"cliffs": {"description": "black cliffs"}, "room": {"description": "a lamp room"}},
        "scenes": [{"id": f"s{si}", "location": ["cliffs", "room"][si % 2], "shots": []} for si in range(len(scenes))],
    }
    for n, (si, s) in enumerate(flat):
        shot: dict[str, Any] = {"id": f"shot{n}", "size": s.size, "angle": s.angle, "characters": list(s.cast),
                                "screen_direction": s.facing, "action": s.action, "duration": s.duration}
        if s.dissolve and n + 1 < len(flat):
            shot["transition"] = {"type": "dissolve", "duration": 0.25}
        data["scenes"][si]["shots"].append(shot)
    return Film.model_validate(data)


@settings(max_examples=80, deadline=None)
@given(scenes=st.lists(st.lists(shot_strategy, min_size=1, max_size=6), min_size=1, max_size=3),
       per_shot=st.one_of(st.none(), st.floats(0.5, 6)))
def test_roles_converge_on_any_hand_written_shot_list(scenes: list[list[_Shot]], per_shot: float | None) -> None:
    """Any valid shot list, any feasible budget: the roles leave no error behind."""
    film = _film(scenes)
    gates = GateOptions(budget=None if per_shot is None else per_shot * sum(map(len, scenes)))
    result = review(film, RulePlanner(), rounds=4, gates=gates)
    assert [f for f in result.findings if f.severity == "error"] == []
    assert result.findings == check_film(result.film, gates)
    assert parse_film(film_to_yaml(result.film), Path("x.yaml")) == result.film
    # the writer's choices survive: every original shot is still there with its size or a fix
    original = {shot.id for _, shot in film.shots()}
    assert original <= {shot.id for _, shot in result.film.shots()}


def test_budget_rescaling_keeps_a_shot_between_two_dissolves_renderable() -> None:
    """Rescaling to the budget shortened 0.5 s shots with 0.25 s dissolves on both sides below
    the sum of the two, a shot list the loader refuses (and the assembler cannot build), so the
    whole revision round was dropped and the scene kept its missing establishing shot."""
    def shot(size: str, duration: float, dissolve: bool = False) -> _Shot:
        return _Shot(size=size, angle=None, cast=(), facing=None, action="", duration=duration, dissolve=dissolve)

    film = _film([[shot("extreme-wide", 0.5), shot("extreme-wide", 0.5), shot("extreme-wide", 0.5),
                   shot("extreme-wide", 0.5, True), shot("extreme-wide", 0.5, True), shot("extreme-wide", 4.0)],
                  [shot("medium", 0.5), shot("extreme-wide", 0.5)]])
    result = review(film, RulePlanner(), rounds=4, gates=GateOptions(budget=8.0))
    assert [f for f in result.findings if f.severity == "error"] == []
    assert parse_film(film_to_yaml(result.film), Path("x.yaml")) == result.film


# -- the command ---------------------------------------------------------------------------------

def invoke(*args: str) -> Any:
    from multishot.cli.main import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_direct_command_writes_a_loadable_deterministic_file(tmp_path: Path) -> None:
    out = tmp_path / "film.yaml"
    args = ["direct", "An old keeper gets a letter that changes everything.", "-o", str(out),
            "--characters", "mara=a woman in her sixties, silver braid, yellow oilskin raincoat",
            "--characters", "Tomas, Ada", "--shots", "7", "--duration", "20", "--transcript", str(tmp_path / "t.json")]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# written by `multishot direct`") and "\nmultishot: 1\n" in text
    film = load_film(out)
    assert film.characters["mara"].description == "a woman in her sixties, silver braid, yellow oilskin raincoat"
    assert {"tomas", "ada"} <= set(film.characters) and sum(len(s.shots) for s in film.scenes) == 7
    assert film.logline == "An old keeper gets a letter that changes everything."
    transcript = json.loads((tmp_path / "t.json").read_text())
    assert [e["role"] for e in transcript["transcript"][:4]] == ["screenwriter", "screenwriter", "director", "cinematographer"]
    assert invoke(*args).exit_code == 2  # the file exists: refuse without --force
    assert invoke(*args, "--force").exit_code == 0 and out.read_text() == text  # same inputs, same file
    assert invoke("check", str(out)).exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["   "], "the logline is empty"),
    (["A film.", "--shots", "10", "--duration", "2"], "under 0.5s a shot"),
    (["A film.", "-c", "Mara", "-c", "mara=someone"], "character `mara` is given twice"),
    (["A film.", "--resolution", "161x96"], "--resolution `161x96`"),
])
def test_direct_command_rejects_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke("direct", *args, "-o", str(tmp_path / "f.yaml"))
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "f.yaml").exists()


# -- the paradigm --------------------------------------------------------------------------------

HAND_WRITTEN = """\
multishot: 1
title: Agent Test
format: {resolution: 160x96, fps: 8, seed: 3}
characters:
  ada: {description: a courier in a green cycling jacket}
locations:
  street: {description: a narrow cobbled street}
  square: {description: a market square with a clock tower}
scenes:
  - id: ride
    location: street
    shots:
      - {id: opening, size: wide, duration: 1}
      - {id: ada-rides, size: medium, characters: [ada], duration: 1, action: Ada pedals hard}
  - id: arrival
    location: square
    shots:
      - {id: clock, size: close, characters: [ada], duration: 1, action: Ada looks up}
"""


def test_compose_hands_the_revised_plan_to_the_inner_paradigm(tmp_path: Path) -> None:
    from multishot.graph.engine import Engine
    from multishot.graph.manifest import Manifest
    from multishot.paradigms.agent import compose
    from multishot.paradigms.base import Job, Output, Paradigm, RenderOptions
    from multishot.plan.film_plan import build_plan

    source = tmp_path / "film.yaml"
    source.write_text(HAND_WRITTEN)
    seen: list[Any] = []
    inner = Paradigm("probe", "records the plan", ("probe",), frozenset(),
                     lambda job: (seen.append(job.plan), Output([], None))[1])
    paradigm = compose(inner)
    assert paradigm.name == "agent+probe" and paradigm.stages[1:] == ("probe",)
    manifest = Manifest(tmp_path / "out" / "manifest.json")
    job = Job(build_plan(load_film(source), source), Engine(tmp_path / "out", manifest),
              lambda profile: None, RenderOptions(agent_rounds=2))  # type: ignore[arg-type, return-value]
    output = paradigm.run(job)
    ids = [s.id for s in seen[0].shots]
    assert ids == ["opening", "ada-rides", "arrival-establishing", "clock"]  # the scene now opens wide
    assert output.plan is seen[0]
    event = next(e for e in manifest.events if e["kind"] == "agent")
    assert event["shots_before"] == 3 and event["shots_after"] == 4 and event["cached"] is False
    assert set(event["usage"]) >= {"revise", "cinematographer", "gates"}
    assert load_film(tmp_path / "out" / "agent" / "shotlist.yaml").scenes[1].shots[0].size == "wide"
    # the revision is a cached artifact: a second run reuses it
    paradigm.run(replace(job, engine=Engine(tmp_path / "out", Manifest(tmp_path / "out" / "m2.json"))))
    assert [s.id for s in seen[1].shots] == ids


def test_agent_then_stitching_renders_on_the_animatic(tmp_path: Path) -> None:
    from multishot.paradigms.base import RenderOptions
    from multishot.paradigms.runner import render_file

    source = tmp_path / "film.yaml"
    source.write_text(HAND_WRITTEN)
    options = RenderOptions(paradigm="agent", profile="animatic", out_root=tmp_path / "renders")
    result = render_file(source, options)
    assert result.status == "complete" and result.film is not None and result.film.is_file()
    manifest = json.loads(result.manifest.read_text())
    assert [s["id"] for s in manifest["shots"]] == ["opening", "ada-rides", "arrival-establishing", "clock"]
    transcript = json.loads((result.out_dir / "agent" / "transcript.json").read_text())
    assert transcript["findings"] == [] and transcript["transcript"]
    again = render_file(source, options)
    assert again.misses == 0  # the agent revision and every clip come from the cache


def test_direct_then_render_agent_keyframe_from_the_command_line(tmp_path: Path) -> None:
    """The issue's "done when": `multishot direct "…"` then `multishot render film.yaml
    --paradigm agent+keyframe --profile animatic`, offline."""
    out = tmp_path / "film.yaml"
    made = invoke("direct", "A courier races the dawn to deliver one last letter.", "-o", str(out),
                  "--shots", "5", "--duration", "5", "--resolution", "160x96", "--fps", "8")
    assert made.exit_code == 0, made.output
    rendered = invoke("render", str(out), "--paradigm", "agent+keyframe", "--profile", "animatic",
                      "--out", str(tmp_path / "renders"), "--json")
    assert rendered.exit_code == 0, rendered.output
    summary = json.loads(rendered.stdout.strip().splitlines()[-1])
    assert summary["status"] == "complete" and Path(summary["film"]).is_file()
    assert summary["paradigm"] == "agent+keyframe" and summary["shots"] == 5
