"""Territory lookups right everywhere on Earth: the three shipped maps read by the
importer and queried through the territory index agree, feature by feature, with an
independent reading of the same coordinates (tests/geo_oracle.py); the cases the
antimeridian, enclaves and overlapping maps bring, one by one."""

from __future__ import annotations

import datetime as dt
import math
import random
from functools import cache

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from tests import geo_oracle
from tests.geo_oracle import corner_bisector, moved, nearest_on_segment_m
from tracker.domain import verdicts
from tracker.domain.geojson import bounding_box, parse_feature_collection
from tracker.domain.territory_index import TerritoryIndex, TerritoryRecord
from tracker.domain.verdicts import ScanPoint

SEED = 20261206
INSIDE_PER_FEATURE = 8
OUTSIDE_PER_FEATURE = 8
OUTSIDE_BY_M = 1000.0


def index_of(doc: dict) -> TerritoryIndex:
    return TerritoryIndex.build(
        TerritoryRecord(f.code, f.parent_code, f.geometry) for f in parse_feature_collection(doc)
    )


DRAWINGS = {
    "as shipped": lambda doc: doc,
    "crossings drawn on the line": geo_oracle.crossings_drawn_on_the_line,
}


@pytest.mark.parametrize("drawing", list(DRAWINGS))
@pytest.mark.parametrize("map_name", list(geo_oracle.SHIPPED_MAPS))
def test_every_feature_holds_the_points_inside_it_and_none_a_kilometre_outside(
        map_name, drawing):
    doc = DRAWINGS[drawing](geo_oracle.shipped_map(map_name))
    index = index_of(doc)
    rng = random.Random(f"{SEED}-{map_name}-{drawing}")
    checked_inside = checked_outside = 0
    for feature in geo_oracle.features(doc):
        for lon, lat in feature.sample_inside(rng, INSIDE_PER_FEATURE):
            assert feature.code in index.containing(lon, lat), (feature.code, lon, lat)
            assert index.distance_to_boundary_m([feature.code], lon, lat) == 0.0
            checked_inside += 1
        for lon, lat in feature.sample_outside(rng, OUTSIDE_PER_FEATURE, OUTSIDE_BY_M):
            assert feature.code not in index.containing(lon, lat), (feature.code, lon, lat)
            distance = index.distance_to_boundary_m([feature.code], lon, lat)
            assert distance >= OUTSIDE_BY_M, (feature.code, lon, lat, distance)
            assert index.distance_to_boundary_m(
                [feature.code], lon, lat, exact_within=OUTSIDE_BY_M) > OUTSIDE_BY_M
            checked_outside += 1
    features = len(doc["features"])
    # Every feature got its points (a tiny island may give fewer outside ones, never none).
    assert checked_inside == features * INSIDE_PER_FEATURE
    assert checked_outside >= features * (OUTSIDE_PER_FEATURE - 1)


# --- the cases, one by one ----------------------------------------------------------------


@cache
def drawn_countries(drawing: str) -> TerritoryIndex:
    return index_of(DRAWINGS[drawing](geo_oracle.shipped_map("countries")))


def countries() -> TerritoryIndex:
    return drawn_countries("as shipped")


@cache
def country(name: str) -> Polygon | MultiPolygon:
    (feature,) = [f for f in parse_feature_collection(geo_oracle.shipped_map("countries"))
                  if f.code == name]
    assert feature.geometry is not None
    return feature.geometry


def judge_at(index: TerritoryIndex, expected: list[str], lon: float, lat: float,
             accuracy_m: float | None = None, other_scans: tuple[ScanPoint, ...] = ()
             ) -> verdicts.Judgement:
    return verdicts.judge(index, latitude=lat, longitude=lon, at=NOON, known=True,
                          expected_territories=expected, accuracy_m=accuracy_m,
                          other_scans=other_scans)


NOON = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
# Mainland Chukotka east of 180 (the Chukotka Range, inland), its west, Wrangel Island
# on both sides of 180, and Cape Dezhnev's hinterland at 169.9° W.
CHUKOTKA_EAST = [(-175.0, 67.0), (-179.5, 68.5), (-173.0, 66.2), (-170.5, 65.9)]
CHUKOTKA_WEST = [(176.0, 66.0), (179.5, 68.0)]
WRANGEL = [(-179.5, 71.2), (179.5, 71.2)]


