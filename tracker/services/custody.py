"""Custody down the tiers: shipping, receiving, packing into cases and pallets.

Every step writes an EPCIS event (through :mod:`tracker.services.events`), one history
row per item moved, and the current state of each item, so "who holds this now" is one
lookup. Bulk paths use Core statements in large batches: a pallet of 10,000 items moves
in a handful of statements.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from tracker.db import DirectConnection, chunks, dialect_insert, paged, table, utc_day, utcnow
from tracker.domain.codes import container_key, item_key, parse_code
from tracker.domain.gs1 import make_sscc
from tracker.errors import Conflict, InvalidInput, MalformedCode, NotFound, PermissionDenied
from tracker.models import (
    Batch,
    Container,
    CustodyMove,
    CustodyState,
    LineStatus,
    Party,
    ReceiptDay,
    RepeatReceipt,
    Role,
    Serial,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from tracker.services import audit, events, notify
from tracker.services.auth import Actor
from tracker.services.inputs import parse_enum

MAX_CODES_PER_REQUEST = 100_000
MAX_LISTED = 20
IN_TRANSIT = "in_transit"
IN_PROGRESS = "in_progress"
# Dispositions under which an item cannot be shipped on.
NOT_SHIPPABLE = {"recalled", "destroyed", "stolen", "disposed", "retail_sold", "expired"}
_ITEM_PREFIX = "01/"  # item keys (tracker.domain.codes.item_key); "00/" is a container
_PGLN = re.compile(r"urn:epc:id:pgln:(\d{6,12})\.\d*")


def listed(values: Sequence[str]) -> str:
    shown = ", ".join(values[:MAX_LISTED])
    more = len(values) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class Resolved:
    """A code as written by a user, resolved to what the tracker knows of it."""

    code: str
    key: str
    is_container: bool
    serial: str | None = None
    batch_id: int | None = None
    # Holder when no custody has been recorded yet: the batch owner, or who made the SSCC.
    first_holder: str | None = None


def resolve_codes(session: Session, codes: Sequence[str]) -> tuple[list[Resolved], list[str]]:
    """Resolve codes (any form) to keys; returns (known, unknown codes as given)."""
    if len(codes) > MAX_CODES_PER_REQUEST:
        raise InvalidInput(f"{len(codes):,} codes in one request; the limit is "
                           f"{MAX_CODES_PER_REQUEST:,}", code="too_many_codes")
    malformed: list[str] = []
    parsed = []
    for code in codes:
        if not isinstance(code, str):
            raise InvalidInput(f"codes must be strings, not {code!r}", code="invalid_field")
        try:
            parsed.append((code, parse_code(code)))
        except MalformedCode:
            malformed.append(code)
    if malformed:
        raise MalformedCode(f"{len(malformed)} code(s) cannot be read: {listed(malformed)}; "
                            "use Digital Link URIs, SGTIN URNs, serials or SSCCs",
                            details={"malformed": malformed})
    found = _lookup(session, {p.serial for _, p in parsed if p.sscc is None and p.serial},
                    {p.sscc for _, p in parsed if p.sscc})
    known: dict[str, Resolved] = {}
    unknown: list[str] = []
    for code, p in parsed:
        resolved = _resolved(found, code, p.sscc, p.gtin, p.serial)
        if resolved is None:
            unknown.append(code)
        else:
            known.setdefault(resolved.key, resolved)
    return list(known.values()), unknown


def resolve_keys(session: Session, keys: Sequence[str]) -> list[Resolved]:
    """The normalised keys (``01/{gtin}/21/{serial}``, ``00/{sscc}``) that name items or
    containers issued here. Other identifiers (classes, other GS1 keys, foreign schemes)
    are left out: EPCIS capture stores them with the event and otherwise leaves them be."""
    named: list[tuple[str, str | None, str | None, str | None]] = []
    for key in dict.fromkeys(keys):
        parts = key.split("/", 3)
        if len(parts) == 4 and parts[0] == "01" and parts[2] == "21":
            named.append((key, None, parts[1], parts[3]))
        elif len(parts) == 2 and parts[0] == "00":
            named.append((key, parts[1], None, None))
    found = _lookup(session, {n[3] for n in named if n[3]}, {n[1] for n in named if n[1]})
    return [r for key, sscc, gtin, serial in named
            if (r := _resolved(found, key, sscc, gtin, serial)) is not None]


@dataclass(frozen=True)
class _Found:
    batch_of: dict[str, tuple[int, str, str | None]]  # serial -> batch id, GTIN, owner
    container_of: dict[str, str | None]  # SSCC -> the party that made it


# Built once: custody runs these for every shipping or receiving event of a capture.
_serial_c, _batch_c, _container_c = table(Serial).c, table(Batch).c, table(Container).c
_SERIAL_BATCHES = (
    select(_serial_c.serial, _batch_c.id, _batch_c.gtin, _batch_c.owner_party_id)
    .join(table(Batch), _batch_c.id == _serial_c.batch_id)
    .where(_serial_c.serial.in_(bindparam("serials", expanding=True))))
_CONTAINER_MAKERS = select(_container_c.sscc, _container_c.party_id).where(
    _container_c.sscc.in_(bindparam("ssccs", expanding=True)))


def _lookup(session: Session, serials: set[str], ssccs: set[str]) -> _Found:
    connection = session.connection()
    batch_of: dict[str, tuple[int, str, str | None]] = {}
    for part in chunks(sorted(serials)):
        batch_of.update({s: (b, g, o) for s, b, g, o in connection.execute(
            _SERIAL_BATCHES, {"serials": part})})
    container_of: dict[str, str | None] = {}
    for part in chunks(sorted(ssccs)):
        container_of.update(connection.execute(_CONTAINER_MAKERS, {"ssccs": part}).all())
    return _Found(batch_of, container_of)


def _resolved(found: _Found, code: str, sscc: str | None, gtin: str | None,
              serial: str | None) -> Resolved | None:
    if sscc is not None:
        if sscc not in found.container_of:
            return None
        return Resolved(code, container_key(sscc), True, first_holder=found.container_of[sscc])
    if serial not in found.batch_of:
        return None
    batch_id, batch_gtin, owner = found.batch_of[serial]
    if gtin is not None and gtin != batch_gtin:
        return None
    return Resolved(code, item_key(batch_gtin, serial), False, serial, batch_id, owner)


@dataclass(frozen=True)
class Holding:
    key: str
    custodian: str | None
    disposition: str
    container: str | None
    shipment_id: int | None
    serial: str | None
    exists: bool


# A holding's columns, read as plain rows: a pallet's ten thousand items pass here.
_state = table(CustodyState).c
_HOLDING_COLUMNS = (_state.key, _state.custodian, _state.disposition, _state.container,
                    _state.shipment_id, _state.serial)


_HOLDINGS = select(*_HOLDING_COLUMNS).where(_state.key.in_(bindparam("keys", expanding=True)))
_CONTENTS = select(*_HOLDING_COLUMNS).where(
    _state.container.in_(bindparam("containers", expanding=True)))
_INSERT_MOVES = insert(table(CustodyMove))
_upserts: dict[tuple[str, tuple[str, ...]], Any] = {}


def holdings(session: Session, resolved: Sequence[Resolved]) -> dict[str, Holding]:
    connection = session.connection()
    found: dict[str, Holding] = {}
    for part in chunks([r.key for r in resolved]):
        for key, custodian, disposition, container, shipment_id, serial in connection.execute(
                _HOLDINGS, {"keys": part}):
            found[key] = Holding(key, custodian, disposition, container, shipment_id, serial,
                                 True)
    return {r.key: found.get(r.key) or Holding(r.key, r.first_holder, "active", None, None,
                                                r.serial, False)
            for r in resolved}


def contents(session: Session, container_keys: Sequence[str]) -> list[Holding]:
    """Everything packed in the containers, at any depth (recursive query)."""
    if not container_keys:
        return []
    found: list[Holding] = []
    frontier = list(container_keys)
    seen = set(frontier)
    # Breadth-first, one query per level: pallets hold cases hold items, so 2-3 levels.
    while frontier:
        next_frontier = []
        for part in chunks(frontier):
            for key, custodian, disposition, container, shipment_id, serial in (
                    session.connection().execute(_CONTENTS, {"containers": part})):
                if key in seen:
                    continue
                seen.add(key)
                found.append(Holding(key, custodian, disposition, container, shipment_id,
                                     serial, True))
                if key.startswith("00/"):
                    next_frontier.append(key)
        frontier = next_frontier
    return found


def upsert_states(session: Session, rows: list[dict[str, Any]], update_columns: Sequence[str]
                  ) -> None:
    """Insert new custody states or change ``update_columns`` of existing ones."""
    if not rows:
        return
    connection = session.connection()
    cache_key = (connection.dialect.name, tuple(update_columns))
    if cache_key not in _upserts:
        stmt = dialect_insert(connection.dialect.name)(table(CustodyState))
        _upserts[cache_key] = stmt.on_conflict_do_update(
            index_elements=[_state.key], set_={c: stmt.excluded[c] for c in update_columns})
    for part in chunks(rows, 2_000):
        connection.execute(_upserts[cache_key], list(part))


def add_moves(session: Session, keys: Iterable[str], **fields: Any) -> None:
    rows = [{"key": k, **fields} for k in keys]
    connection = session.connection()
    for part in chunks(rows, 10_000):
        connection.execute(_INSERT_MOVES, list(part))


def take_turn(session: Session) -> None:
    """Changes of custody take turns: what one reads (who holds an item, what a shipment
    still awaits, which events were captured) is not changed by another before it writes.
    PostgreSQL: a lock held until the transaction ends; SQLite's writers take turns
    already."""
    DirectConnection.of(session).serialize("custody")


def get_party_or_fail(session: Session, party_id: object, field: str) -> Party:
    if not isinstance(party_id, str) or not party_id:
        raise InvalidInput(f"field '{field}' must name a party", code="invalid_field")
    party = session.get(Party, party_id)
    if party is None:
        raise InvalidInput(f"unknown party '{party_id}' in '{field}'; create it first with "
                           "POST /parties", code="unknown_party")
    return party


# --- shipping ------------------------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    """What a shipment moves: the codes as listed and every key they stand for."""

    lines: list[Resolved]
    keys: list[str]
    serial_of: dict[str, str | None]


def check_shippable(session: Session, sender: str, resolved: list[Resolved],
                    held: dict[str, Holding] | None = None) -> Movement:
    """The sender must hold every listed code, loose (not inside another container).
    ``held``: their holdings, when the caller has read them already."""
    held = held if held is not None else holdings(session, resolved)
    listed_keys = {r.key for r in resolved}
    problems: list[str] = []
    for r in resolved:
        h = held[r.key]
        if h.custodian != sender:
            problems.append(f"{r.code} (held by {h.custodian or 'nobody'})")
        elif h.disposition == IN_TRANSIT:
            problems.append(f"{r.code} (in transit in shipment {h.shipment_id})")
        elif h.disposition in NOT_SHIPPABLE:
            problems.append(f"{r.code} ({h.disposition})")
        elif h.container is not None and h.container not in listed_keys:
            problems.append(f"{r.code} (packed in {h.container}; ship that or unpack first)")
    if problems:
        raise Conflict(f"'{sender}' does not hold {len(problems)} of the codes: "
                       f"{listed(problems)}", code="not_held", details={"codes": problems})
    inner = contents(session, [r.key for r in resolved if r.is_container])
    keys = list(dict.fromkeys([r.key for r in resolved] + [h.key for h in inner]))
    serial_of = {r.key: r.serial for r in resolved} | {h.key: h.serial for h in inner}
    return Movement(resolved, keys, serial_of)


def record_shipment(
    session: Session,
    *,
    from_party: object,
    to_party: object,
    codes: Sequence[str],
    actor: Actor,
    now: dt.datetime | None = None,
) -> Shipment:
    """Ship codes (items, or cases and pallets with all they hold) from one party to
    another. All or nothing: an unknown or unheld code refuses the whole shipment."""
    actor.require(Role.DISTRIBUTOR, action="ship goods")
    sender = get_party_or_fail(session, from_party, "from")
    receiver = get_party_or_fail(session, to_party, "to")
    actor.require_party(sender.id, action="ship goods")
    take_turn(session)
    if sender.id == receiver.id:
        raise InvalidInput("a shipment needs two different parties", code="same_party")
    if not codes:
        raise InvalidInput("field 'codes' must list at least one code", code="missing_field")
    resolved, unknown = resolve_codes(session, codes)
    if unknown:
        raise InvalidInput(f"{len(unknown)} code(s) were never issued here: {listed(unknown)}",
                           code="unknown_code", details={"codes": unknown})
    movement = check_shippable(session, sender.id, resolved)
    shipment = ship(session, sender=sender.id, receiver=receiver.id, movement=movement,
                    actor=actor, now=now, origin="api")
    audit.record(session, actor=actor, action="custody.ship", subject_type="shipment",
                 subject_id=shipment.id, now=shipment.shipped_at, detail={
                     "from": sender.id, "to": receiver.id, "lines": len(movement.lines),
                     "keys": len(movement.keys), "digest": audit.digest(movement.keys)})
    return shipment


def ship(session: Session, *, sender: str, receiver: str, movement: Movement, actor: Actor,
         now: dt.datetime | None, origin: str, event_pk: int | None = None) -> Shipment:
    """Record a checked movement: shipment, lines, event, states and history."""
    now = now or utcnow()
    shipment = Shipment(from_party=sender, to_party=receiver, origin=origin,
                        item_count=sum(1 for k in movement.keys if not k.startswith("00/")),
                        created_by=actor.name, shipped_at=now, ship_event_pk=event_pk)
    session.add(shipment)
    session.flush()
    if event_pk is None:
        event_pk = events.record_service_event(session, events.object_event(
            keys=[r.key for r in movement.lines], biz_step="shipping", disposition=IN_TRANSIT,
            now=now, source=sender, destination=receiver,
            transaction=f"urn:tracker:shipment:{shipment.id}"))
    shipment.ship_event_pk = event_pk
    session.execute(insert(table(ShipmentLine)), [
        {"shipment_id": shipment.id, "key": r.key, "code": r.code,
         "status": LineStatus.IN_TRANSIT} for r in movement.lines])
    upsert_states(session, [
        {"key": k, "serial": movement.serial_of.get(k), "custodian": sender,
         "owner": sender, "disposition": IN_TRANSIT, "shipment_id": shipment.id,
         "container": None, "last_event_pk": event_pk, "updated_at": now}
        for k in movement.keys
    ], update_columns=("disposition", "shipment_id", "last_event_pk", "updated_at"))
    add_moves(session, movement.keys, kind="ship", from_party=sender, to_party=receiver,
              shipment_id=shipment.id, event_pk=event_pk, at=now, detail=None)
    return shipment


def get_shipment(session: Session, shipment_id: int, *, actor: Actor) -> Shipment:
    shipment = session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(f"shipment {shipment_id} does not exist", code="unknown_shipment")
    if actor.role is Role.DISTRIBUTOR:
        if actor.party_id not in (shipment.from_party, shipment.to_party):
            raise PermissionDenied(f"shipment {shipment_id} is neither from nor to party "
                                   f"'{actor.party_id}'")
    else:
        actor.require(Role.COMPLIANCE, action="read shipments")
    return shipment


def shipment_lines(session: Session, shipment_id: int) -> list[ShipmentLine]:
    return list(session.scalars(select(ShipmentLine).where(
        ShipmentLine.shipment_id == shipment_id).order_by(ShipmentLine.code)))


def list_shipments(session: Session, *, actor: Actor, status: str | None = None,
                   from_party: str | None = None, to_party: str | None = None,
                   limit: int = 100, offset: int = 0) -> tuple[list[Shipment], int]:
    actor.require(Role.COMPLIANCE, Role.DISTRIBUTOR, action="read shipments")
    query: Select[Any] = select(Shipment)
    if actor.role is Role.DISTRIBUTOR:
        query = query.where((Shipment.from_party == actor.party_id)
                            | (Shipment.to_party == actor.party_id))
    if status:
        query = query.where(Shipment.status == parse_enum(
            ShipmentStatus, status, what="status", code="invalid_parameter"))
    if from_party:
        query = query.where(Shipment.from_party == from_party)
    if to_party:
        query = query.where(Shipment.to_party == to_party)
    return paged(session, query, Shipment.id.desc(), limit=limit, offset=offset)


# --- receiving -----------------------------------------------------------------------


def receive_shipment(
    session: Session,
    *,
    shipment_id: int,
    codes: Sequence[str] | None = None,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Shipment:
    """The addressee confirms receipt of all codes, or of those listed (the rest are
    recorded as missing). Receiving again what was received changes nothing."""
    take_turn(session)
    shipment = session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(f"shipment {shipment_id} does not exist", code="unknown_shipment")
    actor.require(Role.DISTRIBUTOR, action="receive shipments")
    if actor.role is Role.DISTRIBUTOR and actor.party_id != shipment.to_party:
        raise PermissionDenied(f"shipment {shipment_id} is addressed to '{shipment.to_party}'; "
                               f"only it may receive it")
    lines = {line.key: line for line in shipment_lines(session, shipment_id)}
    if codes is None:
        chosen = [line for line in lines.values() if line.status is not LineStatus.RECEIVED]
    else:
        resolved, unknown = resolve_codes(session, codes)
        strangers = unknown + [r.code for r in resolved if r.key not in lines]
        if strangers:
            raise InvalidInput(f"{len(strangers)} code(s) are not on shipment {shipment_id}: "
                               f"{listed(strangers)}", code="not_in_shipment",
                               details={"codes": strangers})
        chosen = [lines[r.key] for r in resolved
                  if lines[r.key].status is not LineStatus.RECEIVED]
    if chosen:
        apply_receipt(session, shipment, chosen, now=now or utcnow())
    if codes is not None:
        # What was not confirmed in a partial receipt is recorded as missing.
        received = {line.key for line in chosen}
        for line in lines.values():
            if line.status is LineStatus.IN_TRANSIT and line.key not in received:
                line.status = LineStatus.MISSING
    statuses = {line.status for line in lines.values()}
    shipment.status = (ShipmentStatus.RECEIVED if statuses == {LineStatus.RECEIVED}
                       else ShipmentStatus.PARTIALLY_RECEIVED if LineStatus.RECEIVED in statuses
                       else shipment.status)
    session.flush()
    if chosen or codes is not None:
        audit.record(session, actor=actor, action="custody.receive", subject_type="shipment",
                     subject_id=shipment.id, now=now, detail={
                         "received": len(chosen), "status": shipment.status,
                         "missing": sum(line.status is LineStatus.MISSING
                                        for line in lines.values()),
                         "digest": audit.digest(line.key for line in chosen)})
    if chosen:
        notify.emit(session, "shipment.received",
                    lambda: notify.shipment(shipment, received=len(chosen)), now=now)
    return shipment


def apply_receipt(session: Session, shipment: Shipment, lines: Sequence[ShipmentLine], *,
                  now: dt.datetime, event_pk: int | None = None) -> None:
    keys = [line.key for line in lines]
    if event_pk is None:
        event_pk = events.record_service_event(session, events.object_event(
            keys=keys, biz_step="receiving", disposition=IN_PROGRESS, now=now,
            source=shipment.from_party, destination=shipment.to_party,
            transaction=f"urn:tracker:shipment:{shipment.id}"))
    inner = contents(session, [k for k in keys if k.startswith("00/")])
    moved = keys + [h.key for h in inner if h.shipment_id == shipment.id]
    for part in chunks(moved):
        session.execute(
            update(table(CustodyState))
            .where(_state.key.in_(part), _state.shipment_id == shipment.id)
            .values(custodian=shipment.to_party, owner=shipment.to_party,
                    disposition=IN_PROGRESS, shipment_id=None, last_event_pk=event_pk,
                    updated_at=now)
        )
    count_receipts(session, shipment.to_party, moved, now)
    add_moves(session, moved, kind="receive", from_party=shipment.from_party,
              to_party=shipment.to_party, shipment_id=shipment.id, event_pk=event_pk, at=now,
              detail=None)
    for line in lines:
        line.status = LineStatus.RECEIVED
    shipment.received_at = now
    shipment.receive_event_pk = event_pk


def count_receipts(session: Session, party: str, keys: Sequence[str], at: dt.datetime
                   ) -> None:
    """Count receipts of items by ``party`` at ``at`` into the reports' rollups (before
    their receive moves are added): the party's receipts of the day, and a repeat receipt
    for each item it received before (see :class:`tracker.models.RepeatReceipt`)."""
    items = [k for k in keys if k.startswith(_ITEM_PREFIX)]
    if not items:
        return
    connection = session.connection()
    upsert = dialect_insert(connection.dialect.name)(table(ReceiptDay))
    connection.execute(upsert.values(party_id=party, day=at.astimezone(dt.UTC).date(),
                                     receipts=len(items)).on_conflict_do_update(
        index_elements=[ReceiptDay.party_id, ReceiptDay.day],
        set_={"receipts": ReceiptDay.receipts + upsert.excluded.receipts}))
    repeats: list[dict[str, Any]] = []
    for part in chunks(items, 5_000):
        earlier_and_later = (
            select(CustodyMove.key, func.max(CustodyMove.at).filter(CustodyMove.at <= at),
                   func.min(CustodyMove.at).filter(CustodyMove.at > at))
            .where(CustodyMove.key.in_(part), CustodyMove.kind == "receive",
                   CustodyMove.to_party == party)
            .group_by(CustodyMove.key))
        for key, before, after in connection.execute(earlier_and_later):
            if before is not None:
                repeats.append({"party_id": party, "key": key, "at": at,
                                "previous_at": before})
            if after is not None:  # recorded out of time order: the next one follows this
                _follows(session, party, key, after, at)
    if repeats:
        connection.execute(insert(table(RepeatReceipt)), repeats)


def recounted_receipts(dialect: str) -> tuple[Select[Any], Select[Any]]:
    """The reports' rollups counted afresh from the receive moves, as queries: the
    (party, day, receipts) of :class:`ReceiptDay` and the (party, key, at, previous_at)
    of :class:`RepeatReceipt`. ``tracker db check`` compares them with the stored ones."""
    moves = table(CustodyMove)
    of_items = (moves.c.kind == "receive", moves.c.key.like(_ITEM_PREFIX + "%"),
                moves.c.to_party.is_not(None))
    day = utc_day(dialect, moves.c.at)
    days = (select(moves.c.to_party, day, func.count()).where(*of_items)
            .group_by(moves.c.to_party, day))
    ordered = select(moves.c.to_party, moves.c.key, moves.c.at, func.lag(moves.c.at).over(
        partition_by=(moves.c.to_party, moves.c.key),
        order_by=(moves.c.at, moves.c.id)).label("previous_at")).where(*of_items).subquery()
    repeats = (select(ordered.c.to_party, ordered.c.key, ordered.c.at, ordered.c.previous_at)
               .where(ordered.c.previous_at.is_not(None)))
    return days, repeats


def recount_receipts(session: Session) -> None:
    """Count every recorded receipt into the reports' rollups afresh, as
    :func:`count_receipts` would have counted them one by one: for data loaded around
    the services (the benches), and to repair them."""
    days, repeats = recounted_receipts(session.get_bind().dialect.name)
    session.execute(delete(ReceiptDay))
    session.execute(delete(RepeatReceipt))
    session.execute(insert(ReceiptDay).from_select(["party_id", "day", "receipts"], days))
    session.execute(insert(RepeatReceipt).from_select(
        ["party_id", "key", "at", "previous_at"], repeats))


def _follows(session: Session, party: str, key: str, later: dt.datetime,
             at: dt.datetime) -> None:
    """The party's receipt of ``key`` at ``later`` now has one at ``at`` before it."""
    row = session.scalars(select(RepeatReceipt).where(
        RepeatReceipt.party_id == party, RepeatReceipt.key == key,
        RepeatReceipt.at == later)).first()
    if row is None:
        session.add(RepeatReceipt(party_id=party, key=key, at=later, previous_at=at))
    elif row.previous_at < at:
        row.previous_at = at
    session.flush()


