"""Shot-aware attention and joint denoising, on real (tiny, random-weight) diffusers Wan parts.

Everything runs on CPU in float32. The sparse kernels are checked against an explicit dense
mask, the processor against diffusers' own WanAttnProcessor, and joint_denoise end to end on a
tiny WanPipeline (tiny transformer, tiny AutoencoderKLWan, tiny T5 with a tokenizer built here,
since no tokenizer can be downloaded).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from multishot.backends.diffusers.joint import (
    SummaryMemory,
    joint_denoise,
    joint_denoise_latents,
    latent_frames,
    plan_chunks,
)
from multishot.backends.diffusers.shot_attention import (
    JointLayout,
    ShotAttnProcessor,
    build_cross_mask,
    build_mask,
    dense_masked_reference,
    install_shot_attention,
    shot_sparse_attention,
    shot_attention,
    window_cross_attention,
)

diffusers = pytest.importorskip("diffusers")
from diffusers import (  # noqa: E402
    AutoencoderKLWan,
    FlowMatchEulerDiscreteScheduler,
    WanPipeline,
    WanTransformer3DModel,
)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


def qkv(layout: JointLayout, seed: int, B: int = 2, H: int = 2, D: int = 8) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(B, layout.num_tokens, H, D, generator=g) for _ in range(3))


# ---------------------------------------------------------------------------------------------
# The sparse kernel against the explicit mask
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("frames", [(3,), (2, 3), (3, 1, 2), (2, 2, 2, 2, 2), (1, 3, 2, 3, 1)])
@pytest.mark.parametrize("summary,stride", [("first", 1), ("first+last", 1), ("first", 2), ("none", 1)])
def test_sparse_equals_dense_masked_reference(frames: tuple[int, ...], summary: str, stride: int) -> None:
    layout = JointLayout(frames=frames, grid=(3, 4), summary=summary, summary_stride=stride)  # type: ignore[arg-type]
    q, k, v = qkv(layout, seed=len(frames))
    ref = dense_masked_reference(q, k, v, layout)
    assert rel_err(shot_sparse_attention(q, k, v, layout), ref) <= 1e-5
    # Splitting the batched call to bound memory must not change the result.
    assert rel_err(shot_sparse_attention(q, k, v, layout, max_kv_rows=40), ref) <= 1e-5


def test_memory_items_are_fully_visible_and_match_reference() -> None:
    layout = JointLayout(frames=(1, 2, 3, 3), grid=(2, 3), n_memory=2)
    q, k, v = qkv(layout, seed=7)
    mask = build_mask(layout)
    # Every token of both memory items is visible from every query.
    n_mem = 3 * layout.tokens_per_frame
    assert bool(mask[:, :n_mem].all())
    assert rel_err(shot_sparse_attention(q, k, v, layout), dense_masked_reference(q, k, v, layout)) <= 1e-5


def test_flex_attention_path_matches_reference() -> None:
    layout = JointLayout(frames=(2, 3, 2), grid=(2, 4))
    q, k, v = qkv(layout, seed=3)
    out = shot_sparse_attention(q, k, v, layout, impl="flex")
    assert rel_err(out, dense_masked_reference(q, k, v, layout)) <= 1e-5


def test_non_summary_tokens_of_other_shots_get_exactly_zero_weight() -> None:
    layout = JointLayout(frames=(3, 4, 2), grid=(2, 3), summary="first")
    q, k, v = qkv(layout, seed=11)
    base = shot_sparse_attention(q, k, v, layout)
    hw = layout.tokens_per_frame
    s1, n1 = layout.starts[1], layout.item_tokens[1]
    shot0 = slice(0, layout.item_tokens[0])

    k2, v2 = k.clone(), v.clone()
    k2[:, s1 + hw:s1 + n1] += 5.0 * torch.randn_like(k2[:, s1 + hw:s1 + n1])  # shot 1, frames 1..3
    v2[:, s1 + hw:s1 + n1] += 5.0 * torch.randn_like(v2[:, s1 + hw:s1 + n1])
    out = shot_sparse_attention(q, k2, v2, layout)
    assert torch.equal(out[:, shot0], base[:, shot0])
    assert not torch.allclose(out[:, s1:s1 + n1], base[:, s1:s1 + n1])  # shot 1 itself did change

    k3 = k.clone()
    k3[:, s1:s1 + hw] += 5.0 * torch.randn_like(k3[:, s1:s1 + hw])  # shot 1's summary frame
    out = shot_sparse_attention(q, k3, v, layout)
    assert (out[:, shot0] - base[:, shot0]).abs().max() > 1e-3


# ---------------------------------------------------------------------------------------------
# Window cross-attention
# ---------------------------------------------------------------------------------------------


def test_window_cross_attention_reads_only_global_and_own_prompt() -> None:
    text_tokens = 6
    layout = JointLayout.build((2, 3, 2), (2, 2), text_tokens=text_tokens)
    B, H, D = 1, 2, 8
    g = torch.Generator().manual_seed(5)
    q = torch.randn(B, layout.num_tokens, H, D, generator=g)
    k = torch.randn(B, layout.text_total, H, D, generator=g)
    v = torch.randn(B, layout.text_total, H, D, generator=g)
    assert layout.text_total == 4 * text_tokens
    base = window_cross_attention(q, k, v, layout)
    ref = torch.nn.functional.scaled_dot_product_attention(
        q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=build_cross_mask(layout)
    ).transpose(1, 2)
    assert rel_err(base, ref) <= 1e-5

    ranges = [range(s, s + n) for s, n in zip(layout.starts, layout.item_tokens)]
    own = slice(2 * text_tokens, 3 * text_tokens)  # shot 1's prompt
    k2, v2 = k.clone(), v.clone()
    k2[:, own] += 3.0
    v2[:, own] -= 3.0
    out = window_cross_attention(q, k2, v2, layout)
    for i, r in enumerate(ranges):
        sl = slice(r.start, r.stop)
        if i == 1:
            assert (out[:, sl] - base[:, sl]).abs().max() > 1e-3
        else:
            assert torch.equal(out[:, sl], base[:, sl])


# ---------------------------------------------------------------------------------------------
# The processor on a real (tiny) WanTransformer3DModel
# ---------------------------------------------------------------------------------------------


def tiny_transformer(**extra: object) -> WanTransformer3DModel:
    torch.manual_seed(0)
    config: dict = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=16,
                        out_channels=16, text_dim=32, freq_dim=32, ffn_dim=32, num_layers=2, cross_attn_norm=True,
                        qk_norm="rms_norm_across_heads", rope_max_seq_len=64)
    config.update(extra)
    return WanTransformer3DModel(**config).eval()


def run(tr: WanTransformer3DModel, x: torch.Tensor, text: torch.Tensor, **kw: object) -> torch.Tensor:
    with torch.no_grad():
        return tr(x, torch.tensor([700]), text, return_dict=False, **kw)[0]


@pytest.mark.parametrize("rope", ["global", "per_shot"])
def test_single_shot_processor_reproduces_stock_output(rope: str) -> None:
    tr = tiny_transformer()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16, 5, 8, 8, generator=g)
    text = torch.randn(1, 2 * 16, 32, generator=g)  # [global, shot] as one context
    stock = run(tr, x, text)
    originals = [(b.attn1.processor, b.attn2.processor) for b in tr.blocks]
    layout = JointLayout.build([5], (4, 4), text_tokens=16, rope=rope)  # type: ignore[arg-type]
    with shot_attention(tr, layout) as handle:
        assert all(isinstance(p, ShotAttnProcessor) for p in (tr.blocks[0].attn1.processor, tr.blocks[1].attn2.processor))
        assert len(handle.processors) == 4
        ours = run(tr, x, text)
    assert torch.equal(ours, stock)
    assert [(b.attn1.processor, b.attn2.processor) for b in tr.blocks] == originals
    assert torch.equal(run(tr, x, text), stock)


def test_isolated_shots_equal_independent_stock_runs() -> None:
    """With no summaries each shot must come out exactly as if generated alone: RoPE over the
    concatenated grid is relative, so shot 1's later absolute positions do not matter."""
    tr = tiny_transformer()
    g = torch.Generator().manual_seed(1)
    x0, x1 = torch.randn(1, 16, 3, 8, 8, generator=g), torch.randn(1, 16, 4, 8, 8, generator=g)
    glob, p0, p1 = (torch.randn(1, 16, 32, generator=g) for _ in range(3))
    layout = JointLayout.build([3, 4], (4, 4), text_tokens=16, summary="none")
    with install_shot_attention(tr, layout):
        joint = run(tr, torch.cat([x0, x1], dim=2), torch.cat([glob, p0, p1], dim=1))
    alone0 = run(tr, x0, torch.cat([glob, p0], dim=1))
    alone1 = run(tr, x1, torch.cat([glob, p1], dim=1))
    assert rel_err(joint[:, :, :3], alone0) <= 1e-5
    assert rel_err(joint[:, :, 3:], alone1) <= 1e-5


