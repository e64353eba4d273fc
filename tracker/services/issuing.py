"""Issuing serial numbers per territory, and the codes and labels that carry them."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from tracker.config import Settings
from tracker.domain import serials as serial_format
from tracker.domain.gs1 import build_digital_link, check_lot, sgtin_urn
from tracker.errors import InvalidInput, MalformedCode, NotFound, TrackerError
from tracker.models import Batch, Party, PartyRole, Role, Serial
from tracker.services import audit, events
from tracker.services.auth import Actor
from tracker.services.masterdata import get_product, resolve_territories

# Rows per round trip: big enough that per-statement cost vanishes, small enough that
# memory stays flat however many serials a request asks for.
CHUNK = 50_000
# With 69 bits per serial a collision is rare; this many rounds without progress means
# the random source is broken, not unlucky.
MAX_STALLED_ROUNDS = 20

Progress = Callable[[int, int], None]


class SerialSpaceExhausted(TrackerError):
    code = "serial_generation_failed"


def issue_batch(
    session: Session,
    *,
    gtin: str,
    territory: str,
    quantity: object,
    lot: str | None = None,
    expiry: dt.date | None = None,
    party: str | None = None,
    actor: Actor,
    settings: Settings,
    progress: Progress | None = None,
    random_source: serial_format.RandomSource = os.urandom,
) -> Batch:
    """Issue ``quantity`` new serials of ``gtin`` authorised for ``territory``.

    Serials are written in chunks with the fastest bulk path of the backend; any that
    collide with an existing serial are dropped and drawn again, so the batch always
    holds exactly ``quantity`` serials, unique across the database.
    """
    actor.require(action="issue serial numbers")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidInput(f"quantity must be a whole number, not {quantity!r}",
                           code="invalid_quantity")
    if not 1 <= quantity <= settings.max_batch_quantity:
        raise InvalidInput(
            f"quantity {quantity} is out of range: issue between 1 and "
            f"{settings.max_batch_quantity:,} serials per batch",
            code="invalid_quantity",
        )
    if lot is not None:
        check_lot(lot)
    product = get_product(session, gtin)
    (area,) = resolve_territories(session, [territory])
    batch = Batch(
        gtin=product.gtin,
        territory_id=area.id,
        quantity=quantity,
        lot=lot,
        expiry=expiry,
        owner_party_id=_owner(session, party),
        issued_by=actor.name,
    )
    session.add(batch)
    session.flush()
    connection = session.connection()
    done = 0
    stalled = 0
    while done < quantity:
        want = min(CHUNK, quantity - done)
        inserted = _insert_serials(
            connection, batch.id, serial_format.generate_serials(want, random_source)
        )
        done += inserted
        stalled = stalled + 1 if inserted == 0 else 0
        if stalled >= MAX_STALLED_ROUNDS:
            raise SerialSpaceExhausted(
                "could not draw new unique serials: the random source keeps repeating itself"
            )
        if progress is not None:
            progress(done, quantity)
    # Last: storing an event takes the custody turn until the end of the transaction
    # (tracker.services.events.record_service_event); the serials do not wait for it.
    _record_commissioning(session, batch)
    audit.record(session, actor=actor, action="batch.issue", subject_type="batch",
                 subject_id=batch.id, now=batch.issued_at, detail={
                     "gtin": batch.gtin, "territory": area.code, "quantity": quantity,
                     "lot": lot, "owner": batch.owner_party_id})
    return batch


def _owner(session: Session, party: str | None) -> str | None:
    """The brand that holds the goods as issued: the one named, else the only brand."""
    if party is not None:
        if session.get(Party, party) is None:
            raise InvalidInput(f"unknown party '{party}'; create it first with POST /parties",
                               code="unknown_party")
        return party
    brands = list(session.scalars(select(Party.id).where(Party.role == PartyRole.BRAND).limit(2)))
    return brands[0] if len(brands) == 1 else None


def _record_commissioning(session: Session, batch: Batch) -> None:
    """One commissioning event stands for the whole batch: listing a million EPCs in it
    would double the cost of issuing. Its quantity names the lot (or the GTIN)."""
    epc_class = events.batch_class(batch.gtin, batch.lot)
    document = events.object_event(
        keys=[], biz_step="commissioning", disposition="active", action="ADD",
        now=batch.issued_at, transaction=f"urn:tracker:batch:{batch.id}",
        extra={"quantityList": [{"epcClass": epc_class, "quantity": batch.quantity}]},
    )
    events.record_service_event(session, document, batch_id=batch.id)


def _insert_serials(connection: Connection, batch_id: int, serials: Sequence[str]) -> int:
    """Insert, skipping serials that already exist; returns how many went in."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        result = connection.exec_driver_sql(
            "INSERT OR IGNORE INTO serials (serial, batch_id) VALUES (?, ?)",
            [(s, batch_id) for s in serials],
        )
        return result.rowcount
    if dialect == "postgresql":
        return _copy_serials_postgresql(connection, batch_id, serials)
    # Any other backend: portable, slower, and collisions fail the request loudly.
    connection.execute(insert(Serial), [{"serial": s, "batch_id": batch_id} for s in serials])
    return len(serials)


