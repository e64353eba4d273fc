"""The OpenAPI document: valid OpenAPI 3, built from the routes the app has, with the
answers described; and the request models refuse bad input as the contract says."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

API = "/api/v1"


def shape(path: str) -> str:
    """A path with its variables blanked: Flask's <int:x> and OpenAPI's {x} compare equal."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


@pytest.fixture()
def document(client):  # type: ignore[no-untyped-def]
    response = client.get(f"{API}/openapi.json")  # public: no token
    assert response.status_code == 200
    return response.get_json()


def test_the_document_is_valid_openapi_3(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_route_is_described_and_every_description_is_a_route(app, document):
    routed = {(shape(rule.rule), method.lower()) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api.")
              for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    described = {(shape(API + path), method) for path, item in document["paths"].items()
                 for method in item}
    assert routed - described == set()
    assert described - routed == set()


def test_every_path_variable_is_a_declared_parameter(document):
    for path, item in document["paths"].items():
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", path)), (method, path)


def test_every_success_answer_but_no_content_has_a_described_body(document):
    for path, item in document["paths"].items():
        for method, op in item.items():
            ok = [status for status in op["responses"] if status.startswith("2")]
            assert len(ok) == 1, (method, path)
            if ok == ["204"]:
                assert "content" not in op["responses"]["204"]
                continue
            content = op["responses"][ok[0]]["content"]
            assert content and all(media["schema"] for media in content.values()), (method, path)


def test_every_error_answer_is_the_error_body(document):
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    # GS1's EPCIS binding answers RFC 7807 problems (carrying the error member too).
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in document["paths"].items():
        for op in item.values():
            for status, answer in op["responses"].items():
                if status.startswith("4"):
                    wanted = problem if path.startswith("/epcis") else error
                    assert answer["content"] == wanted, (path, status)
    assert document["components"]["schemas"]["Problem"]["properties"]["error"] == {
        "$ref": "#/components/schemas/ErrorDetail"}
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert detail["required"] == ["code", "message"]


def test_only_the_document_itself_is_public(document):
    public = [(method, path) for path, item in document["paths"].items()
              for method, op in item.items() if op.get("security") == []]
    assert public == [("get", "/openapi.json")]
    assert document["security"] == [{"bearer": []}]


@pytest.mark.parametrize(("path", "method", "media"), [
    ("/territories", "post", "application/geo+json"),
    ("/shipments/{shipment_id}/receive", "post", "text/csv"),
    ("/epcis/capture", "post", "application/ld+json"),
    ("/scans/{scan_id}/evidence", "post", "multipart/form-data"),
])
def test_non_json_bodies_are_described_with_their_media_type(document, path, method, media):
    assert media in document["paths"][path][method]["requestBody"]["content"]


@pytest.mark.parametrize(("path", "media"), [
    ("/batches/{batch_id}/codes", "text/csv"),
    ("/batches/{batch_id}/labels.pdf", "application/pdf"),
    ("/serials/{serial}/qr.png", "image/png"),
    ("/scans/{scan_id}/photo", "image/jpeg"),
    ("/reports/flows", "text/csv"),
])
def test_non_json_answers_are_described_with_their_media_type(document, path, media):
    assert media in document["paths"][path]["get"]["responses"]["200"]["content"]


def test_request_and_answer_models_are_components(document):
    schemas = document["components"]["schemas"]
    batch = document["paths"]["/batches"]["post"]
    assert batch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BatchIn"}
    assert schemas["BatchIn"]["required"] == ["gtin", "territory", "quantity"]
    assert schemas["BatchIn"]["properties"]["quantity"]["maximum"] == 1_000_000
    assert batch["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Batch"}
    assert set(schemas["Shipment"]["properties"]) >= {"from", "to", "status"}
    limit = next(p for p in document["paths"]["/batches"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit == {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 1000,
                                "default": 100}}


@pytest.mark.parametrize(("body", "status", "error"), [
    ({"gtin": "09506000134352"}, 422,
     {"code": "missing_field", "message": "field 'name' is required"}),
    ({"gtin": "09506000134352", "name": None}, 422,
     {"code": "missing_field", "message": "field 'name' is required"}),
    ({"gtin": 9506000134352, "name": "x"}, 422,
     {"code": "invalid_field", "message": "field 'gtin' must be a string, not 9506000134352"}),
    ({"gtin": "09506000134352", "name": "x", "company_prefix_length": "7"}, 422,
     {"code": "invalid_field",
      "message": "field 'company_prefix_length' must be a whole number, not '7'"}),
    ([1, 2], 400, {"code": "invalid_json", "message": "the request body must be a JSON object"}),
])
def test_a_body_the_model_refuses_names_the_field(client, admin, body, status, error):
    response = client.post(f"{API}/products", json=body, headers=admin)
    assert (response.status_code, response.get_json()) == (status, {"error": error})


def test_a_list_item_of_the_wrong_type_is_named_with_its_place(client, admin):
    response = client.post(f"{API}/shipments", json={"from": "a", "to": "b", "codes": ["x", 5]},
                           headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"] == {"code": "invalid_field",
                                            "message": "field 'codes[1]' must be a string, not 5"}


@pytest.mark.parametrize(("query", "message"), [
    ("limit=0", "query parameter 'limit' must be between 1 and 1,000, not 0"),
    ("limit=ten", "query parameter 'limit' must be a whole number, not 'ten'"),
    ("offset=-1", "query parameter 'offset' must be a whole number, not '-1'"),
])
def test_a_query_the_model_refuses_names_the_parameter(client, admin, query, message):
    response = client.get(f"{API}/batches?{query}", headers=admin)
    assert response.status_code == 422
    assert response.get_json() == {"error": {"code": "invalid_parameter", "message": message}}


def test_a_date_field_must_be_a_calendar_date(client, admin):
    response = client.post(f"{API}/batches", headers=admin, json={
        "gtin": "09506000134352", "territory": "T", "quantity": 1, "expiry": "20271231"})
    assert response.status_code == 422
    assert response.get_json()["error"] == {
        "code": "invalid_field",
        "message": "field 'expiry' must be a date as YYYY-MM-DD, not '20271231'"}


# Found by tests/web/test_schemathesis.py, each a server error before it was fixed.

def test_a_json_string_holding_nul_is_refused_naming_the_field(client, admin):
    response = client.post(f"{API}/shipments", headers=admin,
                           json={"from": "a", "to": "b", "codes": ["x", "y\u0000"]})
    assert response.status_code == 422
    assert response.get_json()["error"] == {
        "code": "invalid_field",
        "message": "field 'codes[1]' contains the NUL character (\\u0000), which no text "
                   "may hold"}


@pytest.mark.parametrize(("path", "message"), [
    ("/shipments?from=a%00b", "query parameter 'from' contains the NUL character (\\u0000), "
                              "which no text may hold"),
    ("/parties/a%00b", "the path's 'party_id' contains the NUL character (\\u0000), which no "
                       "text may hold"),
])
def test_an_address_holding_nul_is_refused(client, admin, path, message):
    response = client.get(API + path, headers=admin)
    assert response.status_code == 422
    assert response.get_json() == {"error": {"code": "invalid_parameter", "message": message}}


def test_an_id_beyond_any_column_is_not_found(client, admin):
    response = client.get(f"{API}/batches/99999999999999999999", headers=admin)
    assert response.status_code == 404
    assert response.get_json() == {"error": {
        "code": "unknown_batch", "message": "batch 99999999999999999999 does not exist"}}


def test_an_offset_beyond_any_row_is_refused(client, admin):
    response = client.get(f"{API}/scans?offset=99999999999999999999", headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == (
        "query parameter 'offset' must be between 0 and 2,147,483,647, not 99999999999999999999")


def test_a_lot_that_is_not_a_string_is_refused_by_the_model(client, admin):
    response = client.post(f"{API}/batches", headers=admin, json={
        "gtin": "09506000134352", "territory": "T", "quantity": 1, "lot": 1.5})
    assert response.status_code == 422
    assert response.get_json()["error"] == {"code": "invalid_field",
                                            "message": "field 'lot' must be a string, not 1.5"}


def test_an_empty_filter_is_no_filter(client, admin):
    response = client.get(f"{API}/shipments?status=&from=", headers=admin)
    assert response.status_code == 200
    assert response.get_json()["items"] == []
