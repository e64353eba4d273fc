"""The EPCIS 2.0 REST binding: capture, single events, queries."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode, urljoin

from flask import Response, g, jsonify, request

from tracker.db import write_transaction
from tracker.models import CaptureJob
from tracker.services import epcis, epcis_query
from web.api import bp, epcis_binding, render
from web.api.inputs import json_body
from web.api.schemas import models
from web.api.schemas.contract import operation
from web.db import get_session

EPCIS_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
GS1_HEADERS = {name: f"{value}, the standards' versions" for name, value in EPCIS_HEADERS.items()}


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
        "errors": epcis_binding.capture_errors(list(job.errors or [])),  # GS1: problems
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
    response.headers["Location"] = urljoin(
        request.host_url, f"{request.script_root}/api/v1/epcis/capture/{job.id}")
    return response


@bp.get("/epcis/capture/<int:job_id>")
@operation("A capture job: running, success, errors", reply=models.CaptureJob,
           headers=GS1_HEADERS, errors=(404,))
def get_capture(job_id: int) -> Response:
    return jsonify(job_body(epcis.get_job(get_session(), job_id, actor=g.actor)))


@bp.post("/epcis/events")
@operation("Capture one EPCIS event; the same event (CBV event hash) twice is 409; the "
           "answer is the event as stored (its eventID: the given one, or its hash)",
           reply=models.EPCIS_EVENT, status=201,
           headers={"Location": "the event's address", **GS1_HEADERS},
           content={"application/json": models.EPCIS_EVENT,
                    "application/ld+json": models.EPCIS_EVENT},
           errors=(400, 409, 413, 422))
def post_event() -> Response:
    event = json_body()  # judged against GS1's schema by the EPCIS service
    session = get_session()
    with write_transaction(session):
        stored = epcis.capture_event(session, event, actor=g.actor)
        event_id, document = stored.event_id, stored.document
    response = jsonify(document)
    response.status_code = 201
    response.headers["Location"] = urljoin(
        request.host_url, f"{request.script_root}/api/v1/epcis/events/{quote(event_id, safe='')}")
    return response


def events_page(params: dict[str, str], *, per_page: int, after: str | None,
                where: Mapping[str, object] | None = None,
                query_name: str = "SimpleEventQuery") -> Response:
    """A page of the events matching the request's ``params`` (and ``where``, what the
    address says) as an EPCISQueryDocument; the next page's address in the Link header."""
    page = epcis_query.query_events(get_session(), {**params, **(where or {})},
                                    actor=g.actor, per_page=per_page, after=after)
    response = jsonify(epcis_query.query_document(page.events, query_name=query_name))
    return with_next_page(response, per_page=per_page, token=page.next_cursor,
                                        params=params)


def next_link(params: dict[str, str]) -> str:
    return f'<{request.base_url}?{urlencode(params)}>; rel="next"'


def with_next_page(response: Response, *, per_page: int, token: str | None,
                   params: dict[str, str] | None = None) -> Response:
    """The next page's address in the Link header, when there is a next page: the same
    parameters, the same page size and the token."""
    if token is not None:
        response.headers["Link"] = next_link({**(params or {}), "perPage": str(per_page),
                                              "nextPageToken": token})
    return response


def filters(query: models.EventsPage) -> dict[str, str]:
    """The request's query parameters but paging."""
    return query.model_dump(exclude={"perPage", "nextPageToken"}, exclude_none=True)


@bp.get("/epcis/events")
@operation("Query events (the standard EPCIS query parameters): an EPCISQueryDocument, the "
           "next page in the Link header", reply=models.EPCIS_QUERY_DOCUMENT,
           headers={"Link": '<...>; rel="next" when there is a next page', **GS1_HEADERS},
           query=models.EventsQuery, errors=(400, 413))
def get_events(query: models.EventsPage) -> Response:
    return events_page(filters(query), per_page=query.perPage,
                       after=query.nextPageToken or None)


@bp.get("/epcis/events/<path:event_id>", merge_slashes=False)
@operation("One event by its eventID, inside an EPCISQueryDocument",
           reply=models.EPCIS_QUERY_DOCUMENT, headers=GS1_HEADERS, errors=(404,))
def get_event(event_id: str) -> Response:
    event = epcis_query.get_event(get_session(), event_id, actor=g.actor)
    return jsonify(epcis_query.query_document([event]))


@bp.get("/epcis/capture")
@operation("The capture jobs, newest first, paged", reply=list[models.CaptureJob],
           headers={"Link": '<...>; rel="next" when there is a next page', **GS1_HEADERS},
           query=models.Paging, errors=(400,))
def get_captures(query: models.Paging) -> Response:
    jobs, token = epcis.list_jobs(get_session(), actor=g.actor, per_page=query.perPage,
                                  after=query.nextPageToken or None)
    return with_next_page(jsonify([job_body(job) for job in jobs]),
                                        per_page=query.perPage, token=token)


@bp.delete("/epcis/nextPageToken/<path:token>")
@operation("Release a page token: no further page is read with it", status=204,
           errors=())
def delete_page_token(token: str) -> Response:
    session = get_session()
    with write_transaction(session):
        epcis_query.release_token(session, token)
    return Response(status=204)


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
