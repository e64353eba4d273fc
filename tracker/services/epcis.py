"""EPCIS 2.0 capture and query: the repository of record.

Every captured event is stored as it came (CBV values normalised); events that move
custody of codes the tracker knows are applied exactly as /shipments and packing are.
An event that contradicts recorded custody is stored, not applied, and raises a custody
exception for compliance; nothing is silently applied or dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from tracker.db import chunks, table, utcnow
from tracker.domain.codes import epc_key
from tracker.domain.epcis import (
    Normalised,
    NormalisedEvent,
    normalise_cbv,
    normalise_event,
    normalised_slices,
    validate_and_normalise,
    validate_event,
)
from tracker.errors import Conflict, InvalidInput, NotFound, TooLarge
from tracker.models import (
    CaptureJob,
    CaptureStatus,
    CustodyException,
    CustodyState,
    Event,
    EventEPC,
    LineStatus,
    Party,
    Role,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from tracker.services import custody, events, workers
from tracker.services.auth import Actor

MAX_CAPTURE_EVENTS = 100_000
PARTY_TYPES = ("possessing_party", "owning_party")
WITHDRAWING = {"recalled", "destroyed", "stolen", "disposed", "retail_sold", "expired",
               "inactive"}


_KNOWN_PARTIES = select(table(Party).c.id).where(
    table(Party).c.id.in_(bindparam("parties", expanding=True)))


def _require_capture(actor: Actor) -> None:
    actor.require(action="capture EPCIS events")


@dataclass(frozen=True)
class CheckedDocument:
    """A capture document checked against the schema, its events normalised."""

    behaviour: str
    events: list[Normalised]


def _check_request(actor: Actor, behaviour: str) -> None:
    _require_capture(actor)
    if behaviour not in ("rollback", "proceed"):
        raise InvalidInput(f"GS1-Capture-Error-Behaviour must be 'rollback' or 'proceed', "
                           f"not {behaviour!r}", code="invalid_header")


def _check_size(count: int) -> None:
    if count > MAX_CAPTURE_EVENTS:
        raise TooLarge(f"the document holds {count:,} events; one capture takes at "
                       f"most {MAX_CAPTURE_EVENTS:,}", code="capture_limit_exceeded")


def check_capture(document: object, *, actor: Actor, behaviour: str = "rollback"
                  ) -> CheckedDocument:
    """The part of a capture that needs no database: the schema check and normalisation
    of the events, spread over the cores. The web layer runs it before taking the write
    lock, so scans go on while a big document is checked, and a bad document never
    takes the lock."""
    _check_request(actor, behaviour)
    checked = validate_and_normalise(document, map_slices=workers.map_slices)
    _check_size(len(checked))
    return CheckedDocument(behaviour, checked)


def store_capture(session: Session, checked: CheckedDocument, *, actor: Actor,
                  now: dt.datetime | None = None) -> CaptureJob:
    """Store a checked document's events and apply their custody (see capture_document)."""
    _check_request(actor, checked.behaviour)
    return _store(session, len(checked.events), [checked.events], actor=actor,
                  behaviour=checked.behaviour, now=now)


def capture_document(session: Session, document: object, *, actor: Actor,
                     behaviour: str = "rollback", now: dt.datetime | None = None) -> CaptureJob:
    """Capture an EPCISDocument. ``rollback`` (the default): one bad event refuses all of
    them; ``proceed``: the good ones are stored. Duplicates are stored once and listed.

    The events are checked slice by slice in helper processes while this one stores the
    slices already checked; an error in a later slice undoes what was stored."""
    _check_request(actor, behaviour)
    count, slices = normalised_slices(document, map_slices=workers.imap_slices)
    _check_size(count)
    return _store(session, count, slices, actor=actor, behaviour=behaviour, now=now)


