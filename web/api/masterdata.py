"""Territories, products and parties."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from tracker.db import write_transaction
from tracker.errors import InvalidInput
from tracker.services import masterdata
from web.api import bp, render
from web.api.inputs import field, json_body
from web.db import get_session


def created(body: object) -> Response:
    response = jsonify(body)
    response.status_code = 201
    return response


@bp.post("/territories")
def post_territories() -> Response:
    collection = json_body()
    session = get_session()
    with write_transaction(session):
        result = masterdata.import_territories(
            session, collection=collection, code_property=request.args.get("code_property"),
            actor=g.actor,
        )
    return created({"created": result.created, "updated": result.updated,
                    "codes": list(result.codes), "notes": render.import_notes(result)})


@bp.get("/territories")
def get_territories() -> Response:
    session = get_session()
    return jsonify({"items": [render.territory(t)
                              for t in masterdata.list_territories(session, actor=g.actor)]})


@bp.get("/territories/<path:code>")
def get_territory(code: str) -> Response:
    session = get_session()
    territory = masterdata.get_territory(session, code, actor=g.actor)
    data = render.territory(territory, geometry=request.args.get("geometry", "1") != "0")
    data["children"] = [t.code for t in masterdata.children_of(session, territory)]
    return jsonify(data)


@bp.post("/products")
def post_product() -> Response:
    body = json_body()
    session = get_session()
    with write_transaction(session):
        product = masterdata.create_product(
            session,
            gtin=field(body, "gtin", str),
            name=field(body, "name", str),
            company_prefix_length=field(body, "company_prefix_length", int, default=7),
            actor=g.actor,
        )
    return created(render.product(product))


@bp.get("/products")
def get_products() -> Response:
    products = masterdata.list_products(get_session(), actor=g.actor)
    return jsonify({"items": [render.product(p) for p in products]})


@bp.post("/parties")
def post_party() -> Response:
    body = json_body()
    territories = field(body, "territories", list, default=[])
    if not all(isinstance(code, str) for code in territories):
        raise InvalidInput("field 'territories' must be a list of territory codes",
                           code="invalid_field")
    session = get_session()
    with write_transaction(session):
        party = masterdata.create_party(
            session,
            id=field(body, "id", str),
            name=field(body, "name", str, default=""),
            role=field(body, "role", str),
            territories=territories,
            parent=field(body, "parent", str, default=None),
            actor=g.actor,
        )
    return created(render.party(party))


@bp.get("/parties")
def get_parties() -> Response:
    parties = masterdata.list_parties(get_session(), actor=g.actor)
    return jsonify({"items": [render.party(p) for p in parties]})


@bp.get("/parties/<path:party_id>")
def get_party(party_id: str) -> Response:
    return jsonify(render.party(masterdata.get_party(get_session(), party_id)))