@pytest.mark.parametrize("drawing", list(DRAWINGS))
@pytest.mark.parametrize("point", CHUKOTKA_EAST + CHUKOTKA_WEST + WRANGEL)
def test_goods_for_russia_scanned_in_chukotka_are_authentic(point, drawing) -> None:
    judgement = judge_at(drawn_countries(drawing), ["Russia"], *point, accuracy_m=20.0)

    assert (judgement.verdict, judgement.found_territory) == ("authentic", "Russia")
    assert judgement.flags == []


LORINO_COAST = (-172.0, 65.5)


def test_the_chukotka_coast_of_the_50m_map_runs_kilometres_off_the_real_one() -> None:
    # 65.5° N 172° W, on the coast by Lorino, is 2.6 km out at sea in the 1:50m country
    # map: no territory holds it, whatever the antimeridian. Judged as the contract says,
    # farther than the allowance it is diverted.
    index = countries()

    assert index.containing(*LORINO_COAST) == []
    assert index.distance_to_boundary_m(["Russia"], *LORINO_COAST) == pytest.approx(2650.7, abs=1)
    assert judge_at(index, ["Russia"], *LORINO_COAST, accuracy_m=20.0).verdict == "diverted"
    assert judge_at(index, ["Russia"], *LORINO_COAST, accuracy_m=3000.0).near_border


@pytest.mark.parametrize(("offshore_m", "verdict", "near_border"),
                         [(0.0, "diverted", False), (2000.0, "diverted", False),
                          (3000.0, "authentic", True)])
def test_the_offshore_tolerance_allows_a_point_in_no_territory_near_the_coast(
        offshore_m, verdict, near_border) -> None:
    judgement = verdicts.judge(
        countries(), latitude=LORINO_COAST[1], longitude=LORINO_COAST[0], at=NOON, known=True,
        expected_territories=["Russia"], accuracy_m=20.0, offshore_tolerance_m=offshore_m)

    assert (judgement.verdict, judgement.near_border, judgement.found_territory) == (
        verdict, near_border, None)


def test_the_offshore_tolerance_excuses_nothing_inside_another_territory() -> None:
    # 300 m into South Africa from Lesotho: a territory holds it, so only the accuracy
    # counts, however large the offshore tolerance.
    _, in_south_africa = lesotho_border_points(300.0)
    place = verdicts.locate(countries(), latitude=in_south_africa[1],
                            longitude=in_south_africa[0], expected_territories=["Lesotho"],
                            accuracy_m=20.0, offshore_tolerance_m=50_000.0)

    assert (place.found, place.outside, place.near_border) == ("South Africa", True, False)


def test_a_negative_offshore_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match=r"offshore_tolerance_m must be >= 0, got -1.0"):
        verdicts.locate(countries(), latitude=0.0, longitude=0.0, expected_territories=[],
                        offshore_tolerance_m=-1.0)


def test_a_point_in_an_enclave_belongs_to_the_enclave_not_the_country_around_it() -> None:
    maseru = (27.48, -29.31)
    index = countries()

    assert index.containing(*maseru) == ["Lesotho"]
    assert not index.contains_point(["South Africa"], *maseru)
    judgement = judge_at(index, ["South Africa"], *maseru, accuracy_m=30.0)
    assert (judgement.verdict, judgement.found_territory) == ("diverted", "Lesotho")