# --- cases and pallets ---------------------------------------------------------------


def company_prefix_of(party_id: str) -> str | None:
    match = _PGLN.fullmatch(party_id)
    return match.group(1) if match else None


def create_containers(
    session: Session,
    *,
    party: str,
    kind: str,
    count: int = 1,
    company_prefix: str | None = None,
    actor: Actor,
) -> list[Container]:
    """Issue SSCCs for cases or pallets of a party, numbered on from its last one."""
    owner = _acting_party(session, party, actor, action="create cases and pallets")
    if kind not in ("case", "pallet"):
        raise InvalidInput(f"kind must be 'case' or 'pallet', not {kind!r}",
                           code="invalid_field")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
        raise InvalidInput(f"count must be between 1 and 10,000, not {count!r}",
                           code="invalid_field")
    prefix = company_prefix or company_prefix_of(owner.id)
    if prefix is None:
        raise InvalidInput(f"party '{owner.id}' is not a PGLN URN, so its GS1 company prefix "
                           "is unknown; pass company_prefix", code="company_prefix_required")
    extension = 1 if kind == "case" else 3
    like = f"{extension}{prefix}%"
    last = session.scalar(select(func.max(Container.sscc)).where(Container.sscc.like(like)))
    start = int(last[1 + len(prefix):17]) + 1 if last else 1
    made = []
    for reference in range(start, start + count):
        sscc = make_sscc(prefix, reference, extension)
        made.append(Container(sscc=sscc, kind=kind, party_id=owner.id))
    session.add_all(made)
    session.flush()
    return made


