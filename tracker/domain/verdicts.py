"""The verdict on a field scan, and who answers for a diverted item, as pure rules.

The service gathers the facts from the database (is the serial issued, recalled, where
was it scanned before, who held it) and calls these functions; nothing here reads a
session or a clock, so every rule is tested on plain values.

The verdict is the first rule that applies (contract, "Field scans and verdicts"):

1. ``unknown_code`` — never issued, wrong check character, or GTIN of another product;
2. ``recalled`` — the serial or its batch is recalled, destroyed or reported stolen;
3. ``suspected_clone`` — another scan of the serial implies travel faster than
   ``clone_speed_kmh``;
4. ``diverted`` — outside the expected territories and farther than
   ``max(accuracy_m, tolerance_m)`` from their boundary (closer: ``near_border``, no
   violation). A point that no territory holds (at sea, in a gap of a coarse map) is
   allowed ``offshore_tolerance_m`` as well: a 1:50m map's coast runs kilometres off the
   real one. It is 0 unless set, because with maps that leave places out (a China map
   without Hong Kong) it would excuse a diversion into them;
5. ``authentic``.

``Judgement.flags`` lists facts for compliance, from a fixed vocabulary, in this order,
each at most once. A flag states a fact whether or not it decided the verdict (a recalled
item scanned abroad carries ``recalled`` and ``outside_expected``):

``never_issued``
    no issued serial matches the code.
``bad_check_character``
    the serial's check character does not match its other characters.
``gtin_mismatch``
    the serial was issued for another product than the GTIN in the code.
``recalled``
    the serial or its batch is recalled, destroyed or reported stolen.
``clone_speed_exceeded``
    another scan of the serial implies travel faster than ``clone_speed_kmh``; it is
    followed by ``speed_kmh=N``, the highest such speed in whole km/h (``inf`` for two
    places at the same instant).
``outside_expected``
    the point lies outside the expected territories, farther from them than the allowed
    ``max(accuracy_m, tolerance_m)``.
``near_border``
    the point lies outside the expected territories but within that allowance.
``no_expected_area``
    none of the expected territories has an area (an unknown code, or a region with no
    children), so diversion cannot be judged and is not claimed.

An ``unknown_code`` gets only the first three: it has no batch, so nothing else applies.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from geopy.distance import geodesic

from tracker.domain.territory_index import SPHERE_MARGIN, TerritoryIndex, spherical_km

__all__ = [
    "DEFAULT_CLONE_SPEED_KMH",
    "FLAGS",
    "Comparison",
    "Judgement",
    "KeptScan",
    "Place",
    "ScanPoint",
    "Verdict",
    "compare_kept",
    "expected_territories",
    "judge",
    "latest_authorised_custodian",
    "locate",
    "may_exceed_speed",
    "party_is_authorised",
    "responsible_party",
    "travel_speed_kmh",
]

DEFAULT_CLONE_SPEED_KMH = 1000.0

# The flag vocabulary, in the order flags are listed ("speed_kmh=N" follows
# "clone_speed_exceeded").
FLAGS = (
    "never_issued",
    "bad_check_character",
    "gtin_mismatch",
    "recalled",
    "clone_speed_exceeded",
    "outside_expected",
    "near_border",
    "no_expected_area",
)

_GEODESIC = geodesic()  # one instance: building one per call costs as much as measuring


class Verdict(enum.StrEnum):
    """The verdict words of the API, also the values stored in ``scans.verdict``."""

    UNKNOWN_CODE = "unknown_code"
    RECALLED = "recalled"
    SUSPECTED_CLONE = "suspected_clone"
    DIVERTED = "diverted"
    AUTHENTIC = "authentic"


@dataclass(frozen=True)
class ScanPoint:
    """Where and when a serial was scanned: WGS84 degrees and a timezone-aware instant."""

    lat: float
    lon: float
    at: dt.datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"scan time {self.at.isoformat()} has no timezone")
        _check_point(self.lat, self.lon)


@dataclass(frozen=True)
class Judgement:
    """The verdict on one scan and the facts behind it (see the module's flag list)."""

    verdict: Verdict
    near_border: bool
    expected_territories: list[str]
    found_territory: str | None
    flags: list[str]


def travel_speed_kmh(a: ScanPoint, b: ScanPoint) -> float:
    """The speed implied by two scans: geodesic kilometres per hour between them.

    Two different places at the same instant give ``math.inf``; the same place, 0.

    >>> import datetime as dt
    >>> t = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    >>> round(travel_speed_kmh(ScanPoint(0.0, 0.0, t),
    ...                        ScanPoint(0.0, 1.0, t + dt.timedelta(hours=2))), 3)
    55.66
    """
    km = _GEODESIC.measure((a.lat, a.lon), (b.lat, b.lon))
    hours = abs((b.at - a.at).total_seconds()) / 3600.0
    if hours == 0.0:
        return math.inf if km > 0.0 else 0.0
    return km / hours


def may_exceed_speed(a: ScanPoint, b: ScanPoint, limit_kmh: float) -> bool:
    """False only when the two scans certainly imply no speed above ``limit_kmh``: a
    pair whose spherical speed is more than the sphere's margin below the limit cannot
    exceed it, and skips the (costly) exact measure."""
    hours = abs((b.at - a.at).total_seconds()) / 3600.0
    if hours == 0.0:
        return True
    return spherical_km(a.lat, a.lon, b.lat, b.lon) * SPHERE_MARGIN >= limit_kmh * hours


# --- which earlier scans can still decide the travel-speed rule ------------------------
#
# With v the speed limit and d the geodesic distance (a metric), say a scan q' can be
# reached from q (q <= q') when t(q) <= t(q') and d(q, q') <= v * (t(q') - t(q)). For a
# scan p no earlier than q': if speed(p, q) = s > v then speed(p, q') > s, or equals it
# when q' is q's place and time. Proof: d(p, q') >= d(p, q) - d(q, q')
# >= s * (t - t(q)) - v * (t(q') - t(q)) > s * (t - t(q')) when t(q') > t(q).
# The relation is transitive, so for scans arriving in time order only the scans from
# which no later scan can be reached (the item's frontier) matter, and only those within
# half the earth's circumference / v of the new scan in time (farther apart, no speed
# can exceed v): the highest speed above v, hence the verdict and its ``speed_kmh=N``
# flag, is the same over the frontier as over every scan.

# A scan is taken as reachable only with this relative room to spare, so that rounding
# in the geodesic measure never drops a scan that is not: a row kept too many costs a
# comparison, a row dropped wrongly could hide a clone.
REACH_SLACK = 1e-9


@dataclass(frozen=True)
class KeptScan:
    """A scan kept for the travel-speed rule: its place and time, and ``superseded_at``,
    the time of a later scan that can be reached from it (None while none is known)."""

    id: int
    point: ScanPoint
    superseded_at: dt.datetime | None


@dataclass(frozen=True)
class Comparison:
    """A new scan against kept scans: the highest speed above the limit they imply (0.0
    when none does; what ``judge`` takes as ``highest_speed_kmh``), the kept scans the
    new one supersedes (their ids; the new scan's time is their ``superseded_at``), and
    when the new scan is superseded itself (a kept scan at its time or later can be
    reached from it), or None."""

    highest_speed_kmh: float
    supersede: list[int]
    superseded_at: dt.datetime | None


def compare_kept(scan: ScanPoint, kept: Iterable[KeptScan], limit_kmh: float, *,
                 find_speed: bool = True) -> Comparison:
    """Compare a new scan with kept scans of the same serial (the rule above); with
    ``find_speed`` False, only which scans supersede which (``highest_speed_kmh`` 0.0).

    A kept scan at the new scan's time and place supersedes the new one, not the other
    way round, so one of the two stays. A kept scan already superseded at or before the
    new scan's time stays as it is. The exact (costly) measure is taken only where the
    spherical one leaves the answer open: whether a scan can be reached, and which of
    the scans above the limit implies the highest speed.

    >>> import datetime as dt
    >>> t = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> beijing = KeptScan(1, ScanPoint(39.9, 116.4, t), None)
    >>> guangzhou = KeptScan(2, ScanPoint(23.1, 113.3, t + dt.timedelta(minutes=30)), None)
    >>> later = compare_kept(ScanPoint(39.9, 116.4, t + dt.timedelta(hours=1)),
    ...                      [beijing, guangzhou], 1000.0)
    >>> round(later.highest_speed_kmh), later.supersede, later.superseded_at
    (3771, [1], None)
    """
    supersede: list[int] = []
    superseded_at: dt.datetime | None = None
    # Scans certainly above the limit: (least, most) the speed can be, and the scan.
    above: list[tuple[float, float, ScanPoint]] = []
    for row in kept:
        other = row.point
        hours = abs((other.at - scan.at).total_seconds()) / 3600.0
        km = spherical_km(scan.lat, scan.lon, other.lat, other.lon)
        if hours == 0.0 or km / SPHERE_MARGIN <= limit_kmh * hours:
            # Open, or certainly within the limit (may_exceed_speed says False):
            # the speed decides, measured as judge would.
            if may_exceed_speed(scan, other, limit_kmh):
                speed = travel_speed_kmh(scan, other)
                if speed > limit_kmh:
                    above.append((speed, speed, other))
                reachable = speed <= limit_kmh * (1.0 - REACH_SLACK)
            else:
                reachable = True
        else:
            above.append((km / SPHERE_MARGIN / hours, km * SPHERE_MARGIN / hours, other))
            reachable = False
        if not reachable:
            continue
        if other.at < scan.at:
            if row.superseded_at is None or row.superseded_at > scan.at:
                supersede.append(row.id)
        elif superseded_at is None or other.at < superseded_at:
            superseded_at = other.at
    # Only a scan whose speed may exceed every other's least can be the highest.
    floor = max((least for least, _most, _point in above), default=0.0)
    highest = max((most if least == most else travel_speed_kmh(scan, point)
                   for least, most, point in above if most >= floor and find_speed),
                  default=0.0)
    return Comparison(highest, supersede, superseded_at)


def judge(
    index: TerritoryIndex,
    *,
    latitude: float,
    longitude: float,
    at: dt.datetime,
    known: bool,
    check_ok: bool = True,
    gtin_matches: bool = True,
    recalled: bool = False,
    other_scans: Sequence[ScanPoint] = (),
    expected_territories: Sequence[str] = (),
    accuracy_m: float | None = None,
    clone_speed_kmh: float = DEFAULT_CLONE_SPEED_KMH,
    tolerance_m: float = 0.0,
    offshore_tolerance_m: float = 0.0,
    place: Place | None = None,
    highest_speed_kmh: float | None = None,
) -> Judgement:
    """The verdict on a scan at (latitude, longitude) at the aware instant ``at``,
    applying the contract's rules in order.

    ``known``: an issued serial matches the code. ``check_ok``: its check character is
    right. ``gtin_matches``: the code's GTIN is the serial's product (ignored when not
    ``known``). ``recalled``: the batch is recalled or the serial's disposition is
    recalled, destroyed or stolen. ``other_scans``: other scans of the same serial, before
    or after this one. ``expected_territories``: where the item is expected (the function
    ``expected_territories`` computes them). ``accuracy_m``: the scan's GPS accuracy
    radius, None when not given. ``offshore_tolerance_m``: the allowance of a point that
    no territory holds (module docstring, rule 4). ``place``: what ``locate`` says for the
    same point, expected territories, accuracy and tolerances, when the caller has it.
    ``highest_speed_kmh``: the highest speed above the limit that other scans imply (0.0
    when none does), when the caller found it (``compare_kept``); it stands for
    ``other_scans``.
    """
    scan = ScanPoint(latitude, longitude, at)
    _check_allowance(accuracy_m, tolerance_m, offshore_tolerance_m)
    found = place.found if place is not None else index.most_specific(scan.lon, scan.lat)
    flags: list[str] = []

    if not known:
        flags.append("never_issued")
    if not check_ok:
        flags.append("bad_check_character")
    if known and not gtin_matches:
        flags.append("gtin_mismatch")
    if flags:
        return Judgement(Verdict.UNKNOWN_CODE, False, [], found, flags)

    # (The parameter shares the function's name, as the service calls it; the function
    # is not needed here.)
    expected_codes = sorted(set(expected_territories))
    if recalled:
        flags.append("recalled")

    speed = highest_speed_kmh if highest_speed_kmh is not None else max(
        (travel_speed_kmh(scan, other) for other in other_scans
         if may_exceed_speed(scan, other, clone_speed_kmh)), default=0.0)
    cloned = speed > clone_speed_kmh
    if cloned:
        shown = "inf" if math.isinf(speed) else str(round(speed))
        flags += ["clone_speed_exceeded", f"speed_kmh={shown}"]

    if place is None:
        place = Place(found, *_against_boundary(
            index, expected_codes, scan.lon, scan.lat,
            _allowance(found, accuracy_m, tolerance_m, offshore_tolerance_m)))
    flags += place.flags

    if recalled:
        verdict = Verdict.RECALLED
    elif cloned:
        verdict = Verdict.SUSPECTED_CLONE
    elif place.outside:
        verdict = Verdict.DIVERTED
    else:
        verdict = Verdict.AUTHENTIC
    return Judgement(verdict, place.near_border, expected_codes, found, flags)


@dataclass(frozen=True)
class Place:
    """Where a scan lies: its most specific territory and how it stands against the
    expected territories. The geometric, costly part of a verdict, which needs no other
    scan: a service works it out before taking the write lock."""

    found: str | None
    outside: bool
    near_border: bool
    no_expected_area: bool

    @property
    def flags(self) -> list[str]:
        return ([name for name, on in (("outside_expected", self.outside),
                                       ("near_border", self.near_border),
                                       ("no_expected_area", self.no_expected_area)) if on])


def locate(index: TerritoryIndex, *, latitude: float, longitude: float,
           expected_territories: Sequence[str], accuracy_m: float | None = None,
           tolerance_m: float = 0.0, offshore_tolerance_m: float = 0.0) -> Place:
    """The place part of ``judge`` (same arguments, same meaning)."""
    _check_allowance(accuracy_m, tolerance_m, offshore_tolerance_m)
    _check_point(latitude, longitude)
    found = index.most_specific(longitude, latitude)
    return Place(found, *_against_boundary(
        index, sorted(set(expected_territories)), longitude, latitude,
        _allowance(found, accuracy_m, tolerance_m, offshore_tolerance_m)))


def _check_point(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90:
        raise ValueError(f"({lat!r}, {lon!r}) is not a latitude/longitude point")


def _check_allowance(accuracy_m: float | None, tolerance_m: float,
                     offshore_tolerance_m: float) -> None:
    if accuracy_m is not None and not (math.isfinite(accuracy_m) and accuracy_m >= 0):
        raise ValueError(f"accuracy_m must be a finite number of metres >= 0, got {accuracy_m!r}")
    for name, value in (("tolerance_m", tolerance_m),
                        ("offshore_tolerance_m", offshore_tolerance_m)):
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value!r}")


def _allowance(found: str | None, accuracy_m: float | None, tolerance_m: float,
               offshore_tolerance_m: float) -> float:
    """How far outside the expected territories a point may lie and still not be called
    diverted (rule 4)."""
    allowance = max(accuracy_m or 0.0, tolerance_m)
    return allowance if found is not None else max(allowance, offshore_tolerance_m)


def _against_boundary(index: TerritoryIndex, codes: list[str], lon: float, lat: float,
                      allowance: float) -> tuple[bool, bool, bool]:
    """(outside, near_border, no_expected_area) of the point against the territories."""
    if index.contains_point(codes, lon, lat):
        return False, False, False
    distance = index.distance_to_boundary_m(codes, lon, lat, exact_within=allowance)
    if math.isinf(distance):
        return False, False, True
    if distance > allowance:
        return True, False, False
    return False, True, False


def expected_territories(
    index: TerritoryIndex,
    batch_territory: str,
    authorised_custodian_territories: Sequence[str] | None,
) -> list[str]:
    """Where an item is expected: the batch's territory, narrowed to the latest
    authorised custodian's territories that lie inside it when it has any (a tier-2
    distributor's city inside the tier-1 province). Sorted codes.

    ``authorised_custodian_territories`` is None when no authorised custodian is known.
    """
    inside = {
        code
        for code in authorised_custodian_territories or ()
        if index.lies_within(code, batch_territory)
    }
    return sorted(inside) if inside else [batch_territory]


def party_is_authorised(
    index: TerritoryIndex, party_territories: Iterable[str], territory: str
) -> bool:
    """True when one of the party's territories is the territory, an ancestor or a
    descendant of it."""
    return any(index.is_same_or_related(code, territory) for code in party_territories)


def responsible_party(
    handoffs: Sequence[tuple[str, str]],
    receiver_authorised: Callable[[str], bool],
    last_custodian: str | None,
) -> str | None:
    """Who answers for a diverted item.

    ``handoffs`` are the recorded shipments of the item as (sender, receiver), in the
    order recorded. The answer is the sender of the first hand-off whose receiver is not
    authorised for the batch's territory (the last party that let it go astray); when
    every hand-off was authorised, the last recorded custodian; None when the item was
    never shipped.

    >>> responsible_party([("brand", "t1"), ("t1", "shop")], lambda p: p != "shop", "shop")
    't1'
    """
    if not handoffs:
        return None
    for sender, receiver in handoffs:
        if not receiver_authorised(receiver):
            return sender
    return last_custodian


def latest_authorised_custodian(
    custodians: Sequence[str], is_authorised: Callable[[str], bool]
) -> str | None:
    """The latest of the custodians (given in custody order) that is authorised, or None."""
    for party in reversed(custodians):
        if is_authorised(party):
            return party
    return None
