"""Transactions: ``write_transaction`` is the one way to open a transaction that writes
(on SQLite it takes the write lock first, so writers queue instead of failing)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from typing import TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")  # a Session or a DirectConnection

# A writer that starts with a deferred BEGIN reads first, then fails at once with
# SQLITE_BUSY if another connection wrote meanwhile; BEGIN IMMEDIATE waits its turn.
WRITE = {"sqlite_begin": "IMMEDIATE"}

# SQLite admits one writer. Writers queue on a lock instead of polling in SQLite's busy
# handler, whose growing sleeps (up to 100 ms) make a long tail of latencies: threads of
# this process on a threading lock, processes on an flock of a file beside the database
# (the kernel wakes a waiter as soon as the holder lets go).
_sqlite_writer = threading.Lock()
_lock_files: dict[str, int] = {}


def _lock_file(database: str) -> int | None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    if database not in _lock_files:
        _lock_files[database] = os.open(f"{database}.write-lock", os.O_RDWR | os.O_CREAT,
                                        0o644)
    return _lock_files[database]


@contextlib.contextmanager
def sqlite_write_lock(database: str) -> Iterator[None]:
    with _sqlite_writer:
        descriptor = _lock_file(database)
        if descriptor is None:
            yield
            return
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


@contextlib.contextmanager
def write_transaction(target: T) -> Iterator[T]:
    """One transaction that will write: on SQLite it takes the write lock up front.

    ``target`` is a session, or a hot path's ``DirectConnection``: of its own connection
    (it begins and commits there), or made of a session (the session's transaction,
    opened by the caller with ``write_transaction(session)``, is the one)."""
    if not isinstance(target, Session):
        with target._transaction(write=True):  # type: ignore[attr-defined]
            yield target
        return
    session: Session = target
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        with session.begin():
            yield target
        return
    with sqlite_write_lock(bind.engine.url.database or ""), session.begin():
        session.connection(execution_options=WRITE)
        yield target
