"""Consistent keyframes (issue 15, StoryDiffusion arXiv 2405.01434) on the real tiny Wan
pipelines (random weights, built from configs, saved and loaded back through from_pretrained):
the sampled key sets, attention weights that are zero outside them, the exact reduction to
independent generation, the bank anchors, the cache key, and a two-character film end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from conftest import small_film, write_film
from multishot.backends.base import Capability, CharacterInShot, ShotLayout, ShotRequest
from multishot.backends.diffusers import tiny
from multishot.backends.diffusers.backend import DiffusersBackend
from multishot.backends.diffusers.consistent_attention import ConsistentPlan, generate_together, scene_reads
from multishot.backends.diffusers.consistent_keyframes import scene_stills
from multishot.backends.diffusers.loading import PipelineCache
from multishot.backends.diffusers.profile import load_profile, profile_identity

MARA = CharacterInShot("mara", "a woman in a yellow oilskin raincoat")
TOMAS = CharacterInShot("tomas", "a boy in a red knit cap")


def make_backend(tiny_cache: Path, cache: PipelineCache, monkeypatch: pytest.MonkeyPatch, **consistent: Any) -> DiffusersBackend:
    monkeypatch.setenv("MULTISHOT_CACHE", str(tiny_cache))
    profile = load_profile("tiny-consistent")
    if consistent:
        ident = profile.identity.model_copy(update={"consistent": profile.identity.consistent.model_copy(update=consistent)})
        profile = profile.model_copy(update={"identity": ident})
    return DiffusersBackend(profile, device="cpu", cache=cache)


def req(shot: str, seed: int, cast: tuple[CharacterInShot, ...], prompt: str) -> ShotRequest:
    layout = ShotLayout(shot_id=shot, scene_id="s", location_id="cliffs", location="black cliffs", time="dusk",
                        weather=None, size="medium", angle=None, movement=None, characters=cast)
    return ShotRequest(prompt=prompt, negative="blurry", width=64, height=64, num_frames=1, fps=16, seed=seed,
                       layout=layout)


SCENE = [req("a", 3, (MARA,), "a woman walks by the sea"), req("b", 4, (TOMAS,), "a boy runs on the beach"),
         req("c", 5, (MARA,), "a woman stands at the door"), req("d", 6, (MARA, TOMAS), "a woman and a boy")]


def bank_image(kind: int) -> np.ndarray:
    yy, xx = np.mgrid[0:64, 0:64]
    chans = {0: (xx * 4, yy * 4, np.full_like(xx, 200)), 1: (255 - xx * 4, np.full_like(xx, 30), yy * 4),
             2: (np.full_like(xx, 240), 255 - yy * 4, xx * 2)}[kind]
    return np.stack(chans, -1).clip(0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# The plan: who reads whom, which tokens
# --------------------------------------------------------------------------------------------


def test_key_mask_keeps_own_tokens_samples_the_read_items_and_nothing_else() -> None:
    plan = ConsistentPlan(reads=((), (0, 2), (1,)), sample_ratio=0.5, seed=11, n_anchors=1)
    mask = plan.key_mask(step=2, tokens=400).reshape(3, 3, 400)
    keep = plan.keep(2, 400)
    assert mask[0, 0].all() and not mask[0, 1:].any()          # an anchor reads only itself
    assert mask[1, 1].all() and torch.equal(mask[1, 0], keep[0]) and torch.equal(mask[1, 2], keep[2])
    assert not mask[2, 0].any() and torch.equal(mask[2, 1], keep[1])
    assert 0.4 < keep.float().mean() < 0.6                     # about the sample ratio
    assert torch.equal(keep, plan.keep(2, 400)) and not torch.equal(keep, plan.keep(3, 400))  # per step, reproducible
    assert not plan.active(0, 0) and plan.active(1, 0)         # the first step is plain attention
    assert not ConsistentPlan(reads=((1,), (0,)), sample_ratio=0.5, seed=1, blocks=(1, 1)).active(5, 0)


def test_reading_rule_keeps_one_characters_look_off_another_characters_shot() -> None:
    casts = [frozenset({"mara"}), frozenset({"tomas"}), frozenset({"mara"}), frozenset({"mara", "tomas"}), frozenset()]
    reads = scene_reads(casts, ["mara", "tomas"])
    # anchors 0 (mara), 1 (tomas); stills 2..6
    assert reads[:2] == ((), ())
    assert reads[2] == (0, 4, 5)        # mara: her anchor, the other mara stills
    assert reads[3] == (1, 5)           # tomas: his anchor and the two-shot, never a mara-only still
    assert reads[5] == (0, 1, 2, 3, 4)  # the two-shot reads both
    assert reads[6] == ()               # nobody on screen, no other empty still: reads nothing
    with pytest.raises(ValueError, match="anchor"):
        ConsistentPlan(reads=((1,), ()), sample_ratio=0.5, seed=0, n_anchors=1)


# --------------------------------------------------------------------------------------------
# The processor on the real tiny pipeline
# --------------------------------------------------------------------------------------------


def test_attention_weights_are_zero_outside_the_sampled_set(tiny_cache: Path, shared_cache: PipelineCache,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    backend = make_backend(tiny_cache, shared_cache, monkeypatch)
    anchors = {"mara": bank_image(0), "tomas": bank_image(1)}
    record: list[dict[str, Any]] = []
    gathered = scene_stills(backend, SCENE, anchors, record=record)
    masked = scene_stills(backend, SCENE, anchors, impl="mask")
    steps = backend.profile.roles[Capability.TEXT_TO_IMAGE].steps
    blocks = 2
    # every block of every step after the first, conditional and unconditional pass
    assert len(record) == (steps - 1) * blocks * 2
    for call in record:
        probs, mask = call["probs"], call["mask"]           # (B, H, L, B*L), (B, B*L)
        allowed = mask[:, None, None, :].expand_as(probs)
        assert call["step"] >= 1
        assert torch.count_nonzero(probs[~allowed]) == 0    # exactly zero outside the sample
        assert (probs[allowed] > 0).all()                    # and the sampled tokens are really read
        n = probs.shape[2]
        assert mask.reshape(6, 6, n)[2, 0].any()             # mara's still reads some of her anchor
        assert not mask.reshape(6, 6, n)[2, 1].any()         # and nothing of tomas's
        assert torch.allclose(probs.sum(-1), torch.ones(()), atol=1e-5)
    # The production kernel path (gathered keys) computes what the explicit masked softmax does.
    assert max(int(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in zip(gathered, masked)) <= 1


def test_sample_ratio_zero_is_exactly_independent_generation(tiny_cache: Path, shared_cache: PipelineCache,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    backend = make_backend(tiny_cache, shared_cache, monkeypatch, sample_ratio=0.0, anchors=False)
    pipe = backend.pipeline(Capability.TEXT_TO_IMAGE).pipe
    role = backend.profile.roles[Capability.TEXT_TO_IMAGE]
    prompts, seeds = [r.prompt for r in SCENE], [r.seed for r in SCENE]
    plan = ConsistentPlan(reads=scene_reads([frozenset(c.id for c in r.layout.characters) for r in SCENE], []),
                          sample_ratio=0.0, seed=1)
    together = generate_together(pipe, prompts, ["blurry"] * 4, seeds, plan=plan, height=64, width=64,
                                 steps=role.steps, guidance=role.guidance, generator=backend._generator,
                                 extra=dict(role.call))
    stock = pipe(prompt=prompts, negative_prompt=["blurry"] * 4, generator=[backend._generator(s) for s in seeds],
                 height=64, width=64, num_frames=1, num_inference_steps=role.steps, guidance_scale=role.guidance,
                 output_type="np", **role.call).frames
    assert np.array_equal(together, stock)  # bit for bit the stock batched call
    singles = [backend.text_to_image(r) for r in SCENE]
    through_backend = backend.keyframes_together(SCENE)
    # one image at a time vs a batch: float32 batched matmuls round differently, < 1 level
    assert all(int(np.abs(a.astype(int) - b.astype(int)).max()) <= 1 for a, b in zip(through_backend, singles))


def test_consistent_keyframes_differ_from_independent_ones_and_are_reproducible(
        tiny_cache: Path, shared_cache: PipelineCache, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = make_backend(tiny_cache, shared_cache, monkeypatch, anchors=False)
    consistent = backend.keyframes_together(SCENE)
    again = backend.keyframes_together(SCENE)
    independent = [backend.text_to_image(r) for r in SCENE]
    assert all(np.array_equal(a, b) for a, b in zip(consistent, again))
    # Random tiny weights move the decoded pixels little (about 2% of them by one level), so the
    # difference is also measured where it happens: the final latents, against the batching
    # noise, which is zero (ratio 0 is the stock batch bit for bit, test above).
    assert all(not np.array_equal(a, b) for a, b in zip(consistent, independent))
    pipe = backend.pipeline(Capability.TEXT_TO_IMAGE).pipe
    role = backend.profile.roles[Capability.TEXT_TO_IMAGE]
    reads = scene_reads([frozenset(c.id for c in r.layout.characters) for r in SCENE], [])

    def latents(ratio: float) -> torch.Tensor:
        plan = ConsistentPlan(reads=reads, sample_ratio=ratio, seed=1)
        return generate_together(pipe, [r.prompt for r in SCENE], ["blurry"] * 4, [r.seed for r in SCENE],
                                 plan=plan, height=64, width=64, steps=role.steps, guidance=role.guidance,
                                 generator=backend._generator, extra=dict(role.call), output_type="latent")

    apart = (latents(0.5) - latents(0.0)).abs().flatten(1).amax(1)
    assert (apart > 1e-3).all(), apart


def test_swapping_one_bank_image_changes_exactly_that_characters_stills(
        tiny_cache: Path, shared_cache: PipelineCache, monkeypatch: pytest.MonkeyPatch) -> None:
    """Measured on the final latents (the tiny VAE maps small latent changes to the same
    8-bit pixels): mara's stills move with her bank image, tomas's is bit for bit the same."""
    from multishot.backends.diffusers.consistent_attention import encode_still
    from multishot.backends.diffusers.consistent_keyframes import portrait_prompt
    from multishot.backends.diffusers.frames import frame_to_pil

    backend = make_backend(tiny_cache, shared_cache, monkeypatch)
    pipe = backend.pipeline(Capability.TEXT_TO_IMAGE).pipe
    role = backend.profile.roles[Capability.TEXT_TO_IMAGE]
    scene = SCENE[:3]  # mara, tomas, mara: no two-shot links the two
    reads = scene_reads([frozenset(c.id for c in r.layout.characters) for r in scene], ["mara", "tomas"])
    plan = ConsistentPlan(reads=reads, sample_ratio=0.5, seed=3, n_anchors=2)

    def run(mara: int) -> torch.Tensor:
        with torch.no_grad():
            bank = [encode_still(pipe, frame_to_pil(bank_image(k), 64, 64), 64, 64) for k in (mara, 1)]
        return generate_together(pipe, [r.prompt for r in scene], ["blurry"] * 3, [r.seed for r in scene], plan=plan,
                                 anchors=bank, anchor_prompts=[portrait_prompt(MARA.description),
                                                               portrait_prompt(TOMAS.description)],
                                 height=64, width=64, steps=role.steps, guidance=role.guidance,
                                 generator=backend._generator, extra=dict(role.call), output_type="latent")

    before, after = run(0), run(2)
    assert before.shape[0] == 3  # the anchors are not returned
    assert (before[0] - after[0]).abs().max() > 1e-4 and (before[2] - after[2]).abs().max() > 1e-4
    assert torch.equal(before[1], after[1])
    # and through the backend, the whole path runs and tomas's still is unchanged there too
    pixels = [backend.keyframes_together(scene, {"mara": bank_image(k), "tomas": bank_image(1)}) for k in (0, 2)]
    assert np.array_equal(pixels[0][1], pixels[1][1])


def test_the_mechanism_is_part_of_the_cache_key_and_plain_tiny_keeps_its_key() -> None:
    ident = profile_identity(load_profile("tiny-consistent"))
    assert ident["identity"]["keyframes"] == "consistent" and ident["identity"]["consistent"]["sample_ratio"] == 0.5
    assert "identity" not in profile_identity(load_profile("tiny"))


# --------------------------------------------------------------------------------------------
# End to end: the keyframe paradigm on tiny-consistent
# --------------------------------------------------------------------------------------------


class Spy:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.batches: list[tuple[list[str], list[str]]] = []
        self.edits: list[tuple[str, np.ndarray]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def keyframes_together(self, reqs, anchors=None):  # type: ignore[no-untyped-def]
        self.batches.append(([r.layout.shot_id for r in reqs], sorted(anchors or {})))
        return self._inner.keyframes_together(reqs, anchors)

    def image_to_image(self, req, image, strength):  # type: ignore[no-untyped-def]
        self.edits.append((req.layout.shot_id, image))
        return self._inner.image_to_image(req, image, strength)


@pytest.fixture(scope="module")
def consistent_render(tmp_path_factory: pytest.TempPathFactory, tiny_cache: Path) -> tuple[Path, Spy]:
    from multishot.backends.registry import get_backend
    from multishot.paradigms.base import RenderOptions
    from multishot.paradigms.runner import render_file

    tmp = tmp_path_factory.mktemp("consistent")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MULTISHOT_CACHE", str(tiny_cache))
        film = write_film(tmp / "film.yaml", small_film())
        spy = Spy(get_backend("tiny-consistent"))
        result = render_file(film, RenderOptions(out_root=tmp / "r", paradigm="keyframe", profile="tiny-consistent",
                                                 review=False), pool=lambda profile: spy)
        assert result.status == "complete", result
    return tmp / "r" / "small-film", spy


def test_two_character_film_renders_with_consistent_keyframes(consistent_render: tuple[Path, Spy]) -> None:
    folder, spy = consistent_render
    # Scene 1: wide (dolly-in: its end is composed from its start), mara, tomas; scene 2: both
    # (pan: end composed), lens. Each scene's other stills in one batch, reading its cast's bank.
    assert spy.batches == [(["wide", "mara", "mara", "tomas", "tomas"], ["mara", "tomas"]),
                           (["both", "lens", "lens"], ["mara", "tomas"])]
    manifest = json.loads((folder / "manifest.json").read_text())
    stages = [a["stage"] for a in manifest["artifacts"]]
    assert stages.count("scene-keyframes") == 2 and stages.count("keyframe") == 10
    assert (folder / "film.mp4").is_file() and len(list((folder / "shots").glob("*.mp4"))) == 5
