"""Webhooks end to end against a real local HTTP receiver: the outbox written with the
change, signatures that ``standardwebhooks`` verifies, retries with the same webhook-id,
a server killed before it delivered, a rolled-back change, two workers at once."""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import http.server
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from tests.integration.network import Network, build
from tests.integration.served import call, free_port, spawn, wait_answering
from tracker.config import Settings
from tracker.db import make_session_factory, write_transaction
from tracker.models import (
    DeliveryStatus,
    Role,
    Violation,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookNotification,
)
from tracker.services import notify, scans, violations, webhooks
from tracker.services.auth import SYSTEM, Actor
from tracker.services.deliveries import Outcome, Policy, Worker, claim, record

IN_B = (5.0, 25.0)  # latitude, longitude: in B, while the network's batch is for A
INSPECTOR = Actor(name="inspector", role=Role.INSPECTOR)
TINY = (0.05, 0.05, 0.05, 0.05)
# A server's retries a second apart, and claims that lapse within seconds.
FAST = {"TRACKER_WEBHOOK_RETRY_DELAYS": "1,1,1,1,1", "TRACKER_WEBHOOK_TIMEOUT_S": "1"}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> Any:
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    """A local HTTP server that records every POST and answers with the next of
    ``statuses`` (200 once they run out)."""

    port: int
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"received {len(self.received)} of {count}"
        return list(self.received)


