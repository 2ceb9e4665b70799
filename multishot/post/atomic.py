"""Atomic writes: a file appears whole or not at all (DESIGN.md: temp file, then rename).

Every file multishot writes for someone else to read (manifest, verify records, cache entries,
the render lock's owner note, report, timeline, metrics, subtitles, shot lists) goes through
here: the bytes go to a temp file in the same folder (a rename is atomic only within one file
system), then `os.replace` puts it in place. A killed process leaves at most a temp file named
`.<name>.<pid>.tmp`, the pattern the render lock's sweep removes (graph/render_lock.py).

It is in `post`, the lowest layer, so every layer uses the same helper.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temp_path(path: Path) -> Path:
    """The temp name a write to `path` goes through: `.<name>.<pid>.tmp` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextmanager
def atomic_path(path: Path, *, mkdir: bool = True) -> Iterator[Path]:
    """Yield a temp path to write; on success it replaces `path`, on any error it is removed."""
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str, *, mkdir: bool = True) -> Path:
    """Write `text` (UTF-8) to `path` atomically; return `path`."""
    with atomic_path(path, mkdir=mkdir) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: Path, data: bytes, *, mkdir: bool = True) -> Path:
    """Write `data` to `path` atomically; return `path`."""
    with atomic_path(path, mkdir=mkdir) as tmp:
        tmp.write_bytes(data)
    return Path(path)
