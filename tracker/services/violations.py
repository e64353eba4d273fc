"""Violations: opened by verdicts, reviewed by compliance, every change audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, insert, select, text
from sqlalchemy.orm import Session

from tracker.db import DirectConnection, Prepared, dialect_insert, paged, table, utcnow
from tracker.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tracker.models import (
    CLOSED_STATUSES,
    OPEN_VIOLATION,
    Batch,
    BatchStatus,
    Role,
    Scan,
    Violation,
    ViolationAudit,
    ViolationStatus,
    ViolationType,
)
from tracker.services import audit, events, notify
from tracker.services.auth import Actor
from tracker.services.inputs import parse_enum
from tracker.services.violation_filter import QueueFilter, conditions

Ts = TypeVarTuple("Ts")

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


# Built once (run on the driver, tracker.db.Prepared): these run for every suspicious scan.
_violation = table(Violation).c
_INSERT_AUDIT = Prepared(insert(table(ViolationAudit)), columns=(
    "violation_id", "at", "actor", "action", "from_status", "to_status", "note"))
_OPEN = text(OPEN_VIOLATION)  # the predicate of the unique index


def _upsert(dialect: str) -> Any:
    """Open the violation, or when one is open for the serial and type (the partial
    unique index), extend it: one statement, atomic under concurrent scans."""
    statement = dialect_insert(dialect)(table(Violation))
    return statement.on_conflict_do_update(
        index_elements=[_violation.key, _violation.type], index_where=_OPEN,
        set_={"scan_count": _violation.scan_count + 1,
              "last_scan_at": statement.excluded.last_scan_at,
              "updated_at": statement.excluded.updated_at,
              "responsible_party": func.coalesce(_violation.responsible_party,
                                                 statement.excluded.responsible_party)},
    ).returning(_violation.id, _violation.scan_count)


_UPSERT = Prepared(_upsert, columns=(
    "key", "serial", "gtin", "type", "status", "batch_id", "responsible_party",
    "expected_territories", "found_territory", "scan_count", "last_scan_at", "opened_at",
    "updated_at"))


def _open_violation_id(session: Session, key: str, kind: ViolationType) -> int | None:
    return session.scalar(select(Violation.id).where(
        Violation.key == key, Violation.type == kind, Violation.status.not_in(CLOSED_STATUSES)))


@dataclass(frozen=True)
class Finding:
    """What a suspicious scan says about its serial (scans are written in Core for speed)."""

    key: str
    serial: str | None
    gtin: str | None
    verdict: str
    responsible_party: str | None
    expected_territories: list[str]
    found_territory: str | None
    scanned_at: dt.datetime


@dataclass(frozen=True)
class Opened:
    """The open violation a finding went to, and whether the finding opened it."""

    id: int
    new: bool
    verdict: str


def open_or_extend(db: DirectConnection, *, finding: Finding, batch_id: int | None,
                   now: dt.datetime | None = None) -> Opened:
    """The open violation of the finding's serial and type: opened by it, or extended."""
    now = now or utcnow()
    violation_id, scan_count = db.rows(_UPSERT, dict(
        key=finding.key, serial=finding.serial, gtin=finding.gtin,
        type=ViolationType(finding.verdict), status=ViolationStatus.OPEN, batch_id=batch_id,
        responsible_party=finding.responsible_party,
        expected_territories=list(finding.expected_territories),
        found_territory=finding.found_territory, scan_count=1,
        last_scan_at=finding.scanned_at, opened_at=now, updated_at=now))[0]
    # Every violation opens with its first scan, so only a new one counts one scan.
    if scan_count == 1:
        notify.violation_opened(db, violation_id, finding, batch_id=batch_id, now=now)
    return Opened(violation_id, scan_count == 1, finding.verdict)


def attach(db: DirectConnection, violation: Opened, *, scan_id: int, actor: Actor,
           now: dt.datetime) -> None:
    """The audit entry of a scan that opened or extended the violation (the scan is its
    evidence through its violation_id)."""
    if violation.new:
        db.run(_INSERT_AUDIT, dict(
            violation_id=violation.id, at=now, actor=actor.name, action="opened",
            from_status=None, to_status=ViolationStatus.OPEN.value,
            note=f"scan {scan_id}: {violation.verdict}"))
        audit.record(db, actor=actor, action="violation.open", subject_type="violation",
                     subject_id=violation.id, now=now,
                     detail={"scan": scan_id, "type": violation.verdict})
    else:
        db.run(_INSERT_AUDIT, dict(
            violation_id=violation.id, at=now, actor=actor.name, action="evidence",
            from_status=None, to_status=None, note=f"scan {scan_id} attached"))


def visible(query: Select[*Ts], actor: Actor) -> Select[*Ts]:
    """The query limited to the violations the actor may read: a distributor those
    attributed to its party, compliance and admin every one; others none (refused)."""
    if actor.role is Role.DISTRIBUTOR:
        return query.where(Violation.responsible_party == actor.party_id)
    actor.require(Role.COMPLIANCE, action="read violations")
    return query


def list_violations(session: Session, *, actor: Actor, status: str | None = None,
                    type: str | None = None, party: str | None = None,
                    territory: str | None = None, limit: int = 50, offset: int = 0
                    ) -> tuple[list[Violation], int]:
    """One page of violations, last changed first, and how many match. ``territory``
    is where they were found: the territory or any below it."""
    filters = QueueFilter(
        statuses=(parse_enum(ViolationStatus, status, what="status",
                             code="invalid_parameter"),) if status else (),
        types=(parse_enum(ViolationType, type, what="type",
                          code="invalid_parameter"),) if type else (),
        party=party or None, found_territory=territory or None)
    query = visible(select(Violation).where(*conditions(filters)), actor)
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
        select(Scan).where(Scan.violation_id == violation_id)
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
    trail = ViolationAudit(violation_id=violation.id, at=now, actor=actor.name,
                           action="status", from_status=violation.status.value,
                           to_status=target.value, note=note.strip())
    session.add(trail)
    violation.status = target
    violation.updated_at = now
    session.flush()
    audit.record(session, actor=actor, action="violation.status", subject_type="violation",
                 subject_id=violation.id, now=now, detail={
                     "from": trail.from_status, "to": target, "note": trail.note})
    notify.emit(session, "violation.updated", lambda: notify.violation(violation), now=now)
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
    audit.record(session, actor=actor, action="batch.recall", subject_type="batch",
                 subject_id=batch.id, now=now,
                 detail={"reason": batch.recall_reason, "quantity": batch.quantity})
    notify.emit(session, "batch.recalled", lambda: notify.batch(batch), now=now)
    return batch
