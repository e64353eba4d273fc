"""EPCIS 2.0 capture and query: the repository of record.

Every captured event is stored as it came (CBV values normalised); events that move
custody of codes the tracker knows are applied exactly as /shipments and packing are.
An event that contradicts recorded custody is stored, not applied, and raises a custody
exception for compliance; nothing is silently applied or dropped.

Cases and pallets may come from EPCIS alone (a packing line's own system): packing known
goods into an SSCC this system did not issue, or commissioning one, registers it as a
container like those of ``POST /containers``. A document's custody moves are applied in
event-time order, so cases packed, then put on a pallet, then shipped, work in one document.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tracker.db import chunks, table, utcnow
from tracker.domain.epcis import (
    Normalised,
    NormalisedEvent,
    checked_events,
    normalise_event,
    normalise_slices,
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
    LineStatus,
    Party,
    Role,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from tracker.services import audit, custody, epcis_subscriptions, events, notify, workers
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
    """A capture document checked against the schema. Its events are normalised as they
    are stored (``events`` as they came, read in ``context``), or were with the check
    (``normalised``; see check_capture)."""

    behaviour: str
    normalised: list[Normalised] | None
    events: list[Any] = field(default_factory=list)
    context: object = None


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
    """The part of a capture that needs no database: the schema check of the whole
    document, spread over the cores. The web layer runs it before taking the write lock,
    so scans go on while a big document is checked, and a bad document never takes the
    lock. The events are normalised (CBV words, event hash) by store_capture in the
    helper processes while this one stores, as capture_document does, rather than here
    with the storing core idle; with no helper processes, here, so the lock waits for
    none of it."""
    _check_request(actor, behaviour)
    if workers.helpers() == 0:
        normalised = validate_and_normalise(document)
        _check_size(len(normalised))
        return CheckedDocument(behaviour, normalised)
    events, context = checked_events(document, map_slices=workers.map_slices)
    _check_size(len(events))
    return CheckedDocument(behaviour, None, events, context)


def store_capture(session: Session, checked: CheckedDocument, *, actor: Actor,
                  now: dt.datetime | None = None) -> CaptureJob:
    """Store a checked document's events and apply their custody (see capture_document)."""
    _check_request(actor, checked.behaviour)
    if checked.normalised is not None:
        return _store(session, len(checked.normalised), [checked.normalised], actor=actor,
                      behaviour=checked.behaviour, now=now)
    slices = normalise_slices(checked.events, checked.context, map_slices=workers.imap_slices)
    return _store(session, len(checked.events), slices, actor=actor,
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
    stored_hashes: list[str] = []
    known: set[str] = set()
    moving: list[tuple[dt.datetime, int, int, NormalisedEvent]] = []  # events moving custody
    custody.take_turn(session)  # a capture running meanwhile has stored its events
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
            moving += [(n.event_time, index, event_pk, n)
                       for (index, n), event_pk in zip(fresh, stored, strict=True)
                       if moves_custody(n)]
            stored_count += len(stored)
            stored_hashes += [n.hash for _, n in fresh]
        if not (refused and behaviour == "rollback"):
            # In event-time order, whatever the document's order: cases packed, then the
            # pallet they go on, then its shipping.
            for _, _, event_pk, n in sorted(moving, key=lambda m: m[:2]):
                apply_custody(session, event_pk, n, actor=actor)
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
    if stored_count:
        epcis_subscriptions.captured(session, Event.capture_job_id == job.id, now=now)
        audit.record(session, actor=actor, action="epcis.capture", subject_type="capture_job",
                     subject_id=job.id, now=now, detail={
                         "events": stored_count, "duplicates": len(duplicates_seen),
                         "refused": len(refused), "digest": audit.digest(stored_hashes)})
    return job


def capture_event(session: Session, event: object, *, actor: Actor,
                  context: object = None) -> Event:
    """POST /epcis/events: one event; the same event again is a conflict."""
    _require_capture(actor)
    validate_event(event)
    assert isinstance(event, dict)
    normalised = normalise_event(event, context if context is not None else event.get("@context"))
    custody.take_turn(session)
    if events.find_by_hash(session, normalised.hash) is not None:
        raise Conflict(f"this event was captured before (event hash {normalised.hash})",
                       code="duplicate_event")
    (event_pk,) = events.store_events(session, [normalised], origin="capture")
    apply_custody(session, event_pk, normalised, actor=actor)
    epcis_subscriptions.captured(session, Event.id == event_pk)
    audit.record(session, actor=actor, action="epcis.event", subject_type="event",
                 subject_id=event_pk, detail={"hash": normalised.hash})
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
            or n.disposition in WITHDRAWING or _commissions_sscc(n))


def _commissions_sscc(n: NormalisedEvent) -> bool:
    return (n.action == "ADD" and n.biz_step == "commissioning"
            and any(key.startswith("00/") for key, role in n.epcs if role == "epc"))


def apply_custody(session: Session, event_pk: int, n: NormalisedEvent, *, actor: Actor) -> None:
    """Move custody as the event says, where that agrees with what is recorded."""
    if not moves_custody(n):
        return
    if n.event_type == "ObjectEvent" and _commissions_sscc(n):
        _apply_commissioning(session, n, actor)
    elif n.event_type == "ObjectEvent" and n.action in ("OBSERVE", "ADD", None):
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
        if lines:
            notify.emit(session, "shipment.received",
                        notify.shipment(shipment, received=len(lines)), now=n.event_time)


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


