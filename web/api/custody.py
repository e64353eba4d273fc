"""Shipments, receipts, cases and pallets."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from tracker.db import write_transaction
from tracker.domain.codes import codes_from_lines
from tracker.domain.labels import LabelLayout, qr_png
from tracker.errors import InvalidInput
from tracker.services import custody
from tracker.services.events import epc_uri
from web.api import bp, render
from web.api.batches import pdf_response
from web.api.inputs import json_body
from web.api.masterdata import created
from web.api.schemas import models
from web.api.schemas.contract import BINARY, operation, parse
from web.body_limits import text_lines, whole_body
from web.db import get_session

CODE_LIST = {"type": "string", "description": "one code a line, or CSV with the codes in "
                                              "the first column"}


@bp.post("/shipments")
@operation("Ship codes (items, cases, pallets) from one party to another",
           reply=models.Shipment, status=201, headers={"Location": "the shipment's address"},
           body=models.ShipmentIn, errors=(400, 404, 409, 413, 422))
def post_shipment(body: models.ShipmentIn) -> Response:
    session = get_session()
    with write_transaction(session):
        shipment = custody.record_shipment(
            session, from_party=body.from_, to_party=body.to, codes=body.codes, actor=g.actor)
        data = render.shipment(shipment)
    response = created(data)
    response.headers["Location"] = f"{request.script_root}/api/v1/shipments/{shipment.id}"
    return response


@bp.post("/shipments/<int:shipment_id>/receive")
@operation("Confirm receipt of all codes (no body), or of those listed (the rest are "
           "missing): JSON, or a scan list / CSV with the codes in the first column",
           reply=models.ShipmentDetail, content={
               "application/json": models.ReceiptIn,
               "text/csv": CODE_LIST, "text/plain": CODE_LIST},
           required_body=False, errors=(400, 404, 409, 413, 422))
def post_receive(shipment_id: int) -> Response:
    """All codes (no body), the codes of a JSON body, or a scan list / CSV upload
    (text/plain or text/csv, the codes in the first column)."""
    codes: list[str] | None = None
    if request.mimetype in ("text/csv", "text/plain"):
        codes = codes_from_lines(text_lines())
        if not codes:
            raise InvalidInput("the uploaded list holds no codes", code="missing_field")
    elif whole_body():
        codes = parse(models.ReceiptIn, json_body(), "field").codes
    session = get_session()
    with write_transaction(session):
        shipment = custody.receive_shipment(
            session, shipment_id=shipment_id, codes=codes, actor=g.actor)
        data = render.shipment_detail(shipment, custody.shipment_lines(session, shipment_id))
    return jsonify(data)


@bp.get("/shipments")
@operation("List shipments, newest first", reply=models.Shipments,
           query=models.ShipmentsQuery, errors=(422,))
def get_shipments(query: models.ShipmentsQuery) -> Response:
    shipments, total = custody.list_shipments(
        get_session(), actor=g.actor, status=query.status, from_party=query.from_,
        to_party=query.to, limit=query.limit, offset=query.offset)
    page: models.Shipments = {"items": [render.shipment(s) for s in shipments], "total": total,
                              "limit": query.limit, "offset": query.offset}
    return jsonify(page)


@bp.get("/shipments/<int:shipment_id>")
@operation("One shipment with its codes and receipt status", reply=models.ShipmentDetail,
           errors=(404,))
def get_shipment(shipment_id: int) -> Response:
    session = get_session()
    shipment = custody.get_shipment(session, shipment_id, actor=g.actor)
    return jsonify(render.shipment_detail(shipment,
                                          custody.shipment_lines(session, shipment_id)))


@bp.post("/containers")
@operation("Issue SSCCs for cases or pallets", reply=models.Containers, status=201,
           body=models.ContainersIn, errors=(400, 404, 422))
def post_containers(body: models.ContainersIn) -> Response:
    session = get_session()
    with write_transaction(session):
        made = custody.create_containers(
            session, party=body.party, kind=body.kind, count=body.count,
            company_prefix=body.company_prefix, actor=g.actor)
        data: models.Containers = {"items": [render.container(c) for c in made]}
    return created(data)


@bp.get("/containers/<sscc>/qr.png")
@operation("QR code of the SSCC's Digital Link URI", reply=BINARY, media="image/png",
           errors=(400, 404, 422))
def get_container_qr(sscc: str) -> Response:
    container = custody.get_container(get_session(), sscc, actor=g.actor)
    return Response(qr_png(epc_uri(container.key)), mimetype="image/png")


@bp.get("/containers/labels.pdf")
@operation("Label sheets of SSCCs (one party's, or those listed)", reply=BINARY,
           media="application/pdf", query=models.ContainerLabelsQuery,
           errors=(400, 404, 422))
def get_container_labels(query: models.ContainerLabelsQuery) -> Response:
    """Label sheets for cases and pallets: the SSCC's Digital Link QR code, with the SSCC
    in human-readable form, e.g. for one party's containers or a list of SSCCs."""
    session = get_session()
    containers = custody.list_containers(
        session, actor=g.actor, party=query.party,
        ssccs=[s for s in query.sscc.split(",") if s] or None)
    layout = LabelLayout.from_options(columns=query.columns, rows=query.rows)
    return pdf_response(((epc_uri(f"00/{c.sscc}"), f"(00) {c.sscc}") for c in containers),
                        layout=layout, title="SSCC labels", name="sscc-labels.pdf")


@bp.post("/containers/<sscc>/pack")
@operation("Pack held codes into a case or pallet", reply=models.Packed, body=models.PackIn,
           errors=(400, 404, 409, 422))
def post_pack(sscc: str, body: models.PackIn) -> Response:
    session = get_session()
    with write_transaction(session):
        count = custody.pack(session, party=body.party, container=sscc, codes=body.codes,
                             actor=g.actor)
    packed: models.Packed = {"container": sscc, "packed": count}
    return jsonify(packed)


@bp.post("/containers/<sscc>/unpack")
@operation("Take codes (absent: all) out of a case or pallet", reply=models.Unpacked,
           body=models.UnpackIn, errors=(400, 404, 409, 422))
def post_unpack(sscc: str, body: models.UnpackIn) -> Response:
    session = get_session()
    with write_transaction(session):
        count = custody.unpack(session, party=body.party, container=sscc, codes=body.codes,
                               actor=g.actor)
    unpacked: models.Unpacked = {"container": sscc, "unpacked": count}
    return jsonify(unpacked)
