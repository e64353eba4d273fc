"""Point queries on the real maps: containment, the hierarchy, and distance to a border.

Points near a border are made from a real border vertex, moved a known number of metres
along the bisector of its corner with geopy: the vertex is then the nearest boundary
point, so the distance is known exactly. Run with ``-s`` to see the timings.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from geographiclib.geodesic import Geodesic
from shapely.geometry import MultiPolygon, Point, Polygon, box

from tests.conftest import MAPS
from tests.geo_oracle import corner_bisector, moved, nearest_on_segment_m
from tracker.domain import territory_index
from tracker.domain.geojson import parse_feature_collection
from tracker.domain.territory_index import TerritoryIndex, TerritoryRecord
from tracker.services import demo

# The demo's names and city boxes, on the shared maps read as they are.
US_POSTAL = demo.US_POSTAL
CITIES = [(code, parent, bounds) for code, _name, parent, bounds in demo.CITIES]

GUANGZHOU = (113.264, 23.129)
SHENZHEN = (114.058, 22.543)
SHAOGUAN = (113.597, 24.810)  # Guangdong, outside the city boxes
HANGZHOU = (120.155, 30.274)
NANNING = (108.366, 22.817)  # Guangxi
AUSTIN = (-97.743, 30.267)
PARIS = (2.352, 48.857)

WGS84 = Geodesic.WGS84


def maps_dir() -> Path:
    return MAPS


@cache
def load_map(name: str) -> dict[str, Any]:
    return json.loads((maps_dir() / name).read_text(encoding="utf-8"))


def china_us_records() -> list[TerritoryRecord]:
    """The demo's hierarchy on the real maps: regions CN and US without geometry, the
    provinces and states under them, and city boxes under their provinces."""
    records = [TerritoryRecord("CN", None, None), TerritoryRecord("US", None, None)]
    provinces = parse_feature_collection(
        load_map("cn_provinces_ne10m.geojson"), code_property="iso_3166_2"
    )
    records += [TerritoryRecord(p.code, "CN", p.geometry) for p in provinces]
    states = parse_feature_collection(load_map("us_states.geojson"))
    records += [TerritoryRecord(f"US-{US_POSTAL[s.code]}", "US", s.geometry) for s in states]
    records += [TerritoryRecord(code, parent, box(*bounds)) for code, parent, bounds in CITIES]
    return records


@cache
def china_us() -> TerritoryIndex:
    return TerritoryIndex.build(china_us_records())


@cache
def country_geometries() -> dict[str, Polygon | MultiPolygon]:
    """Every country by name, each parsed on its own (Australia and Ashmore and Cartier
    Is. share id 036, so the map as a whole is refused)."""
    geometries = {}
    for raw in load_map("countries_50m.geojson")["features"]:
        (country,) = parse_feature_collection(
            {"type": "FeatureCollection", "features": [raw]}, code_property="name"
        )
        assert country.geometry is not None
        geometries[country.name] = country.geometry
    return geometries


@cache
def countries() -> TerritoryIndex:
    return TerritoryIndex.build(
        TerritoryRecord(name, None, geometry) for name, geometry in country_geometries().items()
    )


def china_us_geometry(code: str) -> Polygon | MultiPolygon:
    geometry = next(r.geometry for r in china_us_records() if r.code == code)
    assert geometry is not None
    return geometry


# --- moving points with geopy -----------------------------------------------------------


def is_convex(geometry: Polygon | MultiPolygon, vertex: tuple[float, float]) -> bool:
    """True when the geometry's corner at the vertex is convex (its bisector leads in)."""
    return bool(geometry.covers(Point(moved(*vertex, corner_bisector(geometry, vertex), 1.0))))


