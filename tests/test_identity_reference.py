"""Identity by reference (issue 15a): Wan VACE reference-to-video and IP-Adapter keyframes on
tiny random-weight diffusers pipelines, built from configs, saved and loaded back through the
real loading paths (PipelineCache / diffusers' `load_ip_adapter`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from multishot.backends.base import Capability, CharacterInShot, ShotLayout, ShotRequest, reads_references
from multishot.backends.diffusers import vace
from multishot.backends.diffusers.backend import DiffusersBackend
from multishot.backends.diffusers.loading import PipelineCache
from multishot.backends.diffusers.profile import ProfileError, load_profile, profile_identity
from multishot.paradigms.base import RenderOptions
from multishot.paradigms.runner import render_file


def card(colour: tuple[int, int, int], size: int = 48) -> np.ndarray:
    """A reference image: a colour field with an inverted square (structure, not only colour)."""
    a = np.zeros((size, size, 3), np.uint8)
    a[:] = colour
    a[size // 5: size // 2, size // 5: size // 2] = 255 - np.array(colour, np.uint8)
    return a


def two_character_film(folder: Path, tomas_colour: tuple[int, int, int]) -> Path:
    """One scene: Mara alone, Tomas alone, both, and nobody. References are files."""
    refs = folder / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    Image.fromarray(card((200, 60, 40))).save(refs / "mara.png")
    Image.fromarray(card(tomas_colour)).save(refs / "tomas.png")
    film = {
        "multishot": 1, "title": "Two Of Them", "style": "35mm film",
        "format": {"resolution": "64x64", "fps": 8, "seed": 5},
        "characters": {"mara": {"description": "a woman in a yellow raincoat", "reference": "refs/mara.png"},
                       "tomas": {"description": "a boy in a red cap", "reference": "refs/tomas.png"}},
        "locations": {"cliffs": {"description": "black cliffs over a grey sea"}},
        "scenes": [{"id": "arrival", "location": "cliffs", "shots": [
            {"id": "mara-alone", "size": "medium", "characters": ["mara"], "duration": 1, "action": "she walks"},
            {"id": "tomas-alone", "size": "medium", "characters": ["tomas"], "duration": 1, "action": "he waits"},
            {"id": "together", "size": "wide", "characters": ["mara", "tomas"], "duration": 1,
             "action": "they meet"},
            {"id": "sea", "size": "wide", "duration": 1, "action": "the waves roll"},
        ]}],
    }
    path = folder / "film.yaml"
    path.write_text(yaml.safe_dump(film, sort_keys=False))
    return path


def shot_bytes(out: Path) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in sorted((out / "shots").glob("*.mp4"))}


def keyframe_bytes(out: Path) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in sorted((out / "keyframes").glob("*.png"))}


def request(refs: dict[str, np.ndarray], cast: tuple[str, ...] = ("mara", "tomas"), frames: int = 9) -> ShotRequest:
    layout = ShotLayout(shot_id="s", scene_id="a", location_id="c", location="cliffs", time=None, weather=None,
                        size="wide", angle=None, movement=None,
                        characters=tuple(CharacterInShot(c, c) for c in cast))
    return ShotRequest(prompt="a man walks by the sea", negative="blurry", width=64, height=64, num_frames=frames,
                       fps=16, seed=3, layout=layout, references=refs)


# --------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------


def test_identity_mechanisms_need_roles_that_can_run_them(tmp_path: Path) -> None:
    tiny = yaml.safe_load(Path(load_profile("tiny").source_file).read_text())
    tiny.pop("x-defaults")
    bad = {**tiny, "name": "bad", "identity": {"video": "reference"}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ProfileError, match="reference_to_video"):
        load_profile(tmp_path / "bad.yaml")
    bad = {**tiny, "name": "bad2", "identity": {"keyframes": "ip_adapter"}}
    (tmp_path / "bad2.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ProfileError, match="identity.ip_adapter"):
        load_profile(tmp_path / "bad2.yaml")


def test_identity_settings_name_the_output_and_defaults_keep_old_keys() -> None:
    assert "identity" not in profile_identity(load_profile("tiny"))
    assert profile_identity(load_profile("tiny-vace"))["identity"]["video"] == "reference"
    real = load_profile("wan-2.1-vace-1.3b")
    role = real.roles[Capability.REFERENCE_TO_VIDEO]
    assert role.pipeline == "WanVACEPipeline" and role.repo == "Wan-AI/Wan2.1-VACE-1.3B-diffusers"
    assert role.pinned and real.identity.video == "reference"


# --------------------------------------------------------------------------------------------
# VACE
# --------------------------------------------------------------------------------------------


def test_vace_inputs_pin_the_keyframes_and_pass_every_reference_in_shot_order() -> None:
    refs = {"tomas": card((40, 200, 40)), "mara": card((200, 60, 40)), "extra": card((9, 9, 9))}
    first, last = np.full((64, 64, 3), 10, np.uint8), np.full((64, 64, 3), 250, np.uint8)
    out = vace.call_inputs(refs, ["mara", "tomas"], 64, 64, 9, first, last)
    assert [np.asarray(i)[0, 0].tolist() for i in out["reference_images"]] == [[200, 60, 40], [40, 200, 40], [9, 9, 9]]
    video = [np.asarray(f) for f in out["video"]]
    mask = [np.asarray(m) for m in out["mask"]]
    assert len(video) == len(mask) == 9
    assert (video[0] == 10).all() and (video[-1] == 250).all() and all((v == 127).all() for v in video[1:-1])
    assert (mask[0] == 0).all() and (mask[-1] == 0).all() and all((m == 255).all() for m in mask[1:-1])
    assert set(vace.call_inputs(refs, ["mara"], 64, 64, 9)) == {"reference_images"}


@pytest.fixture(scope="module")
def pipelines() -> PipelineCache:
    return PipelineCache()


def test_vace_reads_each_reference_as_a_latent_frame_of_the_real_pipeline(pipelines: PipelineCache) -> None:
    """The reference images reach WanVACETransformer3DModel: one control latent frame each,
    holding that image's latents (a forward hook on the loaded transformer records them)."""
    backend = DiffusersBackend("tiny-vace", device="cpu", cache=pipelines)
    pipe = backend.pipeline(Capability.REFERENCE_TO_VIDEO).pipe
    assert type(pipe).__name__ == "WanVACEPipeline" and type(pipe.transformer).__name__ == "WanVACETransformer3DModel"
    seen: list = []
    hook = pipe.transformer.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append(kwargs["control_hidden_states"].clone()), with_kwargs=True)
    try:
        a, b = card((200, 60, 40)), card((40, 200, 40))
        frames = backend.first_last_to_video(request({"mara": a, "tomas": b}), a, b)
        two = seen[-1]
        backend.first_last_to_video(request({"mara": a, "tomas": card((40, 40, 220))}), a, b)
        swapped = seen[-1]
        backend.first_last_to_video(request({"mara": a}, cast=("mara",)), a, b)
        one = seen[-1]
    finally:
        hook.remove()
    assert len(frames) == 9 and frames[0].shape == (64, 64, 3)
    # 9 frames are 3 latent frames; each reference adds one in front.
    assert two.shape[2] == 3 + 2 and one.shape[2] == 3 + 1
    diff = (two - swapped).abs().amax(dim=(0, 1, 3, 4))
    # Exactly Tomas's frame changed: diffusers prepends each image in turn, so the last
    # reference (Tomas, second in the shot) is latent frame 0 and Mara's is frame 1.
    assert diff[0] > 0 and (diff[1:] == 0).all()


