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
from web.api.inputs import json_body
from web.api.schemas import models
from web.api.schemas.contract import operation
from web.db import get_session

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EPCIS_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
GS1_HEADERS = {name: f"{value}, the standards' versions" for name, value in EPCIS_HEADERS.items()}


def _with_headers(response: Response) -> Response:
    response.headers.update(EPCIS_HEADERS)
    return response


def job_body(job: CaptureJob) -> models.CaptureJob:
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
@operation("Capture an EPCISDocument; the job runs on, its state at the Location",
           reply=models.CaptureJob, status=202,
           headers={"Location": "the capture job's address", **GS1_HEADERS},
           content={"application/json": models.EPCIS_DOCUMENT,
                    "application/ld+json": models.EPCIS_DOCUMENT},
           header_params={"GS1-Capture-Error-Behaviour": {
               "type": "string", "enum": ["rollback", "proceed"], "default": "rollback"}},
           errors=(400, 413, 422))
def post_capture() -> Response:
    document = json_body()  # judged against GS1's schema by the EPCIS service
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
@operation("A capture job: running, success, errors", reply=models.CaptureJob,
           headers=GS1_HEADERS, errors=(404,))
def get_capture(job_id: int) -> Response:
    return _with_headers(jsonify(job_body(epcis.get_job(get_session(), job_id, actor=g.actor))))


@bp.post("/epcis/events")
@operation("Capture one EPCIS event; the same event (CBV event hash) twice is 409",
           reply=models.EventCaptured, status=201,
           headers={"Location": "the event's address", **GS1_HEADERS},
           content={"application/json": models.EPCIS_EVENT,
                    "application/ld+json": models.EPCIS_EVENT},
           errors=(400, 409, 413, 422))
def post_event() -> Response:
    event = json_body()  # judged against GS1's schema by the EPCIS service
    session = get_session()
    with write_transaction(session):
        stored = epcis.capture_event(session, event, actor=g.actor)
        event_id = stored.event_id
    captured: models.EventCaptured = {"eventID": event_id}
    response = jsonify(captured)
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
@operation("Query events (the standard EPCIS query parameters): an EPCISQueryDocument, the "
           "next page in the Link header", reply=models.EPCIS_QUERY_DOCUMENT,
           headers={"Link": '<...>; rel="next" when there is a next page', **GS1_HEADERS},
           query=models.EventsQuery, errors=(422,))
def get_events(query: models.EventsPage) -> Response:
    per_page, after = query.perPage, query.nextPageToken or None
    params: dict[str, str] = query.model_dump(exclude={"perPage", "nextPageToken"},
                                              exclude_none=True)
    rows, cursor = epcis.query_events(get_session(), params, actor=g.actor, per_page=per_page,
                                      after=after)
    response = jsonify(query_document(rows))
    if cursor is not None:
        params["nextPageToken"] = str(cursor)
        params["perPage"] = str(per_page)
        response.headers["Link"] = f'<{request.base_url}?{urlencode(params)}>; rel="next"'
    return _with_headers(response)


@bp.get("/epcis/events/<path:event_id>")
@operation("One event by its eventID", reply=models.EPCIS_EVENT, headers=GS1_HEADERS,
           errors=(404,))
def get_event(event_id: str) -> Response:
    event = epcis.get_event(get_session(), event_id, actor=g.actor)
    return _with_headers(jsonify(event.document))


@bp.get("/custody-exceptions")
@operation("Captured events that contradict recorded custody", reply=models.CustodyExceptions,
           query=models.BigPage, errors=(422,))
def get_custody_exceptions(query: models.BigPage) -> Response:
    rows = epcis.list_exceptions(get_session(), actor=g.actor, limit=query.limit,
                                 offset=query.offset)
    page: models.CustodyExceptions = {"items": [
        {"id": e.id, "event_pk": e.event_pk, "key": e.key, "kind": e.kind,
         "message": e.message, "status": e.status, "created_at": render.iso(e.created_at)}
        for e in rows]}
    return jsonify(page)
