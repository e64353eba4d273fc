"""Shipments, receipts, cases and pallets."""

from __future__ import annotations

from typing import Any, Literal, overload

from flask import Response, g, jsonify, request

from tracker.db import write_transaction
from tracker.domain.codes import codes_from_lines
from tracker.domain.labels import LabelLayout, qr_png
from tracker.errors import InvalidInput
from tracker.services import custody
from tracker.services.events import epc_uri
from web.api import bp, render
from web.api.batches import pdf_response
from web.api.inputs import field, int_arg, json_body
from web.api.masterdata import created
from web.body_limits import text_lines, whole_body
from web.db import get_session


@overload
def code_list(body: dict[str, Any], name: str = ..., *, required: Literal[True] = ...
              ) -> list[str]: ...
@overload
def code_list(body: dict[str, Any], name: str = ..., *, required: Literal[False]
              ) -> list[str] | None: ...
def code_list(body: dict[str, Any], name: str = "codes", *, required: bool = True
              ) -> list[str] | None:
    codes = field(body, name, list) if required else field(body, name, list, default=None)
    if codes is None:
        return None
    if not all(isinstance(c, str) for c in codes):
        raise InvalidInput(f"field '{name}' must be a list of code strings", code="invalid_field")
    return codes


@bp.post("/shipments")
def post_shipment() -> Response:
    body = json_body()
    session = get_session()
    with write_transaction(session):
        shipment = custody.record_shipment(
            session, from_party=field(body, "from", str), to_party=field(body, "to", str),
            codes=code_list(body), actor=g.actor)
        data = render.shipment(shipment)
    response = created(data)
    response.headers["Location"] = f"{request.script_root}/api/v1/shipments/{shipment.id}"
    return response


@bp.post("/shipments/<int:shipment_id>/receive")
def post_receive(shipment_id: int) -> Response:
    """All codes (no body), the codes of a JSON body, or a scan list / CSV upload
    (text/plain or text/csv, the codes in the first column)."""
    if request.mimetype in ("text/csv", "text/plain"):
        codes: list[str] | None = codes_from_lines(text_lines())
        if not codes:
            raise InvalidInput("the uploaded list holds no codes", code="missing_field")
    else:
        codes = code_list(json_body(), required=False) if whole_body() else None
    session = get_session()
    with write_transaction(session):
        shipment = custody.receive_shipment(
            session, shipment_id=shipment_id, codes=codes, actor=g.actor)
        data = render.shipment(shipment, custody.shipment_lines(session, shipment_id))
    return jsonify(data)


@bp.get("/shipments")
def get_shipments() -> Response:
    limit = int_arg("limit", 50, minimum=1, maximum=500)
    offset = int_arg("offset", 0)
    shipments, total = custody.list_shipments(
        get_session(), actor=g.actor, status=request.args.get("status"),
        from_party=request.args.get("from"), to_party=request.args.get("to"),
        limit=limit, offset=offset)
    return jsonify({"items": [render.shipment(s) for s in shipments], "total": total,
                    "limit": limit, "offset": offset})


@bp.get("/shipments/<int:shipment_id>")
def get_shipment(shipment_id: int) -> Response:
    session = get_session()
    shipment = custody.get_shipment(session, shipment_id, actor=g.actor)
    return jsonify(render.shipment(shipment, custody.shipment_lines(session, shipment_id)))


@bp.post("/containers")
def post_containers() -> Response:
    body = json_body()
    session = get_session()
    with write_transaction(session):
        made = custody.create_containers(
            session, party=field(body, "party", str), kind=field(body, "kind", str),
            count=field(body, "count", int, default=1),
            company_prefix=field(body, "company_prefix", str, default=None), actor=g.actor)
        data = [render.container(c) for c in made]
    return created({"items": data})


@bp.get("/containers/<sscc>/qr.png")
def get_container_qr(sscc: str) -> Response:
    container = custody.resolve_container(get_session(), sscc)
    return Response(qr_png(epc_uri(container.key)), mimetype="image/png")


@bp.get("/containers/labels.pdf")
def get_container_labels() -> Response:
    """Label sheets for cases and pallets: the SSCC's Digital Link QR code, with the SSCC
    in human-readable form, e.g. for one party's containers or a list of SSCCs."""
    session = get_session()
    containers = custody.list_containers(
        session, actor=g.actor, party=request.args.get("party"),
        ssccs=[s for s in request.args.get("sscc", "").split(",") if s] or None)
    layout = LabelLayout.from_options(
        columns=int_arg("columns", 2, minimum=1), rows=int_arg("rows", 4, minimum=1))
    return pdf_response(((epc_uri(f"00/{c.sscc}"), f"(00) {c.sscc}") for c in containers),
                        layout=layout, title="SSCC labels", name="sscc-labels.pdf")


@bp.post("/containers/<sscc>/pack")
def post_pack(sscc: str) -> Response:
    body = json_body()
    session = get_session()
    with write_transaction(session):
        count = custody.pack(session, party=field(body, "party", str), container=sscc,
                             codes=code_list(body), actor=g.actor)
    return jsonify({"container": sscc, "packed": count})


@bp.post("/containers/<sscc>/unpack")
def post_unpack(sscc: str) -> Response:
    body = json_body()
    session = get_session()
    with write_transaction(session):
        count = custody.unpack(session, party=field(body, "party", str), container=sscc,
                               codes=code_list(body, required=False), actor=g.actor)
    return jsonify({"container": sscc, "unpacked": count})