def test_a_shot_without_references_keeps_its_first_last_model(pipelines: PipelineCache) -> None:
    backend = DiffusersBackend("tiny-vace", device="cpu", cache=pipelines)
    assert reads_references(backend, Capability.FIRST_LAST_TO_VIDEO)
    assert not reads_references(DiffusersBackend("tiny", device="cpu", cache=pipelines), Capability.FIRST_LAST_TO_VIDEO)
    plain = DiffusersBackend("tiny", device="cpu", cache=pipelines)
    first, last = card((200, 60, 40), 64), card((40, 200, 40), 64)
    req = request({}, cast=())
    assert np.array_equal(np.stack(backend.first_last_to_video(req, first, last)),
                          np.stack(plain.first_last_to_video(req, first, last)))


@pytest.mark.parametrize("paradigm", ["keyframe", "stitching"])
def test_two_character_scene_renders_with_vace(tmp_path: Path, paradigm: str) -> None:
    film = two_character_film(tmp_path / "film", (40, 200, 40))
    result = render_file(film, RenderOptions(out_root=tmp_path / "out", paradigm=paradigm, profile="tiny-vace",
                                             review=False))
    assert result.status == "complete" and set(shot_bytes(result.out_dir)) == {
        "mara-alone", "tomas-alone", "together", "sea"}
    manifest = json.loads(result.manifest.read_text())
    bank = {e["item"] for e in manifest["artifacts"] if e["stage"] == "identity"}
    assert bank == {"mara", "tomas"}


