"""Property tests (Hypothesis) of the domain core: the code parser, the GeoJSON importer,
the EPCIS normaliser and the verdict rules.

* Any text given as a code is read or refused with ``MalformedCode`` (the core's class
  for a code that cannot be read, a 400), never another exception; a Digital Link URI or
  SGTIN URN made from valid parts reads back as those parts.
* Any polygon, also across ±180°, is imported or refused with ``InvalidGeoJSON``; a point
  inside it by an independent reading (tests/geo_oracle.py) is inside by the index, a
  point certainly outside is not.
* A valid EPCIS event, mutated at random, is normalised or refused with
  ``InvalidInput``; normalising what was normalised changes nothing; equivalent
  writings of one event have one hash.
* ``judge`` given ``place=locate(...)`` equals ``judge`` working it out (the fast path
  equals the slow one); the spherical prefilter ``may_exceed_speed`` never says False
  when the exact speed exceeds the limit.

Each property is bounded (``max_examples``, no deadline) so the set runs in well under a
minute; ``-s`` prints how many cases each ran.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import random
import string
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tests import conftest
from tests.geo_oracle import Feature as OracleFeature
from tracker.domain import epcis
from tracker.domain.codes import parse_code
from tracker.domain.geojson import parse_feature_collection
from tracker.domain.gs1 import build_digital_link, gs1_check_digit, sgtin_urn
from tracker.domain.territory_index import TerritoryIndex, TerritoryRecord
from tracker.domain.verdicts import (
    ScanPoint,
    judge,
    locate,
    may_exceed_speed,
    travel_speed_kmh,
)
from tracker.errors import InvalidGeoJSON, InvalidInput, MalformedCode

# How many cases each property ran, and how many points the GeoJSON property checked
# against the oracle, printed at the end of the module (run with -s).
CASES: Counter[str] = Counter()
POINTS: Counter[str] = Counter()


def ran(name: str) -> None:
    CASES[name] += 1


@pytest.fixture(scope="module", autouse=True)
def _report_cases() -> Any:
    yield
    if CASES:
        print("\nHypothesis cases run: " + ", ".join(f"{k} {v}" for k, v in sorted(
            CASES.items())) + f"; total {sum(CASES.values())}; points checked against the "
              f"oracle: {POINTS['inside']} inside, {POINTS['outside']} outside")


# --- the code parser ------------------------------------------------------------------

# GS1's character set 82 (what AI 21 and AI 10 may hold).
CSET82 = "!\"%&'()*+,-./0123456789:;<=>?" + string.ascii_uppercase + "_" + string.ascii_lowercase
PREFIXES = ["https://id.example.com/01/", "http://x.example/00/", "urn:epc:id:sgtin:",
            "urn:epc:id:sscc:", "HTTPS://ID.EXAMPLE.COM/01/", "https://e.com/01/0952012345678"
            "8/21/", "https://e.com/shop/01/09520123456788/10/", "  ", ""]
code_texts = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=string.digits, max_size=24),
    st.builds(lambda p, rest: p + rest, st.sampled_from(PREFIXES),
              st.text(alphabet=string.digits + string.ascii_letters + "/?=.%&-_~:", max_size=60)),
)


@settings(max_examples=600, deadline=None)
@given(code_texts)
def test_any_text_is_read_as_a_code_or_refused_as_malformed(text: str) -> None:
    ran("codes: any text")
    try:
        parsed = parse_code(text)
    except MalformedCode as exc:
        event("refused")
        assert exc.message and exc.code
        return
    event(parsed.form)
    assert parsed.form in ("digital_link", "sgtin", "sscc", "serial")


gtin14s = st.text(alphabet=string.digits, min_size=13, max_size=13).map(
    lambda body: body + gs1_check_digit(body))
serials = st.text(alphabet=CSET82, min_size=1, max_size=20)
lots = st.none() | st.text(alphabet=CSET82, min_size=1, max_size=20)
# Two-digit years read back within GS1's window around today: keep to this century's
# middle so the round trip does not depend on the day the test runs.
expiries = st.none() | st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2060, 12, 31))


@settings(max_examples=400, deadline=None)
@given(gtin14s, serials, lots, expiries)
def test_a_digital_link_made_from_valid_parts_reads_back_as_them(
        gtin: str, serial: str, lot: str | None, expiry: dt.date | None) -> None:
    ran("codes: Digital Link round trip")
    uri = build_digital_link("https://id.example.com/", gtin, serial, lot=lot, expiry=expiry)
    parsed = parse_code(uri)
    assert (parsed.form, parsed.gtin, parsed.serial, parsed.lot, parsed.expiry) == (
        "digital_link", gtin, serial, lot, expiry)


@settings(max_examples=300, deadline=None)
@given(gtin14s, serials, st.integers(min_value=6, max_value=12))
def test_an_sgtin_urn_made_from_valid_parts_reads_back_as_them(
        gtin: str, serial: str, prefix_length: int) -> None:
    ran("codes: SGTIN URN round trip")
    parsed = parse_code(sgtin_urn(gtin, serial, prefix_length))
    assert (parsed.form, parsed.gtin, parsed.serial) == ("sgtin", gtin, serial)


# --- the GeoJSON importer ---------------------------------------------------------------


def wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


@st.composite
def star_polygons(draw: Any) -> tuple[list[list[float]], bool]:
    """A simple (star-shaped) ring round a random centre, in either winding, written as
    RFC 7946 does: longitudes within ±180, so a ring across the antimeridian jumps."""
    # Half of them centred near the antimeridian, so that many cross it.
    lon0 = draw(st.floats(min_value=-180, max_value=180)
                | st.floats(min_value=170, max_value=180)
                | st.floats(min_value=-180, max_value=-170))
    lat0 = draw(st.floats(min_value=-70, max_value=70))
    n = draw(st.integers(min_value=3, max_value=12))
    # One vertex in each of n equal sectors: the angles increase, the ring is simple.
    jitter = draw(st.lists(st.floats(min_value=0, max_value=0.9), min_size=n, max_size=n))
    angles = [2 * math.pi * (i + j) / n for i, j in enumerate(jitter)]
    radii = draw(st.lists(st.floats(min_value=0.05, max_value=15.0), min_size=n, max_size=n))
    ring = [[wrap(lon0 + r * math.cos(a)),
             max(-90.0, min(90.0, lat0 + r * math.sin(a)))] for a, r in zip(angles, radii,
                                                                          strict=True)]
    if draw(st.booleans()):
        ring.reverse()
    ring.append(list(ring[0]))
    across = any(abs(b[0] - a[0]) > 180 for a, b in zip(ring, ring[1:], strict=False))
    return ring, across


def collection(geometry: Any, code: str = "T") -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code}, "geometry": geometry}]}


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(star_polygons(), st.integers(min_value=0, max_value=2**32))
def test_a_random_polygon_is_imported_and_holds_what_the_oracle_says(
        drawn: tuple[list[list[float]], bool], seed: int) -> None:
    ring, across = drawn
    rng = random.Random(seed)  # the oracle's sample points
    ran("geojson: random polygon")
    event("across the antimeridian" if across else "flat")
    doc = collection({"type": "Polygon", "coordinates": [ring]})
    try:
        (feature,) = parse_feature_collection(copy.deepcopy(doc))
    except InvalidGeoJSON as exc:
        event("refused")
        assert exc.message.startswith("features[0]")
        return
    assert feature.geometry is not None and feature.geometry.is_valid
    west, _south, east, _north = feature.geometry.bounds
    assert -180.0 <= west and east <= 180.0
    index = TerritoryIndex.build([TerritoryRecord("T", None, feature.geometry)])
    oracle = OracleFeature(doc["features"][0])
    for lon, lat in oracle.sample_inside(rng, 8):
        if oracle.degrees_to_boundary(lon, lat) < 1e-7:
            continue  # on the line, where rounding decides
        POINTS["inside"] += 1
        assert index.contains_point(["T"], lon, lat), (lon, lat)
    for lon, lat in oracle.sample_outside(rng, 8, metres=50.0):
        POINTS["outside"] += 1
        assert not index.contains_point(["T"], lon, lat), (lon, lat)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(min_value=-10**20, max_value=10**20) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=25)
positions = st.lists(st.floats(min_value=-400, max_value=400, allow_nan=False), min_size=0,
                     max_size=4)


def damaged(ring: list[list[float]], how: int) -> dict[str, Any]:
    """A valid ring spoilt one way or another, as maps arrive broken."""
    ring = copy.deepcopy(ring)
    rings = [ring]
    if how == 1:
        ring.pop()  # not closed
    elif how == 2 and len(ring) > 4:
        ring[1], ring[2] = ring[2], ring[1]  # edges that cross
    elif how == 3:
        ring[1][1] = 95.0  # latitude out of range
    elif how == 4:
        del ring[1:-2]  # too few positions
    elif how == 5:
        rings.append([[p[0] * 0.5, p[1] * 0.5 + 1] for p in ring])  # a hole anywhere
    elif how == 6:
        ring[1] = [math.nan, ring[1][1]]
    elif how == 7:
        ring[:] = [[p[0], 0.0] for p in ring]  # no area
    return {"type": "Polygon", "coordinates": rings}


geometries = st.one_of(
    st.builds(damaged, star_polygons().map(lambda drawn: drawn[0]),
              st.integers(min_value=0, max_value=7)),
    json_values,
    st.fixed_dictionaries({"type": st.sampled_from(["Polygon", "MultiPolygon", "Point",
                                                    "polygon", "LineString"]),
                           "coordinates": st.one_of(
                               json_values,
                               st.lists(st.lists(positions, max_size=8), max_size=3),
                               st.lists(st.lists(st.lists(positions, max_size=8), max_size=2),
                                        max_size=2))}),
)


@settings(max_examples=400, deadline=None)
@given(geometries, st.one_of(st.just("T"), json_values))
def test_any_geometry_is_imported_or_refused_clearly(geometry: Any, code: Any) -> None:
    ran("geojson: any geometry")
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code}, "geometry": geometry}]}
    try:
        features = parse_feature_collection(doc)
    except InvalidGeoJSON as exc:
        event("refused")
        assert exc.message
        return
    event("imported")
    assert len(features) == 1


# --- the EPCIS normaliser ----------------------------------------------------------------

EXAMPLES = conftest.STANDARDS / "epcis" / "JSON"


def example_events() -> list[tuple[dict[str, Any], Any]]:
    """(event, the document's @context) of the official examples that are valid."""
    found = []
    for path in sorted(EXAMPLES.rglob("*.jsonld")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("type") != "EPCISDocument":
            continue
        try:
            epcis.validate_document(doc)
        except InvalidInput:
            continue
        found += [(e, doc.get("@context")) for e in epcis.document_events(doc)]
    return found


EVENTS = example_events()


def test_the_examples_give_events_to_mutate() -> None:
    assert len(EVENTS) > 30


@st.composite
def mutated(draw: Any) -> tuple[Any, Any]:
    """An official event with a few random changes: a member removed, replaced by any
    JSON value, or added; a list entry dropped."""
    event_, context = draw(st.sampled_from(EVENTS))
    doc = copy.deepcopy(event_)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        parent, key = _walk(doc, path)
        how = draw(st.sampled_from(["remove", "replace", "add"]))
        if how == "remove" and key is not None:
            del parent[key]
        elif how == "replace" and key is not None:
            parent[key] = draw(json_values)
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["eventTime", "type", "action", "bizStep",
                                         "epcList", "x:y", "eventTimeZoneOffset"]))] = \
                draw(json_values)
    return doc, context


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Any:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def _walk(doc: Any, path: tuple[Any, ...]) -> tuple[Any, Any]:
    """(container, key) of the value at ``path``; the root has no key."""
    if not path:
        return doc, None
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    return parent, path[-1]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_event_is_normalised_or_refused_clearly(case: tuple[Any, Any]) -> None:
    ran("epcis: mutated event")
    doc, context = case
    try:
        epcis.validate_event(doc)
    except InvalidInput as exc:
        event("refused by the schema")
        assert exc.message
        return
    try:
        normalised = epcis.normalise_event(doc, context)
    except InvalidInput as exc:
        event("refused by the normaliser")
        assert exc.message
        return
    event("normalised")
    assert normalised.hash.startswith("ni:///sha-256;")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(EVENTS))