def lesotho_border_points(metres: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Points ``metres`` either side of a convex corner of Lesotho: (in Lesotho, in
    South Africa), each with that corner as its nearest boundary point."""
    lesotho = country("Lesotho")
    vertex = next(c for c in lesotho.exterior.coords[:-1]
                  if lesotho.covers(Point(moved(*c, corner_bisector(lesotho, c), 1.0))))
    inward = corner_bisector(lesotho, vertex)
    return moved(*vertex, inward, metres), moved(*vertex, inward + 180.0, metres)


@pytest.mark.parametrize(("accuracy_m", "verdict", "near_border"),
                         [(500.0, "authentic", True), (100.0, "diverted", False)])
def test_near_an_enclave_the_accuracy_circle_decides(accuracy_m, verdict, near_border) -> None:
    in_lesotho, in_south_africa = lesotho_border_points(300.0)
    index = countries()

    # Goods for Lesotho scanned just across its border, in South Africa...
    outside = judge_at(index, ["Lesotho"], *in_south_africa, accuracy_m=accuracy_m)
    # ... and goods for South Africa scanned just inside the enclave.
    inside = judge_at(index, ["South Africa"], *in_lesotho, accuracy_m=accuracy_m)

    assert (outside.verdict, outside.near_border, outside.found_territory) == (
        verdict, near_border, "South Africa")
    assert (inside.verdict, inside.near_border, inside.found_territory) == (
        verdict, near_border, "Lesotho")


@cache
def coarse_italy_index() -> TerritoryIndex:
    """Italy drawn as a coarse map draws it, without holes, over San Marino and the
    Vatican as the 1:50m map draws them: territories that overlap, neither the other's
    parent."""
    italy = country("Italy")
    filled = MultiPolygon([Polygon(p.exterior) for p in italy.geoms])
    return TerritoryIndex.build([
        TerritoryRecord("Italy", None, filled),
        TerritoryRecord("San Marino", None, country("San Marino")),
        TerritoryRecord("Vatican", None, country("Vatican")),
        TerritoryRecord("France", None, country("France")),
    ])


SAN_MARINO = (12.457, 43.936)
RIMINI = (12.568, 44.060)


def test_where_small_states_overlap_a_neighbour_the_smaller_is_most_specific() -> None:
    index = coarse_italy_index()

    assert index.containing(*SAN_MARINO) == ["San Marino", "Italy"]
    assert index.most_specific(*SAN_MARINO) == "San Marino"
    assert index.most_specific(*RIMINI) == "Italy"


def test_a_point_in_an_authorised_territory_is_authorised_under_a_smaller_one() -> None:
    index = coarse_italy_index()

    for_italy = judge_at(index, ["Italy"], *SAN_MARINO, accuracy_m=10.0)
    for_san_marino = judge_at(index, ["San Marino"], *SAN_MARINO, accuracy_m=10.0)
    san_marino_goods_in_rimini = judge_at(index, ["San Marino"], *RIMINI, accuracy_m=10.0)

    assert (for_italy.verdict, for_italy.found_territory) == ("authentic", "San Marino")
    assert (for_san_marino.verdict, for_san_marino.found_territory) == ("authentic", "San Marino")
    assert (san_marino_goods_in_rimini.verdict, san_marino_goods_in_rimini.found_territory) == (
        "diverted", "Italy")


def test_two_scans_either_side_of_180_minutes_apart_are_no_clone() -> None:
    east, west = (179.98, 65.8), (-179.98, 65.8)  # Chukotka, 1.8 km apart across the line
    earlier = ScanPoint(west[1], west[0], NOON - dt.timedelta(minutes=5))

    judgement = judge_at(countries(), ["Russia"], *east, accuracy_m=20.0, other_scans=(earlier,))

    assert verdicts.travel_speed_kmh(earlier, ScanPoint(east[1], east[0], NOON)) == (
        pytest.approx(21.96, abs=0.01))
    assert (judgement.verdict, judgement.flags) == ("authentic", [])


def test_two_scans_either_side_of_180_seconds_apart_are_a_clone() -> None:
    east, west = (179.98, 65.8), (-179.9, 65.8)  # 6.4 km apart, 10 s apart
    earlier = ScanPoint(west[1], west[0], NOON - dt.timedelta(seconds=10))

    judgement = judge_at(countries(), ["Russia"], *east, accuracy_m=20.0, other_scans=(earlier,))

    assert judgement.verdict == "suspected_clone"


# --- distances near every boundary, against a reference search ------------------------------


def reference_distance_m(geometry: Polygon | MultiPolygon, lon: float, lat: float) -> float:
    """The geodesic distance from the point to the geometry's boundary, where a boundary
    is the straight longitude/latitude line between vertices: every ring cut into pieces
    of at most 0.05°, the pieces that can hold the nearest point found from the spherical
    distance to their ends, and each searched by golden section (slow, shares no code
    with the index)."""
    pieces = []
    for ring in shapely.get_rings(shapely.get_parts(geometry)):
        xy = shapely.get_coordinates(ring)
        a, b = xy[:-1], xy[1:]
        cuts = np.maximum(1, np.ceil(np.abs(b - a).max(axis=1) / 0.05)).astype(int)
        start = np.repeat(a, cuts, axis=0)
        step = np.repeat((b - a) / cuts[:, None], cuts, axis=0)
        k = (np.arange(cuts.sum()) - np.repeat(np.cumsum(cuts) - cuts, cuts))[:, None]
        pieces.append(np.hstack([start + k * step, start + (k + 1) * step]))
    segments = np.vstack(pieces)
    to_a = _haversine_m(lon, lat, segments[:, 0], segments[:, 1])
    to_b = _haversine_m(lon, lat, segments[:, 2], segments[:, 3])
    length = _haversine_m(segments[:, 0], segments[:, 1], segments[:, 2], segments[:, 3])
    nearest_end = np.minimum(to_a, to_b)
    # A point of a piece is no nearer than its nearer end less the piece's length (the
    # line's length is within 1 % of the chord for pieces this short); 1 % for the sphere.
    floor = (nearest_end - length * 1.01) * 0.99
    best = math.inf
    for i in np.argsort(floor):
        if floor[i] > best:
            break
        ax, ay, bx, by = (float(v) for v in segments[i])
        best = min(best, nearest_on_segment_m((lon, lat), (ax, ay), (bx, by)))
    return best


def _haversine_m(lon1, lat1, lon2, lat2):
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    h = (np.sin((phi2 - phi1) / 2) ** 2
         + np.cos(phi1) * np.cos(phi2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def near_boundary_points(geometry: Polygon | MultiPolygon, rng: random.Random, n: int,
                         across_180: bool) -> list[tuple[float, float]]:
    """n points a random 5 m to 3 km from random vertices, outside the geometry; with
    ``across_180``, from the vertices nearest the ±180 line, moved towards it and across."""
    vertices = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(geometry)))
    if across_180:
        vertices = vertices[np.argsort(-np.abs(vertices[:, 0]))[:20]]
    points: list[tuple[float, float]] = []
    for _ in range(n * 50):
        if len(points) == n or not len(vertices):
            break
        lon, lat = (float(v) for v in vertices[rng.randrange(len(vertices))])
        bearing = (90.0 if lon > 0 else 270.0) if across_180 else rng.uniform(0.0, 360.0)
        point = moved(lon, lat, bearing + rng.uniform(-60.0, 60.0), rng.uniform(5.0, 3000.0))
        if not geometry.covers(Point(point)):
            points.append(point)
    return points


ACROSS_180 = {"countries": ["Russia", "Fiji", "Antarctica"], "us_states": ["02"],
              "cn_provinces": []}


@pytest.mark.parametrize("map_name", list(geo_oracle.SHIPPED_MAPS))
def test_distance_near_every_boundary_is_the_exact_geodesic_one(map_name) -> None:
    features = parse_feature_collection(geo_oracle.shipped_map(map_name))
    index = TerritoryIndex.build(TerritoryRecord(f.code, None, f.geometry) for f in features)
    rng = random.Random(f"{SEED}-near-{map_name}")
    checked = 0
    for feature in features:
        assert feature.geometry is not None
        points = near_boundary_points(feature.geometry, rng, 1, across_180=False)
        if feature.code in ACROSS_180[map_name]:
            points += near_boundary_points(feature.geometry, rng, 6, across_180=True)
        for lon, lat in points:
            expected = reference_distance_m(feature.geometry, lon, lat)
            exact = index.distance_to_boundary_m([feature.code], lon, lat)
            assert exact == pytest.approx(expected, abs=0.01), (feature.code, lon, lat)
            for threshold in (expected * 0.98, expected * 1.02, 30.0, 1000.0):
                quick = index.distance_to_boundary_m([feature.code], lon, lat,
                                                     exact_within=threshold)
                assert (quick > threshold) == (expected > threshold), (feature.code, lon, lat)
            checked += 1
    assert checked >= len(features) + 6 * len(ACROSS_180[map_name])


# --- bounding boxes -------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "expected"), [
    ("Russia", (19.60, 41.20, -169.73, 81.85)),
    ("Fiji", (174.59, -21.71, -178.25, -12.48)),
    ("United States of America", (172.49, 18.96, -66.99, 71.41)),
    ("China", (73.61, 18.22, 134.75, 53.56)),
    ("Antarctica", (-180.0, -90.0, 180.0, -60.52)),
])
def test_a_box_runs_east_across_180_when_that_is_the_smaller_box(code, expected) -> None:
    # RFC 7946 section 5.2: west greater than east for a box across the antimeridian.
    assert bounding_box(country(code)) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("map_name", list(geo_oracle.SHIPPED_MAPS))
def test_every_box_holds_its_territory(map_name) -> None:
    for feature in parse_feature_collection(geo_oracle.shipped_map(map_name)):
        assert feature.geometry is not None
        west, south, east, north = bounding_box(feature.geometry)
        for lon, lat in shapely.get_coordinates(feature.geometry):
            inside = west <= lon <= east if west <= east else (lon >= west or lon <= east)
            assert inside and south <= lat <= north, (feature.code, lon, lat)
