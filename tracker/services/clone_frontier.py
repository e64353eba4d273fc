"""The clone frontier: what the travel-speed rule needs of an item's scans, kept bounded.

The travel-speed rule compares a scan with every other scan of its item within reach
in time; read from ``scans``, a code scanned thousands of times (a copied label) would
make each of its scans slower. ``clone_frontier`` keeps, per item, the few scans that
can still decide the rule (tracker.domain.verdicts, above compare_kept): a scan
arriving in time order reads the item's live rows (superseded_at IS NULL) only, and
then supersedes those it can be reached from and adds its own. A superseded row is
kept LATE_GRACE longer, so a scan up to LATE_GRACE late finds the scans that were
live at its time (a row superseded after that time; the rows of later scans are all
there). A scan later than that reads the item's scans from ``scans`` as before.

Who can be late: the public page's checks carry the page's server time and take a
position for at most web.public.POSITION_TOKEN_SECONDS (a quarter of an hour, within
LATE_GRACE); a device's clock may run ``scans.MAX_CLOCK_AHEAD`` fast. Only an authenticated
inspector can send a time further back (an offline queue), so only inspectors can
make a scan read an item's scans without bound.

Invariants, per item: every positioned scan no older than the latest's time less
the window and LATE_GRACE has a row unless it was superseded more than LATE_GRACE
before the latest scan's time; ``superseded_at`` is always the time of a stored scan
that can be reached from the row's; the latest scan's row is live; all rows carry the
speed limit they were compared with. An item with scans but no rows (scans stored before
migration 0010, or by other means), or with rows of another speed limit, starts again
from its recent scans (``start``: once per item, a cost in proportion to them).
Every change happens under the item's serialize lock, in the scan's transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from tracker.config import Settings
from tracker.db import DirectConnection, Prepared, table
from tracker.domain import verdicts
from tracker.models import CloneFrontier, Scan

# Half the Earth's circumference: no two scans are farther apart.
MAX_SURFACE_KM = 20_037.5

_scan = table(Scan).c

# Scans without a position (a consumer's check whose person shared none) cannot feed
# the travel-speed rule. Every scan within reach in time, however many: a scan left out
# could be the one that proves a clone. Read only by scans that arrive late (the clone
# frontier, below).
_NEARBY = Prepared(
    select(_scan.latitude, _scan.longitude, _scan.scanned_at)
    .where(_scan.key == bindparam("key"), _scan.scanned_at >= bindparam("since"),
           _scan.scanned_at <= bindparam("until"), _scan.latitude.is_not(None))
)


def nearby_scans(db: DirectConnection, key: str, at: dt.datetime, settings: Settings
                 ) -> list[verdicts.ScanPoint]:
    """The item's scans within reach in time of ``at``, read from ``scans``: for a scan
    too late for the frontier."""
    window = _window(settings)
    rows = db.rows(_NEARBY, {"key": key, "since": at - window, "until": at + window})
    return [verdicts.ScanPoint(lat, lon, when) for lat, lon, when in rows]


# How late a scan may arrive and still be judged from the frontier.
LATE_GRACE = dt.timedelta(hours=1)

_kept = table(CloneFrontier).c
_KEPT_COLUMNS = (_kept.id, _kept.latitude, _kept.longitude, _kept.scanned_at,
                 _kept.superseded_at, _kept.clone_speed_kmh)
_LIVE = Prepared(select(*_KEPT_COLUMNS).where(_kept.key == bindparam("key"),
                                              _kept.superseded_at.is_(None)))
_SUPERSEDED_AFTER = Prepared(select(*_KEPT_COLUMNS).where(
    _kept.key == bindparam("key"), _kept.superseded_at > bindparam("after")))
_ALL_KEPT = Prepared(select(*_KEPT_COLUMNS).where(_kept.key == bindparam("key")))
_LATEST = Prepared(select(_scan.scanned_at)
                   .where(_scan.key == bindparam("key"), _scan.latitude.is_not(None))
                   .order_by(_scan.scanned_at.desc()).limit(1))
_KEEP = Prepared(insert(table(CloneFrontier)), columns=(
    "key", "scan_id", "latitude", "longitude", "scanned_at", "superseded_at",
    "clone_speed_kmh"))
_SUPERSEDE = Prepared(update(table(CloneFrontier)).where(_kept.id == bindparam("id"))
                      .values(superseded_at=bindparam("at")))
_FORGET = Prepared(delete(table(CloneFrontier)).where(
    _kept.key == bindparam("key"), _kept.superseded_at < bindparam("before")))
_FORGET_ALL = Prepared(delete(table(CloneFrontier)).where(_kept.key == bindparam("key")))
# An item's recent scans in time order: what its frontier starts from.
_RECENT = Prepared(select(_scan.id, _scan.latitude, _scan.longitude, _scan.scanned_at)
                   .where(_scan.key == bindparam("key"), _scan.latitude.is_not(None),
                          _scan.scanned_at >= bindparam("since"))
                   .order_by(_scan.scanned_at, _scan.id))


@dataclass
class Frontier:
    """What the write phase read of an item's frontier for one scan."""

    comparison: verdicts.Comparison
    # The scan came in time order after other rows: it forgets those superseded long
    # enough ago.
    forget: bool
    # Too late for the frontier to judge it: the judgement reads ``scans``.
    too_late: bool
    # The scan needs a row of its own (not when older than every row could be needed).
    keep: bool