def test_normalising_twice_changes_nothing(case: tuple[Any, Any]) -> None:
    ran("epcis: normalise twice")
    event_, context = case
    once = epcis.normalise_event(event_, context)
    twice = epcis.normalise_event(once.document, None)
    assert twice == once


CBV_WRITINGS = {
    "bizStep": lambda w: [w, f"urn:epcglobal:cbv:bizstep:{w}",
                          f"https://ref.gs1.org/cbv/BizStep-{w}"],
    "disposition": lambda w: [w, f"urn:epcglobal:cbv:disp:{w}",
                              f"https://ref.gs1.org/cbv/Disp-{w}"],
}


@st.composite
def rewritten(draw: Any) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """An event and an equivalent writing of it: members in another order, EPC lists
    shuffled, CBV words as bare words, URNs or Web URIs, eventID and recordTime changed."""
    event_, context = draw(st.sampled_from(EVENTS))
    other = copy.deepcopy(event_)
    for name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        if isinstance(other.get(name), list):
            other[name] = draw(st.permutations(other[name]))
    for name, writings in CBV_WRITINGS.items():
        value = other.get(name)
        if isinstance(value, str):
            bare = epcis.normalise_cbv(value, name)
            if bare.isidentifier():
                other[name] = draw(st.sampled_from(writings(bare)))
    other["eventID"] = draw(st.sampled_from(["urn:uuid:00000000-0000-4000-8000-000000000001",
                                             other.get("eventID", "x")]))
    other["recordTime"] = "2030-01-01T00:00:00.000Z"
    keys = draw(st.permutations(list(other)))
    return event_, {k: other[k] for k in keys}, context


