"""Local GPUs: one long-lived worker process per GPU (`--gpus 0,1` or `--gpus all`).

Each worker is started with `CUDA_VISIBLE_DEVICES` set to its GPU, so it sees exactly one device
and its backends load their models onto it once. The driver sends work to whichever worker is
idle; a worker that dies mid-shot (SIGKILL, out of memory, a driver crash) costs only that
piece of work: the worker is replaced and the work is tried again on the next idle worker, at
most `retries` more times, then the render fails with a sentence naming the shot.

With `--cp N` a worker spans N GPUs (`--gpus 0,1,2,3 --cp 2`: two workers of two GPUs): N
processes, the ranks of one torch.distributed group, all started with `CUDA_VISIBLE_DEVICES` set
to the worker's GPUs, rank r on the r-th of them (worker.py). Rank 0 speaks for the group; the
driver watches every rank, and when one dies the whole group is killed and replaced, and its
piece of work is retried like any lost worker's (a group cannot go on without one of its ranks).

For tests, `MULTISHOT_TEST_FAKE_GPUS=N` makes `--gpus` see N GPUs and start CPU workers in
their place (the same code path; `CUDA_VISIBLE_DEVICES` is set to "" so torch sees no GPU, and
the ranks of a `--cp` worker talk over gloo instead of NCCL).
"""

from __future__ import annotations

from multishot.errors import InvalidInput

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from multishot.graph.executors.base import Call, RankLost, ShotFailed, remote_form, take_idle
from multishot.graph.executors.worker import RANK_ENV, RENDEZVOUS_ENV, TASK_FAILED, WORLD_ENV, receive, send

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


def worker_gpus(gpus: list[str], cp: int | None) -> list[list[str]]:
    """The GPUs of each worker: one each, or (`--cp N`) N consecutive ones each."""
    n = cp or 1
    if n < 1:
        raise ExecutorUnusable(f"--cp takes a number of GPUs per worker, 1 or more (got {n})")
    if len(gpus) % n:
        raise ExecutorUnusable(f"--cp {n} makes workers of {n} GPUs, but --gpus gives {len(gpus)} "
                               f"({', '.join(gpus)}); give a multiple of {n} GPUs, or another --cp")
    return [gpus[i:i + n] for i in range(0, len(gpus), n)]


