"""A capture checked before the write lock (``check_capture``: the whole document against
the schema) and stored under it (``store_capture``: the events normalised by the helper
processes while this one stores), as ``POST /epcis/capture`` does: it stores what
``capture_document`` stores, and a bad document is refused before anything is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.integration.network import GTIN, build
from tests.integration.test_workers import (
    CONTEXT,
    counts,
    document_of,
    needs_two_cores,
    observation,
)
from tracker.domain.epcis import normalise_event, validate_and_normalise
from tracker.errors import InvalidInput
from tracker.models import Event
from tracker.services import custody, epcis, workers
from tracker.services.auth import SYSTEM


@needs_two_cores
def test_a_checked_capture_stores_what_capture_document_stores(session, settings):
    net = build(session, settings)
    shipped = f"https://id.gs1.org/01/{GTIN}/21/{net.serials[0]}"
    events = [observation(i) for i in range(2 * workers.MIN_SLICE + 10)]
    events[-1] = {  # in the last slice: it moves custody
        "type": "ObjectEvent", "eventTime": "2026-06-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00", "epcList": [shipped], "action": "OBSERVE",
        "bizStep": "shipping", "disposition": "in_transit",
        "sourceList": [{"type": "owning_party", "source": "urn:tracker:party:brand"}],
        "destinationList": [{"type": "owning_party", "destination": "urn:tracker:party:t1"}]}
    events.append(dict(events[5]))  # the same event twice: stored once, listed

    checked = epcis.check_capture(document_of(events), actor=SYSTEM)
    assert checked.normalised is None  # read while stored, not before the lock
    job = epcis.store_capture(session, checked, actor=SYSTEM)

    assert (job.status.value, job.event_count, job.captured_count) == (
        "success", len(events), len(events) - 1)
    assert [(e["index"], e["code"]) for e in job.errors] == [(len(events) - 1,
                                                              "duplicate_event")]
    stored = session.scalars(select(Event.event_hash).where(Event.capture_job_id == job.id))
    assert sorted(stored) == sorted({normalise_event(e, [CONTEXT]).hash for e in events})
    (held,) = custody.holdings(session, custody.resolve_keys(session, [net.key(0)])).values()
    assert (held.custodian, held.disposition) == ("brand", custody.IN_TRANSIT)


def test_without_helper_processes_the_events_are_normalised_before_the_lock(monkeypatch):
    monkeypatch.setattr(workers, "_configured", 0)
    document = document_of([observation(i) for i in range(3)])

    checked = epcis.check_capture(document, actor=SYSTEM, behaviour="proceed")

    assert checked.normalised == validate_and_normalise(document)
    assert checked.behaviour == "proceed"


@pytest.mark.parametrize("helpers", [0, 1])
def test_a_bad_event_in_a_late_slice_is_refused_by_the_check(monkeypatch, helpers):
    monkeypatch.setattr(workers, "_configured", helpers)
    events = [observation(i) for i in range(2 * workers.MIN_SLICE + 5)]
    events[-1] = dict(events[-1], action="SHIP")

    with pytest.raises(InvalidInput) as refused:
        epcis.check_capture(document_of(events), actor=SYSTEM)

    assert refused.value.code == "epcis_schema_invalid"
    assert refused.value.message.startswith(f"epcisBody.eventList[{len(events) - 1}].action")


def checked_with_an_unreadable_event(behaviour: str) -> epcis.CheckedDocument:
    """Checked, not yet normalised; the second event cannot be stored (no eventTime)."""
    timeless = {k: v for k, v in observation(1).items() if k != "eventTime"}
    return epcis.CheckedDocument(behaviour, None, [observation(0), timeless, observation(2),
                                                   observation(3)], [CONTEXT])


def test_rollback_stores_none_when_an_event_read_while_storing_cannot_be_stored(session):
    before = counts(session)
    job = epcis.store_capture(session, checked_with_an_unreadable_event("rollback"),
                              actor=SYSTEM)
    assert (job.status.value, job.captured_count, job.event_count) == ("failed", 0, 4)
    assert job.errors == [{"index": 1, "code": "epcis_invalid_event",
                           "message": "eventTime: required field 'eventTime' is missing"}]
    assert counts(session) == (before[0], before[1] + 1)


def test_proceed_stores_the_others_when_an_event_read_while_storing_cannot_be(session):
    before = counts(session)
    job = epcis.store_capture(session, checked_with_an_unreadable_event("proceed"),
                              actor=SYSTEM)
    assert (job.status.value, job.captured_count, job.event_count) == ("success", 3, 4)
    assert [e["index"] for e in job.errors] == [1]
    assert counts(session) == (before[0] + 3, before[1] + 1)