def _acting_party(session: Session, party: str, actor: Actor, *, action: str) -> Party:
    actor.require(Role.DISTRIBUTOR, action=action)
    acting = get_party_or_fail(session, party, "party")
    actor.require_party(acting.id, action=action)
    return acting


def resolve_container(session: Session, code: str) -> Resolved:
    """A case or pallet issued here, by SSCC in any form."""
    resolved, unknown = resolve_codes(session, [code])
    if unknown or not resolved[0].is_container:
        raise InvalidInput(f"{code!r} is not a case or pallet issued here",
                           code="unknown_container")
    return resolved[0]


def get_container(session: Session, code: str, *, actor: Actor) -> Resolved:
    """A case or pallet, for those who may see it: compliance every one, a distributor
    its own (as :func:`list_containers` lists them)."""
    actor.require(Role.COMPLIANCE, Role.DISTRIBUTOR, action="read cases and pallets")
    container = resolve_container(session, code)
    if actor.role is Role.DISTRIBUTOR:
        owner = session.scalar(select(Container.party_id).where(
            Container.sscc == container.key[3:]))
        if owner != actor.party_id:
            raise PermissionDenied(f"case or pallet {code!r} is not one of party "
                                   f"'{actor.party_id}'")
    return container


MAX_CONTAINERS_LISTED = 2_000


