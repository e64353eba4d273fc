"""Engines and sessions: SQLite's settings (WAL, busy timeout, foreign keys, BEGIN as
the transaction asks), PostgreSQL's, and SQLite's write-ahead log copied back in the
background of a long-running server."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from tracker.db.transactions import _lock_file, sqlite_write_lock


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is off: SQLAlchemy's "begin" event below
    # emits BEGIN, so savepoints work and writers can ask for BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()



def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the project's settings: WAL, busy timeout and foreign keys on SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # PostgreSQL compiles a query whose estimated cost is high to machine code. For this
    # application's queries the compile is most of the time, when it is set off at all
    # (the reports' flows: 250 of 400 ms, from the row estimate of a JSON function): off.
    kwargs.setdefault("connect_args", {}).setdefault("options", "-c jit=off")
    return create_engine(url, **kwargs)


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


# Past this many frames (4 KiB pages) in the write-ahead log, the background checkpoint
# finishes its pass under the write lock, so the log can start over from its beginning.
WAL_RESTART_FRAMES = 4_096


def checkpoint_in_background(engine: Engine, every_seconds: float = 0.25) -> bool:
    """SQLite: copy the write-ahead log into the database from a thread of this process,
    not inside the commit of whichever writer crosses SQLite's 1,000-page mark. That
    commit holds the write lock for the whole checkpoint (several milliseconds every
    ~80 field scans, so every queued writer waits: the tail of the latencies).

    A passive checkpoint runs beside readers and writers, but under a steady stream of
    writes it never catches up with the last frame, and SQLite starts the log over only
    once it has: the log would grow without end (hundreds of MB in a minute of scans,
    and every read slower for it). So once the log is long, another pass catches up
    and a last one runs under the write lock, copying only what came in meanwhile
    (a few milliseconds).

    For long-running servers; False (and nothing changed) for other databases."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or _lock_file(database) is None:
        return False
    event.listen(engine, "connect", _no_autocheckpoint)

    def checkpoint() -> None:
        import sqlite3

        connection = sqlite3.connect(database, isolation_level=None,
                                     check_same_thread=False)
        while True:
            time.sleep(every_seconds)
            try:
                _busy, frames, _done = connection.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames > WAL_RESTART_FRAMES:
                    # Catch up with what came in meanwhile, then the last bit under the lock.
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    with sqlite_write_lock(database):
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                continue  # busy or gone for a moment: the next round tries again

    threading.Thread(target=checkpoint, name="sqlite-checkpoint", daemon=True).start()
    return True


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)
