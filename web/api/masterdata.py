"""Territories, products and parties."""

from __future__ import annotations

from flask import Response, g, jsonify

from tracker.db import write_transaction
from tracker.services import masterdata
from web.api import bp, render
from web.api.inputs import json_body
from web.api.schemas import models
from web.api.schemas.contract import operation
from web.db import get_session

# Described, not modelled: the import judges each feature and names the one it refuses.
FEATURE_COLLECTION = {
    "type": "object", "required": ["type", "features"],
    "description": "GeoJSON (RFC 7946). A feature's code is properties.code, else its id, "
                   "else the property named by code_property; properties.name names it, "
                   "properties.parent names a parent; a null geometry makes a sales region.",
    "properties": {"type": {"const": "FeatureCollection"},
                   "features": {"type": "array", "items": {"type": "object"}}}}


def created(body: object) -> Response:
    response = jsonify(body)
    response.status_code = 201
    return response


@bp.post("/territories")
@operation("Import territories from a GeoJSON FeatureCollection (WGS84); re-posting a code "
           "replaces its geometry", reply=models.Imported, status=201,
           query=models.ImportQuery, content={"application/geo+json": FEATURE_COLLECTION,
                                              "application/json": FEATURE_COLLECTION},
           errors=(400, 413, 422))
def post_territories(query: models.ImportQuery) -> Response:
    collection = json_body()  # judged feature by feature by the import, which names each
    session = get_session()
    with write_transaction(session):
        result = masterdata.import_territories(
            session, collection=collection, code_property=query.code_property, actor=g.actor)
    imported: models.Imported = {"created": result.created, "updated": result.updated,
                                 "codes": list(result.codes),
                                 "notes": render.import_notes(result)}
    return created(imported)


@bp.get("/territories")
@operation("List territories", reply=models.Territories)
def get_territories() -> Response:
    session = get_session()
    return jsonify({"items": [render.territory(t)
                              for t in masterdata.list_territories(session, actor=g.actor)]})


@bp.get("/territories/<path:code>")
@operation("One territory with its geometry (GeoJSON) and its children's codes",
           reply=models.TerritoryDetail, query=models.TerritoryQuery, errors=(404,))
def get_territory(code: str, query: models.TerritoryQuery) -> Response:
    session = get_session()
    territory = masterdata.get_territory(session, code, actor=g.actor)
    return jsonify(render.territory_detail(territory, masterdata.children_of(session, territory),
                                           geometry=query.geometry != "0"))


@bp.post("/products")
@operation("Create a product; the GTIN is stored as GTIN-14", reply=models.Product, status=201,
           body=models.ProductIn, errors=(400, 409, 422))
def post_product(body: models.ProductIn) -> Response:
    session = get_session()
    with write_transaction(session):
        product = masterdata.create_product(
            session, gtin=body.gtin, name=body.name,
            company_prefix_length=body.company_prefix_length, actor=g.actor)
    return created(render.product(product))


@bp.get("/products")
@operation("List products", reply=models.Products)
def get_products() -> Response:
    products = masterdata.list_products(get_session(), actor=g.actor)
    return jsonify({"items": [render.product(p) for p in products]})


@bp.post("/parties")
@operation("Create a party", reply=models.Party, status=201, body=models.PartyIn,
           errors=(400, 409, 422))
def post_party(body: models.PartyIn) -> Response:
    session = get_session()
    with write_transaction(session):
        party = masterdata.create_party(
            session, id=body.id, name=body.name, role=body.role,
            territories=body.territories, parent=body.parent, actor=g.actor)
    return created(render.party(party))


@bp.get("/parties")
@operation("List parties", reply=models.Parties)
def get_parties() -> Response:
    parties = masterdata.list_parties(get_session(), actor=g.actor)
    return jsonify({"items": [render.party(p) for p in parties]})


@bp.get("/parties/<path:party_id>")
@operation("One party", reply=models.Party, errors=(404,))
def get_party(party_id: str) -> Response:
    return jsonify(render.party(masterdata.get_party(get_session(), party_id)))
