"""LoRAs in profiles: a CineTrans-layout LoRA (peft-style keys on original-Wan modules, as its
training code saves them) goes through multishot's profile -> loading path into the real tiny
Wan transformer with diffusers' LoRA loading (peft), and computes what CineTrans's own loader
computes: every targeted weight becomes W + scale * B @ A."""

from __future__ import annotations

import copy
from pathlib import Path

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
