"""A serial's whole story: batch, territory, every event and scan in time order, and
where it is now."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tracker.config import Settings
from tracker.domain.codes import item_key
from tracker.models import CustodyMove, Event, EventEPC, Scan, Territory
from tracker.services import custody, issuing
from tracker.services.auth import Actor

MAX_SCANS = 1000
MAX_EVENTS = 1000


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def container_intervals(moves: list[CustodyMove]) -> dict[str, list[tuple[dt.datetime,
                                                                        dt.datetime | None]]]:
    """When the item sat in which container: from its packing to its unpacking."""
    spans: dict[str, list[tuple[dt.datetime, dt.datetime | None]]] = {}
    for move in moves:
        if move.kind == "pack" and move.detail:
            spans.setdefault(move.detail, []).append((move.at, None))
        elif move.kind == "unpack" and move.detail and spans.get(move.detail):
            start, _ = spans[move.detail][-1]
            spans[move.detail][-1] = (start, move.at)
    return spans


def trace_serial(session: Session, serial: str, *, actor: Actor, settings: Settings
                 ) -> dict[str, Any]:
    record = issuing.get_serial(session, serial, actor=actor, settings=settings)
    batch = record.batch
    key = item_key(batch.gtin, record.serial)
    moves = custody.history(session, key)
    spans = container_intervals(moves)
    keys = [key, *spans]
    # Events naming the item or a container it sat in, events that moved it (a pallet's
    # shipping moves the items in its cases), and the batch's own events.
    named: dict[int, set[str]] = {}
    for event_pk, named_key in session.execute(
            select(EventEPC.event_pk, EventEPC.key).where(EventEPC.key.in_(keys))):
        named.setdefault(event_pk, set()).add(named_key)
    moved_by = {m.event_pk for m in moves if m.event_pk is not None}
    rows = session.scalars(
        select(Event).where(or_(Event.id.in_(set(named) | moved_by), Event.batch_id == batch.id))
        .order_by(Event.event_time, Event.id).limit(MAX_EVENTS))
    event_list = []
    for event in rows:
        names = named.get(event.id, set())
        if key not in names and event.id not in moved_by and event.batch_id != batch.id:
            # Only a container was named: keep it if the item was inside then.
            inside = any(start <= event.event_time and (end is None or event.event_time <= end)
                         for container in names for start, end in spans.get(container, []))
            if not inside:
                continue
        event_list.append({
            "event_id": event.event_id, "type": event.event_type, "action": event.action,
            "biz_step": event.biz_step, "disposition": event.disposition,
            "event_time": _iso(event.event_time), "origin": event.origin,
            "via": sorted(names - {key}) or None, "document": event.document,
        })
    scans = session.scalars(select(Scan).where(Scan.key == key)
                            .order_by(Scan.scanned_at, Scan.id).limit(MAX_SCANS))
    state = custody.current_state(session, key, batch.owner_party_id)
    territory = session.get(Territory, batch.territory_id)
    return {
        "serial": record.serial,
        "uri": record.code.uri,
        "epc": record.code.epc,
        "batch": {"id": batch.id, "gtin": batch.gtin, "lot": batch.lot,
                  "status": batch.status.value, "owner": batch.owner_party_id,
                  "recall_reason": batch.recall_reason},
        "territory": territory.code if territory else None,
        "custodian": state.custodian,
        "disposition": "recalled" if batch.status.value == "recalled" else state.disposition,
        "container": state.container,
        "in_shipment": state.shipment_id,
        "custody": [{"kind": m.kind, "from": m.from_party, "to": m.to_party,
                     "shipment_id": m.shipment_id, "at": _iso(m.at), "container": m.detail}
                    for m in moves],
        "events": event_list,
        "scans": [{"scan_id": s.id, "verdict": s.verdict.value, "scanned_at": _iso(s.scanned_at),
                   "latitude": s.latitude, "longitude": s.longitude,
                   "found_territory": s.found_territory, "violation_id": s.violation_id}
                  for s in scans],
    }
