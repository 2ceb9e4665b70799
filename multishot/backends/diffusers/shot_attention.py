"""Shot-aware attention for the diffusers Wan transformer: the core of the holistic paradigm.

Several shots are denoised as ONE latent video, laid out shot after shot along the latent frame
axis. Two attention rules turn that long video into a multi-shot film (HoloCine, arXiv
2510.20822; CineTrans, arXiv 2508.11484), both training-free on a stock Wan checkpoint:

* self-attention (``attn1``) is *inter-shot sparse*: a query in shot i attends densely to every
  token of shot i and, for every other shot j, only to j's *summary* tokens (by default the
  tokens of j's first latent frame). Shots stay coherent (same people, same place) through the
  summaries while each shot keeps its own motion, and the cost grows ~linearly in the number of
  shots instead of quadratically;
* cross-attention (``attn2``) is *windowed*: the text context is the concatenation
  ``[global, shot_1, ..., shot_N]`` (each a fixed number of tokens, 512 for Wan's umT5), and the
  tokens of shot i read only ``global + shot_i`` so each shot follows its own prompt.

Tensor layout (explicit, because diffusers and SDPA disagree): every attention function here
takes and returns **(B, L, H, D)** -- batch, sequence, heads, head dim -- which is what diffusers'
Wan processors hold just before ``dispatch_attention_fn``. SDPA wants (B, H, L, D); we transpose
views, never copies, at the call.

How the sparse attention stays exact and fast: per shot i the key set is
``[tokens of shot i] ++ [summary tokens of all j != i]``, gathered with one ``index_select``.
Shots of equal length are stacked in the batch dimension (B*S, n, H, D) so ONE attention kernel
(flash / cuDNN through SDPA on H100, or any diffusers attention backend) serves all shots -- no
Python loop over shots, no L x L mask. The gather copies ``S*(n+G)`` key/value rows per layer,
a few ms on H100 against a few hundred ms of attention; a log-sum-exp merge of (own shot) and
(summary pool) attention would save that copy but needs private aten ops that return the LSE,
so it is not worth the fragility. ``impl="flex"`` runs the same rule through FlexAttention's
block-sparse kernel as an alternative to benchmark against.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Literal, Sequence

import torch
import torch.nn.functional as F

SummaryMode = Literal["first", "first+last", "none", "all", "video_first"]
SelfMode = Literal["sparse", "full", "isolated"]
CrossMode = Literal["window", "dense"]
RopeMode = Literal["global", "per_shot"]
AttnFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

#: Tokens per prompt for Wan's umT5 encoder (the pipeline pads every prompt to this length).
WAN_TEXT_TOKENS = 512
#: CLIP image tokens Wan 2.1 I2V prepends to the text context (FLF2V uses two images: 514).
WAN_IMAGE_TOKENS = 257


# --------------------------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------------------------


def window_text_spans(n_items: int, text_tokens: int = WAN_TEXT_TOKENS) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Text spans for the context ``[global, item_0, ..., item_{n-1}]``: item k reads the global
    prompt and its own prompt (HoloCine's window cross-attention)."""
    glob = (0, text_tokens)
    return tuple((glob, ((k + 1) * text_tokens, (k + 2) * text_tokens)) for k in range(n_items))


