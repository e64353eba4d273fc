"""Reading territories from GeoJSON: the real maps as they are, and one case per rule."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape

from tests.conftest import MAPS
from tracker.domain.geojson import TerritoryFeature, order_for_insert, parse_feature_collection
from tracker.errors import InvalidGeoJSON


def maps_dir() -> Path:
    return MAPS


@cache
def load_map(name: str) -> dict[str, Any]:
    return json.loads((maps_dir() / name).read_text(encoding="utf-8"))


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def feature(
    code: str | None = "T1",
    coordinates: Any = None,
    *,
    kind: str = "Polygon",
    **properties: Any,
) -> dict[str, Any]:
    """A Feature with ``properties.code``; the unit square unless coordinates are given."""
    if coordinates is None:
        coordinates = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]
    if code is not None:
        properties["code"] = code
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": kind, "coordinates": coordinates},
    }


def region(code: str, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code, **properties}, "geometry": None}


def parse_one(raw: dict[str, Any], **options: Any) -> TerritoryFeature:
    (parsed,) = parse_feature_collection(collection(raw), **options)
    return parsed


def refusal(doc: object, **options: Any) -> str:
    with pytest.raises(InvalidGeoJSON) as caught:
        parse_feature_collection(doc, **options)
    return str(caught.value)


@cache
def countries() -> dict[str, TerritoryFeature]:
    """Every country parsed on its own, by name.

    On its own because the map as a whole is refused: Australia and Ashmore and
    Cartier Is. share id 036 (see test_countries_map_as_a_whole_is_refused_for_id_036).
    """
    parsed = {}
    for raw in load_map("countries_50m.geojson")["features"]:
        territory = parse_one(raw, code_property="name")
        parsed[territory.name] = territory
    return parsed


def geometry(territory: TerritoryFeature) -> Polygon | MultiPolygon:
    assert territory.geometry is not None, f"{territory.code} has no geometry"
    return territory.geometry


def within_wgs84(geometry: Polygon | MultiPolygon) -> bool:
    west, south, east, north = geometry.bounds
    return -180 <= west <= east <= 180 and -90 <= south <= north <= 90


# --- the country map ---------------------------------------------------------------------


def test_every_country_parses_into_a_valid_geometry_within_wgs84() -> None:
    parsed = countries()

    assert len(parsed) == 241
    assert all(shapely.is_valid(t.geometry) for t in parsed.values())
    assert all(within_wgs84(t.geometry) for t in parsed.values())


def test_countries_without_an_id_take_their_code_from_code_property() -> None:
    codes = {name: t.code for name, t in countries().items()}

    assert codes["Russia"] == "643"
    assert codes["Somaliland"] == "Somaliland"
    assert codes["Kosovo"] == "Kosovo"


def test_only_countries_drawn_across_the_antimeridian_carry_notes() -> None:
    notes = {name: t.notes for name, t in countries().items() if t.notes}

    assert notes == {
        "Russia": ("split at the antimeridian",),
        "Fiji": ("split at the antimeridian",),
        # Its rings circle the South Pole: one along the coast, one at -89.999.
        "Antarctica": (
            "moved longitudes beyond ±180 into -180..180",
            "closed coordinates[2][0] along the south pole, which it circles",
            "closed coordinates[2][1] along the south pole, which it circles",
        ),
    }


def test_sudan_is_kept_exactly_as_drawn() -> None:
    # shared/README.md lists Sudan among the invalid rings, but GEOS 3.14 (shapely 2.2)
    # finds its single ring valid, so there is nothing to repair.
    raw = next(
        f
        for f in load_map("countries_50m.geojson")["features"]
        if f["properties"]["name"] == "Sudan"
    )
    sudan = countries()["Sudan"]

    assert sudan.notes == ()
    assert sudan.geometry == shape(raw["geometry"])


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (179.99, -16.52),  # east of 180, in the ring drawn with a jump in longitude
        (-179.93, -16.5),  # west of 180, in the same ring
        (179.9, -16.6),  # Vanua Levu
        (-179.95, -16.8),  # Taveuni
    ],
)
def test_fiji_contains_its_islands_on_both_sides_of_the_antimeridian(
    lon: float, lat: float
) -> None:
    assert geometry(countries()["Fiji"]).contains(Point(lon, lat))


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (-150.0, -16.52),  # mid-Pacific, inside the band the unsplit jump would enclose
        (0.0, -16.52),  # the same band off Africa
    ],
)
def test_fiji_does_not_reach_around_the_world(lon: float, lat: float) -> None:
    assert not geometry(countries()["Fiji"]).contains(Point(lon, lat))


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (-175.0, 66.5),  # Chukotka
        (-179.5, 71.2),  # Wrangel Island, west of 180
        (179.5, 71.2),  # Wrangel Island, east of 180
        (100.0, 60.0),  # Siberia
    ],
)
def test_russia_contains_its_land_on_both_sides_of_the_antimeridian(lon: float, lat: float) -> None:
    assert geometry(countries()["Russia"]).contains(Point(lon, lat))


def test_russia_does_not_reach_into_canada() -> None:
    assert not geometry(countries()["Russia"]).contains(Point(-100.0, 67.0))


@pytest.mark.parametrize(
    ("lon", "lat", "inside"),
    [(0.0, -80.0, True), (179.9, -85.0, True), (-179.9, -85.0, True), (0.0, -60.0, False)],
)
def test_antarctica_reaches_the_pole_all_the_way_round(
    lon: float, lat: float, inside: bool
) -> None:
    assert geometry(countries()["Antarctica"]).contains(Point(lon, lat)) is inside


def test_countries_map_as_a_whole_is_refused_for_id_036() -> None:
    message = refusal(load_map("countries_50m.geojson"), code_property="name")

    assert message == (
        "features[229] (code '036', name 'Ashmore and Cartier Is.'): duplicate code,"
        " already used by features[225] (name 'Australia')"
    )


def test_countries_map_without_code_property_is_refused_for_somaliland() -> None:
    message = refusal(load_map("countries_50m.geojson"))

    assert message == (
        "features[58] (name 'Somaliland') has no code: tried properties.code and id"
        " (name another property with code_property)"
    )


# --- the US states and China's provinces --------------------------------------------------


def test_all_56_us_states_parse_with_their_fips_codes() -> None:
    states = parse_feature_collection(load_map("us_states.geojson"))

    assert len(states) == 56
    assert {s.code: s.name for s in states}["06"] == "California"
    assert all(shapely.is_valid(s.geometry) for s in states)


def test_only_delaware_and_oregon_are_repaired() -> None:
    states = parse_feature_collection(load_map("us_states.geojson"))

    assert {s.name: s.notes for s in states if s.notes} == {
        "Delaware": (
            "dropped coordinates[0][0]: it has 3 positions; a ring needs at least 4"
            " (the first repeated at the end)",
        ),
        "Oregon": ("repaired coordinates[0]: Self-intersection[-119.999364 41.994196]",),
    }


def test_delaware_keeps_all_its_area() -> None:
    raw = load_map("us_states.geojson")["features"]
    drawn = next(f for f in raw if f["properties"]["name"] == "Delaware")["geometry"]
    delaware = next(
        s for s in parse_feature_collection(load_map("us_states.geojson")) if s.code == "10"
    )

    assert geometry(delaware).equals(Polygon(drawn["coordinates"][1][0]))


def test_oregon_loses_only_its_zero_area_spike() -> None:
    oregon = next(
        s for s in parse_feature_collection(load_map("us_states.geojson")) if s.code == "41"
    )

    assert geometry(oregon).geom_type == "Polygon"
    assert geometry(oregon).area == pytest.approx(28.1802709328695, rel=1e-12)


def test_all_32_china_provinces_parse_with_iso_codes() -> None:
    provinces = parse_feature_collection(
        load_map("cn_provinces_ne10m.geojson"), code_property="iso_3166_2"
    )
    by_code = {p.code: p for p in provinces}

    assert len(by_code) == 32
    assert by_code["CN-GD"].name == "Guangdong"
    assert geometry(by_code["CN-GD"]).contains(Point(113.26, 23.13))  # Guangzhou
    assert all(p.notes == () for p in provinces)


# --- repairs ---------------------------------------------------------------------------


def test_bow_tie_is_repaired_into_two_triangles() -> None:
    parsed = parse_one(feature("BOW", [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]))

    assert geometry(parsed).equals(
        MultiPolygon(
            [
                Polygon([(0, 0), (1, 1), (0, 2), (0, 0)]),
                Polygon([(2, 0), (1, 1), (2, 2), (2, 0)]),
            ]
        )
    )
    assert parsed.notes == ("repaired coordinates[0]: Self-intersection[1 1]",)


def test_collinear_ring_is_refused() -> None:
    message = refusal(collection(feature("LINE", [[[0, 0], [1, 1], [2, 2], [0, 0]]])))

    assert message == (
        "features[0] (code 'LINE') encloses no area: coordinates[0] is invalid"
        " (Self-intersection[1 1]) and repairing it leaves no area"
    )


def test_ring_of_three_positions_alone_is_refused() -> None:
    message = refusal(collection(feature("SHORT", [[[0, 0], [1, 1], [0, 0]]])))

    assert message == (
        "features[0] (code 'SHORT') encloses no area: coordinates[0] has 3 positions;"
        " a ring needs at least 4 (the first repeated at the end)"
    )


def test_zero_area_polygon_beside_a_real_one_is_dropped() -> None:
    parsed = parse_one(
        feature(
            "TWO",
            [
                [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
                [[[5, 5], [6, 6], [7, 7], [5, 5]]],
            ],
            kind="MultiPolygon",
        )
    )

    assert geometry(parsed).equals(Polygon([(0, 0), (1, 0), (1, 1), (0, 1)]))
    assert parsed.notes == (
        "dropped coordinates[1][0]: it is invalid (Self-intersection[6 6]) and repairing"
        " it leaves no area",
    )


def test_ring_whose_loops_overlap_is_refused_as_a_guess() -> None:
    # The inner loop runs the same way as the outer one: even-odd makes it a hole,
    # non-zero winding makes it land.
    ring = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0], [1, 1], [3, 1], [3, 3], [1, 3], [1, 1], [0, 0]]

    message = refusal(collection(feature("LOOP", [ring])))

    assert message == (
        "features[0] (code 'LOOP'): cannot repair coordinates[0] without guessing"
        " (Ring Self-intersection[0 0]): its loops overlap, and it covers 16 or 12 square"
        " degrees depending on whether the overlap is land or a hole; redraw it without"
        " overlapping loops"
    )


def test_hole_outside_its_exterior_is_refused() -> None:
    coordinates = [
        [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]],
        [[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]],
    ]

    message = refusal(collection(feature("HOLE", coordinates)))

    assert message == (
        "features[0] (code 'HOLE'): coordinates[1] is a hole outside its exterior ring"
        " coordinates[0]; make it a polygon of its own or remove it"
    )


def test_hole_across_its_exterior_is_cut_where_they_overlap() -> None:
    coordinates = [
        [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]],
        [[1, 1], [3, 1], [3, 1.5], [1, 1.5], [1, 1]],
    ]

    parsed = parse_one(feature("NOTCH", coordinates))

    assert geometry(parsed).area == 3.5
    assert parsed.notes == (
        "coordinates[1]: the hole reaches outside its exterior ring; only the part inside"
        " was cut out",
    )


def test_overlapping_polygons_are_merged() -> None:
    coordinates = [
        [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]],
        [[[1, 1], [3, 1], [3, 3], [1, 3], [1, 1]]],
    ]

    parsed = parse_one(feature("PAIR", coordinates, kind="MultiPolygon"))

    assert geometry(parsed).area == 7.0
    assert parsed.notes == ("merged overlapping polygons",)


def test_valid_geometry_is_kept_as_drawn() -> None:
    coordinates = [[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]], [[[2, 2], [3, 2], [3, 3], [2, 2]]]]

    parsed = parse_one(feature("KEEP", coordinates, kind="MultiPolygon"))

    assert parsed.geometry == shape({"type": "MultiPolygon", "coordinates": coordinates})
    assert parsed.notes == ()


# --- the antimeridian ------------------------------------------------------------------

ACROSS_180 = Polygon([(179, 0), (180, 0), (180, 1), (179, 1)]).union(
    Polygon([(-180, 0), (-179, 0), (-179, 1), (-180, 1)])
)


@pytest.mark.parametrize(
    "ring",
    [
        [[179, 0], [181, 0], [181, 1], [179, 1], [179, 0]],  # longitudes beyond 180
        [[-181, 0], [-179, 0], [-179, 1], [-181, 1], [-181, 0]],  # beyond -180
        [[179, 0], [-179, 0], [-179, 1], [179, 1], [179, 0]],  # a jump in longitude
    ],
    ids=["beyond-180", "beyond-minus-180", "jump"],
)
def test_polygon_across_the_antimeridian_is_split_there(ring: list[list[float]]) -> None:
    parsed = parse_one(feature("PACIFIC", [ring]))

    assert geometry(parsed).geom_type == "MultiPolygon"
    assert geometry(parsed).equals(ACROSS_180)
    assert parsed.notes == ("split at the antimeridian",)


# An islet of 0.1° across 180 at 16.45° S (Fiji's latitude), drawn three ways.
ISLET = Polygon([(179.9, -16.5), (180, -16.5), (180, -16.4), (179.9, -16.4)]).union(
    Polygon([(-180, -16.5), (-179.9, -16.5), (-179.9, -16.4), (-180, -16.4)])
)
ISLET_DRAWN_ON_THE_LINE = [  # to 180 on one side, on from -180 on the other
    [179.9, -16.5], [180, -16.5], [-180, -16.5], [-179.9, -16.5], [-179.9, -16.4],
    [-180, -16.4], [180, -16.4], [179.9, -16.4], [179.9, -16.5],
]
ISLET_CUT_AT_THE_LINE = [  # RFC 7946 section 3.1.9: two polygons along the line
    [[[179.9, -16.5], [180, -16.5], [180, -16.4], [179.9, -16.4], [179.9, -16.5]]],
    [[[-180, -16.5], [-179.9, -16.5], [-179.9, -16.4], [-180, -16.4], [-180, -16.5]]],
]
# The Atlantic, Bolivia and Zimbabwe at the same latitude.
ON_ANOTHER_CONTINENT = [(0.0, -16.45), (-60.0, -16.45), (30.0, -16.45)]


def test_ring_drawn_through_the_line_is_read_across_it_not_round_the_globe() -> None:
    # Drawn flat, the steps from 180 to -180 would run across the whole map and make a
    # band around the globe at 16.45° S: a sliver claiming Bolivia and Zimbabwe.
    parsed = parse_one(feature("ISLET", [ISLET_DRAWN_ON_THE_LINE]))

    assert geometry(parsed).equals(ISLET)
    assert geometry(parsed).covers(Point(179.95, -16.45))
    assert geometry(parsed).covers(Point(-179.95, -16.45))
    assert not any(geometry(parsed).covers(Point(p)) for p in ON_ANOTHER_CONTINENT)
    assert parsed.notes == (
        "split at the antimeridian",
        "read coordinates[0] across the antimeridian: its steps between -180 and 180 (at"
        " latitude -16.5, -16.4) join points of one meridian; drawn flat they would run"
        " across the whole map",
    )


def test_polygons_cut_along_the_line_are_kept_as_drawn() -> None:
    parsed = parse_one(feature("ISLET", ISLET_CUT_AT_THE_LINE, kind="MultiPolygon"))

    assert geometry(parsed).equals(ISLET)
    assert parsed.notes == ()


def test_ring_drawn_the_long_way_round_the_globe_is_refused_naming_the_feature() -> None:
    # The islet's crossing drawn through 0° instead: a sliver 0.1° high round the globe.
    ring = [[179.9, -16.5], [0, -16.5], [-179.9, -16.5], [-179.9, -16.4], [0, -16.4],
            [179.9, -16.4], [179.9, -16.5]]

    assert refusal(collection(feature("FJ-X", [ring], name="Islet"))) == (
        "features[0] (code 'FJ-X', name 'Islet'): coordinates[0] spans 359.8 degrees of"
        " longitude but only 0.1 of latitude (-16.5 to -16.4): a ring drawn the long way"
        " round the globe, which would claim land on every continent at that latitude; if"
        " it crosses the antimeridian, give consecutive positions on either side of it"
        " (179.9 then -179.9) or cut it there (RFC 7946, section 3.1.9)"
    )


def test_sliver_left_after_a_repair_is_refused_too() -> None:
    # A second polygon that only repairs into the band: refused all the same.
    band = [[-179, 10], [0, 10], [179, 10], [179, 10.5], [0, 10.5], [-179, 10.5], [-179, 10]]
    square = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]

    message = refusal(collection(feature("BAND", [[square], [band]], kind="MultiPolygon")))

    assert message.startswith("features[0] (code 'BAND'): coordinates[1][0] spans 358 degrees")


def test_band_round_the_world_drawn_along_two_parallels_is_refused() -> None:
    # Read on the globe its steps from -180 to 180 enclose nothing; read flat, it is a
    # band 10° high round the Earth, which no sales territory is.
    ring = [[-180, 60], [180, 60], [180, 70], [-180, 70], [-180, 60]]

    assert "spans 360 degrees of longitude but only 10 of latitude (60 to 70)" in refusal(
        collection(feature("BAND", [ring])))


def test_box_round_the_world_short_of_the_poles_is_read_as_drawn() -> None:
    # Web maps stop at ±85°: the steps between -180 and 180 run along the map's edge.
    ring = [[-180, -85], [180, -85], [180, 85], [-180, 85], [-180, -85]]

    parsed = parse_one(feature("WORLD", [ring]))

    assert geometry(parsed).equals(Polygon(ring))
    assert parsed.notes == ()


def test_hole_drawn_on_the_other_side_of_the_antimeridian_is_still_cut_out() -> None:
    exterior = [[178, 0], [182, 0], [182, 4], [178, 4], [178, 0]]
    hole = [[-179.5, 1], [-179.5, 2], [-178.5, 2], [-178.5, 1], [-179.5, 1]]

    parsed = parse_one(feature("RING", [exterior, hole]))

    assert geometry(parsed).area == 15.0
    assert not geometry(parsed).contains(Point(-179, 1.5))
    assert geometry(parsed).contains(Point(-179, 3))


def test_polygon_wholly_beyond_180_is_moved_into_range() -> None:
    parsed = parse_one(feature("EAST", [[[181, 0], [182, 0], [182, 1], [181, 1], [181, 0]]]))

    assert geometry(parsed).equals(Polygon([(-179, 0), (-178, 0), (-178, 1), (-179, 1)]))
    assert parsed.notes == ("moved longitudes beyond ±180 into -180..180",)


def test_ring_around_the_north_pole_is_closed_along_the_pole() -> None:
    ring = [[0, 80], [90, 80], [180, 80], [-90, 80], [0, 80]]

    parsed = parse_one(feature("ARCTIC", [ring]))

    assert geometry(parsed).equals(Polygon([(-180, 80), (180, 80), (180, 90), (-180, 90)]))
    assert parsed.notes == (
        "split at the antimeridian",
        "closed coordinates[0] along the north pole, which it circles",
    )


def test_ring_spanning_more_than_the_globe_is_refused() -> None:
    ring = [[-170, 0], [0, 0], [170, 0], [340, 0], [340, 1], [170, 1], [0, 1], [-170, 1], [-170, 0]]

    message = refusal(collection(feature("WIDE", [ring])))

    assert message == (
        "features[0] (code 'WIDE'): coordinates[0] spans 510 degrees of longitude;"
        " a ring can span at most 360"
    )


# --- the document ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ([], "the document is not a GeoJSON FeatureCollection: it is an array"),
        ("{}", "the document is not a GeoJSON FeatureCollection: it is a string"),
        ({}, "the document is not a GeoJSON FeatureCollection: it has no type"),
        (
            feature(),
            "the document is not a GeoJSON FeatureCollection: its type is 'Feature'",
        ),
        ({"type": "FeatureCollection"}, "the FeatureCollection has no features array"),
        (
            {"type": "FeatureCollection", "features": {}},
            "the FeatureCollection's features member is an object, not an array",
        ),
        ({"type": "FeatureCollection", "features": []}, "the FeatureCollection has no features"),
    ],
)
def test_document_that_is_not_a_usable_feature_collection_is_refused(
    doc: object, expected: str
) -> None:
    assert refusal(doc) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("T1", "features[1] is not a GeoJSON Feature: it is a string"),
        (
            {"type": "Polygon", "coordinates": []},
            "features[1] is not a GeoJSON Feature: its type is 'Polygon'",
        ),
    ],
)
def test_feature_that_is_not_a_feature_is_refused(raw: Any, expected: str) -> None:
    assert refusal(collection(feature("T0"), raw)) == expected


def test_refusal_carries_the_feature_in_its_details() -> None:
    with pytest.raises(InvalidGeoJSON) as caught:
        parse_feature_collection(collection(feature("T0"), feature("T1", [[[0, 0], [1, 1]]])))

    assert caught.value.details == {"feature": 1, "code": "T1"}
    assert caught.value.code == "invalid_geojson"


# --- codes, names and parents ------------------------------------------------------------


def test_missing_code_is_refused_naming_the_sources_tried() -> None:
    raw = feature(None, name="Nowhere")

    assert refusal(collection(raw), code_property="iso") == (
        "features[0] (name 'Nowhere') has no code: tried properties.code, id and properties.iso"
    )


@pytest.mark.parametrize(
    ("extra", "id_", "expected"),
    [
        ({"code": "C", "iso": "P"}, "I", "C"),
        ({"iso": "P"}, "I", "I"),
        ({"iso": "P"}, None, "P"),
        ({}, 643, "643"),
        ({}, 7.0, "7"),
        ({"code": " X1 "}, None, "X1"),
    ],
)
def test_code_comes_from_properties_code_then_id_then_code_property(
    extra: dict[str, Any], id_: object, expected: str
) -> None:
    raw = feature(None)
    raw["properties"] = extra
    if id_ is not None:
        raw["id"] = id_

    assert parse_one(raw, code_property="iso").code == expected


def test_code_of_the_wrong_type_is_refused() -> None:
    raw = feature(None, name="Odd")
    raw["id"] = {"value": 1}

    assert refusal(collection(raw)) == (
        "features[0] (name 'Odd'): id must be a string or a number, got an object"
    )


def test_name_falls_back_to_the_code() -> None:
    assert parse_one(feature("T1")).name == "T1"


def test_properties_are_kept() -> None:
    parsed = parse_one(feature("T1", name="One", population=12))

    assert parsed.properties == {"code": "T1", "name": "One", "population": 12}


def test_duplicate_code_is_refused() -> None:
    doc = collection(feature("A", name="First"), feature("B"), feature("A", name="Again"))

    assert refusal(doc) == (
        "features[2] (code 'A', name 'Again'): duplicate code, already used by features[0]"
        " (name 'First')"
    )


def test_own_parent_is_refused() -> None:
    assert refusal(collection(feature("A", name="Alpha", parent="A"))) == (
        "features[0] (code 'A', name 'Alpha') is its own parent"
    )


def test_parent_cycle_is_refused_from_its_first_feature() -> None:
    doc = collection(
        feature("X"), region("C", parent="A"), region("A", parent="B"), region("B", parent="C")
    )

    assert refusal(doc) == (
        "features[1] (code 'C'): parent links form a cycle: 'C' -> 'A' -> 'B' -> 'C'"
    )


def test_null_geometry_region_with_children() -> None:
    doc = collection(
        feature("FR", parent="EMEA"),
        feature("DE", parent="EMEA"),
        region("EMEA", name="Europe, Middle East and Africa", parent="WORLD"),
    )

    parsed = parse_feature_collection(doc)

    assert [(t.code, t.parent_code, t.geometry is None) for t in parsed] == [
        ("FR", "EMEA", False),
        ("DE", "EMEA", False),
        ("EMEA", "WORLD", True),
    ]
    assert parsed[2].name == "Europe, Middle East and Africa"


def test_order_for_insert_puts_parents_before_children() -> None:
    doc = collection(
        feature("PARIS", parent="FR"),
        feature("FR", parent="EMEA"),
        feature("TOKYO", parent="JP"),  # JP is not in the collection
        region("EMEA"),
        feature("DE", parent="EMEA"),
    )

    ordered = order_for_insert(parse_feature_collection(doc))

    assert [t.code for t in ordered] == ["EMEA", "FR", "PARIS", "TOKYO", "DE"]


def test_order_for_insert_keeps_an_ordered_collection_as_it_is() -> None:
    parsed = parse_feature_collection(
        collection(region("EMEA"), feature("FR", parent="EMEA"), feature("DE", parent="EMEA"))
    )

    assert order_for_insert(parsed) == parsed


# --- geometry structure ----------------------------------------------------------------

SQUARE = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        (
            {"type": "Point", "coordinates": [0, 0]},
            "features[0] (code 'T1'): geometry type 'Point' is not supported; use Polygon or"
            " MultiPolygon (or null for a region made of its children)",
        ),
        (
            {"type": "GeometryCollection", "geometries": []},
            "features[0] (code 'T1'): geometry type 'GeometryCollection' is not supported;"
            " use Polygon or MultiPolygon (or null for a region made of its children)",
        ),
        (
            [],
            "features[0] (code 'T1'): geometry must be an object or null, got an array",
        ),
        (
            {"type": "Polygon"},
            "features[0] (code 'T1'): coordinates must be an array of rings",
        ),
        (
            {"type": "MultiPolygon", "coordinates": []},
            "features[0] (code 'T1'): coordinates has no polygons",
        ),
        (
            {"type": "MultiPolygon", "coordinates": [[SQUARE], []]},
            "features[0] (code 'T1'): coordinates[1] has no rings",
        ),
    ],
)
def test_unsupported_geometry_is_refused(geometry: object, expected: str) -> None:
    raw = feature("T1")
    raw["geometry"] = geometry

    assert refusal(collection(raw)) == expected


def test_feature_without_a_geometry_member_is_refused() -> None:
    raw = feature("T1")
    del raw["geometry"]

    assert refusal(collection(raw)) == (
        "features[0] (code 'T1') has no geometry member (use null for a region made of its"
        " children)"
    )


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        ([0.5, 91], "coordinates[0][2]: latitude 91 is outside -90..90"),
        ([0.5, -90.5], "coordinates[0][2]: latitude -90.5 is outside -90..90"),
        (
            [400, 0.5],
            "coordinates[0][2]: longitude 400 is outside -180..180 (-360..360 is accepted"
            " for rings drawn across the antimeridian)",
        ),
        ([math.nan, 0.5], "coordinates[0][2] has a non-finite value NaN"),
        ([0.5, math.inf], "coordinates[0][2] has a non-finite value Infinity"),
        (["0.5", 0.5], 'coordinates[0][2] has a non-numeric value "0.5"'),
        ([True, 0.5], "coordinates[0][2] has a non-numeric value true"),
        ([0.5], "coordinates[0][2] must be a position [longitude, latitude], got [0.5]"),
        (
            {"lon": 0.5},
            'coordinates[0][2] must be a position [longitude, latitude], got {"lon": 0.5}',
        ),
    ],
)
def test_bad_position_is_refused(position: object, expected: str) -> None:
    ring = [[0, 0], [1, 0], position, [0, 1], [0, 0]]

    assert refusal(collection(feature("T1", [ring]))) == f"features[0] (code 'T1'): {expected}"


def test_nan_from_json_text_is_refused() -> None:
    doc = json.loads(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "N",'
        ' "properties": {}, "geometry": {"type": "Polygon",'
        ' "coordinates": [[[0, 0], [NaN, 0], [1, 1], [0, 0]]]}}]}'
    )

    assert refusal(doc) == "features[0] (code 'N'): coordinates[0][1] has a non-finite value NaN"


def test_altitude_is_accepted_and_dropped() -> None:
    ring = [[0, 0, 10], [1, 0, 10], [1, 1, 10], [0, 1, 10], [0, 0, 10]]

    parsed = geometry(parse_one(feature("ALT", [ring])))

    assert parsed.equals(Polygon(SQUARE))
    assert not parsed.has_z


def test_unclosed_ring_is_refused() -> None:
    ring = [[0, 0], [1, 0], [1, 1], [0, 1]]

    assert refusal(collection(feature("OPEN", [ring]))) == (
        "features[0] (code 'OPEN'): coordinates[0] is not closed: it starts at [0, 0] and"
        " ends at [0, 1]; repeat the first position at the end"
    )


def test_box_around_the_whole_world_is_read_as_drawn() -> None:
    ring = [[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]

    parsed = parse_one(feature("WORLD", [ring]))

    assert geometry(parsed).equals(Polygon(ring))
    assert parsed.notes == ()


def test_pole_cap_drawn_along_the_map_edge_is_read_as_drawn() -> None:
    # The usual planar drawing of Antarctica: down the map's edge and back along -90.
    ring = [[-180, -80], [0, -70], [180, -80], [180, -90], [-180, -90], [-180, -80]]

    parsed = parse_one(feature("SOUTH", [ring]))

    assert geometry(parsed).equals(Polygon(ring))
    assert parsed.notes == ()


def test_holes_that_overlap_each_other_are_both_cut_out_with_a_note() -> None:
    coordinates = [
        [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
        [[1, 1], [5, 1], [5, 5], [1, 5], [1, 1]],
        [[3, 3], [7, 3], [7, 7], [3, 7], [3, 3]],
    ]

    parsed = parse_one(feature("HOLES", coordinates))

    assert geometry(parsed).area == 100 - 28
    assert parsed.notes == ("repaired the geometry: Self-intersection[3 5]",)
