"""EPCIS query subscriptions end to end against a real local HTTP receiver: a stream
subscription gets the matching events of each capture (and only those), signed as
Standard Webhooks says with its signatureToken, retried with the same webhook-id; a
scheduled one is pushed on its schedule by the delivery worker, empty only under
reportIfEmpty, once per run however many workers run; a capture rolled back or a
subscription deleted pushes nothing."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from standardwebhooks import Webhook

from tests.integration.network import GTIN, build
from tests.integration.test_webhooks import Receiver, deliver, policy, receiving, settle
from tests.web.test_api_custody import event_doc, hop
from tracker.config import Settings
from tracker.db import make_session_factory, write_transaction
from tracker.models import (
    CustodyMove,
    Event,
    QuerySubscription,
    WebhookAttempt,
    WebhookDelivery,
    WebhookNotification,
)
from tracker.services import (
    custody,
    epcis,
    epcis_queries,
    epcis_subscriptions,
    events,
    webhooks,
)
from tracker.services.auth import SYSTEM
from tracker.services.deliveries import Worker
from tracker.services.epcis_subscriptions import secret_of

TOKEN = "13df38d8275b13f05704629e5f1cf3d45d6132d5"
SHIPPING = {"eventType": ["ObjectEvent"], "EQ_bizStep": ["shipping"]}
EVERY_SECOND = {"second": "[0-59]"}


def observation(n: int) -> dict[str, Any]:
    return {"type": "ObjectEvent", "eventTime": f"2026-01-02T10:{n % 60:02d}:00.000Z",
            "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "bizStep": "inspecting",
            "epcList": [f"urn:epc:id:sgtin:9506000.013435.obs{n}"]}


class World:
    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.sessions = make_session_factory(engine)
        with self.sessions() as session, write_transaction(session):
            net = build(session, settings)
        self.uris = [f"https://id.gs1.org/01/{GTIN}/21/{s}" for s in net.serials]
        self.minute = 0
        with self.sessions() as session, write_transaction(session):
            epcis_queries.create_query(session, name="shipped", query=SHIPPING, actor=SYSTEM)

    def subscribe(self, dest: str, **controls: Any) -> str:
        with self.sessions() as session, write_transaction(session):
            found, _ = epcis_subscriptions.create_subscription(
                session, "shipped", dest=dest, signature_token=TOKEN, actor=SYSTEM,
                **controls)
            return found.subscription.subscription_id

    def shipping(self, serial: int, to: str = "t1") -> dict[str, Any]:
        self.minute += 1
        return hop("shipping", self.uris[serial:serial + 1], "brand", to, self.minute)

    def capture(self, events: list[dict[str, Any]], *, fail: bool = False) -> list[str]:
        """Capture ``events`` in a transaction of their own (rolled back by ``fail``);
        the eventIDs stored."""
        with self.sessions() as session:
            with contextlib.suppress(RuntimeError), write_transaction(session):
                job = epcis.capture_document(session, event_doc(events), actor=SYSTEM)
                assert job.status.value == "success", job.errors
                ids = [e.document["eventID"] for e in session.scalars(
                    select(Event).where(Event.capture_job_id == job.id)
                    .order_by(Event.id))]
                if fail:
                    raise RuntimeError("the capture fails after its events were stored")
        return ids

    def count(self, model: type[Any]) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def subscription(self, subscription_id: str) -> QuerySubscription:
        with self.sessions() as session:
            found = session.scalar(select(QuerySubscription).where(
                QuerySubscription.subscription_id == subscription_id))
            assert found is not None
            session.expunge(found)
            return found


def pushed(receiver: Receiver) -> list[dict[str, Any]]:
    """Each push received, its signature verified with the subscriber's token."""
    verifier = Webhook(secret_of(TOKEN))  # raises unless signature and timestamp hold
    return [verifier.verify(r.body, r.headers) for r in receiver.received]


def ids_in(document: dict[str, Any]) -> list[str]:
    body = document["epcisBody"]["queryResults"]["resultsBody"]
    return [e["eventID"] for e in body["eventList"]]