@settings(max_examples=300, deadline=None)
@given(rewritten())
def test_equivalent_writings_of_an_event_have_one_hash(
        case: tuple[dict[str, Any], dict[str, Any], Any]) -> None:
    ran("epcis: equivalent writings")
    original, other, context = case
    assert epcis.event_hash(other, context) == epcis.event_hash(original, context)


# --- the verdict rules -------------------------------------------------------------------


def square(x: float, y: float, size: float) -> Any:
    from shapely.geometry import box

    return box(x, y, x + size, y + size)


# ROOT (no area) holds A (0..10) and B (20..30); A holds A1 (0..2); C spans ±180.
INDEX = TerritoryIndex.build([
    TerritoryRecord("ROOT", None, None),
    TerritoryRecord("A", "ROOT", square(0, 0, 10)),
    TerritoryRecord("B", "ROOT", square(20, 0, 10)),
    TerritoryRecord("A1", "A", square(0, 0, 2)),
    TerritoryRecord("C", None, square(170, -5, 10).union(square(-180, -5, 10))),
])
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

latitudes = st.floats(min_value=-90, max_value=90)
longitudes = st.floats(min_value=-180, max_value=180)
near_latitudes = st.floats(min_value=-8, max_value=15)
near_longitudes = st.one_of(st.floats(min_value=-5, max_value=35),
                            st.floats(min_value=165, max_value=180),
                            st.floats(min_value=-180, max_value=-165))
