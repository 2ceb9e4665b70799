"""The SHA-256 of a file, read in blocks so a multi-gigabyte weights file never sits in memory.

One helper for the three places that hash a file: the cache's verify records
(graph/verify.py), the named local models' pinned files (plan/agent/model_files.py) and the
pinned weights files of diffusers profiles (backends/diffusers/loading.py). It is in `post`, the
lowest layer, because backends and plan may not import graph (DESIGN.md, tests/test_layers.py);
every layer may import post.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20  # bytes read at a time; the digest does not depend on it


def file_sha256(path: Path, *, chunk: int = CHUNK) -> str:
    """The hex SHA-256 of the bytes of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
