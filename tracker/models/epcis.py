from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, created_at, enum_type, intpk


class CaptureStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class CaptureJob(Base):
    """One POST /epcis/capture: its progress and what went wrong."""

    __tablename__ = "capture_jobs"

    id: Mapped[intpk]
    status: Mapped[CaptureStatus] = mapped_column(
        enum_type(CaptureStatus, "capture_status", 20),
        default=CaptureStatus.RUNNING,
    )
    error_behaviour: Mapped[str] = mapped_column(String(20), default="rollback")
    event_count: Mapped[int] = mapped_column(default=0)
    captured_count: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[created_at]
    finished_at: Mapped[dt.datetime | None]


class Event(Base):
    """An EPCIS 2.0 event, stored as captured (normalised), keyed by its CBV 2.0 hash."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_type_time", "event_type", "event_time"),)

    id: Mapped[intpk]
    event_hash: Mapped[str] = mapped_column(String(120), unique=True)
    event_id: Mapped[str] = mapped_column(String(500), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    action: Mapped[str | None] = mapped_column(String(10))
    biz_step: Mapped[str | None] = mapped_column(String(200), index=True)
    disposition: Mapped[str | None] = mapped_column(String(200), index=True)
    event_time: Mapped[dt.datetime] = mapped_column(index=True)
    event_timezone_offset: Mapped[str] = mapped_column(String(6), default="+00:00")
    record_time: Mapped[dt.datetime] = mapped_column(index=True)
    read_point: Mapped[str | None] = mapped_column(String(500), index=True)
    biz_location: Mapped[str | None] = mapped_column(String(500), index=True)
    # Who recorded it here: 'capture' (EPCIS document or event), 'service' (the tracker's
    # own operations: issuing, /shipments, packing).
    origin: Mapped[str] = mapped_column(String(20), default="capture")
    capture_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("capture_jobs.id", ondelete="SET NULL"), index=True
    )
    # A commissioning event stands for a whole batch; its serials are not listed row by row.
    batch_id: Mapped[int | None] = mapped_column(index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)


class EventEPC(Base):
    """Which identifiers an event names, by normalised key, for queries and traces."""

    __tablename__ = "event_epcs"
    __table_args__ = (Index("ix_event_epcs_key_event", "key", "event_pk"),)

    event_pk: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    # epc | parent | child | input | output | quantity
    role: Mapped[str] = mapped_column(String(10), primary_key=True)


class EventField(Base):
    """What a query may ask of an event beyond its columns and identifiers (persistent
    dispositions, error declaration, quantities, sensor data): one row per distinct
    (name, value), read by ``tracker.domain.epcis.query_fields``. ``number`` is set for
    quantities, ``moment`` for times."""

    __tablename__ = "event_fields"
    __table_args__ = (Index("ix_event_fields_name_value", "name", "value"),
                      Index("ix_event_fields_name_number", "name", "number"),
                      Index("ix_event_fields_name_moment", "name", "moment"))

    event_pk: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    value: Mapped[str] = mapped_column(String(500), primary_key=True)
    number: Mapped[float | None]
    moment: Mapped[dt.datetime | None]


class ReleasedPageToken(Base):
    """A ``nextPageToken`` its client released (``DELETE /epcis/nextPageToken/{token}``):
    it reads no further page. Kept by digest; a token holds its place itself, so this is
    all the server keeps of one."""

    __tablename__ = "released_page_tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    released_at: Mapped[created_at]