def list_containers(session: Session, *, actor: Actor, party: str | None = None,
                    ssccs: Sequence[str] | None = None) -> list[Container]:
    """Cases and pallets, newest first; a distributor sees only its own."""
    actor.require(Role.COMPLIANCE, Role.DISTRIBUTOR, action="read cases and pallets")
    query = select(Container)
    if actor.role is Role.DISTRIBUTOR:
        query = query.where(Container.party_id == actor.party_id)
    if party:
        query = query.where(Container.party_id == party)
    if ssccs is not None:
        query = query.where(Container.sscc.in_([resolve_container(session, s).key[3:]
                                                for s in ssccs]))
    return list(session.scalars(query.order_by(Container.sscc).limit(MAX_CONTAINERS_LISTED)))


def pack(
    session: Session,
    *,
    party: str,
    container: str,
    codes: Sequence[str],
    actor: Actor,
    now: dt.datetime | None = None,
) -> int:
    """Pack held items (or cases) into a held case or pallet: an AggregationEvent ADD."""
    packer = _acting_party(session, party, actor, action="pack goods")
    take_turn(session)
    parent = resolve_container(session, container)
    if not codes:
        raise InvalidInput("field 'codes' must list at least one code", code="missing_field")
    children, unknown = resolve_codes(session, codes)
    if unknown:
        raise InvalidInput(f"{len(unknown)} code(s) were never issued here: {listed(unknown)}",
                           code="unknown_code", details={"codes": unknown})
    if any(c.key == parent.key for c in children):
        raise InvalidInput("a container cannot be packed into itself", code="invalid_packing")
    held = holdings(session, [parent, *children])
    problems = [f"{r.code} ({problem[1]})" for r in [parent, *children]
                if (problem := packing_problem(held[r.key], packer.id,
                                               None if r is parent else parent.key))]
    if problems:
        raise Conflict(f"'{packer.id}' cannot pack {len(problems)} of the codes: "
                       f"{listed(problems)}", code="not_held", details={"codes": problems})
    ancestors = ancestors_of(session, parent.key)
    if any(c.key in ancestors for c in children):
        raise InvalidInput("packing would put a container inside itself", code="invalid_packing")
    now = now or utcnow()
    event_pk = events.record_service_event(session, {
        "type": "AggregationEvent", "eventTime": events.event_time(now),
        "eventTimeZoneOffset": "+00:00", "parentID": events.epc_uri(parent.key),
        "childEPCs": [events.epc_uri(c.key) for c in children], "action": "ADD",
        "bizStep": "packing", "disposition": IN_PROGRESS,
    })
    put_in(session, packer=packer.id, parent=parent, children=children, held=held,
           event_pk=event_pk, now=now)
    audit.record(session, actor=actor, action="custody.pack", subject_type="container",
                 subject_id=parent.key, now=now, detail={
                     "party": packer.id, "items": len(children),
                     "digest": audit.digest(c.key for c in children)})
    return len(children)


