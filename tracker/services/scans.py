"""Field scans: parse, look up, judge against the territory maps, store, open violations."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, literal, or_, select, update
from sqlalchemy.orm import Session

from tracker.config import Settings
from tracker.db import DirectConnection, Prepared, dialect_insert, table, utcnow, write_transaction
from tracker.domain import verdicts
from tracker.domain.codes import ParsedCode, item_key, parse_code
from tracker.domain.gs1 import quoted
from tracker.errors import InvalidInput, MalformedCode
from tracker.models import (
    Batch,
    BatchStatus,
    CustodyMove,
    CustodyState,
    Product,
    Role,
    Scan,
    Serial,
    Territory,
    Verdict,
    party_territories,
)
from tracker.services import clone_frontier, violations
from tracker.services.auth import Actor
from tracker.services.territory_cache import territory_index

# Half the earth's circumference: no two points are farther apart, so only scans closer
# in time than this distance / speed limit can imply a speed above the limit.
WITHDRAWN = {"recalled", "destroyed", "stolen"}
MAX_CLIENT_ID = 200

# The statements of the scan path, built once and run straight on the driver
# (tracker.db.Prepared): a scan runs half a dozen, each of which would cost Core's
# execute() several times what the database takes to run it.
_serial, _batch, _territory = table(Serial).c, table(Batch).c, table(Territory).c
_state, _move, _scan = table(CustodyState).c, table(CustodyMove).c, table(Scan).c
# The territories a party holds, joined to who it is (party ids are plain strings).
_held = party_territories.alias("held")
_held_territory = table(Territory).alias("held_territory")
# The serial's batch, the item's custody state and the batch owner's territories in one
# round trip (a row per territory). The state's key is
# tracker.domain.codes.item_key(batch GTIN, serial), spelled in SQL.
_ITEM = Prepared(
    select(_batch.id, _batch.gtin, _batch.status, _batch.owner_party_id, _territory.code,
           _state.custodian, _state.disposition, _held_territory.c.code, _state.key)
    .select_from(table(Serial))
    .join(table(Batch), _batch.id == _serial.batch_id)
    .join(table(Territory), _territory.id == _batch.territory_id)
    .outerjoin(table(CustodyState),
               _state.key == literal("01/") + _batch.gtin + literal("/21/") + _serial.serial)
    .outerjoin(_held, _held.c.party_id == _batch.owner_party_id)
    .outerjoin(_held_territory, _held_territory.c.id == _held.c.territory_id)
    .where(_serial.serial == bindparam("serial"))
)
# The item's hand-offs in order, with the territories of the party each went to.
_HANDOFFS = Prepared(
    select(_move.id, _move.kind, _move.from_party, _move.to_party, _held_territory.c.code)
    .outerjoin(_held, _held.c.party_id == _move.to_party)
    .outerjoin(_held_territory, _held_territory.c.id == _held.c.territory_id)
    .where(_move.key == bindparam("key"), or_(_move.kind == "ship", _move.kind == "receive"))
    .order_by(_move.at, _move.id)
)
_EARLIER = Prepared(select(_scan.response, _scan.id, _scan.violation_id).where(
    _scan.inspector_id == bindparam("inspector"),
    _scan.client_scan_id == bindparam("client_scan_id")))
_SCAN_COLUMNS = (
    "client_scan_id", "inspector_id", "code", "form", "gtin", "serial", "key", "latitude",
    "longitude", "accuracy_m", "device_id", "scanned_at", "received_at", "verdict",
    "near_border", "expected_territories", "found_territory", "responsible_party",
    "violation_id", "flags", "response")

# A retried client_scan_id inserts nothing (and waits for a first try still in flight),
# so the scan path needs no savepoint and no read before it.
_INSERT_SCAN = Prepared(
    lambda dialect: dialect_insert(dialect)(table(Scan))
    .on_conflict_do_nothing(index_elements=[_scan.inspector_id, _scan.client_scan_id])
    .returning(_scan.id),
    columns=_SCAN_COLUMNS)
_SET_VIOLATION = Prepared(update(table(Scan)).where(_scan.id == bindparam("scan"))
                          .values(violation_id=bindparam("violation")))


@dataclass(frozen=True)
class ScanRequest:
    code: str
    latitude: float
    longitude: float
    accuracy_m: float | None = None
    scanned_at: dt.datetime | None = None
    client_scan_id: str | None = None
    device_id: str | None = None


def _number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"field '{name}' must be a number, not {value!r}",
                           code="invalid_field")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(f"field '{name}' must be a finite number, not {value!r}",
                           code="invalid_coordinates")
    if not low <= number <= high:
        raise InvalidInput(f"field '{name}' is {value}, outside {low:g}..{high:g}",
                           code="invalid_coordinates")
    return number


def validate(request: ScanRequest) -> ScanRequest:
    for name, value in (("latitude", request.latitude), ("longitude", request.longitude)):
        if value is None:
            raise InvalidInput(f"field '{name}' is empty: the phone sent no position; a "
                               "field scan needs one (wait for the location, or allow it)",
                               code="no_position")
    if (isinstance(request.latitude, (int, float)) and isinstance(request.longitude,
                                                                   (int, float))
            and abs(request.latitude) > 90 >= abs(request.longitude)
            and abs(request.latitude) <= 180):
        raise InvalidInput(f"field 'latitude' is {request.latitude}, outside -90..90; are "
                           "latitude and longitude swapped?", code="invalid_coordinates")
    latitude = _number("latitude", request.latitude, -90, 90)
    longitude = _number("longitude", request.longitude, -180, 180)
    if latitude == 0 and longitude == 0:
        # "Null Island": what a phone sends without a location fix, never a shelf. Judged,
        # it would accuse the distributor of diverting goods into the Gulf of Guinea.
        raise InvalidInput("the position is 0, 0 (at sea off West Africa): the phone has no "
                           "location fix yet; wait for the location and scan again",
                           code="no_position")
    accuracy = (None if request.accuracy_m is None
                else _number("accuracy_m", request.accuracy_m, 0, 1_000_000))
    if request.client_scan_id is not None and not (
            isinstance(request.client_scan_id, str) and 0 < len(request.client_scan_id)
            <= MAX_CLIENT_ID):
        raise InvalidInput(f"field 'client_scan_id' must be a string of 1 to {MAX_CLIENT_ID} "
                           "characters", code="invalid_field")
    if request.scanned_at is not None and request.scanned_at.tzinfo is None:
        raise InvalidInput("field 'scanned_at' must carry a timezone (e.g. Z or +08:00)",
                           code="invalid_field")
    return ScanRequest(request.code, latitude, longitude, accuracy, request.scanned_at,
                       request.client_scan_id, request.device_id)


# Input from a device that the verdict rules cannot see (``flags`` words beside the
# verdict's own, tracker.domain.verdicts.FLAGS):
#   no_accuracy  the position came without its accuracy: a border is judged as if the
#                position were exact, so an app should warn before sending;
#   clock_skew   the time the device sent cannot be the scan's (module note below);
#   other_brand  the code's GTIN carries a company prefix none of our products has: the
#                label of another brand (still unknown_code, with its violation).
INPUT_FLAGS = ("no_accuracy", "clock_skew", "other_brand")

# The device's clock. An offline scan is sent hours or days after it was made, so a past
# time stands as sent. A time ahead of the server's clock by more than MAX_CLOCK_AHEAD,
# or before EARLIEST_SCAN (a phone whose clock was never set shows 1970 or 1980), is a
# wrong clock, not the scan's time. Refusing it would lose the scan from an offline
# queue for good (its time cannot change), so the scan is kept: it was made no later
# than it reached the server, so the time of receipt stands in, flagged clock_skew. The
# travel-speed rule is not applied to such a scan (a made-up time could make a clone of
# a genuine item, or hide one); where it lies is judged as usual.
MAX_CLOCK_AHEAD = dt.timedelta(minutes=5)
EARLIEST_SCAN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

_PRODUCTS = Prepared(select(table(Product).c.gtin, table(Product).c.company_prefix_length))
_PRODUCT_LINK = re.compile(r"/(01|00)/", re.IGNORECASE)
_GTIN_DIGITS = re.compile(r"[0-9]{8}|[0-9]{12,14}")


def scan_time(sent: dt.datetime | None, received: dt.datetime
              ) -> tuple[dt.datetime, list[str]]:
    """When the scan was made, and ``["clock_skew"]`` when the device's time cannot be.

    >>> at = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    >>> scan_time(at - dt.timedelta(days=3), at) == (at - dt.timedelta(days=3), [])
    True
    >>> scan_time(at + dt.timedelta(hours=3), at) == (at, ["clock_skew"])
    True
    """
    if sent is None:
        return received, []
    if sent > received + MAX_CLOCK_AHEAD or sent < EARLIEST_SCAN:
        return received, ["clock_skew"]
    return sent, []


def read_code(code: str) -> ParsedCode:
    """``parse_code``, refusing what a phone's camera often reads that is no product code
    (a Wi-Fi or contact QR, a shop's web link, a barcode's number) in words an inspector
    can act on."""
    try:
        return parse_code(code)
    except MalformedCode as exc:
        text = code.strip()
        lowered = text.lower()
        if not text:
            message = "the code is empty: nothing was read; scan the QR code again"
        elif _GTIN_DIGITS.fullmatch(text):
            message = (f"{quoted(text)} is the product's barcode number, which has no serial;"
                       " scan the QR code on the label, or type the 15-character serial")
        elif lowered.startswith(("https://", "http://")):
            if _PRODUCT_LINK.search(text):
                raise  # a product link with a fault: parse_code's message names it
            message = (f"the QR code holds a web link, {quoted(text)}, that is not a "
                       "product code (those read https://…/01/GTIN/21/SERIAL): probably "
                       "another QR code on the package; scan the one on the product label")
        elif "://" not in text and not lowered.startswith("urn:"):
            message = (f"{quoted(text)} is not a product code: neither a web address nor a "
                       "15-character serial. Scan the QR code on the product label, or type "
                       "the serial printed beside it")
        else:
            raise
        raise MalformedCode(message) from exc


def device_flags(db: DirectConnection, request: ScanRequest, parsed: ParsedCode,
                 item: Item) -> list[str]:
    """``no_accuracy`` and ``other_brand`` (INPUT_FLAGS) for a scan."""
    flags = ["no_accuracy"] if request.accuracy_m is None else []
    if parsed.gtin is not None and not (item.batch is not None and item.gtin_matches):
        # Only codes that are not ours get here, so the products are read rarely.
        prefixes = {gtin[1:1 + length] for gtin, length in db.rows(_PRODUCTS)}
        if not any(parsed.gtin[1:1 + len(prefix)] == prefix for prefix in prefixes):
            flags.append("other_brand")
    return flags


@dataclass(frozen=True)
class BatchFacts:
    """The few columns of a serial's batch a verdict needs (read as one row, no ORM)."""

    id: int
    gtin: str
    status: BatchStatus
    owner_party_id: str | None
    territory_code: str