def _store(session: Session, count: int, slices: Iterable[list[Normalised]], *,
           actor: Actor, behaviour: str, now: dt.datetime | None) -> CaptureJob:
    now = now or utcnow()
    refused: list[dict[str, Any]] = []  # events that cannot be stored
    duplicates_seen: list[dict[str, Any]] = []
    stored_count, offset = 0, 0
    known: set[str] = set()
    # A savepoint, so nothing is half-written whatever the caller does with the error.
    savepoint = session.begin_nested()
    try:
        job = CaptureJob(error_behaviour=behaviour, event_count=count,
                         created_by=actor.name, created_at=now)
        session.add(job)
        session.flush()
        for part in slices:
            good: list[tuple[int, NormalisedEvent]] = []
            for index, result in enumerate(part, start=offset):
                if isinstance(result, NormalisedEvent):
                    good.append((index, result))
                else:
                    code, message = result
                    refused.append({"index": index, "code": code, "message": message})
            offset += len(part)
            if refused and behaviour == "rollback":
                continue  # read on, to report every refusal; store nothing more
            fresh, duplicates = _split_duplicates(session, good, known)
            duplicates_seen += [{"index": i, "code": "duplicate_event",
                                 "eventID": n.event_id or n.hash,
                                 "message": f"event {i} was captured before (event hash "
                                            f"{n.hash}); it is stored once"}
                                for i, n in duplicates]
            stored = events.store_events(session, [n for _, n in fresh], origin="capture",
                                         capture_job_id=job.id, record_time=now)
            for (_, normalised), event_pk in zip(fresh, stored, strict=True):
                apply_custody(session, event_pk, normalised, actor=actor)
            stored_count += len(stored)
    except BaseException:
        savepoint.rollback()
        raise
    if refused and behaviour == "rollback":
        savepoint.rollback()  # the job is recorded as failed, without its events
        job = CaptureJob(error_behaviour=behaviour, event_count=count, created_by=actor.name,
                         created_at=now, status=CaptureStatus.FAILED, finished_at=utcnow(),
                         errors=refused)
        session.add(job)
        session.flush()
        return job
    savepoint.commit()
    job.captured_count = stored_count
    job.errors = sorted(refused + duplicates_seen, key=lambda e: e["index"])
    job.status = CaptureStatus.SUCCESS
    job.finished_at = utcnow()
    session.flush()
    return job


def capture_event(session: Session, event: object, *, actor: Actor,
                  context: object = None) -> Event:
    """POST /epcis/events: one event; the same event again is a conflict."""
    _require_capture(actor)
    validate_event(event)
    assert isinstance(event, dict)
    normalised = normalise_event(event, context if context is not None else event.get("@context"))
    if events.find_by_hash(session, normalised.hash) is not None:
        raise Conflict(f"this event was captured before (event hash {normalised.hash})",
                       code="duplicate_event")
    (event_pk,) = events.store_events(session, [normalised], origin="capture")
    apply_custody(session, event_pk, normalised, actor=actor)
    return session.get_one(Event, event_pk)


def _split_duplicates(session: Session, good: list[tuple[int, NormalisedEvent]],
                      known: set[str]) -> tuple[list[tuple[int, NormalisedEvent]],
                                                list[tuple[int, NormalisedEvent]]]:
    """The events not captured before (in the database, or earlier in this document,
    whose hashes ``known`` gathers) and the duplicates."""
    hashes = [n.hash for _, n in good]
    for part in chunks(hashes):
        known.update(session.scalars(select(Event.event_hash).where(Event.event_hash.in_(part))))
    fresh, duplicates = [], []
    for index, normalised in good:
        if normalised.hash in known:
            duplicates.append((index, normalised))
        else:
            known.add(normalised.hash)
            fresh.append((index, normalised))
    return fresh, duplicates


# --- custody effects of captured events ----------------------------------------------


def _party(entries: Sequence[tuple[str, str]]) -> str | None:
    for wanted in PARTY_TYPES:
        for kind, party in entries:
            if kind == wanted:
                return events.party_id(party)
    return None


def _exception(session: Session, event_pk: int, key: str | None, kind: str,
               message: str) -> None:
    session.add(CustodyException(event_pk=event_pk, key=key, kind=kind, message=message))


