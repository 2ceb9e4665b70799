"""Stable hashing: every look in the animatic is a function of text, never of Python's `hash()`.

Python salts `hash(str)` per process, so anything derived from it would change between runs and
break the content-addressed cache. SHA-256 of the text is stable across processes and machines.
"""

from __future__ import annotations

from hashlib import sha256

import numpy as np


def stable_int(*parts: object) -> int:
    """A 64-bit integer that depends only on the text of `parts` (joined unambiguously)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(sha256(text.encode("utf-8", "surrogatepass")).digest()[:8], "little")


def unit(*parts: object) -> float:
    """A float in [0, 1) derived from `parts`."""
    return stable_int(*parts) / 2.0**64


def rng(*parts: object) -> np.random.Generator:
    """A numpy generator seeded from `parts`: same parts, same stream."""
    return np.random.default_rng(stable_int(*parts))