@dataclass(frozen=True)
class Item:
    """What the tracker knows of the scanned code, and who holds it now."""

    parsed: ParsedCode
    key: str
    serial: str | None
    batch: BatchFacts | None
    gtin_matches: bool
    custodian: str | None = None
    disposition: str | None = None
    owner_territories: tuple[str, ...] = ()
    # A custody state exists once the item was shipped, packed or otherwise handled;
    # without one it has no hand-offs to read.
    has_custody: bool = False


def identify(db: DirectConnection, parsed: ParsedCode) -> Item:
    """What the tracker knows of the code: one statement, one state of the item."""
    if parsed.sscc is not None:
        raise InvalidInput("this is the code of a case or pallet; scan the item's own code",
                           code="not_an_item")
    if parsed.serial is None:
        raise InvalidInput("the code names a product but no serial number (no /21/ part)",
                           code="no_serial")
    rows = (db.rows(_ITEM, {"serial": parsed.serial})
            if parsed.serial_well_formed else [])
    if not rows:
        key = parsed.key or f"serial/{parsed.serial}"
        return Item(parsed, key, parsed.serial, None, False)
    row = rows[0]
    batch = BatchFacts(*row[:5])
    if parsed.gtin is not None and parsed.gtin != batch.gtin:
        return Item(parsed, parsed.key or parsed.serial, parsed.serial, batch, False)
    return Item(parsed, item_key(batch.gtin, parsed.serial), parsed.serial, batch, True,
                custodian=row[5], disposition=row[6],
                owner_territories=tuple(r[7] for r in rows if r[7] is not None),
                has_custody=row[8] is not None)


