"""Territory outlines for the pages' maps: simplified once per territory, and redrawn
when the territory is imported again."""

from __future__ import annotations

from tracker.services import maps, masterdata
from tracker.services.auth import SYSTEM


def square(code: str, west: float, size: float) -> dict[str, object]:
    ring = [[west, 0], [west + size, 0], [west + size, size], [west, size], [west, 0]]
    return {"type": "Feature", "properties": {"code": code, "name": f"Area {code}"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_an_outline_follows_a_new_import_of_its_territory(session):
    masterdata.import_territories(session, actor=SYSTEM, collection={
        "type": "FeatureCollection", "features": [square("A", 0, 2), square("B", 10, 2)]})
    first = maps.outlines(session, ["A", "B", "nowhere"])
    assert maps.outlines(session, ["A"])["A"] == first["A"]  # asked again: the same
    assert set(first) == {"A", "B"}

    masterdata.import_territories(session, actor=SYSTEM, collection={
        "type": "FeatureCollection", "features": [square("A", 40, 4)]})
    moved = maps.outlines(session, ["A", "B"])

    assert moved["A"].anchor[0] > 40 and first["A"].anchor[0] < 2
    assert moved["A"].geometry != first["A"].geometry
    assert moved["B"] == first["B"]
