"""The diffusers backend on the `tiny` profile: real Wan pipelines with random weights, on CPU.

The tiny models are built once per test session into a temporary cache folder and loaded back
through the same loading code real profiles use.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from multishot.backends.base import Capability, ShotLayout, ShotRequest
from multishot.backends.diffusers import tiny
from multishot.backends.diffusers.backend import DiffusersBackend, OutOfMemory
from multishot.backends.diffusers.frames import generation_size, resample_frames, valid_frame_count
from multishot.backends.diffusers.loading import (
    ModelNotAvailable, PipelineCache, WeightsMismatch, download_profile,
)
from multishot.backends.diffusers.profile import load_profile, profile_identity


@pytest.fixture
def backend(tiny_cache: Path, shared_cache: PipelineCache, monkeypatch: pytest.MonkeyPatch) -> DiffusersBackend:
    monkeypatch.setenv("MULTISHOT_CACHE", str(tiny_cache))
    return DiffusersBackend("tiny", device="cpu", cache=shared_cache)


def request(seed: int = 7, *, frames: int = 20, width: int = 96, height: int = 64,
            prompt: str = "a man walks by the sea", shot: str = "s1") -> ShotRequest:
    layout = ShotLayout(shot_id=shot, scene_id="arrival", location_id="cliffs", location="black cliffs",
                        time="dusk", weather="rain", size="wide", angle=None, movement=None)
    return ShotRequest(prompt=prompt, negative="blurry", width=width, height=height, num_frames=frames, fps=16,
                       seed=seed, layout=layout, shot_prompt=prompt, global_prompt="35mm film")


def gradient(kind: int, h: int = 64, w: int = 96) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    chans = {0: (xx * 255 // w, yy * 255 // h, np.full_like(xx, 200)),
             1: (255 - xx * 255 // w, np.full_like(xx, 30), yy * 255 // h),
             2: (np.full_like(xx, 240), 255 - yy * 255 // h, xx * 128 // w)}[kind]
    return np.stack(chans, -1).astype(np.uint8)


def stack(frames: list[np.ndarray]) -> np.ndarray:
    return np.stack(frames).astype(np.int16)


# --------------------------------------------------------------------------------------------
# Frames and sizes
# --------------------------------------------------------------------------------------------


def test_valid_frame_counts_are_4k_plus_1_at_or_above_the_request() -> None:
    assert [valid_frame_count(n, 4) for n in (1, 2, 5, 64, 81)] == [1, 5, 5, 65, 81]
    assert valid_frame_count(64, 8) == 65 and valid_frame_count(100, 4, cap=17) == 17
    assert valid_frame_count(20, 4, cap=18) == 17


def test_resampling_keeps_first_and_last_frame() -> None:
    frames = np.arange(17)[:, None, None, None] * np.ones((1, 2, 2, 3), dtype=np.uint8)
    out = resample_frames(frames, 15)
    assert out.shape[0] == 15 and out[0, 0, 0, 0] == 0 and out[-1, 0, 0, 0] == 16
    assert np.all(np.diff(out[:, 0, 0, 0].astype(int)) >= 0)
    assert resample_frames(frames, 40).shape[0] == 40


def test_generation_size_rounds_to_the_model_multiple_and_fits() -> None:
    assert generation_size(832, 480, 16) == (832, 480)
    assert generation_size(850, 470, 16) == (848, 464)
    assert generation_size(832, 480, 16, fit=(64, 64)) == (64, 32)


# --------------------------------------------------------------------------------------------
# Generation on tiny
# --------------------------------------------------------------------------------------------


def test_text_to_video_is_exact_in_count_size_and_reproducible(backend: DiffusersBackend) -> None:
    a = backend.text_to_video(request(seed=7))
    assert len(a) == 20 and all(f.shape == (64, 96, 3) and f.dtype == np.uint8 for f in a)
    b = backend.text_to_video(request(seed=7))
    assert np.array_equal(stack(a), stack(b))
    c = backend.text_to_video(request(seed=8))
    assert np.abs(stack(a) - stack(c)).mean() > 0.5


def test_text_to_image_is_one_frame_of_the_same_model(backend: DiffusersBackend) -> None:
    img = backend.text_to_image(request(seed=3, frames=49))
    assert img.shape == (64, 96, 3) and img.dtype == np.uint8
    assert backend.pipeline(Capability.TEXT_TO_IMAGE) is backend.pipeline(Capability.TEXT_TO_VIDEO)


def test_first_last_to_video_depends_on_both_keyframes(backend: DiffusersBackend) -> None:
    req = request(seed=11, frames=17)
    base = stack(backend.first_last_to_video(req, gradient(0), gradient(1)))
    same = stack(backend.first_last_to_video(req, gradient(0), gradient(1)))
    new_last = stack(backend.first_last_to_video(req, gradient(0), gradient(2)))
    new_first = stack(backend.first_last_to_video(req, gradient(2), gradient(1)))
    assert base.shape == (17, 64, 96, 3)
    assert np.array_equal(base, same)
    assert np.abs(base - new_last).max() > 0
    assert np.abs(base - new_first).max() > 0


@pytest.mark.parametrize("frames", [1, 2])
def test_conditioned_roles_make_one_and_two_frame_clips(backend: DiffusersBackend, frames: int) -> None:
    """A one-frame shot (0.0625 s at 16 fps) infilled between its keyframes, or a one-frame
    bridge, used to crash Wan's first-last layout (`negative dimension -1`)."""
    req = request(seed=3, frames=frames)
    infill = stack(backend.first_last_to_video(req, gradient(0), gradient(1)))
    grown = stack(backend.image_to_video(req, gradient(0)))
    assert infill.shape == grown.shape == (frames, 64, 96, 3)