@dataclass
class JudgedScan:
    """A scan judged in the read phase, ready for the short write phase."""

    request: ScanRequest
    parsed: ParsedCode
    item: Item
    received: dt.datetime
    scanned_at: dt.datetime
    judge_inputs: dict[str, Any]
    place: verdicts.Place
    responsible: str | None  # who answers for the item should the verdict be diverted
    # Flags about the device's input (INPUT_FLAGS), listed after the verdict's own.
    input_flags: list[str] = field(default_factory=list)
    # The item's clone frontier as settle read it, for keep_for_clone_check.
    frontier: clone_frontier.Frontier | None = None


def record_scan(session: Session, request: ScanRequest, *, actor: Actor, settings: Settings,
                now: dt.datetime | None = None) -> dict[str, Any]:
    """Judge one field scan and store it with its verdict; return the answer. A retried
    ``client_scan_id`` returns the first answer and stores nothing new.

    When the caller holds a transaction on ``session`` the scan lands in it (with the
    rest of the caller's work, or not at all). Otherwise (``POST /scans``) the judging
    reads on a connection of this thread's own, outside any transaction (the geometry,
    the costly part, holds no lock), and only storing takes ``write_transaction``; the
    statements run on the driver (``DirectConnection``, docs/database.md)."""
    with DirectConnection.for_session(session) as db:
        judged = judge_scan(db, request, actor=actor, settings=settings, now=now)
        with write_transaction(db):
            return store_scan(db, judged, actor=actor, settings=settings)


