"""Pure CPU-bound work spread over the machine's cores: one pool of processes per process.

Checking and normalising the events of a large EPCIS document is pure Python, so threads
cannot share it out; processes can. The calling process takes the first slice itself
while the pool's workers take the others. The workers come from a fork server, never by
forking a threaded web worker, and compile the EPCIS schema once when they start.
Without a pool (one core, a failed start, a broken worker) the work runs here, the same.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

# Below this many items a slice costs more to send to a process than to work on here.
MIN_SLICE = 1_000

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def helpers() -> int:
    """Worker processes besides the calling one: one per further core."""
    return max(0, (os.cpu_count() or 1) - 1)


def _warm_up() -> None:
    from tracker.domain.epcis import warm_up

    warm_up()


def _started() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and helpers() > 0:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["tracker.domain.epcis"])
            _pool = ProcessPoolExecutor(max_workers=helpers(), mp_context=context,
                                        initializer=_warm_up)
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def start() -> None:
    """Start the workers now (servers call this at start) rather than on first use."""
    pool = _started()
    if pool is not None:
        for future in [pool.submit(_warm_up) for _ in range(helpers())]:
            future.result()


def map_slices(fn: Callable[[list[Any]], T], items: list[Any]) -> list[T]:
    """``fn`` over consecutive slices of ``items``, results in order: the slices go to
    the workers and this process when there are enough items, else ``[fn(items)]``."""
    count = min(helpers() + 1, len(items) // MIN_SLICE)
    pool = _started() if count > 1 else None
    if pool is None:
        return [fn(items)]
    size = -(-len(items) // count)
    slices = [items[i:i + size] for i in range(0, len(items), size)]
    try:
        futures = [pool.submit(fn, part) for part in slices[1:]]
    except (BrokenProcessPool, RuntimeError):
        _discard(pool)
        return [fn(items)]
    results = [fn(slices[0])]
    for part, future in zip(slices[1:], futures, strict=True):
        try:
            results.append(future.result())
        except BrokenProcessPool:
            _discard(pool)
            results.append(fn(part))
    return results
