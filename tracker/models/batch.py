from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, created_at, enum_type, intpk
from tracker.models.product import Product
from tracker.models.territory import Territory


class BatchStatus(enum.StrEnum):
    ISSUED = "issued"
    RECALLED = "recalled"


class Batch(Base):
    """A block of serial numbers of one product, authorised for one territory."""

    __tablename__ = "batches"

    id: Mapped[intpk]
    gtin: Mapped[str] = mapped_column(ForeignKey("products.gtin", ondelete="RESTRICT"), index=True)
    territory_id: Mapped[int] = mapped_column(
        ForeignKey("territories.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[int]
    # The brand that owns the goods as issued: the first custodian of every serial.
    owner_party_id: Mapped[str | None] = mapped_column(
        ForeignKey("parties.id", ondelete="RESTRICT"), index=True
    )
    lot: Mapped[str | None] = mapped_column(String(20))
    expiry: Mapped[dt.date | None]
    status: Mapped[BatchStatus] = mapped_column(
        enum_type(BatchStatus, "batch_status", 20),
        default=BatchStatus.ISSUED,
    )
    issued_by: Mapped[str | None] = mapped_column(String(100))
    issued_at: Mapped[created_at]
    recalled_at: Mapped[dt.datetime | None]
    recall_reason: Mapped[str | None] = mapped_column(Text)

    product: Mapped[Product] = relationship(lazy="joined")
    territory: Mapped[Territory] = relationship(lazy="joined")


class Serial(Base):
    """One issued serial number. Kept narrow: a million of these are written per request."""

    __tablename__ = "serials"
    # On batch_id alone: within one batch its entries are appended in order, which keeps
    # bulk issuing about twice as fast as an index that also holds the random serial.
    __table_args__ = (Index("ix_serials_batch_id", "batch_id"),)

    serial: Mapped[str] = mapped_column(String(20), primary_key=True)
    # No foreign key on purpose: issue_batch is the only writer and always writes the id
    # of the batch it just created, and batches are never deleted. PostgreSQL checks a
    # foreign key with a trigger per row, which cost 40% of the time to issue a million.
    batch_id: Mapped[int]
