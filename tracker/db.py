"""Engine, session factory and the declarative base shared by every model."""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import fcntl
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, cast

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Enum,
    MetaData,
    Select,
    String,
    Table,
    TypeDecorator,
    bindparam,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.sql import ClauseElement

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware timestamps on every backend; SQLite keeps them as naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a timezone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, ``process_bind_param`` and the dialect's own formatting in one step,
        at half their cost: a field scan binds eight timestamps. The same text as theirs
        (tests.unit.test_db compares them): ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        utc = dt.UTC

        def process(value: dt.datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r}: timestamps must carry a timezone")
            return value.astimezone(utc).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}


def table(model: type[Base]) -> Table:
    """The model's Core table (``Model.__table__`` is typed as any FromClause)."""
    return cast(Table, model.__table__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc_day(dialect: str, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, in SQL (SQLite stores UTC text);
    ``as_date`` reads the result back."""
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def as_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def enum_type(cls: type[enum.Enum], name: str, length: int = 30) -> Enum:
    """An enum stored by value as a checked string, the same on SQLite and PostgreSQL."""
    return Enum(cls, values_callable=lambda e: [m.value for m in e], native_enum=False,
                length=length, name=name)


# Shared column types.
intpk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[dt.datetime, mapped_column(UTCDateTime(), default=utcnow)]
str64 = Annotated[str, mapped_column(String(64))]
str200 = Annotated[str, mapped_column(String(200))]


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


# A writer that starts with a deferred BEGIN reads first, then fails at once with
# SQLITE_BUSY if another connection wrote meanwhile; BEGIN IMMEDIATE waits its turn.
WRITE = {"sqlite_begin": "IMMEDIATE"}


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


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
def _sqlite_write_lock(database: str) -> Iterator[None]:
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
def write_transaction(session: Session) -> Iterator[Session]:
    """One transaction that will write: on SQLite it takes the write lock up front."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        with session.begin():
            yield session
        return
    with _sqlite_write_lock(bind.engine.url.database or ""), session.begin():
        session.connection(execution_options=WRITE)
        yield session


# SQLite allows 32,766 bound parameters; IN lists stay well below.
IN_CHUNK = 5_000


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items: IN lists and executemany batches."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_insert(dialect: str) -> Any:
    """The insert() of the dialect, which has on_conflict_do_update / do_nothing."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def insert_plain_rows(connection: Connection, table: Table, columns: Sequence[str],
                      rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert many rows of plain values (strings, integers: nothing a column type has to
    convert) at the driver's speed: SQLite's executemany, PostgreSQL's COPY. Core's
    executemany spends more time preparing each row's parameters than SQLite storing it."""
    if not rows:
        return
    names = ", ".join(columns)
    dialect = connection.dialect.name
    if dialect == "sqlite":
        marks = ", ".join("?" * len(columns))
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})",
                                   list(rows))
    elif dialect == "postgresql":
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    else:
        connection.execute(table.insert(), [dict(zip(columns, row, strict=True))
                                            for row in rows])


def paged(session: Session, query: Select[Any], *order_by: Any, limit: int, offset: int
          ) -> tuple[list[Any], int]:
    """One page of a query's entities and the total count of its rows."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(*order_by).limit(limit).offset(offset))
    return list(rows), total


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
                    with _sqlite_write_lock(database):
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                continue  # busy or gone for a moment: the next round tries again

    threading.Thread(target=checkpoint, name="sqlite-checkpoint", daemon=True).start()
    return True


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


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
    transactions: there a statement outside ``transaction()`` runs on its own, in
    autocommit (one statement, one snapshot, no BEGIN and COMMIT to wait for)."""

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

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[DirectConnection]:
        """One transaction on a connection from ``direct_connection``; a writer on SQLite
        takes the write lock and BEGIN IMMEDIATE, as ``write_transaction`` does."""
        if not self.sqlite:
            with self.driver.transaction():  # BEGIN ... COMMIT, or ROLLBACK on an error
                yield self
            return
        with _sqlite_write_lock(self.database) if write else contextlib.nullcontext():
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
        with self.transaction():
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