def judge_scan(db: DirectConnection, request: ScanRequest, *, actor: Actor,
               settings: Settings, now: dt.datetime | None = None) -> JudgedScan:
    """Read phase of ``record_scan``: everything the verdict needs but the serial's other
    scans, and where the scan lies against the maps. Writes nothing; on a connection of
    its own it needs no transaction around it (it reads one state where it reads twice).
    The verdict and a retried client_scan_id are settled in the write phase
    (``store_scan``), under the write lock."""
    actor.require(Role.INSPECTOR, action="post scans")
    return judge_check(db, request, settings=settings, now=now)


def judge_check(db: DirectConnection, request: ScanRequest, *, settings: Settings,
                now: dt.datetime | None = None) -> JudgedScan:
    """``judge_scan`` for whoever may scan: an inspector (the caller checked the role)
    or a consumer on the public page of a code (tracker.services.public)."""
    request = validate(request)
    parsed = read_code(request.code) if isinstance(request.code, str) else _not_a_code(request)
    item = identify(db, parsed)  # one statement: one state of the item
    handoff_rows: list[tuple[Any, ...]] = []
    if item.has_custody and item.gtin_matches:
        # The item and its hand-offs must come from one state of the database.
        with db.snapshot() as fresh:
            if fresh:
                item = identify(db, parsed)
            handoff_rows = db.rows(_HANDOFFS, {"key": item.key}) if item.has_custody else []
    received = now or utcnow()
    scanned_at, clock_flags = scan_time(request.scanned_at, received)
    index = territory_index(db)
    expected: list[str] = []
    handoffs: list[tuple[str, str]] = []
    last_custodian: str | None = None
    territories_of: dict[str, list[str]] = {}
    territory_code = item.batch.territory_code if item.batch is not None else ""

    def authorised(party: str) -> bool:
        return verdicts.party_is_authorised(index, territories_of.get(party, ()),
                                            territory_code)

    if item.batch is not None and item.gtin_matches:
        owner = item.batch.owner_party_id
        if owner:
            territories_of[owner] = list(item.owner_territories)
        moves: dict[int, tuple[str, str, str]] = {}
        for move_id, kind, sender, receiver, code in handoff_rows:
            moves[move_id] = (kind, sender, receiver)
            held = territories_of.setdefault(receiver, [])
            if code is not None and code not in held:
                held.append(code)
        handoffs = [(f, t) for kind, f, t in moves.values() if kind == "ship"]
        custodians = [p for p in [owner] if p] + [
            t for kind, _f, t in moves.values() if kind == "receive"]
        latest = verdicts.latest_authorised_custodian(custodians, authorised)
        expected = verdicts.expected_territories(
            index, territory_code, territories_of.get(latest, ()) if latest else None)
        last_custodian = (item.custodian if item.disposition is not None
                          else item.batch.owner_party_id)
    recalled = item.batch is not None and (
        item.batch.status is BatchStatus.RECALLED
        or item.disposition in WITHDRAWN)
    judge_inputs: dict[str, Any] = dict(
        index=index, latitude=request.latitude, longitude=request.longitude, at=scanned_at,
        accuracy_m=request.accuracy_m, tolerance_m=settings.border_tolerance_m,
        offshore_tolerance_m=settings.offshore_tolerance_m,
        clone_speed_kmh=settings.clone_speed_kmh, known=item.batch is not None,
        check_ok=parsed.serial_well_formed, gtin_matches=item.gtin_matches,
        recalled=recalled, expected_territories=expected)
    # The geometry now; the clone check needs the other scans, read under the write lock.
    place = verdicts.locate(index, latitude=request.latitude, longitude=request.longitude,
                            expected_territories=expected, accuracy_m=request.accuracy_m,
                            tolerance_m=settings.border_tolerance_m,
                            offshore_tolerance_m=settings.offshore_tolerance_m)
    # Only a scan outside the expected territories can be judged diverted.
    responsible = (verdicts.responsible_party(handoffs, authorised, last_custodian)
                   if item.batch is not None and item.gtin_matches and place.outside
                   else None)
    input_flags = device_flags(db, request, parsed, item)
    return JudgedScan(request, parsed, item, received, scanned_at, judge_inputs, place,
                      responsible, [f for f in INPUT_FLAGS if f in input_flags + clock_flags])