def corner_bearings(
    geometry: Polygon | MultiPolygon, vertex: tuple[float, float]
) -> tuple[float, float]:
    """(inward, outward) bearings along the bisector of a convex corner of the geometry.

    A point moved outward along it has the vertex as its nearest boundary point (it lies
    in the corner's normal cone), so its distance to the boundary is the distance moved.
    """
    assert is_convex(geometry, vertex), f"the corner at {vertex} is not convex"
    inward = corner_bisector(geometry, vertex)
    return inward, inward + 180.0


def outside_by(
    geometry: Polygon | MultiPolygon, vertex: tuple[float, float], metres: float
) -> tuple[float, float]:
    return moved(*vertex, corner_bearings(geometry, vertex)[1], metres)


def inside_by(
    geometry: Polygon | MultiPolygon, vertex: tuple[float, float], metres: float
) -> tuple[float, float]:
    return moved(*vertex, corner_bearings(geometry, vertex)[0], metres)


# Real vertices shared by two neighbours' boundaries, convex for the first.
GD_GX_VERTEX = (111.25004, 22.80122)  # Guangdong / Guangxi
NV_CA_VERTEX = (-119.999364, 38.999514)  # Nevada / California, at Lake Tahoe
CA_NV_VERTEX = (-120.002954, 39.330252)  # California / Nevada, north of the lake


# --- containment --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        (SHAOGUAN, ["CN-GD", "CN"]),
        (GUANGZHOU, ["CN-GD-GZ", "CN-GD", "CN"]),
        (SHENZHEN, ["CN-GD-SZ", "CN-GD", "CN"]),
        (NANNING, ["CN-GX", "CN"]),
        (AUSTIN, ["US-TX", "US"]),
        (PARIS, []),
        ((-150.0, 0.0), []),  # the Pacific
    ],
)
def test_containing_lists_every_territory_most_specific_first(
    point: tuple[float, float], expected: list[str]
) -> None:
    assert china_us().containing(*point) == expected


@pytest.mark.parametrize(
    ("point", "expected"),
    [(SHAOGUAN, "CN-GD"), (GUANGZHOU, "CN-GD-GZ"), (AUSTIN, "US-TX"), (PARIS, None)],
)
def test_most_specific_is_the_deepest_territory_holding_the_point(
    point: tuple[float, float], expected: str | None
) -> None:
    assert china_us().most_specific(*point) == expected


def test_a_region_without_geometry_contains_what_its_children_contain() -> None:
    index = china_us()

    assert index.contains_point(["CN"], *GUANGZHOU)
    assert index.contains_point(["US"], *AUSTIN)
    assert not index.contains_point(["US"], *GUANGZHOU)
    assert not index.contains_point(["CN"], *PARIS)


def test_contains_point_is_true_when_any_territory_holds_it() -> None:
    index = china_us()

    assert index.contains_point(["CN-ZJ", "CN-GD"], *SHAOGUAN)
    assert not index.contains_point(["CN-ZJ", "US-TX"], *SHAOGUAN)
    assert not index.contains_point([], *SHAOGUAN)


def test_a_point_exactly_on_a_shared_vertex_is_inside_both_neighbours() -> None:
    index = china_us()

    assert index.contains_point(["CN-GD"], *GD_GX_VERTEX)
    assert index.contains_point(["CN-GX"], *GD_GX_VERTEX)
    # Same depth: the smaller area wins the tie (Guangdong is smaller than Guangxi).
    assert index.most_specific(*GD_GX_VERTEX) == "CN-GD"


def test_a_point_on_the_edge_of_a_city_box_counts_as_inside() -> None:
    assert china_us().containing(114.20, 22.85) == ["CN-GD-SZ", "CN-GD", "CN"]


def test_a_city_reaching_beyond_its_province_does_not_widen_the_province() -> None:
    # The Shenzhen box covers Hong Kong, which is not part of the Guangdong map.
    hong_kong = (114.17, 22.46)

    assert china_us().containing(*hong_kong) == ["CN-GD-SZ"]


