"""One render of a folder at a time, and what a render that died there left behind.

Two `multishot render` runs of one film into one folder would otherwise do all the work twice
and race on every file, `--force` included. The render holds an exclusive lock on
`.cache/render.lock` (filelock: flock(2) on POSIX, released by the kernel when the process dies,
even by SIGKILL, so a lock is never stale). A second render waits for it, saying so, and then
finds everything cached; with `--force` it re-renders after the first finished, never beside it.

Holding the lock also makes two things safe that are not otherwise:
- a manifest that says `running` (or `interrupted`) belongs to a render that is gone: the run
  says it found one and resumes from its cache;
- every temp file in the folder belongs to a dead process, so leftovers of a killed render
  (temp links, half-written `.part.mp4` encodes) can be removed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout

from multishot.post.atomic import atomic_write_text
from multishot.post.manifest_record import RunStatus
from multishot.post.render_folder import RenderFolder

LOCK_NAME = "render.lock"
OWNER_NAME = "render.owner.json"


def lock_path(out_dir: Path) -> Path:
    """`.cache/render.lock` of a render folder."""
    return RenderFolder(out_dir).cache / LOCK_NAME

#: Temp names multishot writes and renames: `.<name>.<pid>.tmp…` (post/atomic.py: every atomic
#: write — manifest, records, owner note, report, timeline, metrics, subtitles — plus the
#: engine's cache entries and publish links), `<name>.part.<ext>` (ffmpeg encodes in progress),
#: `.write-test.<pid>`; `.metrics.json.tmp` is what versions before post/atomic.py left.
_LEFTOVER = re.compile(r"^\..+\.\d+(-\d+)?\.tmp.*$|^.+\.part\.[A-Za-z0-9]+$|^\.metrics\.json\.tmp$|^\.write-test\.\d+$")


@dataclass(frozen=True)
class Interrupted:
    """A render of this folder that did not finish: its manifest's last word."""

    status: str
    pid: int | None
    started: float | None

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started)) if self.started else "at an unknown time"
        how = ("its process is gone (killed?)" if self.status == "running" else "it was interrupted")
        pid = f"pid {self.pid}, " if self.pid else ""
        return f"{pid}started {when}; {how}"


@contextmanager
def hold_render_folder(out_dir: Path, say: Callable[[str], None]) -> Iterator[Interrupted | None]:
    """Hold the folder's render lock for the duration of the block (waiting, with a message,
    while another render holds it); yield the interrupted render found there, if any, after
    removing its leftovers."""
    cache = RenderFolder(out_dir).cache
    cache.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_path(out_dir))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        say(f"another render is writing {out_dir} ({_owner(cache)}): waiting for it to finish "
            "(Ctrl-C stops waiting; nothing of it is touched)")
        lock.acquire()
        say(f"the other render of {out_dir} has finished; continuing (what it made is reused)")
    try:
        _write_owner(cache)
        found = _interrupted(Path(out_dir))
        removed = sweep_leftovers(Path(out_dir))
        if found is not None:
            say(f"found an interrupted render in {out_dir} ({found.describe()}): resuming from what it finished"
                + (f"; removed {removed} leftover temp file{'s' if removed != 1 else ''}" if removed else ""))
        yield found
    finally:
        (cache / OWNER_NAME).unlink(missing_ok=True)
        lock.release()


def _write_owner(cache: Path) -> None:
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
    atomic_write_text(cache / OWNER_NAME, json.dumps(owner), mkdir=False)


def _owner(cache: Path) -> str:
    """Who holds the lock, as the holder wrote it (best effort: it may not have written yet)."""
    try:
        owner = json.loads((cache / OWNER_NAME).read_text())
        since = time.strftime("%H:%M:%S", time.localtime(float(owner["since"])))
        return f"pid {int(owner['pid'])} on {owner['host']}, since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _interrupted(out_dir: Path) -> Interrupted | None:
    run = RunStatus.read(RenderFolder(out_dir).manifest)
    if run is None or run.status not in ("running", "interrupted"):
        return None
    return Interrupted(run.status, run.pid, run.started)


def sweep_leftovers(out_dir: Path) -> int:
    """Remove temp files and folders of renders that are gone; call only with the lock held.
    Returns how many were removed."""
    removed = 0
    for path in sorted(Path(out_dir).rglob("*"), key=lambda p: len(p.parts)):
        if not _LEFTOVER.match(path.name) or not os.path.lexists(path):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed
