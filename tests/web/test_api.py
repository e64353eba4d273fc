"""The JSON API as a client uses it: tokens, roles, error bodies, codes and labels."""

from __future__ import annotations

import csv
import io

import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from tests.conftest import MAPS, load_json
from tracker.domain.codes import parse_code

GTIN = "09506000134352"
SQUARE = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"code": "T1", "name": "Test land"},
    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
}]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_of(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


@pytest.fixture()
def seeded(client, admin):  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/territories", json=SQUARE, headers=admin).status_code == 201
    assert client.post("/api/v1/products", json={"gtin": GTIN, "name": "Tea"},
                       headers=admin).status_code == 201
    return client


def issue(client, headers, quantity=10, **extra):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/batches", headers=headers,
                           json={"gtin": GTIN, "territory": "T1", "quantity": quantity, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_no_token_is_401_with_error_body(client):
    response = client.get("/api/v1/territories")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token_is_401(client, db):
    response = client.get("/api/v1/territories", headers=bearer("trk_nope"))
    assert response.status_code == 401
    assert error_of(response) == {"code": "invalid_token",
                                  "message": "the bearer token is not valid or has been revoked"}


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("inspector", "post", "/api/v1/batches", {"gtin": GTIN, "territory": "T1",
                                                 "quantity": 1}),
        ("compliance", "post", "/api/v1/territories", SQUARE),
        ("distributor", "post", "/api/v1/products", {"gtin": GTIN, "name": "x"}),
        ("inspector", "get", "/api/v1/batches", None),
    ],
)
def test_wrong_role_is_403(seeded, make_token, role, method, path, body):
    if role == "distributor":
        seeded.post("/api/v1/parties", headers=bearer(make_token("admin")),
                    json={"id": "d1", "name": "D", "role": "distributor"})
        token = make_token(role, "d1")
    else:
        token = make_token(role)
    response = getattr(seeded, method)(path, json=body, headers=bearer(token))
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_openapi_description_lists_the_paths(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/territories", "/batches", "/batches/{batch_id}/codes",
            "/serials/{serial}/qr.png"} <= set(spec["paths"])


def test_post_territories_counts_created_and_updated(client, admin):
    china = load_json(MAPS / "cn_provinces_ne10m.geojson")
    first = client.post("/api/v1/territories?code_property=iso_3166_2", json=china,
                        headers=admin)
    assert first.status_code == 201
    assert {k: first.get_json()[k] for k in ("created", "updated")} == {"created": 32,
                                                                       "updated": 0}
    again = client.post("/api/v1/territories?code_property=iso_3166_2", json=china,
                        headers=admin)
    assert {k: again.get_json()[k] for k in ("created", "updated")} == {"created": 0,
                                                                       "updated": 32}
    gd = client.get("/api/v1/territories/CN-GD", headers=admin).get_json()
    assert gd["name"] == "Guangdong" and gd["geometry"]["type"] in {"Polygon", "MultiPolygon"}


def test_not_a_feature_collection_is_422(client, admin):
    response = client.post("/api/v1/territories", json={"type": "Feature"}, headers=admin)
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_geojson"


def test_unrepairable_polygon_is_refused_and_nothing_is_written(client, admin):
    good = SQUARE["features"][0]
    flat = {"type": "Feature", "properties": {"code": "FLAT", "name": "Flat"},
            "geometry": {"type": "Polygon",
                         "coordinates": [[[0, 0], [1, 1], [2, 2], [1, 1], [0, 0]]]}}
    response = client.post("/api/v1/territories", headers=admin,
                           json={"type": "FeatureCollection", "features": [good, flat]})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_geojson" and "FLAT" in error["message"]
    assert client.get("/api/v1/territories", headers=admin).get_json()["items"] == []


def test_bowtie_polygon_is_repaired_with_a_note(client, admin):
    bowtie = {"type": "Feature", "properties": {"code": "BOW", "name": "Bow"},
              "geometry": {"type": "Polygon",
                           "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}}
    response = client.post("/api/v1/territories", headers=admin,
                           json={"type": "FeatureCollection", "features": [bowtie]})
    assert response.status_code == 201
    bow = client.get("/api/v1/territories/BOW", headers=admin).get_json()
    assert bow["geometry"]["type"] == "MultiPolygon"
    assert bow["import_notes"]


def test_malformed_json_is_400(client, admin):
    response = client.post("/api/v1/products", data="{not json",
                           headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"gtin": "09506000134353", "name": "x"}, 422, "invalid_gtin"),
        ({"gtin": "12345", "name": "x"}, 422, "invalid_gtin"),
        ({"name": "x"}, 422, "missing_field"),
        ({"gtin": 9506000134352, "name": "x"}, 422, "invalid_field"),
    ],
)
def test_bad_products_are_refused(client, admin, body, status, code):
    response = client.post("/api/v1/products", json=body, headers=admin)
    assert response.status_code == status
    assert error_of(response)["code"] == code


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"territory": "NOWHERE"}, "unknown_territory"),
        ({"gtin": "4006381333931"}, "unknown_gtin"),
        ({"gtin": "4006381333932"}, "invalid_gtin"),
        ({"quantity": 0}, "invalid_quantity"),
        ({"quantity": 1_000_001}, "invalid_quantity"),
        ({"expiry": "31/12/2027"}, "invalid_field"),
    ],
)
def test_bad_batches_are_422(seeded, admin, change, code):
    body = {"gtin": GTIN, "territory": "T1", "quantity": 5, **change}
    response = seeded.post("/api/v1/batches", json=body, headers=admin)
    assert response.status_code == 422
    assert error_of(response)["code"] == code
    assert seeded.get("/api/v1/batches", headers=admin).get_json()["items"] == []


