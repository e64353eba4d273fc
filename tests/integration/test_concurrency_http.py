"""Many clients at once against real ``tracker serve`` processes on the test database
(SQLite or PostgreSQL): nothing refused, nothing stored twice, nothing lost, clones racing
in from two processes still caught, and custody equal to a replay of its history.

The in-process races (threads on the service) are in test_concurrency.py."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.integration.consistency import consistency_problems
from tests.integration.network import GTIN, Network, build
from tests.integration.served import call, tracker_serve
from tracker.db import make_session_factory
from tracker.models import (
    CaptureJob,
    CustodyMove,
    Event,
    ReceiptDay,
    Scan,
    Shipment,
    Violation,
)
from tracker.services import custody
from tracker.services.auth import SYSTEM
from tracker.services.events import party_uri

CLIENTS = 64
PHONES = CLIENTS // 2  # two clients per phone send the same scans: a phone's retries
SCANS_PER_CLIENT = 8
INSPECTORS = 8
CLONE_PAIRS = 8
AT_HOME = (1.0, 1.0)  # inside A1, inside A: the batch's territory
FAR_AWAY = (9.0, 9.0)  # inside A, ~1,100 km from AT_HOME


@pytest.fixture()
def net(db, settings) -> Network:
    with make_session_factory(db)() as session, session.begin():
        return build(session, settings, quantity=24)


def run_at_once(count: int, work: Callable[[int, threading.Barrier], Any]) -> list[Any]:
    """``work(i, barrier)`` in ``count`` threads, started together; their results, or
    the first exception raised in any of them."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = work(i, barrier)
        except BaseException as exc:  # noqa: BLE001 - raised below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.fixture(scope="module")
def servers(engine, database_url, tmp_path_factory) -> Iterator[list[str]]:
    """Two ``tracker serve`` processes on the test database, for the whole module (each
    test empties the database after itself; the servers read it afresh)."""
    folder = tmp_path_factory.mktemp("servers")
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(tracker_serve(database_url, folder, workers=1,
                                                 name=f"server-{n}")) for n in range(2)]