def _copy_serials_postgresql(connection: Connection, batch_id: int, serials: Sequence[str]) -> int:
    """COPY straight into the table; only a chunk that collides takes the slower path."""
    import psycopg

    driver = connection.connection.driver_connection
    rows = "".join(f"{s}\t{batch_id}\n" for s in serials)
    try:
        # A savepoint, so a collision undoes this chunk only.
        with driver.transaction(), driver.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy("COPY serials (serial, batch_id) FROM STDIN") as copy:
                copy.write(rows)
        return len(serials)
    except psycopg.errors.UniqueViolation:
        pass
    # COPY cannot skip conflicts: stage the chunk and move it with ON CONFLICT DO NOTHING.
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS serial_stage (serial varchar(20)) ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE serial_stage")
        with cursor.copy("COPY serial_stage (serial) FROM STDIN") as copy:
            copy.write("\n".join(serials) + "\n")
        cursor.execute(
            "INSERT INTO serials (serial, batch_id) SELECT DISTINCT serial, %s FROM serial_stage "
            "ON CONFLICT DO NOTHING",
            (batch_id,),
        )
        return cursor.rowcount


def get_batch(session: Session, batch_id: int, *, actor: Actor) -> Batch:
    actor.require(Role.COMPLIANCE, action="read batches")
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"batch {batch_id} does not exist", code="unknown_batch")
    return batch


def list_batches(session: Session, *, actor: Actor, limit: int = 100,
                 offset: int = 0) -> list[Batch]:
    actor.require(Role.COMPLIANCE, action="read batches")
    return list(
        session.scalars(select(Batch).order_by(Batch.id.desc()).limit(limit).offset(offset))
    )


def count_serials(session: Session, batch_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Serial).where(Serial.batch_id == batch_id)
    ) or 0


@dataclass(frozen=True)
class CodeRow:
    serial: str
    uri: str
    epc: str


class CodeWriter:
    """Writes a batch's codes: Digital Link URI and SGTIN URN, built once per batch."""

    def __init__(self, batch: Batch, settings: Settings) -> None:
        # Serial characters never need escaping, so one template serves the whole batch.
        marker = "SERIAL"
        uri = build_digital_link(settings.dl_base, batch.gtin, marker, batch.lot, batch.expiry)
        self._uri_head, self._uri_tail = uri.split("/21/" + marker, 1)
        self._uri_head += "/21/"
        epc = sgtin_urn(batch.gtin, marker, batch.product.company_prefix_length)
        self._epc_head = epc[: -len(marker)]

    def row(self, serial: str) -> CodeRow:
        return CodeRow(serial, self._uri_head + serial + self._uri_tail, self._epc_head + serial)


def iter_batch_codes(
    session: Session, batch: Batch, settings: Settings, *, offset: int = 0,
    limit: int | None = None
) -> Iterator[CodeRow]:
    """The batch's codes in serial order, read in slices so memory stays flat."""
    writer = CodeWriter(batch, settings)
    query = (
        select(Serial.serial)
        .where(Serial.batch_id == batch.id)
        .order_by(Serial.serial)
        .offset(offset)
        .limit(limit)
        .execution_options(yield_per=10_000)
    )
    for serial in session.scalars(query):
        yield writer.row(serial)


@dataclass(frozen=True)
class SerialRecord:
    serial: str
    batch: Batch
    code: CodeRow


def get_serial(session: Session, serial: str, *, actor: Actor, settings: Settings) -> SerialRecord:
    """Look up one serial as typed; a wrong check character is caught before any lookup."""
    actor.require(Role.COMPLIANCE, action="read serials")
    text = serial.strip().upper()
    if not serial_format.looks_like_serial(text):
        raise MalformedCode(
            f"'{serial[:40]}' is not a serial: serials are {serial_format.SERIAL_LENGTH} "
            f"characters from {serial_format.ALPHABET}"
        )
    if not serial_format.is_well_formed(text):
        raise InvalidInput(
            f"serial '{text}' has a wrong check character: it was probably mistyped",
            code="bad_check_character",
        )
    batch_id = session.scalar(select(Serial.batch_id).where(Serial.serial == text))
    if batch_id is None:
        raise NotFound(f"serial '{text}' was never issued", code="unknown_serial")
    batch = session.get_one(Batch, batch_id)
    return SerialRecord(text, batch, CodeWriter(batch, settings).row(text))
