"""What the public page of a code shows anyone, and the consumer check it records.

Anyone who scans the QR code on a pack lands on the page (``web.public``): whether the
code is genuine, the product it names, and how often and roughly where (city level) it
was checked before. Nothing about parties, shipments or custody leaves this module: the
page is open to anyone, counterfeiters included.

Each view records a *consumer check*: a scan with ``source = consumer``, no user, and no
position unless the person shares one from the page (``add_position``).

What the person is told (``public_verdict``), first that applies:

- ``unknown_code`` and ``recalled``, as the API says;
- ``suspected_clone`` when this check or any earlier scan of the serial was judged a
  clone: a fact about the code the person should know;
- ``authentic`` otherwise. A diverted item is genuine, and whether it is sold in its
  territory is not something a shopper can judge or act on: the person sees
  ``authentic`` while the check keeps its real verdict (``diverted``) for compliance.

Checks with a position count towards the travel-speed rule of every later scan of the
serial (``tracker.services.scans``). Whether a consumer check opens or extends violations
is ``Settings.consumer_violations``: off by default, because anyone can open the page
with any code and any position; then checks are signals compliance reads
(``consumer_signals``). A check without a position never becomes a violation's evidence:
evidence is a place and a time on the case's map.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.orm import Session

from tracker.config import Settings
from tracker.db import DirectConnection, Prepared, table, utcnow, write_transaction
from tracker.domain.codes import ParsedCode
from tracker.errors import Conflict, NotFound
from tracker.models import (
    Batch,
    BatchStatus,
    Product,
    Role,
    Scan,
    ScanSource,
    Territory,
    Verdict,
)
from tracker.services import rate_limits, scans, violations
from tracker.services.auth import Actor

__all__ = ["Check", "Located", "Place", "add_position", "consumer_signals", "look_up",
           "public_verdict", "record_check"]

# Earlier checks listed on the page, newest first.
RECENT_PLACES = 5
# Degrees a position is rounded to when no territory holds it (0.1° is about 11 km).
ROUND_DEGREES = 1
# Who the audit trail names when a consumer check opens or extends a violation.
# (Its role is never asked: consumer checks go through judge_check, which needs none.)
CONSUMER = Actor(name="public page", role=Role.INSPECTOR)

_scan, _product, _batch = table(Scan).c, table(Product).c, table(Batch).c
_territory = table(Territory).c
_PRODUCT = Prepared(select(_product.name).where(_product.gtin == bindparam("gtin")))
_BATCH = Prepared(select(_batch.lot, _batch.expiry).where(_batch.id == bindparam("id")))
_HISTORY = Prepared(select(
    func.count(), func.coalesce(func.sum(case(
        (_scan.verdict == Verdict.SUSPECTED_CLONE.value, 1), else_=0)), 0))
    .where(_scan.key == bindparam("key")))
_RECENT = Prepared(
    select(_scan.scanned_at, _scan.found_territory, _scan.latitude, _scan.longitude)
    .where(_scan.key == bindparam("key"))
    .order_by(_scan.scanned_at.desc(), _scan.id.desc()).limit(RECENT_PLACES))
_NAMES = Prepared(select(_territory.name, _territory.properties)
                  .where(_territory.code == bindparam("code")))
_CHECK_COLUMNS = ("code", "form", "gtin", "serial", "key", "source", "scanned_at",
                  "received_at", "verdict", "near_border", "expected_territories",
                  "found_territory", "flags", "response")
_INSERT_CHECK = Prepared(table(Scan).insert().returning(_scan.id), columns=_CHECK_COLUMNS)
_CHECK = Prepared(select(_scan.code, _scan.key, _scan.latitude, _scan.scanned_at)
                  .where(_scan.id == bindparam("id"),
                         _scan.source == ScanSource.CONSUMER.value))
_PLACE_CHECK = Prepared(
    update(table(Scan))
    .where(_scan.id == bindparam("id"), _scan.latitude.is_(None))
    .values(latitude=bindparam("latitude"), longitude=bindparam("longitude"),
            accuracy_m=bindparam("accuracy_m"), verdict=bindparam("verdict"),
            near_border=bindparam("near_border"),
            expected_territories=bindparam("expected_territories"),
            found_territory=bindparam("found_territory"),
            responsible_party=bindparam("responsible_party"), flags=bindparam("flags"),
            response=bindparam("response"))
    .returning(_scan.id))
_SET_VIOLATION = Prepared(update(table(Scan)).where(_scan.id == bindparam("scan"))
                          .values(violation_id=bindparam("violation")))


@dataclass(frozen=True)
class Place:
    """Where a check was made, at city level: the most specific territory that holds the
    point (with its names), or the point rounded; neither when no position was shared."""

    territory: str | None = None
    name: str | None = None
    name_zh: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class EarlierCheck:
    at: dt.datetime
    place: Place


@dataclass(frozen=True)
class Check:
    """What the public page shows of a code: never a party, shipment or custody detail."""

    gtin: str | None
    serial: str
    product: str | None
    lot: str | None
    expiry: dt.date | None
    verdict: str  # the public verdict (module docstring)
    checks_before: int
    earlier: tuple[EarlierCheck, ...]
    # Facts for recording the check; not shown.
    stored_verdict: Verdict
    flags: tuple[str, ...]
    key: str
    form: str
    clone_seen: bool


@dataclass(frozen=True)
class Located:
    """The answer to a shared position: the public verdict and where the check was."""

    check_id: int
    verdict: str
    place: Place


def public_verdict(stored: Verdict | str, *, clone_seen: bool) -> str:
    """What a person is told, from the scan's verdict (module docstring).

    >>> public_verdict("diverted", clone_seen=False)
    'authentic'
    >>> public_verdict("authentic", clone_seen=True)
    'suspected_clone'
    >>> public_verdict("recalled", clone_seen=True)
    'recalled'
    """
    stored = Verdict(stored)
    if stored in (Verdict.UNKNOWN_CODE, Verdict.RECALLED, Verdict.SUSPECTED_CLONE):
        return stored.value
    return Verdict.SUSPECTED_CLONE.value if clone_seen else Verdict.AUTHENTIC.value


def visit(session: Session, parsed: ParsedCode | None, *, code: str, client: str,
          limit: rate_limits.Limit, record: bool = True
          ) -> tuple[rate_limits.Decision, Check | None, int | None]:
    """One view of the public page of ``code``: what it shows (``parsed``; None when the
    code cannot be read or only its links are asked for), counted against ``client``'s
    limit and, when allowed and ``record``, stored as a consumer check (its id). The
    reads run outside any transaction, the count and the check in one that writes
    (``DirectConnection.for_session``: the hot path's own connection)."""
    with DirectConnection.for_session(session) as db:
        check = look_up(db, parsed) if parsed is not None else None
        with write_transaction(db):
            decision = rate_limits.hit(db, f"public:{client}", limit)
            check_id = (record_check(db, check, code=code)
                        if decision.allowed and check is not None and record else None)
    return decision, check, check_id


def place_check(session: Session, check_id: int, *, latitude: Any, longitude: Any,
                accuracy_m: Any, client: str, limit: rate_limits.Limit, settings: Settings
                ) -> tuple[rate_limits.Decision, Located | None]:
    """A position shared for a recorded check: counted against ``client``'s limit (the
    count stands even when the position is refused), then judged outside any
    transaction and stored with its verdict (``add_position``)."""
    with DirectConnection.for_session(session) as db:
        with write_transaction(db):
            decision = rate_limits.hit(db, f"public:{client}", limit)
        if not decision.allowed:
            return decision, None
        judged = judge_position(db, check_id, latitude=latitude, longitude=longitude,
                                accuracy_m=accuracy_m, settings=settings)
        with write_transaction(db):
            return decision, add_position(db, check_id, judged, settings=settings)


def look_up(db: DirectConnection, parsed: ParsedCode) -> Check:
    """What the page shows of an item's code (``parsed`` names a GTIN and a serial).
    Reads only; ``record_check`` stores the check."""
    item = scans.identify(db, parsed)
    assert item.serial is not None
    known = item.batch is not None and item.gtin_matches and parsed.serial_well_formed
    flags: list[str] = []
    if item.batch is None:
        flags.append("never_issued")
    if not parsed.serial_well_formed:
        flags.append("bad_check_character")
    if item.batch is not None and not item.gtin_matches:
        flags.append("gtin_mismatch")
    # The contract's rules 1 and 2; the travel-speed rule and diversion need a position.
    recalled = known and item.batch is not None and (
        item.batch.status is BatchStatus.RECALLED or item.disposition in scans.WITHDRAWN)
    if recalled:
        flags.append("recalled")
    stored = (Verdict.UNKNOWN_CODE if not known else
              Verdict.RECALLED if recalled else Verdict.AUTHENTIC)
    gtin = item.batch.gtin if known and item.batch is not None else parsed.gtin
    product = db.first(_PRODUCT, {"gtin": gtin}) if gtin else None
    batch = (db.first(_BATCH, {"id": item.batch.id})
             if known and item.batch is not None else None)
    count, clones = db.first(_HISTORY, {"key": item.key}) or (0, 0)
    earlier = tuple(EarlierCheck(at, _place(db, territory, latitude, longitude))
                    for at, territory, latitude, longitude in db.rows(_RECENT,
                                                                      {"key": item.key}))
    return Check(gtin=gtin, serial=item.serial, product=product[0] if product else None,
                 lot=batch[0] if batch else None, expiry=batch[1] if batch else None,
                 verdict=public_verdict(stored, clone_seen=bool(clones)),
                 checks_before=int(count), earlier=earlier, stored_verdict=stored,
                 flags=tuple(flags), key=item.key, form=parsed.form,
                 clone_seen=bool(clones))


def record_check(db: DirectConnection, check: Check, *, code: str,
                 now: dt.datetime | None = None) -> int:
    """Store the check as a consumer scan without a position; its id. Runs in the
    caller's write transaction."""
    now = now or utcnow()
    response = {"verdict": check.stored_verdict.value, "near_border": False,
                "expected_territories": [], "found_territory": None,
                "responsible_party": None, "flags": list(check.flags),
                "serial": check.serial, "scanned_at": now.isoformat(),
                "source": ScanSource.CONSUMER.value}
    (check_id,) = db.rows(_INSERT_CHECK, dict(
        code=code[:2000], form=check.form, gtin=check.gtin, serial=check.serial,
        key=check.key, source=ScanSource.CONSUMER, scanned_at=now, received_at=now,
        verdict=check.stored_verdict, near_border=False, expected_territories=[],
        found_territory=None, flags=list(check.flags), response=response))[0]
    return int(check_id)


def judge_position(db: DirectConnection, check_id: int, *, latitude: Any, longitude: Any,
                   accuracy_m: Any, settings: Settings, now: dt.datetime | None = None
                   ) -> scans.JudgedScan:
    """Read phase of ``add_position``: the check judged at the position the person
    shared, as an inspector's scan of it at the same moment would be (bad numbers are
    refused with the scan path's own messages)."""
    row = db.first(_CHECK, {"id": check_id})
    if row is None:
        raise NotFound(f"there is no consumer check {check_id}", code="no_such_check")
    code, _key, placed, scanned_at = row
    if placed is not None:
        raise Conflict("this check already has a position", code="position_given")
    request = scans.ScanRequest(code=code, latitude=latitude, longitude=longitude,
                                accuracy_m=accuracy_m, scanned_at=scanned_at)
    return scans.judge_check(db, request, settings=settings, now=now)


def add_position(db: DirectConnection, check_id: int, judged: scans.JudgedScan, *,
                 settings: Settings) -> Located:
    """Write phase: the check's position and its verdict there, the travel-speed rule
    applied against the serial's other scans; a violation opened or extended only when
    ``settings.consumer_violations`` says so. Runs in the caller's write transaction."""
    judgement = scans.settle(db, judged, settings=settings)
    verdict = Verdict(judgement.verdict)
    item, request = judged.item, judged.request
    responsible = judged.responsible if verdict is Verdict.DIVERTED else None
    response = {"verdict": verdict.value, "near_border": judgement.near_border,
                "expected_territories": list(judgement.expected_territories),
                "found_territory": judgement.found_territory,
                "responsible_party": responsible, "flags": list(judgement.flags),
                "serial": item.serial, "scanned_at": judged.scanned_at.isoformat(),
                "source": ScanSource.CONSUMER.value}
    placed = db.rows(_PLACE_CHECK, dict(
        id=check_id, latitude=request.latitude, longitude=request.longitude,
        accuracy_m=request.accuracy_m, verdict=verdict, near_border=judgement.near_border,
        expected_territories=list(judgement.expected_territories),
        found_territory=judgement.found_territory, responsible_party=responsible,
        flags=list(judgement.flags), response=response))
    if not placed:
        raise Conflict("this check already has a position", code="position_given")
    scans.keep_for_clone_check(db, judged, check_id, settings=settings)
    if settings.consumer_violations and verdict is not Verdict.AUTHENTIC:
        violation = violations.open_or_extend(db, finding=violations.Finding(
            key=item.key, serial=item.serial, gtin=judged.parsed.gtin, verdict=verdict.value,
            responsible_party=responsible,
            expected_territories=list(judgement.expected_territories),
            found_territory=judgement.found_territory, scanned_at=judged.scanned_at),
            batch_id=item.batch.id if item.batch else None, now=judged.received)
        db.run(_SET_VIOLATION, {"scan": check_id, "violation": violation.id})
        violations.attach(db, violation, scan_id=check_id, actor=CONSUMER,
                          now=judged.received)
    clones = (db.first(_HISTORY, {"key": item.key}) or (0, 0))[1]
    return Located(check_id, public_verdict(verdict, clone_seen=bool(clones)),
                   _place(db, judgement.found_territory, request.latitude,
                          request.longitude))


@dataclass(frozen=True)
class ConsumerSignals:
    """Consumer checks of a serial, for compliance: how many, how many with a position,
    and how many of those lay outside the expected territories (``diverted``)."""

    checks: int
    located: int
    outside: int


def consumer_signals(session: Session, key: str) -> ConsumerSignals:
    row = session.execute(
        select(func.count(), func.count(Scan.latitude),
               func.coalesce(func.sum(case((Scan.verdict == Verdict.DIVERTED, 1), else_=0)), 0))
        .where(Scan.key == key, Scan.source == ScanSource.CONSUMER)).one()
    return ConsumerSignals(int(row[0]), int(row[1]), int(row[2]))


def _place(db: DirectConnection, territory: str | None, latitude: float | None,
           longitude: float | None) -> Place:
    if territory is not None:
        names = db.first(_NAMES, {"code": territory})
        name, properties = names if names else (territory, {})
        return Place(territory=territory, name=name,
                     name_zh=(properties or {}).get("name_zh"))
    if latitude is None or longitude is None:
        return Place()
    return Place(latitude=round(latitude, ROUND_DEGREES),
                 longitude=round(longitude, ROUND_DEGREES))