def moves_custody(n: NormalisedEvent) -> bool:
    """Whether the event can change custody at all; most observations cannot, and need
    no lookup of their identifiers."""
    if n.event_type == "AggregationEvent":
        return n.action in ("ADD", "DELETE")
    if n.event_type != "ObjectEvent":
        return False
    return (n.action == "DELETE" or n.biz_step in ("shipping", "receiving")
            or n.disposition in WITHDRAWING)


def apply_custody(session: Session, event_pk: int, n: NormalisedEvent, *, actor: Actor) -> None:
    """Move custody as the event says, where that agrees with what is recorded."""
    if not moves_custody(n):
        return
    if n.event_type == "ObjectEvent" and n.action in ("OBSERVE", "ADD", None):
        items = custody.resolve_keys(session, [k for k, role in n.epcs if role == "epc"])
        if not items:
            return
        if n.biz_step == "shipping":
            _apply_shipping(session, event_pk, n, items, actor)
        elif n.biz_step == "receiving":
            _apply_receiving(session, event_pk, n, items)
        elif n.disposition in WITHDRAWING:
            _apply_disposition(session, event_pk, n, items)
    elif n.event_type == "ObjectEvent" and n.action == "DELETE":
        items = custody.resolve_keys(session, [k for k, role in n.epcs if role == "epc"])
        if items:
            _apply_disposition(session, event_pk, n, items, default="inactive")
    elif n.event_type == "AggregationEvent" and n.action in ("ADD", "DELETE"):
        _apply_aggregation(session, event_pk, n)


def _apply_shipping(session: Session, event_pk: int, n: NormalisedEvent,
                    items: list[custody.Resolved], actor: Actor) -> None:
    sender, receiver = _party(n.sources), _party(n.destinations)
    if sender is None or receiver is None or sender == receiver:
        _exception(session, event_pk, None, "incomplete_shipping",
                   "a shipping event about known codes names no distinct source and "
                   "destination party; custody was not moved")
        return
    parties = set(session.connection().execute(
        _KNOWN_PARTIES, {"parties": [sender, receiver]}).scalars())
    if parties != {sender, receiver}:
        unknown = sorted({sender, receiver} - parties)
        _exception(session, event_pk, None, "unknown_party",
                   f"shipping names unknown party {', '.join(unknown)}; custody was not moved")
        return
    held = custody.holdings(session, items)
    listed_keys = {r.key for r in items}
    movable = []
    for r in items:
        h = held[r.key]
        if (h.custodian == sender and h.disposition != custody.IN_TRANSIT
                and (h.container is None or h.container in listed_keys)):
            movable.append(r)
        else:
            where = f"held by {h.custodian or 'nobody'}"
            if h.disposition == custody.IN_TRANSIT:
                where += f", in transit in shipment {h.shipment_id}"
            _exception(session, event_pk, r.key, "not_held",
                       f"'{sender}' shipped {events.epc_uri(r.key)} to '{receiver}' but it "
                       f"is {where}; the event is stored, custody was not moved")
    if movable:
        movement = custody.check_shippable(session, sender, movable, held)
        custody.ship(session, sender=sender, receiver=receiver, movement=movement,
                     actor=actor, now=n.event_time, origin="epcis", event_pk=event_pk)


def _apply_receiving(session: Session, event_pk: int, n: NormalisedEvent,
                     items: list[custody.Resolved]) -> None:
    receiver = _party(n.destinations)
    held = custody.holdings(session, items)
    by_shipment: dict[int, list[str]] = {}
    for r in items:
        h = held[r.key]
        if h.disposition == custody.IN_TRANSIT and h.shipment_id is not None:
            by_shipment.setdefault(h.shipment_id, []).append(r.key)
        elif receiver is not None and h.custodian == receiver:
            continue  # received before: nothing changes
        else:
            _exception(session, event_pk, r.key, "receipt_without_shipment",
                       f"'{receiver or 'an unnamed party'}' received {events.epc_uri(r.key)} "
                       f"but no shipment of it is in transit (held by {h.custodian})")
    for shipment_id, keys in by_shipment.items():
        shipment = session.get_one(Shipment, shipment_id)
        if receiver is not None and receiver != shipment.to_party:
            for key in keys:
                _exception(session, event_pk, key, "not_addressee",
                           f"'{receiver}' received {events.epc_uri(key)} from shipment "
                           f"{shipment_id}, which is addressed to '{shipment.to_party}'")
            continue
        lines = list(session.scalars(select(ShipmentLine).where(
            ShipmentLine.shipment_id == shipment_id, ShipmentLine.key.in_(keys),
            ShipmentLine.status != LineStatus.RECEIVED)))
        if lines:
            custody.apply_receipt(session, shipment, lines, now=n.event_time, event_pk=event_pk)
        open_lines = session.scalar(select(ShipmentLine.key).where(
            ShipmentLine.shipment_id == shipment_id,
            ShipmentLine.status != LineStatus.RECEIVED).limit(1))
        shipment.status = (ShipmentStatus.RECEIVED if open_lines is None
                           else ShipmentStatus.PARTIALLY_RECEIVED)


def _apply_disposition(session: Session, event_pk: int, n: NormalisedEvent,
                       items: list[custody.Resolved], default: str | None = None) -> None:
    disposition = n.disposition or default
    if disposition is None:
        return
    held = custody.holdings(session, items)
    custody.upsert_states(session, [
        {"key": r.key, "serial": r.serial, "custodian": held[r.key].custodian,
         "owner": held[r.key].custodian, "disposition": disposition, "shipment_id": None,
         "container": None, "last_event_pk": event_pk, "updated_at": n.event_time}
        for r in items], update_columns=("disposition", "last_event_pk", "updated_at"))
    custody.add_moves(session, [r.key for r in items], kind="dispose", from_party=None,
                      to_party=None, shipment_id=None, event_pk=event_pk, at=n.event_time,
                      detail=disposition)


def _apply_aggregation(session: Session, event_pk: int, n: NormalisedEvent) -> None:
    parents = custody.resolve_keys(session, [k for k, role in n.epcs if role == "parent"])
    if not parents or not parents[0].is_container:
        return
    parent = parents[0]
    children = custody.resolve_keys(session, [k for k, role in n.epcs if role == "child"])
    held = custody.holdings(session, [parent, *children])
    packer = held[parent.key].custodian
    if n.action == "ADD":
        ok = [c for c in children if held[c.key].custodian == packer
              and held[c.key].disposition != custody.IN_TRANSIT]
        for c in children:
            if c not in ok:
                _exception(session, event_pk, c.key, "not_held",
                           f"{events.epc_uri(c.key)} was packed into {events.epc_uri(parent.key)}"
                           f" but is held by {held[c.key].custodian}, not by the container's "
                           f"holder {packer}")
        rows = [{"key": r.key, "serial": r.serial, "custodian": packer, "owner": packer,
                 "disposition": held[r.key].disposition, "shipment_id": None,
                 "container": parent.key if r is not parent else held[r.key].container,
                 "last_event_pk": event_pk, "updated_at": n.event_time} for r in [parent, *ok]]
        custody.upsert_states(session, rows,
                              update_columns=("container", "last_event_pk", "updated_at"))
        custody.add_moves(session, [c.key for c in ok], kind="pack", from_party=packer,
                          to_party=packer, shipment_id=None, event_pk=event_pk,
                          at=n.event_time, detail=parent.key)
    else:
        keys = [c.key for c in children] or list(session.scalars(
            select(CustodyState.key).where(CustodyState.container == parent.key)))
        for part in chunks(keys):
            session.execute(table(CustodyState).update()
                            .where(CustodyState.key.in_(part),
                                   CustodyState.container == parent.key)
                            .values(container=None, last_event_pk=event_pk))
        custody.add_moves(session, keys, kind="unpack", from_party=packer, to_party=packer,
                          shipment_id=None, event_pk=event_pk, at=n.event_time,
                          detail=parent.key)


# --- jobs and queries ----------------------------------------------------------------


def get_job(session: Session, job_id: int, *, actor: Actor) -> CaptureJob:
    _require_capture(actor)
    job = session.get(CaptureJob, job_id)
    if job is None:
        raise NotFound(f"capture job {job_id} does not exist", code="unknown_capture")
    return job


