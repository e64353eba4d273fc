"""Verdicts over HTTP right everywhere on Earth: each shipped map imported through
``POST /territories``, a seeded sample of its territories judged through ``POST /scans``
at points an independent reading of the map (tests/geo_oracle.py) puts inside them or at
least a kilometre outside; the antimeridian and enclave cases end to end."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from tests import geo_oracle
from tests.unit.test_everywhere import CHUKOTKA_EAST, lesotho_border_points

GTIN = "04601234000116"
# Scans are spread a day apart from here: all of them in the past (the server does not
# believe a device's time in its future: tracker.services.scans.scan_time).
T0 = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)
# Territories judged per map: these, then a seeded random choice up to SAMPLE.
ALWAYS = {"countries": ["Russia", "Fiji", "Lesotho", "South Africa", "United States of America",
                        "Kiribati", "New Zealand", "Antarctica"],
          "us_states": ["02", "15"], "cn_provinces": ["CN-GD", "CN-HI"]}
SAMPLE = {"countries": 40, "us_states": 16, "cn_provinces": 12}
POINTS = 2  # inside and outside, per territory
OUTSIDE_BY_M = 1000.0
ACCURACY_M = 10.0


@pytest.fixture()
def field(client, admin, make_token):  # type: ignore[no-untyped-def]
    """import_map(name) -> the map's oracle features; batch(code, n) -> n serials for a
    territory; scan(serial, lon, lat, at) -> the verdict's body."""
    inspector = {"Authorization": f"Bearer {make_token('inspector')}"}
    response = client.post("/api/v1/products", json={"gtin": GTIN, "name": "Tea"}, headers=admin)
    assert response.status_code == 201, response.get_json()

    class Field:
        @staticmethod
        def import_map(name: str) -> dict[str, geo_oracle.Feature]:
            doc = geo_oracle.shipped_map(name)
            response = client.post("/api/v1/territories", json=doc, headers=admin)
            assert response.status_code == 201, response.get_json()
            return {f.code: f for f in geo_oracle.features(doc)}

        @staticmethod
        def batch(code: str, quantity: int) -> list[str]:
            response = client.post("/api/v1/batches", headers=admin, json={
                "gtin": GTIN, "territory": code, "quantity": quantity})
            assert response.status_code == 201, response.get_json()
            codes = client.get(f"/api/v1/batches/{response.get_json()['id']}/codes",
                               headers=admin).get_data(as_text=True).splitlines()[1:]
            return [line.split(",")[1] for line in codes]

        @staticmethod
        def scan(code: str, lon: float, lat: float, at: dt.datetime,
                 accuracy_m: float = ACCURACY_M) -> dict:
            response = client.post("/api/v1/scans", headers=inspector, json={
                "code": code, "latitude": lat, "longitude": lon, "accuracy_m": accuracy_m,
                "scanned_at": at.isoformat()})
            assert response.status_code == 201, response.get_json()
            return response.get_json()

    return Field()


@pytest.mark.parametrize("map_name", list(geo_oracle.SHIPPED_MAPS))
def test_sampled_territories_are_judged_right_inside_and_a_kilometre_outside(field, map_name):
    features = field.import_map(map_name)
    rng = random.Random(f"20261206-scans-{map_name}")
    others = sorted(set(features) - set(ALWAYS[map_name]))
    chosen = ALWAYS[map_name] + rng.sample(others, SAMPLE[map_name] - len(ALWAYS[map_name]))
    at = T0
    judged = 0
    for code in chosen:
        feature = features[code]
        inside = feature.sample_inside(rng, POINTS)
        outside = feature.sample_outside(rng, POINTS, OUTSIDE_BY_M + ACCURACY_M)
        serials = field.batch(code, len(inside) + len(outside))
        for serial, (lon, lat) in zip(serials, inside, strict=False):
            answer = field.scan(serial, lon, lat, at)
            assert (answer["verdict"], answer["found_territory"], answer["flags"]) == (
                "authentic", code, []), (code, lon, lat)
        for serial, (lon, lat) in zip(serials[len(inside):], outside, strict=True):
            answer = field.scan(serial, lon, lat, at)
            assert answer["verdict"] == "diverted", (code, lon, lat, answer)
            assert answer["found_territory"] != code
            assert answer["flags"] == ["outside_expected"]
        judged += len(serials)
        at += dt.timedelta(days=1)
    assert judged >= len(chosen) * 2 * POINTS - 2


