"""Territory lookups right everywhere on Earth: the three shipped maps read by the
importer and queried through the territory index agree, feature by feature, with an
independent reading of the same coordinates (tests/geo_oracle.py); the cases the
antimeridian, enclaves and overlapping maps bring, one by one."""

from __future__ import annotations

import random

import pytest

from tests import geo_oracle
from tracker.domain.geojson import parse_feature_collection
from tracker.domain.territory_index import TerritoryIndex, TerritoryRecord

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
