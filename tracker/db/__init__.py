"""The database: one story for reaching it (docs/database.md says which path when).

- Models are declared on ``Base`` (``tracker.db.schema``) with its column types.
- A service takes the session (``fn(session, *, ...)``) and reads and writes through the
  ORM or Core on it. A transaction that writes is opened with ``write_transaction``
  (``tracker.db.transactions``), the one transaction API; reads need none of their own.
- Many rows at once go through ``tracker.db.bulk`` (IN lists in slices, inserts at the
  driver's speed).
- A hot path (a field scan, the public page, rate limits) compiles its statements once
  and runs them on the driver (``tracker.db.statements``), inside the one service module
  that needs it, behind a function that takes the session like any other.
- Engines and sessions come from ``tracker.db.engine``.
"""

from tracker.db.bulk import IN_CHUNK, chunks, dialect_insert, insert_plain_rows, paged
from tracker.db.engine import checkpoint_in_background, make_engine, make_session_factory
from tracker.db.schema import (
    NAMING_CONVENTION,
    Base,
    UTCDateTime,
    as_date,
    created_at,
    enum_type,
    intpk,
    str64,
    str200,
    table,
    utc_day,
    utcnow,
)
from tracker.db.statements import DirectConnection, Prepared, direct_connection
from tracker.db.transactions import WRITE, sqlite_write_lock, write_transaction

__all__ = [
    "IN_CHUNK", "NAMING_CONVENTION", "WRITE", "Base", "DirectConnection", "Prepared",
    "UTCDateTime", "as_date", "checkpoint_in_background", "chunks",
    "created_at", "dialect_insert", "direct_connection", "enum_type", "insert_plain_rows",
    "intpk", "make_engine", "make_session_factory", "paged", "sqlite_write_lock", "str64", "str200",
    "table",
    "utc_day", "utcnow", "write_transaction",
]
