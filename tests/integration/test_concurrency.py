"""Writers on separate connections wait for each other instead of failing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading

import pytest
from sqlalchemy import func, select

from tests.integration.network import Network, build
from tracker.db import make_engine, make_session_factory, write_transaction
from tracker.models import Scan, Violation, ViolationAudit
from tracker.services import scans
from tracker.services.auth import SYSTEM, Actor, actor_for, create_user


def test_parallel_scans_all_land(db, settings):
    factory = make_session_factory(db)
    with factory() as session, session.begin():
        net = build(session, settings)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                with factory() as session, write_transaction(session):
                    scans.record_scan(session, scans.ScanRequest(
                        code=net.serials[(n + i) % len(net.serials)], latitude=1.0 + n / 100,
                        longitude=1.0, client_scan_id=f"{n}-{i}"), actor=SYSTEM,
                        settings=settings)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Scan)) == 80


@pytest.fixture()
def field(db, settings) -> tuple[Network, Actor]:
    """The small network and an inspector to scan in it."""
    with make_session_factory(db)() as session, session.begin():
        net = build(session, settings)
        user, _ = create_user(session, name="inspector", role="inspector", actor=SYSTEM)
        return net, actor_for(user)


def test_a_scan_retried_from_many_threads_at_once_is_stored_once(db, settings, field):
    # The phone resends while the first request is still running: one scan, one
    # violation with one audit entry, and every answer the first one.
    net, inspector = field
    factory = make_session_factory(db)
    request = scans.ScanRequest(code=net.serials[0], latitude=25.0, longitude=25.0,
                                client_scan_id="phone-1:7")  # in B: diverted
    barrier = threading.Barrier(8)
    answers: list[dict] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            with factory() as session, write_transaction(session):
                answers.append(scans.record_scan(session, request, actor=inspector,
                                                 settings=settings))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert answers[0]["verdict"] == "diverted"
    assert all(answer == answers[0] for answer in answers)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Scan)) == 1
        assert session.scalars(select(Violation.scan_count)).all() == [1]
        assert session.scalar(select(func.count()).select_from(ViolationAudit)) == 1


def test_a_clone_scanned_while_the_first_scan_is_still_being_stored_is_caught(db, settings,
                                                                          field):
    # Two phones scan the same code 2,000 km apart at once: the second waits for the
    # first scan's transaction and judges itself against it, on either database.
    net, inspector = field
    factory = make_session_factory(db)
    at = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)
    first = scans.ScanRequest(code=net.serials[0], latitude=5.0, longitude=5.0,
                              scanned_at=at, client_scan_id="a")
    second = scans.ScanRequest(code=net.serials[0], latitude=5.0, longitude=25.0,
                               scanned_at=at + dt.timedelta(minutes=1), client_scan_id="b")
    answers: dict[str, dict] = {}

    def scan_second() -> None:
        with factory() as session, write_transaction(session):
            answers["second"] = scans.record_scan(session, second, actor=inspector,
                                                  settings=settings)

    with factory() as session, write_transaction(session):
        answers["first"] = scans.record_scan(session, first, actor=inspector,
                                             settings=settings)
        racer = threading.Thread(target=scan_second)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive()  # waiting for the first scan to be stored
    racer.join()
    assert answers["first"]["verdict"] == "authentic"
    assert answers["second"]["verdict"] == "suspected_clone"


def try_lock_from_another_process(lock_path: str) -> str:
    """Ask a separate process for the writers' lock without waiting."""
    probe = ("import fcntl, os, sys\n"
             "fd = os.open(sys.argv[1], os.O_RDWR)\n"
             "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n"
             "    print('busy')\nelse:\n    print('free')\n")
    return subprocess.run([sys.executable, "-c", probe, lock_path], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_sqlite_writers_in_other_processes_queue_on_the_lock_file(tmp_path):
    # Worker processes of `tracker serve` wait on this lock rather than in SQLite's busy
    # handler; it is an SQLite mechanism, so this test uses its own SQLite file.
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    factory = make_session_factory(engine)
    lock_path = str(tmp_path / "lock.db.write-lock")
    try:
        with factory() as session, write_transaction(session):
            assert try_lock_from_another_process(lock_path) == "busy"
        assert try_lock_from_another_process(lock_path) == "free"
    finally:
        engine.dispose()