def packing_problem(held: Holding, packer: str | None, into: str | None
                    ) -> tuple[str, str] | None:
    """Why ``packer`` cannot pack what ``held`` describes into the container ``into``
    (None: the container itself, which only has to be held): ``(kind, reason)`` with
    kind ``not_held`` or ``already_packed``; None when nothing stands in the way."""
    if held.custodian != packer or held.disposition == IN_TRANSIT:
        return "not_held", (f"held by {held.custodian or 'nobody'}"
                            f"{', in transit' if held.disposition == IN_TRANSIT else ''}")
    if into is not None and held.container is not None and held.container != into:
        return "already_packed", f"already packed in {held.container}"
    return None


def put_in(session: Session, *, packer: str | None, parent: Resolved,
           children: Sequence[Resolved], held: dict[str, Holding], event_pk: int,
           now: dt.datetime) -> None:
    """Record checked ``children`` packed into ``parent`` by ``packer`` (states and pack
    moves): the one packing step of ``POST /containers/{sscc}/pack`` and EPCIS capture."""
    rows = [{"key": r.key, "serial": r.serial, "custodian": packer, "owner": packer,
             "disposition": held[r.key].disposition, "shipment_id": None,
             "container": parent.key if r is not parent else held[r.key].container,
             "last_event_pk": event_pk, "updated_at": now} for r in [parent, *children]]
    upsert_states(session, rows, update_columns=("container", "last_event_pk", "updated_at"))
    add_moves(session, [c.key for c in children], kind="pack", from_party=packer,
              to_party=packer, shipment_id=None, event_pk=event_pk, at=now,
              detail=parent.key)