#: How long a rank-0 process whose group lost another rank may take to say so itself (its
#: answer, an error, is then read as the loss it is) before the driver kills it.
GROUP_GRACE_S = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ended(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    if code == TASK_FAILED:
        return f"exited with status {code} (its task failed; the traceback is in its log)"
    return f"exited with status {code}"


class _Worker:
    """One worker: a process on one GPU, or (`--cp N`) N processes on N GPUs, the ranks of one
    torch.distributed group, rank 0 (`proc`) speaking for them."""

    def __init__(self, gpus: list[str], generation: int, log_dir: Path) -> None:
        self.gpus = list(gpus)
        self.name = "gpu" + "-".join(self.gpus) + (f".{generation}" if generation else "")
        env = dict(os.environ)
        env["CUDA_VISIBLE_DEVICES"] = "" if os.environ.get(FAKE_GPUS_ENV) else ",".join(self.gpus)
        env["PYTHONUNBUFFERED"] = "1"
        for key in (RANK_ENV, WORLD_ENV, RENDEZVOUS_ENV, "MULTISHOT_CONTEXT_PARALLEL"):
            env.pop(key, None)
        world = len(self.gpus)
        if world > 1:
            env.update({WORLD_ENV: str(world), RENDEZVOUS_ENV: f"tcp://127.0.0.1:{_free_port()}",
                        "MULTISHOT_CONTEXT_PARALLEL": str(world)})
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = log_dir / f"{self.name}.log"
        self._killed: set[int] = set()
        self._stopping = False
        self.procs: list[subprocess.Popen[bytes]] = []
        for rank in range(world):
            rank_env = {**env, "MULTISHOT_WORKER_NAME": self.name if rank == 0 else f"{self.name}.rank{rank}"}
            if world > 1:
                rank_env[RANK_ENV] = str(rank)
            log_path = self.log if rank == 0 else log_dir / f"{self.name}.rank{rank}.log"
            with open(log_path, "ab") as log:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "multishot.graph.executors.worker"],
                    stdin=subprocess.PIPE if rank == 0 else subprocess.DEVNULL,
                    stdout=subprocess.PIPE if rank == 0 else log, stderr=log, env=rank_env))
        self.proc = self.procs[0]
        self._ready = False
        if world > 1:
            threading.Thread(target=self._watch, name=f"watch-{self.name}", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.poll() is None]

    def healthy(self) -> bool:
        return all(p.poll() is None for p in self.procs)

    def _watch(self) -> None:
        """A group is whole or gone: once any rank has ended, kill the others (rank 0 after a
        grace, in which it may still answer, so its answer is read before its pipe closes)."""
        while not self._stopping:
            if any(p.poll() is not None for p in self.procs):
                if self.proc.poll() is None:
                    deadline = time.monotonic() + GROUP_GRACE_S
                    while self.proc.poll() is None and time.monotonic() < deadline and not self._stopping:
                        time.sleep(0.05)
                self._kill_all()
                return
            time.sleep(0.1)

    def _kill_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                self._killed.add(p.pid)
                try:
                    p.kill()
                except OSError:
                    pass

    def ask(self, message: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if not self._ready:
            kind, _pid = receive(self.proc.stdout)
            self._ready = kind == "ready"
        send(self.proc.stdin, message)
        return receive(self.proc.stdout)

    def lost_rank(self, error: BaseException, wait: float = 1.0) -> str | None:
        """After rank 0 answered with `error`: why another rank is gone, if one was lost
        (killed, or ended otherwise than by failing the task itself; or any ending at all when
        rank 0 did its part, RankLost) -- the error then only reports the loss, e.g. gloo's
        `connection closed by peer`. None: the error is the task's own."""
        deadline = time.monotonic() + wait
        while True:
            for rank, p in enumerate(self.procs[1:], start=1):
                code = p.poll()
                if (code is not None and p.pid not in self._killed
                        and (code != TASK_FAILED or isinstance(error, RankLost))):
                    return f"{self.name} rank {rank} (pid {p.pid}) {_ended(code)}"
            if all(p.poll() is not None for p in self.procs[1:]) or time.monotonic() >= deadline:
                return f"{self.name}: {error}" if isinstance(error, RankLost) else None
            time.sleep(0.05)

    def why_gone(self) -> str:
        """Which process of the worker ended and how (the one not ended by the driver)."""
        for p in self.procs:
            try:
                p.wait(timeout=5 + (GROUP_GRACE_S if len(self.procs) > 1 else 0))
            except subprocess.TimeoutExpired:
                self._killed.add(p.pid)
                p.kill()
        if len(self.procs) == 1:
            code = self.proc.returncode
            return f"{self.name} (pid {self.pid}) " + ("stopped answering" if self.pid in self._killed else _ended(code))
        culprits = [(rank, p) for rank, p in enumerate(self.procs) if p.pid not in self._killed]
        if not culprits:
            return f"{self.name} (pid {self.pid}) stopped answering"
        rank, p = culprits[0]
        return f"{self.name} rank {rank} (pid {p.pid}) {_ended(p.returncode)}"

    def stop(self, grace: float) -> None:
        self._stopping = True
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.terminate()
                except OSError:
                    pass
        deadline = time.monotonic() + grace
        for p in self.procs:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
            try:
                p.wait(timeout=5)
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
    names, so work travels as data and each worker uses its own models. `cp`: GPUs per worker
    (`--cp`), for one joint generation spread over several GPUs."""

    def __init__(self, gpus: list[str], log_dir: Path, profile_of: Callable[[Any], str | None], *,
                 retries: int = 2, on_event: Callable[..., None] | None = None, cp: int | None = None) -> None:
        self.gpus = list(gpus)
        self.groups = worker_gpus(self.gpus, cp)
        self.cp = cp or 1
        self.slots = len(self.groups)
        self.retries = retries
        self.log_dir = log_dir
        self._profile_of = profile_of
        self.on_event: Callable[..., None] = on_event or (lambda kind, **data: None)
        self._lock = threading.Lock()
        self._closed = False
        self._generation: dict[str, int] = {}
        self._all: list[_Worker] = []
        self._idle: queue.Queue[_Worker] = queue.Queue()
        for group in self.groups:
            self._idle.put(self._spawn(group))

    def _spawn(self, gpus: list[str]) -> _Worker:
        with self._lock:
            key = ",".join(gpus)
            worker = _Worker(gpus, self._generation.get(key, 0), self.log_dir)
            self._generation[key] = self._generation.get(key, 0) + 1
            self._all.append(worker)
            return worker

    def _replace(self, worker: _Worker) -> None:
        """Stop what is left of a worker and queue a fresh one on the same GPUs (at the back)."""
        worker.stop(0.5)
        if not self._closed:
            self._idle.put(self._spawn(worker.gpus))

    def worker_pids(self) -> list[int]:
        return [pid for w in self._all for pid in w.pids()]

    def make(self, work: Call, tmp: Path, *, label: str) -> Any:
        message = (remote_form(work, self._profile_of), str(tmp), label)
        lost: list[str] = []
        while len(lost) <= self.retries:
            worker = self._take()
            try:
                if not worker.healthy():  # e.g. a rank of a group ended while the group was idle
                    raise EOFError("a process of the worker has ended")
                reply = worker.ask(message)
                reason = worker.lost_rank(reply[1]) if reply[0] == "error" and len(worker.procs) > 1 else None
            except (EOFError, OSError):
                if self._closed:
                    raise ShotFailed(f"{label}: stopped") from None
                reason = worker.why_gone()
            except BaseException:
                # Anything else (an answer that does not unpickle, Ctrl-C): the worker's state is
                # unknown, and a worker never handed back would leave the next piece of work
                # waiting for it forever.
                self._replace(worker)
                raise
            if reason is not None:
                lost.append(reason)
                self.on_event("worker-lost", item=label, worker=worker.name, pid=worker.pid, reason=reason)
                _remove(tmp)
                self._replace(worker)  # its replacement joins the back of the queue
                continue
            if reply[0] == "ok":
                self._idle.put(worker)
                return reply[1]
            if len(worker.procs) > 1:
                # The ranks may have parted ways inside the failed task: start the group afresh.
                self._replace(worker)
            else:
                self._idle.put(worker)
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