# --------------------------------------------------------------------------------------------
# IP-Adapter
# --------------------------------------------------------------------------------------------


def test_ip_adapter_is_loaded_by_diffusers_and_every_character_steers_the_still(pipelines: PipelineCache) -> None:
    backend = DiffusersBackend("tiny-ip-adapter", device="cpu", cache=pipelines)
    a, b, c = card((200, 60, 40)), card((40, 200, 40)), card((40, 40, 220))
    req = request({"mara": a, "tomas": b}, frames=1)
    still = backend.text_to_image(req)
    pipe = backend.pipeline(Capability.TEXT_TO_IMAGE).pipe
    assert pipe.unet.encoder_hid_proj is not None  # diffusers' load_ip_adapter put it there
    procs = {type(p).__name__ for p in pipe.unet.attn_processors.values()}
    assert any("IPAdapter" in n for n in procs)
    again = backend.text_to_image(req)
    second = backend.text_to_image(request({"mara": a, "tomas": c}, frames=1))
    first = backend.text_to_image(request({"mara": c, "tomas": b}, frames=1))
    assert np.array_equal(still, again)
    assert not np.array_equal(still, second) and not np.array_equal(still, first)  # both are conditioned


def test_swapping_one_reference_changes_exactly_the_shots_it_is_in(tmp_path: Path) -> None:
    """Keyframe paradigm, IP-Adapter stills: a new image for Tomas changes the keyframes and
    clips of the shots Tomas is in and leaves every other shot byte-identical."""
    runs = []
    for colour in ((40, 200, 40), (40, 40, 220)):
        film = two_character_film(tmp_path / f"film-{colour[1]}", colour)
        result = render_file(film, RenderOptions(out_root=tmp_path / f"out-{colour[1]}", paradigm="keyframe",
                                                 profile="tiny-ip-adapter", review=False))
        assert result.status == "complete"
        runs.append((shot_bytes(result.out_dir), keyframe_bytes(result.out_dir)))
    (shots_a, keys_a), (shots_b, keys_b) = runs
    changed = {s for s in shots_a if shots_a[s] != shots_b[s]}
    assert changed == {"tomas-alone", "together"}
    changed_keys = {k.rsplit("_", 1)[0] for k in keys_a if keys_a[k] != keys_b[k]}
    assert changed_keys == {"tomas-alone", "together"}


# --------------------------------------------------------------------------------------------
# The character bank on the review page
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bank_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bank")
    film = two_character_film(root / "film", (40, 200, 40))
    result = render_file(film, RenderOptions(out_root=root / "out", paradigm="keyframe", profile="animatic"))
    assert result.status == "complete"
    return result.out_dir


def test_the_bank_is_published_and_shown_beside_the_shots_that_use_it(bank_render: Path) -> None:
    import html as html_lib
    import re

    out = bank_render
    assert sorted(p.name for p in (out / "characters").iterdir()) == ["mara.png", "tomas.png"]
    # The published bank image is the reference the shot list gave (taken as is).
    assert np.array_equal(np.asarray(Image.open(out / "characters" / "tomas.png").convert("RGB")),
                          card((40, 200, 40)))
    page = (out / "report.html").read_text()
    cards = {m.group(1): m.group(2) for m in re.finditer(r'<article class="card[^"]*" id="shot-([^"]+)"(.*?)</article>',
                                                            page, re.S)}
    def cast(body: str) -> list[str]:
        return re.findall(r"<img src='characters/([a-z]+)\.png'", body)
    assert {k: cast(v) for k, v in cards.items()} == {
        "mara-alone": ["mara"], "tomas-alone": ["tomas"], "together": ["mara", "tomas"], "sea": []}
    bank = page[page.index("<h2>Character bank</h2>"):page.index("<h2>Shots</h2>")]
    assert "href='#shot-together'" in bank and html_lib.escape("tomas") in bank
    assert re.findall(r"id='character-([a-z]+)'", bank) == ["mara", "tomas"]


def test_the_bank_images_load_in_chromium(bank_render: Path, tmp_path: Path) -> None:
    from test_report_browser import CHROMIUM, check_page

    if not CHROMIUM.exists():
        pytest.skip("headless Chromium not installed at /usr/bin/chromium")
    seen, uncaught = check_page(bank_render / "report.html", tmp_path)
    assert seen["errors"] == [] and uncaught == []
    banks = [img for img in seen["images"] if img["src"].startswith("characters/")]
    assert sorted({img["src"] for img in banks}) == ["characters/mara.png", "characters/tomas.png"]
    assert len(banks) == 2 + 4 and all(img["ok"] for img in banks)  # the bank section + 4 card thumbnails