@pytest.mark.parametrize(
    "point",
    [
        (-157.858, 21.307),  # Honolulu, Oahu
        (-155.090, 19.719),  # Hilo, Hawaii
        (-156.470, 20.889),  # Kahului, Maui
        (-159.371, 21.979),  # Lihue, Kauai
    ],
)
def test_every_island_of_hawaii_is_in_hawaii(point: tuple[float, float]) -> None:
    assert china_us().containing(*point) == ["US-HI", "US"]


def test_each_part_of_the_hawaii_multipolygon_is_found() -> None:
    hawaii = china_us_geometry("US-HI")
    assert isinstance(hawaii, MultiPolygon) and len(hawaii.geoms) == 8

    found = {china_us().most_specific(*part.representative_point().coords[0])
             for part in hawaii.geoms}

    assert found == {"US-HI"}


@pytest.mark.parametrize(
    "point",
    [
        (173.036, 52.891),  # Attu, the far west of the Aleutians, east longitude
        (179.024, 51.513),  # Amchitka, east longitude
        (-176.591, 51.800),  # Adak, west longitude
        (-149.900, 61.218),  # Anchorage
    ],
)
def test_alaska_holds_the_aleutians_on_both_sides_of_the_antimeridian(
    point: tuple[float, float],
) -> None:
    assert china_us().containing(*point) == ["US-AK", "US"]


def test_hainan_island_is_in_hainan() -> None:
    assert china_us().containing(110.33, 20.03) == ["CN-HI", "CN"]  # Haikou
    assert china_us().containing(109.51, 18.25) == ["CN-HI", "CN"]  # Sanya


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((179.5, 66.0), "Russia"),
        ((-179.5, 66.5), "Russia"),
        ((178.0, -17.8), "Fiji"),  # Viti Levu
        ((-179.86, -16.75), "Fiji"),  # east of 180
        ((-180.0, 68.5), "Russia"),  # on the meridian itself
        ((180.0, 68.5), "Russia"),
        ((180.0, 0.0), None),
    ],
)
def test_countries_across_the_antimeridian_hold_points_on_both_sides(
    point: tuple[float, float], expected: str | None
) -> None:
    assert countries().most_specific(*point) == expected


def test_a_point_in_a_hole_is_outside_the_surrounding_territory() -> None:
    index = countries()
    maseru = (27.48, -29.31)

    assert index.containing(*maseru) == ["Lesotho"]
    assert not index.contains_point(["South Africa"], *maseru)
    assert index.contains_point(["South Africa"], 28.04, -26.20)  # Johannesburg


def test_italy_has_holes_for_vatican_and_san_marino() -> None:
    italy = country_geometries()["Italy"]
    holes = [Polygon(ring) for part in italy.geoms for ring in part.interiors]
    assert len(holes) == 2
    index = countries()

    assert [index.containing(*hole.representative_point().coords[0]) for hole in holes] == [
        ["Vatican"],
        ["San Marino"],
    ]


@pytest.mark.parametrize("lat", [90.5, -91.0, math.nan])
def test_a_latitude_beyond_the_poles_is_refused(lat: float) -> None:
    with pytest.raises(ValueError, match=r"is not a longitude/latitude point"):
        china_us().most_specific(0.0, lat)


def test_longitudes_beyond_180_wrap_around() -> None:
    assert china_us().most_specific(GUANGZHOU[0] - 360.0, GUANGZHOU[1]) == "CN-GD-GZ"


# --- both sides of a shared border ------------------------------------------------------------