def _apply_commissioning(session: Session, n: NormalisedEvent, actor: Actor) -> None:
    """SSCCs this system did not issue, commissioned by a packing line: registered empty,
    held by the party the event names (else the capturing distributor's; else nobody
    until something is packed into them)."""
    keys = [k for k, role in n.epcs if role == "epc" and k.startswith("00/")]
    known = {r.key for r in custody.resolve_keys(session, keys)}
    named = _party(n.destinations) or _party(n.sources)
    if named is not None and not session.connection().execute(
            _KNOWN_PARTIES, {"parties": [named]}).first():
        named = None
    for key in keys:
        if key not in known:
            custody.declare_container(session, sscc=key[3:], kind="case",
                                      party=named or actor.party_id)


def _children_custodian(children: Sequence[custody.Resolved],
                        held: dict[str, custody.Holding]) -> str | None:
    """Who holds most of the children that are not in transit (the first listed of
    those tied): the holder of a case or pallet declared by packing them."""
    counts = Counter(held[c.key].custodian for c in children
                     if held[c.key].custodian is not None
                     and held[c.key].disposition != custody.IN_TRANSIT)
    return counts.most_common(1)[0][0] if counts else None


def _apply_aggregation(session: Session, event_pk: int, n: NormalisedEvent) -> None:
    parent_keys = [k for k, role in n.epcs if role == "parent"]
    if not parent_keys or not parent_keys[0].startswith("00/"):
        return
    parent_key = parent_keys[0]
    listed_children = [k for k, role in n.epcs if role == "child"]
    children = custody.resolve_keys(session, listed_children)
    found = custody.resolve_keys(session, [parent_key])
    held = custody.holdings(session, [*found, *children])
    packer = held[parent_key].custodian if found else None
    if packer is None and n.action == "ADD":
        # A case or pallet nobody holds yet (an SSCC this system did not issue, or one
        # commissioned without a holder) is the children's custodian's.
        packer = _children_custodian(children, held)
        if packer is None:
            return
        kind = "pallet" if any(c.is_container for c in children) else "case"
        found = [custody.declare_container(session, sscc=parent_key[3:], kind=kind,
                                           party=packer)]
        held |= custody.holdings(session, found)
    if not found:
        return
    parent = found[0]
    if n.action == "ADD":
        _pack(session, event_pk, n, parent, children, held, packer)
    else:
        _unpack(session, event_pk, n, parent, children if listed_children else None, held,
                packer)


def _pack(session: Session, event_pk: int, n: NormalisedEvent, parent: custody.Resolved,
          children: list[custody.Resolved], held: dict[str, custody.Holding],
          packer: str | None) -> None:
    ancestors = custody.ancestors_of(session, parent.key)
    packed = []
    for c in children:
        problem = ("invalid_packing", "") if c.key in ancestors else custody.packing_problem(
            held[c.key], packer, parent.key)
        if problem is None:
            packed.append(c)
            continue
        what = f"{events.epc_uri(c.key)} was packed into {events.epc_uri(parent.key)}"
        container = held[c.key].container
        _exception(session, event_pk, c.key, problem[0], {
            "not_held": f"{what} but is held by {held[c.key].custodian}, not by the "
                        f"container's holder {packer}",
            "already_packed": f"{what} but is already packed in "
                              f"{events.epc_uri(container) if container else None}; "
                              "it stays there",
            "invalid_packing": f"{what}, which is packed inside it",
        }[problem[0]])
    custody.put_in(session, packer=packer, parent=parent, children=packed, held=held,
                   event_pk=event_pk, now=n.event_time)


def _unpack(session: Session, event_pk: int, n: NormalisedEvent, parent: custody.Resolved,
            children: list[custody.Resolved] | None, held: dict[str, custody.Holding],
            packer: str | None) -> None:
    """Children (None: all it holds, as EPCIS reads a DELETE without childEPCs) out of
    the parent; a listed child that is not in it is a custody exception."""
    if children is None:
        keys = list(session.scalars(
            select(CustodyState.key).where(CustodyState.container == parent.key)))
    else:
        keys = [c.key for c in children if held[c.key].container == parent.key]
        for c in children:
            if held[c.key].container != parent.key:
                _exception(session, event_pk, c.key, "not_packed",
                           f"{events.epc_uri(c.key)} was unpacked from "
                           f"{events.epc_uri(parent.key)} but is not packed in it")
    if keys:
        custody.take_out(session, packer=packer, parent_key=parent.key, keys=keys,
                         event_pk=event_pk, now=n.event_time)


# --- jobs and queries ----------------------------------------------------------------


def get_job(session: Session, job_id: int, *, actor: Actor) -> CaptureJob:
    _require_capture(actor)
    job = session.get(CaptureJob, job_id)
    if job is None:
        raise NotFound(f"capture job {job_id} does not exist", code="unknown_capture")
    return job


def list_jobs(session: Session, *, actor: Actor, per_page: int = 30, after: str | None = None
              ) -> tuple[list[CaptureJob], str | None]:
    """The capture jobs, newest first: one page and the next page's token (the last id)."""
    _require_capture(actor)
    query = select(CaptureJob).order_by(CaptureJob.id.desc())
    if after:
        if not after.isdigit() or len(after) > 12:
            raise InvalidInput(f"nextPageToken {after[:80]!r} is not one this server gave "
                               "(follow the Link header of the page before)",
                               code="invalid_parameter")
        query = query.where(CaptureJob.id < int(after))
    jobs = list(session.scalars(query.limit(per_page + 1)))
    more = len(jobs) > per_page
    return jobs[:per_page], str(jobs[per_page - 1].id) if more else None


def list_exceptions(session: Session, *, actor: Actor, limit: int = 100, offset: int = 0
                    ) -> list[CustodyException]:
    actor.require(Role.COMPLIANCE, action="read custody exceptions")
    return list(session.scalars(select(CustodyException).order_by(CustodyException.id.desc())
                                .limit(limit).offset(offset)))
