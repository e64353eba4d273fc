from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, created_at, intpk, str200, utcnow


class Territory(Base):
    """An authorised sales area: a polygon from a map, or a region made of its children."""

    __tablename__ = "territories"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str200]
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("territories.id", ondelete="RESTRICT"), index=True
    )
    # WKB of the (repaired) geometry; NULL for a region defined by its children.
    # Deferred: a province is tens of KB and most reads (batches, scans) need only codes.
    geometry_wkb: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    min_lon: Mapped[float | None]
    min_lat: Mapped[float | None]
    max_lon: Mapped[float | None]
    max_lat: Mapped[float | None]
    # What the import had to do to the geometry (repairs, antimeridian split), for people.
    import_notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[created_at]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent: Mapped[Territory | None] = relationship(remote_side="Territory.id")