@pytest.mark.parametrize(
    ("vertex", "inner", "outer"),
    [
        (GD_GX_VERTEX, "CN-GD", "CN-GX"),
        (NV_CA_VERTEX, "US-NV", "US-CA"),
        (CA_NV_VERTEX, "US-CA", "US-NV"),
    ],
)
@pytest.mark.parametrize("metres", [5.0, 30.0, 200.0])
def test_points_on_either_side_of_a_shared_border_fall_in_either_neighbour(
    vertex: tuple[float, float], inner: str, outer: str, metres: float
) -> None:
    index = china_us()
    geometry = china_us_geometry(inner)
    inside, outside = inside_by(geometry, vertex, metres), outside_by(geometry, vertex, metres)

    assert (index.most_specific(*inside), index.most_specific(*outside)) == (inner, outer)
    assert index.distance_to_boundary_m([inner], *inside) == 0.0
    assert index.distance_to_boundary_m([inner], *outside) == pytest.approx(metres, abs=1e-3)
    assert index.distance_to_boundary_m([outer], *outside) == 0.0
    # The corner is concave for the neighbour, so an edge of it is nearer than the vertex.
    assert 0.0 < index.distance_to_boundary_m([outer], *inside) < metres


# --- distance to the boundary ---------------------------------------------------------


@pytest.mark.parametrize("metres", [1.0, 10.0, 25.0, 100.0, 1000.0, 10_000.0])
def test_distance_from_a_point_moved_off_a_border_vertex_is_the_distance_moved(
    metres: float,
) -> None:
    outside = outside_by(china_us_geometry("CN-GD"), GD_GX_VERTEX, metres)

    assert china_us().distance_to_boundary_m(["CN-GD"], *outside) == pytest.approx(
        metres, abs=1e-3
    )


def test_distance_to_a_region_is_the_distance_to_its_nearest_child() -> None:
    # A point in Guangxi, 500 m from Guangdong, is 500 m from China's south-eastern
    # provinces taken together, and inside China itself.
    outside = outside_by(china_us_geometry("CN-GD"), GD_GX_VERTEX, 500.0)
    index = china_us()

    assert index.distance_to_boundary_m(["CN-GD", "CN-ZJ"], *outside) == pytest.approx(
        500.0, abs=1e-3
    )
    assert index.distance_to_boundary_m(["CN"], *outside) == 0.0


def test_distance_across_the_middle_of_an_edge_matches_a_reference_search() -> None:
    # Nevada's straight western border along 120° W, 38 km long between two vertices:
    # the nearest point is inside the edge, not a vertex.
    a, b = (-120.002954, 39.330252), (-120.006543, 39.225447)
    middle = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    along = WGS84.Inverse(middle[1], middle[0], b[1], b[0])["azi1"]
    point = moved(*middle, along + 90.0, 40.0)  # square off the edge, into California

    expected = nearest_on_segment_m(point, a, b)

    assert expected == pytest.approx(40.0, abs=0.01)
    assert china_us().distance_to_boundary_m(["US-NV"], *point) == pytest.approx(
        expected, abs=1e-3
    )


def test_distance_from_a_hole_is_to_the_hole_boundary() -> None:
    south_africa = country_geometries()["South Africa"]
    (hole,) = [ring for part in south_africa.geoms for ring in part.interiors]
    # The first vertex of the Lesotho hole where South Africa's corner is convex: its
    # outward bisector points into the hole.
    vertex = next(c for c in hole.coords[:-1] if is_convex(south_africa, c))
    lesotho_side = outside_by(south_africa, vertex, 300.0)
    index = countries()

    assert index.most_specific(*lesotho_side) == "Lesotho"
    assert index.distance_to_boundary_m(["South Africa"], *lesotho_side) == pytest.approx(
        300.0, abs=1e-3
    )


def test_distance_across_the_antimeridian_is_metres_not_the_way_round_the_world() -> None:
    # A box just east of 180 and a point just west of it: 0.02 degrees apart.
    index = TerritoryIndex.build(
        [TerritoryRecord("EAST", None, box(-179.99, 10.0, -179.5, 11.0))]
    )
    point = (179.99, 10.5)

    expected = nearest_on_segment_m(point, (-179.99, 10.0), (-179.99, 11.0))

    assert expected == pytest.approx(2189.35, abs=0.01)
    assert index.distance_to_boundary_m(["EAST"], *point) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("metres", [50.0, 20_000.0])
