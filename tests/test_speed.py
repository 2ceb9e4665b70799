"""Speed settings (issue 13) on the real tiny Wan pipelines: each setting changes the code path
that runs, the lossless ones keep the frames within float tolerance, the lossy ones change them,
and a fast render is cached apart from a full one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import ROOT
from multishot.backends.base import Capability, ShotLayout, ShotRequest
from multishot.backends.diffusers.backend import DiffusersBackend
from multishot.backends.diffusers.loading import PipelineCache
from multishot.backends.diffusers.profile import ProfileError, load_profile

TINY = ROOT / "multishot" / "backends" / "profiles" / "tiny.yaml"


def _request(seed: int = 3) -> ShotRequest:
    layout = ShotLayout(shot_id="s1", scene_id="a", location_id="cliffs", location="black cliffs", time="dusk",
                        weather=None, size="wide", angle=None, movement=None)
    return ShotRequest(prompt="a man walks by the sea", negative="blurry", width=64, height=64, num_frames=17,
                       fps=16, seed=seed, layout=layout, shot_prompt="a man walks by the sea", global_prompt="")


def _profile(tmp_path: Path, name: str, **t2v: object) -> Path:
    """A copy of `tiny` with only its text_to_video role, with these settings on it."""
    data = yaml.safe_load(TINY.read_text())
    role = dict(data["roles"]["text_to_video"])
    role.update(t2v)
    folder = tmp_path / "profiles"
    folder.mkdir(exist_ok=True)
    out = {"name": name, "backend": "diffusers", "licence": "test", "roles": {"text_to_video": role}}
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(out))
    return folder


def _run(backend: DiffusersBackend) -> tuple[np.ndarray, int]:
    """The frames of one text-to-video call and how often the last block's attention ran."""
    pipe = backend.pipeline(Capability.TEXT_TO_VIDEO).pipe
    calls = [0]
    hook = pipe.transformer.blocks[-1].attn1.to_q.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        frames = np.stack(backend.text_to_video(_request()))
    finally:
        hook.remove()
    return frames, calls[0]


@pytest.mark.parametrize("cache", [{"kind": "first_block", "threshold": 10.0},
                                   {"kind": "taylorseer", "interval": 3, "warmup_steps": 1}])
