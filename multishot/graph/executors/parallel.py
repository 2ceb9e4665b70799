"""Running independent pieces of a stage graph at once: the driver dispatches them from a few
threads (one per executor slot), each blocking on its worker, and keeps results in order."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_ordered(fn: Callable[[T], R], items: Sequence[T], slots: int,
                on_abort: Callable[[], None] = lambda: None) -> list[R | BaseException]:
    """fn over items, at most `slots` at a time; each result or the exception it raised, in the
    items' order. Ctrl-C (or any error in the waiting itself) calls `on_abort` (which stops the
    workers, so the threads blocked on them return) before it propagates."""
    if slots <= 1 or len(items) <= 1:
        out: list[R | BaseException] = []
        for item in items:
            try:
                out.append(fn(item))
            except Exception as error:  # noqa: BLE001 - handed back in order, like the parallel path
                out.append(error)
        return out
    pool = ThreadPoolExecutor(max_workers=min(slots, len(items)), thread_name_prefix="multishot")
    futures: list[Future[R]] = [pool.submit(fn, item) for item in items]
    try:
        wait(futures)
    except BaseException:
        for future in futures:
            future.cancel()
        on_abort()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    results: list[R | BaseException] = []
    for future in futures:
        error = future.exception()
        results.append(error if error is not None else future.result())
    return results