def own_text_spans(n_items: int, text_tokens: int = WAN_TEXT_TOKENS) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Text spans for the context ``[item_0, ..., item_{n-1}]`` where each item's prompt already
    contains the global text ("fused" prompts): item k reads only its own prompt."""
    return tuple((((k * text_tokens), (k + 1) * text_tokens),) for k in range(n_items))


@dataclass(frozen=True)
class JointLayout:
    """Where each shot lives in the joint token sequence, and what it may see.

    The joint latent video is ``frames[0] + frames[1] + ...`` latent frames long; after
    patchify every latent frame is ``grid[0] * grid[1]`` tokens, flattened frame-major, which is
    the order WanTransformer3DModel uses. The first ``n_memory`` items are *memory* items:
    summary frames of shots generated earlier (streaming / chunked films). They are not outputs;
    all of their tokens are visible to every shot.
    """

    #: Latent frames of each item (memory items first, then the shots), e.g. (21, 21, 21).
    frames: tuple[int, ...]
    #: Post-patchify (height, width) of one latent frame; tokens per frame = h * w.
    grid: tuple[int, int]
    #: Which frames of a shot the other shots see: "first" latent frame (HoloCine's summary,
    #: the establishing frame), "first+last" (adds where the shot ends, useful for continuity
    #: into the next shot), "none" (shots isolated), "all" (dense joint attention) or
    #: "video_first": every query sees latent frame 0 of the whole video (the first shot's
    #: first frame) and nothing else of other shots -- CineTrans's "Visible-First-Frame" mask
    #: (arXiv 2508.11484), a boolean OR, so shot 0 does not see its own first frame twice.
    summary: SummaryMode = "first"
    #: With summary "first": whether a shot's own first frame is ALSO in the pool it reads (so
    #: its keys appear twice, +ln 2 on their logits). HoloCine's varlen packing does exactly
    #: this (pool = first frame of every shot, own included); False is multishot's variant.
    pool_includes_own: bool = False
    #: Cross-attention in blocks outside `blocks`: "window" (every block windowed, HoloCine and
    #: multishot's default) or "dense" (the whole text context, as CineTrans does outside its
    #: mask band).
    cross_outside: Literal["window", "dense"] = "window"
    #: Keep every s-th summary token along h and w (s*s fewer summary tokens). 1 keeps all; 2
    #: cuts the pool 4x, which brings 13-shot cost close to 13 independent shots.
    summary_stride: int = 1
    #: Transformer blocks whose self-attention is shot-sparse; None = all blocks. CineTrans
    #: applies its shot mask in a middle band of layers only (e.g. range(6, 28)).
    blocks: tuple[int, ...] | None = None
    #: Self-attention outside `blocks`: "full" (dense over all shots, as the stock model) or
    #: "isolated" (own shot only).
    outside: Literal["full", "isolated"] = "full"
    #: Leading items of `frames` that are memory (see SummaryMemory in joint.py).
    n_memory: int = 0
    #: Tokens per prompt in the text context.
    text_tokens: int = WAN_TEXT_TOKENS
    #: Per item, the (start, end) spans of the text context it reads. None = window spans
    #: (global prompt first, then one prompt per item in item order).
    text_spans: tuple[tuple[tuple[int, int], ...], ...] | None = None
    #: Image-context tokens that I2V models prepend to the text (None: 257 when the attention
    #: module has image projections). Set 514 for first-last-frame models.
    image_tokens: int | None = None
    #: RoPE positions: "global" keeps the stock positions over the concatenated grid (shot k
    #: starts at latent frame sum(frames[:k])); "per_shot" restarts time at 0 in every item so
    #: each shot sees the positions of a normal single clip. Inside a shot both are identical
    #: (RoPE is relative); they differ only in how far away other shots' summaries look.
    rope: RopeMode = "global"

    def __post_init__(self) -> None:
        if not self.frames or any(f < 1 for f in self.frames):
            raise ValueError(f"every item needs at least one latent frame, got frames={self.frames}")
        if len(self.grid) != 2 or self.grid[0] < 1 or self.grid[1] < 1:
            raise ValueError(f"grid must be (h, w) after patchify, got {self.grid}")
        if not 0 <= self.n_memory < len(self.frames):
            raise ValueError(f"n_memory={self.n_memory} must leave at least one shot in {self.frames}")
        if self.summary_stride < 1:
            raise ValueError("summary_stride must be >= 1")
        if self.summary not in ("first", "first+last", "none", "all", "video_first"):
            raise ValueError(f"unknown summary mode {self.summary!r}")
        if self.rope not in ("global", "per_shot"):
            raise ValueError(f"unknown rope mode {self.rope!r}")
        if self.text_spans is not None and len(self.text_spans) != len(self.frames):
            raise ValueError("text_spans needs one entry per item (memory items included)")
        if self.cross_outside not in ("window", "dense"):
            raise ValueError(f"unknown cross_outside {self.cross_outside!r}")

    # -- sizes ------------------------------------------------------------------------------
    @property
    def tokens_per_frame(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def n_items(self) -> int:
        return len(self.frames)

    @property
    def n_shots(self) -> int:
        return len(self.frames) - self.n_memory

    @property
    def item_tokens(self) -> tuple[int, ...]:
        return tuple(f * self.tokens_per_frame for f in self.frames)

    @property
    def num_tokens(self) -> int:
        return sum(self.frames) * self.tokens_per_frame

    @property
    def starts(self) -> tuple[int, ...]:
        """First token of every item in the joint sequence."""
        out, acc = [], 0
        for n in self.item_tokens:
            out.append(acc)
            acc += n
        return tuple(out)

    @property
    def frame_starts(self) -> tuple[int, ...]:
        """First latent frame of every item in the joint latent video."""
        out, acc = [], 0
        for f in self.frames:
            out.append(acc)
            acc += f
        return tuple(out)

    @property
    def spans(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        if self.text_spans is not None:
            return self.text_spans
        return window_text_spans(self.n_items, self.text_tokens)

    @property
    def text_total(self) -> int:
        """Length of the text context this layout expects (excluding image tokens)."""
        return max(e for item in self.spans for _, e in item)

    # -- summaries --------------------------------------------------------------------------
    def summary_local(self, item: int) -> tuple[int, ...]:
        """Token indices, relative to the item's start, that other items may attend to."""
        f, (h, w) = self.frames[item], self.grid
        if item < self.n_memory or self.summary == "all":
            return tuple(range(f * h * w))
        if self.summary == "none":
            return ()
        if self.summary == "video_first":
            return tuple(range(h * w)) if item == self.n_memory else ()
        frames = [0] if self.summary == "first" else sorted({0, f - 1})
        s = self.summary_stride
        return tuple(fr * h * w + y * w + x for fr in frames for y in range(0, h, s) for x in range(0, w, s))

    def summary_tokens(self) -> int:
        return sum(len(self.summary_local(i)) for i in range(self.n_items))

    def with_summary(self, summary: SummaryMode) -> "JointLayout":
        return dataclasses.replace(self, summary=summary)

    def self_mode(self, block: int) -> SelfMode:
        if self.blocks is None or block in self.blocks:
            return "sparse"
        return self.outside

    def cross_mode(self, block: int) -> CrossMode:
        """Windowed in the band (every block when `blocks` is None), `cross_outside` elsewhere."""
        if self.blocks is None or block in self.blocks:
            return "window"
        return self.cross_outside

    def keys_of(self, item: int) -> list[int]:
        """Sequence positions item `item`'s queries attend to in a sparse block, in the order
        the plan gathers them (own tokens first). Duplicates are intended where the rule has
        them (`pool_includes_own`)."""
        starts = self.starts
        own = list(range(starts[item], starts[item] + self.item_tokens[item]))
        pool: list[int] = []
        for j in range(self.n_items):
            if j == item and not (self.pool_includes_own and self.summary == "first" and item >= self.n_memory):
                continue
            pool.extend(starts[j] + t for t in self.summary_local(j))
        return own + pool

    def attention_pairs(self) -> int:
        """Query-key pairs the sparse self-attention computes (per head), for cost estimates."""
        pool = self.summary_tokens()
        total = 0
        for i, n in enumerate(self.item_tokens):
            total += n * (n + pool - len(self.summary_local(i)))
        return total

    @classmethod
    def build(
        cls,
        frames: Sequence[int],
        grid: tuple[int, int],
        *,
        n_memory: int = 0,
        text: Literal["window", "own"] = "window",
        text_tokens: int = WAN_TEXT_TOKENS,
        **kwargs: Any,
    ) -> "JointLayout":
        """A layout whose text spans follow one of the two prompt layouts joint.py encodes."""
        n = len(frames)
        spans = window_text_spans(n, text_tokens) if text == "window" else own_text_spans(n, text_tokens)
        return cls(frames=tuple(int(f) for f in frames), grid=(int(grid[0]), int(grid[1])), n_memory=n_memory,
                   text_tokens=text_tokens, text_spans=spans, **kwargs)