def test_per_shot_rope_makes_identical_shots_identical() -> None:
    """With per-shot RoPE every shot sits at time 0..f-1 and sees the others' summaries at
    time 0, so two identical shots come out identical; with global RoPE shot 1 sees shot 0's
    summary 3 frames back while shot 0 sees shot 1's 3 frames ahead, so they differ."""
    tr = tiny_transformer()
    g = torch.Generator().manual_seed(6)
    shot = torch.randn(1, 16, 3, 8, 8, generator=g)
    glob, p = torch.randn(1, 16, 32, generator=g), torch.randn(1, 16, 32, generator=g)
    x, text = torch.cat([shot, shot], dim=2), torch.cat([glob, p, p], dim=1)
    outs = {}
    for rope in ("per_shot", "global"):
        with install_shot_attention(tr, JointLayout.build([3, 3], (4, 4), text_tokens=16, rope=rope)):
            outs[rope] = run(tr, x, text)
    assert rel_err(outs["per_shot"][:, :, 3:], outs["per_shot"][:, :, :3]) <= 1e-5
    assert rel_err(outs["global"][:, :, 3:], outs["global"][:, :, :3]) > 1e-4


def test_shot_zero_ignores_shot_one_beyond_its_summary_frame() -> None:
    """Shot 0 may see shot 1 only through shot 1's summary frame. In one sparse block that is
    exact: the summary frame's keys come from frame 3's tokens alone. From the second sparse
    block on, shot 1's summary tokens have themselves attended to all of shot 1, so its later
    frames DO reach shot 0 -- that is what makes them summaries. Hence: sparse on block 0,
    shots isolated on block 1 (invariance exact), then sparse everywhere (information flows)."""
    tr = tiny_transformer()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 16, 6, 8, 8, generator=g)  # shot 0: frames 0-2, shot 1: frames 3-5
    text = torch.randn(1, 3 * 16, 32, generator=g)
    later = x.clone()
    later[:, :, 4:] = torch.randn(1, 16, 2, 8, 8, generator=g)  # shot 1's non-summary frames
    first = x.clone()
    first[:, :, 3] = torch.randn(1, 16, 8, 8, generator=g)  # shot 1's summary frame
    other_prompt = text.clone()
    other_prompt[:, 32:] = torch.randn(1, 16, 32, generator=g)  # shot 1's prompt only

    one_block = JointLayout.build([3, 3], (4, 4), text_tokens=16, summary="first", blocks=(0,), outside="isolated")
    with install_shot_attention(tr, one_block):
        base = run(tr, x, text)
        assert torch.equal(run(tr, later, text)[:, :, :3], base[:, :, :3])
        assert (run(tr, first, text)[:, :, :3] - base[:, :, :3]).abs().max() > 1e-4
        out = run(tr, x, other_prompt)
        assert torch.equal(out[:, :, :3], base[:, :, :3])
        assert (out[:, :, 3:] - base[:, :, 3:]).abs().max() > 1e-4

    all_blocks = JointLayout.build([3, 3], (4, 4), text_tokens=16, summary="first")
    with install_shot_attention(tr, all_blocks):
        base = run(tr, x, text)
        assert (run(tr, later, text)[:, :, :3] - base[:, :, :3]).abs().max() > 1e-6
        # One prompt shared by all shots (the CFG negative) takes the stock dense path.
        assert run(tr, x, text[:, :16]).shape == x.shape