def take_out(session: Session, *, packer: str | None, parent_key: str, keys: Sequence[str],
             event_pk: int, now: dt.datetime) -> None:
    """Record ``keys`` (packed in ``parent_key``) taken out of it by ``packer``: the one
    unpacking step of ``POST /containers/{sscc}/unpack`` and EPCIS capture."""
    for part in chunks(keys):
        session.execute(update(CustodyState).where(
            CustodyState.key.in_(part), CustodyState.container == parent_key).values(
            container=None, last_event_pk=event_pk, updated_at=now))
    add_moves(session, keys, kind="unpack", from_party=packer, to_party=packer,
              shipment_id=None, event_pk=event_pk, at=now, detail=parent_key)


def declare_container(session: Session, *, sscc: str, kind: str, party: str | None
                      ) -> Resolved:
    """A case or pallet this system did not issue, made known by EPCIS (a packing line's
    own system): registered as held by ``party``, or claimed by it when it was
    registered before with no holder."""
    container = session.get(Container, sscc)
    if container is None:
        session.add(Container(sscc=sscc, kind=kind, party_id=party))
        session.flush()
    elif container.party_id is None and party is not None:
        container.party_id = party
    return Resolved(sscc, container_key(sscc), True, first_holder=party)


def ancestors_of(session: Session, key: str) -> set[str]:
    """``key`` and every container it is packed in, at any depth."""
    found: set[str] = set()
    current: str | None = key
    while current is not None and current not in found:
        found.add(current)
        current = session.scalar(select(CustodyState.container).where(CustodyState.key == current))
    return found


