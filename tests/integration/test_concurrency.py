"""Writers on separate connections wait for each other instead of failing."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.integration.network import build
from tracker.db import make_session_factory, write_transaction
from tracker.models import Scan
from tracker.services import scans
from tracker.services.auth import SYSTEM


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
