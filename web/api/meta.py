"""Who am I, and the OpenAPI description of the API."""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request

from tracker.db import write_transaction
from tracker.services import auth
from web import throttle
from web.api import bp, forget_tokens, render
from web.api.masterdata import created
from web.db import get_session


@bp.get("/me")
def get_me() -> Response:
    actor = g.actor
    return jsonify({"name": actor.name, "role": actor.role.value, "party": actor.party_id})


@bp.get("/tokens")
def get_tokens() -> Response:
    """The signed-in user's tokens; an admin may ask for another user's (?user=NAME)."""
    rows = auth.list_tokens(get_session(), actor=g.actor, user_name=request.args.get("user"))
    return jsonify({"items": [render.api_token(t) for t in rows]})


@bp.post("/tokens")
def post_token() -> Response:
    """Another bearer token for the signed-in user (or, for an admin, ?user=NAME)."""
    refused = throttle.first_refusal(("token", g.actor.name))
    if refused is not None:
        return throttle.too_many(refused, f"too many tokens issued to {g.actor.name}; "
                                          f"try again in {refused.retry_after} s")
    session = get_session()
    with write_transaction(session):
        row, token = auth.create_token(session, actor=g.actor,
                                       user_name=request.args.get("user"))
        body = render.api_token(row, token)
    return created(body)


@bp.delete("/tokens/<int:token_id>")
def delete_token(token_id: int) -> Response:
    """Revoke a token: one's own, or as admin anyone's. Gone at once in this process; the
    other server processes drop it from their cache within TOKEN_CACHE_SECONDS."""
    session = get_session()
    with write_transaction(session):
        row = auth.revoke_token(session, token_id, actor=g.actor)
        body = render.api_token(row)
    forget_tokens()
    return jsonify(body)


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


def _report(summary: str) -> dict[str, Any]:
    """A report: JSON by default, CSV with ?format=csv; since/until are dates or instants."""
    op = _op(summary, params=[_query("since"), _query("until"), _query("format")],
             errors=(422,))
    op["responses"]["200"]["content"]["text/csv"] = {}
    op["parameters"][2]["schema"] = {"type": "string", "enum": ["json", "csv"]}
    return op