def test_distance_to_a_fiji_island_measured_across_the_antimeridian(metres: float) -> None:
    # The westernmost vertex of an island wholly at 179.8° W, moved west across 180.
    fiji = country_geometries()["Fiji"]
    island = next(p for p in fiji.geoms if p.bounds[0] == pytest.approx(-179.8668, abs=1e-4))
    vertex = min(island.exterior.coords[:-1], key=lambda c: c[0])
    point = outside_by(island, vertex, metres)
    if metres > 10_000:
        assert point[0] > 179.9  # really on the other side of the antimeridian

    assert countries().distance_to_boundary_m(["Fiji"], *point) == pytest.approx(
        metres, abs=1e-3
    )


def test_distance_to_alaska_across_the_antimeridian() -> None:
    # Amatignak Island, Alaska's part nearest 180 on the western-longitude side.
    alaska = china_us_geometry("US-AK")
    island = next(p for p in alaska.geoms if p.bounds[0] == pytest.approx(-179.1366, abs=1e-4))
    vertex = min(island.exterior.coords[:-1], key=lambda c: c[0])
    point = outside_by(island, vertex, 100.0)

    assert china_us().distance_to_boundary_m(["US-AK"], *point) == pytest.approx(
        100.0, abs=1e-3
    )


def test_distance_near_the_north_pole() -> None:
    # A box around the pole's neighbourhood: meridians converge, degrees of longitude
    # shrink to metres; a point on the other side of the pole is still measured right.
    index = TerritoryIndex.build([TerritoryRecord("CAP", None, box(-10.0, 89.9, 10.0, 89.95))])
    point = (170.0, 89.99)  # across the pole from the box

    expected = min(
        nearest_on_segment_m(point, (-10.0, 89.95), (10.0, 89.95)),
        nearest_on_segment_m(point, (10.0, 89.9), (10.0, 89.95)),
        nearest_on_segment_m(point, (-10.0, 89.9), (-10.0, 89.95)),
    )

    assert index.distance_to_boundary_m(["CAP"], *point) == pytest.approx(expected, abs=1e-3)
    assert expected == pytest.approx(6645.27, abs=0.01)


def test_distance_is_zero_inside_and_infinite_without_area() -> None:
    index = TerritoryIndex.build(
        [TerritoryRecord("EMPTY", None, None), TerritoryRecord("SQUARE", None, box(0, 0, 1, 1))]
    )

    assert index.distance_to_boundary_m(["SQUARE"], 0.5, 0.5) == 0.0
    assert index.distance_to_boundary_m(["EMPTY"], 0.5, 0.5) == math.inf
    assert index.distance_to_boundary_m(["NO-SUCH-CODE"], 0.5, 0.5) == math.inf


def test_distance_from_far_away_is_the_distance_to_the_nearest_border() -> None:
    index = china_us()
    # Hangzhou to Guangdong: the nearest point is on Guangdong's border with Fujian.
    distance = index.distance_to_boundary_m(["CN-GD"], *HANGZHOU)

    assert 650_000 < distance < 750_000


# --- the hierarchy ----------------------------------------------------------------------


def test_ancestors_are_listed_nearest_first() -> None:
    index = china_us()

    assert index.ancestors("CN-GD-SZ") == ["CN-GD", "CN"]
    assert index.ancestors("CN") == []
    assert index.ancestors("NO-SUCH-CODE") == []


def test_descendants_reach_every_depth() -> None:
    index = china_us()

    assert index.descendants("CN-GD") == {"CN-GD-GZ", "CN-GD-SZ"}
    assert len(index.descendants("CN")) == 32 + 4
    assert index.descendants("CN-GD-SZ") == set()


