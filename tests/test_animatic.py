"""The animatic backend: a deterministic previz drawn from staging facts, checked on its pixels."""

from __future__ import annotations

import inspect
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from multishot.backends.animatic import AnimaticBackend, character_signature, movement_end_zoom
from multishot.backends.animatic import caption
from multishot.backends.animatic.caption import clean, fit, load_font
from multishot.backends.animatic.camera import MOVEMENTS, camera_path
from multishot.backends.base import Backend, Capability, CharacterInShot, ShotLayout, ShotRequest

MARA = CharacterInShot("mara", "a woman in her sixties, silver braid, yellow oilskin raincoat")
TOMAS = CharacterInShot("tomas", "a boy of ten, red knit cap, oversized wool sweater")
CLIFFS = "black basalt cliffs over a grey sea"
LAMP_ROOM = "the lamp room of a lighthouse, brass lens, rain on the glass"


def make_req(shot_id: str = "s1", *, size: str = "wide", angle: str | None = None,
             movement: str | None = None, chars: tuple[CharacterInShot, ...] = (MARA,),
             location: str = CLIFFS, time: str | None = "dusk", weather: str | None = None,
             action: str = "the beam sweeps", n: int = 8, width: int = 192, height: int = 120,
             seed: int = 7, zoom: float = 1.0, fps: int = 8) -> ShotRequest:
    layout = ShotLayout(shot_id=shot_id, scene_id="scene", location_id="loc", location=location,
                        time=time, weather=weather, size=size, angle=angle, movement=movement,
                        characters=chars, action=action, zoom=zoom)
    return ShotRequest(prompt="p", negative="", width=width, height=height, num_frames=n, fps=fps,
                       seed=seed, layout=layout)


@pytest.fixture(scope="module")
def backend() -> AnimaticBackend:
    return AnimaticBackend()


def area(box: tuple[int, int, int, int]) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def colour_share(frame: np.ndarray, box: tuple[int, int, int, int], rgb: np.ndarray, tol: int = 6) -> float:
    """Fraction of the box's pixels within `tol` of `rgb` on every channel."""
    x0, y0, x1, y1 = box
    patch = frame[y0:y1, x0:x1].astype(np.int16)
    close = np.all(np.abs(patch - rgb.astype(np.int16)) <= tol, axis=-1)
    return float(close.mean())


def colour_centroid_x(frame: np.ndarray, rgb: np.ndarray, tol: int = 6) -> float:
    hit = np.all(np.abs(frame.astype(np.int16) - rgb.astype(np.int16)) <= tol, axis=-1)
    assert hit.any(), "colour not found in frame"
    return float(np.nonzero(hit)[1].mean())


def test_backend_protocol_and_identity(backend: AnimaticBackend) -> None:
    assert isinstance(backend, Backend)
    assert backend.name == "animatic"
    assert backend.capabilities == frozenset(Capability) - {Capability.REFERENCE_TO_VIDEO}  # it reads no references
    ident = backend.identity()
    assert ident["backend"] == "animatic" and isinstance(ident["version"], str) and ident["version"]


def test_frames_count_shape_dtype_and_lazy(backend: AnimaticBackend) -> None:
    req = make_req(n=11, width=200, height=112, movement="pan-right")
    stream = backend.text_to_video(req)
    assert inspect.isgenerator(stream) or (hasattr(stream, "__next__") and not isinstance(stream, list))
    frames = list(stream)
    assert len(frames) == 11
    for f in frames:
        assert f.shape == (112, 200, 3) and f.dtype == np.uint8
    np.testing.assert_array_equal(backend.text_to_image(req), frames[0])


def test_deterministic_for_request_and_seed(backend: AnimaticBackend) -> None:
    req = make_req(movement="handheld", weather="rain", n=6)
    a = list(backend.text_to_video(req))
    b = list(AnimaticBackend().text_to_video(req))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    other = list(backend.text_to_video(replace(req, seed=8)))
    assert any(not np.array_equal(x, y) for x, y in zip(a, other))


