"""Statements compiled once and run on the driver's connection: the hot paths' way
(a field scan, the public page, rate limits), inside the one service module that needs
it, behind a service function that takes the session."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, String, bindparam, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

from tracker.db.transactions import sqlite_write_lock

# --- statements run straight on the driver -----------------------------------------
#
# Core's execute() spends ~40 µs a call setting up its execution context (events,
# parameter processing, result metadata): four times what SQLite takes to run one of a
# field scan's statements, and a scan runs half a dozen. The scan path compiles its Core
# statements once per dialect and runs them on the driver's connection, converting
# values with the column types' own bind and result processors, so what is stored and
# read is exactly what Core would store and read.


class _Compiled:
    """One statement compiled for one dialect."""

    def __init__(self, statement: Any, dialect: Dialect, columns: Sequence[str] | None):
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        self.sql = str(compiled)
        if "POSTCOMPILE" in self.sql or compiled.escaped_bind_names:
            raise ValueError("a prepared statement cannot expand IN lists or escape bind "
                             f"names: {self.sql}")
        self.defaults = {name: value for name, value in compiled.params.items()
                         if value is not None}
        names = list(compiled.positiontup or compiled.params)
        if columns is not None:
            missing = set(names) - set(columns) - set(self.defaults)
            if missing:
                # Core would fill these from the columns' Python defaults; here the caller must.
                raise ValueError(f"a prepared insert must be given {sorted(missing)}")
        self.positional = compiled.positiontup is not None
        # A bind used twice appears twice in a positional statement: convert it once each.
        self.processors = {
            name: processor for name in dict.fromkeys(names)
            if (processor := compiled.binds[name].type.dialect_impl(dialect)
                .bind_processor(dialect)) is not None}
        self.slots = [(name, self.processors.get(name)) for name in names]
        self.dialect = dialect
        self.types = [column.type.dialect_impl(dialect) for column in statement.exported_columns]
        # The processors depend on the types the driver reports: known after the first run.
        self.results: list[Any] | None = None

    def parameters(self, given: dict[str, Any]) -> Any:
        if self.defaults:
            given = {**self.defaults, **given}
        if self.positional:
            return [value if (value := given.get(name)) is None or processor is None
                    else processor(value) for name, processor in self.slots]
        values = dict(given)
        for name, processor in self.processors.items():
            value = values.get(name)
            if value is not None:
                values[name] = processor(value)
        return values

    def convert(self, rows: list[Any], description: Sequence[Any]) -> list[tuple[Any, ...]]:
        results = self.results
        if results is None:
            results = [type_.result_processor(self.dialect, column[1])
                       for type_, column in zip(self.types, description, strict=True)]
            self.results = results if any(results) else []
        if not results:
            return rows
        return [tuple(value if p is None or value is None else p(value)
                      for p, value in zip(results, row, strict=True)) for row in rows]


class Prepared:
    """A Core statement (or a function of the dialect's name that builds one) compiled
    once per dialect and run with ``DirectConnection``. Statements with IN lists must
    spell them out (``or_``); inserts list the columns they fill."""

    def __init__(self, statement: Any, *, columns: Sequence[str] | None = None):
        self.statement = statement
        self.columns = columns
        self._forms: dict[str, _Compiled] = {}

    def form(self, dialect: Dialect) -> _Compiled:
        compiled = self._forms.get(dialect.name)
        if compiled is None:
            statement = (self.statement if isinstance(self.statement, ClauseElement)
                         else self.statement(dialect.name))
            compiled = self._forms[dialect.name] = _Compiled(statement, dialect, self.columns)
        return compiled


# PostgreSQL: a lock held until the transaction ends, on a 64-bit hash of a name.
_ADVISORY_LOCK = Prepared(lambda dialect: select(
    func.pg_advisory_xact_lock(func.hashtextextended(bindparam("name", type_=String), 0))))


class DirectConnection:
    """A database connection's driver, for running ``Prepared`` statements.

    ``of(session)`` runs them in the session's transaction; ``direct_connection(engine)``
    takes a connection of the engine's pool (on SQLite, the thread's own) and owns its
    transactions: there a statement outside ``write_transaction`` or ``snapshot`` runs
    on its own, in autocommit (one statement, one snapshot, no BEGIN and COMMIT to wait
    for). A service handed a session takes one with ``for_session``."""

    def __init__(self, engine: Engine, driver: Any, *, owned: bool = False):
        self.dialect = engine.dialect
        self.driver = driver
        self.url = str(engine.url)  # names the database in per-process caches
        self.database = engine.url.database or ""
        self.sqlite = self.dialect.name == "sqlite"
        self.owned = owned

    @classmethod
    def of(cls, session: Session | Connection) -> DirectConnection:
        connection = session.connection() if isinstance(session, Session) else session
        return cls(connection.engine, connection.connection.driver_connection)

    def rows(self, statement: Prepared, parameters: dict[str, Any] | None = None
             ) -> list[tuple[Any, ...]]:
        form = statement.form(self.dialect)
        cursor = self.driver.execute(form.sql, form.parameters(parameters or {}))
        return form.convert(cursor.fetchall(), cursor.description)

    def first(self, statement: Prepared, parameters: dict[str, Any] | None = None
              ) -> tuple[Any, ...] | None:
        rows = self.rows(statement, parameters)
        return rows[0] if rows else None

    def run(self, statement: Prepared, parameters: dict[str, Any] | None = None) -> None:
        form = statement.form(self.dialect)
        self.driver.execute(form.sql, form.parameters(parameters or {}))

    def run_many(self, statement: Prepared, rows: Sequence[dict[str, Any]]) -> None:
        """``run`` for many rows in one batch of the driver's (``executemany``)."""
        if len(rows) == 1:
            self.run(statement, rows[0])
        elif rows:
            form = statement.form(self.dialect)
            self.driver.cursor().executemany(form.sql, [form.parameters(r) for r in rows])

    @classmethod
    @contextlib.contextmanager
    def for_session(cls, session: Session) -> Iterator[DirectConnection]:
        """The fast path for a service that was handed a session. When the session holds
        a transaction, its statements run in it (all of it lands or none with the
        caller's); otherwise on a connection of its own (``direct_connection``), where
        reads need no transaction and ``write_transaction`` opens one that writes."""
        if session.in_transaction():
            yield cls.of(session)
            return
        with direct_connection(session.get_bind().engine) as db:
            yield db

    @contextlib.contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[DirectConnection]:
        """One transaction on a connection of its own; a writer on SQLite takes the write
        lock and BEGIN IMMEDIATE. Reached through ``write_transaction`` and ``snapshot``;
        on a session's connection the session's transaction is the one."""
        if not self.owned:
            yield self
            return
        if not self.sqlite:
            with self.driver.transaction():  # BEGIN ... COMMIT, or ROLLBACK on an error
                yield self
            return
        with sqlite_write_lock(self.database) if write else contextlib.nullcontext():
            self.driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self
            except BaseException:
                self.driver.rollback()
                raise
            self.driver.commit()

    def serialize(self, name: str) -> None:
        """Until this transaction ends, other writers that serialize on the same name
        wait for it (SQLite's writers already take turns on the write lock)."""
        if not self.sqlite:
            self.run(_ADVISORY_LOCK, {"name": name})

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[bool]:
        """The statements of the block see one state of the database: a read transaction
        on a connection of its own (yields True: what was read before the block may be
        older), the session's transaction otherwise (yields False)."""
        if not self.owned:
            yield False
            return
        with self._transaction():
            yield True


