"""Statements run on the driver (tracker.db.Prepared / DirectConnection) store and read
what Core stores and reads, on SQLite and PostgreSQL; and SQLite's background checkpoint."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import Engine, bindparam, insert, select

from tracker.db import (
    DirectConnection,
    Prepared,
    checkpoint_in_background,
    direct_connection,
    make_engine,
    table,
    write_transaction,
)
from tracker.domain.verdicts import Verdict
from tracker.models import Scan

_scan = table(Scan).c
COLUMNS = ("client_scan_id", "inspector_id", "code", "form", "key", "latitude", "longitude",
           "scanned_at", "received_at", "verdict", "near_border", "expected_territories", "flags",
           "response")
INSERT = Prepared(insert(table(Scan)).returning(_scan.id), columns=COLUMNS)
READ = Prepared(select(_scan.scanned_at, _scan.verdict, _scan.near_border,
                       _scan.expected_territories, _scan.response, _scan.accuracy_m)
                .where(_scan.id == bindparam("id")))
COUNT = Prepared(select(_scan.id).where(_scan.key == bindparam("key")))
AT = dt.datetime(2026, 5, 1, 10, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def values(client_scan_id: str = "c-1", key: str = "01/x/21/y",
           inspector: int | None = None) -> dict[str, object]:
    return dict(client_scan_id=client_scan_id, inspector_id=inspector, code="https://id.example.com/01/x/21/y",
                form="digital_link", key=key, latitude=23.1, longitude=113.3,
                scanned_at=AT, received_at=AT, verdict=Verdict.DIVERTED, near_border=True,
                expected_territories=["CN-GD"], flags=["outside_expected"],
                response={"verdict": "diverted", "n": 1})


def test_values_stored_on_the_driver_read_back_through_core_unchanged(db: Engine) -> None:
    with direct_connection(db) as direct, write_transaction(direct):
        (scan_id,) = direct.rows(INSERT, values())[0]
    with db.connect() as connection:
        row = connection.execute(select(table(Scan)).where(_scan.id == scan_id)).one()
    assert row.scanned_at == AT
    assert row.scanned_at.tzinfo is not None
    assert row.verdict is Verdict.DIVERTED
    assert row.near_border is True
    assert row.expected_territories == ["CN-GD"]
    assert row.response == {"verdict": "diverted", "n": 1}
    assert row.accuracy_m is None


def test_values_read_on_the_driver_equal_what_core_reads(db: Engine) -> None:
    with db.begin() as connection:
        scan_id = connection.execute(insert(table(Scan)).returning(_scan.id),
                                     values()).scalar_one()
        core = tuple(connection.execute(READ.statement, {"id": scan_id}).one())
    with direct_connection(db) as direct, direct.snapshot():
        assert direct.first(READ, {"id": scan_id}) == core
    assert core[:2] == (AT, Verdict.DIVERTED)


def test_a_failed_transaction_leaves_nothing(db: Engine) -> None:
    with pytest.raises(RuntimeError), direct_connection(db) as direct:
        with write_transaction(direct):
            direct.rows(INSERT, values(key="gone"))
            raise RuntimeError("stop")
    with direct_connection(db) as direct, direct.snapshot():
        assert direct.rows(COUNT, {"key": "gone"}) == []


def test_a_session_and_its_direct_connection_share_one_transaction(db: Engine) -> None:
    from tracker.db import make_session_factory

    with make_session_factory(db)() as session:
        with session.begin():
            shared = DirectConnection.of(session)
            shared.rows(INSERT, values(key="shared"))
            with shared.snapshot() as fresh:
                assert not fresh  # the session's transaction already is one
            assert session.scalars(select(_scan.id).where(_scan.key == "shared")).all()
            session.rollback()
    with direct_connection(db) as direct, direct.snapshot():
        assert direct.rows(COUNT, {"key": "shared"}) == []


def test_a_prepared_statement_must_spell_out_in_lists() -> None:
    statement = Prepared(select(_scan.id).where(_scan.form.in_(("a", "b"))))
    engine = make_engine("sqlite://")
    with pytest.raises(ValueError, match="cannot expand IN lists"):
        statement.form(engine.dialect)


def test_a_prepared_insert_must_be_given_every_column_it_names() -> None:
    statement = Prepared(insert(table(Scan)), columns=("code", "form"))
    engine = make_engine("sqlite://")
    # Core would fill these from the columns' Python defaults; a prepared insert cannot.
    with pytest.raises(ValueError, match=r"must be given \['expected_territories', 'flags', "
                                         r"'near_border', 'received_at'\]"):
        statement.form(engine.dialect)


def test_sqlite_wal_is_checkpointed_by_the_background_thread(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    assert checkpoint_in_background(engine, every_seconds=0.05)
    with engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        connection.exec_driver_sql("CREATE TABLE t (x TEXT)")
    size = (tmp_path / "wal.db").stat().st_size
    for _ in range(5):  # well past SQLite's own 1,000-page mark, which is off
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (?)", [("x" * 4000,)] * 400)
    # Only a checkpoint copies pages from the log into the database file.
    deadline = time.monotonic() + 10
    while (tmp_path / "wal.db").stat().st_size < size + 5 * 400 * 4000 and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "wal.db").stat().st_size >= size + 5 * 400 * 4000
    engine.dispose()


def test_sqlite_wal_starts_over_under_a_steady_stream_of_writes(tmp_path, monkeypatch) -> None:
    # Passive checkpoints alone never catch up with a writer that never pauses, and the
    # log only starts over once one has: it would grow without end.
    import tracker.db.engine

    monkeypatch.setattr(tracker.db.engine, "WAL_RESTART_FRAMES", 200)
    engine = make_engine(f"sqlite:///{tmp_path / 'stream.db'}")
    assert checkpoint_in_background(engine, every_seconds=0.02)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x TEXT)")
    written = 0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        with direct_connection(engine) as direct, write_transaction(direct):
            direct.driver.executemany("INSERT INTO t VALUES (?)", [("x" * 4000,)] * 20)
        written += 20 * 4096
    wal = (tmp_path / "stream.db-wal").stat().st_size
    assert written > 20_000_000
    assert wal < written / 4, (wal, written)
    engine.dispose()


def test_background_checkpoint_is_for_sqlite_files_only() -> None:
    assert checkpoint_in_background(make_engine("sqlite://")) is False
    assert checkpoint_in_background(
        make_engine("postgresql+psycopg://tracker@127.0.0.1:1/none")) is False


def test_a_bind_used_twice_is_converted_once_in_each_place(db: Engine) -> None:
    both = Prepared(select(_scan.key).where(_scan.scanned_at == bindparam("at"),
                                            _scan.received_at == bindparam("at")))
    with direct_connection(db) as direct, write_transaction(direct):
        direct.rows(INSERT, values(key="twice"))
        assert direct.rows(both, {"at": AT}) == [("twice",)]


def test_on_sqlite_a_thread_keeps_its_connection_until_an_error(db: Engine) -> None:
    import threading

    def driver() -> object:
        with direct_connection(db) as direct, direct.snapshot():
            assert direct.rows(COUNT, {"key": "none"}) == []
            return direct.driver

    first, again = driver(), driver()
    elsewhere: list[object] = []
    thread = threading.Thread(target=lambda: elsewhere.append(driver()))
    thread.start()
    thread.join()
    held = db.pool.checkedout()  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError), direct_connection(db):
        raise RuntimeError("stop")
    if db.dialect.name == "sqlite":
        assert again is first and elsewhere[0] is not first
        # The connection that saw the error went back to the pool; the next call works.
        assert db.pool.checkedout() == held - 1  # type: ignore[attr-defined]
    else:
        # PostgreSQL: every call takes a connection from the pool and gives it back.
        assert held == db.pool.checkedout() == 0  # type: ignore[attr-defined]
    driver()


def test_outside_a_transaction_each_statement_commits_on_its_own(db: Engine) -> None:
    with direct_connection(db) as direct:
        direct.rows(INSERT, values(key="alone"))
        with db.connect() as other:  # another connection sees it at once
            assert other.execute(select(_scan.id).where(_scan.key == "alone")).all()
        with direct.snapshot() as fresh:
            assert fresh  # a transaction of its own
            assert len(direct.rows(COUNT, {"key": "alone"})) == 1


def test_a_connection_goes_back_to_the_pool_as_it_came(db: Engine) -> None:
    with direct_connection(db) as direct:
        driver = direct.driver
        with write_transaction(direct):
            direct.rows(INSERT, values(key="back"))
    if db.dialect.name == "postgresql":
        # Sessions and Core expect a transaction to begin by itself on their connections.
        assert driver.autocommit is False
    with db.connect() as connection:
        assert connection.execute(select(_scan.id).where(_scan.key == "back")).all()


def test_many_rows_run_in_one_batch_land_as_one_by_one(db: Engine) -> None:
    rows = [values(client_scan_id=f"many-{n}", key="many") for n in range(3)]
    with direct_connection(db) as direct, write_transaction(direct):
        direct.run_many(Prepared(insert(table(Scan)), columns=COLUMNS), rows)
        direct.run_many(Prepared(insert(table(Scan)), columns=COLUMNS), [])
    with db.connect() as connection:
        stored = connection.execute(select(_scan.client_scan_id, _scan.scanned_at)
                                    .where(_scan.key == "many").order_by(_scan.id)).all()
    assert stored == [(f"many-{n}", AT) for n in range(3)]
