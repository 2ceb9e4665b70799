"""Joint modes end to end on real tiny diffusers parts: the continuous layout (one video, cuts
at 4t+1 frames, one decode), the negative prompt read densely, the profile `joint:` section
and the transition paradigm generating hard-cut runs as one CineTrans video."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from conftest import small_film, write_film
from multishot.backends.diffusers.joint import group_frames, joint_denoise_latents
from multishot.backends.diffusers.joint_modes import JointMode
from multishot.backends.diffusers.shot_attention import JointLayout, install_shot_attention
from test_shot_attention import tiny_pipe, tiny_transformer  # noqa: F401  (fixture and factory)

HOLOCINE_FULL = JointMode(layout="continuous", text="holocine", self_attention="full")


def test_continuous_group_snaps_cuts_like_holocine() -> None:
    g = group_frames([13, 12, 12], HOLOCINE_FULL)
    assert g.latent == (4, 3, 3) and g.num_frames == 37
    assert g.pixel_bounds == ((0, 13), (13, 25), (25, 37))
    # Memory frames come first and lengthen the generated video; pixel cuts are the shots' own.
    m = group_frames([13, 12, 12], HOLOCINE_FULL, memory_frames=(2,))
    assert m.latent == (2, 4, 3, 3) and m.num_frames == 45 and m.pixel_bounds == g.pixel_bounds
    # Lengths that are not 4k+1 move the cut to the nearest 4t+1 frame (HoloCine's rounding).
    assert group_frames([10, 10], HOLOCINE_FULL).pixel_bounds == ((0, 9), (9, 21))
    stacked = group_frames([13, 9, 9], JointMode())
    assert stacked.latent == (4, 3, 3) and stacked.pixel_bounds is None and stacked.num_frames == 37


def test_cinetrans_band_scales_with_depth() -> None:
    mode = JointMode(self_attention="cinetrans")
    assert mode.band_blocks(30) == tuple(range(6, 28))
    assert mode.band_blocks(5) == (1, 2, 3)
    assert JointMode(self_attention="cinetrans", band=(1, 1)).band_blocks(2) == (1,)
    kw = mode.layout_kwargs(30)
    assert kw["summary"] == "video_first" and kw["cross_outside"] == "dense"


def test_profile_joint_section_is_checked() -> None:
    from pydantic import ValidationError

    from multishot.backends.diffusers.profile import JointSpec
    from multishot.backends.registry import load_profile

    with pytest.raises(ValidationError, match="band only applies"):
        JointSpec(self_attention="full", band=(6, 27))
    with pytest.raises(ValidationError):
        JointSpec(self_attention="dense")
    # Each HoloCine checkpoint is paired with the attention it was trained with.
    for name, mode, files in (("holocine", "full", "full/full_"), ("holocine-sparse", "sparse", "sparse/sparse_")):
        role = load_profile(name).roles[next(c for c in load_profile(name).roles if c.value == "joint_shots")]
        assert role.joint is not None and role.joint.self_attention == mode and role.joint.max_frames == 241
        assert role.joint.layout == "continuous" and role.joint.text == "holocine"
        assert all(files in w.filename for w in role.weights_override)


def test_negative_prompt_is_read_densely() -> None:
    """With HoloCine's one-prompt context the negative has the positive's length; the hook must
    still tell them apart. Full self-attention + dense cross = the stock transformer, so the
    negative call must equal a stock forward and the positive call must not."""
    model = tiny_transformer().eval()
    torch.manual_seed(3)
    lat = torch.randn(1, 16, 3, 4, 6)
    pos, neg = torch.randn(1, 16, 32), torch.randn(1, 16, 32)
    t = torch.tensor([900.0])
    layout = JointLayout(frames=(2, 1), grid=(2, 3), text_tokens=16, text_spans=(((0, 6), (6, 10)), ((0, 6), (10, 16))),
                         **HOLOCINE_FULL.layout_kwargs(len(model.blocks)))
    with torch.no_grad():
        stock_neg = model(hidden_states=lat, timestep=t, encoder_hidden_states=neg, return_dict=False)[0]
        stock_pos = model(hidden_states=lat, timestep=t, encoder_hidden_states=pos, return_dict=False)[0]
        with install_shot_attention(model, layout) as handle:
            handle.watch_negative(model, neg)
            ours_neg = model(hidden_states=lat, timestep=t, encoder_hidden_states=neg, return_dict=False)[0]
            ours_pos = model(hidden_states=lat, timestep=t, encoder_hidden_states=pos, return_dict=False)[0]
    assert torch.allclose(ours_neg, stock_neg, atol=1e-5)
    assert (ours_pos - stock_pos).abs().max() > 1e-3


def test_continuous_layout_decodes_the_group_once(tiny_pipe: Any) -> None:  # noqa: F811
    calls: list[tuple[int, ...]] = []
    real = tiny_pipe.vae.decode

    def counting(z: torch.Tensor, *a: Any, **k: Any) -> Any:  # a spy: the real decode still runs
        calls.append(tuple(z.shape))
        return real(z, *a, **k)

    tiny_pipe.vae.decode = counting
    try:
        res = joint_denoise_latents(tiny_pipe, ["a man walks", "a woman runs", "red car"], "city at night", "blue",
                                    [13, 12, 12], 32, 48, 2, 3.0, torch.Generator().manual_seed(0),
                                    mode=HOLOCINE_FULL, max_sequence_length=64)
    finally:
        tiny_pipe.vae.decode = real
    assert len(calls) == 1 and calls[0][2] == 10  # one decode of all 10 latent frames
    assert [f.shape[0] for f in res.frames] == [13, 12, 12]
    assert [lat.shape[2] for lat in res.latents] == [4, 3, 3]


def test_holocine_prompt_longer_than_the_encoder_is_a_clear_error(tiny_pipe: Any) -> None:  # noqa: F811
    with pytest.raises(ValueError, match=r"needs \d+ tokens but the text encoder reads 16"):
        joint_denoise_latents(tiny_pipe, ["a man walks"] * 3, "city at night", "blue", [5, 4, 4], 32, 48, 1, 1.0,
                              torch.Generator().manual_seed(0), mode=HOLOCINE_FULL, max_sequence_length=16)


class JointSpy:
    """The real tiny-cinetrans backend, keeping which shots each joint call generated."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.groups: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def joint_shots(self, reqs, memory=None):  # type: ignore[no-untyped-def]
        self.groups.append([r.layout.shot_id for r in reqs])
        return self._inner.joint_shots(reqs, memory=memory)