@pytest.mark.parametrize("processes", [1, 2], ids=["one_server", "two_servers"])
def test_64_clients_scanning_at_once_store_each_scan_once_and_catch_racing_clones(
        db, net, make_token, servers, processes):
    # 64 clients post at once: 32 phones, each sending its 8 scans from two clients at
    # the same moment (a phone's retry racing the original), to one server process or
    # split over two; all 256 scans are of 4 codes. Then 8 clones: the same code scanned
    # 1,100 km apart a minute apart, the two scans sent at the same moment (to two
    # processes when there are two servers). Then every client repeats its first scan.
    bases = servers[:processes]
    tokens = [make_token("inspector") for _ in range(INSPECTORS)]
    hot = net.serials[:4]
    clones = net.serials[4:4 + CLONE_PAIRS]
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)

    def client(t: int, barrier: threading.Barrier) -> list[tuple[str, int, dict]]:
        phone = t % PHONES
        token = tokens[phone % INSPECTORS]
        base = bases[(t // PHONES) % len(bases)]  # a phone's two clients: one each
        sent: list[tuple[str, int, dict]] = []

        def post(body: dict) -> None:
            status, answer = call(base, "POST", "/api/v1/scans", body, token)
            sent.append((body["client_scan_id"], status, answer))

        barrier.wait()
        for i in range(SCANS_PER_CLIENT):
            post({"code": hot[(phone + i) % len(hot)], "latitude": AT_HOME[0],
                  "longitude": AT_HOME[1], "client_scan_id": f"phone-{phone}:{i}"})
        if t % PHONES < CLONE_PAIRS:  # clients p and p + 32: the two halves of pair p
            pair = t % PHONES
            first = t < PHONES
            barrier.wait()
            lat, lon = AT_HOME if first else FAR_AWAY
            when = at if first else at + dt.timedelta(minutes=1)
            post({"code": clones[pair], "latitude": lat, "longitude": lon,
                  "scanned_at": when.isoformat(), "client_scan_id": f"clone-{t}"})
        else:
            barrier.wait()
        post({"code": hot[phone % len(hot)], "latitude": AT_HOME[0], "longitude": AT_HOME[1],
              "client_scan_id": f"phone-{phone}:0"})  # a retry after the answer came
        return sent

    sent = [entry for per_client in run_at_once(CLIENTS, client) for entry in per_client]

    assert Counter(status for _, status, _ in sent) == {201: len(sent)}, [
        answer for _, status, answer in sent if status != 201][:3]
    assert len(sent) == CLIENTS * (SCANS_PER_CLIENT + 1) + 2 * CLONE_PAIRS  # 592 posts
    # One scan per client_scan_id: every copy of a scan got the first one's answer.
    scan_of: dict[str, set[int]] = {}
    for client_scan_id, _, answer in sent:
        scan_of.setdefault(client_scan_id, set()).add(answer["scan_id"])
    assert all(len(ids) == 1 for ids in scan_of.values())
    expected_rows = PHONES * SCANS_PER_CLIENT + 2 * CLONE_PAIRS  # 272
    with make_session_factory(db)() as session:
        rows = {s.id: s for s in session.scalars(select(Scan))}
        assert len(rows) == expected_rows
        # Nothing lost: each answer is a stored row of that very scan.
        assert {i for ids in scan_of.values() for i in ids} == set(rows)
        assert {s.client_scan_id for s in rows.values()} == set(scan_of)
        hot_verdicts = Counter(s.verdict.value for s in rows.values()
                               if s.client_scan_id.startswith("phone-"))
        assert hot_verdicts == {"authentic": PHONES * SCANS_PER_CLIENT}
        for pair, serial in enumerate(clones):
            verdicts = sorted(s.verdict.value for s in rows.values() if s.serial == serial)
            assert verdicts == ["authentic", "suspected_clone"], (pair, verdicts)
        clone_violations = session.execute(
            select(Violation.serial, Violation.scan_count)).all()
        assert sorted(clone_violations) == sorted((s, 1) for s in clones)
    assert consistency_problems(db) == []
    print(f"\n{processes} server(s): {len(sent)} scans posted by {CLIENTS} clients at once, "
          f"{expected_rows} rows stored, {CLONE_PAIRS} racing clones caught")


def test_two_clerks_receiving_one_shipment_at_once_receive_each_item_once(
        db, net, make_token, servers):
    # Receiving again what was received changes nothing (tracker.services.custody):
    # both clerks get the received shipment; each item is received once.
    base = servers[0]
    with make_session_factory(db)() as session, session.begin():
        shipment = custody.record_shipment(session, from_party="brand", to_party="t1",
                                           codes=net.serials[:16], actor=SYSTEM)
    clerks = [make_token("distributor", "t1") for _ in range(2)]

    def receive(i: int, barrier: threading.Barrier) -> tuple[int, Any]:
        barrier.wait()
        return call(base, "POST", f"/api/v1/shipments/{shipment.id}/receive", None, clerks[i])

    answers = run_at_once(2, receive)
    assert [status for status, _ in answers] == [200, 200], answers
    assert [body["status"] for _, body in answers] == ["received", "received"]
    with make_session_factory(db)() as session:
        receipts = session.scalars(select(CustodyMove.key).where(
            CustodyMove.kind == "receive")).all()
        assert sorted(receipts) == sorted(net.key(i) for i in range(16))
        assert session.scalar(select(func.sum(ReceiptDay.receipts))) == 16
        assert session.scalar(select(func.count()).select_from(Event).where(
            Event.biz_step.contains("receiving"))) == 1
    assert consistency_problems(db) == []


def hop(kind: str, serials: list[str], source: str, destination: str, minute: int) -> dict:
    steps = {"shipping": "in_transit", "receiving": "in_progress"}
    return {"type": "ObjectEvent", "eventTime": f"2026-01-01T10:{minute:02d}:00.000Z",
            "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
            "epcList": [f"https://id.gs1.org/01/{GTIN}/21/{s}" for s in serials],
            "bizStep": kind, "disposition": steps[kind],
            "sourceList": [{"type": "owning_party", "source": party_uri(source)}],
            "destinationList": [{"type": "owning_party",
                                 "destination": party_uri(destination)}]}


def test_one_epcis_document_captured_twice_at_once_is_stored_once(db, net, make_token,
                                                                  servers):
    bases = servers
    admin = make_token("admin")
    document = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": "2026-01-01T00:00:00Z", "epcisBody": {"eventList": [
                    hop("shipping", net.serials[:6], "brand", "t1", 0),
                    hop("receiving", net.serials[:6], "brand", "t1", 1)]}}

    def capture(i: int, barrier: threading.Barrier) -> dict:
        barrier.wait()
        status, body = call(bases[i], "POST", "/api/v1/epcis/capture", document, admin)
        assert status == 202, body
        return body

    jobs = run_at_once(2, capture)
    assert sorted(job["capturedCount"] for job in jobs) == [0, 2], jobs
    (late,) = [job for job in jobs if job["capturedCount"] == 0]
    assert [(e["index"], e["code"]) for e in late["errors"]] == [(0, "duplicate_event"),
                                                                   (1, "duplicate_event")]
    with make_session_factory(db)() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(
            Event.origin == "capture")) == 2
        assert session.scalar(select(func.count()).select_from(CaptureJob)) == 2
        assert session.scalar(select(func.count()).select_from(Shipment)) == 1
        assert session.scalar(select(func.count()).select_from(CustodyMove)) == 12
    assert consistency_problems(db) == []


