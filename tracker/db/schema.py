"""The declarative base every model shares, its naming convention and column types."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, cast

from sqlalchemy import DateTime, Enum, MetaData, String, Table, TypeDecorator, func
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, mapped_column

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
