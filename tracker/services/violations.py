"""Violations: opened by verdicts, reviewed by compliance, every change audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.db import paged, utcnow
from tracker.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tracker.models import (
    CLOSED_STATUSES,
    Batch,
    BatchStatus,
    Role,
    Scan,
    Violation,
    ViolationAudit,
    ViolationScan,
    ViolationStatus,
    ViolationType,
)
from tracker.services import events
from tracker.services.auth import Actor
from tracker.services.inputs import parse_enum

# Which status may follow which. Dismissed and resolved close a violation; a closed one
# may be reopened for investigation when new facts arrive.
TRANSITIONS: dict[ViolationStatus, set[ViolationStatus]] = {
    ViolationStatus.OPEN: {ViolationStatus.INVESTIGATING, ViolationStatus.CONFIRMED,
                           ViolationStatus.DISMISSED},
    ViolationStatus.INVESTIGATING: {ViolationStatus.CONFIRMED, ViolationStatus.DISMISSED},
    ViolationStatus.CONFIRMED: {ViolationStatus.RESOLVED, ViolationStatus.INVESTIGATING},
    ViolationStatus.DISMISSED: {ViolationStatus.INVESTIGATING},
    ViolationStatus.RESOLVED: {ViolationStatus.INVESTIGATING},
}


# Built once: open_or_extend runs for every suspicious scan.
_violation = Violation.__table__.c
_OPEN_VIOLATION = select(_violation.id).where(
    _violation.key == bindparam("key"), _violation.type == bindparam("type"),
    _violation.status.not_in(CLOSED_STATUSES))
_INSERT_VIOLATION = insert(Violation.__table__).returning(_violation.id)
_EXTEND_VIOLATION = update(Violation.__table__).where(
    _violation.id == bindparam("violation")).values(
    scan_count=_violation.scan_count + 1, last_scan_at=bindparam("scanned_at"),
    updated_at=bindparam("now"), responsible_party=func.coalesce(
        _violation.responsible_party, bindparam("responsible")))
_INSERT_AUDIT = insert(ViolationAudit.__table__)
_INSERT_EVIDENCE = insert(ViolationScan.__table__)


def _open_violation_id(session: Session, key: str, kind: ViolationType) -> int | None:
    return session.connection().execute(_OPEN_VIOLATION, {"key": key, "type": kind}).scalar()


@dataclass(frozen=True)
class Evidence:
    """What a scan brings to a violation (scans are written in Core for speed)."""

    scan_id: int
    key: str
    serial: str | None
    gtin: str | None
    verdict: str
    responsible_party: str | None
    expected_territories: list[str]
    found_territory: str | None
    scanned_at: dt.datetime


def open_or_extend(session: Session, *, evidence: Evidence, batch_id: int | None,
                   actor: Actor, now: dt.datetime | None = None) -> int:
    """Attach the scan to the open violation of its serial and type, or open one; returns
    the violation's id. Core statements: this runs for every suspicious scan."""
    now = now or utcnow()
    kind = ViolationType(evidence.verdict)
    violation_id = _open_violation_id(session, evidence.key, kind)
    opened = False
    if violation_id is None:
        values = dict(
            key=evidence.key, serial=evidence.serial, gtin=evidence.gtin, type=kind,
            status=ViolationStatus.OPEN, batch_id=batch_id,
            responsible_party=evidence.responsible_party,
            expected_territories=list(evidence.expected_territories),
            found_territory=evidence.found_territory, scan_count=1,
            last_scan_at=evidence.scanned_at, opened_at=now, updated_at=now)
        try:
            with session.begin_nested():
                violation_id = session.connection().execute(
                    _INSERT_VIOLATION, values).scalar_one()
            opened = True
        except IntegrityError:
            # Another scan of the same serial opened it a moment ago (PostgreSQL).
            violation_id = _open_violation_id(session, evidence.key, kind)
            if violation_id is None:
                raise
    connection = session.connection()
    if opened:
        connection.execute(_INSERT_AUDIT, dict(
            violation_id=violation_id, at=now, actor=actor.name, action="opened",
            from_status=None, to_status=ViolationStatus.OPEN.value,
            note=f"scan {evidence.scan_id}: {evidence.verdict}"))
    else:
        connection.execute(_EXTEND_VIOLATION, dict(
            violation=violation_id, scanned_at=evidence.scanned_at, now=now,
            responsible=evidence.responsible_party))
        connection.execute(_INSERT_AUDIT, dict(
            violation_id=violation_id, at=now, actor=actor.name, action="evidence",
            from_status=None, to_status=None, note=f"scan {evidence.scan_id} attached"))
    connection.execute(_INSERT_EVIDENCE,
                       dict(violation_id=violation_id, scan_id=evidence.scan_id))
    return violation_id


