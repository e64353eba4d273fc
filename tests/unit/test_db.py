"""UTCDateTime's one-step SQLite formatting writes what SQLAlchemy's two steps would."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from tracker.db import UTCDateTime

DIALECT = sqlite.dialect()
FAST = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
SQLALCHEMY = DateTime().dialect_impl(DIALECT).bind_processor(DIALECT)


def two_steps(value: dt.datetime) -> str:
    return SQLALCHEMY(value.astimezone(dt.UTC).replace(tzinfo=None))


def moments() -> list[dt.datetime]:
    rng = random.Random(7)
    zones = [dt.UTC, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-9,
                                                                                  minutes=-30))]
    fixed = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC),  # no microseconds: still six digits
             dt.datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=zones[1]),
             dt.datetime(2024, 2, 29, 0, 0, 0, 1, tzinfo=zones[2])]
    drawn = [dt.datetime(rng.randint(1000, 9998), rng.randint(1, 12), rng.randint(1, 28),
                         rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
                         rng.choice([0, rng.randint(0, 999_999)]), tzinfo=rng.choice(zones))
             for _ in range(2_000)]
    return fixed + drawn


def test_fast_sqlite_timestamps_are_sqlalchemys_text():
    for moment in moments():
        assert FAST(moment) == two_steps(moment), moment


def test_none_stays_none():
    assert FAST(None) is None


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError, match="naive datetime .* must carry a timezone"):
        FAST(dt.datetime(2026, 1, 1))


def test_postgresql_sessions_compile_no_queries_to_machine_code(engine):
    """PostgreSQL: JIT off (its compile time dominated short queries); SQLite has none."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            assert connection.exec_driver_sql("SHOW jit").scalar() == "off"
        else:
            assert engine.dialect.name == "sqlite"
