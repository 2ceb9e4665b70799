"""Per-shot and per-character LoRAs (issue 13 item 3) through the real path: the shot list
names a safetensors file, the planner resolves it, the tiny Wan transformer gets it with
diffusers' LoRA loading, switched per shot on the one loaded model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import save_file

from conftest import small_film, write_film
from multishot.backends.base import Capability, LoraUse, ShotLayout, ShotRequest
from multishot.backends.diffusers.backend import DiffusersBackend
from multishot.backends.diffusers.loading import PipelineCache
from multishot.shotlist.errors import ShotListError
from multishot.shotlist.loader import load_film


def _lora(path: Path, dim: int, layers: int, seed: int, rank: int = 4) -> Path:
    """A random LoRA in diffusers' PEFT layout on every self-attention query and value."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for i in range(layers):
        for proj in ("to_q", "to_v"):
            state[f"transformer.blocks.{i}.attn1.{proj}.lora_A.weight"] = 0.3 * torch.randn(rank, dim, generator=gen)
            state[f"transformer.blocks.{i}.attn1.{proj}.lora_B.weight"] = 0.3 * torch.randn(dim, rank, generator=gen)
    save_file(state, str(path))
    return path


def _request(loras: tuple[LoraUse, ...] = ()) -> ShotRequest:
    layout = ShotLayout(shot_id="s1", scene_id="a", location_id="cliffs", location="black cliffs", time="dusk",
                        weather=None, size="wide", angle=None, movement=None)
    return ShotRequest(prompt="a man walks by the sea", negative="blurry", width=64, height=64, num_frames=5,
                       fps=16, seed=3, layout=layout, loras=loras)


def _use(path: Path, weight: float = 1.0) -> LoraUse:
    return LoraUse(label=path.name, weight=weight, format="diffusers", fingerprint="t", path=str(path))


def test_shot_loras_switch_on_one_loaded_model_and_off_again_bit_for_bit(tmp_path: Path) -> None:
    cache = PipelineCache()
    backend = DiffusersBackend("tiny", device="cpu", cache=cache)
    t = backend.pipeline(Capability.TEXT_TO_VIDEO).pipe.transformer
    dim, layers = t.config.num_attention_heads * t.config.attention_head_dim, t.config.num_layers
    a, b = _lora(tmp_path / "a.safetensors", dim, layers, 1), _lora(tmp_path / "b.safetensors", dim, layers, 2)

    plain = np.stack(backend.text_to_video(_request()))
    with_a = np.stack(backend.text_to_video(_request((_use(a),))))
    with_b = np.stack(backend.text_to_video(_request((_use(b),))))
    with_a_half = np.stack(backend.text_to_video(_request((_use(a, 0.5),))))
    again = np.stack(backend.text_to_video(_request()))
    assert not np.array_equal(plain, with_a) and not np.array_equal(with_a, with_b)
    assert not np.array_equal(with_a, with_a_half)  # the weight is applied
    assert np.array_equal(plain, again)  # LoRA off: exactly the base model again
    assert np.array_equal(with_a, np.stack(backend.text_to_video(_request((_use(a),)))))
    assert cache.pipeline_loads == 1  # switching never reloads the base model


def _film_with_loras(tmp_path: Path, char_lora: str, shot_lora: str) -> Path:
    data = small_film()
    first_char = next(iter(data["characters"]))
    data["characters"][first_char]["lora"] = {"path": char_lora, "format": "diffusers", "weight": 0.8}
    shot = data["scenes"][0]["shots"][0]
    shot["loras"] = [{"path": shot_lora, "format": "diffusers"}]
    shot.setdefault("characters", [first_char])
    return write_film(tmp_path / "film.yaml", data)


def test_shot_list_loras_are_checked_with_file_and_line(tmp_path: Path) -> None:
    t_dim, layers = 16, 2
    _lora(tmp_path / "mara.safetensors", t_dim, layers, 1)
    save_file({"weight": torch.zeros(2)}, str(tmp_path / "not_a_lora.safetensors"))
    (tmp_path / "broken.safetensors").write_bytes(b"\x00\x01not safetensors")
    (tmp_path.parent / "outside.safetensors").write_bytes(b"")
    path = _film_with_loras(tmp_path, "mara.safetensors", "not_a_lora.safetensors")
    with pytest.raises(ShotListError) as err:
        load_film(path)
    (problem,) = err.value.problems
    assert problem.line is not None and "loras[0].path" in str(problem) and "holds no LoRA weights" in str(problem)

    for bad, expect in (("broken.safetensors", "not a safetensors file"), ("../outside.safetensors", "leaves"),
                        ("weights.pt", "only .safetensors")):
        path = _film_with_loras(tmp_path, bad, "mara.safetensors")
        with pytest.raises(ShotListError) as err:
            load_film(path)
        assert any("lora" in str(p) and expect in str(p) for p in err.value.problems), err.value.problems

    film = load_film(_film_with_loras(tmp_path, "mara.safetensors", "mara.safetensors"))
    from multishot.plan.film_plan import build_plan

    plan = build_plan(film, tmp_path / "film.yaml")
    first = plan.shots[0]
    # The character's LoRA, then the shot's own; resolved inside the folder; in the cache key.
    assert [lo.weight for lo in first.loras] == [0.8, 1.0]
    assert all(Path(lo.path).parent == tmp_path for lo in first.loras)
    assert "loras" in first.cache_fields()
    assert not plan.shots[-1].loras and "loras" not in plan.shots[-1].cache_fields()  # keys of others unchanged


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "multishot.cli.main", *args], capture_output=True, text=True,
                          env=dict(os.environ), cwd=cwd, timeout=600)


def test_render_with_a_lora_for_another_model_fails_before_any_work_then_renders_with_a_fitting_one(
        tmp_path: Path) -> None:
    backend = DiffusersBackend("tiny", device="cpu", cache=PipelineCache())
    t = backend.pipeline(Capability.TEXT_TO_VIDEO).pipe.transformer
    dim, layers = t.config.num_attention_heads * t.config.attention_head_dim, t.config.num_layers
    _lora(tmp_path / "wrong.safetensors", dim * 2, layers, 1)  # a LoRA for a wider model
    _lora(tmp_path / "right.safetensors", dim, layers, 2)
    out = tmp_path / "renders"
    film = _film_with_loras(tmp_path, "right.safetensors", "wrong.safetensors")
    done = _cli("render", str(film), "--profile", "tiny", "--out", str(out), "--json", "--no-review", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    said = " ".join(done.stderr.split())
    assert "wrong.safetensors" in said and "does not fit" in said and "shot `" in said and "Traceback" not in said
    assert not out.exists()  # refused before any folder or work

    film = _film_with_loras(tmp_path, "right.safetensors", "right.safetensors")
    done = _cli("render", str(film), "--profile", "tiny", "--out", str(out), "--json", "--no-review", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout.splitlines()[-1])
    # A new weight for the character's LoRA re-renders the shots it is in, and only those.
    data = yaml.safe_load(film.read_text())
    cid = next(iter(data["characters"]))
    data["characters"][cid]["lora"]["weight"] = 0.3
    film.write_text(yaml.safe_dump(data))
    done = _cli("render", str(film), "--profile", "tiny", "--out", str(out), "--json", "--no-review", cwd=tmp_path)
    second = json.loads(done.stdout.splitlines()[-1])
    with_char = sum(1 for sc in data["scenes"] for sh in sc["shots"] if cid in sh.get("characters", []))
    assert done.returncode == 0 and 0 < second["rendered"] < first["rendered"] + first["cached"]
    assert with_char >= 1
