"""Field scans, violations, recalls and traces."""

from __future__ import annotations

from typing import Any, cast

from flask import Response, g, jsonify
from sqlalchemy import select

from tracker.db import write_transaction
from tracker.models import Role, Scan, Violation
from tracker.services import custody, scans, trace, violations
from tracker.services.auth import Actor
from web.api import bp, render
from web.api.masterdata import created
from web.api.schemas import models
from web.api.schemas.contract import operation
from web.db import get_session, settings


@bp.post("/scans")
@operation("Judge a field scan: the verdict, and a violation for any verdict but authentic; "
           "the same client_scan_id again answers as the first time", reply=models.ScanAnswer,
           status=201, body=models.ScanIn, errors=(400, 413, 422))
def post_scan(body: models.ScanIn) -> Response:
    scan_request = scans.ScanRequest(
        code=body.code, latitude=body.latitude, longitude=body.longitude,
        accuracy_m=body.accuracy_m, scanned_at=body.scanned_at,
        client_scan_id=body.client_scan_id, device_id=body.device_id)
    answer = scans.record_scan(get_session(), scan_request, actor=g.actor,
                               settings=settings())
    return created(answer)


@bp.get("/scans")
@operation("Scans, newest first (an inspector sees its own)", reply=models.Scans,
           query=models.Page, errors=(422,))
def get_scans(query: models.Page) -> Response:
    """An inspector sees the verdicts of their own scans; compliance sees all."""
    actor: Actor = g.actor
    session = get_session()
    chosen = select(Scan).order_by(Scan.id.desc())
    if actor.role is Role.INSPECTOR:
        chosen = chosen.where(Scan.inspector_id == actor.user_id)
    else:
        actor.require(Role.COMPLIANCE, Role.INSPECTOR, action="read scans")
    rows = session.scalars(chosen.limit(query.limit).offset(query.offset))
    return jsonify({"items": [scans.answer(s) for s in rows], "limit": query.limit,
                    "offset": query.offset})


def violation_summary(v: Violation) -> models.Violation:
    return {
        "id": v.id, "type": v.type.value, "status": v.status.value, "serial": v.serial,
        "gtin": v.gtin, "key": v.key, "batch_id": v.batch_id,
        "responsible_party": v.responsible_party,
        "expected_territories": list(v.expected_territories),
        "found_territory": v.found_territory, "scan_count": v.scan_count,
        "opened_at": render.iso(v.opened_at), "last_scan_at": render.iso(v.last_scan_at),
        "updated_at": render.iso(v.updated_at),
    }


@bp.get("/violations")
@operation("List violations, newest first", reply=models.Violations,
           query=models.ViolationsQuery, errors=(422,))
def get_violations(query: models.ViolationsQuery) -> Response:
    rows, total = violations.list_violations(
        get_session(), actor=g.actor, status=query.status, type=query.type, party=query.party,
        territory=query.territory, limit=query.limit, offset=query.offset)
    page: models.Violations = {"items": [violation_summary(v) for v in rows], "total": total,
                               "limit": query.limit, "offset": query.offset}
    return jsonify(page)


def violation_detail(session: Any, v: Violation) -> models.ViolationDetail:
    return {
        **violation_summary(v),
        "scans": [cast(models.EvidenceScan, scans.answer(s) | {
            "latitude": s.latitude, "longitude": s.longitude, "accuracy_m": s.accuracy_m,
            "code": s.code, "device_id": s.device_id})
            for s in violations.evidence(session, v.id)],
        "custody": [{"kind": m.kind, "from": m.from_party, "to": m.to_party,
                     "shipment_id": m.shipment_id, "at": render.iso(m.at)}
                    for m in custody.history(session, v.key)],
        "audit": [{"at": render.iso(a.at), "actor": a.actor, "action": a.action,
                   "from_status": a.from_status, "to_status": a.to_status, "note": a.note}
                  for a in violations.audit_trail(session, v.id)],
    }


@bp.get("/violations/<int:violation_id>")
@operation("A violation with its scans, custody chain and audit trail",
           reply=models.ViolationDetail, errors=(404,))
def get_violation(violation_id: int) -> Response:
    session = get_session()
    violation = violations.get_violation(session, violation_id, actor=g.actor)
    return jsonify(violation_detail(session, violation))


@bp.patch("/violations/<int:violation_id>")
@operation("Review: change the status with a note (kept with who and when)",
           reply=models.ViolationDetail, body=models.ReviewIn, errors=(400, 404, 409, 422))
def patch_violation(violation_id: int, body: models.ReviewIn) -> Response:
    session = get_session()
    with write_transaction(session):
        violation = violations.review(session, violation_id, status=body.status,
                                      note=body.note, actor=g.actor)
        data = violation_detail(session, violation)
    return jsonify(data)


@bp.post("/batches/<int:batch_id>/recall")
@operation("Recall every serial of the batch", reply=models.Batch, body=models.RecallIn,
           errors=(400, 404, 409, 422))
def post_recall(batch_id: int, body: models.RecallIn) -> Response:
    session = get_session()
    with write_transaction(session):
        batch = violations.recall_batch(session, batch_id, reason=body.reason, actor=g.actor)
        data = render.batch(batch)
    return jsonify(data)


@bp.get("/serials/<serial>/trace")
@operation("The serial's batch, territory, events and scans in time order, and where it is "
           "now", reply=models.Trace, errors=(400, 404, 422))
def get_trace(serial: str) -> Response:
    return jsonify(trace.trace_serial(get_session(), serial, actor=g.actor,
                                      settings=settings()))
