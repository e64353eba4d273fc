from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, utcnow


class ScanEvidence(Base):
    """What an inspector added to one of their scans: a note and a JPEG photo, kept in the
    database (no file store to back up or share between server processes). One row per
    scan; sending again replaces what was sent."""

    __tablename__ = "scan_evidence"

    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"),
                                         primary_key=True)
    note: Mapped[str | None] = mapped_column(Text)
    # The JPEG as sent, and a small copy for pages; both loaded only when asked for.
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    photo_bytes: Mapped[int | None]
    photo_width: Mapped[int | None]
    photo_height: Mapped[int | None]
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