def test_image_to_video_depends_on_the_first_frame(backend: DiffusersBackend) -> None:
    req = request(seed=5, frames=9)
    a = stack(backend.image_to_video(req, gradient(0)))
    b = stack(backend.image_to_video(req, gradient(2)))
    assert a.shape == (9, 64, 96, 3) and np.abs(a - b).max() > 0


def test_joint_shots_returns_each_shot_at_its_own_length(backend: DiffusersBackend) -> None:
    reqs = [request(seed=7, frames=n, shot=f"s{i}", prompt=p)
            for i, (n, p) in enumerate([(12, "a man walks"), (5, "the sea at night")])]
    out = backend.joint_shots(reqs)
    assert [len(v) for v in out] == [12, 5]
    assert all(f.shape == (64, 96, 3) and f.dtype == np.uint8 for v in out for f in v)
    again = backend.joint_shots(reqs)
    assert all(np.array_equal(stack(x), stack(y)) for x, y in zip(out, again, strict=True))


# --------------------------------------------------------------------------------------------
# One load per worker
# --------------------------------------------------------------------------------------------


def test_many_shots_and_two_roles_on_one_model_load_it_once(tiny_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MULTISHOT_CACHE", str(tiny_cache))
    cache = PipelineCache()
    backend = DiffusersBackend("tiny", device="cpu", cache=cache)
    for seed in range(3):
        backend.text_to_video(request(seed=seed, frames=5))
    backend.text_to_image(request(seed=9))
    assert cache.pipeline_loads == 1
    # A second backend object on the same profile (e.g. another paradigm) reuses it too.
    DiffusersBackend("tiny", device="cpu", cache=cache).text_to_video(request(seed=1, frames=5))
    assert cache.pipeline_loads == 1
    # The I2V and FLF2V models bring their own transformers but share the text encoder,
    # tokenizer and VAE (and FLF2V the image encoder) with the models already loaded.
    backend.image_to_video(request(seed=1, frames=5), gradient(0))
    backend.first_last_to_video(request(seed=1, frames=5), gradient(0), gradient(1))
    assert cache.pipeline_loads == 3
    t2v, i2v, flf = (backend.pipeline(c).pipe for c in (Capability.TEXT_TO_VIDEO, Capability.IMAGE_TO_VIDEO,
                                                        Capability.FIRST_LAST_TO_VIDEO))
    assert i2v.vae is t2v.vae and flf.text_encoder is t2v.text_encoder and flf.image_encoder is i2v.image_encoder
    assert flf.transformer is not i2v.transformer


# --------------------------------------------------------------------------------------------
# The tiny models survive save_pretrained -> from_pretrained
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,cap", [("wan_t2v", Capability.TEXT_TO_VIDEO),
                                      ("wan_flf2v", Capability.FIRST_LAST_TO_VIDEO)])
