"""Splitting a run of shots into joint-generation chunks (pure Python: the holistic paradigm
plans chunks for any backend, with or without torch)."""

from __future__ import annotations

import math
from typing import Sequence


def plan_chunks(
    n_shots: int,
    max_shots: int = 13,
    token_budget: int | None = None,
    tokens_per_shot: int | Sequence[int] = 32_760,
    reserve_tokens: int = 0,
) -> list[range]:
    """Split shots 0..n-1 into consecutive chunks for joint generation.

    A chunk holds at most `max_shots` shots and, when `token_budget` is set, at most
    ``token_budget - reserve_tokens`` tokens (reserve room for memory items). Among the splits
    with the fewest chunks it picks the one whose largest chunk is smallest, so 14 shots become
    7 + 7, not 13 + 1 (a lone shot would lose the joint context the paradigm is for)."""
    if n_shots <= 0:
        return []
    costs = [int(tokens_per_shot)] * n_shots if isinstance(tokens_per_shot, int) else [int(c) for c in tokens_per_shot]
    if len(costs) != n_shots:
        raise ValueError(f"tokens_per_shot has {len(costs)} entries for {n_shots} shots")
    cap = math.inf if token_budget is None else token_budget - reserve_tokens
    if any(c > cap for c in costs):
        raise ValueError(f"a shot of {max(costs)} tokens does not fit the token budget {token_budget} "
                         f"(minus {reserve_tokens} reserved); lower the resolution or the frame count")
    if max_shots < 1:
        raise ValueError("max_shots must be >= 1")

    prefix = [0]
    for c in costs:
        prefix.append(prefix[-1] + c)

    def fits(a: int, b: int) -> bool:
        return b - a <= max_shots and prefix[b] - prefix[a] <= cap

    # best[k][b]: smallest possible largest-chunk cost splitting shots [0, b) into k chunks.
    INF = math.inf
    best: list[list[float]] = [[INF] * (n_shots + 1)]
    best[0][0] = 0
    cut: list[list[int]] = [[0] * (n_shots + 1)]
    k = 0
    while best[k][n_shots] == INF:
        k += 1
        row, crow = [INF] * (n_shots + 1), [0] * (n_shots + 1)
        for b in range(1, n_shots + 1):
            for a in range(max(0, b - max_shots), b):
                if best[k - 1][a] < INF and fits(a, b):
                    # Minimise the largest chunk; break ties by shot count so splits stay even.
                    val = max(best[k - 1][a], prefix[b] - prefix[a] + (b - a) * 1e-9)
                    if val < row[b]:
                        row[b], crow[b] = val, a
        best.append(row)
        cut.append(crow)
    bounds, b = [], n_shots
    for kk in range(k, 0, -1):
        a = cut[kk][b]
        bounds.append(range(a, b))
        b = a
    return bounds[::-1]