def store_scan(db: DirectConnection, judged: JudgedScan, *, actor: Actor, settings: Settings
               ) -> dict[str, Any]:
    """Write phase: the verdict, with the serial's other scans read once no other scan of
    it is being stored (so a clone racing in is not missed); store the scan, open or
    extend its violation."""
    request, item = judged.request, judged.item
    judgement = settle(db, judged, settings=settings)
    verdict = Verdict(judgement.verdict)
    responsible = judged.responsible if verdict is Verdict.DIVERTED else None
    expected = list(judgement.expected_territories)
    flags = list(judgement.flags) + judged.input_flags
    response = {
        "verdict": verdict.value,
        "near_border": judgement.near_border,
        "expected_territories": expected,
        "found_territory": judgement.found_territory,
        "responsible_party": responsible,
        "flags": flags,
        "serial": item.serial,
        "scanned_at": judged.scanned_at.isoformat(),
    }
    inserted = db.rows(_INSERT_SCAN, dict(
        client_scan_id=request.client_scan_id, inspector_id=actor.user_id,
        code=request.code[:2000], form=judged.parsed.form, gtin=judged.parsed.gtin,
        serial=item.serial, key=item.key, latitude=request.latitude,
        longitude=request.longitude, accuracy_m=request.accuracy_m,
        device_id=request.device_id, scanned_at=judged.scanned_at, received_at=judged.received,
        verdict=verdict, near_border=judgement.near_border, expected_territories=expected,
        found_territory=judgement.found_territory, responsible_party=responsible,
        violation_id=None, flags=flags, response=response,
    ))
    if not inserted:
        # The inspector sent this client_scan_id before: answer as the first time.
        earlier = _earlier(db, actor, request.client_scan_id or "")
        if earlier is None:
            raise RuntimeError(f"scan {request.client_scan_id!r} conflicted but is not stored")
        return earlier
    (scan_id,) = inserted[0]
    keep_for_clone_check(db, judged, scan_id, settings=settings)
    if verdict is Verdict.AUTHENTIC:
        return with_ids(response, scan_id, None)
    violation = violations.open_or_extend(db, finding=violations.Finding(
        key=item.key, serial=item.serial, gtin=judged.parsed.gtin, verdict=verdict.value,
        responsible_party=responsible, expected_territories=expected,
        found_territory=judgement.found_territory, scanned_at=judged.scanned_at),
        batch_id=item.batch.id if item.batch else None, now=judged.received)
    db.run(_SET_VIOLATION, {"scan": scan_id, "violation": violation.id})
    violations.attach(db, violation, scan_id=scan_id, actor=actor, now=judged.received)
    return with_ids(response, scan_id, violation.id)