def test_built_and_reloaded_tiny_models_make_the_same_frames(backend: DiffusersBackend, name: str,
                                                             cap: Capability) -> None:
    """A component whose weights were not all persisted (T5's tied embeddings are the classic
    trap) would make the reloaded pipeline differ by whole values. Bit-exactness is not
    expected: safetensors are memory-mapped, so loaded tensors are not 64-byte aligned and CPU
    kernels take other SIMD paths (about 1e-7 here); the tolerance sits far below any real
    difference (different seeds differ by ~0.1)."""
    built = tiny.build_pipelines()[name]
    built.set_progress_bar_config(disable=True)
    loaded = backend.pipeline(cap).pipe
    kwargs = dict(prompt="a man walks by the sea", negative_prompt="blurry", height=32, width=32, num_frames=9,
                  num_inference_steps=2, guidance_scale=5.0, max_sequence_length=32, output_type="np")
    if name == "wan_flf2v":
        from PIL import Image

        kwargs.update(image=Image.fromarray(gradient(0, 32, 32)), last_image=Image.fromarray(gradient(1, 32, 32)))
    a = built(generator=torch.Generator("cpu").manual_seed(0), **kwargs).frames[0]
    b = loaded(generator=torch.Generator("cpu").manual_seed(0), **kwargs).frames[0]
    assert a.shape == b.shape == (9, 32, 32, 3)
    assert np.abs(a - b).max() < 1e-5
    assert np.abs((a * 255).round() - (b * 255).round()).max() <= 1
    state_built, state_loaded = built.text_encoder.state_dict(), loaded.text_encoder.state_dict()
    assert set(state_built) == set(state_loaded)
    assert all(torch.equal(state_built[k], state_loaded[k]) for k in state_built)


# --------------------------------------------------------------------------------------------
# Missing models offline
# --------------------------------------------------------------------------------------------


def test_offline_missing_model_names_it_and_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    backend = DiffusersBackend("wan-2.1-1.3b", device="cpu", cache=PipelineCache())
    with pytest.raises(ModelNotAvailable) as info:
        backend.text_to_video(request())
    msg = str(info.value)
    assert "Wan-AI/Wan2.1-T2V-1.3B-Diffusers" in msg and "0fad780a534b6463e45facd96134c9f345acfa5b" in msg
    assert "multishot models download wan-2.1-1.3b" in msg and "HF_HUB_OFFLINE" in msg
    assert "\n" not in msg
    with pytest.raises(ModelNotAvailable, match="multishot models download wan-2.1-1.3b"):
        download_profile("wan-2.1-1.3b")
    assert not any((tmp_path / "hf").rglob("*.safetensors"))


# --------------------------------------------------------------------------------------------
# Out of memory: step down the profile's ladder
# --------------------------------------------------------------------------------------------


def _oom_in_transformer(pipe: object, times: int) -> list[int]:
    """Raise torch.cuda.OutOfMemoryError from the transformer's forward the first `times`
    calls. There is no GPU in CI, so the error is injected where a real one happens: inside a
    forward pass, after the prompt was encoded."""
    calls = [0]

    def hook(_module: object, _args: object) -> None:
        calls[0] += 1
        if calls[0] <= times:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")

    pipe.transformer.register_forward_pre_hook(hook)  # type: ignore[attr-defined]
    return calls