moments = st.integers(min_value=-10**6, max_value=10**6).map(
    lambda s: T0 + dt.timedelta(seconds=s))
scan_points = st.builds(ScanPoint, lat=latitudes, lon=longitudes, at=moments)


@settings(max_examples=300, deadline=None)
@given(lat=near_latitudes, lon=near_longitudes, at=moments,
       expected=st.lists(st.sampled_from(["ROOT", "A", "B", "A1", "C", "NOWHERE"]),
                         max_size=3),
       accuracy=st.none() | st.floats(min_value=0, max_value=500_000),
       tolerance=st.floats(min_value=0, max_value=100_000),
       offshore=st.floats(min_value=0, max_value=100_000),
       recalled=st.booleans(), others=st.lists(scan_points, max_size=3))
def test_judging_with_the_place_found_first_equals_judging_in_one_go(
        lat: float, lon: float, at: dt.datetime, expected: list[str], accuracy: float | None,
        tolerance: float, offshore: float, recalled: bool, others: list[ScanPoint]) -> None:
    ran("verdicts: judge with place = judge")
    common: dict[str, Any] = {"latitude": lat, "longitude": lon,
                              "expected_territories": expected, "accuracy_m": accuracy,
                              "tolerance_m": tolerance, "offshore_tolerance_m": offshore}
    place = locate(INDEX, **common)
    fast = judge(INDEX, at=at, known=True, recalled=recalled, other_scans=others,
                 place=place, **common)
    slow = judge(INDEX, at=at, known=True, recalled=recalled, other_scans=others, **common)
    event(slow.verdict.value)
    assert fast == slow


@settings(max_examples=600, deadline=None)
@given(scan_points, scan_points, st.floats(min_value=1, max_value=50_000))
def test_the_spherical_prefilter_never_hides_a_speed_above_the_limit(
        a: ScanPoint, b: ScanPoint, limit: float) -> None:
    ran("verdicts: speed prefilter")
    if travel_speed_kmh(a, b) > limit:
        event("over the limit")
        assert may_exceed_speed(a, b, limit)
        assert may_exceed_speed(b, a, limit)


@settings(max_examples=300, deadline=None)
@given(scan_points, st.floats(min_value=0, max_value=20_000_000),
       st.floats(min_value=0, max_value=360), st.floats(min_value=1, max_value=5_000))
def test_the_prefilter_holds_just_over_the_limit(
        a: ScanPoint, metres: float, bearing: float, limit: float) -> None:
    """Pairs whose speed is within a hair of the limit, where a loose margin would show."""
    from tests.geo_oracle import moved

    ran("verdicts: speed prefilter at the limit")
    lon, lat = moved(a.lon, a.lat, bearing, metres)
    hours = metres / 1000.0 / limit * (1 - 1e-9)
    assume(hours > 1e-6)
    b = ScanPoint(lat, lon, a.at + dt.timedelta(hours=hours))
    if travel_speed_kmh(a, b) > limit:
        assert may_exceed_speed(a, b, limit)