def test_fused_projections_and_i2v_image_branch_match_stock() -> None:
    tr = tiny_transformer(added_kv_proj_dim=32, image_dim=24)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 16, 2, 8, 8, generator=g)
    text = torch.randn(1, 512, 32, generator=g)  # the stock I2V processor hard-codes 512 text tokens
    image = torch.randn(1, 257, 24, generator=g)
    stock = run(tr, x, text, encoder_hidden_states_image=image)
    layout = JointLayout.build([2], (4, 4), text="own")
    with install_shot_attention(tr, layout):
        assert torch.equal(run(tr, x, text, encoder_hidden_states_image=image), stock)
    tr2 = tiny_transformer()
    x2, t2 = torch.randn(1, 16, 2, 8, 8, generator=g), torch.randn(1, 16, 32, generator=g)
    for block in tr2.blocks:
        block.attn1.fuse_projections()
        block.attn2.fuse_projections()
    stock2 = run(tr2, x2, t2)
    with install_shot_attention(tr2, JointLayout.build([2], (4, 4), text="own", text_tokens=16)):
        assert torch.equal(run(tr2, x2, t2), stock2)


def test_block_range_and_both_transformers() -> None:
    a, b = tiny_transformer(), tiny_transformer()
    layout = JointLayout.build([2, 2], (4, 4), text_tokens=16)
    with install_shot_attention([a, None, b], layout, blocks=[1]) as handle:
        assert len(handle.processors) == 8
        assert a.blocks[0].attn1.processor.self_mode == "full"
        assert b.blocks[1].attn1.processor.self_mode == "sparse"
        assert b.blocks[0].attn2.processor.cross_mode == "window"
    assert not isinstance(b.blocks[0].attn1.processor, ShotAttnProcessor)


