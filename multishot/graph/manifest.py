"""The run manifest (`renders/<title>/manifest.json`): the build log of a render.

It is rewritten atomically after every artifact, so even a killed render leaves a readable
record of what was done, with each artifact's key, seed, timing and cache hit or miss. This is
the writer; every reader takes the typed records of post/manifest_record.py (`records()` here,
`read_manifest` there), so the JSON's field names are written in these two modules only.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from multishot.graph.artifact import Artifact
from multishot.post.atomic import atomic_write_text
from multishot.post.manifest_record import RenderManifest


@dataclass
class Manifest:
    path: Path
    header: dict[str, Any] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    status: str = "running"
    _made: set[str] = field(default_factory=set)
    write: bool = True

    @classmethod
    def reopen(cls, path: Path) -> "Manifest":
        """The build log of a finished render, to add to it (`review_render` records its outputs)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        header = {k: v for k, v in data.items() if k not in ("status", "artifacts", "events")}
        return cls(Path(path), header=header, entries=list(data.get("artifacts") or []),
                   events=list(data.get("events") or []), status=str(data.get("status", "complete")))

    def data(self) -> dict[str, Any]:
        """What `save` writes."""
        return {**self.header, "status": self.status, "artifacts": self.entries, "events": self.events}

    def records(self) -> RenderManifest:
        """The log as the typed records its readers take (post/manifest_record.py)."""
        return RenderManifest.from_json(json.loads(json.dumps(self.data(), default=str)))

    def made_this_run(self, path: Path) -> bool:
        return str(path) in self._made

    def record(self, artifact: Artifact, *, seed: int | None = None, shots: tuple[str, ...] = (),
               planned: bool = False) -> None:
        if not artifact.hit and not planned:
            self._made.add(str(artifact.path))
        self.entries.append({
            "stage": artifact.stage,
            "item": artifact.item,
            "key": artifact.key,
            "path": _rel(artifact.path, self.path.parent),
            "cache": "planned" if planned else ("hit" if artifact.hit else "miss"),
            "seconds": round(artifact.seconds, 4),
            "seed": seed,
            "shots": list(shots),
            # what was on disk, as verified on a hit or measured when made (graph/verify.py)
            **({"bytes": artifact.record.bytes, "sha256": artifact.record.sha256} if artifact.record else {}),
            **({"reason": artifact.reason} if artifact.reason else {}),
            **({"info": artifact.info} if artifact.info else {}),
            # made by a joint generation: `seconds` is this item's share of it; these say of what
            **({"group": list(artifact.group.items), "group_seconds": round(artifact.group.seconds, 4)}
               if artifact.group else {}),
        })
        self.save()

    def event(self, kind: str, **data: Any) -> None:
        self.events.append({"kind": kind, "time": time.time(), **data})
        self.save()

    def save(self) -> None:
        if not self.write:
            return
        try:
            atomic_write_text(self.path, json.dumps(self.data(), indent=2, default=str))
        except OSError as error:
            if error.filename is None:  # a full disk says no file name: name the manifest
                raise OSError(error.errno, error.strerror or str(error), str(self.path)) from error
            raise

    def hits(self) -> int:
        return sum(1 for e in self.entries if e["cache"] == "hit")

    def misses(self) -> int:
        return sum(1 for e in self.entries if e["cache"] == "miss")


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)
