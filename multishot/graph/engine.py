"""The stage-graph engine: content-addressed artifacts, atomic writes, a manifest, resume.

Like a build system: an artifact's key is a hash of everything that determines it (stage name
and version, the shot spec, seed, backend identity, upstream keys). If a file with that key
exists and matches the size and sha256 recorded when it was made (graph/verify.py) it is reused;
otherwise it is produced into a temp file and renamed into place, so a render killed at any
moment leaves only complete artifacts behind and simply resumes, and a damaged one is re-made.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from multishot.graph import verify
from multishot.graph.artifact import CACHE_DIR, Artifact, GroupWork, Stage, artifact_key
from multishot.graph.executors.base import Call, Executor, InProcess
from multishot.graph.manifest import Manifest
from multishot.post.atomic import temp_path

class RenderStopped(RuntimeError):
    """A stage could not run (dry run, or --only excluded it and nothing was cached)."""


@dataclass
class Engine:
    """Runs stages for one film render; owns the cache folder and the manifest."""

    out_dir: Path
    manifest: Manifest
    force: bool = False
    only: frozenset[str] | None = None
    dry_run: bool = False
    on_event: Callable[[str], None] = lambda message: None
    #: Where stage work runs (graph/executors): in process by default, or local GPU workers / Ray.
    executor: Executor = field(default_factory=InProcess)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    #: Artifacts already verified by this engine (a hit reached twice is hashed once).
    _verified: dict[str, verify.ArtifactRecord] = field(default_factory=dict)

    @property
    def cache_dir(self) -> Path:
        return self.out_dir / CACHE_DIR

    def path_for(self, stage: Stage, key: str) -> Path:
        return self.cache_dir / stage.name / f"{key}{stage.ext}"

    def allowed(self, item: str) -> bool:
        """May this item be computed now? --only limits work to the named shots: a shot's own
        items (`id`, `id:first`, …), and the seams (`a>b`) and film, which paradigms reach only
        once every clip they join exists, so they need nothing --only excludes."""
        if self.only is None or item.startswith("film") or ">" in item:
            return True
        return item.split(":", 1)[0] in self.only

    def forced(self, item: str) -> bool:
        """Does --force re-make this item? With --only, just what belongs to or touches the
        named shots (a re-rendered shot's seams, and the film)."""
        if not self.force or self.dry_run:
            return False
        if self.only is None or item.startswith("film"):
            return True
        return any(part.split(":", 1)[0] in self.only for part in item.split(">"))

    def run(self, stage: Stage, item: str, inputs: dict[str, Any],
            make: Callable[[Path], dict[str, Any] | None] | None = None, *, seed: int | None = None,
            shots: tuple[str, ...] = (), allow: bool = False, work: Call | None = None,
            group: GroupWork | None = None) -> Artifact:
        """Return the artifact for (stage, inputs), producing it with `make(tmp_path)` only when
        no complete, verified artifact with that key exists. `make` may return info for the
        manifest. `work` is the same job as data (graph/executors): the engine's executor may
        run it on a worker, which writes the temp file in the shared cache folder. `group`:
        `make` only files what a shared piece of work already made (`run_many`); a made
        artifact records its share of that work's time, not only the filing."""
        key = artifact_key(stage.name, stage.version, inputs)
        path = self.path_for(stage, key)
        record, reason = self._cached(stage, item, path)
        if record is not None:
            artifact = Artifact(stage.name, item, key, path, True, record=record)
        elif self.dry_run:
            artifact = Artifact(stage.name, item, key, path, False, reason=reason)
            with self._lock:
                self.manifest.record(artifact, seed=seed, shots=shots, planned=True)
            return artifact
        elif not (allow or self.allowed(item)):
            raise RenderStopped(f"{stage.name} of `{item}` is not cached and --only excludes it")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.stem}.{os.getpid()}-{threading.get_ident()}.tmp{stage.ext}")
            started = time.perf_counter()
            try:
                info = self._make(stage, item, tmp, make, work) or {}
                if not (tmp.is_dir() or tmp.exists()):
                    raise RuntimeError(f"stage {stage.name} wrote nothing for {item}")
                record = verify.measure(tmp)
                verify.write_record(path, record)  # before the rename: a named artifact always has one
                _replace(tmp, path)
            except OSError as error:
                raise _naming(error, path) from error
            finally:
                _remove(tmp)
            with self._lock:
                self._verified[str(path)] = record
            seconds = time.perf_counter() - started + (group.share if group else 0.0)
            artifact = Artifact(stage.name, item, key, path, False, seconds, info,
                                record=record, reason=reason, group=group)
        with self._lock:
            self.manifest.record(artifact, seed=seed, shots=shots)
        return artifact

    def run_many(self, stage: Stage, items: list[tuple[str, dict[str, Any], int | None]], work: Call, *,
                 label: str) -> list[Artifact]:
        """Several artifacts from one piece of work: a joint generation makes every shot of its
        group at once. The work (on the executor, like `run`'s) writes one entry per item, named
        0, 1, ..., into a temp folder in the cache; each entry is then moved into place by `run`,
        so every item is an ordinary artifact (key, verification, manifest record). `items` are
        (item, inputs, seed); the work returns a list of infos, one per item, or None.

        Timing: the work's wall-clock seconds (as the driver sees it: on a worker, sending the
        work and its reply included) are split evenly over the items it files, so each made
        item's manifest `seconds` is its share of making the group, and the seconds of a render
        still add up to its work; `group` and `group_seconds` say of what. An item already
        cached (another shot of the group was forced) keeps its record and takes no share."""
        if not items:
            return []
        key = artifact_key(stage.name, stage.version, items[0][1])
        group = self.cache_dir / stage.name / f".group-{key}.{os.getpid()}-{threading.get_ident()}.tmp"
        group.parent.mkdir(parents=True, exist_ok=True)
        _remove(group)
        try:
            started = time.perf_counter()
            try:
                infos = self.executor.make(work, group, label=label) or [None] * len(items)
            except OSError as error:
                raise _naming(error, group) from error
            seconds = time.perf_counter() - started
            filed = sum(1 for item, inputs, _ in items if not self.cached(stage, item, inputs))
            shared = GroupWork(tuple(item for item, _, _ in items), seconds, seconds / max(1, filed))

            def take(i: int) -> Callable[[Path], Any]:
                def move(tmp: Path) -> Any:
                    _replace(group / str(i), tmp)
                    return infos[i]
                return move

            return [self.run(stage, item, inputs, take(i), seed=seed, shots=(item,), allow=True, group=shared)
                    for i, (item, inputs, seed) in enumerate(items)]
        finally:
            _remove(group)

    def cached(self, stage: Stage, item: str, inputs: dict[str, Any]) -> bool:
        """Would `run` return a cached artifact for these inputs (present, verified, not forced)?"""
        key = artifact_key(stage.name, stage.version, inputs)
        return self._cached(stage, item, self.path_for(stage, key))[0] is not None

    def _cached(self, stage: Stage, item: str, path: Path) -> tuple[verify.ArtifactRecord | None, str]:
        """(the verified record of a usable cached artifact, or None with the reason it must be
        made). A cached artifact that fails verification is dropped with a warning (kept in a
        dry run, which writes nothing) so it is re-made, never used and never failed on again."""
        if not path.exists():
            return None, "missing"
        if self.forced(item) and not self.manifest.made_this_run(path):
            return None, "forced"
        known = self._verified.get(str(path))
        if known is not None:
            return known, ""
        why, record = verify.problem(path)
        if why is None and record is not None:
            self._verified[str(path)] = record
            return record, ""
        reason = f"failed verification: {why}"
        if not self.dry_run:
            _remove(path)
            verify.record_path(path).unlink(missing_ok=True)
            message = f"cached {stage.name} of `{item}` failed verification ({why}): dropped it, making it again"
            with self._lock:
                self.manifest.event("cache-rejected", stage=stage.name, item=item, path=str(path), reason=why)
            self.on_event(message)
        return None, reason

    def _make(self, stage: Stage, item: str, tmp: Path, make: Callable[[Path], Any] | None,
              work: Call | None) -> Any:
        if work is not None:
            return self.executor.make(work, tmp, label=f"{stage.name} of `{item}`")
        assert make is not None, f"stage {stage.name} gave neither make nor work"
        return make(tmp)

    def parallel(self, fn: Callable[[Any], Any], items: Any) -> list[Any]:
        """fn over independent items, as many at once as the executor has workers; each result
        or the exception it raised, in order (graph/executors/parallel.py)."""
        from multishot.graph.executors.parallel import map_ordered

        return map_ordered(fn, list(items), self.executor.slots, self.executor.close)

    def event(self, kind: str, **data: Any) -> None:
        """A manifest event from any thread (executors report lost workers here)."""
        with self._lock:
            self.manifest.event(kind, **data)

    def publish(self, artifact: Artifact, dest: Path) -> Path:
        """Expose a cached artifact under a user-facing name (hard link when possible).

        A re-render publishes the same inode again: rename() between two links to one inode
        does nothing and leaves the temp link behind (POSIX), so an existing link is kept as it
        is, and the temp name is removed whatever happened."""
        dest = self.out_dir / dest
        if self.dry_run:
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        if _same_file(artifact.path, dest):
            return dest
        tmp = temp_path(dest)
        _remove(tmp)
        try:
            try:
                os.link(artifact.path, tmp)
            except OSError:
                shutil.copyfile(artifact.path, tmp)
            os.replace(tmp, dest)
        except OSError as error:
            raise _naming(error, dest) from error
        finally:
            _remove(tmp)
        return dest


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _naming(error: OSError, path: Path) -> OSError:
    """The error with the file it was about: a write that fails for a full disk (ENOSPC) or
    another I/O error carries no file name, so the message would not say where."""
    if error.filename is not None:
        return error
    strerror = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        strerror = f"{strerror} (the disk holding {path.parent} is full: free space and run the same command to resume)"
    return OSError(error.errno, strerror, str(path))


def _replace(src: Path, dst: Path) -> None:
    if src.is_dir() and dst.exists():
        shutil.rmtree(dst)
    os.replace(src, dst)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def asdict_safe(obj: Any) -> dict[str, Any]:
    return asdict(obj)