def test_wrong_token_count_is_a_clear_error() -> None:
    tr = tiny_transformer()
    with install_shot_attention(tr, JointLayout.build([3, 3], (4, 4), text_tokens=16)):
        with pytest.raises(ValueError, match="layout describes"):
            run(tr, torch.randn(1, 16, 5, 8, 8), torch.randn(1, 48, 32))


# ---------------------------------------------------------------------------------------------
# joint_denoise on a tiny WanPipeline
# ---------------------------------------------------------------------------------------------


def tiny_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = "a the man woman walks runs red blue car city at night day rain sun looks camera close wide".split()
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(words)}}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


@pytest.fixture(scope="module")
def tiny_pipe() -> WanPipeline:
    from transformers import T5Config, T5EncoderModel

    tok = tiny_tokenizer()
    torch.manual_seed(0)
    text_encoder = T5EncoderModel(T5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2,
                                           num_heads=4, relative_attention_num_buckets=8)).eval()
    torch.manual_seed(0)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True]).eval()
    pipe = WanPipeline(tokenizer=tok, text_encoder=text_encoder, vae=vae,
                       scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), transformer=tiny_transformer())
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_joint_denoise_returns_clean_per_shot_clips_deterministically(tiny_pipe: WanPipeline) -> None:
    args = (["a man walks", "a woman runs at night", "red car"], "city rain", "blue", [5, 9, 1], 32, 48, 2, 3.0)
    first = joint_denoise(tiny_pipe, *args, torch.Generator().manual_seed(0), max_sequence_length=16)
    again = joint_denoise(tiny_pipe, *args, torch.Generator().manual_seed(0), max_sequence_length=16)
    other = joint_denoise(tiny_pipe, *args, torch.Generator().manual_seed(1), max_sequence_length=16)
    assert [f.shape for f in first] == [(5, 32, 48, 3), (9, 32, 48, 3), (1, 32, 48, 3)]
    assert all(f.dtype == np.uint8 for f in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    # The stock processors are back after the call.
    assert not isinstance(tiny_pipe.transformer.blocks[0].attn1.processor, ShotAttnProcessor)


@pytest.mark.parametrize("mode", ["renoise", "clean"])
def test_memory_from_a_previous_chunk_conditions_the_next(tiny_pipe: WanPipeline, mode: str) -> None:
    common = dict(max_sequence_length=16, text="own")
    prev = joint_denoise_latents(tiny_pipe, ["a man walks", "a woman runs"], "city", "", [5, 5], 32, 32, 2, 1.0,
                                 torch.Generator().manual_seed(0), decode=False, **common)
    memory = prev.memory(last_k=2, mode=mode)  # type: ignore[arg-type]
    assert memory.frames == (1, 1) and memory.latents.shape == (1, 16, 2, 4, 4)
    with_mem = joint_denoise_latents(tiny_pipe, ["red car"], "city", "", [5], 32, 32, 2, 1.0,
                                     torch.Generator().manual_seed(0), memory=memory, **common)
    without = joint_denoise_latents(tiny_pipe, ["red car"], "city", "", [5], 32, 32, 2, 1.0,
                                    torch.Generator().manual_seed(0), **common)
    assert with_mem.layout.n_memory == 2 and with_mem.frames[0].shape == (5, 32, 32, 3)
    assert not torch.equal(with_mem.latents[0], without.latents[0])
    assert memory.tail(1).frames == (1,)


def test_latent_frames_and_chunk_plans() -> None:
    assert latent_frames(81) == 21 and latent_frames(1) == 1
    with pytest.raises(ValueError):
        latent_frames(80)
    assert plan_chunks(13) == [range(0, 13)]
    assert plan_chunks(14) == [range(0, 7), range(7, 14)]
    assert [len(c) for c in plan_chunks(27)] == [9, 9, 9]
    chunks = plan_chunks(6, token_budget=100_000, tokens_per_shot=[30_000, 30_000, 60_000, 10_000, 10_000, 10_000])
    assert [list(c) for c in chunks] == [[0, 1], [2, 3, 4, 5]]
    assert [len(c) for c in plan_chunks(5, token_budget=100_000, tokens_per_shot=32_760)] == [2, 3]
    assert [len(c) for c in plan_chunks(4, token_budget=100_000, tokens_per_shot=30_000,
                                        reserve_tokens=40_000)] == [2, 2]
    with pytest.raises(ValueError):
        plan_chunks(2, token_budget=1000, tokens_per_shot=2000)
    mem = SummaryMemory(torch.zeros(1, 4, 3, 2, 2), (1, 2), ("a", "b"))
    assert mem.tail(1).latents.shape[2] == 2
