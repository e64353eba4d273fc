"""Many rows at once: IN lists in slices, inserts at the driver's speed, upserts, pages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Select, Table, func, select
from sqlalchemy.orm import Session

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
