from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, enum_type, intpk, utcnow
from tracker.domain.verdicts import Verdict


class ViolationType(enum.StrEnum):
    DIVERTED = "diverted"
    UNKNOWN_CODE = "unknown_code"
    SUSPECTED_CLONE = "suspected_clone"
    RECALLED = "recalled"


class ViolationStatus(enum.StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    RESOLVED = "resolved"


class ScanSource(enum.StrEnum):
    """Who scanned: an inspector through the API or the scanner app, or anyone through the
    public page of a code (a consumer's check: no user, a position only if given)."""

    INSPECTOR = "inspector"
    CONSUMER = "consumer"


CLOSED_STATUSES = (ViolationStatus.DISMISSED, ViolationStatus.RESOLVED)
# An open violation, as SQL text: the predicate of the partial unique index, which an
# upsert must name the same way (a literal, not a bound parameter).
OPEN_VIOLATION = "status NOT IN ({})".format(
    ", ".join(f"'{status.value}'" for status in CLOSED_STATUSES))
# Found true by compliance: confirmed, or resolved (which only follows confirmed).
CONFIRMED_STATUSES = (ViolationStatus.CONFIRMED, ViolationStatus.RESOLVED)


class Scan(Base):
    """A field scan with its verdict and every input the verdict used."""

    __tablename__ = "scans"
    __table_args__ = (
        UniqueConstraint("inspector_id", "client_scan_id"),
        Index("ix_scans_key_scanned_at", "key", "scanned_at"),
        # A violation's evidence: the scans that opened or extended it. Partial, so an
        # authentic scan (most of them) writes no entry.
        # With near_border beside it, the queue's near-border filter reads the index
        # alone.
        Index("ix_scans_violation_id_near_border", "violation_id", "near_border",
              sqlite_where=text("violation_id IS NOT NULL"),
              postgresql_where=text("violation_id IS NOT NULL")),
    )

    id: Mapped[intpk]
    client_scan_id: Mapped[str | None] = mapped_column(String(200))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                     index=True)
    code: Mapped[str] = mapped_column(Text)
    form: Mapped[str] = mapped_column(String(20))
    gtin: Mapped[str | None] = mapped_column(String(14))
    # No index on serial or verdict: nothing looks scans up by them (traces go by key),
    # and each index is pages to write for every scan.
    serial: Mapped[str | None] = mapped_column(String(100))
    key: Mapped[str | None] = mapped_column(String(500))
    # Null for a consumer's check whose person did not share a position: such a scan
    # feeds no travel-speed rule and is never a violation's evidence.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    accuracy_m: Mapped[float | None]
    device_id: Mapped[str | None] = mapped_column(String(200))
    # A server default only: the scan path's prepared inserts need not name it.
    source: Mapped[ScanSource] = mapped_column(enum_type(ScanSource, "scan_source", 20),
                                               server_default=ScanSource.INSPECTOR.value)
    scanned_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    verdict: Mapped[Verdict] = mapped_column(enum_type(Verdict, "verdict"))
    near_border: Mapped[bool] = mapped_column(default=False)
    expected_territories: Mapped[list[str]] = mapped_column(JSON, default=list)
    found_territory: Mapped[str | None] = mapped_column(String(64))
    responsible_party: Mapped[str | None] = mapped_column(String(200))
    # The violation the scan opened or extended: the scan is its evidence.
    violation_id: Mapped[int | None]
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The answer given the first time, replayed for a retried client_scan_id.
    response: Mapped[dict[str, Any]] = mapped_column(JSON)