_kept = threading.local()


@contextlib.contextmanager
def direct_connection(engine: Engine) -> Iterator[DirectConnection]:
    """A connection for ``Prepared`` statements, whose transactions it owns.

    SQLite: each thread keeps one connection of the engine's pool for its next calls (a
    server's request threads live as long as the server), skipping the pool's checkout
    and reset on every request. Other databases: pooled, and back to the pool
    afterwards (the pool checks that a connection is alive before handing it out)."""
    if engine.dialect.name != "sqlite":
        pooled = engine.raw_connection()
        driver = pooled.driver_connection
        driver.autocommit = True  # type: ignore[union-attr]
        try:
            yield DirectConnection(engine, driver, owned=True)
        finally:
            try:
                # Back to the pool as SQLAlchemy handed it out: transactions begin by
                # themselves.
                driver.autocommit = False  # type: ignore[union-attr]
            except Exception:
                pooled.invalidate()  # broken: the pool will open another
            pooled.close()
        return
    kept: tuple[Engine, Any, DirectConnection] | None = getattr(_kept, "connection", None)
    if kept is None or kept[0] is not engine:
        if kept is not None:
            kept[1].close()  # another engine's (tests make one per app): back to its pool
        pooled = engine.raw_connection()
        kept = (engine, pooled, DirectConnection(engine, pooled.driver_connection, owned=True))
        _kept.connection = kept
    try:
        yield kept[2]
    except BaseException:
        # Its transaction blocks have rolled back already; the connection goes back to
        # the pool all the same (it may be broken; the pool resets or discards it).
        _kept.connection = None
        kept[1].close()
        raise
