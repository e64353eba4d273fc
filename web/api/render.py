"""Entities to JSON-ready dicts, shared by the API and the CLI."""

from __future__ import annotations

import datetime as dt
from typing import Any, overload

import shapely

from tracker.models import (
    ApiToken,
    Batch,
    Container,
    Party,
    Product,
    Shipment,
    ShipmentLine,
    Territory,
    User,
)
from tracker.services.masterdata import ImportResult
from web.api.schemas import models


@overload
def iso(value: dt.datetime | dt.date) -> str: ...
@overload
def iso(value: dt.datetime | dt.date | None) -> str | None: ...
def iso(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def territory(t: Territory) -> models.Territory:
    return {
        "code": t.code,
        "name": t.name,
        "parent": t.parent.code if t.parent is not None else None,
        "has_geometry": t.min_lon is not None,  # the bbox exists exactly when a geometry does
        "bbox": None if t.min_lon is None else [  # all four are set together
            c for c in (t.min_lon, t.min_lat, t.max_lon, t.max_lat) if c is not None],
        "import_notes": list(t.import_notes or []),
        "updated_at": iso(t.updated_at),
    }


def territory_detail(t: Territory, children: list[Territory], *, geometry: bool = True
                     ) -> models.TerritoryDetail:
    data: models.TerritoryDetail = {**territory(t), "children": [c.code for c in children]}
    if geometry:
        data["geometry"] = (
            None if t.geometry_wkb is None
            else shapely.geometry.mapping(shapely.from_wkb(t.geometry_wkb))
        )
    return data


def import_notes(result: ImportResult) -> list[models.ImportNote]:
    """What an import did to the geometry of each feature it split or repaired."""
    return [{"code": code, "notes": list(notes)} for code, notes in result.notes]


def product(p: Product) -> models.Product:
    return {"gtin": p.gtin, "name": p.name, "company_prefix_length": p.company_prefix_length,
            "created_at": iso(p.created_at)}


def party(p: Party) -> models.Party:
    return {
        "id": p.id,
        "name": p.name,
        "role": p.role.value,
        "tier": p.tier,
        "parent": p.parent_id,
        "territories": [t.code for t in p.territories],
        "created_at": iso(p.created_at),
    }


def batch(b: Batch) -> models.Batch:
    return {
        "id": b.id,
        "gtin": b.gtin,
        "product": b.product.name,
        "territory": b.territory.code,
        "quantity": b.quantity,
        "owner": b.owner_party_id,
        "lot": b.lot,
        "expiry": iso(b.expiry),
        "status": b.status.value,
        "issued_by": b.issued_by,
        "issued_at": iso(b.issued_at),
        "recalled_at": iso(b.recalled_at),
        "recall_reason": b.recall_reason,
    }


def user(u: User, token: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": u.id, "name": u.name, "role": u.role.value,
                            "party": u.party_id, "created_at": iso(u.created_at)}
    if token is not None:
        data["token"] = token
    return data


def api_token(t: ApiToken, token: str | None = None) -> models.ApiToken:
    """A token as listed: its id and prefix, never the token (shown once, when created)."""
    data: models.ApiToken = {"id": t.id, "prefix": t.prefix, "created_at": iso(t.created_at),
                            "revoked_at": iso(t.revoked_at), "expires_at": iso(t.expires_at)}
    if token is not None:
        data["token"] = token
    return data


def shipment(s: Shipment) -> models.Shipment:
    return {
        "id": s.id,
        "from": s.from_party,
        "to": s.to_party,
        "status": s.status.value,
        "origin": s.origin,
        "item_count": s.item_count,
        "shipped_at": iso(s.shipped_at),
        "received_at": iso(s.received_at),
        "created_by": s.created_by,
    }


def shipment_detail(s: Shipment, lines: list[ShipmentLine]) -> models.ShipmentDetail:
    return {**shipment(s),
            "codes": [{"code": line.code, "key": line.key, "status": line.status.value}
                      for line in lines],
            "missing": [line.code for line in lines if line.status.value == "missing"]}


def container(c: Container) -> models.Container:
    return {"sscc": c.sscc, "kind": c.kind, "party": c.party_id,
            "uri": f"https://id.gs1.org/00/{c.sscc}", "created_at": iso(c.created_at)}