def _visible(query: Select[Any], actor: Actor) -> Select[Any]:
    if actor.role is Role.DISTRIBUTOR:
        return query.where(Violation.responsible_party == actor.party_id)
    actor.require(Role.COMPLIANCE, action="read violations")
    return query


def list_violations(session: Session, *, actor: Actor, status: str | None = None,
                    type: str | None = None, party: str | None = None,
                    territory: str | None = None, limit: int = 50, offset: int = 0
                    ) -> tuple[list[Violation], int]:
    query = _visible(select(Violation), actor)
    if status:
        query = query.where(Violation.status == parse_enum(
            ViolationStatus, status, what="status", code="invalid_parameter"))
    if type:
        query = query.where(Violation.type == parse_enum(
            ViolationType, type, what="type", code="invalid_parameter"))
    if party:
        query = query.where(Violation.responsible_party == party)
    if territory:
        query = query.where(Violation.found_territory == territory)
    return paged(session, query, Violation.updated_at.desc(), Violation.id.desc(),
                 limit=limit, offset=offset)


def get_violation(session: Session, violation_id: int, *, actor: Actor) -> Violation:
    violation = session.get(Violation, violation_id)
    if violation is None:
        raise NotFound(f"violation {violation_id} does not exist", code="unknown_violation")
    if actor.role is Role.DISTRIBUTOR:
        if violation.responsible_party != actor.party_id:
            raise PermissionDenied(f"violation {violation_id} is not attributed to party "
                                   f"'{actor.party_id}'")
    else:
        actor.require(Role.COMPLIANCE, action="read violations")
    return violation


def evidence(session: Session, violation_id: int, limit: int = 500) -> list[Scan]:
    return list(session.scalars(
        select(Scan).join(ViolationScan, ViolationScan.scan_id == Scan.id)
        .where(ViolationScan.violation_id == violation_id)
        .order_by(Scan.scanned_at, Scan.id).limit(limit)))


def audit_trail(session: Session, violation_id: int) -> list[ViolationAudit]:
    return list(session.scalars(select(ViolationAudit).where(
        ViolationAudit.violation_id == violation_id).order_by(ViolationAudit.at,
                                                              ViolationAudit.id)))


def review(session: Session, violation_id: int, *, status: str, note: str | None,
           actor: Actor, now: dt.datetime | None = None) -> Violation:
    """Move a violation along its workflow; who, when and why are kept."""
    actor.require(Role.COMPLIANCE, action="review violations")
    violation = get_violation(session, violation_id, actor=actor)
    target = parse_enum(ViolationStatus, status, what="status", code="invalid_parameter")
    if not note or not note.strip():
        raise InvalidInput("a review needs a 'note' saying why", code="missing_field")
    if target is violation.status:
        raise Conflict(f"violation {violation_id} is already {target.value}",
                       code="invalid_transition")
    if target not in TRANSITIONS[violation.status]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[violation.status]))
        raise Conflict(f"violation {violation_id} is {violation.status.value}; it can move to: "
                       f"{allowed}", code="invalid_transition")
    if target is ViolationStatus.INVESTIGATING and violation.status in CLOSED_STATUSES:
        if _open_violation_id(session, violation.key, violation.type) is not None:
            raise Conflict(f"another open {violation.type.value} violation exists for this "
                           "serial; review that one", code="invalid_transition")
    now = now or utcnow()
    session.add(ViolationAudit(violation_id=violation.id, at=now, actor=actor.name,
                               action="status", from_status=violation.status.value,
                               to_status=target.value, note=note.strip()))
    violation.status = target
    violation.updated_at = now
    session.flush()
    return violation


def recall_batch(session: Session, batch_id: int, *, reason: str, actor: Actor,
                 now: dt.datetime | None = None) -> Batch:
    """Recall every serial of a batch; later scans of them get the verdict 'recalled'."""
    actor.require(Role.COMPLIANCE, action="recall batches")
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"batch {batch_id} does not exist", code="unknown_batch")
    if not reason or not reason.strip():
        raise InvalidInput("a recall needs a 'reason'", code="missing_field")
    if batch.status is BatchStatus.RECALLED:
        raise Conflict(f"batch {batch_id} was already recalled on "
                       f"{batch.recalled_at:%Y-%m-%d}", code="already_recalled")
    now = now or utcnow()
    batch.status = BatchStatus.RECALLED
    batch.recalled_at = now
    batch.recall_reason = reason.strip()
    epc_class = events.batch_class(batch.gtin, batch.lot)
    document = events.object_event(
        keys=[], biz_step="holding", disposition="recalled", now=now,
        transaction=f"urn:tracker:recall:{batch.id}",
        extra={"quantityList": [{"epcClass": epc_class, "quantity": batch.quantity}]})
    events.record_service_event(session, document, batch_id=batch.id)
    session.flush()
    return batch
