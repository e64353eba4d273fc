from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, created_at, intpk
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
    lot: Mapped[str | None] = mapped_column(String(20))
    expiry: Mapped[dt.date | None]
    status: Mapped[BatchStatus] = mapped_column(
        Enum(BatchStatus, values_callable=lambda e: [m.value for m in e], native_enum=False,
             length=20, name="batch_status"),
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
    # (batch_id, serial) lists a batch's codes in order from the index alone.
    __table_args__ = (Index("ix_serials_batch_id_serial", "batch_id", "serial"),)

    serial: Mapped[str] = mapped_column(String(20), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="RESTRICT"))