def test_transition_on_cinetrans_generates_each_hard_cut_run_as_one_video(tmp_path: Path) -> None:
    from multishot.backends.registry import get_backend
    from multishot.paradigms.base import RenderOptions
    from multishot.paradigms.runner import render_file

    data = small_film()
    shots = data["scenes"][0]["shots"]
    for s in shots:
        s.pop("transition", None)
    shots[0]["transition"] = "cut"
    shots[1]["transition"] = "cut"
    shots[2]["transition"] = {"type": "dissolve", "duration": 0.5}
    film = write_film(tmp_path / "film.yaml", data)
    spy = JointSpy(get_backend("tiny-cinetrans"))
    result = render_file(film, RenderOptions(out_root=tmp_path / "r", paradigm="transition", profile="tiny-cinetrans",
                                             review=False), pool=lambda profile: spy)
    assert result.status == "complete", result
    # Scene 1: wide | mara | tomas cut together (one video); the dissolve and the scene change
    # split the groups.
    assert spy.groups[0] == ["wide", "mara", "tomas"]
    assert all(len(g) >= 1 for g in spy.groups) and sum(len(g) for g in spy.groups) == 5


def test_holocine_profiles_receive_holocine_captions(tmp_path: Path, film_file: Path) -> None:
    """On a HoloCine-text profile the joint requests carry HoloCine's captions: each character
    introduced once as `[characterN] is ...` in the global caption, named by tag in the shots."""
    from multishot.backends.registry import get_backend
    from multishot.paradigms.base import RenderOptions
    from multishot.paradigms.runner import render_file

    seen: list[Any] = []

    class Spy(JointSpy):
        def joint_shots(self, reqs, memory=None):  # type: ignore[no-untyped-def]
            seen.extend(reqs)
            return super().joint_shots(reqs, memory=memory)

    spy = Spy(get_backend("tiny"))
    result = render_file(film_file, RenderOptions(out_root=tmp_path, paradigm="holistic", profile="tiny", review=False),
                         pool=lambda profile: spy)
    assert result.status == "complete"
    by_id = {r.layout.shot_id: r for r in seen}
    assert "[character1] is a woman in a yellow oilskin raincoat" in by_id["mara"].global_prompt
    assert "[character1]" in by_id["mara"].shot_prompt and "raincoat" not in by_id["mara"].shot_prompt
    both = by_id["both"]
    assert "[character1]" in both.shot_prompt and "[character2]" in both.shot_prompt
