"""Issue 14 item 1: a paradigm's options, flags, needs and stage graph are declared in its file,
and what the runner and `plan` do is derived from those declarations."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import small_film, write_film
from multishot.backends.base import Capability
from multishot.paradigms import all_option_flags, get_paradigm, names
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import prepare, render_file
from multishot.paradigms.stitching import StitchingOptions


@pytest.mark.parametrize("name", ["stitching", "keyframe", "transition", "holistic", "agent", "agent+keyframe"])
def test_every_stage_a_dry_run_plans_is_declared(tmp_path: Path, name: str) -> None:
    data = small_film()
    data["scenes"][0]["shots"][0]["transition"] = {"type": "bridge", "duration": 0.5}
    data["scenes"][0]["shots"][1]["transition"] = "match-cut"
    film = write_film(tmp_path / "f.yaml", data)
    paradigm = get_paradigm(name)
    declared = {s for step in paradigm.graph for s in (step.stage, *step.more)}
    result = render_file(film, RenderOptions(out_root=tmp_path / "r", paradigm=name, dry_run=True))
    planned = {entry["stage"] for entry in result.planned}
    assert planned and planned <= declared, planned - declared
    plan = result.plan
    assert plan is not None
    runs = {step.stage for step in paradigm.graph if step.runs(plan, RenderOptions())}
    assert "bridge" in runs  # the film has a bridge: its step is listed as running
    without = write_film(tmp_path / "plain.yaml", small_film())
    plain, _, _ = prepare(without, RenderOptions(paradigm=name))
    assert "bridge" not in {step.stage for step in paradigm.graph if step.runs(plain, RenderOptions())}


def test_options_are_the_paradigms_own_and_typos_are_refused() -> None:
    options = RenderOptions(smooth=False, stream=True)
    assert options.of(StitchingOptions) == StitchingOptions(smooth=False, blend_cuts=0)
    assert RenderOptions().of(StitchingOptions).smooth is True
    with pytest.raises(TypeError, match="smoth"):
        RenderOptions(smoth=False)
    flags = {f.flag.name: f.paradigm for f in all_option_flags()}
    assert flags["--no-smooth"] == "stitching" and flags["--stream"] == "holistic"
    assert flags["--agent-rounds"] == "agent" and set(flags.values()) <= set(names())


def test_needs_are_declared_per_shot(tmp_path: Path) -> None:
    data = small_film()
    data["scenes"][0]["shots"][0]["transition"] = {"type": "bridge", "duration": 0.5}
    data["scenes"][0]["shots"][1]["transition"] = "match-cut"
    plan, _, _ = prepare(write_film(tmp_path / "f.yaml", data), RenderOptions())

    class Anything:
        name, capabilities = "any", frozenset(Capability)

    keyframe = get_paradigm("keyframe")
    assert Capability.FIRST_LAST_TO_VIDEO in get_paradigm("stitching").shot_needs(plan, 0, Anything())
    assert Capability.IMAGE_TO_VIDEO in keyframe.shot_needs(plan, 2, Anything())
    assert Capability.IMAGE_TO_VIDEO not in keyframe.shot_needs(plan, 1, Anything())