def test_a_stream_subscription_receives_the_matching_events_of_a_capture_signed(
        db, settings):
    world = World(db, settings)
    with receiving() as receiver:
        subscription_id = world.subscribe(receiver.url, stream=True)
        shipped = world.capture([world.shipping(0), observation(1), world.shipping(1),
                                 observation(2)])
        deliver(db, policy(), receiver, 1)
        with world.sessions() as session, write_transaction(session):
            event = epcis.capture_event(session, world.shipping(2), actor=SYSTEM)
            one = event.document["eventID"]
        world.capture([observation(3)])  # matches nothing: no push
        deliver(db, policy(), receiver, 2)
        (first, second) = pushed(receiver)
    assert len(shipped) == 4
    assert ids_in(first) == [shipped[0], shipped[2]]  # the shipping events, not the others
    assert ids_in(second) == [one]
    for document in (first, second):
        assert document["type"] == "EPCISQueryDocument"
        results = document["epcisBody"]["queryResults"]
        assert results["queryName"] == "shipped"
        assert results["subscriptionID"] == subscription_id
    got = receiver.received[0]
    assert got.headers["webhook-signature"].startswith("v1,")
    assert got.headers["gs1-signature"] == got.headers["webhook-signature"]  # GS1's header
    assert got.headers["content-type"] == "application/json"
    assert json.loads(got.body) == first
    with world.sessions() as session:  # GET .../subscriptions/{id} says when it was reached
        found = epcis_subscriptions.get_subscription(session, "shipped", subscription_id,
                                                     actor=SYSTEM)
        assert found.last_notified_at is not None


def test_a_push_the_receiver_refuses_is_retried_with_the_same_webhook_id(db, settings):
    world = World(db, settings)
    with receiving(statuses=[500]) as receiver:
        world.subscribe(receiver.url, stream=True)
        shipped = world.capture([world.shipping(0)])
        settle(db, policy())
        received = list(receiver.received)
    assert len(received) == 2 and received[0].id == received[1].id
    assert [ids_in(d) for d in pushed(receiver)] == [shipped, shipped]
    with world.sessions() as session:
        statuses = session.scalars(select(WebhookAttempt.status_code)
                                   .order_by(WebhookAttempt.id)).all()
        assert statuses == [500, 200]


def test_a_rolled_back_capture_pushes_nothing(db, settings):
    world = World(db, settings)
    with receiving() as receiver:
        world.subscribe(receiver.url, stream=True)
        world.capture([world.shipping(0)], fail=True)
        assert world.count(WebhookNotification) == 0
        deliver(db, policy())
        assert receiver.received == []


def test_a_deleted_subscription_pushes_nothing_more(db, settings):
    world = World(db, settings)
    with receiving() as receiver:
        subscription_id = world.subscribe(receiver.url, stream=True)
        world.capture([world.shipping(0)])  # written, not yet sent
        assert world.count(WebhookDelivery) == 1
        with world.sessions() as session, write_transaction(session):
            epcis_subscriptions.delete_subscription(session, "shipped", subscription_id,
                                                    actor=SYSTEM)
        world.capture([world.shipping(1)])
        deliver(db, policy())
        assert receiver.received == []
        assert world.count(WebhookDelivery) == 0


def test_a_scheduled_subscription_is_pushed_by_the_worker_on_its_schedule(db, settings):
    world = World(db, settings)
    before = world.capture([world.shipping(0)])  # stored before it: not in its pushes
    with receiving() as receiver:
        subscription_id = world.subscribe(receiver.url, schedule=EVERY_SECOND)
        assert world.count(WebhookNotification) == 0  # nothing until its time comes
        shipped = world.capture([world.shipping(1), observation(1), world.shipping(2)])
        deliver(db, policy(), receiver, 1)
        later = world.capture([world.shipping(3)])
        deliver(db, policy(), receiver, 2)
        documents = pushed(receiver)
    assert [ids_in(d) for d in documents[:2]] == [[shipped[0], shipped[2]], later]
    assert before[0] not in ids_in(documents[0])
    assert {d["epcisBody"]["queryResults"]["subscriptionID"] for d in documents} == {
        subscription_id}
    found = world.subscription(subscription_id)
    assert found.next_run_at is not None and found.next_run_at > found.min_record_time


def run_at(world: World, moment: dt.datetime) -> int:
    return epcis_subscriptions.run_due(world.sessions, now=moment)


