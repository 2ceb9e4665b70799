"""A long-lived worker process (one per GPU): reads Calls from the driver, runs them with its
own backends (models loaded once, on first use), answers with the result.

The protocol is length-prefixed pickles over the process's stdin/stdout, which the worker keeps
for itself. Pickle is safe here for the reason it is in `multiprocessing` (and in Ray): both ends
are processes of one render, connected by an anonymous pipe the driver created when it spawned
the worker; nothing read from a file, the network or a shot list is ever unpickled. Anything a
library prints goes to stderr (the worker's log file). A worker ignores
SIGINT (the driver stops it), and dies with the driver (PR_SET_PDEATHSIG) so a killed driver
leaves no orphans.

A worker that spans several GPUs (`render --cp N`) is N of these processes, ranks of one
torch.distributed group (NCCL on CUDA, gloo on the CPU), each on its own GPU. Rank 0 speaks to
the driver as above and broadcasts every task to the other ranks over a gloo group of their own
(pickled objects, CPU only, no timeout worth the name: a worker may idle for long); every rank
runs every task, so the transformer's forwards run sharded on all of them (Ulysses), and only
rank 0 writes the artifact: the others write into a scratch folder they empty after each task.
Rank 0 answers only once every rank has finished the task (a barrier), so a rank lost during a
task is that task's loss, even when rank 0 needed nothing from it.
A rank other than 0 whose task fails exits with TASK_FAILED: its group can no longer keep in step,
and the driver replaces the whole group.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

HEADER = struct.Struct("!Q")

#: A rank's place in a worker spanning several GPUs, set by the driver (local.py).
RANK_ENV = "MULTISHOT_RANK"
WORLD_ENV = "MULTISHOT_WORLD_SIZE"
RENDEZVOUS_ENV = "MULTISHOT_RENDEZVOUS"
#: Exit status of a rank other than 0 whose task raised (its traceback is in its log).
TASK_FAILED = 3


def send(stream: BinaryIO, message: Any) -> None:
    blob = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(blob)) + blob)
    stream.flush()


def receive(stream: BinaryIO) -> Any:
    """One message, or EOFError when the other side is gone."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        raise EOFError("the other side closed the pipe")
    size = HEADER.unpack(head)[0]
    blob = stream.read(size)
    if len(blob) < size:
        raise EOFError("the other side closed the pipe mid-message")
    return pickle.loads(blob)


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when the driver dies, however it dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _picklable_error(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - an exception type that does not travel
        return RuntimeError(f"{type(error).__name__}: {error}")


def _join_group(rank: int, world: int) -> Any:
    """This rank's place in its worker's torch.distributed group (NCCL on CUDA, gloo on CPU),
    on GPU `rank` of the ones CUDA_VISIBLE_DEVICES shows it; returns the gloo group the tasks
    are broadcast over."""
    import torch
    import torch.distributed as dist

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(rank)
    dist.init_process_group("nccl" if cuda else "gloo", init_method=os.environ[RENDEZVOUS_ENV], rank=rank,
                            world_size=world, timeout=timedelta(minutes=30))
    # Waiting for the next task is not a collective that can be late: a worker idles while the
    # driver waits for other workers, so this group's timeout is only a backstop.
    return dist.new_group(backend="gloo", timeout=timedelta(days=7))


def _finished_together(control: Any, label: str) -> None:
    """Every rank has finished the task (a task is done only when the whole group is: a rank
    lost during it is then that task's loss, and no rank drifts into the next task early)."""
    import torch.distributed as dist

    from multishot.graph.executors.base import RankLost

    try:
        dist.barrier(group=control)
    except Exception as error:  # noqa: BLE001 - gloo's words for a peer that is gone
        raise RankLost(f"{label}: another rank of this worker did not finish it ({error})") from None


def _broadcast(control: Any, message: Any = None) -> Any:
    """Rank 0's `message` on every rank of the group."""
    import torch.distributed as dist

    box = [message]
    dist.broadcast_object_list(box, src=0, group=control)
    return box[0]


def _follow(control: Any, pool: Any, name: str, delay: float) -> None:
    """A rank other than 0: run every task rank 0 broadcasts, writing into a scratch folder."""
    from multishot.graph.executors.base import run_in_worker

    scratch = Path(tempfile.mkdtemp(prefix=f"multishot-{name}-"))
    try:
        while True:
            message = _broadcast(control)
            if message is None:
                return
            work, tmp, label = message
            print(f"{name} pid {os.getpid()}: start {label}", file=sys.stderr, flush=True)
            try:
                if delay:
                    time.sleep(delay)
                run_in_worker(work, scratch / Path(tmp).name, pool)
                _finished_together(control, label)
            except BaseException:  # noqa: BLE001 - this rank can no longer keep in step
                traceback.print_exc(file=sys.stderr)
                print(f"{name} pid {os.getpid()}: failed {label}", file=sys.stderr, flush=True)
                sys.stderr.flush()
                os._exit(TASK_FAILED)
            finally:
                for entry in list(scratch.iterdir()):
                    shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            print(f"{name} pid {os.getpid()}: done {label} (ok)", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    inbox = os.fdopen(os.dup(0), "rb")
    outbox = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # library output goes to the log, never into the protocol
    sys.stdout = sys.stderr
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    if os.getppid() == 1:  # the driver died before PDEATHSIG was set
        return

    import logging

    from multishot.graph.executors.base import BackendPool, run_in_worker

    handler = logging.StreamHandler(sys.stderr)  # multishot's own notes go to this worker's log
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logging.getLogger("multishot").addHandler(handler)
    logging.getLogger("multishot").setLevel(logging.INFO)
    pool = BackendPool()
    name = os.environ.get("MULTISHOT_WORKER_NAME", "worker")
    delay = float(os.environ.get("MULTISHOT_TEST_TASK_DELAY_S", "0") or 0)  # tests only: a kill window
    rank, world = int(os.environ.get(RANK_ENV, "0") or 0), int(os.environ.get(WORLD_ENV, "1") or 1)
    control = _join_group(rank, world) if world > 1 else None
    if rank > 0:
        print(f"{name} pid {os.getpid()}: joined as rank {rank} of {world}", file=sys.stderr, flush=True)
        _follow(control, pool, name, delay)
        return
    send(outbox, ("ready", os.getpid()))
    while True:
        try:
            message = receive(inbox)
        except EOFError:
            message = None
        if control is not None:
            _broadcast(control, message)
        if message is None:
            return
        work, tmp, label = message
        print(f"{name} pid {os.getpid()}: start {label}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            if delay:
                time.sleep(delay)
            result = run_in_worker(work, Path(tmp), pool)
            if control is not None:
                _finished_together(control, label)
            reply = ("ok", result, time.perf_counter() - started)
        except BaseException as error:  # noqa: BLE001 - reported to the driver, which decides
            traceback.print_exc(file=sys.stderr)
            reply = ("error", _picklable_error(error), traceback.format_exc())
        print(f"{name} pid {os.getpid()}: done {label} ({reply[0]})", file=sys.stderr, flush=True)
        try:
            send(outbox, reply)
        except Exception as error:  # noqa: BLE001 - e.g. an unpicklable result
            send(outbox, ("error", RuntimeError(f"result of {label} could not be sent: {error}"), ""))


if __name__ == "__main__":
    main()
