"""``tracker serve`` killed with SIGKILL in the middle of a big write (a million serials,
an EPCIS capture, the receipt of a big shipment): afterwards each is all or nothing, and
``tracker db check`` passes.

The server runs in a process group of its own (gunicorn's master, its workers and their
helper processes); the kill takes the whole group, once the request is inside its write
transaction (SQLite: the server holds the write lock; PostgreSQL: its transaction has
written)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from tests.conftest import DL_BASE, tracker_command
from tests.integration.network import GTIN, build
from tests.integration.served import call, free_port, spawn, wait_answering
from tracker import migrate
from tracker.config import Settings
from tracker.db import make_engine, make_session_factory, write_transaction
from tracker.models import (
    Batch,
    CaptureJob,
    CustodyMove,
    Event,
    Serial,
    Shipment,
    ShipmentLine,
)
from tracker.services import custody
from tracker.services.auth import SYSTEM, create_user
from tracker.services.events import party_uri


@pytest.fixture()
def crash_db(database_url: str, tmp_path: Path, request: pytest.FixtureRequest
             ) -> Iterator[tuple[str, Engine]]:
    """A database of the test's own: a fresh SQLite file, or on PostgreSQL the suite's
    database (emptied after the test by the ``db`` fixture)."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'crash.db'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        yield url, engine
        engine.dispose()
        return
    yield database_url, request.getfixturevalue("db")


def prepared(engine: Engine, url: str, quantity: int) -> tuple[list[str], str]:
    """The small network of tests.integration.network with ``quantity`` serials, and an
    administrator's token."""
    settings = Settings(database_url=url, dl_base=DL_BASE, max_batch_quantity=1_000_000)
    with make_session_factory(engine)() as session, write_transaction(session):
        net = build(session, settings, quantity=quantity)
        _, token = create_user(session, name="root", role="admin", actor=SYSTEM)
    return net.serials, token


def writing(url: str, engine: Engine) -> bool:
    """Whether a server is inside a transaction that has written."""
    if url.startswith("sqlite"):
        lock = os.open(f"{engine.url.database}.write-lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(lock)  # releases the lock if it was taken
        return False
    with engine.connect() as connection:
        return bool(connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()")))


def killed_mid_write(url: str, engine: Engine, folder: Path, method: str, path: str,
                     body: Any, token: str) -> None:
    """Start ``tracker serve``, send the request, and once it is writing SIGKILL the
    server's whole process group. Fails if the request was answered first."""
    port = free_port()
    log_path = folder / "server.log"
    server = spawn(["serve", "--port", str(port), "--workers", "1"], url, folder, "server",
                   TRACKER_MAX_BATCH_QUANTITY="1000000")
    base = f"http://127.0.0.1:{port}"
    answer: list[Any] = []
    try:
        wait_answering(base, server, log_path)
        sender = threading.Thread(target=lambda: answer.append(_send(base, method, path,
                                                                     body, token)))
        sender.start()
        _wait_for(lambda: writing(url, engine), server, log_path, "to start writing")
        time.sleep(0.1)  # inside the write, which takes a second or more
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        _wait_for(lambda: _group_gone(server.pid), None, log_path, "to be gone")
    sender.join(timeout=60)
    assert answer and isinstance(answer[0], OSError), (
        f"the request was answered before the kill ({answer}): give it more work")


def _send(base: str, method: str, path: str, body: Any, token: str) -> Any:
    try:
        return call(base, method, path, body, token)
    except OSError as exc:  # the server died under the request
        return exc


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_for(condition: Callable[[], bool], server: subprocess.Popen[bytes] | None,
              log_path: Path, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if server is not None and server.poll() is not None:
            raise AssertionError(f"tracker serve exited with {server.returncode}:\n"
                                 f"{log_path.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for the server {what}:\n"
                                 f"{log_path.read_text(errors='replace')}")
        time.sleep(0.01)


def db_check(url: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """``tracker db check`` run afresh on the database left by the killed server."""
    env = {**os.environ, "TRACKER_DATABASE_URL": url, "TRACKER_DL_BASE": DL_BASE}
    return subprocess.run([*tracker_command(), "db", "check"], capture_output=True,
                          text=True, env=env, cwd=folder, timeout=120)


def count(engine: Engine, query: Any) -> int:
    with make_session_factory(engine)() as session:
        return session.scalar(query) or 0


def test_a_batch_of_a_million_serials_killed_mid_issue_is_all_or_nothing(crash_db,
                                                                         tmp_path):
    url, engine = crash_db
    _, token = prepared(engine, url, quantity=10)
    killed_mid_write(url, engine, tmp_path, "POST", "/api/v1/batches",
                     {"gtin": GTIN, "territory": "A", "quantity": 1_000_000}, token)
    engine.dispose()  # the database as a restarted server opens it
    batches = count(engine, select(func.count()).select_from(Batch))
    serials = count(engine, select(func.count()).select_from(Serial))
    assert (batches, serials) in [(1, 10), (2, 1_000_010)]
    result = db_check(url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def shipping_events(serials: list[str], per_event: int) -> dict[str, Any]:
    events = [{
        "type": "ObjectEvent", "eventTime": f"2026-01-01T10:00:{i % 60:02d}.{i:06d}Z",
        "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
        "epcList": [f"https://id.gs1.org/01/{GTIN}/21/{s}"
                    for s in serials[i * per_event:(i + 1) * per_event]],
        "bizStep": "shipping", "disposition": "in_transit",
        "sourceList": [{"type": "owning_party", "source": party_uri("brand")}],
        "destinationList": [{"type": "owning_party", "destination": party_uri("t1")}],
    } for i in range(len(serials) // per_event)]
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-01-01T00:00:00Z", "epcisBody": {"eventList": events}}


def test_an_epcis_capture_killed_mid_store_is_all_or_nothing(crash_db, tmp_path):
    url, engine = crash_db
    serials, token = prepared(engine, url, quantity=15_000)
    events_before = count(engine, select(func.count()).select_from(Event))
    killed_mid_write(url, engine, tmp_path, "POST", "/api/v1/epcis/capture",
                     shipping_events(serials, per_event=10), token)
    engine.dispose()
    captured = count(engine, select(func.count()).select_from(Event)) - events_before
    jobs = count(engine, select(func.count()).select_from(CaptureJob))
    moves = count(engine, select(func.count()).select_from(CustodyMove))
    shipments = count(engine, select(func.count()).select_from(Shipment))
    assert (jobs, captured, shipments, moves) in [(0, 0, 0, 0), (1, 1_500, 1_500, 15_000)]
    result = db_check(url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_receipt_killed_mid_write_is_all_or_nothing(crash_db, tmp_path):
    url, engine = crash_db
    serials, token = prepared(engine, url, quantity=12_000)
    with make_session_factory(engine)() as session, write_transaction(session):
        shipment_id = custody.record_shipment(session, from_party="brand", to_party="t1",
                                              codes=serials, actor=SYSTEM).id
    killed_mid_write(url, engine, tmp_path, "POST", f"/api/v1/shipments/{shipment_id}/receive",
                     None, token)
    engine.dispose()
    receipts = count(engine, select(func.count()).select_from(CustodyMove).where(
        CustodyMove.kind == "receive"))
    received_lines = count(engine, select(func.count()).select_from(ShipmentLine).where(
        ShipmentLine.status == "received"))
    assert (receipts, received_lines) in [(0, 0), (12_000, 12_000)]
    result = db_check(url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
