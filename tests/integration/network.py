"""A small distributor network on synthetic squares, shared by custody and verdict tests.

ROOT (no geometry) holds A (0..10) and B (20..30); A holds the city A1 (0..2).
brand (ROOT) -> t1 (A) -> t2 (A1) -> retailer r (A1); and an outsider t1b (B).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.config import Settings
from tracker.domain.codes import item_key
from tracker.models import Role, Serial
from tracker.services import issuing, masterdata
from tracker.services.auth import SYSTEM, Actor

GTIN = "09506000134352"


def square(code: str, x: float, y: float, size: float, parent: str | None = None) -> dict:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    props: dict = {"code": code, "name": code}
    if parent:
        props["parent"] = parent
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


@dataclass
class Network:
    batch_id: int
    serials: list[str]

    def key(self, i: int) -> str:
        return item_key(GTIN, self.serials[i])


def distributor(party: str) -> Actor:
    return Actor(name=f"user-of-{party}", role=Role.DISTRIBUTOR, party_id=party)


def build(session: Session, settings: Settings, quantity: int = 20) -> Network:
    masterdata.import_territories(session, actor=SYSTEM, collection={
        "type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "ROOT", "name": "Root"},
             "geometry": None},
            square("A", 0, 0, 10, "ROOT"), square("B", 20, 0, 10, "ROOT"),
            square("A1", 0, 0, 2, "A"),
        ]})
    masterdata.create_product(session, gtin=GTIN, name="Tea", actor=SYSTEM)
    for pid, role, territories, parent in [
        ("brand", "brand", ["ROOT"], None), ("t1", "distributor", ["A"], "brand"),
        ("t2", "distributor", ["A1"], "t1"), ("r", "retailer", ["A1"], "t2"),
        ("t1b", "distributor", ["B"], "brand"),
    ]:
        masterdata.create_party(session, id=pid, name=pid, role=role, territories=territories,
                                parent=parent, actor=SYSTEM)
    batch = issuing.issue_batch(session, gtin=GTIN, territory="A", quantity=quantity,
                                party="brand", actor=SYSTEM, settings=settings)
    serials = sorted(session.scalars(select(Serial.serial).where(Serial.batch_id == batch.id)))
    return Network(batch.id, serials)
