from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, created_at, enum_type, intpk, utcnow


class ShipmentStatus(enum.StrEnum):
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    PARTIALLY_RECEIVED = "partially_received"
    CANCELLED = "cancelled"


class LineStatus(enum.StrEnum):
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    MISSING = "missing"



class Container(Base):
    """A case or pallet, identified by an SSCC the tracker issued."""

    __tablename__ = "containers"

    sscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # case | pallet
    party_id: Mapped[str | None] = mapped_column(String(200), index=True)
    created_at: Mapped[created_at]


class CustodyState(Base):
    """Where one item or container is now. Kept in step with every event, so "who holds
    this" and a verdict's attribution never replay history. No row: still with the
    batch's owner, as issued."""

    __tablename__ = "custody_states"

    # Normalised key: '01/{gtin14}/21/{serial}', '00/{sscc}', or the EPC URI as given.
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    serial: Mapped[str | None] = mapped_column(String(20), index=True)
    custodian: Mapped[str | None] = mapped_column(String(200), index=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    disposition: Mapped[str] = mapped_column(String(100), default="active")
    shipment_id: Mapped[int | None] = mapped_column(index=True)
    container: Mapped[str | None] = mapped_column(String(500), index=True)
    biz_location: Mapped[str | None] = mapped_column(String(500))
    last_event_pk: Mapped[int | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# The predicate of the receipts index, as SQL text: a query must say it the same way (a
# literal, not a bound parameter) for SQLite to use the partial index.
RECEIPTS = "kind = 'receive'"


class CustodyMove(Base):
    """One item's custody history: every hand-off, receipt, packing and disposition."""

    __tablename__ = "custody_moves"
    __table_args__ = (
        Index("ix_custody_moves_key_at", "key", "at"),
        # Receipts by time, for the reports (units each distributor received in a
        # period); partial, so the other moves write no entry.
        Index("ix_custody_moves_receipts", "at", "to_party", "key",
              sqlite_where=text(RECEIPTS), postgresql_where=text(RECEIPTS)),
    )

    id: Mapped[intpk]
    key: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))  # ship|receive|pack|unpack|dispose|void
    from_party: Mapped[str | None] = mapped_column(String(200))
    to_party: Mapped[str | None] = mapped_column(String(200))
    shipment_id: Mapped[int | None]
    event_pk: Mapped[int | None] = mapped_column(index=True)
    detail: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[dt.datetime]


class ReceiptDay(Base):
    """Items a party received on one UTC day: receipts counted as they are recorded
    (every receive move of an item, not of a case or pallet), so a report sums a few
    rows per party and day instead of reading every receipt."""

    __tablename__ = "receipt_days"

    party_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    receipts: Mapped[int] = mapped_column(default=0)


class RepeatReceipt(Base):
    """A receipt of an item by a party that had received the same item before (returned
    goods, a shipment received twice by EPCIS): with ``previous_at``, the time of that
    party's latest earlier receipt of the item, it turns a count of receipts into a count
    of distinct items. In a period ``[since, until)`` the items a party received are its
    receipts there minus its repeat receipts there whose ``previous_at >= since``
    (``tracker.services.reports``). Receipts recorded out of time order (an EPCIS event
    with an earlier event time) correct the row of the next receipt."""

    __tablename__ = "repeat_receipts"
    __table_args__ = (
        Index("ix_repeat_receipts_at", "at", "party_id", "previous_at"),
        Index("ix_repeat_receipts_party_key", "party_id", "key", "at"),
    )

    id: Mapped[intpk]
    party_id: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(500))
    at: Mapped[dt.datetime]
    previous_at: Mapped[dt.datetime]


class Shipment(Base):
    __tablename__ = "shipments"

    id: Mapped[intpk]
    from_party: Mapped[str] = mapped_column(String(200), index=True)
    to_party: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[ShipmentStatus] = mapped_column(enum_type(ShipmentStatus, "shipment_status"),
                                                   default=ShipmentStatus.IN_TRANSIT, index=True)
    origin: Mapped[str] = mapped_column(String(20), default="api")
    item_count: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[str | None] = mapped_column(String(100))
    shipped_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime | None]
    ship_event_pk: Mapped[int | None]
    receive_event_pk: Mapped[int | None]
    created_at: Mapped[created_at]


class ShipmentLine(Base):
    """A code as listed on the shipment: an item, or a case/pallet standing for its contents."""

    __tablename__ = "shipment_lines"

    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    code: Mapped[str] = mapped_column(String(500))
    status: Mapped[LineStatus] = mapped_column(enum_type(LineStatus, "line_status"),
                                               default=LineStatus.IN_TRANSIT)


class CustodyException(Base):
    """A captured event that contradicts recorded custody: stored, not applied, shown to
    compliance."""

    __tablename__ = "custody_exceptions"

    id: Mapped[intpk]
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    key: Mapped[str | None] = mapped_column(String(500), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[created_at]