def _window(settings: Settings) -> dt.timedelta:
    """How far apart in time two scans can imply a speed above the limit."""
    return dt.timedelta(hours=MAX_SURFACE_KM / settings.clone_speed_kmh)


def _kept_scans(rows: list[tuple[Any, ...]]) -> list[verdicts.KeptScan]:
    return [verdicts.KeptScan(row_id, verdicts.ScanPoint(lat, lon, at), superseded)
            for row_id, lat, lon, at, superseded, _speed in rows]


def read(db: DirectConnection, key: str, point: verdicts.ScanPoint, *,
                  settings: Settings, find_speed: bool = True) -> Frontier:
    """The item's frontier compared with a new scan (not stored yet; ``find_speed``:
    the highest speed it implies is needed); the caller holds the item's serialize
    lock. May start the item's rows again (module note)."""
    speed, at = settings.clone_speed_kmh, point.at
    window = _window(settings)
    live = db.rows(_LIVE, {"key": key})
    if not live or any(row[5] != speed for row in live):
        latest = db.first(_LATEST, {"key": key})
        if live or (latest is not None and latest[0] >= at - window - LATE_GRACE):
            start(db, key, max(latest[0], at) if latest is not None else at,
                           settings=settings)
            live = db.rows(_LIVE, {"key": key})
    newest = max((row[3] for row in live), default=None)
    if newest is None or at >= newest:
        rows, forget, too_late = live, newest is not None, False
    elif at >= newest - LATE_GRACE:
        rows = live + db.rows(_SUPERSEDED_AFTER, {"key": key, "after": at})
        forget, too_late = False, False
    else:
        # Too late: the comparison only decides what the scan supersedes, and what
        # supersedes it; the judgement reads the item's scans.
        rows, forget, too_late = db.rows(_ALL_KEPT, {"key": key}), False, True
    keep = newest is None or at >= newest - window - LATE_GRACE
    return Frontier(verdicts.compare_kept(point, _kept_scans(rows), speed,
                                          find_speed=find_speed and not too_late),
                    forget, too_late, keep)


def start(db: DirectConnection, key: str, newest: dt.datetime, *,
                   settings: Settings) -> None:
    """Build the item's frontier afresh from its stored scans, as if they had arrived
    in time order (``newest``: the latest time the item's rows must serve, at least its
    latest scan's). The caller holds the item's serialize lock; also for a bulk load
    of scans (bench/scan_bench.py)."""
    speed, window = settings.clone_speed_kmh, _window(settings)
    db.run(_FORGET_ALL, {"key": key})
    live: dict[int, verdicts.KeptScan] = {}
    rows: list[dict[str, Any]] = []
    for scan_id, lat, lon, at in db.rows(_RECENT, {"key": key,
                                                   "since": newest - window - LATE_GRACE}):
        point = verdicts.ScanPoint(lat, lon, at)
        comparison = verdicts.compare_kept(point, live.values(), speed, find_speed=False)
        for gone in comparison.supersede:
            old = live.pop(gone).point
            rows.append({"key": key, "scan_id": gone, "latitude": old.lat,
                         "longitude": old.lon, "scanned_at": old.at, "superseded_at": at,
                         "clone_speed_kmh": speed})
        if comparison.superseded_at is None:
            live[scan_id] = verdicts.KeptScan(scan_id, point, None)
        else:
            rows.append({"key": key, "scan_id": scan_id, "latitude": lat, "longitude": lon,
                         "scanned_at": at, "superseded_at": comparison.superseded_at,
                         "clone_speed_kmh": speed})
    rows = [row for row in rows if row["superseded_at"] >= newest - LATE_GRACE] + [
        {"key": key, "scan_id": scan_id, "latitude": kept.point.lat,
         "longitude": kept.point.lon, "scanned_at": kept.point.at, "superseded_at": None,
         "clone_speed_kmh": speed} for scan_id, kept in live.items()]
    db.run_many(_KEEP, rows)


def keep(db: DirectConnection, *, key: str, point: verdicts.ScanPoint, frontier: Frontier,
         scan_id: int, settings: Settings) -> None:
    """Add a stored scan with a position to its item's frontier, in the transaction
    that stored it, after ``read`` compared it (``frontier``)."""
    if not frontier.keep:
        return
    db.run_many(_SUPERSEDE, [{"id": row_id, "at": point.at}
                               for row_id in frontier.comparison.supersede])
    db.run(_KEEP, {"key": key, "scan_id": scan_id, "latitude": point.lat,
                   "longitude": point.lon, "scanned_at": point.at,
                   "superseded_at": frontier.comparison.superseded_at,
                   "clone_speed_kmh": settings.clone_speed_kmh})
    # Rows are superseded only here: forgetting the old ones each time some are keeps
    # their number bounded without a statement for scans that supersede none.
    if frontier.forget and frontier.comparison.supersede:
        db.run(_FORGET, {"key": key, "before": point.at - LATE_GRACE})


def lock_name(key: str) -> str:
    """What the scans of one item serialize on while one is judged and stored."""
    return f"scans of {key}"