# --------------------------------------------------------------------------------------------
# Plans: the index tensors that turn a layout into a handful of batched kernel calls
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    """Items that share (query length, key length): one batched attention call."""

    items: tuple[int, ...]
    q_len: int
    kv_len: int
    #: Start token of the first item when the items are consecutive in the sequence (queries
    #: and outputs are then plain views); None means gather/scatter with `q_index`.
    q_start: int | None
    q_index: torch.Tensor  # (S * q_len,) long
    #: (S * kv_len,) long, or None when every item's keys are exactly its own tokens.
    kv_index: torch.Tensor | None


def _group_items(keys: Sequence[tuple[int, int]]) -> list[tuple[int, ...]]:
    groups: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return [tuple(v) for v in groups.values()]


def _make_groups(
    q_ranges: Sequence[tuple[int, int]],
    kv_lists: Sequence[list[int] | None],
    device: torch.device,
) -> tuple[_Group, ...]:
    """Group items by (query length, key length) and build their index tensors.

    `kv_lists[i]` is None when item i's keys are exactly its own query range."""
    keys = [(e - s, (e - s) if kv is None else len(kv)) for (s, e), kv in zip(q_ranges, kv_lists)]
    out = []
    for items in _group_items(keys):
        q_len, kv_len = keys[items[0]]
        starts = [q_ranges[i][0] for i in items]
        consecutive = all(starts[k + 1] == starts[k] + q_len for k in range(len(items) - 1))
        q_idx = torch.cat([torch.arange(q_ranges[i][0], q_ranges[i][1]) for i in items])
        if all(kv_lists[i] is None for i in items):
            kv_idx = None
        else:
            kv_idx = torch.cat([
                torch.arange(q_ranges[i][0], q_ranges[i][1]) if kv_lists[i] is None
                else torch.tensor(kv_lists[i], dtype=torch.long)
                for i in items
            ])
        out.append(_Group(items, q_len, kv_len, starts[0] if consecutive else None,
                          q_idx.to(device), None if kv_idx is None else kv_idx.to(device)))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _self_plan(layout: JointLayout, mode: SelfMode, device: torch.device) -> tuple[_Group, ...]:
    starts, sizes = layout.starts, layout.item_tokens
    q_ranges = [(s, s + n) for s, n in zip(starts, sizes)]
    if mode == "isolated" or layout.summary == "none" and layout.n_memory == 0:
        return _make_groups(q_ranges, [None] * layout.n_items, device)
    kv_lists: list[list[int] | None] = []
    for i, (s, e) in enumerate(q_ranges):
        keys = layout.keys_of(i)
        kv_lists.append(keys if len(keys) > e - s else None)
    return _make_groups(q_ranges, kv_lists, device)