class Violation(Base):
    """A suspected violation about one serial; later scans attach to it as evidence."""

    __tablename__ = "violations"
    __table_args__ = (
        # One open violation per serial and type.
        Index("uq_violations_open_key_type", "key", "type", unique=True,
              sqlite_where=text(OPEN_VIOLATION), postgresql_where=text(OPEN_VIOLATION)),
        # The compliance queue's default order (newest first) and its keyset pages walk
        # this instead of sorting every matching row. opened_at never changes, so the
        # evidence of later scans does not touch it. With the type beside them, the
        # reports' violations over time read the index alone.
        Index("ix_violations_opened_at", "opened_at", "id", "type"),
        # Lookups by type or found territory, and the overview's counts of open
        # violations per type and per territory read these alone (covering).
        Index("ix_violations_type_status", "type", "status"),
        Index("ix_violations_found_territory_status", "found_territory", "status"),
        Index("ix_violations_party_opened", "responsible_party", "opened_at", "status"),
        # The flows report (one type, a period, where found, which serial) reads this alone.
        Index("ix_violations_type_opened", "type", "opened_at", "found_territory", "key"),
    )

    id: Mapped[intpk]
    key: Mapped[str] = mapped_column(String(500), index=True)
    # Not indexed (each index is a page to write per new violation): nothing looks a
    # violation up by serial or batch.
    serial: Mapped[str | None] = mapped_column(String(100))
    gtin: Mapped[str | None] = mapped_column(String(14))
    type: Mapped[ViolationType] = mapped_column(enum_type(ViolationType, "violation_type"))
    status: Mapped[ViolationStatus] = mapped_column(enum_type(ViolationStatus, "violation_status"),
                                                    default=ViolationStatus.OPEN, index=True)
    batch_id: Mapped[int | None]
    # Indexed with opened_at and status (ix_violations_party_opened): a party's
    # violations, and the scorecard's counts per party and period read the index alone.
    responsible_party: Mapped[str | None] = mapped_column(String(200))
    expected_territories: Mapped[list[str]] = mapped_column(JSON, default=list)
    found_territory: Mapped[str | None] = mapped_column(String(64))
    scan_count: Mapped[int] = mapped_column(default=0)
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_scan_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The compliance officer working the case.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                    index=True)


class ViolationAudit(Base):
    """Every change to a violation: who, when, why."""

    __tablename__ = "violation_audit"

    id: Mapped[intpk]
    violation_id: Mapped[int] = mapped_column(ForeignKey("violations.id", ondelete="CASCADE"),
                                              index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # opened | evidence | status
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)


class ViolationComment(Base):
    """A remark on a case by someone working it."""

    __tablename__ = "violation_comments"

    id: Mapped[intpk]
    violation_id: Mapped[int] = mapped_column(ForeignKey("violations.id", ondelete="CASCADE"),
                                              index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)


class ViolationTerritory(Base):
    """One of a violation's expected territories, a row each: what the queue's "expected
    in a region" filter and the reports' flows read instead of unpacking every
    violation's JSON list. Written by the database itself (triggers made by migration
    0006 on violations: on insert, and when the list changes), so every way a violation
    is stored keeps it; nothing writes it from Python."""

    __tablename__ = "violation_territories"
    __table_args__ = (
        Index("ix_violation_territories_violation_id", "violation_id", "territory"),
    )

    territory: Mapped[str] = mapped_column(String(64), primary_key=True)
    violation_id: Mapped[int] = mapped_column(
        ForeignKey("violations.id", ondelete="CASCADE"), primary_key=True)


class CloneFrontier(Base):
    """The scans of an item that can still decide the travel-speed rule for a later scan
    (tracker.domain.verdicts.compare_kept): each a copy of a scan's place and time, so a
    scan reads a handful of rows however often its code was scanned. A row whose
    ``superseded_at`` is set stands for a scan from which a later one (at that time) can
    be reached within the speed limit; it is kept a while for scans that arrive late
    (tracker.services.scans, "the clone frontier"). Written by the scan path only."""

    __tablename__ = "clone_frontier"
    __table_args__ = (
        # The live rows of an item (superseded_at IS NULL), those superseded after a
        # time, and those to forget: three ranges of one index.
        Index("ix_clone_frontier_key_superseded_at", "key", "superseded_at", "scanned_at"),
    )

    id: Mapped[intpk]
    key: Mapped[str] = mapped_column(String(500))
    # The scan the row copies (no foreign key: a row is a cache of the scan's facts).
    scan_id: Mapped[int]
    latitude: Mapped[float]
    longitude: Mapped[float]
    scanned_at: Mapped[dt.datetime]
    superseded_at: Mapped[dt.datetime | None]
    # The speed limit the rows of the item were compared with; another one (the setting
    # changed) makes the item's rows start again from its scans.
    clone_speed_kmh: Mapped[float]
