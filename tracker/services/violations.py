"""Violations: opened by verdicts, reviewed by compliance, every change audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tracker.db import utcnow
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


def _open_violation(session: Session, key: str, kind: ViolationType) -> Violation | None:
    return session.scalar(select(Violation).where(
        Violation.key == key, Violation.type == kind,
        Violation.status.not_in(CLOSED_STATUSES)))


def open_or_extend(session: Session, *, scan: Scan, batch_id: int | None, actor: Actor,
                   now: dt.datetime | None = None) -> Violation:
    """Attach the scan to the open violation of its serial and type, or open one."""
    now = now or utcnow()
    kind = ViolationType(scan.verdict.value)
    violation = _open_violation(session, scan.key or "", kind)
    if violation is None:
        try:
            with session.begin_nested():
                violation = Violation(
                    key=scan.key or "", serial=scan.serial, gtin=scan.gtin, type=kind,
                    batch_id=batch_id, responsible_party=scan.responsible_party,
                    expected_territories=list(scan.expected_territories),
                    found_territory=scan.found_territory, opened_at=now, updated_at=now)
                session.add(violation)
                session.flush()
                session.add(ViolationAudit(violation_id=violation.id, at=now, actor=actor.name,
                                           action="opened", to_status=ViolationStatus.OPEN.value,
                                           note=f"scan {scan.id}: {scan.verdict.value}"))
        except IntegrityError:
            # Another scan of the same serial opened it a moment ago.
            violation = _open_violation(session, scan.key or "", kind)
            if violation is None:
                raise
    else:
        session.add(ViolationAudit(violation_id=violation.id, at=now, actor=actor.name,
                                   action="evidence", note=f"scan {scan.id} attached"))
        if scan.responsible_party and not violation.responsible_party:
            violation.responsible_party = scan.responsible_party
    session.add(ViolationScan(violation_id=violation.id, scan_id=scan.id))
    violation.scan_count += 1
    violation.last_scan_at = scan.scanned_at
    violation.updated_at = now
    session.flush()
    return violation


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
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Violation.updated_at.desc(), Violation.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), total


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
        if _open_violation(session, violation.key, violation.type) is not None:
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