def test_a_scheduled_run_with_nothing_new_pushes_only_under_report_if_empty(db, settings):
    world = World(db, settings)
    quiet = world.subscribe("http://127.0.0.1:9/quiet", schedule={"minute": "[0-59]"})
    told = world.subscribe("http://127.0.0.1:9/told", schedule={"minute": "[0-59]"},
                           report_if_empty=True)
    due = max(world.subscription(quiet).next_run_at, world.subscription(told).next_run_at)
    assert due.second == 0  # each minute at :00 (second defaults to its first value)
    assert run_at(world, due) == 2
    with world.sessions() as session:
        (payload,) = session.scalars(select(WebhookNotification.payload)).all()
    document = json.loads(payload)
    assert ids_in(document) == []
    assert document["epcisBody"]["queryResults"]["subscriptionID"] == told
    assert run_at(world, due) == 0  # that run is done; the next is a minute on
    assert world.subscription(quiet).next_run_at == due + dt.timedelta(minutes=1)


def test_the_first_scheduled_push_starts_at_the_initial_record_time(db, settings):
    world = World(db, settings)
    old = world.capture([world.shipping(0), world.shipping(1)])
    subscription_id = world.subscribe(
        "http://127.0.0.1:9/hook", schedule={"hour": "3"},
        initial_record_time=(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat())
    new = world.capture([world.shipping(2)])
    assert run_at(world, world.subscription(subscription_id).next_run_at) == 1
    with world.sessions() as session:
        (payload,) = session.scalars(select(WebhookNotification.payload)).all()
    assert ids_in(json.loads(payload)) == old + new


def test_a_stream_subscription_from_an_initial_record_time_gets_what_was_recorded_since(
        db, settings):
    world = World(db, settings)
    old = world.capture([world.shipping(0), observation(1)])
    with receiving() as receiver:
        world.subscribe(receiver.url, stream=True,
                        initial_record_time="2020-01-01T00:00:00Z")
        deliver(db, policy(), receiver, 1)
        (document,) = pushed(receiver)
    assert ids_in(document) == old[:1]


def test_two_workers_run_a_scheduled_subscription_once(db, settings):
    world = World(db, settings)
    subscription_id = world.subscribe("http://127.0.0.1:9/hook", schedule=EVERY_SECOND,
                                      report_if_empty=True)
    due = world.subscription(subscription_id).next_run_at
    start = threading.Barrier(4)
    ran: list[int] = []

    def worker() -> None:
        start.wait()
        ran.append(run_at(world, due))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ran) == [0, 0, 0, 1]
    assert world.count(WebhookNotification) == 1


def test_two_worker_processes_push_each_scheduled_run_once(db, database_url, settings,
                                                           tmp_path):
    from tests.integration.served import spawn
    from tests.integration.test_webhooks import _stop

    world = World(db, settings)
    with receiving() as receiver:
        world.subscribe(receiver.url, schedule=EVERY_SECOND, report_if_empty=True)
        workers = [spawn(["webhooks", "deliver"], database_url, tmp_path, f"worker-{n}",
                         TRACKER_HELPER_PROCESSES="0") for n in range(2)]
        try:
            receiver.wait_for(4)
        finally:
            for worker in workers:
                _stop(worker)
        ids = [r.id for r in receiver.received]
    assert len(ids) == len(set(ids))  # no push was delivered twice
    with world.sessions() as session:
        runs = [at.replace(microsecond=0) for at in session.scalars(
            select(WebhookNotification.created_at).order_by(WebhookNotification.id))]
    assert len(runs) == len(set(runs)) >= 4  # one push per scheduled second, not two
    for n in range(2):
        log = (tmp_path / f"worker-{n}.log").read_text()
        assert "Traceback" not in log, log


SUNDAY_7PM = dt.datetime(2026, 12, 6, 19, 0, 0, 250_000, tzinfo=dt.UTC)