def test_a_step_cache_skips_block_work_and_changes_the_frames(
        cache: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = {"steps": 6, "guidance": 1.0}
    monkeypatch.setenv("MULTISHOT_PROFILE_PATH", str(_profile(tmp_path, "sp", **settings, fast={"cache": cache})))
    shared = PipelineCache()
    plain, plain_calls = _run(DiffusersBackend("sp", device="cpu", cache=shared))
    fast, fast_calls = _run(DiffusersBackend("sp", device="cpu", cache=shared, fast=True))
    again, again_calls = _run(DiffusersBackend("sp", device="cpu", cache=shared))
    assert plain_calls == 6  # one forward per step without CFG
    assert fast_calls < plain_calls  # the cache skipped the last block on some steps ...
    assert np.abs(fast.astype(int) - plain.astype(int)).max() > 0  # ... which is lossy
    # The cache is enabled for the call only: the same loaded pipeline runs uncached again.
    assert again_calls == plain_calls and np.array_equal(again, plain)
    assert shared.pipeline_loads == 1


def test_regional_compile_keeps_the_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setenv("MULTISHOT_PROFILE_PATH", str(_profile(tmp_path, "cp", steps=1, guidance=1.0, frames=5,
                                                              max_frames=5, fast={"compile": True})))
    torch._dynamo.reset()
    shared = PipelineCache()
    plain, _ = _run(DiffusersBackend("cp", device="cpu", cache=shared))
    fast_backend = DiffusersBackend("cp", device="cpu", cache=shared, fast=True)
    compiled, calls = _run(fast_backend)
    blocks = fast_backend.pipeline(Capability.TEXT_TO_VIDEO).pipe.transformer.blocks
    assert all(type(b._orig_mod if hasattr(b, "_orig_mod") else b).__name__ == "WanTransformerBlock" for b in blocks)
    assert all(getattr(b, "_compiled_call_impl", None) is not None for b in blocks)  # compiled in place
    # The compiled graph ran, not the eager blocks: a hook added inside a compiled region after
    # compilation never fires. A compiled transformer is its own cache entry.
    assert calls == 0 and shared.pipeline_loads == 2
    # Lossless to float tolerance: uint8 frames may differ by a rounding step at most.
    assert np.abs(compiled.astype(int) - plain.astype(int)).max() <= 1
    torch._dynamo.reset()


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "multishot.cli.main", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def test_magcache_is_refused_until_calibrated_then_reads_the_stored_ratios(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    folder = _profile(tmp_path, "mc", steps=4, guidance=1.0,
                      fast={"cache": {"kind": "magcache", "threshold": 0.5, "retention_ratio": 0.25}})
    monkeypatch.setenv("MULTISHOT_PROFILE_PATH", str(folder))
    with pytest.raises(ProfileError, match="profiles calibrate mc"):
        DiffusersBackend("mc", device="cpu", cache=PipelineCache(), fast=True)
    assert DiffusersBackend("mc", device="cpu", cache=PipelineCache())  # without --fast it needs none

    env = {**os.environ, "MULTISHOT_PROFILE_PATH": str(folder)}
    done = _cli("profiles", "calibrate", "mc", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    stored = json.loads((folder / "mc.magcache.json").read_text())
    ratios = stored["roles"]["text_to_video"]["ratios"]
    assert stored["roles"]["text_to_video"]["steps"] == 4 and len(ratios) == 4 and ratios[0] == 1.0
    assert all(r > 0 for r in ratios) and len(set(ratios)) > 1  # measured, not a constant

    fast = DiffusersBackend("mc", device="cpu", cache=PipelineCache(), fast=True)
    assert fast.profile.roles[Capability.TEXT_TO_VIDEO].mag_ratios == tuple(ratios)
    frames, calls = _run(fast)
    assert frames.shape == (17, 64, 64, 3) and 1 <= calls <= 4

    # A damaged calibration file is named, not silently ignored.
    (folder / "mc.magcache.json").write_text("{not json")
    with pytest.raises(ProfileError, match="mc.magcache.json is damaged"):
        load_profile("mc")


def test_fast_render_is_cached_apart_and_shown_in_plan_and_manifest(film_file: Path, tmp_path: Path) -> None:
    import os

    env = dict(os.environ)
    out = tmp_path / "renders"
    base = ["render", str(film_file), "--profile", "tiny", "--out", str(out), "--no-review", "--json"]
    full = _cli(*base, env=env, cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    fast = _cli(*base, "--fast", env=env, cwd=tmp_path)
    assert fast.returncode == 0, fast.stderr
    first, second = json.loads(full.stdout.splitlines()[-1]), json.loads(fast.stdout.splitlines()[-1])
    assert second["rendered"] > 0  # a fast render never reuses the full render's shots
    manifest = json.loads(Path(second["manifest"]).read_text())
    assert manifest["fast"] is True
    assert "first_block cache" in manifest["speed"]["tiny"]["text_to_video"]
    again = json.loads(_cli(*base, env=env, cwd=tmp_path).stdout.splitlines()[-1])
    assert again["rendered"] == 0 and again["cached"] == first["rendered"] + first["cached"]
    shown = _cli("plan", str(film_file), "--profile", "tiny", "--fast", "--out", str(out), env=env, cwd=tmp_path)
    assert shown.returncode == 0 and "first_block cache" in shown.stdout and "--fast" in shown.stdout
    # A diffusers profile without fast settings refuses --fast before any work.
    refused = _cli("render", str(film_file), "--profile", "tiny-cinetrans", "--fast", "--out", str(out),
                   env=env, cwd=tmp_path)
    assert refused.returncode == 2 and "no `fast:` settings" in " ".join(refused.stderr.split())


def test_attention_backend_is_set_through_diffusers_dispatch_and_keeps_the_frames(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MULTISHOT_PROFILE_PATH", str(_profile(tmp_path, "ab", steps=2, guidance=1.0,
                                                              fast={"attention_backend": "_native_math"})))
    shared = PipelineCache()
    plain, _ = _run(DiffusersBackend("ab", device="cpu", cache=shared))
    fast = DiffusersBackend("ab", device="cpu", cache=shared, fast=True)
    chosen, _ = _run(fast)
    processors = [m.processor for m in fast.pipeline(Capability.TEXT_TO_VIDEO).pipe.transformer.modules()
                  if hasattr(m, "processor")]
    assert processors and all(getattr(p._attention_backend, "value", None) == "_native_math" for p in processors)
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry

    assert _AttentionBackendRegistry.get_active_backend()[0].value == "native"  # other models keep theirs
    assert np.abs(chosen.astype(int) - plain.astype(int)).max() <= 1
    with pytest.raises(Exception, match="attention backend `no-such-kernel`"):
        monkeypatch.setenv("MULTISHOT_PROFILE_PATH", str(_profile(tmp_path, "ab2", steps=2, guidance=1.0,
                                                                  fast={"attention_backend": "no-such-kernel"})))
        DiffusersBackend("ab2", device="cpu", cache=PipelineCache(), fast=True).pipeline(Capability.TEXT_TO_VIDEO)


def test_frames_leave_the_device_as_uint8_bit_identical_to_the_float_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backend asks the pipeline for tensors and makes uint8 frames on the generating
    device (backend._frames_of); the frames are bit for bit the ones the float "np" output +
    `to_uint8` on the host gives, the path it replaced."""
    import functools

    backend = DiffusersBackend("tiny", device="cpu", cache=PipelineCache())
    req = _request()
    new = np.stack(backend.text_to_video(req))
    cls = type(backend.pipeline(Capability.TEXT_TO_VIDEO).pipe)
    original = cls.__call__
    seen: list[str] = []

    @functools.wraps(original)
    def as_numpy(self: object, *args: object, **kwargs: object) -> object:
        seen.append(str(kwargs["output_type"]))
        return original(self, *args, **{**kwargs, "output_type": "np"})

    monkeypatch.setattr(cls, "__call__", as_numpy)
    old = np.stack(backend.text_to_video(req))
    assert seen == ["pt"]
    assert new.dtype == np.uint8 and len(np.unique(new)) > 16  # real frames, not a saturated constant
    assert np.array_equal(new, old)