@contextlib.contextmanager
def receiving(port: int | None = None, statuses: list[int] | None = None
              ) -> Iterator[Receiver]:
    receiver = Receiver(port or free_port(), list(statuses or []))

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with receiver.lock:
                receiver.received.append(Received(
                    {k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def subscribe(engine: Engine, url: str, events: list[str]) -> tuple[int, str]:
    with make_session_factory(engine)() as session, write_transaction(session):
        found, secret = webhooks.create_endpoint(session, url=url, events=events,
                                                 actor=SYSTEM)
        return found.endpoint.id, secret


def network(engine: Engine, settings: Settings) -> Network:
    with make_session_factory(engine)() as session, write_transaction(session):
        return build(session, settings)


def scan(engine: Engine, settings: Settings, serial: str, *, fail: bool = False
         ) -> dict[str, Any]:
    """A field scan in B, in a transaction of its own (rolled back by ``fail``)."""
    request = scans.ScanRequest(code=serial, latitude=IN_B[0], longitude=IN_B[1],
                                accuracy_m=5)
    with make_session_factory(engine)() as session:
        with contextlib.suppress(RuntimeError), write_transaction(session):
            answer = scans.record_scan(session, request, actor=INSPECTOR, settings=settings)
            if fail:
                raise RuntimeError("the change fails after its notification was written")
    return answer


def deliver(engine: Engine, policy: Policy, until: Receiver | None = None, count: int = 0,
            timeout: float = 60.0) -> None:
    """Run worker rounds until nothing is due (and ``until`` received ``count``)."""
    worker = Worker(engine, policy)
    deadline = time.monotonic() + timeout
    try:
        while True:
            made = worker.round()
            if until is not None and len(until.received) < count:
                assert time.monotonic() < deadline, f"received {len(until.received)}/{count}"
                time.sleep(0.01)
                continue
            if made == 0:
                break
    finally:
        worker.close()


def policy(delays: tuple[float, ...] = TINY) -> Policy:
    return Policy(delays, timeout_s=5.0, disable_after=dt.timedelta(days=5))


def settle(engine: Engine, chosen: Policy, timeout: float = 60.0) -> None:
    """Run worker rounds until no delivery is pending (delivered, or given up)."""
    worker = Worker(engine, chosen)
    deadline = time.monotonic() + timeout
    try:
        while True:
            worker.round()
            with make_session_factory(engine)() as session:
                if not session.scalar(select(func.count()).where(
                        WebhookDelivery.status == DeliveryStatus.PENDING)):
                    return
            assert time.monotonic() < deadline, "deliveries still pending"
            time.sleep(0.01)
    finally:
        worker.close()


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_diverted_scan_sends_violation_opened_signed_as_standard_webhooks_says(
        db, settings):
    net = network(db, settings)
    with receiving() as receiver:
        _, secret = subscribe(db, receiver.url, ["violation.opened"])
        answer = scan(db, settings, net.serials[0])
        assert answer["verdict"] == "diverted"
        deliver(db, policy(), receiver, 1)
        (got,) = receiver.received
    payload = got.verified(secret)  # raises unless the signature and timestamp hold
    assert payload["id"] == got.id and got.id.startswith("msg_")
    assert payload["type"] == "violation.opened"
    assert payload["data"]["id"] == answer["violation_id"]
    with make_session_factory(db)() as session:  # the violation as stored, as the API has it
        opened = session.get(Violation, answer["violation_id"])
        assert payload["data"] == json.loads(json.dumps(notify.violation(opened),
                                                        default=dt.datetime.isoformat))
    assert payload["data"]["type"] == "diverted" and payload["data"]["found_territory"] == "B"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-signature"].startswith("v1,")


def test_a_scan_that_extends_a_violation_or_an_event_nobody_wants_writes_nothing(
        db, settings):
    net = network(db, settings)
    with receiving() as receiver:
        subscribe(db, receiver.url, ["batch.recalled"])
        scan(db, settings, net.serials[0])
        subscribe(db, receiver.url, ["violation.opened"])
        scan(db, settings, net.serials[0])  # extends the open violation: not opened
        with make_session_factory(db)() as session:
            assert count(session, WebhookNotification) == 0
            assert count(session, WebhookDelivery) == 0


def test_a_receiver_failing_three_times_gets_the_same_webhook_id_four_times_then_nothing(
        db, settings):
    net = network(db, settings)
    with receiving(statuses=[500, 500, 500]) as receiver:
        endpoint_id, secret = subscribe(db, receiver.url, ["violation.opened"])
        scan(db, settings, net.serials[0])
        settle(db, policy())  # delivered: nothing is left to send
        received = list(receiver.received)
    assert len(received) == 4
    assert len({r.id for r in received}) == 1
    assert len({r.verified(secret)["id"] for r in received}) == 1
    with make_session_factory(db)() as session:
        ((delivery, _, attempts),) = [
            (f.delivery, f.notification, f.attempts)
            for f in webhooks.list_deliveries(session, endpoint_id, actor=SYSTEM)[0]]
        assert delivery.status is DeliveryStatus.DELIVERED
        assert delivery.attempts == 4 and delivery.next_attempt_at is None
        assert [a.status_code for a in attempts] == [500, 500, 500, 200]
        assert [a.error for a in attempts] == ["the receiver answered 500"] * 3 + [None]
        assert session.get(WebhookEndpoint, endpoint_id).failing_since is None


def test_a_delivery_whose_retries_all_fail_is_given_up_and_recorded(db, settings):
    net = network(db, settings)
    port = free_port()  # nothing listens: every POST is refused
    endpoint_id, _ = subscribe(db, f"http://127.0.0.1:{port}/hook", ["violation.opened"])
    scan(db, settings, net.serials[0])
    settle(db, policy((0.01, 0.01)))
    with make_session_factory(db)() as session:
        ((found), ) = webhooks.list_deliveries(session, endpoint_id, actor=SYSTEM)[0]
        assert found.delivery.status is DeliveryStatus.FAILED
        assert len(found.attempts) == 3
        assert all(a.status_code is None and "Connection refused" in (a.error or "")
                   for a in found.attempts)
        assert session.get(WebhookEndpoint, endpoint_id).failing_since is not None


def test_the_default_retries_last_more_than_a_day():
    assert sum(Settings().webhook_retry_delays) >= 24 * 3600
    delays = Settings.from_env({"TRACKER_WEBHOOK_RETRY_DELAYS": "5,30,300,1800"})
    assert delays.webhook_retry_delays == (5, 30, 300, 1800)


def test_retries_grow_with_jitter_that_only_lengthens_them():
    now = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    chosen = Policy((10, 100), 1.0, dt.timedelta(days=5))
    for _ in range(50):
        first = (chosen.retry_at(1, now) - now).total_seconds()
        second = (chosen.retry_at(2, now) - now).total_seconds()
        assert 10 <= first <= 12 and 100 <= second <= 120
    assert chosen.retry_at(3, now) is None


def test_a_rolled_back_change_notifies_no_one(db, settings):
    net = network(db, settings)
    with receiving() as receiver:
        subscribe(db, receiver.url, ["violation.opened", "batch.recalled"])
        scan(db, settings, net.serials[0], fail=True)  # the scan path (driver statements)
        with make_session_factory(db)() as session:
            with contextlib.suppress(RuntimeError), write_transaction(session):
                violations.recall_batch(session, net.batch_id, reason="mould", actor=SYSTEM)
                assert count(session, WebhookNotification) == 1  # written with the change
                raise RuntimeError("the recall fails")
            assert count(session, WebhookNotification) == 0
            assert count(session, WebhookDelivery) == 0
        deliver(db, policy())
        assert receiver.received == []


def test_an_endpoint_failing_for_days_is_disabled_with_a_notice(db, settings, caplog):
    net = network(db, settings)
    with receiving(statuses=[503]) as receiver:
        endpoint_id, _ = subscribe(db, receiver.url, ["violation.opened", "batch.recalled"])
        scan(db, settings, net.serials[0])
        with make_session_factory(db)() as session, write_transaction(session):
            session.execute(update(WebhookEndpoint).values(
                failing_since=dt.datetime.now(dt.UTC) - dt.timedelta(days=5, minutes=1)))
        with caplog.at_level(logging.WARNING, logger="tracker.services.deliveries"):
            deliver(db, policy(), receiver, 1)
        assert f"webhook {endpoint_id} ({receiver.url}) disabled" in caplog.text
        with make_session_factory(db)() as session:
            (found,) = webhooks.list_endpoints(session, actor=SYSTEM)
            assert found.endpoint.disabled_at is not None
            assert "every delivery failed since" in (found.endpoint.disabled_reason or "")
            session.rollback()
            # A disabled endpoint gets no new notification, and its retry waits.
            with write_transaction(session):
                violations.recall_batch(session, net.batch_id, reason="mould", actor=SYSTEM)
            assert count(session, WebhookNotification) == 1
        deliver(db, policy((0.0,)))
        assert len(receiver.received) == 1
        with make_session_factory(db)() as session, write_transaction(session):
            webhooks.set_enabled(session, endpoint_id, enabled=True, actor=SYSTEM)
        deliver(db, policy((0.0,)), receiver, 2)
        assert len({r.id for r in receiver.received}) == 1  # the retry of the same one


def test_a_claimed_delivery_is_no_other_workers_until_its_claim_lapses(db):
    subscribe(db, "http://127.0.0.1:9/hook", ["batch.recalled"])
    sessions = make_session_factory(db)
    with sessions() as session, write_transaction(session):
        notify.emit(session, "batch.recalled", {"id": 1})
    now, chosen = dt.datetime.now(dt.UTC), policy()
    with sessions() as session, write_transaction(session):
        (first,) = claim(session, owner="a", policy=chosen, now=now)
    with sessions() as session, write_transaction(session):
        assert claim(session, owner="b", policy=chosen, now=now) == []
    # Worker a died without recording: once its claim lapses, b sends it (same id).
    lapsed = now + dt.timedelta(seconds=chosen.timeout_s * 7 + 6)
    with sessions() as session, write_transaction(session):
        (again,) = claim(session, owner="b", policy=chosen, now=lapsed)
    assert (again.id, again.message_id) == (first.id, first.message_id)


def test_an_attempt_to_an_endpoint_deleted_meanwhile_is_dropped_with_it(db):
    endpoint_id, _ = subscribe(db, "http://127.0.0.1:9/hook", ["batch.recalled"])
    sessions = make_session_factory(db)
    with sessions() as session, write_transaction(session):
        notify.emit(session, "batch.recalled", {"id": 1})
    now, chosen = dt.datetime.now(dt.UTC), policy()
    with sessions() as session, write_transaction(session):
        (claimed,) = claim(session, owner="a", policy=chosen, now=now)
    with sessions() as session, write_transaction(session):
        webhooks.delete_endpoint(session, endpoint_id, actor=SYSTEM)
    outcome = Outcome(claimed, now, 200, None, 1.0)
    with sessions() as session, write_transaction(session):
        assert record(session, [outcome], owner="a", policy=chosen, now=now) == []
    with sessions() as session:
        assert count(session, WebhookAttempt) == 0 and count(session, WebhookDelivery) == 0


def test_notify_refuses_an_event_type_the_contract_lacks(session):
    with pytest.raises(ValueError, match="'violation.closed' is not an event type"):
        notify.emit(session, "violation.closed", {})


# --- processes ---------------------------------------------------------------------------


def _spawn(args: list[str], database_url: str, folder: Path, name: str,
           **env: str) -> subprocess.Popen[bytes]:
    return spawn(args, database_url, folder, name, TRACKER_HELPER_PROCESSES="0", **env)


def _serve(database_url: str, folder: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    process = _spawn(["serve", "--port", str(port), "--workers", "2", "--threads", "2"],
                     database_url, folder, "server", **env)
    wait_answering(f"http://127.0.0.1:{port}", process, folder / "server.log")
    return process


def wait_until(engine: Engine, condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with make_session_factory(engine)() as session:
            if condition(session):
                return
        assert time.monotonic() < deadline, "the condition did not hold within a minute"
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_server_killed_before_delivering_delivers_after_restart(
        db, settings, database_url, make_token, tmp_path):
    net = network(db, settings)
    receiver_port, port = free_port(), free_port()
    endpoint_id, secret = subscribe(db, f"http://127.0.0.1:{receiver_port}/hook",
                                    ["batch.recalled"])
    token = make_token("admin")
    # The receiver is down: the first attempt is refused, the next waits a second.
    server = _serve(database_url, tmp_path, port, **FAST)
    try:
        status, _ = call(f"http://127.0.0.1:{port}", "POST",
                         f"/api/v1/batches/{net.batch_id}/recall", {"reason": "mould"}, token)
        assert status == 200
    finally:
        _stop(server, signal.SIGKILL)
    with receiving(port=receiver_port) as receiver:
        with make_session_factory(db)() as session:
            (delivery,) = session.scalars(select(WebhookDelivery))
            assert delivery.status is DeliveryStatus.PENDING  # the change kept its notice
        server = _serve(database_url, tmp_path, port, **FAST)
        try:
            (got,) = receiver.wait_for(1)
            wait_until(db, lambda session: session.get(WebhookDelivery, delivery.id).status
                       is DeliveryStatus.DELIVERED)
        finally:
            _stop(server)
    payload = got.verified(secret)
    assert payload["type"] == "batch.recalled"
    assert payload["data"]["id"] == net.batch_id
    assert payload["data"]["recall_reason"] == "mould"
    with make_session_factory(db)() as session:
        assert session.get(WebhookDelivery, delivery.id).status is DeliveryStatus.DELIVERED
        assert session.scalar(select(WebhookEndpoint.failing_since)
                              .where(WebhookEndpoint.id == endpoint_id)) is None


def test_two_worker_processes_deliver_each_notification_once(db, database_url, tmp_path):
    notifications = 300
    with receiving() as receiver:
        subscribe(db, receiver.url, ["shipment.received"])
        with make_session_factory(db)() as session, write_transaction(session):
            for i in range(notifications):
                notify.emit(session, "shipment.received", {"id": i})
        workers = [_spawn(["webhooks", "deliver"], database_url, tmp_path, f"worker-{n}")
                   for n in range(2)]
        try:
            receiver.wait_for(notifications, timeout=180)
            time.sleep(1.0)  # room for a duplicate to arrive
        finally:
            for worker in workers:
                _stop(worker)
        counts = collections.Counter(r.id for r in receiver.received)
    assert len(counts) == notifications
    assert set(counts.values()) == {1}
    with make_session_factory(db)() as session:
        # One answered attempt per delivery; an attempt that got no answer (the loaded
        # machine's receiver refusing a connection for a moment) is recorded and retried,
        # which is not a second delivery.
        answered = collections.Counter(session.scalars(select(WebhookAttempt.delivery_id)
                                                       .where(WebhookAttempt.status_code == 200)))
        unanswered = session.scalars(select(WebhookAttempt.error).where(
            WebhookAttempt.status_code.is_(None))).all()
        assert len(answered) == notifications and set(answered.values()) == {1}
        assert all(unanswered) and len(unanswered) <= notifications // 100, unanswered
        assert session.scalar(select(func.count()).where(
            WebhookDelivery.status == DeliveryStatus.DELIVERED)) == notifications
    for n in range(2):  # neither worker failed along the way
        log = (tmp_path / f"worker-{n}.log").read_text()
        assert "Traceback" not in log, log


def test_deliver_once_sends_what_is_due_and_stops(db, run_cli):
    with receiving() as receiver:
        subscribe(db, receiver.url, ["batch.recalled"])
        with make_session_factory(db)() as session, write_transaction(session):
            notify.emit(session, "batch.recalled", {"id": 1})
        result = run_cli("webhooks", "deliver", "--once")
        assert json.loads(result.stdout) == {"attempts": 1}
        assert len(receiver.received) == 1


def test_a_shipment_received_through_epcis_sends_shipment_received(db, settings):
    from tests.integration.network import GTIN
    from tests.web.test_api_custody import hop
    from tracker.services import custody, epcis

    net = network(db, settings)
    with make_session_factory(db)() as session, write_transaction(session):
        shipment = custody.record_shipment(session, from_party="brand", to_party="t1",
                                           codes=net.serials[:3], actor=SYSTEM)
    uris = [f"https://id.gs1.org/01/{GTIN}/21/{s}" for s in net.serials[:3]]
    with receiving() as receiver:
        subscribe(db, receiver.url, ["shipment.received"])
        with make_session_factory(db)() as session, write_transaction(session):
            epcis.capture_event(session, hop("receiving", uris, "brand", "t1", 5),
                                actor=SYSTEM)
        deliver(db, policy(), receiver, 1)
        (got,) = receiver.received
    data = json.loads(got.body)["data"]
    assert (data["id"], data["status"], data["received"]) == (shipment.id, "received", 3)
