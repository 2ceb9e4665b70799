"""A long-lived worker process (one per GPU): reads Calls from the driver, runs them with its
own backends (models loaded once, on first use), answers with the result.

The protocol is length-prefixed pickles over the process's stdin/stdout, which the worker keeps
for itself. Pickle is safe here for the reason it is in `multiprocessing` (and in Ray): both ends
are processes of one render, connected by an anonymous pipe the driver created when it spawned
the worker; nothing read from a file, the network or a shot list is ever unpickled. Anything a
library prints goes to stderr (the worker's log file). A worker ignores
SIGINT (the driver stops it), and dies with the driver (PR_SET_PDEATHSIG) so a killed driver
leaves no orphans.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any, BinaryIO

HEADER = struct.Struct("!Q")


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

    from multishot.graph.executors.base import BackendPool, run_in_worker

    pool = BackendPool()
    name = os.environ.get("MULTISHOT_WORKER_NAME", "worker")
    delay = float(os.environ.get("MULTISHOT_TEST_TASK_DELAY_S", "0") or 0)  # tests only: a kill window
    send(outbox, ("ready", os.getpid()))
    while True:
        try:
            message = receive(inbox)
        except EOFError:
            return
        if message is None:
            return
        work, tmp, label = message
        print(f"{name} pid {os.getpid()}: start {label}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            if delay:
                time.sleep(delay)
            result = run_in_worker(work, Path(tmp), pool)
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
