"""LoRAs in profiles: a CineTrans-layout LoRA (peft-style keys on original-Wan modules, as its
training code saves them) goes through multishot's profile -> loading path into the real tiny
Wan transformer with diffusers' LoRA loading (peft), and computes what CineTrans's own loader
computes: every targeted weight becomes W + scale * B @ A."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import ROOT
from multishot.backends.base import Capability
from multishot.backends.diffusers.backend import DiffusersBackend
from multishot.backends.diffusers.loading import PipelineCache

RANK = 4
WAN_NAMES = {"q": "to_q", "k": "to_k", "v": "to_v", "o": "to_out.0"}


def _profile(tmp_path: Path, lora: Path, scale: float, fuse: bool = False) -> str:
    text = (ROOT / "multishot" / "backends" / "profiles" / "tiny-cinetrans.yaml").read_text()
    text = text.replace("name: tiny-cinetrans", "name: tiny-lora")
    text = text.replace("    joint: {layout: continuous, text: cinetrans",
                        f"    loras: [{{path: {lora}, format: cinetrans, scale: {scale}, fuse: {str(fuse).lower()}}}]\n"
                        "    joint: {layout: continuous, text: cinetrans")
    folder = tmp_path / "profiles"
    folder.mkdir(exist_ok=True)
    (folder / "tiny-lora.yaml").write_text(text)
    return str(folder)


@pytest.mark.parametrize("fuse", [False, True])
def test_cinetrans_lora_loads_through_the_profile_and_merges_like_the_reference(
        fuse: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import save_file

    plain = DiffusersBackend("tiny-cinetrans", device="cpu", cache=PipelineCache())
    base = plain.pipeline(Capability.JOINT_SHOTS).pipe.transformer
    gen = torch.Generator().manual_seed(5)
    state: dict[str, torch.Tensor] = {}
    for i, block in enumerate(base.blocks):
        for orig, ours in WAN_NAMES.items():
            lin = block.attn1.get_submodule(ours)
            state[f"blocks.{i}.self_attn.{orig}.lora_A.default.weight"] = 0.1 * torch.randn(RANK, lin.in_features, generator=gen)
            state[f"blocks.{i}.self_attn.{orig}.lora_B.default.weight"] = 0.1 * torch.randn(lin.out_features, RANK, generator=gen)
    lora = tmp_path / "cinetrans_lora.safetensors"
    save_file(state, str(lora))
    scale = 0.7
    monkeypatch.setenv("MULTISHOT_PROFILE_PATH", _profile(tmp_path, lora, scale, fuse))
    loaded = DiffusersBackend("tiny-lora", device="cpu", cache=PipelineCache())
    ours = loaded.pipeline(Capability.JOINT_SHOTS).pipe.transformer

    # CineTrans's LoRA loader merges W += alpha * B @ A; alpha = the profile scale here.
    merged = copy.deepcopy(base)
    with torch.no_grad():
        for i, block in enumerate(merged.blocks):
            for orig, name in WAN_NAMES.items():
                lin = block.attn1.get_submodule(name)
                a = state[f"blocks.{i}.self_attn.{orig}.lora_A.default.weight"]
                b = state[f"blocks.{i}.self_attn.{orig}.lora_B.default.weight"]
                lin.weight += scale * b @ a
    torch.manual_seed(0)
    cfg = base.config
    x = torch.randn(1, cfg.in_channels, 3, 4, 4)
    ctx = torch.randn(1, 8, cfg.text_dim)
    t = torch.tensor([500.0])
    with torch.no_grad():
        want = merged(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
        got = ours(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
        before = base(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
    assert (want - before).abs().max() > 1e-3  # the LoRA changes the output ...
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5)  # ... exactly as the reference merge does
    # The LoRA'd transformer is its own cache entry: the plain profile's module is untouched.
    assert not any("lora" in n for n, _ in base.named_modules())
    # Fused: merged into the weights and the adapter layers gone; attached: still adapters.
    assert any("lora" in n for n, _ in ours.named_modules()) is not fuse


def test_a_pickled_lora_is_refused_when_the_profile_is_read() -> None:
    from pydantic import ValidationError

    from multishot.backends.diffusers.profile import LoraSpec

    with pytest.raises(ValidationError, match="only .safetensors"):
        LoraSpec(path="ckpt/weights.pt", format="cinetrans")


def _cli(*args: str) -> "subprocess.CompletedProcess[str]":
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "multishot.cli.main", *args],
                          capture_output=True, text=True, timeout=120)


def test_models_convert_writes_the_same_tensors_and_refuses_code(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    state = {"blocks.0.self_attn.q.lora_A.default.weight": torch.randn(4, 8),
             "blocks.0.self_attn.q.lora_B.default.weight": torch.randn(8, 4)}
    src = tmp_path / "weights.pt"
    torch.save({"state_dict": state}, src)
    dst = tmp_path / "lora.safetensors"
    done = _cli("models", "convert", str(src), str(dst))
    assert done.returncode == 0, done.stderr
    back = load_file(str(dst))
    assert set(back) == set(state) and all(torch.equal(back[k], state[k]) for k in state)

    # A pickle that would run code on load is refused (exit 2, one line), and nothing is written.
    import pickle

    class Evil:
        def __reduce__(self) -> tuple:
            return (print, ("pwned",))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(Evil()))
    bad = tmp_path / "bad.safetensors"
    done = _cli("models", "convert", str(evil), str(bad))
    assert done.returncode == 2 and "not a plain tensor checkpoint" in " ".join(done.stderr.split())
    assert "pwned" not in done.stdout and "Traceback" not in done.stderr and not bad.exists()


# --------------------------------------------------------------------------------------------
# Distillation LoRAs in ComfyUI's extraction layout (the wan-2.1-1.3b-fast profile's CausVid LoRA)
# --------------------------------------------------------------------------------------------

#: original-Wan module -> diffusers module of WanTransformer3DModel, outside the blocks.
TOP_LEVEL = {"head.head": "proj_out", "time_projection.1": "condition_embedder.time_proj",
             "text_embedding.0": "condition_embedder.text_embedder.linear_1",
             "text_embedding.2": "condition_embedder.text_embedder.linear_2",
             "time_embedding.0": "condition_embedder.time_embedder.linear_1",
             "time_embedding.2": "condition_embedder.time_embedder.linear_2"}


def _wan_linears(transformer: torch.nn.Module) -> dict[str, str]:
    """Every linear layer an extracted Wan LoRA covers: original-Wan name -> diffusers name."""
    names = dict(TOP_LEVEL)
    for i in range(len(transformer.blocks)):
        for attn, ours in (("self_attn", "attn1"), ("cross_attn", "attn2")):
            for orig, proj in WAN_NAMES.items():
                names[f"blocks.{i}.{attn}.{orig}"] = f"blocks.{i}.{ours}.{proj}"
        names[f"blocks.{i}.ffn.0"] = f"blocks.{i}.ffn.net.0.proj"
        names[f"blocks.{i}.ffn.2"] = f"blocks.{i}.ffn.net.2"
    return names


def _extracted_lora(transformer: torch.nn.Module, path: Path, rank: int, seed: int) -> dict[str, torch.Tensor]:
    """A random LoRA in the key layout ComfyUI's LoRA extraction writes (Kijai's CausVid, AccVid
    and lightx2v extractions): ``diffusion_model.`` + original-Wan module names, ``lora_down`` /
    ``lora_up`` weights without ``alpha``, ``diff_b`` bias differences, ``diff`` for the norm
    scales. Norm diffs are zero here: diffusers drops them (it treats them as zeroed)."""
    from safetensors.torch import save_file

    gen = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for orig, ours in _wan_linears(transformer).items():
        lin = transformer.get_submodule(ours)
        key = f"diffusion_model.{orig}"
        state[f"{key}.lora_down.weight"] = 0.2 * torch.randn(rank, lin.in_features, generator=gen)
        state[f"{key}.lora_up.weight"] = 0.2 * torch.randn(lin.out_features, rank, generator=gen)
        state[f"{key}.diff_b"] = 0.1 * torch.randn(lin.out_features, generator=gen)
    dim = transformer.config.num_attention_heads * transformer.config.attention_head_dim
    for i in range(len(transformer.blocks)):
        for norm in ("self_attn.norm_q", "self_attn.norm_k", "cross_attn.norm_q", "cross_attn.norm_k", "norm3"):
            state[f"diffusion_model.blocks.{i}.{norm}.diff"] = torch.zeros(dim)
        state[f"diffusion_model.blocks.{i}.norm3.diff_b"] = torch.zeros(dim)
    save_file(state, str(path))
    return state


def _tiny_profile_like(shipped: str, tmp_path: Path, lora: Path | None) -> str:
    """A tiny-model profile with the shipped profile's text_to_video settings (steps, guidance,
    scheduler, shift, component dtypes, LoRA format/scale/fuse) and `lora` as a local file.
    Its `speed:` (regional compile) is left out: CPU compile is tested in test_speed.py."""
    import yaml

    from multishot.backends.diffusers.profile import load_profile

    role = load_profile(shipped).roles[Capability.TEXT_TO_VIDEO]
    spec = role.loras[0]
    data: dict[str, object] = {
        "pipeline": role.pipeline, "path": "{cache}/models/tiny-v1/wan_t2v", "build": "tiny", "dtype": "float32",
        "component_dtypes": dict(role.component_dtypes), "width": 64, "height": 64, "size_policy": "fit",
        "frames": 17, "max_frames": 17, "steps": role.steps, "guidance": role.guidance,
        "scheduler": role.scheduler, "flow_shift": role.flow_shift, "call": {"max_sequence_length": 32}}
    if lora is not None:
        data["loras"] = [{"path": str(lora), "format": spec.format, "scale": spec.scale, "fuse": spec.fuse}]
    name = f"tiny-{shipped}-{'lora' if lora else 'plain'}"
    folder = tmp_path / "profiles"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, "licence": "test", "roles": {
        "text_to_video": data}}))
    return name


def test_shipped_fast_profiles_name_a_pinned_safetensors_lora_and_their_sources() -> None:
    from multishot.backends.diffusers.profile import load_profile

    small = load_profile("wan-2.1-1.3b-fast")
    role = small.roles[Capability.TEXT_TO_VIDEO]
    (lo,) = role.loras
    assert lo.repo == "Kijai/WanVideo_comfy" and lo.pinned and lo.filename.endswith(".safetensors")
    assert lo.format == "wan-original" and lo.fuse
    assert (role.steps, role.guidance, role.flow_shift) == (4, 1.0, 8.0) and role.speed.compile
    assert "NON-COMMERCIAL" in small.licence and "CC BY-NC" in small.licence
    assert "2412.07772" in (small.source_file and Path(small.source_file).read_text())
    for needle in ("1000/757/522", "issue 576", "PR 11588"):
        assert needle in small.notes
    big = load_profile("wan-2.1-14b-fast")
    for r in big.roles.values():
        assert r.speed.compile and r.component_dtypes["vae"] == "bfloat16" and r.guidance == 1.0
        assert r.loras and all(lo.pinned and lo.repo == "lightx2v/Wan2.1-Distill-Loras" for lo in r.loras)


@pytest.mark.parametrize("fuse", [True, False])
def test_extracted_distill_lora_loads_through_the_fast_profile_path_like_a_comfyui_merge(
        fuse: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CausVid LoRA's layout (ComfyUI extraction) through wan-2.1-1.3b-fast's settings on the
    tiny model: every covered linear becomes W + s * up @ down and b + s * diff_b, which is
    what ComfyUI computes when it applies such a LoRA at strength s."""
    monkeypatch.setenv("MULTISHOT_PROFILE_PATH", str(tmp_path / "profiles"))
    plain_name = _tiny_profile_like("wan-2.1-1.3b-fast", tmp_path, None)
    plain = DiffusersBackend(plain_name, device="cpu", cache=PipelineCache())
    base = plain.pipeline(Capability.TEXT_TO_VIDEO).pipe.transformer
    lora = tmp_path / "Wan21_CausVid_layout_rank4.safetensors"
    state = _extracted_lora(base, lora, RANK, seed=11)
    name = _tiny_profile_like("wan-2.1-1.3b-fast", tmp_path, lora)
    if not fuse:  # the shipped profile fuses; the attached path must compute the same
        path = tmp_path / "profiles" / f"{name}.yaml"
        path.write_text(path.read_text().replace("fuse: true", "fuse: false"))
    backend = DiffusersBackend(name, device="cpu", cache=PipelineCache())
    ours = backend.pipeline(Capability.TEXT_TO_VIDEO).pipe.transformer
    scale = backend.profile.roles[Capability.TEXT_TO_VIDEO].loras[0].scale

    merged = copy.deepcopy(base)
    with torch.no_grad():
        for orig, name_ in _wan_linears(merged).items():
            lin = merged.get_submodule(name_)
            lin.weight += scale * state[f"diffusion_model.{orig}.lora_up.weight"] @ state[f"diffusion_model.{orig}.lora_down.weight"]
            lin.bias += scale * state[f"diffusion_model.{orig}.diff_b"]
    torch.manual_seed(0)
    cfg = base.config
    x, ctx, t = torch.randn(1, cfg.in_channels, 3, 4, 4), torch.randn(1, 8, cfg.text_dim), torch.tensor([757.0])
    with torch.no_grad():
        want = merged(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
        got = ours(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
        before = base(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
    assert (want - before).abs().max() > 1e-2
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4), (got - want).abs().max()
    assert any("lora" in n for n, _ in ours.named_modules()) is not fuse
    # End to end through the pipeline call with the profile's scheduler, shift, guidance and
    # VAE dtype: the LoRA'd profile renders other frames than the same settings without it.
    from test_shot_loras import _request

    with_lora, without = np.stack(backend.text_to_video(_request())), np.stack(plain.text_to_video(_request()))
    assert with_lora.shape == without.shape and with_lora.dtype == np.uint8
    assert np.abs(with_lora.astype(int) - without.astype(int)).max() > 0


def test_extracted_distill_lora_as_a_shot_lora_switches_off_bit_for_bit(tmp_path: Path) -> None:
    """The same layout named by a shot (`format: wan-original`): on for one shot, and the next
    shot without it computes exactly what the never-LoRA'd model computes."""
    from test_shot_loras import _request

    from multishot.backends.base import LoraUse

    backend = DiffusersBackend("tiny", device="cpu", cache=PipelineCache())
    t = backend.pipeline(Capability.TEXT_TO_VIDEO).pipe.transformer
    lora = tmp_path / "causvid_layout.safetensors"
    _extracted_lora(t, lora, RANK, seed=12)
    use = LoraUse(label=lora.name, weight=1.0, format="wan-original", fingerprint="t", path=str(lora))
    first = np.stack(backend.text_to_video(_request()))
    on = np.stack(backend.text_to_video(_request((use,))))
    off = np.stack(backend.text_to_video(_request()))
    assert np.abs(on.astype(int) - first.astype(int)).max() > 0
    assert np.array_equal(off, first)


def test_non_zero_full_weight_diffs_that_diffusers_drops_are_reported(caplog: pytest.LogCaptureFixture,
                                                                       tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from multishot.backends.diffusers.weights import lora_to_diffusers

    plain = DiffusersBackend("tiny", device="cpu", cache=PipelineCache())
    t = plain.pipeline(Capability.TEXT_TO_VIDEO).pipe.transformer
    state = _extracted_lora(t, tmp_path / "zero.safetensors", RANK, seed=3)
    with caplog.at_level("WARNING", logger="multishot.backends.diffusers.weights"):
        out = lora_to_diffusers(load_file(str(tmp_path / "zero.safetensors")), "wan-original")
    assert not caplog.records and not any(k.endswith(".diff") for k in out)
    state["diffusion_model.blocks.0.norm3.diff"] = torch.full_like(state["diffusion_model.blocks.0.norm3.diff"], 0.1)
    with caplog.at_level("WARNING", logger="multishot.backends.diffusers.weights"):
        lora_to_diffusers(dict(state), "wan-original")
    assert len(caplog.records) == 1 and "blocks.0.norm3.diff" in caplog.text and "1 non-zero" in caplog.text


def test_a_pinned_sha256_refuses_a_damaged_lora_file_before_it_loads(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile's `sha256:` on a LoRA is checked on the load path users hit: the right bytes
    load (and do not change the profile's identity), one flipped byte is refused by name with
    both hashes, and the check is not fooled by the earlier success on the same path."""
    import hashlib

    import yaml

    from multishot.backends.diffusers.loading import ModelNotAvailable
    from multishot.backends.diffusers.profile import load_profile, profile_identity

    monkeypatch.setenv("MULTISHOT_PROFILE_PATH", str(tmp_path / "profiles"))
    plain = DiffusersBackend(_tiny_profile_like("wan-2.1-1.3b-fast", tmp_path, None), device="cpu",
                             cache=PipelineCache())
    lora = tmp_path / "distill_rank4.safetensors"
    _extracted_lora(plain.pipeline(Capability.TEXT_TO_VIDEO).pipe.transformer, lora, RANK, seed=3)
    name = _tiny_profile_like("wan-2.1-1.3b-fast", tmp_path, lora)
    path = tmp_path / "profiles" / f"{name}.yaml"
    unpinned = profile_identity(load_profile(name))
    data = yaml.safe_load(path.read_text())
    good = hashlib.sha256(lora.read_bytes()).hexdigest()
    data["roles"]["text_to_video"]["loras"][0]["sha256"] = good
    path.write_text(yaml.safe_dump(data))
    assert profile_identity(load_profile(name)) == unpinned
    DiffusersBackend(name, device="cpu", cache=PipelineCache()).pipeline(Capability.TEXT_TO_VIDEO)

    raw = bytearray(lora.read_bytes())
    raw[-1] ^= 0xFF
    lora.write_bytes(bytes(raw))
    with pytest.raises(ModelNotAvailable) as err:
        DiffusersBackend(name, device="cpu", cache=PipelineCache()).pipeline(Capability.TEXT_TO_VIDEO)
    text = str(err.value)
    assert good in text and hashlib.sha256(bytes(raw)).hexdigest() in text and "damaged" in text

    data["roles"]["text_to_video"]["loras"][0]["sha256"] = "XYZ"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(Exception, match="sha256"):
        load_profile(name)
