"""Field scans, violations, recalls and traces."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, g, jsonify, request
from sqlalchemy import select

from tracker.db import direct_connection, write_transaction
from tracker.errors import InvalidInput
from tracker.models import Role, Scan, Violation
from tracker.services import custody, scans, trace, violations
from tracker.services.auth import Actor
from web.api import bp, render
from web.api.inputs import field, int_arg, json_body
from web.api.masterdata import created
from web.db import engine, get_session, settings


def parse_time(body: dict[str, Any], name: str) -> dt.datetime | None:
    value = field(body, name, str, default=None)
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"field '{name}' must be an ISO 8601 time, not {value!r}",
                           code="invalid_field") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"field '{name}' must carry a timezone (Z or +08:00)",
                           code="invalid_field")
    return moment


@bp.post("/scans")
def post_scan() -> Response:
    body = json_body()
    if "latitude" not in body or "longitude" not in body or "code" not in body:
        missing = [f for f in ("code", "latitude", "longitude") if f not in body]
        raise InvalidInput(f"field '{missing[0]}' is required", code="missing_field")
    scan_request = scans.ScanRequest(
        code=body["code"], latitude=body["latitude"], longitude=body["longitude"],
        accuracy_m=body.get("accuracy_m"), scanned_at=parse_time(body, "scanned_at"),
        client_scan_id=field(body, "client_scan_id", str, default=None),
        device_id=field(body, "device_id", str, default=None))
    # Judge first (its reads need no transaction of their own), then hold the write
    # lock only to store the result; the scan path runs its statements on the driver
    # (no ORM session).
    with direct_connection(engine()) as db:
        judged = scans.judge_scan(db, scan_request, actor=g.actor, settings=settings())
        with write_transaction(db):
            answer = scans.store_scan(db, judged, actor=g.actor, settings=settings())
    return created(answer)


@bp.get("/scans")
def get_scans() -> Response:
    """An inspector sees the verdicts of their own scans; compliance sees all."""
    actor: Actor = g.actor
    session = get_session()
    limit = int_arg("limit", 50, minimum=1, maximum=500)
    offset = int_arg("offset", 0)
    query = select(Scan).order_by(Scan.id.desc())
    if actor.role is Role.INSPECTOR:
        query = query.where(Scan.inspector_id == actor.user_id)
    else:
        actor.require(Role.COMPLIANCE, Role.INSPECTOR, action="read scans")
    rows = session.scalars(query.limit(limit).offset(offset))
    return jsonify({"items": [scans.answer(s) for s in rows], "limit": limit,
                    "offset": offset})


def violation_summary(v: Violation) -> dict[str, Any]:
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
def get_violations() -> Response:
    limit = int_arg("limit", 50, minimum=1, maximum=500)
    offset = int_arg("offset", 0)
    rows, total = violations.list_violations(
        get_session(), actor=g.actor, status=request.args.get("status"),
        type=request.args.get("type"), party=request.args.get("party"),
        territory=request.args.get("territory"), limit=limit, offset=offset)
    return jsonify({"items": [violation_summary(v) for v in rows], "total": total,
                    "limit": limit, "offset": offset})


def violation_detail(session: Any, v: Violation) -> dict[str, Any]:
    data = violation_summary(v)
    data["scans"] = [scans.answer(s) | {"latitude": s.latitude, "longitude": s.longitude,
                                         "accuracy_m": s.accuracy_m, "code": s.code,
                                         "device_id": s.device_id}
                     for s in violations.evidence(session, v.id)]
    data["custody"] = [{"kind": m.kind, "from": m.from_party, "to": m.to_party,
                        "shipment_id": m.shipment_id, "at": render.iso(m.at)}
                       for m in custody.history(session, v.key)]
    data["audit"] = [{"at": render.iso(a.at), "actor": a.actor, "action": a.action,
                      "from_status": a.from_status, "to_status": a.to_status, "note": a.note}
                     for a in violations.audit_trail(session, v.id)]
    return data


@bp.get("/violations/<int:violation_id>")
def get_violation(violation_id: int) -> Response:
    session = get_session()
    violation = violations.get_violation(session, violation_id, actor=g.actor)
    return jsonify(violation_detail(session, violation))


@bp.patch("/violations/<int:violation_id>")
def patch_violation(violation_id: int) -> Response:
    body = json_body()
    session = get_session()
    with write_transaction(session):
        violation = violations.review(session, violation_id, status=field(body, "status", str),
                                      note=field(body, "note", str, default=None),
                                      actor=g.actor)
        data = violation_detail(session, violation)
    return jsonify(data)


@bp.post("/batches/<int:batch_id>/recall")
def post_recall(batch_id: int) -> Response:
    body = json_body()
    session = get_session()
    with write_transaction(session):
        batch = violations.recall_batch(session, batch_id, reason=field(body, "reason", str),
                                        actor=g.actor)
        data = render.batch(batch)
    return jsonify(data)


@bp.get("/serials/<serial>/trace")
def get_trace(serial: str) -> Response:
    return jsonify(trace.trace_serial(get_session(), serial, actor=g.actor,
                                      settings=settings()))