def list_exceptions(session: Session, *, actor: Actor, limit: int = 100, offset: int = 0
                    ) -> list[CustodyException]:
    actor.require(Role.COMPLIANCE, action="read custody exceptions")
    return list(session.scalars(select(CustodyException).order_by(CustodyException.id.desc())
                                .limit(limit).offset(offset)))


QUERY_TIME_FIELDS = {"GE_eventTime": (Event.event_time, ">="),
                     "LT_eventTime": (Event.event_time, "<"),
                     "GE_recordTime": (Event.record_time, ">="),
                     "LT_recordTime": (Event.record_time, "<")}


def _time(name: str, value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"query parameter '{name}' must be an ISO 8601 time, not {value!r}",
                           code="invalid_parameter") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def query_events(session: Session, params: dict[str, str], *, actor: Actor,
                 per_page: int = 30, after: int | None = None) -> tuple[list[Event], int | None]:
    """EPCIS query parameters to events, ordered by storage; returns (page, next cursor)."""
    actor.require(Role.COMPLIANCE, action="query EPCIS events")
    query: Select[Any] = select(Event)
    for name, value in params.items():
        values = [v for v in value.split("|") if v]
        if name == "eventType":
            query = query.where(Event.event_type.in_(values))
        elif name == "EQ_bizStep":
            query = query.where(Event.biz_step.in_([normalise_cbv(v, "bizStep") for v in values]))
        elif name == "EQ_disposition":
            query = query.where(Event.disposition.in_(
                [normalise_cbv(v, "disposition") for v in values]))
        elif name == "EQ_action":
            query = query.where(Event.action.in_(values))
        elif name == "EQ_readPoint":
            query = query.where(Event.read_point.in_(values))
        elif name == "EQ_bizLocation":
            query = query.where(Event.biz_location.in_(values))
        elif name == "EQ_eventID":
            query = query.where(Event.event_id.in_(values))
        elif name in ("MATCH_epc", "MATCH_anyEPC", "MATCH_parentID", "MATCH_inputEPC",
                      "MATCH_outputEPC", "MATCH_epcClass"):
            roles = {"MATCH_epc": ("epc", "child"), "MATCH_parentID": ("parent",),
                     "MATCH_inputEPC": ("input",), "MATCH_outputEPC": ("output",),
                     "MATCH_epcClass": ("quantity",),
                     "MATCH_anyEPC": ("epc", "child", "parent", "input", "output")}[name]
            keys = [epc_key(v) for v in values]
            query = query.where(Event.id.in_(select(EventEPC.event_pk).where(
                EventEPC.key.in_(keys), EventEPC.role.in_(roles))))
        elif name in QUERY_TIME_FIELDS:
            column, op = QUERY_TIME_FIELDS[name]
            moment = _time(name, value)
            query = query.where(column >= moment if op == ">=" else column < moment)
        elif name in ("perPage", "nextPageToken"):
            continue
        else:
            raise InvalidInput(f"query parameter '{name}' is not supported; supported: "
                               "eventType, EQ_bizStep, EQ_disposition, EQ_action, "
                               "EQ_readPoint, EQ_bizLocation, EQ_eventID, MATCH_epc, "
                               "MATCH_anyEPC, MATCH_parentID, MATCH_inputEPC, "
                               "MATCH_outputEPC, MATCH_epcClass, GE_eventTime, LT_eventTime, "
                               "GE_recordTime, LT_recordTime, perPage",
                               code="unsupported_parameter")
    if after is not None:
        query = query.where(Event.id > after)
    rows = list(session.scalars(query.order_by(Event.id).limit(per_page + 1)))
    next_cursor = rows[per_page - 1].id if len(rows) > per_page else None
    return rows[:per_page], next_cursor


def get_event(session: Session, event_id: str, *, actor: Actor) -> Event:
    actor.require(Role.COMPLIANCE, action="read EPCIS events")
    event = session.scalar(select(Event).where(
        (Event.event_id == event_id) | (Event.event_hash == event_id)).limit(1))
    if event is None:
        raise NotFound(f"no event with eventID {event_id!r}", code="unknown_event")
    return event