def test_out_of_memory_retries_with_the_next_strategy_and_records_it(
        tiny_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("MULTISHOT_CACHE", str(tiny_cache))
    backend = DiffusersBackend("tiny", device="cpu", cache=PipelineCache())
    expected = stack(backend.text_to_video(request(seed=4, frames=9)))
    entry = backend.pipeline(Capability.TEXT_TO_VIDEO)
    assert entry.strategy == "none"
    _oom_in_transformer(entry.pipe, times=1)
    with caplog.at_level(logging.WARNING, logger="multishot"):
        got = stack(backend.text_to_video(request(seed=4, frames=9, shot="s9")))
    assert np.array_equal(got, expected)
    assert entry.strategy == "vae_tiling" and entry.applied == "vae_tiling"
    assert [(e["event"], e["shot"], e["from"], e["to"]) for e in backend.events] == [
        ("memory_fallback", "s9", "none", "vae_tiling")]
    assert any("out of GPU memory" in r.getMessage() and r.name.startswith("multishot") for r in caplog.records)
    # The fallback sticks: the next shot starts at the lighter strategy, no new event.
    backend.text_to_video(request(seed=5, frames=5))
    assert len(backend.drain_events()) == 1 and backend.events == []


def test_out_of_memory_at_the_lightest_strategy_fails_with_a_sentence(
        tiny_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MULTISHOT_CACHE", str(tiny_cache))
    backend = DiffusersBackend("tiny", device="cpu", cache=PipelineCache())
    entry = backend.pipeline(Capability.TEXT_TO_VIDEO)
    calls = _oom_in_transformer(entry.pipe, times=100)
    with pytest.raises(OutOfMemory, match="model_cpu_offload"):
        backend.text_to_video(request(seed=4, frames=5, shot="s3"))
    assert [e["to"] for e in backend.events] == ["vae_tiling", "model_cpu_offload"]
    assert calls[0] == 3


# --------------------------------------------------------------------------------------------
# Weights overrides (the HoloCine path) on a tiny transformer
# --------------------------------------------------------------------------------------------


def _to_original_wan_keys(key: str) -> str:
    """diffusers WanTransformer3DModel key -> original Wan / DiffSynth key (the inverse of
    diffusers' converter, for the keys of a text-to-video model)."""
    if key == "scale_shift_table":
        return "head.modulation"
    key = key.replace("proj_out", "head.head").replace(".scale_shift_table", ".modulation")
    for new, old in [("condition_embedder.time_embedder.linear_1", "time_embedding.0"),
                     ("condition_embedder.time_embedder.linear_2", "time_embedding.2"),
                     ("condition_embedder.text_embedder.linear_1", "text_embedding.0"),
                     ("condition_embedder.text_embedder.linear_2", "text_embedding.2"),
                     ("condition_embedder.time_proj", "time_projection.1"), ("attn1", "self_attn"),
                     ("attn2", "cross_attn"), (".to_out.0.", ".o."), (".to_q.", ".q."), (".to_k.", ".k."),
                     (".to_v.", ".v."), ("ffn.net.0.proj", "ffn.0"), ("ffn.net.2", "ffn.2"), (".norm2.", ".norm3.")]:
        key = key.replace(new, old)
    return key


def _override_profile(tmp_path: Path, weights: Path, mapping: str) -> Path:
    text = f"""
licence: test
roles:
  text_to_video:
    pipeline: WanPipeline
    path: "{{cache}}/models/tiny-v{tiny.TINY_VERSION}/wan_t2v"
    build: tiny
    dtype: float32
    width: 32
    height: 32
    frames: 5
    steps: 2
    guidance: 1.0
    call: {{max_sequence_length: 16}}
    weights_override:
      - {{component: transformer, path: "{weights}", mapping: {mapping}}}
"""
    path = tmp_path / "override.yaml"
    path.write_text(text)
    return path


def test_weights_override_maps_original_wan_keys_and_loads_strictly(
        tiny_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import save_file

    monkeypatch.setenv("MULTISHOT_CACHE", str(tiny_cache))
    finetuned = tiny._transformer(seed=123)
    original = {_to_original_wan_keys(k): v.contiguous() for k, v in finetuned.state_dict().items()}
    assert "blocks.0.self_attn.q.weight" in original and "head.head.weight" in original
    save_file(original, str(tmp_path / "dit.safetensors"))
    profile = load_profile(_override_profile(tmp_path, tmp_path / "dit.safetensors", "holocine"))
    backend = DiffusersBackend(profile, device="cpu", cache=PipelineCache())
    loaded = backend.pipeline(Capability.TEXT_TO_VIDEO).pipe.transformer
    want = finetuned.state_dict()
    assert all(torch.equal(v, want[k]) for k, v in loaded.state_dict().items())
    assert backend.identity()["roles"]["text_to_video"]["weights_override"][0]["mapping"] == "holocine"

    del original["blocks.1.ffn.2.bias"]
    original["blocks.1.shot_embedding"] = torch.zeros(3)
    save_file(original, str(tmp_path / "bad.safetensors"))
    bad = load_profile(_override_profile(tmp_path, tmp_path / "bad.safetensors", "holocine"))
    with pytest.raises(WeightsMismatch, match=r"missing 1 \[blocks\.1\.ffn\.net\.2\.bias\].*unexpected 1"):
        DiffusersBackend(bad, device="cpu", cache=PipelineCache()).pipeline(Capability.TEXT_TO_VIDEO)


# --------------------------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------------------------


def test_identity_names_models_revisions_and_settings(backend: DiffusersBackend, tiny_cache: Path) -> None:
    ident = backend.identity()
    assert ident == backend.identity() and ident["profile"] == "tiny" and ident["device"] == "cpu"
    role = ident["roles"]["text_to_video"]
    assert role["pipeline"] == "WanPipeline" and role["steps"] == 2 and role["guidance"] == 5.0
    assert role["path"] == f"{{cache}}/models/tiny-v{tiny.TINY_VERSION}/wan_t2v"
    real = DiffusersBackend("wan-2.1-1.3b", device="cpu").identity()["roles"]["text_to_video"]
    assert real["revision"] == "0fad780a534b6463e45facd96134c9f345acfa5b" and real["dtype"] == "bfloat16"
    assert str(tiny_cache) not in json.dumps(ident)  # the same key on every machine
    assert ident["roles"] == profile_identity(backend.profile)["roles"]


def test_download_profile_builds_and_lists_the_tiny_models(tiny_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MULTISHOT_CACHE", str(tiny_cache))
    got = download_profile("tiny")
    names = {p.relative_to(tiny_cache / "models" / f"tiny-v{tiny.TINY_VERSION}").parts[0] for p in got}
    assert names == set(tiny.WAN_NAMES)  # the identity models are only in tiny-vace / tiny-ip-adapter
    assert all(p.is_file() for p in got) and len(got) == len(set(got))
    assert sum(p.name == "model_index.json" for p in got) == 3


# --------------------------------------------------------------------------------------------
# LTX-Video's pipelines (8k+1 frames, multiples of 32, `conditions` for first+last frames)
# --------------------------------------------------------------------------------------------


def test_ltx_pipelines_serve_every_conditioned_role(tmp_path: Path) -> None:
    """The ltx-video profile's three pipeline classes, as tiny random-weight models in local
    folders (the layout of diffusers' own LTX tests), through a profile given by path."""
    import yaml
    from diffusers import (
        AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXConditionPipeline, LTXPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    tok = tiny.tokenizer()
    torch.manual_seed(0)
    text_encoder = T5EncoderModel(T5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2,
                                           num_heads=4, relative_attention_num_buckets=8))
    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
                                             num_attention_heads=4, attention_head_dim=8, cross_attention_dim=32,
                                             num_layers=1, caption_channels=32)
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(
        latent_channels=8, block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False), decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False,) * 5, upsample_residual=(False,) * 4, upsample_factor=(1,) * 4,
        timestep_conditioning=False, patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False)
    parts = dict(tokenizer=tok, text_encoder=text_encoder, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(),
                 transformer=transformer)
    LTXPipeline(**parts).save_pretrained(tmp_path / "ltx", safe_serialization=True)
    LTXConditionPipeline(**parts).save_pretrained(tmp_path / "ltx_cond", safe_serialization=True)
    base = dict(dtype="float32", width=64, height=64, frames=9, fps=24, steps=2, guidance=3.0,
                call={"max_sequence_length": 16})
    roles = {"text_to_video": {**base, "pipeline": "LTXPipeline", "path": "ltx"},
             "text_to_image": {**base, "pipeline": "LTXPipeline", "path": "ltx", "frames": 1},
             "image_to_video": {**base, "pipeline": "LTXImageToVideoPipeline", "path": "ltx"},
             "first_last_to_video": {**base, "pipeline": "LTXConditionPipeline", "path": "ltx_cond"}}
    (tmp_path / "ltxtiny.yaml").write_text(yaml.safe_dump({"licence": "test", "roles": roles}))
    backend = DiffusersBackend(str(tmp_path / "ltxtiny.yaml"), device="cpu", cache=PipelineCache())
    assert len(backend.text_to_video(request(frames=20))) == 20
    assert backend.text_to_image(request()).shape == (64, 96, 3)
    i2v = stack(backend.image_to_video(request(frames=12), gradient(0)))
    flf = stack(backend.first_last_to_video(request(frames=12), gradient(0), gradient(1)))
    assert i2v.shape == flf.shape == (12, 64, 96, 3) and np.abs(i2v - flf).max() > 0
    assert backend.cache.pipeline_loads == 3  # LTXPipeline, LTXImageToVideoPipeline, LTXConditionPipeline
    assert backend.pipeline(Capability.IMAGE_TO_VIDEO).pipe.vae is backend.pipeline(Capability.TEXT_TO_VIDEO).pipe.vae


def test_a_role_the_profile_lacks_fails_with_a_sentence(tiny_cache: Path) -> None:
    from multishot.backends.base import CapabilityError

    backend = DiffusersBackend("wan-2.2-5b", device="cpu", cache=PipelineCache())
    with pytest.raises(CapabilityError, match="no first_last_to_video role"):
        backend.first_last_to_video(request(), gradient(0), gradient(1))
