"""The one event store: every custody step, from EPCIS capture or the tracker's own
operations, lands here as an EPCIS 2.0 event keyed by its CBV 2.0 event hash."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tracker.db import chunks, insert_plain_rows, table, utcnow
from tracker.domain.epcis import NormalisedEvent, normalise_event, query_fields
from tracker.domain.gs1 import uri_escape
from tracker.models import Event, EventEPC, EventField

GS1_RESOLVER = "https://id.gs1.org/"


def epc_uri(key: str) -> str:
    """The canonical identifier we write in events for a key: a GS1 Digital Link URI."""
    if key.startswith(("01/", "00/")):
        return GS1_RESOLVER + key
    return key


def event_time(now: dt.datetime | None) -> str:
    moment = (now or utcnow()).astimezone(dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


PARTY_URN = "urn:tracker:party:"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S")


def party_uri(party: str) -> str:
    """EPCIS names parties by URI; a party id that is not one (ids are free strings) is
    wrapped in a URN of ours, which :func:`party_id` unwraps on capture."""
    return party if _SCHEME.match(party) else PARTY_URN + quote(party, safe="")


def party_id(uri: str) -> str:
    return unquote(uri[len(PARTY_URN):]) if uri.startswith(PARTY_URN) else uri


def party_list(kind: str, party: str) -> list[dict[str, str]]:
    """sourceList / destinationList entries naming one party as owner and possessor."""
    field = "source" if kind == "source" else "destination"
    uri = party_uri(party)
    return [{"type": "owning_party", field: uri}, {"type": "possessing_party", field: uri}]


def object_event(
    *,
    keys: Sequence[str],
    biz_step: str,
    disposition: str,
    now: dt.datetime | None,
    action: str = "OBSERVE",
    source: str | None = None,
    destination: str | None = None,
    transaction: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": event_time(now),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [epc_uri(k) for k in keys],
        "action": action,
        "bizStep": biz_step,
        "disposition": disposition,
    }
    if source:
        event["sourceList"] = party_list("source", source)
    if destination:
        event["destinationList"] = party_list("destination", destination)
    if transaction:
        # Ties the event to our record and keeps its hash unique.
        event["bizTransactionList"] = [{"type": "desadv", "bizTransaction": transaction}]
    if extra:
        event.update(extra)
    return event


def batch_class(gtin: str, lot: str | None) -> str:
    """The EPC class (Digital Link form) a batch-wide event names: the lot, or the GTIN."""
    return f"{GS1_RESOLVER}01/{gtin}" + (f"/10/{uri_escape(lot)}" if lot else "")


def find_by_hash(session: Session, event_hash: str) -> Event | None:
    return session.scalar(select(Event).where(Event.event_hash == event_hash))


def store_events(session: Session, normalised: Sequence[NormalisedEvent], *, origin: str,
                 capture_job_id: int | None = None, record_time: dt.datetime | None = None,
                 batch_id: int | None = None) -> list[int]:
    """Bulk insert: one statement for the events, one for their identifiers, one for
    their query fields (most events have none)."""
    if not normalised:
        return []
    record_time = record_time or utcnow()
    rows = []
    for n in normalised:
        document = dict(n.document)
        document.setdefault("eventID", n.hash)
        rows.append({
            "event_hash": n.hash, "event_id": n.event_id or n.hash, "event_type": n.event_type,
            "action": n.action, "biz_step": n.biz_step, "disposition": n.disposition,
            "event_time": n.event_time, "event_timezone_offset": n.event_timezone_offset,
            "record_time": record_time, "read_point": n.read_point,
            "biz_location": n.biz_location, "origin": origin,
            "capture_job_id": capture_job_id, "batch_id": batch_id, "document": document,
        })
    # Unsorted RETURNING lets SQLite take many rows per statement; the unique hash maps
    # the ids back to their events.
    id_of: dict[str, int] = {}
    for part in chunks(rows, 2_000):
        result = session.execute(
            insert(table(Event)).returning(Event.id, Event.event_hash), list(part))
        id_of.update((h, i) for i, h in result)
    ids = [id_of[n.hash] for n in normalised]
    insert_plain_rows(session.connection(), table(EventEPC), ("event_pk", "key", "role"),
                      [(pk, key, role) for pk, n in zip(ids, normalised, strict=True)
                       for key, role in dict.fromkeys(n.epcs)])
    fields = [{"event_pk": pk, "name": name, "value": value, "number": number,
               "moment": moment}
              for pk, n in zip(ids, normalised, strict=True)
              for name, value, number, moment in query_fields(n.document)]
    for part in chunks(fields, 2_000):
        session.execute(insert(table(EventField)), list(part))
    return ids


def record_service_event(session: Session, document: dict[str, Any], *,
                         batch_id: int | None = None) -> int:
    """Store an event the tracker itself made (issuing, shipping, packing); its id.

    Every writer of events takes the custody turn before it stores them and keeps it
    until it commits (captures and custody changes already hold it), so events are
    committed in the order of their ids: a scheduled subscription that pushed up to the
    highest id it saw misses none stored before it.
    """
    from tracker.services import custody, epcis_subscriptions  # they read the event store

    custody.take_turn(session)
    (event_pk,) = store_events(session, [normalise_event(document)], origin="service",
                               batch_id=batch_id)
    # Stream subscriptions hear of shipments, receipts and packing as of captured events.
    epcis_subscriptions.captured(session, Event.id == event_pk)
    return event_pk
