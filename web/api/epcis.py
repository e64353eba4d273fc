"""The EPCIS 2.0 REST binding: capture, single events, queries."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode

from flask import Response, g, jsonify, request

from tracker.db import write_transaction
from tracker.models import CaptureJob, Event
from tracker.services import epcis
from web.api import bp, render
from web.api.inputs import int_arg, json_body
from web.db import get_session

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EPCIS_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}


def _with_headers(response: Response) -> Response:
    response.headers.update(EPCIS_HEADERS)
    return response


def job_body(job: CaptureJob) -> dict[str, Any]:
    return {
        "captureID": str(job.id),
        "createdAt": render.iso(job.created_at),
        "finishedAt": render.iso(job.finished_at),
        "running": job.status.value == "running",
        "success": job.status.value == "success",
        "captureErrorBehaviour": job.error_behaviour,
        "eventCount": job.event_count,
        "capturedCount": job.captured_count,
        "errors": list(job.errors or []),
    }


@bp.post("/epcis/capture")
def post_capture() -> Response:
    document = json_body()
    behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback").lower()
    # Checked before the write lock is taken: scans go on meanwhile.
    checked = epcis.check_capture(document, actor=g.actor, behaviour=behaviour)
    session = get_session()
    with write_transaction(session):
        job = epcis.store_capture(session, checked, actor=g.actor)
        body = job_body(job)
    response = jsonify(body)
    response.status_code = 202
    response.headers["Location"] = f"{request.script_root}/api/v1/epcis/capture/{job.id}"
    return _with_headers(response)


@bp.get("/epcis/capture/<int:job_id>")
def get_capture(job_id: int) -> Response:
    return _with_headers(jsonify(job_body(epcis.get_job(get_session(), job_id, actor=g.actor))))


@bp.post("/epcis/events")
def post_event() -> Response:
    event = json_body()
    session = get_session()
    with write_transaction(session):
        stored = epcis.capture_event(session, event, actor=g.actor)
        event_id = stored.event_id
    response = jsonify({"eventID": event_id})
    response.status_code = 201
    response.headers["Location"] = (
        f"{request.script_root}/api/v1/epcis/events/{quote(event_id, safe='')}")
    return _with_headers(response)


def query_document(events: list[Event]) -> dict[str, Any]:
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery",
                                       "resultsBody": {"eventList": [e.document for e in events]}}},
    }


@bp.get("/epcis/events")
def get_events() -> Response:
    per_page = int_arg("perPage", 30, minimum=1, maximum=1000)
    after = int_arg("nextPageToken", 0) or None
    params = {k: v for k, v in request.args.items()}
    rows, cursor = epcis.query_events(get_session(), params, actor=g.actor, per_page=per_page,
                                      after=after)
    response = jsonify(query_document(rows))
    if cursor is not None:
        params["nextPageToken"] = str(cursor)
        params["perPage"] = str(per_page)
        response.headers["Link"] = f'<{request.base_url}?{urlencode(params)}>; rel="next"'
    return _with_headers(response)


@bp.get("/epcis/events/<path:event_id>")
def get_event(event_id: str) -> Response:
    event = epcis.get_event(get_session(), event_id, actor=g.actor)
    return _with_headers(jsonify(event.document))


@bp.get("/custody-exceptions")
def get_custody_exceptions() -> Response:
    limit = int_arg("limit", 100, minimum=1, maximum=1000)
    offset = int_arg("offset", 0)
    rows = epcis.list_exceptions(get_session(), actor=g.actor, limit=limit, offset=offset)
    return jsonify({"items": [{"id": e.id, "event_pk": e.event_pk, "key": e.key,
                               "kind": e.kind, "message": e.message, "status": e.status,
                               "created_at": render.iso(e.created_at)} for e in rows]})