def test_same_character_looks_the_same_in_two_shots(backend: AnimaticBackend) -> None:
    """Mara's signature colour fills a good part of her box outside in the rain and in the lamp
    room at night, at two different sizes; Tomas's colour is not hers."""
    sig = character_signature("mara", MARA.description)
    np.testing.assert_array_equal(sig, backend.character_signature("mara", MARA.description))
    assert tuple(sig[0]) != tuple(character_signature("tomas", TOMAS.description)[0])
    shots = [make_req("out", size="full", chars=(MARA, TOMAS), weather="rain", time="dusk"),
             make_req("in", size="medium", chars=(MARA,), location=LAMP_ROOM, time="night")]
    for req in shots:
        frame = backend.text_to_image(req)
        box = backend.character_boxes(req)[0]["mara"]
        assert colour_share(frame, box, sig[0]) > 0.15, req.layout.shot_id
    two = backend.text_to_image(shots[0])
    tomas_box = backend.character_boxes(shots[0])[0]["tomas"]
    assert colour_share(two, tomas_box, sig[0]) < 0.01


def test_box_size_follows_shot_size(backend: AnimaticBackend) -> None:
    areas = [area(backend.character_boxes(make_req(size=s, n=1))[0]["mara"])
             for s in ("extreme-wide", "wide", "full", "close")]
    assert areas == sorted(areas) and len(set(areas)) == 4


def test_dolly_in_grows_the_figure_and_end_keyframe_zoom(backend: AnimaticBackend) -> None:
    req = make_req(size="wide", movement="dolly-in", n=12)
    boxes = backend.character_boxes(req)
    widths = [b["mara"][2] - b["mara"][0] for b in boxes]  # heights may be clipped by the frame
    assert widths == sorted(widths) and widths[-1] > 1.25 * widths[0]
    assert movement_end_zoom("dolly-in") > 1.0 > movement_end_zoom("dolly-out")
    end = replace(req, layout=replace(req.layout, zoom=movement_end_zoom("dolly-in")), num_frames=1)
    assert area(backend.character_boxes(end)[0]["mara"]) > area(boxes[0]["mara"])


def test_pan_left_and_right_move_content_in_opposite_directions(backend: AnimaticBackend) -> None:
    body = character_signature("mara", MARA.description)[0]
    shift = {}
    for mv in ("pan-left", "pan-right"):
        frames = list(backend.text_to_video(make_req(size="full", movement=mv, n=9)))
        shift[mv] = colour_centroid_x(frames[-1], body) - colour_centroid_x(frames[0], body)
    assert shift["pan-left"] > 5 and shift["pan-right"] < -5


def test_truck_has_parallax_and_pan_has_none() -> None:
    truck = camera_path("truck-left", 5, 8, 0, "s", 200, 100)
    pan = camera_path("pan-left", 5, 8, 0, "s", 200, 100)
    assert truck.parallax and not pan.parallax
    assert truck.fg[-1, 0, 2] > truck.bg[-1, 0, 2] > 0  # figures travel further than the world


def test_every_movement_renders(backend: AnimaticBackend) -> None:
    for mv in MOVEMENTS:
        frames = list(backend.text_to_video(make_req(movement=mv, n=3, width=96, height=64)))
        assert len(frames) == 3, mv
        if mv != "static":
            assert not np.array_equal(frames[0], frames[-1]), mv


def test_first_last_to_video_starts_at_first_and_ends_at_last(backend: AnimaticBackend) -> None:
    req = make_req(n=13, movement="truck-right")
    first = np.zeros((240, 384, 3), np.uint8)
    first[..., 0] = 200  # a different size: it is resized to the request's
    last = np.full((120, 192, 3), (10, 40, 220), np.uint8)
    frames = list(backend.first_last_to_video(req, first, last))
    plain = list(backend.text_to_video(req))
    assert len(frames) == 13
    np.testing.assert_array_equal(frames[0], np.broadcast_to(np.array([200, 0, 0], np.uint8), frames[0].shape))
    np.testing.assert_array_equal(frames[-1], last)
    np.testing.assert_array_equal(frames[6], plain[6])  # the middle is the rendered motion
    assert 0 < np.abs(frames[1].astype(int) - plain[1].astype(int)).mean()  # fading, not a cut
    i2v = list(backend.image_to_video(req, last))
    np.testing.assert_array_equal(i2v[0], last)
    np.testing.assert_array_equal(i2v[-1], plain[-1])


def test_caption_draws_hostile_and_unicode_text_as_text(backend: AnimaticBackend) -> None:
    action = ('She says "Not tonight." \'$(rm -rf /)\' `id`; echo $HOME && exit \\n\n\t\x00 '
              "Ünïcødé — 灯台守 🌊 שלום \u202e reversed " + "very long " * 80)
    req = make_req("odd-\"shot\"", action=action, n=2, width=320, height=180)
    frame = backend.text_to_image(req)
    strip = frame[-10:]
    assert frame.shape == (180, 320, 3) and strip.std() > 5  # text is there
    font = load_font(12)
    short = fit(font, action, 150)
    assert font.getlength(short) <= 150 and short.endswith("…")
    assert "\n" not in clean(action) and "\x00" not in clean(action)


