"""Each paradigm's mechanism, measured: on the animatic (cuts, seams, keyframes, transitions) and
through real tiny diffusers pipelines (end to end, conditioning, joint generation, streaming)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, small_film, write_film
from multishot.backends.registry import get_backend
from multishot.evaluate.render import evaluate_render
from multishot.graph.stages import load_png
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import prepare, render_file
from multishot.plan.grammar import plan_transitions
from multishot.post.ffmpeg import read_video

EXAMPLES = sorted((ROOT / "shotlists").glob("*.yaml"))
ALL = ["stitching", "keyframe", "transition", "holistic", "agent"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_cut_accuracy_on_animatic(tmp_path: Path, example: Path) -> None:
    result = render_file(example, RenderOptions(out_root=tmp_path, paradigm="stitching", review=False))
    cuts = evaluate_render(result.out_dir).cuts
    assert cuts.precision == 1.0 and cuts.recall == 1.0
    assert not cuts.spurious


@pytest.mark.parametrize("paradigm", ALL)
def test_every_paradigm_on_animatic_has_exact_cuts(tmp_path: Path, film_file: Path, paradigm: str) -> None:
    result = render_file(film_file, RenderOptions(out_root=tmp_path, paradigm=paradigm, review=False))
    assert result.status == "complete"
    metrics = evaluate_render(result.out_dir)
    assert metrics.cuts.precision == 1.0 and metrics.cuts.recall == 1.0 and not metrics.cuts.spurious
    assert metrics.frames == result.duration * 8


def test_seam_smoothing_lowers_discontinuity_on_the_same_shots(tmp_path: Path) -> None:
    example = ROOT / "shotlists" / "lighthouse.yaml"
    smooth = render_file(example, RenderOptions(out_root=tmp_path / "s", review=False))
    raw = render_file(example, RenderOptions(out_root=tmp_path / "r", smooth=False, review=False))
    plan = json.loads(smooth.manifest.read_text())
    scene = {s["id"]: s["scene"] for s in plan["shots"]}

    def same_scene(result) -> float:  # type: ignore[no-untyped-def]
        seams = evaluate_render(result.out_dir).seams
        ratios = [s.colour_ratio for s in seams if scene[s.shot_out] == scene[s.shot_in]]
        assert ratios
        return float(np.mean(ratios))

    assert same_scene(smooth) < 0.9 * same_scene(raw)


@pytest.mark.parametrize("blend", [3, 12])
def test_blend_cuts_fit_inside_short_shots(tmp_path: Path, blend: int) -> None:
    """`--blend-cuts N` with shots shorter than 2N frames (and a dissolve beside a blended cut)
    used to stop the render (`generator raised StopIteration`)."""
    data = small_film()
    data["scenes"][0]["shots"] = [
        {"id": "a", "duration": 1, "action": "the sea"},
        {"id": "b", "duration": 0.125, "action": "a flash"},     # 1 frame
        {"id": "c", "duration": 0.25, "action": "a gull"},       # 2 frames
        {"id": "d", "duration": 1, "action": "the sea", "transition": {"type": "dissolve", "duration": 0.75}},
        {"id": "e", "duration": 1, "action": "the lamp"},
    ]
    film = write_film(tmp_path / "f.yaml", data)
    result = render_file(film, RenderOptions(out_root=tmp_path, blend_cuts=blend, review=False))
    assert result.status == "complete"
    frames = read_video(result.film)
    plan, _, _ = prepare(film, RenderOptions())
    assert frames.shape[0] == plan.total_frames
    unblended = render_file(film, RenderOptions(out_root=tmp_path / "raw", review=False))
    assert not np.array_equal(frames, read_video(unblended.film))  # the cuts that have room are blended


def test_keyframes_frame_a_dolly_in_tighter_at_the_end(tmp_path: Path, film_file: Path) -> None:
    result = render_file(film_file, RenderOptions(out_root=tmp_path, paradigm="keyframe", review=False))
    data = json.loads(result.manifest.read_text())
    keys = {e["item"]: result.out_dir / e["path"] for e in data["artifacts"] if e["stage"] == "keyframe"}
    first, last = load_png(keys["wide:first"]), load_png(keys["wide:last"])
    clip = read_video(result.out_dir / "shots" / "wide.mp4")
    # the infill starts at the first keyframe and ends at the last one
    assert np.abs(clip[0].astype(int) - first).mean() < 3
    assert np.abs(clip[-1].astype(int) - last).mean() < 3
    assert np.abs(first.astype(int) - last).mean() > 5  # the dolly moved the frame
    bank = [e for e in data["artifacts"] if e["stage"] == "identity"]
    assert {e["item"] for e in bank} == {"mara", "tomas"}


def test_grammar_chooses_by_film_rules(tmp_path: Path) -> None:
    data = small_film()
    for scene in data["scenes"]:
        for shot in scene["shots"]:
            shot.pop("transition", None)
    data["scenes"][1]["shots"] = [
        {"id": "both", "size": "wide", "characters": ["mara", "tomas"], "duration": 2, "action": "they meet"},
        {"id": "m-says", "size": "close", "characters": ["mara"], "dialogue": {"mara": "Who sent you?"}, "duration": 2},
        {"id": "t-says", "size": "close", "characters": ["tomas"], "dialogue": {"tomas": "Your sister."}, "duration": 2},
    ]
    film = write_film(tmp_path / "f.yaml", data)
    plan, _, _ = prepare(film, RenderOptions())
    chosen = plan_transitions(plan)
    assert chosen["tomas"].type == "fade" and "time jump" in chosen["tomas"].reason  # dusk → night
    assert chosen["m-says"].type == "cut" and "reverse-shot" in chosen["m-says"].reason
    assert chosen["wide"].type == "cut"


def one_shot_scenes(times: list[str], duration: float = 1) -> dict:
    """Scenes of one short shot each whose `time` changes every scene: film grammar asks for a
    1 s dissolve or fade on both sides of every middle shot."""
    data = small_film()
    data["scenes"] = [{"id": f"s{i}", "location": "cliffs", "time": t, "shots": [
        {"id": f"shot{i}", "size": "wide", "duration": duration, "action": "the sea"}]} for i, t in enumerate(times)]
    return data


@pytest.mark.parametrize("paradigm", ["transition", "stitching"])
def test_grammar_transitions_leave_every_shot_a_frame_of_its_own(tmp_path: Path, paradigm: str) -> None:
    """A middle shot used to be overlapped by both of its time-jump dissolves at once, and the
    render failed (`clip.mp4 is shorter than its transitions`) on a valid shot list."""
    film = write_film(tmp_path / "f.yaml", one_shot_scenes(["dawn", "day", "dusk", "night"]))
    plan, _, _ = prepare(film, RenderOptions(auto_transitions=True))
    ins = [0] + [s.overlap_frames() for s in plan.shots[:-1]]
    assert all(i + s.overlap_frames() < s.num_frames for i, s in zip(ins, plan.shots))
    assert [s.transition.type for s in plan.shots] == ["dissolve", "dissolve", "fade", "cut"]
    result = render_file(film, RenderOptions(out_root=tmp_path, paradigm=paradigm, auto_transitions=True,
                                             review=False))
    assert result.status == "complete"
    assert read_video(result.film).shape[0] == plan.total_frames


def test_grammar_drops_a_transition_with_no_room_to_a_cut(tmp_path: Path) -> None:
    film = write_film(tmp_path / "f.yaml", one_shot_scenes(["dawn", "day", "dusk"], duration=0.25))  # 2 frames
    plan, _, _ = prepare(film, RenderOptions(auto_transitions=True))
    middle = plan.shots[1]
    assert plan.shots[0].overlap_frames() == 1
    assert middle.transition.type == "cut" and "no room" in middle.transition.reason


def test_action_pacing_shortens_and_never_lengthens(tmp_path: Path) -> None:
    data = small_film()
    data["scenes"][0]["shots"] = [
        {"id": f"run{i}", "size": "wide", "duration": d, "action": "Mara runs"} for i, d in enumerate([0.5, 0.5, 3, 3])]
    film = write_film(tmp_path / "f.yaml", data)
    plain, _, _ = prepare(film, RenderOptions())
    paced, _, _ = prepare(film, RenderOptions(auto_transitions=True))
    before = {s.id: s.num_frames for s in plain.shots}
    after = {s.id: s.num_frames for s in paced.shots}
    assert after["run0"] == before["run0"] == 4 and after["run1"] == before["run1"] == 4  # not stretched to 1 s
    assert after["run3"] < before["run3"]  # the climax is shorter
    assert all(after[k] <= before[k] for k in before)


@settings(max_examples=300, deadline=None)
@given(fps=st.sampled_from([8, 16, 24, 25, 30]),
       shots=st.lists(st.tuples(st.integers(1, 40), st.sampled_from(["cut", "dissolve", "fade", "match-cut", "bridge"]),
                                st.integers(1, 40), st.sampled_from(["dawn", "day", "night"]), st.booleans(),
                                st.booleans()), min_size=1, max_size=7))
def test_any_shot_list_that_loads_plans_a_film_that_assembles(fps: int, shots: list) -> None:  # type: ignore[type-arg]
    """The promise behind `validate`: what loads renders. The transitions on both sides of a
    shot fit in it, with and without film grammar (which adds transitions and shortens action
    runs)."""
    import yaml

    from multishot.plan.film_plan import build_plan
    from multishot.plan.grammar import apply_grammar
    from multishot.post.otio import place_shots
    from multishot.shotlist import ShotListError
    from multishot.shotlist.loader import parse_film

    scenes: list[dict] = []
    for i, (frames, kind, overlap, time, action, new_scene) in enumerate(shots):
        if not scenes or new_scene:
            scenes.append({"id": f"c{len(scenes)}", "location": "x", "time": time, "shots": []})
        shot: dict = {"id": f"s{i}", "duration": frames / 8, "action": "Mara runs" if action else "the sea"}
        if kind != "cut":
            shot["transition"] = {"type": kind, "duration": overlap / 16}
        scenes[-1]["shots"].append(shot)
    text = yaml.safe_dump({"multishot": 1, "title": "p", "format": {"resolution": "64x32", "fps": fps},
                           "locations": {"x": {"description": "a field"}}, "scenes": scenes})
    try:
        film = parse_film(text, Path("/nonexistent/p.yaml"))
    except ShotListError:
        return
    plain = build_plan(film, Path("/nonexistent/p.yaml"))
    for plan in (plain, apply_grammar(plain)):
        ins = [0] + [spec.overlap_frames() for spec in plan.shots[:-1]]
        for came_in, spec in zip(ins, plan.shots):
            assert came_in + spec.overlap_frames() <= spec.num_frames, (spec.id, came_in, spec.overlap_frames())
        assert plan.total_frames >= len(plan.shots)
        place_shots(plan.summary())  # the editor's timeline (review, export) lays it out too


def test_transition_paradigm_match_cut_and_bridge(tmp_path: Path) -> None:
    data = small_film()
    data["scenes"][0]["shots"][0]["transition"] = "match-cut"
    data["scenes"][0]["shots"][1]["transition"] = {"type": "bridge", "duration": 0.5}
    film = write_film(tmp_path / "f.yaml", data)
    result = render_file(film, RenderOptions(out_root=tmp_path, paradigm="transition", review=False))
    assert result.status == "complete"
    out = result.out_dir
    wide_last = read_video(out / "shots" / "wide.mp4")[-1].astype(int)
    mara_first = read_video(out / "shots" / "mara.mp4")[0].astype(int)
    tomas_first = read_video(out / "shots" / "tomas.mp4")[0].astype(int)
    # match-cut: the incoming shot is composed on the outgoing last frame
    assert np.abs(mara_first - wide_last).mean() < np.abs(tomas_first - wide_last).mean()
    manifest = json.loads(result.manifest.read_text())
    bridges = [e for e in manifest["artifacts"] if e["stage"] == "bridge"]
    assert [b["item"] for b in bridges] == ["mara>tomas"]
    bridge = read_video(out / bridges[0]["path"])
    film_frames = read_video(out / "film.mp4")
    start = 16 + 16 - 4  # wide (16) + mara (16) − the bridge's 4-frame overlap
    assert np.abs(film_frames[start:start + 4].astype(int) - bridge.astype(int)).mean() < 4


@pytest.mark.parametrize("paradigm, transition", [("stitching", "bridge"), ("keyframe", "match-cut")])
def test_a_transition_the_profile_cannot_make_is_refused_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paradigm: str, transition: str) -> None:
    """A bridge needs first-last-to-video (and a keyframe match-cut image-to-video) of the
    profile; without it the render used to generate every shot first and fail at the seam."""
    from multishot.backends.base import CapabilityError
    from multishot.paradigms.runner import BackendPool

    tiny = (ROOT / "multishot" / "backends" / "profiles" / "tiny.yaml").read_text()
    drop = "  image_to_video:" if transition == "match-cut" else "  first_last_to_video:"
    cut = tiny.index(drop)
    rest = tiny[cut + len(drop):]
    following = rest.find("\n  first_last_to_video:")
    lacking = tiny[:cut] + (rest[following + 1:] if following >= 0 else "")
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "tiny-lacking.yaml").write_text(lacking.replace("name: tiny", "name: tiny-lacking"))
    monkeypatch.setenv("MULTISHOT_PROFILE_PATH", str(profiles))
    data = small_film()
    data["scenes"][0]["shots"][0]["transition"] = {"type": transition, "duration": 0.5}
    film = write_film(tmp_path / "f.yaml", data)
    with pytest.raises(CapabilityError, match="first_last_to_video" if transition == "bridge" else "image_to_video"):
        render_file(film, RenderOptions(out_root=tmp_path / "r", paradigm=paradigm, profile="tiny-lacking",
                                        review=False), pool=BackendPool())
    manifest = json.loads((tmp_path / "r" / "small-film" / "manifest.json").read_text())
    assert manifest["artifacts"] == []


class RecordingBackend:
    """The real tiny diffusers backend, recording the keyframes handed to its infill. A spy, not
    a mock: every call still runs the real pipeline; we only keep the arguments."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.infill_calls: list[tuple[str, np.ndarray, np.ndarray]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def first_last_to_video(self, req, first, last):  # type: ignore[no-untyped-def]
        self.infill_calls.append((req.layout.shot_id, first.copy(), last.copy()))
        return self._inner.first_last_to_video(req, first, last)


