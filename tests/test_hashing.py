"""post/hashing.file_sha256, the one file-hash helper: the call sites' tests (test_model_files,
test_lora, test_cache_integrity) hash files smaller than one block, so the block loop is checked here."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from multishot.post.hashing import CHUNK, file_sha256


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, 2 * CHUNK + 7])
def test_file_sha256_is_the_sha256_of_the_whole_file_at_any_block_size(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    assert file_sha256(path) == want
    assert file_sha256(path, chunk=1 << 22) == file_sha256(path, chunk=4096) == want
