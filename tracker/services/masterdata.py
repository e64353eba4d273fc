"""Territories, products and parties: the master data everything else refers to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.domain.geojson import bounding_box, order_for_insert, parse_feature_collection
from tracker.domain.gs1 import normalise_gtin
from tracker.errors import Conflict, InvalidGeoJSON, InvalidInput, NotFound
from tracker.models import Party, PartyRole, Product, Territory
from tracker.services import audit, territory_cache
from tracker.services.auth import Actor
from tracker.services.inputs import parse_enum

MAX_ANCESTRY = 64


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    codes: tuple[str, ...]
    # Per feature whose geometry was split or repaired: its code and what was done.
    notes: tuple[tuple[str, tuple[str, ...]], ...] = ()


def import_territories(
    session: Session, *, collection: object, code_property: str | None = None, actor: Actor
) -> ImportResult:
    """Create or replace territories from a GeoJSON FeatureCollection, all or nothing."""
    actor.require(action="import territories")
    features = order_for_insert(parse_feature_collection(collection, code_property=code_property))
    codes = {f.code for f in features} | {f.parent_code for f in features if f.parent_code}
    known = {t.code: t for t in session.scalars(select(Territory).where(Territory.code.in_(codes)))}
    created = updated = 0
    for feature in features:
        territory = known.get(feature.code)
        if territory is None:
            territory = Territory(code=feature.code)
            session.add(territory)
            known[feature.code] = territory
            created += 1
        else:
            updated += 1
        territory.name = feature.name
        territory.properties = dict(feature.properties)
        territory.import_notes = list(feature.notes)
        if feature.geometry is None:
            territory.geometry_wkb = None
            territory.min_lon = territory.min_lat = territory.max_lon = territory.max_lat = None
        else:
            territory.geometry_wkb = shapely.to_wkb(feature.geometry)
            # RFC 7946's box: min_lon > max_lon for a territory across the antimeridian.
            (territory.min_lon, territory.min_lat,
             territory.max_lon, territory.max_lat) = bounding_box(feature.geometry)
        if feature.parent_code is None:
            territory.parent = None
        else:
            parent = known.get(feature.parent_code)
            if parent is None:
                raise InvalidGeoJSON(
                    f"feature '{feature.code}': parent '{feature.parent_code}' is neither in "
                    "this collection nor a known territory"
                )
            territory.parent = parent
    session.flush()
    for feature in features:
        _refuse_cycle(known[feature.code])
    territory_cache.invalidate()
    audit.record(session, actor=actor, action="territories.import", subject_type="territories",
                 detail={"created": created, "updated": updated,
                         "codes": [f.code for f in features]})
    return ImportResult(created=created, updated=updated, codes=tuple(f.code for f in features),
                        notes=tuple((f.code, f.notes) for f in features if f.notes))


def _refuse_cycle(territory: Territory) -> None:
    seen = {territory.code}
    node = territory.parent
    depth = 0
    while node is not None:
        if node.code in seen or depth > MAX_ANCESTRY:
            raise InvalidGeoJSON(
                f"feature '{territory.code}': parent links form a cycle through '{node.code}'"
            )
        seen.add(node.code)
        node = node.parent
        depth += 1


def list_territories(session: Session, *, actor: Actor) -> list[Territory]:
    del actor  # every signed-in role may read the map
    return list(session.scalars(select(Territory).order_by(Territory.code)))


def get_territory(session: Session, code: str, *, actor: Actor) -> Territory:
    del actor
    territory = session.scalar(select(Territory).where(Territory.code == code))
    if territory is None:
        raise NotFound(f"territory '{code}' does not exist", code="unknown_territory")
    return territory


def children_of(session: Session, territory: Territory) -> list[Territory]:
    return list(
        session.scalars(
            select(Territory).where(Territory.parent_id == territory.id).order_by(Territory.code)
        )
    )


def resolve_territories(session: Session, codes: Iterable[str]) -> list[Territory]:
    """The territories named by ``codes``; a 422-class error naming every unknown code."""
    wanted = list(dict.fromkeys(codes))
    rows = session.scalars(select(Territory).where(Territory.code.in_(wanted)))
    found = {t.code: t for t in rows}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise InvalidInput(
            f"unknown territory {', '.join(repr(c) for c in missing)}; "
            "import it first with POST /territories",
            code="unknown_territory",
        )
    return [found[c] for c in wanted]


def create_product(
    session: Session, *, gtin: str, name: str, company_prefix_length: int = 7, actor: Actor
) -> Product:
    actor.require(action="create products")
    gtin14 = normalise_gtin(gtin)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("product name must not be empty", code="invalid_product")
    if not 6 <= company_prefix_length <= 12:
        raise InvalidInput(
            f"company_prefix_length {company_prefix_length} is out of range: GS1 company "
            "prefixes have 6 to 12 digits",
            code="invalid_product",
        )
    if session.get(Product, gtin14) is not None:
        raise Conflict(f"product with GTIN {gtin14} already exists", code="product_exists")
    product = Product(gtin=gtin14, name=name, company_prefix_length=company_prefix_length)
    session.add(product)
    session.flush()
    return product


def get_product(session: Session, gtin: str) -> Product:
    gtin14 = normalise_gtin(gtin)
    product = session.get(Product, gtin14)
    if product is None:
        raise InvalidInput(f"unknown GTIN {gtin14}; create the product first with POST /products",
                           code="unknown_gtin")
    return product


def list_products(session: Session, *, actor: Actor) -> list[Product]:
    del actor
    return list(session.scalars(select(Product).order_by(Product.gtin)))


def create_party(
    session: Session,
    *,
    id: str,
    name: str,
    role: str,
    territories: Iterable[str] = (),
    parent: str | None = None,
    actor: Actor,
) -> Party:
    actor.require(action="create parties")
    party_id = (id or "").strip()
    if not party_id:
        raise InvalidInput("party id must not be empty", code="invalid_party")
    if len(party_id) > 200:
        raise InvalidInput("party id is longer than 200 characters", code="invalid_party")
    role_value = parse_enum(PartyRole, role, what="party role", code="invalid_party")
    if session.get(Party, party_id) is not None:
        raise Conflict(f"party '{party_id}' already exists", code="party_exists")
    parent_party = None
    if parent is not None:
        parent_party = session.get(Party, parent)
        if parent_party is None:
            raise InvalidInput(f"unknown parent party '{parent}'", code="unknown_party")
    tier = 0 if role_value is PartyRole.BRAND and parent_party is None else (
        parent_party.tier + 1 if parent_party is not None else 1
    )
    party = Party(
        id=party_id,
        name=(name or party_id).strip(),
        role=role_value,
        tier=tier,
        parent_id=parent_party.id if parent_party else None,
        territories=resolve_territories(session, territories),
    )
    session.add(party)
    session.flush()
    audit.record(session, actor=actor, action="party.create", subject_type="party",
                 subject_id=party.id, detail={"role": party.role, "parent": party.parent_id,
                                              "territories": [t.code for t in party.territories]})
    return party


def get_party(session: Session, party_id: str) -> Party:
    party = session.get(Party, party_id)
    if party is None:
        raise NotFound(f"party '{party_id}' does not exist", code="unknown_party")
    return party


def list_parties(session: Session, *, actor: Actor) -> list[Party]:
    del actor
    return list(session.scalars(select(Party).order_by(Party.tier, Party.id)))

