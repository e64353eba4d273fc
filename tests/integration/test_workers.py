"""Big EPCIS captures are checked on every core: the slices really go to other processes,
and what is stored is what one process would have stored."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from sqlalchemy import func, select

from tests.integration.network import GTIN, build
from tracker.config import Settings
from tracker.domain.epcis import normalise_event
from tracker.errors import InvalidInput
from tracker.models import CaptureJob, Event
from tracker.services import custody, epcis, workers
from tracker.services.auth import SYSTEM

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

needs_two_cores = pytest.mark.skipif(
    workers.helpers() == 0, reason="this machine has one core: there is no pool to test")


def whose(items: list[int]) -> tuple[int, list[int]]:
    """Which process worked on the slice, and the slice (a module function: picklable)."""
    return os.getpid(), items


@needs_two_cores
def test_slices_go_to_other_processes_and_come_back_in_order():
    items = list(range(3 * workers.MIN_SLICE))
    results = workers.map_slices(whose, items)
    assert [i for _, part in results for i in part] == items
    assert len(results) == 3
    assert {pid for pid, _ in results} - {os.getpid()}  # not all of them done here


@needs_two_cores
def test_slices_come_back_one_by_one_in_order():
    items = list(range(6 * workers.MIN_SLICE))
    seen = []
    for pid, part in workers.imap_slices(whose, items):
        seen.append((pid, part[0]))
    assert [first for _, first in seen] == list(range(0, len(items), workers.MIN_SLICE))
    assert {pid for pid, _ in seen} - {os.getpid()}


def test_few_items_stay_in_this_process():
    assert workers.map_slices(whose, [1, 2, 3]) == [(os.getpid(), [1, 2, 3])]


def observation(i: int) -> dict:
    when = dt.datetime(2026, 5, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i)
    return {"type": "ObjectEvent", "eventTime": when.isoformat(), "eventTimeZoneOffset": "+00:00",
            "epcList": [f"https://id.gs1.org/01/{GTIN}/21/UNKNOWN{i}"], "action": "OBSERVE",
            "bizStep": "urn:epcglobal:cbv:bizstep:inspecting" if i % 2 else "storing",
            "readPoint": {"id": f"urn:epc:id:sgln:6901234.00001.{i % 7}"}}


@needs_two_cores
def test_a_capture_spread_over_processes_stores_what_one_process_would(session, settings):
    net = build(session, settings)
    shipped = f"https://id.gs1.org/01/{GTIN}/21/{net.serials[0]}"
    events = [observation(i) for i in range(2 * workers.MIN_SLICE + 10)]
    events[-1] = {  # the last event, in the workers' slice, moves custody
        "type": "ObjectEvent", "eventTime": "2026-06-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00", "epcList": [shipped], "action": "OBSERVE",
        "bizStep": "shipping", "disposition": "in_transit",
        "sourceList": [{"type": "owning_party", "source": "urn:tracker:party:brand"}],
        "destinationList": [{"type": "owning_party", "destination": "urn:tracker:party:t1"}]}
    document = {"@context": [CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": "2026-06-01T00:00:00Z", "epcisBody": {"eventList": events}}

    job = epcis.capture_document(session, document, actor=SYSTEM)

    assert (job.captured_count, job.errors) == (len(events), [])
    stored = session.scalars(select(Event.event_hash).where(Event.capture_job_id == job.id))
    assert sorted(stored) == sorted(
        normalise_event(e, [CONTEXT]).hash for e in events)
    (held,) = custody.holdings(session, custody.resolve_keys(session, [net.key(0)])).values()
    assert (held.custodian, held.disposition) == ("brand", custody.IN_TRANSIT)


def document_of(events: list[dict]) -> dict:
    return {"@context": [CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-06-01T00:00:00Z", "epcisBody": {"eventList": events}}


def counts(session) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    return (session.scalar(select(func.count()).select_from(Event)),
            session.scalar(select(func.count()).select_from(CaptureJob)))


def test_an_error_in_a_late_slice_undoes_the_slices_stored_before_it(session):
    # Slices are stored as they are checked; the bad event is in the last one.
    events = [observation(i) for i in range(2 * workers.MIN_SLICE + 5)]
    events[-1] = dict(events[-1], action="SHIP")
    before = counts(session)

    with pytest.raises(InvalidInput) as refused:
        epcis.capture_document(session, document_of(events), actor=SYSTEM)

    assert refused.value.message.startswith(f"epcisBody.eventList[{len(events) - 1}].action")
    assert counts(session) == before  # no event, no job, though the session goes on


def checked_with_a_refusal(behaviour: str) -> epcis.CheckedDocument:
    good = [normalise_event(observation(i), [CONTEXT]) for i in range(3)]
    refusal = ("epcis_invalid_event", "eventTime: required field 'eventTime' is missing")
    return epcis.CheckedDocument(behaviour, [good[0], refusal, good[1], good[2]])


def test_rollback_stores_none_of_the_events_when_one_cannot_be_stored(session):
    before = counts(session)
    job = epcis.store_capture(session, checked_with_a_refusal("rollback"), actor=SYSTEM)
    assert (job.status.value, job.captured_count, job.event_count) == ("failed", 0, 4)
    assert job.errors == [{"index": 1, "code": "epcis_invalid_event",
                           "message": "eventTime: required field 'eventTime' is missing"}]
    assert counts(session) == (before[0], before[1] + 1)  # the failed job is recorded


def test_proceed_stores_the_other_events_and_reports_the_one_that_cannot_be(session):
    before = counts(session)
    job = epcis.store_capture(session, checked_with_a_refusal("proceed"), actor=SYSTEM)
    assert (job.status.value, job.captured_count, job.event_count) == ("success", 3, 4)
    assert [e["index"] for e in job.errors] == [1]
    assert counts(session) == (before[0] + 3, before[1] + 1)


def failing_warm_up() -> None:
    raise RuntimeError("this worker cannot start")


@needs_two_cores
def test_when_workers_cannot_start_the_work_runs_here(monkeypatch):
    # A server must come up even where helper processes cannot: here their start fails.
    monkeypatch.setattr(workers, "_pool", None)
    monkeypatch.setattr(workers, "_unavailable", False)
    monkeypatch.setattr(workers, "_warm_up", failing_warm_up)

    workers.start()  # does not raise

    assert workers._unavailable is True
    items = list(range(3 * workers.MIN_SLICE))
    assert workers.map_slices(whose, items) == [(os.getpid(), items[i:i + workers.MIN_SLICE])
                                                for i in range(0, len(items),
                                                               workers.MIN_SLICE)]


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("3", 3), ("-2", 0), ("", None)])
def test_the_number_of_helper_processes_can_be_set(value, expected):
    assert Settings.from_env({"TRACKER_HELPER_PROCESSES": value}).helper_processes == expected


def test_with_no_helper_processes_configured_everything_runs_here(monkeypatch):
    monkeypatch.setattr(workers, "_configured", 0)
    items = list(range(3 * workers.MIN_SLICE))
    assert {pid for pid, _ in workers.map_slices(whose, items)} == {os.getpid()}