def test_two_shipments_of_the_same_items_at_once_ship_them_once(db, net, make_token,
                                                                 servers):
    # The sender holds the items once: one shipment takes them, the other is refused
    # as shipping what the sender no longer holds. Six rounds, three items each, the two
    # requests to two server processes at the same moment.
    brand = make_token("distributor", "brand")
    rounds = 6

    def ship(i: int, barrier: threading.Barrier) -> list[tuple[int, Any]]:
        answers = []
        for r in range(rounds):
            barrier.wait()
            answers.append(call(servers[i], "POST", "/api/v1/shipments", {
                "from": "brand", "to": ("t1", "t1b")[i],
                "codes": net.serials[3 * r:3 * r + 3]}, brand))
        return answers

    first, second = run_at_once(2, ship)
    for one, other in zip(first, second, strict=True):
        statuses = sorted([one[0], other[0]])
        assert statuses == [201, 409], (one, other)
        refused = one[1] if one[0] == 409 else other[1]
        assert refused["error"]["code"] == "not_held"
    with make_session_factory(db)() as session:
        assert session.scalar(select(func.count()).select_from(Shipment)) == rounds
        assert session.scalar(select(func.count()).select_from(CustodyMove)) == 3 * rounds
    assert consistency_problems(db) == []


def test_a_recall_racing_a_shipment_leaves_custody_consistent(db, net, make_token, servers):
    # A recall marks the batch (later scans of it are 'recalled'); it does not move custody
    # or stop a shipment (tracker.services.violations.recall_batch): both land, in
    # either order, and custody stays equal to its history.
    bases = servers
    compliance, brand = make_token("compliance"), make_token("distributor", "brand")

    def act(i: int, barrier: threading.Barrier) -> tuple[int, Any]:
        barrier.wait()
        if i == 0:
            return call(bases[0], "POST", f"/api/v1/batches/{net.batch_id}/recall",
                        {"reason": "contaminated"}, compliance)
        return call(bases[1], "POST", "/api/v1/shipments",
                    {"from": "brand", "to": "t1", "codes": net.serials[:10]}, brand)

    (recall_status, recall), (ship_status, shipment) = run_at_once(2, act)
    assert (recall_status, ship_status) == (200, 201), (recall, shipment)
    assert recall["status"] == "recalled" and shipment["status"] == "in_transit"
    status, scan = call(bases[0], "POST", "/api/v1/scans", {
        "code": net.serials[0], "latitude": AT_HOME[0], "longitude": AT_HOME[1]},
        make_token("inspector"))
    assert (status, scan["verdict"]) == (201, "recalled")
    assert consistency_problems(db) == []