def _evidence_op() -> dict[str, Any]:
    """A note and a JPEG photo on one of the inspector's own scans, as a form."""
    op = _op("Attach a note and/or a JPEG photo to one's own scan; sending again replaces",
             ok=201, params=[_path("id", "integer")], errors=(400, 404, 413, 422))
    op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": {
            "note": {"type": "string", "maxLength": 2000},
            "photo": {"type": "string", "format": "binary",
                      "description": "a JPEG image (TRACKER_MAX_PHOTO_BYTES, 5 MB)"}}}}}}
    return op


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "tracker API", "version": "1",
             "description": "Serial numbers per territory, custody and field-scan verdicts."},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "paths": {
        "/me": {"get": _op("The signed-in user")},
        "/tokens": {
            "get": _op("The signed-in user's bearer tokens (admin: ?user=NAME)",
                       params=[_query("user")], errors=(404,)),
            "post": _op("Another bearer token, shown once (admin: ?user=NAME)", ok=201,
                        params=[_query("user")], errors=(404, 409)),
        },
        "/tokens/{id}": {"delete": _op("Revoke a bearer token", params=[_path("id", "integer")],
                                       errors=(404, 409))},
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
        "/serials/{serial}/trace": {"get": _op(
            "The serial's batch, territory, events and scans in time order, and where it is now",
            params=[_path("serial")], errors=(400, 404, 422))},
        "/batches/{id}/recall": {"post": _op("Recall every serial of the batch", body="Recall",
                                             params=[_path("id", "integer")],
                                             errors=(404, 409, 422))},
        "/shipments": {
            "post": _op("Ship codes (items, cases, pallets) from one party to another", ok=201,
                        body="Shipment", errors=(400, 409, 422)),
            "get": _op("List shipments", params=[_query("status"), _query("from"), _query("to"),
                                                  _query("limit", "integer"),
                                                  _query("offset", "integer")]),
        },
        "/shipments/{id}": {"get": _op("One shipment with its codes and receipt status",
                                       params=[_path("id", "integer")], errors=(404,))},
        "/shipments/{id}/receive": {"post": _op(
            "Confirm receipt of all codes, or of those listed (the rest are missing)",
            body="Receipt", params=[_path("id", "integer")], errors=(404, 422))},
        "/containers": {"post": _op("Issue SSCCs for cases or pallets", ok=201,
                                    body="Containers", errors=(400, 422))},
        "/containers/labels.pdf": {"get": _op(
            "Label sheets of SSCCs", ok_type="application/pdf",
            params=[_query("party"), _query("sscc"), _query("columns", "integer"),
                    _query("rows", "integer")], errors=(422,))},
        "/containers/{sscc}/pack": {"post": _op("Pack held codes into a case or pallet",
                                                body="Packing", params=[_path("sscc")],
                                                errors=(409, 422))},
        "/containers/{sscc}/unpack": {"post": _op("Take codes out of a case or pallet",
                                                  body="Packing", params=[_path("sscc")],
                                                  errors=(409, 422))},
        "/containers/{sscc}/qr.png": {"get": _op("QR code of the SSCC's Digital Link URI",
                                                 ok_type="image/png", params=[_path("sscc")],
                                                 errors=(422,))},
        "/epcis/capture": {"post": _op(
            "Capture an EPCISDocument (GS1-Capture-Error-Behaviour: rollback|proceed)", ok=202,
            errors=(400, 413, 422))},
        "/epcis/capture/{id}": {"get": _op("A capture job: running, success, errors",
                                           params=[_path("id", "integer")], errors=(404,))},
        "/epcis/events": {
            "post": _op("Capture one EPCIS event", ok=201, errors=(400, 409, 422)),
            "get": _op("Query events; EPCISQueryDocument, next page in the Link header",
                       params=[_query(n) for n in (
                           "eventType", "EQ_bizStep", "EQ_disposition", "EQ_action",
                           "EQ_readPoint", "EQ_bizLocation", "EQ_eventID", "MATCH_epc",
                           "MATCH_anyEPC", "MATCH_parentID", "MATCH_inputEPC",
                           "MATCH_outputEPC", "MATCH_epcClass", "GE_eventTime",
                           "LT_eventTime", "GE_recordTime", "LT_recordTime",
                           "nextPageToken")] + [_query("perPage", "integer")],
                       errors=(422,)),
        },
        "/epcis/events/{eventID}": {"get": _op("One event by eventID",
                                               params=[_path("eventID")], errors=(404,))},
        "/custody-exceptions": {"get": _op("Captured events that contradict recorded custody")},
        "/scans": {
            "post": _op("Judge a field scan", ok=201, body="Scan", errors=(400, 422)),
            "get": _op("Scans (an inspector sees its own)"),
        },
        "/scans/{id}/evidence": {"post": _evidence_op()},
        "/scans/{id}/photo": {"get": _op(
            "The scan's evidence photo as sent (the scan's inspector, compliance, admin)",
            ok_type="image/jpeg", params=[_path("id", "integer")], errors=(404,))},
        "/violations": {"get": _op("List violations", params=[
            _query("status"), _query("type"), _query("party"), _query("territory"),
            _query("limit", "integer"), _query("offset", "integer")], errors=(422,))},
        "/violations/{id}": {
            "get": _op("A violation with its scans, custody chain and audit trail",
                       params=[_path("id", "integer")], errors=(404,)),
            "patch": _op("Review: change status with a note", body="Review",
                         params=[_path("id", "integer")], errors=(404, 409, 422)),
        },
        "/reports/flows": {"get": _report(
            "Diversion flows: diverted violations opened in the period, per expected and "
            "found territory")},
        "/reports/scorecard": {"get": _report(
            "Per distributor: units received, violations, rate per 1,000, confirmed, "
            "repeat offender")},
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
                                 "expiry": {"type": "string", "format": "date"},
                                 "party": {"type": "string"}}},
            "Recall": {"type": "object", "required": ["reason"],
                       "properties": {"reason": {"type": "string"}}},
            "Shipment": {"type": "object", "required": ["from", "to", "codes"], "properties": {
                "from": {"type": "string"}, "to": {"type": "string"},
                "codes": {"type": "array", "items": {"type": "string"}}}},
            "Receipt": {"type": "object", "properties": {
                "codes": {"type": "array", "items": {"type": "string"}}}},
            "Containers": {"type": "object", "required": ["party", "kind"], "properties": {
                "party": {"type": "string"}, "kind": {"enum": ["case", "pallet"]},
                "count": {"type": "integer", "minimum": 1, "maximum": 10000},
                "company_prefix": {"type": "string"}}},
            "Packing": {"type": "object", "required": ["party"], "properties": {
                "party": {"type": "string"},
                "codes": {"type": "array", "items": {"type": "string"}}}},
            "Scan": {"type": "object", "required": ["code", "latitude", "longitude"],
                     "properties": {
                         "code": {"type": "string"},
                         "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                         "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                         "accuracy_m": {"type": "number", "minimum": 0},
                         "scanned_at": {"type": "string", "format": "date-time"},
                         "client_scan_id": {"type": "string"},
                         "device_id": {"type": "string"}}},
            "Review": {"type": "object", "required": ["status", "note"], "properties": {
                "status": {"enum": ["investigating", "confirmed", "dismissed", "resolved"]},
                "note": {"type": "string"}}},
        },
    },
}