def test_keyframe_infill_receives_both_keyframes_tiny(tmp_path: Path, film_file: Path) -> None:
    spy = RecordingBackend(get_backend("tiny"))
    result = render_file(film_file, RenderOptions(out_root=tmp_path, paradigm="keyframe", profile="tiny", review=False),
                         pool=lambda profile: spy)
    assert result.status == "complete"
    data = json.loads(result.manifest.read_text())
    keys = {e["item"]: result.out_dir / e["path"] for e in data["artifacts"] if e["stage"] == "keyframe"}
    assert [c[0] for c in spy.infill_calls] == ["wide", "mara", "tomas", "both", "lens"]
    for shot_id, first, last in spy.infill_calls:
        assert np.array_equal(first, load_png(keys[f"{shot_id}:first"]))
        assert np.array_equal(last, load_png(keys[f"{shot_id}:last"]))
        assert not np.array_equal(first, last)


def test_holistic_stream_conditions_on_earlier_shots_and_resumes_tiny(tmp_path: Path, film_file: Path) -> None:
    opts = dict(paradigm="holistic", profile="tiny", review=False)
    streamed = render_file(film_file, RenderOptions(out_root=tmp_path / "a", stream=True, **opts))
    assert streamed.status == "complete"
    # Shot `mara` alone (no memory) differs from `mara` generated after `wide` (with memory).
    data = small_film()
    data["scenes"][0]["shots"] = data["scenes"][0]["shots"][1:2]
    data["scenes"] = data["scenes"][:1]
    data["scenes"][0]["shots"][0].pop("transition")
    alone = render_file(write_film(tmp_path / "alone.yaml", data), RenderOptions(out_root=tmp_path / "b", stream=True, **opts))
    assert not np.array_equal(read_video(streamed.out_dir / "shots" / "mara.mp4"),
                              read_video(alone.out_dir / "shots" / "mara.mp4"))
    # Render shot 1, look, go on: the same film as the uninterrupted stream.
    first = render_file(film_file, RenderOptions(out_root=tmp_path / "c", stream=True, only=frozenset({"wide"}), **opts))
    assert first.status == "partial"
    rest = render_file(film_file, RenderOptions(out_root=tmp_path / "c", stream=True, **opts))
    assert np.array_equal(read_video(rest.film), read_video(streamed.film))


