"""Who am I, and the OpenAPI description of the API."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify

from web.api import bp


@bp.get("/me")
def get_me() -> Response:
    actor = g.actor
    return jsonify({"name": actor.name, "role": actor.role.value, "party": actor.party_id})


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(SPEC)


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _op(summary: str, *, body: str | None = None, ok: int = 200, ok_type: str = "application/json",
        params: list[dict[str, Any]] | None = None, errors: tuple[int, ...] = ()) -> dict[str, Any]:
    responses: dict[str, Any] = {str(ok): {"description": "success", "content": {ok_type: {}}}}
    for status in (401, 403, *errors):
        responses[str(status)] = _error({400: "malformed request", 401: "no or bad token",
                                         403: "the role may not do this", 404: "not found",
                                         409: "conflict", 413: "body too large",
                                         422: "invalid values"}[status])
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    if params:
        op["parameters"] = params
    return op


def _path(name: str, schema: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": schema}}


def _query(name: str, schema: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": schema}}


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "tracker API", "version": "1",
             "description": "Serial numbers per territory, custody and field-scan verdicts."},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "paths": {
        "/me": {"get": _op("The signed-in user")},
        "/territories": {
            "post": _op("Import territories from a GeoJSON FeatureCollection", ok=201,
                        body="FeatureCollection", params=[_query("code_property")],
                        errors=(400, 413, 422)),
            "get": _op("List territories"),
        },
        "/territories/{code}": {"get": _op("One territory with its geometry",
                                           params=[_path("code")], errors=(404,))},
        "/products": {"post": _op("Create a product", ok=201, body="Product",
                                  errors=(400, 409, 422)),
                      "get": _op("List products")},
        "/parties": {"post": _op("Create a party", ok=201, body="Party", errors=(400, 409, 422)),
                     "get": _op("List parties")},
        "/parties/{id}": {"get": _op("One party", params=[_path("id")], errors=(404,))},
        "/batches": {"post": _op("Issue a batch of serial numbers", ok=201, body="BatchRequest",
                                 errors=(400, 422)),
                     "get": _op("List batches", params=[_query("limit", "integer"),
                                                        _query("offset", "integer")])},
        "/batches/{id}": {"get": _op("One batch", params=[_path("id", "integer")],
                                     errors=(404,))},
        "/batches/{id}/codes": {"get": _op(
            "The batch's codes as CSV (serial,uri)", ok_type="text/csv",
            params=[_path("id", "integer"), _query("columns")], errors=(404, 422))},
        "/batches/{id}/labels.pdf": {"get": _op(
            "Printable label sheets", ok_type="application/pdf",
            params=[_path("id", "integer"), _query("offset", "integer"),
                    _query("limit", "integer"), _query("columns", "integer"),
                    _query("rows", "integer")], errors=(404, 422))},
        "/serials/{serial}": {"get": _op("One serial's codes and batch",
                                         params=[_path("serial")], errors=(400, 404, 422))},
        "/serials/{serial}/qr.png": {"get": _op("QR code of the serial's Digital Link URI",
                                                ok_type="image/png", params=[_path("serial")],
                                                errors=(400, 404, 422))},
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            "FeatureCollection": {"type": "object", "required": ["type", "features"],
                                  "properties": {"type": {"enum": ["FeatureCollection"]},
                                                 "features": {"type": "array"}}},
            "Product": {"type": "object", "required": ["gtin", "name"], "properties": {
                "gtin": {"type": "string"}, "name": {"type": "string"},
                "company_prefix_length": {"type": "integer", "minimum": 6, "maximum": 12}}},
            "Party": {"type": "object", "required": ["id", "role"], "properties": {
                "id": {"type": "string"}, "name": {"type": "string"},
                "role": {"enum": ["brand", "distributor", "retailer"]},
                "territories": {"type": "array", "items": {"type": "string"}},
                "parent": {"type": "string"}}},
            "BatchRequest": {"type": "object", "required": ["gtin", "territory", "quantity"],
                             "properties": {
                                 "gtin": {"type": "string"}, "territory": {"type": "string"},
                                 "quantity": {"type": "integer", "minimum": 1,
                                              "maximum": 1_000_000},
                                 "lot": {"type": "string", "maxLength": 20},
                                 "expiry": {"type": "string", "format": "date"}}},
        },
    },
}
