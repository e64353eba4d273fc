from __future__ import annotations

import enum

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, created_at, enum_type, str200
from tracker.models.territory import Territory


class PartyRole(enum.StrEnum):
    BRAND = "brand"
    DISTRIBUTOR = "distributor"
    RETAILER = "retailer"


party_territories = Table(
    "party_territories",
    Base.metadata,
    Column("party_id", ForeignKey("parties.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "territory_id",
        ForeignKey("territories.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    ),
)


class Party(Base):
    """A brand, distributor or retailer; its id is the value used in EPCIS source/destination."""

    __tablename__ = "parties"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str200]
    role: Mapped[PartyRole] = mapped_column(
        enum_type(PartyRole, "party_role", 20)
    )
    # 0 for a brand, 1 for a tier-1 distributor, 2 below it, and so on.
    tier: Mapped[int] = mapped_column(default=0)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("parties.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[created_at]

    territories: Mapped[list[Territory]] = relationship(
        secondary=party_territories, order_by=Territory.code, lazy="selectin"
    )