@functools.lru_cache(maxsize=64)
def _cross_plan(layout: JointLayout, device: torch.device) -> tuple[_Group, ...]:
    starts, sizes = layout.starts, layout.item_tokens
    q_ranges = [(s, s + n) for s, n in zip(starts, sizes)]
    kv_lists: list[list[int] | None] = [[t for a, b in spans for t in range(a, b)] for spans in layout.spans]
    return _make_groups(q_ranges, kv_lists, device)


# --------------------------------------------------------------------------------------------
# Attention functions, all (B, L, H, D) in and out
# --------------------------------------------------------------------------------------------


def sdpa_blhd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Plain SDPA on (B, L, H, D) tensors (flash / cuDNN / efficient kernel picked by torch)."""
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return out.transpose(1, 2)


def _grouped_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    groups: Sequence[_Group],
    attn_fn: AttnFn,
    max_kv_rows: int | None,
) -> torch.Tensor:
    """Run one batched attention call per group (split only to respect `max_kv_rows`)."""
    B, L, H, D = q.shape
    single = len(groups) == 1 and groups[0].q_start == 0 and len(groups[0].items) * groups[0].q_len == L
    out = None if single else q.new_empty(B, L, H, D)
    for g in groups:
        S = len(g.items)
        per_call = S if max_kv_rows is None else max(1, min(S, max_kv_rows // max(1, B * g.kv_len)))
        pieces = []
        for s0 in range(0, S, per_call):
            s1 = min(S, s0 + per_call)
            ns = s1 - s0
            if g.q_start is not None:
                a = g.q_start + s0 * g.q_len
                qg = q[:, a:a + ns * g.q_len]
            else:
                qg = q.index_select(1, g.q_index[s0 * g.q_len:s1 * g.q_len])
            if g.kv_index is None:
                kg = k[:, a:a + ns * g.q_len] if g.q_start is not None else k.index_select(1, g.q_index[s0 * g.q_len:s1 * g.q_len])
                vg = v[:, a:a + ns * g.q_len] if g.q_start is not None else v.index_select(1, g.q_index[s0 * g.q_len:s1 * g.q_len])
            else:
                idx = g.kv_index[s0 * g.kv_len:s1 * g.kv_len]
                kg, vg = k.index_select(1, idx), v.index_select(1, idx)
            og = attn_fn(
                qg.reshape(B * ns, g.q_len, H, D),
                kg.reshape(B * ns, g.kv_len, H, D),
                vg.reshape(B * ns, g.kv_len, H, D),
            ).reshape(B, ns * g.q_len, H, D)
            pieces.append((s0, s1, og))
        if single and len(pieces) == 1:
            return pieces[0][2]
        if out is None:
            out = q.new_empty(B, L, H, D)
        for s0, s1, og in pieces:
            if g.q_start is not None:
                a = g.q_start + s0 * g.q_len
                out[:, a:a + (s1 - s0) * g.q_len] = og
            else:
                out.index_copy_(1, g.q_index[s0 * g.q_len:s1 * g.q_len], og)
    assert out is not None
    return out


def shot_sparse_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    layout: JointLayout,
    *,
    mode: SelfMode = "sparse",
    attn_fn: AttnFn | None = None,
    impl: Literal["sdpa", "flex"] = "sdpa",
    max_kv_rows: int | None = None,
) -> torch.Tensor:
    """Inter-shot sparse self-attention, exact. q, k, v and the result are (B, L, H, D).

    A query in item i attends to all tokens of item i plus the summary tokens of every other
    item (all tokens of memory items). `mode="isolated"` drops the summaries (shots fully
    independent), `mode="full"` is ordinary dense attention. `attn_fn` computes dense attention
    on (B, L, H, D) tensors (default: SDPA); `max_kv_rows` caps B*S*kv_len per call to bound
    the memory of the gathered keys."""
    if q.shape[1] != layout.num_tokens:
        raise ValueError(f"sequence has {q.shape[1]} tokens but the layout describes {layout.num_tokens} "
                         f"({layout.frames} latent frames x {layout.tokens_per_frame} tokens)")
    fn = attn_fn or sdpa_blhd
    if mode == "full":
        return fn(q, k, v)
    if impl == "flex":
        return flex_shot_attention(q, k, v, layout if mode == "sparse" else layout.with_summary("none"))
    return _grouped_attention(q, k, v, _self_plan(layout, mode, q.device), fn, max_kv_rows)


def window_cross_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    layout: JointLayout,
    *,
    attn_fn: AttnFn | None = None,
    max_kv_rows: int | None = None,
) -> torch.Tensor:
    """Windowed cross-attention, exact: queries of item i read only the text tokens in
    ``layout.spans[i]``. q is (B, L, H, D); k, v are the projected text (B, T, H, D)."""
    if k.shape[1] != layout.text_total:
        raise ValueError(f"text context has {k.shape[1]} tokens, layout expects {layout.text_total}")
    return _grouped_attention(q, k, v, _cross_plan(layout, q.device), attn_fn or sdpa_blhd, max_kv_rows)


def build_mask(layout: JointLayout, mode: SelfMode = "sparse") -> torch.Tensor:
    """The explicit (L, L) mask of the sparse rule. Tests only: at film sizes it is hundreds of
    GB. Boolean (True = may attend) unless a key is listed twice for a query
    (`pool_includes_own`); then it is the additive float mask ``log(count)`` (-inf where
    unseen), which is what attending to a duplicated key computes."""
    L = layout.num_tokens
    item = torch.repeat_interleave(torch.arange(layout.n_items), torch.tensor(layout.item_tokens))
    if mode == "full":
        return torch.ones(L, L, dtype=torch.bool)
    if mode == "isolated":
        return item[:, None] == item[None, :]
    counts = torch.zeros(L, L)
    for i, s in enumerate(layout.starts):
        keys = torch.tensor(layout.keys_of(i))
        row = torch.zeros(L).index_add_(0, keys, torch.ones(len(keys)))
        counts[s:s + layout.item_tokens[i]] = row
    if counts.max() <= 1:
        return counts > 0
    return torch.where(counts > 0, counts.log(), torch.tensor(float("-inf")))


def build_cross_mask(layout: JointLayout) -> torch.Tensor:
    """The explicit (L, T) boolean mask of the window cross-attention (tests only)."""
    item = torch.repeat_interleave(torch.arange(layout.n_items), torch.tensor(layout.item_tokens))
    allowed = torch.zeros(layout.n_items, layout.text_total, dtype=torch.bool)
    for i, spans in enumerate(layout.spans):
        for a, b in spans:
            allowed[i, a:b] = True
    return allowed[item]


def dense_masked_reference(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: JointLayout, mode: SelfMode = "sparse"
) -> torch.Tensor:
    """The same attention as `shot_sparse_attention`, computed the slow obvious way with an
    explicit mask. For tests."""
    mask = build_mask(layout, mode).to(q.device)
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask)
    return out.transpose(1, 2)


# --------------------------------------------------------------------------------------------
# FlexAttention alternative
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _flex_block_mask(layout: JointLayout, device: torch.device) -> Any:
    from torch.nn.attention.flex_attention import create_block_mask

    L = layout.num_tokens
    item = torch.repeat_interleave(torch.arange(layout.n_items), torch.tensor(layout.item_tokens)).to(device)
    visible = torch.zeros(L, dtype=torch.bool)
    for j, s in enumerate(layout.starts):
        loc = layout.summary_local(j)
        if loc:
            visible[torch.tensor(loc) + s] = True
    visible = visible.to(device)

    def mask_mod(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
        return (item[q_idx] == item[kv_idx]) | visible[kv_idx]

    # Eager create_block_mask materialises the L x L mask; compiled it reduces block by block.
    make = torch.compile(create_block_mask) if device.type == "cuda" else create_block_mask
    return make(mask_mod, None, None, L, L, str(device))


@functools.lru_cache(maxsize=1)
def _compiled_flex() -> Callable[..., torch.Tensor]:
    from torch.nn.attention.flex_attention import flex_attention

    return torch.compile(flex_attention, dynamic=False)


def flex_shot_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: JointLayout) -> torch.Tensor:
    """The sparse rule through FlexAttention's block-sparse kernel (compiled on CUDA, eager on
    CPU where it is slow but exact). Same (B, L, H, D) contract."""
    from torch.nn.attention.flex_attention import flex_attention

    if layout.pool_includes_own and layout.summary == "first":
        raise ValueError("FlexAttention's boolean block mask cannot count a key twice (pool_includes_own); "
                         "use impl='sdpa'")
    block_mask = _flex_block_mask(layout, q.device)
    fn = _compiled_flex() if q.is_cuda else flex_attention
    out = fn(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), block_mask=block_mask)
    return out.transpose(1, 2)


# --------------------------------------------------------------------------------------------
# The diffusers attention processor
# --------------------------------------------------------------------------------------------


def _apply_rotary_emb(hidden_states: torch.Tensor, freqs_cos: torch.Tensor, freqs_sin: torch.Tensor) -> torch.Tensor:
    """Wan's interleaved RoPE, op for op as in diffusers' WanAttnProcessor (so outputs match
    the stock processor bit for bit)."""
    x1, x2 = hidden_states.unflatten(-1, (-1, 2)).unbind(-1)
    cos = freqs_cos[..., 0::2]
    sin = freqs_sin[..., 1::2]
    out = torch.empty_like(hidden_states)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x1 * sin + x2 * cos
    return out.type_as(hidden_states)


def _qkv(attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None):
    """Q, K, V projections exactly as diffusers does them (fused or not)."""
    try:
        from diffusers.models.transformers.transformer_wan import _get_qkv_projections
    except ImportError:  # pragma: no cover - older/newer diffusers without the helper
        ctx = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        return attn.to_q(hidden_states), attn.to_k(ctx), attn.to_v(ctx)
    return _get_qkv_projections(attn, hidden_states, encoder_hidden_states)


def _heads(attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None):
    """Q, K, V as diffusers' Wan attention has them before the kernel: projected, Q and K
    RMS-normed, split into (batch, tokens, heads, head_dim)."""
    query, key, value = _qkv(attn, hidden_states, encoder_hidden_states)
    query, key = attn.norm_q(query), attn.norm_k(key)
    return tuple(t.unflatten(2, (attn.heads, -1)) for t in (query, key, value))


def _added_kv(attn: Any, encoder_hidden_states_img: torch.Tensor):
    try:
        from diffusers.models.transformers.transformer_wan import _get_added_kv_projections
    except ImportError:  # pragma: no cover
        return attn.add_k_proj(encoder_hidden_states_img), attn.add_v_proj(encoder_hidden_states_img)
    return _get_added_kv_projections(attn, encoder_hidden_states_img)


def _dispatch(backend: Any, parallel_config: Any = None) -> AttnFn:
    """Dense attention through diffusers' dispatcher, so a configured attention backend
    (flash-attn 3, sage, ...) also runs the batched per-shot calls."""
    from diffusers.models.attention_dispatch import dispatch_attention_fn

    def fn(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return dispatch_attention_fn(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False,
                                     backend=backend, parallel_config=parallel_config)

    return fn


@dataclass
class CallState:
    """What the current transformer call is, shared by all processors of one installation.

    HoloCine (arXiv 2510.20822) windows only the *positive* prompt's cross-attention; its
    negative prompt is one ordinary prompt read densely by every video token. With a single
    HoloCine-style context the two have the same length, so the processors cannot tell them
    apart by shape: `watch_negative` marks each call from its `encoder_hidden_states`."""

    negative: bool = False


#: The per-shot RoPE table of the current forward (key, (cos, sin)); see ShotAttnProcessor._rope.
_PER_SHOT_ROPE: dict[str, tuple[Any, tuple[torch.Tensor, torch.Tensor]]] = {}


def _full_rope(rotary_emb: tuple[torch.Tensor, torch.Tensor], ul: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole RoPE table from this rank's shard of it (diffusers' CP plan splits the table
    with the tokens), gathered once per forward: every block gets the same shard. The cache is
    emptied when a forward starts (ulysses.py), never matched by a tensor address reused from
    an earlier forward: a hit on one rank and a miss on another would part their exchanges."""
    cos, sin = rotary_emb
    key = ("rope", cos.data_ptr(), sin.data_ptr(), tuple(cos.shape), cos.dtype)
    return ul.once_per_forward(key, lambda: (ul.gather_tokens(cos, 1), ul.gather_tokens(sin, 1)))


