from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base


class RateLimitWindow(Base):
    """One client's count of requests under one limit (tracker.services.rate_limits): in a
    table, so every server process counts the same requests."""

    __tablename__ = "rate_limit_windows"

    # The limit's name and the client, e.g. "public:203.0.113.7".
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[dt.datetime]
    count: Mapped[int]
    # The count of the window before (a sliding window weighs it by how much of it
    # still overlaps the last window's length).
    previous: Mapped[int] = mapped_column(default=0)
    # When the row no longer matters (two windows on): old rows are cleared by this.
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