def unpack(
    session: Session,
    *,
    party: str,
    container: str,
    codes: Sequence[str] | None = None,
    actor: Actor,
    now: dt.datetime | None = None,
) -> int:
    """Take items (all when codes is None) out of a case or pallet: AggregationEvent DELETE."""
    packer = _acting_party(session, party, actor, action="unpack goods")
    take_turn(session)
    parent = resolve_container(session, container)
    held = holdings(session, [parent])[parent.key]
    if held.custodian != packer.id or held.disposition == IN_TRANSIT:
        raise Conflict(f"'{packer.id}' does not hold {container}", code="not_held")
    inside = {s.key: s for s in session.scalars(
        select(CustodyState).where(CustodyState.container == parent.key))}
    if codes is None:
        keys = list(inside)
    else:
        resolved, unknown = resolve_codes(session, codes)
        strangers = unknown + [r.code for r in resolved if r.key not in inside]
        if strangers:
            raise InvalidInput(f"{len(strangers)} code(s) are not packed in {container}: "
                               f"{listed(strangers)}", code="not_in_container")
        keys = [r.key for r in resolved]
    if not keys:
        return 0
    now = now or utcnow()
    event_pk = events.record_service_event(session, {
        "type": "AggregationEvent", "eventTime": events.event_time(now),
        "eventTimeZoneOffset": "+00:00", "parentID": events.epc_uri(parent.key),
        "childEPCs": [events.epc_uri(k) for k in keys], "action": "DELETE",
        "bizStep": "unpacking",
    })
    take_out(session, packer=packer.id, parent_key=parent.key, keys=keys, event_pk=event_pk,
             now=now)
    audit.record(session, actor=actor, action="custody.unpack", subject_type="container",
                 subject_id=parent.key, now=now, detail={
                     "party": packer.id, "items": len(keys), "digest": audit.digest(keys)})
    return len(keys)


def current_state(session: Session, key: str, first_holder: str | None) -> Holding:
    state = session.get(CustodyState, key)
    if state is None:
        return Holding(key, first_holder, "active", None, None, None, False)
    return Holding(key, state.custodian, state.disposition, state.container,
                   state.shipment_id, state.serial, True)


def history(session: Session, key: str) -> list[CustodyMove]:
    """The item's moves in order, including those of the containers it travelled in."""
    return list(session.scalars(select(CustodyMove).where(CustodyMove.key == key)
                                .order_by(CustodyMove.at, CustodyMove.id)))

