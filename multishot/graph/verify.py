"""What a cached artifact must look like: its files' sizes and sha256, written beside it when it
is made and checked on every cache hit, so a damaged or truncated file is re-made instead of
trusted.

Why every hit is hashed, not only sized: a size check (one stat) catches truncation, but not a
flipped byte, and a flipped byte in a clip becomes corrupted frames in the film. Every artifact
a hit returns is read anyway, by the stage that consumes it or by publishing it as a user-facing
file, so the hash is taken over bytes that are about to be read. Measured by
`scripts/bench_verify.py` on the 60-second benchmark film (22 artifacts, 33 MB): sha256 runs at
~1.4 GB/s on one core, decoding the same cached clips at ~22 MB/s, so hashing everything costs
0.02 s, 0.16% of the cold render, and it primes the page cache for the reader that follows.
Sizes are checked first, for every file, so a truncated artifact is refused without reading it.

The record is its own small file (`<artifact>.record.json`), not only a manifest line: the
manifest describes one run and is rewritten by the next, while the record lives as long as the
artifact it describes. It is written before the artifact is renamed into place, so an artifact
under its final name always has a record; one without (an older multishot, a hand-made file) is
treated as unverified and re-made.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from multishot.post.atomic import atomic_write_text
from multishot.post.hashing import file_sha256

RECORD_SUFFIX = ".record.json"


@dataclass(frozen=True)
class FileSum:
    """One file of an artifact: its size in bytes and sha256 (hex)."""

    bytes: int
    sha256: str


@dataclass(frozen=True)
class ArtifactRecord:
    """Every file of an artifact (a plain file is the single entry `.`)."""

    files: dict[str, FileSum]

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files.values())

    @property
    def sha256(self) -> str:
        """One digest for the whole artifact: the file's own for a plain file, else a digest of
        the sorted (name, size, sha256) lines, so it changes when any file does."""
        if set(self.files) == {"."}:
            return self.files["."].sha256
        lines = "".join(f"{name}\0{s.bytes}\0{s.sha256}\n" for name, s in sorted(self.files.items()))
        return hashlib.sha256(lines.encode()).hexdigest()

    def to_json(self) -> dict[str, object]:
        return {"bytes": self.bytes, "sha256": self.sha256,
                "files": {name: [s.bytes, s.sha256] for name, s in sorted(self.files.items())}}

    @classmethod
    def from_json(cls, data: object) -> "ArtifactRecord":
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict) or not data["files"]:
            raise ValueError("not an artifact record")
        files: dict[str, FileSum] = {}
        for name, value in data["files"].items():
            size, digest = value
            if not isinstance(size, int) or not isinstance(digest, str):
                raise ValueError(f"bad entry for {name}")
            files[str(name)] = FileSum(size, digest)
        return cls(files)


def record_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + RECORD_SUFFIX)


def _files(artifact: Path) -> dict[str, Path]:
    if artifact.is_dir():
        return {p.relative_to(artifact).as_posix(): p for p in sorted(artifact.rglob("*")) if p.is_file()}
    return {".": artifact}


def measure(artifact: Path) -> ArtifactRecord:
    """Sizes and hashes of what is at `artifact` now (a file, or a folder's files)."""
    return ArtifactRecord({name: FileSum(p.stat().st_size, file_sha256(p)) for name, p in _files(artifact).items()})


def write_record(artifact: Path, record: ArtifactRecord) -> Path:
    """Write the record for `artifact` atomically (temp file, then rename)."""
    target = record_path(artifact)
    return atomic_write_text(target, json.dumps(record.to_json()), mkdir=False)


def read_record(artifact: Path) -> ArtifactRecord | None:
    try:
        return ArtifactRecord.from_json(json.loads(record_path(artifact).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def problem(artifact: Path) -> tuple[str | None, ArtifactRecord | None]:
    """(why the artifact cannot be trusted, or None; its record). Sizes of every file are
    compared before any byte is hashed."""
    record = read_record(artifact)
    if record is None:
        return "it has no readable verification record (made by an older multishot, or damaged)", None
    found = _files(artifact)
    missing = sorted(set(record.files) - set(found))
    if missing:
        return f"{missing[0]} is missing", record
    for name, expected in sorted(record.files.items()):
        size = found[name].stat().st_size
        if size != expected.bytes:
            return f"{_label(artifact, name)} is {size} bytes, {expected.bytes} were written (truncated or replaced)", record
    for name, expected in sorted(record.files.items()):
        if file_sha256(found[name]) != expected.sha256:
            return f"{_label(artifact, name)} has other content than was written (sha256 differs)", record
    return None, record


def _label(artifact: Path, name: str) -> str:
    return artifact.name if name == "." else f"{artifact.name}/{name}"