@pytest.mark.parametrize(
    ("a", "b", "related"),
    [
        ("CN-GD", "CN-GD", True),
        ("CN-GD", "CN-GD-SZ", True),
        ("CN-GD-SZ", "CN-GD", True),
        ("CN", "CN-GD-SZ", True),
        ("CN-GD-SZ", "CN-GD-GZ", False),  # siblings
        ("CN-ZJ", "CN-GD", False),
        ("US", "CN-GD", False),
    ],
)
def test_same_or_related_is_the_authorisation_rule(a: str, b: str, related: bool) -> None:
    assert china_us().is_same_or_related(a, b) is related


@pytest.mark.parametrize(
    ("code", "other", "within"),
    [
        ("CN-GD-SZ", "CN-GD", True),
        ("CN-GD-SZ", "CN", True),
        ("CN-GD", "CN-GD", True),
        ("CN-GD", "CN-GD-SZ", False),
        ("CN-ZJ-HZ", "CN-GD", False),
    ],
)
def test_lies_within_is_same_or_below(code: str, other: str, within: bool) -> None:
    assert china_us().lies_within(code, other) is within


def test_a_region_without_children_has_no_area() -> None:
    index = TerritoryIndex.build(
        [TerritoryRecord("EU", None, None), TerritoryRecord("SQUARE", None, box(0, 0, 1, 1))]
    )

    assert index.containing(0.5, 0.5) == ["SQUARE"]
    assert index.geometry("EU") is None


def test_a_region_geometry_is_the_union_of_its_children() -> None:
    index = china_us()
    china = index.geometry("CN")

    assert china is not None
    assert china.covers(Point(GUANGZHOU)) and china.covers(Point(NANNING))
    assert not china.covers(Point(AUSTIN))


def test_nested_regions_take_their_area_from_the_leaves() -> None:
    index = TerritoryIndex.build(
        [
            TerritoryRecord("WORLD", None, None),
            TerritoryRecord("ASIA", "WORLD", None),
            TerritoryRecord("SQUARE", "ASIA", box(0, 0, 1, 1)),
        ]
    )

    assert index.containing(0.5, 0.5) == ["SQUARE", "ASIA", "WORLD"]
    assert index.distance_to_boundary_m(["WORLD"], 1.0, 1.01) == pytest.approx(1105.75, abs=0.01)


def test_a_code_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="territory code 'A' is given twice"):
        TerritoryIndex.build([TerritoryRecord("A", None, None), TerritoryRecord("A", None, None)])


def test_parent_links_in_a_cycle_are_refused() -> None:
    with pytest.raises(ValueError, match="territory 'A': parent links form a cycle"):
        TerritoryIndex.build([TerritoryRecord("A", "B", None), TerritoryRecord("B", "A", None)])


# --- timings (printed; never asserted) --------------------------------------------------------


def per_call_us(call: Callable[[], object], repeat: int = 500) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        call()
    return (time.perf_counter() - start) / repeat * 1e6


def test_print_timings_on_the_real_maps() -> None:
    records = china_us_records()
    start = time.perf_counter()
    index = TerritoryIndex.build(records)
    build_ms = (time.perf_counter() - start) * 1000
    near = outside_by(china_us_geometry("CN-GD"), GD_GX_VERTEX, 30.0)
    expected = ["CN-GD"]

    def lookup(point: tuple[float, float]) -> None:
        index.most_specific(*point)
        if not index.contains_point(expected, *point):
            index.distance_to_boundary_m(expected, *point)

    timings = {
        "most_specific (Guangzhou)": per_call_us(lambda: index.most_specific(*GUANGZHOU)),
        "contains_point (Guangzhou)": per_call_us(
            lambda: index.contains_point(expected, *GUANGZHOU)
        ),
        "distance, 30 m outside": per_call_us(
            lambda: index.distance_to_boundary_m(expected, *near)
        ),
        "distance, Hangzhou to Guangdong": per_call_us(
            lambda: index.distance_to_boundary_m(expected, *HANGZHOU)
        ),
        "distance, Paris to China": per_call_us(
            lambda: index.distance_to_boundary_m(["CN"], *PARIS)
        ),
        "lookup inside (most_specific + contains)": per_call_us(lambda: lookup(GUANGZHOU)),
        "lookup near border (+ distance)": per_call_us(lambda: lookup(near)),
    }
    print(f"\nindex build, China + US + cities ({len(records)} territories): {build_ms:.1f} ms")
    for label, microseconds in timings.items():
        print(f"{label}: {microseconds:.0f} µs")

    assert index.most_specific(*near) == "CN-GX"