def test_the_edges_of_the_earth_end_to_end(field):
    field.import_map("countries")
    russia = field.batch("Russia", len(CHUKOTKA_EAST) + 2)
    for serial, (lon, lat) in zip(russia, CHUKOTKA_EAST, strict=False):
        answer = field.scan(serial, lon, lat, T0)
        assert (answer["verdict"], answer["found_territory"]) == ("authentic", "Russia")

    # One item scanned either side of 180 five minutes apart: 1.8 km, no clone.
    straddling = russia[-1]
    first = field.scan(straddling, -179.98, 65.8, T0)
    second = field.scan(straddling, 179.98, 65.8, T0 + dt.timedelta(minutes=5))
    assert (first["verdict"], second["verdict"]) == ("authentic", "authentic")
    assert second["flags"] == []

    # Goods for Lesotho 300 m across its border: the accuracy circle decides.
    in_lesotho, in_south_africa = lesotho_border_points(300.0)
    lesotho = field.batch("Lesotho", 2)
    near = field.scan(lesotho[0], *in_south_africa, T0, accuracy_m=500.0)
    far = field.scan(lesotho[1], *in_south_africa, T0, accuracy_m=100.0)
    assert (near["verdict"], near["near_border"], near["violation_id"]) == (
        "authentic", True, None)
    assert (far["verdict"], far["found_territory"]) == ("diverted", "South Africa")
    assert far["violation_id"] is not None


def islet(code: str, ring: list[list[float]]) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "name": "Islet"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}


def test_an_import_says_which_features_it_read_across_the_antimeridian(client, admin):
    response = client.post("/api/v1/territories", headers=admin, json=islet("ISLET", [
        [179.9, -16.5], [180, -16.5], [-180, -16.5], [-179.9, -16.5], [-179.9, -16.4],
        [-180, -16.4], [180, -16.4], [179.9, -16.4], [179.9, -16.5]]))

    assert response.status_code == 201
    (notes,) = response.get_json()["notes"]
    assert notes["code"] == "ISLET"
    assert notes["notes"][0] == "split at the antimeridian"
    assert notes["notes"][1].startswith("read coordinates[0] across the antimeridian")
    stored = client.get("/api/v1/territories/ISLET", headers=admin).get_json()
    assert stored["import_notes"] == notes["notes"]
    assert stored["geometry"]["type"] == "MultiPolygon"
    assert stored["bbox"] == [179.9, -16.5, -179.9, -16.4]  # across 180, RFC 7946 5.2


def test_a_sliver_round_the_globe_is_refused_and_nothing_is_imported(client, admin):
    good = islet("GOOD", [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]])
    sliver = islet("SLIVER", [[179.9, -16.5], [0, -16.5], [-179.9, -16.5], [-179.9, -16.4],
                              [0, -16.4], [179.9, -16.4], [179.9, -16.5]])
    both = {"type": "FeatureCollection", "features": good["features"] + sliver["features"]}

    response = client.post("/api/v1/territories", headers=admin, json=both)

    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_geojson"
    assert error["message"].startswith(
        "features[1] (code 'SLIVER', name 'Islet'): coordinates[0] spans 359.8 degrees of"
        " longitude but only 0.1 of latitude")
    assert client.get("/api/v1/territories", headers=admin).get_json()["items"] == []


def test_the_cli_lists_what_an_import_split(run_cli, tmp_path):
    path = tmp_path / "countries.geojson"
    path.write_text(json.dumps(geo_oracle.shipped_map("countries")), encoding="utf-8")

    (result,) = json.loads(run_cli("territories", "import", str(path)).stdout)

    assert result["created"] == 241
    assert {n["code"]: n["notes"][0] for n in result["notes"]} == {
        "Russia": "split at the antimeridian", "Fiji": "split at the antimeridian",
        "Antarctica": "moved longitudes beyond ±180 into -180..180"}


def test_the_offshore_tolerance_comes_from_the_environment(db, run_cli, tmp_path):
    path = tmp_path / "countries.geojson"
    path.write_text(json.dumps(geo_oracle.shipped_map("countries")), encoding="utf-8")
    run_cli("territories", "import", str(path))
    run_cli("products", "create", GTIN, "Tea")
    run_cli("batches", "issue", "--gtin", GTIN, "--territory", "Russia", "--quantity", "2")
    out = tmp_path / "codes.csv"
    run_cli("batches", "codes", "1", "--output", str(out))
    first, second = (line.split(",")[1] for line in out.read_text().splitlines()[1:])
    lorino_coast = ("--lat", "65.5", "--lon", "-172.0", "--accuracy", "20")

    strict = json.loads(run_cli("scan", first, *lorino_coast).stdout)
    lenient = json.loads(run_cli("scan", second, *lorino_coast,
                                 env={"TRACKER_OFFSHORE_TOLERANCE_M": "5000"}).stdout)

    assert (strict["verdict"], strict["found_territory"]) == ("diverted", None)
    assert (lenient["verdict"], lenient["near_border"]) == ("authentic", True)
