from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base


class AuditEntry(Base):
    """One change, appended to a hash chain: ``hash`` is the SHA-256 of the entry's
    canonical form with ``prev_hash``, the hash of the entry before it
    (:mod:`tracker.services.audit`). Editing or deleting an entry breaks the chain."""

    __tablename__ = "audit_log"

    # Numbered by the appender, not by the database: a gap shows a removed entry.
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(500))
    # Canonical JSON as hashed (text, not a JSON column: stored exactly as hashed).
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last entry as the appender left it (one row): the next entry links to
    it, and an entry removed from the end of the log is seen against it."""

    __tablename__ = "audit_heads"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