class ShotAttnProcessor:
    """Drop-in replacement for diffusers' ``WanAttnProcessor`` on one attention module.

    It repeats the stock math step for step (projections, RMS qk-norm across heads, RoPE, the
    I2V image-context branch, output projection) and changes only which keys each query sees:
    ``self_mode`` for self-attention (attn1), ``cross_mode`` for text cross-attention (attn2).
    """

    _attention_backend: Any = None
    _parallel_config: Any = None

    def __init__(
        self,
        layout: JointLayout,
        self_mode: SelfMode = "sparse",
        cross_mode: CrossMode = "window",
        impl: Literal["sdpa", "flex"] = "sdpa",
        max_kv_rows: int | None = None,
        state: CallState | None = None,
    ) -> None:
        self.layout = layout
        self.self_mode = self_mode
        self.cross_mode = cross_mode
        self.impl = impl
        self.max_kv_rows = max_kv_rows
        self.state = state or CallState()

    # RoPE ----------------------------------------------------------------------------------
    def _rope(self, rotary_emb: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-shot RoPE: shot k's local frame t takes the stock table's frame t. The stock
        table is frame-major, so that is rows [0, n_k) of it. Every block of a forward gets the
        same table, so one cache entry shared by all processors builds it once per forward."""
        if self.layout.rope == "global":
            return rotary_emb
        cos, sin = rotary_emb
        key = (cos.data_ptr(), sin.data_ptr(), tuple(cos.shape), cos.dtype, self.layout.item_tokens)
        hit = _PER_SHOT_ROPE.get("entry")
        if hit is not None and hit[0] == key:
            return hit[1]
        n = self.layout.item_tokens
        out = (torch.cat([cos[:, :m] for m in n], dim=1), torch.cat([sin[:, :m] for m in n], dim=1))
        _PER_SHOT_ROPE["entry"] = (key, out)
        return out

    def _ulysses(self, attn: Any) -> Any:
        """The Ulysses exchange when the transformer runs context parallel (None otherwise)."""
        if self._parallel_config is None:
            return None
        from .ulysses import ulysses_of

        return ulysses_of(self._parallel_config, attn.heads)

    def __call__(
        self,
        attn: Any,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        rotary_emb: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        if encoder_hidden_states is None:
            return self._self_attention(attn, hidden_states, attention_mask, rotary_emb)
        return self._cross_attention(attn, hidden_states, encoder_hidden_states, attention_mask)

    def _self_attention(self, attn: Any, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None,
                        rotary_emb: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        query, key, value = _heads(attn, hidden_states, None)
        ul = self._ulysses(attn)
        if ul is not None:
            # Ulysses (ulysses.py): this rank's token shard -> every token of its heads, so the
            # layout's masks and the per-shot RoPE index the whole joint sequence, unchanged.
            if attention_mask is not None:
                raise NotImplementedError("shot attention under Ulysses takes no attention mask")
            query, key, value = ul.to_heads(query), ul.to_heads(key), ul.to_heads(value)
            if rotary_emb is not None:
                rotary_emb = _full_rope(rotary_emb, ul)
        if rotary_emb is not None:
            rotary_emb = self._rope(rotary_emb)
            query = _apply_rotary_emb(query, *rotary_emb)
            key = _apply_rotary_emb(key, *rotary_emb)

        if self.self_mode == "full" or attention_mask is not None:
            from diffusers.models.attention_dispatch import dispatch_attention_fn

            out = dispatch_attention_fn(query, key, value, attn_mask=attention_mask, dropout_p=0.0,
                                        is_causal=False, backend=self._attention_backend,
                                        parallel_config=None if ul is not None else self._parallel_config)
        else:
            out = shot_sparse_attention(query, key, value, self.layout, mode=self.self_mode,
                                        attn_fn=_dispatch(self._attention_backend), impl=self.impl,
                                        max_kv_rows=self.max_kv_rows)
        if ul is not None:
            out = ul.to_tokens(out)
        out = out.flatten(2, 3).type_as(query)
        out = attn.to_out[0](out)
        return attn.to_out[1](out)

    def _cross_attention(self, attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor,
                         attention_mask: torch.Tensor | None) -> torch.Tensor:
        lay = self.layout
        encoder_hidden_states_img = None
        if attn.add_k_proj is not None:
            n_img = lay.image_tokens
            if n_img is None:
                T = encoder_hidden_states.shape[1]
                n_img = T - lay.text_total if T - lay.text_total == WAN_IMAGE_TOKENS else T - lay.text_tokens
            encoder_hidden_states_img = encoder_hidden_states[:, :n_img]
            encoder_hidden_states = encoder_hidden_states[:, n_img:]

        T = encoder_hidden_states.shape[1]
        windowed = (self.cross_mode == "window" and not self.state.negative and T == lay.text_total
                    and attention_mask is None)
        if not windowed and T not in (lay.text_total, lay.text_tokens):
            raise ValueError(
                f"cross-attention context has {T} text tokens; the joint layout expects {lay.text_total} "
                f"(its prompts) or {lay.text_tokens} (one prompt shared by all shots, e.g. the negative)")

        query, key, value = _heads(attn, hidden_states, encoder_hidden_states)

        from diffusers.models.attention_dispatch import dispatch_attention_fn

        hidden_states_img = None
        if encoder_hidden_states_img is not None:
            key_img, value_img = _added_kv(attn, encoder_hidden_states_img)
            key_img = attn.norm_added_k(key_img)
            key_img = key_img.unflatten(2, (attn.heads, -1))
            value_img = value_img.unflatten(2, (attn.heads, -1))
            hidden_states_img = dispatch_attention_fn(query, key_img, value_img, attn_mask=None, dropout_p=0.0,
                                                      is_causal=False, backend=self._attention_backend,
                                                      parallel_config=None)
            hidden_states_img = hidden_states_img.flatten(2, 3).type_as(query)

        ul = self._ulysses(attn)
        if windowed and ul is not None:
            # Which prompt a query reads depends on its shot: every token of this rank's heads
            # (the text, whole on every rank, cut to the same heads), windowed, and back.
            out = ul.to_tokens(window_cross_attention(ul.to_heads(query), ul.heads_slice(key), ul.heads_slice(value),
                                                      lay, attn_fn=_dispatch(self._attention_backend),
                                                      max_kv_rows=self.max_kv_rows))
        elif windowed:
            out = window_cross_attention(query, key, value, lay, attn_fn=_dispatch(self._attention_backend),
                                         max_kv_rows=self.max_kv_rows)
        else:  # every query reads the same text: per token, so the shard needs no exchange
            out = dispatch_attention_fn(query, key, value, attn_mask=attention_mask, dropout_p=0.0,
                                        is_causal=False, backend=self._attention_backend, parallel_config=None)
        out = out.flatten(2, 3).type_as(query)
        if hidden_states_img is not None:
            out = out + hidden_states_img
        out = attn.to_out[0](out)
        return attn.to_out[1](out)


# --------------------------------------------------------------------------------------------
# Installing on a transformer
# --------------------------------------------------------------------------------------------


@dataclass
class ShotAttentionHandle:
    """What `install_shot_attention` changed; `restore()` (or leaving the `with` block) puts the
    original processors back."""

    _saved: list[tuple[Any, Any]] = field(default_factory=list)
    processors: list[ShotAttnProcessor] = field(default_factory=list)
    state: CallState = field(default_factory=CallState)
    _hooks: list[Any] = field(default_factory=list)

    def restore(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
        for module, proc in reversed(self._saved):
            module.set_processor(proc)
        self._saved.clear()
        self.processors.clear()
        _PER_SHOT_ROPE.clear()

    @contextlib.contextmanager
    def negative(self, flag: bool = True) -> Iterator[None]:
        """Calls inside read the text densely (the negative prompt), whatever its length."""
        old, self.state.negative = self.state.negative, flag
        try:
            yield
        finally:
            self.state.negative = old

    def watch_negative(self, transformers: Any | Iterable[Any], negative_embeds: torch.Tensor | None) -> None:
        """Mark every call whose ``encoder_hidden_states`` equal `negative_embeds` as the
        negative pass (a forward pre-hook per transformer, removed by `restore`). The pipeline
        passes the very tensors it was given, so equality is exact; comparing contents rather
        than identity survives the pipeline's dtype casts."""
        models = [transformers] if hasattr(transformers, "blocks") else [t for t in transformers if t is not None]

        def mark(_module: Any, args: tuple, kwargs: dict[str, Any]) -> None:
            ehs = kwargs.get("encoder_hidden_states", args[2] if len(args) > 2 else None)
            neg = negative_embeds
            self.state.negative = bool(
                neg is not None and ehs is not None and ehs.shape == neg.shape
                and torch.equal(ehs, neg.to(device=ehs.device, dtype=ehs.dtype)))

        self._hooks.extend(m.register_forward_pre_hook(mark, with_kwargs=True) for m in models)

    def set_layout(self, layout: JointLayout) -> None:
        """Point every installed processor at a new layout (e.g. the next chunk of a film)
        without reinstalling. Block modes keep what they were installed with."""
        for p in self.processors:
            p.layout = layout

    def __enter__(self) -> "ShotAttentionHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()


def install_shot_attention(
    transformer: Any | Iterable[Any],
    layout: JointLayout,
    blocks: Iterable[int] | None = None,
    *,
    impl: Literal["sdpa", "flex"] = "sdpa",
    cross_mode: CrossMode = "window",
    max_kv_rows: int | None = None,
) -> ShotAttentionHandle:
    """Put shot-aware processors on every block of one transformer or several (Wan 2.2 A14B:
    pass ``[pipe.transformer, pipe.transformer_2]``; None entries are skipped).

    Self-attention is sparse on `blocks` (default: ``layout.blocks``, None = all) and
    ``layout.outside`` elsewhere; cross-attention is windowed on every block, because a block
    that read every shot's prompt would leak shot j's text into shot i. A configured attention
    backend (``transformer.set_attention_backend``) carries over to the new processors.
    Outside the band, cross-attention follows ``layout.cross_outside`` (CineTrans: dense)."""
    models = [transformer] if hasattr(transformer, "blocks") else [t for t in transformer if t is not None]
    chosen = None if blocks is None else tuple(blocks)
    if chosen is not None:
        layout = dataclasses.replace(layout, blocks=chosen)
    handle = ShotAttentionHandle()
    for model in models:
        for b, block in enumerate(model.blocks):
            block_cross = "dense" if cross_mode == "dense" else layout.cross_mode(b)
            for name, self_mode, cmode in (("attn1", layout.self_mode(b), cross_mode), ("attn2", "sparse", block_cross)):
                module = getattr(block, name)
                old = module.processor
                proc = ShotAttnProcessor(layout, self_mode=self_mode, cross_mode=cmode, impl=impl,
                                         max_kv_rows=max_kv_rows, state=handle.state)
                proc._attention_backend = getattr(old, "_attention_backend", None)
                proc._parallel_config = getattr(old, "_parallel_config", None)
                handle._saved.append((module, old))
                handle.processors.append(proc)
                module.set_processor(proc)
    return handle


@contextlib.contextmanager
def shot_attention(transformer: Any | Iterable[Any], layout: JointLayout, **kwargs: Any) -> Iterator[ShotAttentionHandle]:
    """``with shot_attention(pipe.transformer, layout): ...`` -- install, run, restore."""
    handle = install_shot_attention(transformer, layout, **kwargs)
    try:
        yield handle
    finally:
        handle.restore()
