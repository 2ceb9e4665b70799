"""The animatic as a previz: sets with an inside, a camera placed by the scene's action line,
characters told apart by their described traits, and cuts a cut detector sees (issue 16)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scenedetect import ContentDetector, SceneManager, open_video

from conftest import ROOT
from multishot.backends.animatic import AnimaticBackend
from multishot.backends.animatic.figures import figure_style
from multishot.backends.animatic.set_design import is_interior, set_design
from multishot.backends.animatic.staging import stage_shot
from multishot.evaluate.cuts import detect_cuts_in_file
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file
from multishot.plan.agent.critic import GateOptions, gate_180
from multishot.plan.film_plan import FilmPlan, build_plan
from multishot.shotlist.loader import load_film

TRAIN = ROOT / "tests" / "fixtures" / "previz" / "night_train.yaml"
COMPARTMENT = "a night train compartment, green velvet seats, rain on the window"


@pytest.fixture(scope="module")
def plan() -> FilmPlan:
    return build_plan(load_film(TRAIN), TRAIN)


@pytest.fixture(scope="module")
def backend() -> AnimaticBackend:
    return AnimaticBackend()


def near(frame: np.ndarray, rgb: tuple[int, int, int], tol: int = 12) -> np.ndarray:
    return np.all(np.abs(frame.astype(np.int16) - np.array(rgb, np.int16)) <= tol, axis=-1)


def test_inside_or_outside_from_description_and_scene() -> None:
    for d in (COMPARTMENT, "a cramped kitchen, a kettle on the stove", "the lamp room of a lighthouse",
              "a kitchen with a window over the harbour", "INT. OFFICE - NIGHT"):
        assert is_interior(d), d
    for d in ("black basalt cliffs over a grey sea", "a wet street under neon signs",
              "the station platform in fog", "a beach below the lighthouse"):
        assert not is_interior(d), d
    assert is_interior("the old mill", "int-mill") and not is_interior("the old mill", "ext-mill")


def test_set_dressing_comes_from_the_description_and_is_deterministic() -> None:
    train = set_design(COMPARTMENT)
    seats = [p for p in train.pieces if p.kind == "seat"]
    assert {p.bearing for p in seats} == {90.0, 270.0}  # facing benches on both side walls
    assert all(p.colour[1] > p.colour[0] and p.colour[1] > p.colour[2] for p in seats)  # green velvet
    assert train.door_glass and train.interior
    assert "counter" in {p.kind for p in set_design("a small kitchen").pieces}
    assert {"shelf", "clock"} <= {p.kind for p in set_design("a study, bookshelves and a clock").pieces}
    assert set_design(COMPARTMENT) == set_design(" " + COMPARTMENT)  # a pure function of the text


def _frame(backend: AnimaticBackend, plan: FilmPlan, shot: str, **changes: object) -> tuple[np.ndarray, dict]:
    req = plan.shot(shot).request(num_frames=1)
    if changes:
        req = replace(req, layout=replace(req.layout, **changes))
    return backend.text_to_image(req), backend.character_boxes(req)[0]


def test_interior_shows_window_with_the_night_and_the_seats(backend: AnimaticBackend, plan: FilmPlan) -> None:
    master, _ = _frame(backend, plan, "master")
    h, w = master.shape[:2]
    window = master[int(0.1 * h):int(0.35 * h), int(0.3 * w):int(0.7 * w)].astype(int)
    assert window.mean() < 70 and window[..., 2].mean() > window[..., 0].mean()  # night blue glass
    single, _ = _frame(backend, plan, "ana-1")
    green = (single[..., 1].astype(int) - np.maximum(single[..., 0], single[..., 2]).astype(int)) > 40
    assert green.mean() > 0.03  # the green velvet bench behind her


def test_reverse_shots_look_at_opposite_sides_of_the_set(backend: AnimaticBackend, plan: FilmPlan) -> None:
    ana, kenji = stage_shot(plan.shot("ana-1").layout(), 320, 180), stage_shot(plan.shot("kenji-1").layout(), 320, 180)
    assert ana.yaw < 0 < kenji.yaw  # each single looks toward its subject's side of the line
    assert ana.figures[0].placement.facing == 1 and kenji.figures[0].placement.facing == -1
    # The picture agrees: Ana, facing right, stands left of centre with looking room; Kenji right.
    fa, ba = _frame(backend, plan, "ana-1")
    fk, bk = _frame(backend, plan, "kenji-1")
    assert (ba["ana"][0] + ba["ana"][2]) / 2 < 0.5 * fa.shape[1] < (bk["kenji"][0] + bk["kenji"][2]) / 2
    # Backgrounds differ away from the figures (mirror views of the room, not one backdrop).
    keep = np.ones(fa.shape[:2], bool)
    for x0, y0, x1, y1 in (*ba.values(), *bk.values()):
        keep[:, x0:x1] = False
    keep[int(0.9 * fa.shape[0]):] = False
    assert keep.mean() > 0.1
    assert np.abs(fa[keep].astype(int) - fk[keep].astype(int)).mean() > 15


def test_crossing_the_line_is_a_camera_on_the_other_side(backend: AnimaticBackend, plan: FilmPlan) -> None:
    """`multishot check` reports Kenji facing right as a crossing; the animatic shows the camera
    across the line: it looks at the entrance wall (the glazed door onto the lit corridor)."""
    film = load_film(TRAIN)
    scene = film.scenes[0]
    shots = [s if s.id != "two-shot" else s.model_copy(update={"screen_direction": "right", "characters": ["kenji", "ana"]})
             for s in scene.shots]
    crossed_film = film.model_copy(update={"scenes": [scene.model_copy(update={"shots": shots})]})
    findings = [f for f in gate_180(crossed_film, GateOptions()) if f.severity == "error"]
    assert [f.shot_id for f in findings] == ["two-shot"]
    crossed = build_plan(crossed_film, TRAIN)
    assert crossed.shot("two-shot").blocking.camera_side == -1
    assert plan.shot("two-shot").blocking.camera_side == 1
    frame_ok = backend.text_to_image(plan.shot("two-shot").request(num_frames=1))
    frame_x = backend.text_to_image(crossed.shot("two-shot").request(num_frames=1))
    corridor = (236, 206, 150)
    assert near(frame_x, corridor, 8).mean() > 0.01 and near(frame_ok, corridor, 8).mean() < 0.002
    boxes = backend.character_boxes(crossed.shot("two-shot").request(num_frames=1))[0]
    assert boxes["kenji"][0] < boxes["ana"][0]  # the line is seen mirrored from the other side


def test_over_the_shoulder_shows_the_partner_in_the_foreground(backend: AnimaticBackend, plan: FilmPlan) -> None:
    st = stage_shot(plan.shot("ana-ots-1").layout(), 320, 180)
    assert st.shoulder is not None and st.shoulder.char_id == "kenji" and st.shoulder.side == 1
    frame, boxes = _frame(backend, plan, "ana-ots-1")
    assert set(boxes) == {"ana"}
    h, w = frame.shape[:2]
    jacket = np.array(st.shoulder.colour)
    right = frame[int(0.7 * h):int(0.9 * h), int(0.8 * w):].reshape(-1, 3).astype(int)
    left = frame[int(0.7 * h):int(0.9 * h), :int(0.2 * w)].reshape(-1, 3).astype(int)
    assert np.abs(right - jacket).sum(1).mean() < np.abs(left - jacket).sum(1).mean() - 40
    reverse = stage_shot(plan.shot("kenji-ots-1").layout(), 320, 180)
    assert reverse.shoulder is not None and reverse.shoulder.char_id == "ana" and reverse.shoulder.side == -1


def test_traits_are_read_from_descriptions() -> None:
    ana = figure_style("ana", "a woman in her thirties, black hair in a bun, round glasses, beige trench coat")
    assert (ana.hair_kind, ana.glasses, ana.long_coat, ana.hair) == ("bun", "clear", True, (28, 28, 32))
    assert ana.body == (215, 200, 165)
    kenji = figure_style("kenji", "a man in his forties, short grey hair, stubble, navy jacket, carrying a paper bag")
    assert (kenji.facial_hair, kenji.held, kenji.body, kenji.hair_kind) == ("stubble", "bag", (25, 35, 90), "short")
    cook = figure_style("cook", "a bald man with a thick beard, red apron over a white shirt, sunglasses")
    assert (cook.hair_kind, cook.facial_hair, cook.apron, cook.body, cook.glasses) == \
        ("bald", "beard", (196, 40, 40), (238, 238, 235), "dark")
    guard = figure_style("guard", "a guard in uniform, peaked cap, holding a lantern")
    assert guard.uniform and guard.hat == "cap" and guard.held == "lantern"
    plain = figure_style("x", "someone")  # unknown words: identity colours, nothing invented
    assert (plain.glasses, plain.facial_hair, plain.apron, plain.held) == (None, None, None, None)


def test_traits_are_drawn(backend: AnimaticBackend, plan: FilmPlan) -> None:
    with_glasses, box = _frame(backend, plan, "ana-2")
    req = plan.shot("ana-2").request(num_frames=1)
    ana = req.layout.characters[0]
    bare = replace(req, layout=replace(req.layout, characters=(replace(ana, description=ana.description.replace("round glasses, ", "")),)))
    without = backend.text_to_image(bare)
    rim = (30, 30, 34)
    assert near(with_glasses, rim, 4).sum() > near(without, rim, 4).sum() + 100
    full, boxes = _frame(backend, plan, "two-shot")
    x0, y0, x1, y1 = boxes["kenji"]
    bag = near(full[y0:y1, x0:x1], figure_style("kenji", plan.shot("kenji-1").characters[0].description).held_colour, 10)
    assert bag.sum() > 30  # the paper bag in his hand


DARK = ROOT / "tests" / "fixtures" / "previz" / "night_train_dark.yaml"


@pytest.mark.parametrize("scene", [TRAIN, DARK], ids=["night-train", "dark-clothes-close-ups"])
@pytest.mark.parametrize("detector", ["pyscenedetect-default", "content", "adaptive"])
def test_every_planned_cut_of_a_dialogue_scene_is_seen(tmp_path_factory: pytest.TempPathFactory, scene: Path,
                                                       detector: str) -> None:
    """14 shots of shot/reverse-shot in one compartment, rendered as `multishot render` does
    (stitching, seam colour smoothing on): every hard cut is detected within a frame and none
    is spurious, with PySceneDetect's own defaults and with multishot's detectors. In the
    second scene both characters wear dark clothes and every single is a close-up, so the
    reverse angle has to make the cut (the animatic before issue 16 let PySceneDetect's
    default detector miss 4 of its 13 cuts)."""
    plan = build_plan(load_film(scene), scene)
    film = _rendered(tmp_path_factory, scene)
    planned = plan.start_frames()[1:]
    assert len(planned) >= 12 and all(s.transition.is_hard for s in plan.shots)
    if detector == "pyscenedetect-default":
        manager = SceneManager()
        manager.add_detector(ContentDetector())  # `scenedetect detect-content` defaults
        manager.detect_scenes(open_video(str(film)))
        found = [int(s.frame_num) for s, _ in manager.get_scene_list()[1:]]
    else:
        found = detect_cuts_in_file(film, plan.fps, detector)
    assert len(found) == len(planned), (found, planned)
    assert all(abs(a - b) <= 1 for a, b in zip(found, planned)), (found, planned)


_RENDERS: dict[Path, Path] = {}


def _rendered(tmp_path_factory: pytest.TempPathFactory, scene: Path) -> Path:
    """One render per scene, shared by the detector cases (the suite must stay fast)."""
    if scene not in _RENDERS:
        out = tmp_path_factory.mktemp("previz")
        _RENDERS[scene] = render_file(scene, RenderOptions(out_root=out, review=False)).out_dir / "film.mp4"
    return _RENDERS[scene]