def test_holistic_joint_chunks_carry_memory_tiny(tmp_path: Path, film_file: Path) -> None:
    one = render_file(film_file, RenderOptions(out_root=tmp_path / "a", paradigm="holistic", profile="tiny", review=False))
    chunked = render_file(film_file, RenderOptions(out_root=tmp_path / "b", paradigm="holistic", profile="tiny",
                                                   max_joint_shots=2, review=False))
    assert one.status == chunked.status == "complete"
    entries = json.loads(chunked.manifest.read_text())["artifacts"]
    assert [e["item"] for e in entries if e["stage"] == "video"] == ["wide", "mara", "tomas", "both", "lens"]
    # scene 1 (3 shots) is split 2 + 1 at max 2: shot `tomas` then has memory, so it differs
    assert not np.array_equal(read_video(one.out_dir / "shots" / "tomas.mp4"),
                              read_video(chunked.out_dir / "shots" / "tomas.mp4"))


def test_ci_smoke_every_paradigm_renders_the_example_with_tiny(tmp_path: Path) -> None:
    """Issue 3's smoke render, through the CLI as users run it, on the real tiny pipelines."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for paradigm in ALL:
        run = subprocess.run([sys.executable, "-m", "multishot.cli.main", "render", str(ROOT / "shotlists" / "lighthouse.yaml"),
                              "--profile", "tiny", "--paradigm", paradigm, "--out", str(tmp_path / paradigm), "--json"],
                             capture_output=True, text=True, env=env, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        summary = json.loads(run.stdout.strip().splitlines()[-1])
        assert summary["status"] == "complete" and Path(summary["film"]).is_file()


def test_holistic_chunks_by_the_profiles_token_budget(tmp_path: Path, film_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile's `max_joint_tokens` splits a scene into chunks (with room kept for memory)."""
    import yaml as _yaml

    tiny = _yaml.safe_load((ROOT / "multishot/backends/profiles/tiny.yaml").read_text())
    tiny["name"] = "tiny-budget"
    tiny["roles"]["joint_shots"] = {**tiny["roles"]["joint_shots"], "max_joint_tokens": 90}
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "tiny-budget.yaml").write_text(_yaml.safe_dump(tiny))
    monkeypatch.setenv("MULTISHOT_PROFILE_PATH", str(tmp_path / "profiles"))
    result = render_file(film_file, RenderOptions(out_root=tmp_path / "r", paradigm="holistic",
                                                  profile="tiny-budget", review=False))
    assert result.status == "complete"
    from multishot.paradigms.base import Job
    from multishot.paradigms.holistic import groups

    plan, _, _ = prepare(film_file, RenderOptions(profile="tiny-budget"))
    backend = get_backend("tiny-budget")
    sizes = [len(g) for g in groups(Job(plan, None, lambda p: backend, RenderOptions(profile="tiny-budget")))]  # type: ignore[arg-type]
    assert sum(sizes) == 5 and len(sizes) > 2  # 2 scenes, and the budget splits at least one


def test_holistic_generates_bridges_between_joint_clips(tmp_path: Path) -> None:
    data = small_film()
    data["scenes"][0]["shots"][1]["transition"] = {"type": "bridge", "duration": 0.5}
    film = write_film(tmp_path / "f.yaml", data)
    result = render_file(film, RenderOptions(out_root=tmp_path, paradigm="holistic", profile="tiny", review=False))
    entries = json.loads(result.manifest.read_text())["artifacts"]
    bridges = [e for e in entries if e["stage"] == "bridge"]
    assert result.status == "complete" and [b["item"] for b in bridges] == ["mara>tomas"]
    bridge = read_video(result.out_dir / bridges[0]["path"]).astype(int)
    frames = read_video(result.out_dir / "film.mp4").astype(int)
    start = 16 + 16 - 4
    assert np.abs(frames[start:start + 4] - bridge).mean() < 4
