"""What an executor is: something that runs a stage's work somewhere and leaves the artifact in
the shared cache folder, plus the in-process executor (today's behaviour, the default).

The engine keeps the manifest and the content-addressed cache in the driver; an executor only
turns a `Call` (a module-level function and its arguments, backends named by profile) into a
file at the temp path the engine chose. The engine renames it into place, as it does for work
done in process, so a worker lost mid-shot leaves no artifact behind, only a temp file the
engine removes. Workers load their models once (a pool per worker) and reuse them.
"""

from __future__ import annotations

import importlib
import queue
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol


@dataclass(frozen=True)
class BackendRef:
    """A backend named by its profile: each worker resolves it against its own loaded models."""

    profile: str


@dataclass(frozen=True)
class Call:
    """A stage's work as data: `fn` is "module:function"; `tmp_arg` names the argument the temp
    path goes into (None: the function takes none). Picklable once backends are BackendRefs."""

    fn: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    tmp_arg: str | None = "tmp"

    def local(self, tmp: Path) -> Any:
        """Run it here, with the arguments as given (the in-process path)."""
        return _resolve(self.fn)(**self._args(tmp, self.kwargs))

    def _args(self, tmp: Path, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**kwargs, self.tmp_arg: tmp} if self.tmp_arg else dict(kwargs)


def call(fn: Callable[..., Any], **kwargs: Any) -> Call:
    """A Call of a module-level function (what stages hand to the engine)."""
    return Call(f"{fn.__module__}:{fn.__qualname__}", kwargs)


def _resolve(name: str) -> Callable[..., Any]:
    module, _, attr = name.partition(":")
    target: Any = importlib.import_module(module)
    for part in attr.split("."):
        target = getattr(target, part)
    return target


#: A pool key ending in one of these asks for the profile's draft or fast settings: the key
#: names the variant, so a worker given the key builds the same backend as the driver.
DRAFT = "#draft"
FAST = "#fast"


class BackendPool:
    """One backend per profile per process (driver or worker): models are loaded once and
    reused for every shot. A fast pool (`render --fast`) runs every profile with its `fast:`
    settings; a key `NAME#draft` runs NAME's draft settings (`render --draft`)."""

    def __init__(self, fast: bool = False) -> None:
        self._backends: dict[str, Any] = {}
        self.fast = fast

    def __call__(self, profile: str) -> Any:
        if profile not in self._backends:
            from multishot.backends.registry import get_backend

            name, draft, fast = profile, False, self.fast
            if name.endswith(DRAFT):
                name, draft = name[: -len(DRAFT)], True
            elif name.endswith(FAST):
                name, fast = name[: -len(FAST)], True
            self._backends[profile] = get_backend(name, fast=fast, draft=draft)
        return self._backends[profile]

    def portable_name(self, backend: Any) -> str | None:
        """The key another process's pool turns into the same backend (None: not from here)."""
        for key, value in self._backends.items():
            if value is backend:
                return key + FAST if self.fast and not key.endswith((DRAFT, FAST)) else key
        return None

    def speed(self) -> dict[str, dict[str, str]]:
        """Per profile, what each role runs with (for the manifest)."""
        return {name: b.speed() for name, b in sorted(self._backends.items()) if hasattr(b, "speed")}


def run_in_worker(work: Call, tmp: Path, pool: BackendPool) -> Any:
    """The worker side: BackendRefs become this worker's backends, then the function runs."""
    kwargs = {k: pool(v.profile) if isinstance(v, BackendRef) else v for k, v in work.kwargs.items()}
    return _resolve(work.fn)(**work._args(tmp, kwargs))


class ShotFailed(RuntimeError):
    """A piece of work failed on every worker it was tried on (bounded retries)."""


class RankLost(RuntimeError):
    """Rank 0 of a worker spanning several GPUs did its part of a task, but another rank did not
    finish it (local.py reads it as a lost worker). Defined here, not in worker.py, which runs as
    `__main__`: an exception must unpickle in the driver under the name it was raised with."""


def take_idle(idle: "queue.Queue[Any]", closed: Callable[[], bool], what: str) -> Any:
    """The next idle worker (or actor), waiting for one; ShotFailed once the executor closes,
    so a dispatching thread never waits forever on a stopped pool."""
    while True:
        if closed():
            raise ShotFailed(f"the {what} were stopped")
        try:
            return idle.get(timeout=0.5)
        except queue.Empty:
            continue


class Executor(Protocol):
    #: How many pieces of work may run at once (threads the driver dispatches from).
    slots: int
    #: Where the executor reports what the manifest should record (a lost worker).
    on_event: Callable[..., None]

    def make(self, work: Call, tmp: Path, *, label: str) -> Any:
        """Produce `tmp` (and return the function's info); blocks until done."""

    def close(self) -> None:
        """Stop every worker (also on Ctrl-C); idempotent."""


class InProcess:
    """Today's behaviour: the work runs in the driver, one piece at a time."""

    slots = 1

    def __init__(self) -> None:
        self.on_event: Callable[..., None] = lambda kind, **data: None

    def make(self, work: Call, tmp: Path, *, label: str) -> Any:
        return work.local(tmp)

    def close(self) -> None:
        pass


def remote_form(work: Call, profile_of: Callable[[Any], str | None]) -> Call:
    """The Call as it travels: backend objects become BackendRefs (by the driver's pool), and
    progress callbacks, which cannot cross a process, are dropped."""
    kwargs: dict[str, Any] = {}
    for key, value in work.kwargs.items():
        name = profile_of(value)
        if name is not None:
            kwargs[key] = BackendRef(name)
        elif callable(value) and not isinstance(value, type):
            kwargs[key] = None
        else:
            kwargs[key] = value
    return Call(work.fn, kwargs, work.tmp_arg)