def test_issue_and_download_codes_as_csv(seeded, admin):
    batch = issue(seeded, admin, quantity=321, lot="L7", expiry="2027-12-31")
    assert batch["quantity"] == 321 and batch["territory"] == "T1"
    response = seeded.get(f"/api/v1/batches/{batch['id']}/codes", headers=admin)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["serial", "uri"]
    assert len(rows) == 322
    for serial, uri in rows[1:]:
        assert uri == f"https://id.example.com/01/{GTIN}/10/L7/21/{serial}?17=271231"
    assert len({s for s, _ in rows[1:]}) == 321


def test_codes_csv_can_carry_the_epc(seeded, admin):
    batch = issue(seeded, admin, quantity=3)
    text = seeded.get(f"/api/v1/batches/{batch['id']}/codes?columns=serial,epc",
                      headers=admin).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["serial", "epc"]
    assert all(parse_code(epc).serial == serial for serial, epc in rows[1:])


def test_qr_png_decodes_to_the_exact_uri(seeded, admin):
    batch = issue(seeded, admin, quantity=1, lot="L1")
    serial, uri = list(csv.reader(io.StringIO(seeded.get(
        f"/api/v1/batches/{batch['id']}/codes", headers=admin).get_data(as_text=True))))[1]
    response = seeded.get(f"/api/v1/serials/{serial}/qr.png", headers=admin)
    assert response.status_code == 200 and response.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    assert [d.text for d in decoded] == [uri]


def test_mistyped_serial_is_caught_by_the_check_character(seeded, admin):
    batch = issue(seeded, admin, quantity=1)
    serial = list(csv.reader(io.StringIO(seeded.get(
        f"/api/v1/batches/{batch['id']}/codes", headers=admin).get_data(as_text=True))))[1][0]
    swapped = serial[1] + serial[0] + serial[2:] if serial[0] != serial[1] else None
    wrong = next(c for c in "23456789" if c != serial[5])
    typo = serial[:5] + wrong + serial[6:]
    for bad in filter(None, [typo, swapped]):
        response = seeded.get(f"/api/v1/serials/{bad}/qr.png", headers=admin)
        assert response.status_code == 422
        assert error_of(response)["code"] == "bad_check_character"
    response = seeded.get("/api/v1/serials/not-a-serial/qr.png", headers=admin)
    assert response.status_code == 400 and error_of(response)["code"] == "malformed_code"


def test_labels_pdf_decodes_to_the_batch_uris(seeded, admin):
    batch = issue(seeded, admin, quantity=30, lot="L2")
    rows = list(csv.reader(io.StringIO(seeded.get(
        f"/api/v1/batches/{batch['id']}/codes", headers=admin).get_data(as_text=True))))[1:]
    response = seeded.get(f"/api/v1/batches/{batch['id']}/labels.pdf?columns=3&rows=5",
                          headers=admin)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = pypdfium2.PdfDocument(response.data)
    assert len(pdf) == 2  # 15 labels a page
    decoded: list[str] = []
    text = ""
    for page in pdf:
        image = page.render(scale=200 / 72).to_pil()
        decoded += [d.text for d in zxingcpp.read_barcodes(image)]
        text += page.get_textpage().get_text_range()
    assert sorted(decoded) == sorted(uri for _, uri in rows)
    assert all(serial in text for serial, _ in rows)


def test_labels_pdf_over_the_limit_is_refused(seeded, admin):
    batch = issue(seeded, admin, quantity=1)
    response = seeded.get(f"/api/v1/batches/{batch['id']}/labels.pdf?limit=20001",
                          headers=admin)
    assert response.status_code == 422
    assert error_of(response)["code"] == "too_many_labels"


def test_unknown_batch_is_404(client, admin):
    response = client.get("/api/v1/batches/999999", headers=admin)
    assert response.status_code == 404
    assert error_of(response) == {"code": "unknown_batch", "message": "batch 999999 does not exist"}


def test_openapi_describes_every_api_route(app, client):
    import re

    def shape(path: str) -> str:
        return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)

    spec = client.get("/api/v1/openapi.json").get_json()
    described = {(shape("/api/v1" + path), method.upper())
                 for path, ops in spec["paths"].items() for method in ops}
    routed = {(shape(rule.rule), method) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed - described == set()