def settle(db: DirectConnection, judged: JudgedScan, *, settings: Settings
           ) -> verdicts.Judgement:
    """The verdict, with the serial's other scans read once no other scan of it is being
    stored (the caller holds the write transaction)."""
    # Another scan of the item being stored right now is waited for, not missed. Every
    # scan with a place joins the item's clone frontier (keep_for_clone_check), read
    # here before the scan is stored.
    db.serialize(clone_frontier.lock_name(judged.item.key))
    point = verdicts.ScanPoint(judged.request.latitude, judged.request.longitude,
                               judged.scanned_at)
    # A scan whose time is not known (clock_skew) cannot imply a travel speed; an
    # unknown code's verdict needs none.
    judging = judged.item.batch is not None and "clock_skew" not in judged.input_flags
    judged.frontier = clone_frontier.read(db, judged.item.key, point, settings=settings,
                                          find_speed=judging)
    others: list[verdicts.ScanPoint] = []
    highest: float | None = None
    if judging:
        if judged.frontier.too_late:
            others = clone_frontier.nearby_scans(db, judged.item.key, judged.scanned_at,
                                                 settings)
        else:
            highest = judged.frontier.comparison.highest_speed_kmh
    return verdicts.judge(other_scans=others, place=judged.place,
                          highest_speed_kmh=highest, **judged.judge_inputs)


def with_ids(response: dict[str, Any], scan_id: int, violation_id: int | None
             ) -> dict[str, Any]:
    """The API's answer: the stored response with the scan's and violation's ids first."""
    return {"scan_id": scan_id, "violation_id": violation_id, **response}


def answer(scan: Scan) -> dict[str, Any]:
    return with_ids(dict(scan.response), scan.id, scan.violation_id)


def _not_a_code(request: ScanRequest) -> ParsedCode:
    raise InvalidInput(f"field 'code' must be a string, not {request.code!r}",
                       code="invalid_field")


def _earlier(db: DirectConnection, actor: Actor, client_scan_id: str
             ) -> dict[str, Any] | None:
    row = db.first(_EARLIER, {"inspector": actor.user_id, "client_scan_id": client_scan_id})
    return with_ids(dict(row[0]), row[1], row[2]) if row else None


def keep_for_clone_check(db: DirectConnection, judged: JudgedScan, scan_id: int, *,
                         settings: Settings) -> None:
    """Add a stored scan to its item's clone frontier, in the transaction that stored
    it, after ``settle`` compared it (``store_scan``, the public page's
    ``add_position``)."""
    if judged.frontier is None:
        raise RuntimeError("settle reads the clone frontier before a scan is kept in it")
    clone_frontier.keep(db, key=judged.item.key, point=verdicts.ScanPoint(
        judged.request.latitude, judged.request.longitude, judged.scanned_at),
        frontier=judged.frontier, scan_id=scan_id, settings=settings)
