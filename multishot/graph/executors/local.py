"""Local GPUs: one long-lived worker process per GPU (`--gpus 0,1` or `--gpus all`).

Each worker is started with `CUDA_VISIBLE_DEVICES` set to its GPU, so it sees exactly one device
and its backends load their models onto it once. The driver sends work to whichever worker is
idle; a worker that dies mid-shot (SIGKILL, out of memory, a driver crash) costs only that
piece of work: the worker is replaced and the work is tried again on the next idle worker, at
most `retries` more times, then the render fails with a sentence naming the shot.

For tests, `MULTISHOT_TEST_FAKE_GPUS=N` makes `--gpus` see N GPUs and start CPU workers in
their place (the same code path; `CUDA_VISIBLE_DEVICES` is set to "" so torch sees no GPU).
"""

from __future__ import annotations

from multishot.errors import InvalidInput

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from multishot.graph.executors.base import Call, ShotFailed, remote_form, take_idle
from multishot.graph.executors.worker import receive, send

FAKE_GPUS_ENV = "MULTISHOT_TEST_FAKE_GPUS"


class ExecutorUnusable(InvalidInput, ValueError):
    """--gpus / --ray asks for something this machine cannot give (invalid input: exit 2)."""


def discover_gpus() -> list[str]:
    """The GPU indices of this machine (nvidia-smi, then torch), or the faked ones in tests."""
    fake = os.environ.get(FAKE_GPUS_ENV)
    if fake:
        return [str(i) for i in range(int(fake))]
    try:
        listed = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=30, check=True).stdout
        found = [line.strip() for line in listed.splitlines() if line.strip()]
        if found:
            return found
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        return []


def parse_gpus(value: str) -> list[str]:
    """`all` or a comma list of GPU indices, checked against the machine's GPUs."""
    have = discover_gpus()
    if value.strip().lower() == "all":
        if not have:
            raise ExecutorUnusable("--gpus all: this machine has no GPU that nvidia-smi or torch can see")
        return have
    wanted = [part.strip() for part in value.split(",") if part.strip()]
    bad = [w for w in wanted if not w.isdigit()]
    if not wanted or bad:
        raise ExecutorUnusable(f"--gpus takes `all` or GPU indices like 0,1 (got {value!r})")
    if len(set(wanted)) != len(wanted):
        raise ExecutorUnusable(f"--gpus names a GPU twice: {value!r}")
    missing = [w for w in wanted if w not in have]
    if missing:
        raise ExecutorUnusable(f"--gpus {value}: no GPU {', '.join(missing)} on this machine "
                               f"(it has {', '.join(have) if have else 'none'})")
    return wanted


class _Worker:
    def __init__(self, gpu: str, generation: int, log_dir: Path) -> None:
        self.gpu = gpu
        self.name = f"gpu{gpu}" + (f".{generation}" if generation else "")
        env = dict(os.environ)
        env["CUDA_VISIBLE_DEVICES"] = "" if os.environ.get(FAKE_GPUS_ENV) else gpu
        env["MULTISHOT_WORKER_NAME"] = self.name
        env["PYTHONUNBUFFERED"] = "1"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = log_dir / f"{self.name}.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "multishot.graph.executors.worker"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env)
        self._ready = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ask(self, message: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if not self._ready:
            kind, _pid = receive(self.proc.stdout)
            self._ready = kind == "ready"
        send(self.proc.stdin, message)
        return receive(self.proc.stdout)

    def why_gone(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return "stopped answering"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with status {code}"

    def stop(self, grace: float) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.terminate()
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass


class LocalGPUs:
    """The local-GPU executor. `profile_of` maps the driver's backend objects to their profile
    names, so work travels as data and each worker uses its own models."""

    def __init__(self, gpus: list[str], log_dir: Path, profile_of: Callable[[Any], str | None], *,
                 retries: int = 2, on_event: Callable[..., None] | None = None) -> None:
        self.gpus = list(gpus)
        self.slots = len(self.gpus)
        self.retries = retries
        self.log_dir = log_dir
        self._profile_of = profile_of
        self.on_event: Callable[..., None] = on_event or (lambda kind, **data: None)
        self._lock = threading.Lock()
        self._closed = False
        self._generation: dict[str, int] = {}
        self._all: list[_Worker] = []
        self._idle: queue.Queue[_Worker] = queue.Queue()
        for gpu in self.gpus:
            self._idle.put(self._spawn(gpu))

    def _spawn(self, gpu: str) -> _Worker:
        with self._lock:
            worker = _Worker(gpu, self._generation.get(gpu, 0), self.log_dir)
            self._generation[gpu] = self._generation.get(gpu, 0) + 1
            self._all.append(worker)
            return worker

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._all if w.proc.poll() is None]

    def make(self, work: Call, tmp: Path, *, label: str) -> Any:
        message = (remote_form(work, self._profile_of), str(tmp), label)
        lost: list[str] = []
        for _attempt in range(self.retries + 1):
            worker = self._take()
            try:
                reply = worker.ask(message)
            except (EOFError, OSError):
                if self._closed:
                    raise ShotFailed(f"{label}: stopped") from None
                reason = f"{worker.name} (pid {worker.pid}) {worker.why_gone()}"
                lost.append(reason)
                self.on_event("worker-lost", item=label, worker=worker.name, pid=worker.pid, reason=reason)
                _remove(tmp)
                self._idle.put(self._spawn(worker.gpu))  # its replacement joins the back of the queue
                continue
            self._idle.put(worker)
            if reply[0] == "ok":
                return reply[1]
            raise reply[1]
        raise ShotFailed(f"{label} failed: the worker running it died {len(lost)} times "
                         f"({'; '.join(lost)}); worker logs are in {self.log_dir}")

    def _take(self) -> _Worker:
        return take_idle(self._idle, lambda: self._closed, "workers")

    def close(self, grace: float = 2.0) -> None:
        """Stop every worker: a polite end of input, then SIGTERM, then SIGKILL; waits for each."""
        self._closed = True
        with self._lock:
            workers = list(self._all)
        for worker in workers:
            try:
                if worker.proc.poll() is None and worker.proc.stdin:
                    send(worker.proc.stdin, None)
            except OSError:
                pass
        for worker in workers:
            worker.stop(grace)


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
