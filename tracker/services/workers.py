"""Pure CPU-bound work spread over the machine's cores: one pool of processes per process.

Checking and normalising the events of a large EPCIS document is pure Python, so threads
cannot share it out; processes can. The document is cut into slices that the pool's
workers take in order, while the calling process stores the results as they come and,
whenever it would wait, takes the last slice not yet started. The workers come from a
fork server, never by forking a threaded web worker, and compile the EPCIS schema once
when they start.
Without a pool (one core, a failed start, a broken worker, TRACKER_HELPER_PROCESSES=0)
the work runs here, the same. As with any multiprocessing start method but fork, a
script that uses tracker as a library must guard its entry point with
``if __name__ == "__main__":`` (the workers import the main module).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from tracker.config import Settings

T = TypeVar("T")

# Below this many items a slice costs more to send to a process than to work on here.
MIN_SLICE = 1_000

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_unavailable = False  # processes could not be started here: everything runs in-process


# TRACKER_HELPER_PROCESSES, read once; None: one per further core.
_configured = Settings.from_env().helper_processes


def helpers() -> int:
    """Worker processes besides the calling one: one per further core unless configured
    (TRACKER_HELPER_PROCESSES=0 keeps all the work in-process)."""
    if _configured is not None:
        return _configured
    return max(0, (os.cpu_count() or 1) - 1)


def _warm_up() -> None:
    from tracker.domain.epcis import warm_up

    warm_up()


def _started() -> ProcessPoolExecutor | None:
    global _pool
    if helpers() == 0 or _unavailable:
        return None
    with _lock:
        if _pool is None:
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
    """Start the workers now (servers call this at start) rather than on first use. Where
    processes cannot be started, work goes on in-process; this never fails."""
    global _unavailable
    pool = _started()
    if pool is None:
        return
    try:
        for future in [pool.submit(_warm_up) for _ in range(helpers())]:
            future.result()
    except (BrokenProcessPool, OSError, RuntimeError):
        _discard(pool)
        _unavailable = True


def map_slices(fn: Callable[[list[Any]], T], items: list[Any]) -> list[T]:
    """``fn`` over consecutive slices of ``items``, results in order (see imap_slices)."""
    return list(imap_slices(fn, items))


def imap_slices(fn: Callable[[list[Any]], T], items: list[Any],
                size: int = MIN_SLICE) -> Iterator[T]:
    """``fn`` over consecutive slices of ``items``, yielded in order as soon as each is
    ready, so the caller can use one result while the workers make the next ones. When a
    result is not ready, this process does the last slice nobody has started yet rather
    than wait. Without a pool (or for one slice) the slices are done here, one by one, as
    the caller asks for them."""
    slices = [items[i:i + size] for i in range(0, len(items), size)] or [items]
    pool = _started() if len(slices) > 1 else None
    if pool is None:
        for part in slices:
            yield fn(part)
        return
    try:
        futures: list[Future[T]] = [pool.submit(fn, part) for part in slices]
    except (BrokenProcessPool, RuntimeError):
        _discard(pool)
        for part in slices:
            yield fn(part)
        return
    done_here: dict[int, T] = {}
    try:
        for i, future in enumerate(futures):
            # Steal from the tail while the next result is still being made.
            tail = len(futures) - 1
            while i not in done_here and not future.done() and tail > i:
                if tail not in done_here and futures[tail].cancel():
                    done_here[tail] = fn(slices[tail])
                tail -= 1
            if i in done_here:
                yield done_here.pop(i)
                continue
            try:
                result = future.result()
            except BrokenProcessPool:
                _discard(pool)
                result = fn(slices[i])
            yield result
    finally:
        for future in futures:  # the caller stopped early (an error): drop what is left
            future.cancel()