def test_caption_without_system_fonts(backend: AnimaticBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """No DejaVu on the machine: Pillow's bundled font draws; a Latin-1 bitmap font degrades
    unknown glyphs instead of raising."""
    real = ImageFont.truetype

    def bundled_only(font: object = None, *args: object, **kwargs: object) -> ImageFont.FreeTypeFont:
        if isinstance(font, str):
            raise OSError(f"cannot open resource {font}")
        return real(font, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ImageFont, "truetype", bundled_only)
    caption.load_font.cache_clear()
    try:
        frame = backend.text_to_image(make_req(action='灯台守 🌊 — "x" $(id)', width=320, height=180, n=1))
        assert frame[-10:].std() > 5
    finally:
        caption.load_font.cache_clear()
    img = Image.new("RGB", (160, 16))
    caption._draw_text(ImageDraw.Draw(img), (0, 0), "Ünï — 灯 🌊", ImageFont.load_default_imagefont(), (255, 255, 255))
    assert np.asarray(img).max() == 255


def test_frames_survive_a_png_round_trip(backend: AnimaticBackend, tmp_path: Path) -> None:
    frame = backend.text_to_image(make_req(size="medium", chars=(MARA, TOMAS), weather="snow"))
    path = tmp_path / "still.png"
    Image.fromarray(frame).save(path)
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), frame)


def test_same_location_same_background_across_shots(backend: AnimaticBackend) -> None:
    """Two static shots of one place with different people and actions share every background
    pixel away from the figures; another description looks different."""
    a = make_req("a", chars=(MARA,), action="one", n=1)
    b = make_req("b", chars=(TOMAS,), action="two", n=1)
    fa, fb = backend.text_to_image(a), backend.text_to_image(b)
    keep = np.ones(fa.shape[:2], bool)
    keep[90:] = False  # caption strip
    for req in (a, b):
        for x0, y0, x1, y1 in backend.character_boxes(req)[0].values():
            keep[max(0, y0 - 16):y1 + 4, max(0, x0 - 24):x1 + 24] = False
    assert keep.mean() > 0.5
    np.testing.assert_array_equal(fa[keep], fb[keep])
    fc = backend.text_to_image(replace(a, layout=replace(a.layout, location="a pine forest in the snow")))
    assert np.abs(fa[keep].astype(int) - fc[keep].astype(int)).mean() > 10


def test_weather_and_time_tint(backend: AnimaticBackend) -> None:
    dry = list(backend.text_to_video(make_req(n=3, weather=None)))
    wet = list(backend.text_to_video(make_req(n=3, weather="heavy rain")))
    pic = slice(0, 90)
    np.testing.assert_array_equal(dry[0][pic], dry[2][pic])  # a static dry shot holds still
    assert not np.array_equal(wet[0][pic], wet[2][pic])  # rain falls
    day = backend.text_to_image(make_req(time="day", chars=()))
    night = backend.text_to_image(make_req(time="night", chars=()))
    assert day[pic].mean() > night[pic].mean() + 30


def test_over_shoulder_insert_and_joint_shots(backend: AnimaticBackend) -> None:
    ots = make_req(size="medium-close", angle="over-shoulder", chars=(TOMAS, MARA), n=1)
    assert set(backend.character_boxes(ots)[0]) == {"tomas"}  # Mara is the soft foreground shoulder
    insert = make_req(size="insert", chars=(MARA,), action="the letter in her hand", n=1)
    box = backend.character_boxes(insert)[0]["mara"]
    assert colour_share(backend.text_to_image(insert), box, character_signature("mara", MARA.description)[0]) > 0.1
    reqs = [ots, make_req("x", angle="overhead", n=3), make_req("y", angle="dutch", movement="orbit", n=2)]
    joint = backend.joint_shots(reqs)
    assert [len(j) for j in joint] == [1, 3, 2]
    for shot, req in zip(joint, reqs):
        for got, want in zip(shot, backend.text_to_video(req)):
            np.testing.assert_array_equal(got, want)


def test_tiny_frames_and_invalid_requests(backend: AnimaticBackend) -> None:
    frames = list(backend.text_to_video(make_req(width=24, height=16, n=2, weather="snow")))
    assert frames[0].shape == (16, 24, 3)
    with pytest.raises(ValueError, match="num_frames"):
        backend.text_to_video(make_req(n=0))