@pytest.mark.parametrize("codes", [["CN-GD"], ["CN-GD-SZ"], ["US-CA", "US-NV"]])
def test_near_a_border_a_threshold_distance_compares_as_the_exact_one(codes):
    # Within GPS accuracy of the boundary (the border rule's case), an upper bound may
    # stand in for the exact distance when it is within the threshold.
    index = china_us()
    geometry = china_us_geometry(codes[0])
    largest = max(getattr(geometry, "geoms", [geometry]), key=lambda p: p.area)
    border = list(largest.exterior.coords)
    rng = random.Random(5)
    bounds = 0
    for _ in range(200):
        lon, lat = rng.choice(border)
        lon, lat = lon + rng.uniform(-0.003, 0.003), lat + rng.uniform(-0.003, 0.003)
        exact = index.distance_to_boundary_m(codes, lon, lat)
        for threshold in (20.0, 100.0, 300.0, exact * 0.999, exact * 1.001, exact * 1.02):
            quick = index.distance_to_boundary_m(codes, lon, lat, exact_within=threshold)
            assert (quick > threshold) == (exact > threshold), (lon, lat, threshold)
            if quick != exact:
                assert threshold < quick <= exact or exact <= quick <= threshold
                bounds += quick < threshold
    assert bounds > 100


@pytest.mark.parametrize("codes", [["CN-GD"], ["CN-GD-SZ"], ["US-CA", "US-NV"], ["CN"]])
def test_a_distance_asked_only_against_a_threshold_compares_as_the_exact_one(codes):
    # The shortcut may skip measuring a point that is certainly farther; the answer to
    # "farther than the threshold?" must stay the same, and nearer points stay exact.
    index = china_us()
    rng = random.Random(11)
    shortcuts = 0
    for _ in range(300):
        lon, lat = rng.uniform(70, 135), rng.uniform(15, 55)
        if rng.random() < 0.3:
            lon, lat = rng.uniform(-125, -100), rng.uniform(30, 45)
        exact = index.distance_to_boundary_m(codes, lon, lat)
        for threshold in (0.0, 30.0, 5_000.0, exact * 0.99, exact * 1.01):
            quick = index.distance_to_boundary_m(codes, lon, lat, exact_within=threshold)
            assert (quick > threshold) == (exact > threshold), (lon, lat, threshold)
            if quick != exact:
                shortcuts += 1
                assert threshold < quick <= exact or exact <= quick <= threshold
    assert shortcuts > 100


@pytest.mark.parametrize(("codes", "point"), [(["CN-GD"], HANGZHOU), (["CN-GD"], PARIS),
                                              (["CN"], PARIS), (["US-CA"], GUANGZHOU)])
def test_far_from_the_whole_boundary_a_threshold_distance_projects_nothing(
        codes, point, monkeypatch):
    index = china_us()
    exact = index.distance_to_boundary_m(codes, *point)

    def no_projection(*_args: object) -> None:
        raise AssertionError("projected a point the boundary's cap already rules out")

    monkeypatch.setattr(territory_index, "_Projection", no_projection)
    quick = index.distance_to_boundary_m(codes, *point, exact_within=50.0)
    assert 50.0 < quick <= exact
    assert quick > exact / 2  # a bound of the right size, not just any bound