@pytest.mark.parametrize(("schedule", "after", "expected"), [
    ({"hour": "1", "minute": "5"}, SUNDAY_7PM, "2026-12-07T01:05:00"),  # GS1's "1.05am"
    ({"second": "[0-59]"}, SUNDAY_7PM, "2026-12-06T19:00:01"),
    ({"second": "0,30"}, SUNDAY_7PM, "2026-12-06T19:00:30"),
    ({"minute": "[10-12]"}, SUNDAY_7PM, "2026-12-06T19:10:00"),
    ({"minute": 0}, SUNDAY_7PM, "2026-12-06T20:00:00"),
    ({"dayOfWeek": "1"}, SUNDAY_7PM, "2026-12-07T00:00:00"),  # Monday, midnight
    ({"dayOfWeek": "7", "hour": "[19-20]"}, SUNDAY_7PM, "2026-12-06T20:00:00"),
    ({"dayOfMonth": "1", "hour": "6"}, SUNDAY_7PM, "2027-01-01T06:00:00"),
    ({"month": "2", "dayOfMonth": "29"}, SUNDAY_7PM, "2028-02-29T00:00:00"),
    ({"month": "[1-3]", "second": "5"}, SUNDAY_7PM, "2027-01-01T00:00:05"),
])
def test_a_schedule_runs_at_the_next_moment_it_matches(schedule, after, expected):
    parsed = epcis_subscriptions.parse_schedule(schedule)
    assert parsed.next_after(after) == dt.datetime.fromisoformat(expected).replace(
        tzinfo=dt.UTC)
    assert parsed.matches(parsed.next_after(after))


def test_a_stream_subscription_hears_of_the_trackers_own_shipments(db, settings):
    """A shipment made through /shipments (not captured) is an event like a captured
    one: a stream subscription whose query it matches gets it."""
    world = World(db, settings)
    with receiving() as receiver:
        world.subscribe(receiver.url, stream=True)
        with world.sessions() as session, write_transaction(session):
            shipment = custody.record_shipment(session, from_party="brand", to_party="t1",
                                               codes=world.uris[:2], actor=SYSTEM)
            shipped = session.scalars(select(Event.document).join(
                CustodyMove, CustodyMove.event_pk == Event.id).where(
                CustodyMove.shipment_id == shipment.id)).first()
        deliver(db, policy(), receiver, 1)
        (document,) = pushed(receiver)
    assert shipped is not None and ids_in(document) == [shipped["eventID"]]


def test_event_writers_take_turns_so_a_scheduled_run_misses_none(db, settings):
    """A scheduled push reads up to the highest event id it sees; an event with a lower
    id committed after that would never be pushed. So every writer of events waits for
    the one before it to commit: here one stores the tracker's own event and holds its
    transaction open while another, in another thread, stores one too; the second is
    committed after the first, with the larger id."""
    world = World(db, settings)
    committed: list[str] = []
    first_stored = threading.Event()

    def write(name: str) -> None:
        if name == "second":
            first_stored.wait()
        with world.sessions() as session, write_transaction(session):
            events.record_service_event(session, events.object_event(
                keys=[], biz_step=name, disposition="active", now=None))
            if name == "first":
                first_stored.set()
                time.sleep(0.5)  # the second writer waits meanwhile: the turn is held
            committed.append(name)

    threads = [threading.Thread(target=write, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert committed == ["first", "second"]
    with world.sessions() as session:
        steps = [e.biz_step for e in session.scalars(
            select(Event).where(Event.origin == "service").order_by(Event.id))][-2:]
    assert steps == ["first", "second"]  # ids in the order of the commits


def test_a_stream_to_a_disabled_receiver_is_held_and_sent_once_it_is_enabled(db, settings):
    """A receiver disabled after days of failures loses nothing of a stream: the pushes
    of what was captured meanwhile wait, and go out when it is enabled again."""
    world = World(db, settings)
    with receiving() as receiver:
        subscription_id = world.subscribe(receiver.url, stream=True)
        endpoint_id = world.subscription(subscription_id).endpoint_id
        with world.sessions() as session, write_transaction(session):
            webhooks.set_enabled(session, endpoint_id, enabled=False, actor=SYSTEM)
        shipped = world.capture([world.shipping(0)])
        Worker(db, policy()).round()  # a worker's round sends nothing to it meanwhile
        assert receiver.received == []
        assert world.count(WebhookDelivery) == 1  # the push waits
        with world.sessions() as session, write_transaction(session):
            webhooks.set_enabled(session, endpoint_id, enabled=True, actor=SYSTEM)
        deliver(db, policy(), receiver, 1)
        (document,) = pushed(receiver)
    assert ids_in(document) == shipped
