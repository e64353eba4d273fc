"""The EPCIS 2.0 REST binding's named queries and query subscriptions (``/epcis/queries``),
in the shapes of GS1's ``rest/openapi.yaml`` (QueryDefinition, AbstractQuerySubscription,
AbstractQuerySubscriptionResponse with QueryScheduleSubscription or
QueryStreamSubscription). Pushes go to ``dest`` over HTTP as webhooks do; WebSocket
subscriptions (``Upgrade: websocket`` on ``/events``) are not offered: such a request
is answered with the query's results, 200, like any other."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urljoin

from flask import Response, g, jsonify, request

from tracker.db import write_transaction
from tracker.models import EpcisQuery
from tracker.services import epcis_queries, epcis_query, epcis_subscriptions
from web.api import bp, render
from web.api.epcis import GS1_HEADERS, with_next_page
from web.api.schemas import models
from web.api.schemas.contract import Body, judged, operation
from web.db import get_session

PAGED = {"Link": '<...>; rel="next" when there is a next page', **GS1_HEADERS}
GS1_SCHEDULE = ("https://ref.gs1.org/standards/epcis/ (EPCIS 1.2 section 8.2.5.3): a "
                "number, a range [low-high] or a comma-separated list of them, in UTC")

QUERY_DEFINITION: dict[str, Any] = {
    "type": "object", "required": ["name", "query"],
    "properties": {
        "name": {"type": "string", "pattern": epcis_queries.NAME.pattern,
                 "maxLength": epcis_queries.MAX_NAME, "description": "the query's name"},
        "query": {"type": "object", "description": "EPCIS query parameters as GS1's "
                  "query-schema.json writes them (lists, times, numbers)"}}}
SCHEDULE: dict[str, Any] = {
    "type": "object", "description": GS1_SCHEDULE,
    "properties": {name: {"type": "string"} for name, _, _ in epcis_subscriptions.FIELDS}}
SUBSCRIPTION: dict[str, Any] = {
    "type": "object",
    "required": ["dest", "subscriptionID", "createdAt", "queryName", "webhookID"],
    "description": "AbstractQuerySubscriptionResponse with either stream: true or a "
                   "schedule (and reportIfEmpty)",
    "properties": {
        "subscriptionID": {"type": "string"},
        "webhookID": {"type": "integer", "description": "the webhook endpoint that delivers "
                      "its pushes: its deliveries at GET /webhooks/{id}/deliveries; PATCH "
                      "/webhooks/{id} enables it again after days of failures"},
        "queryName": {"type": "string"},
        "dest": {"type": "string", "format": "uri"},
        "createdAt": {"type": "string", "format": "date-time"},
        "lastNotifiedAt": {"type": "string", "format": "date-time",
                           "description": "when the receiver last answered 2xx to a push"},
        "initialRecordTime": {"type": "string", "format": "date-time"},
        "minRecordTime": {"type": "string", "format": "date-time",
                          "description": "when the next push's window starts"},
        "stream": {"type": "boolean", "enum": [True]},
        "reportIfEmpty": {"type": "boolean"},
        "schedule": SCHEDULE,
        "secret": {"type": "string", "description": "the signing secret (whsec_ and "
                   "base64) when no signatureToken was given; shown only once"}}}


class QueryIn(Body):
    """A QueryDefinition, judged by the named-queries service (the query engine checks
    every parameter)."""

    name: Annotated[Any, judged(QUERY_DEFINITION["properties"]["name"])]
    query: Annotated[Any, judged(QUERY_DEFINITION["properties"]["query"])]


def maybe(schema: dict[str, Any]) -> Any:
    """An optional member: the schema, or null (absent)."""
    return judged({"anyOf": [schema, {"type": "null"}]})


class SubscriptionIn(Body):
    """AbstractQuerySubscription with QueryScheduleSubscription or
    QueryStreamSubscription, judged by the subscriptions service."""

    dest: Annotated[Any, judged({"type": "string", "format": "uri", "description":
                                 "where the results are POSTed (http:// or https://)"})]
    signatureToken: Annotated[Any, maybe({  # noqa: N815 (GS1's names)
        "type": "string", "maxLength": epcis_subscriptions.MAX_TOKEN, "description":
        "the key of the pushes' signatures: Standard Webhooks headers (webhook-id, "
        "webhook-timestamp, webhook-signature) with the secret whsec_ + base64(token)"})] = None
    stream: Annotated[Any, maybe({"type": "boolean", "enum": [True], "description":
                                  "push as matching events are captured"})] = None
    schedule: Annotated[Any, maybe(SCHEDULE)] = None
    reportIfEmpty: Annotated[Any, maybe({"type": "boolean", "default": False})] = None  # noqa: N815
    initialRecordTime: Annotated[Any, maybe({  # noqa: N815
        "type": "string", "format": "date-time",
        "description": "the first push holds the events recorded since; default: those "
                       "stored after the subscription is made"})] = None


def definition(query: EpcisQuery) -> dict[str, Any]:
    return {"name": query.name, "query": query.query}


def subscription(found: epcis_subscriptions.Found) -> dict[str, Any]:
    s = found.subscription
    body: dict[str, Any] = {"subscriptionID": s.subscription_id, "queryName": found.query_name,
                            "dest": found.dest, "createdAt": render.iso(s.created_at),
                            "webhookID": s.endpoint_id}
    if found.last_notified_at is not None:
        body["lastNotifiedAt"] = render.iso(found.last_notified_at)
    if s.initial_record_time is not None:
        body["initialRecordTime"] = render.iso(s.initial_record_time)
    body["minRecordTime"] = render.iso(s.min_record_time)
    if s.stream:
        body["stream"] = True
    else:
        body["reportIfEmpty"] = s.report_if_empty
        body["schedule"] = dict(s.schedule or {})
    return body


def _answer(body: object, status: int = 200, location: str | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    if location is not None:  # absolute, as GS1's binding asks of a subscription's
        response.headers["Location"] = urljoin(request.host_url, location)
    return response


def _query_address(name: str) -> str:
    return f"{request.script_root}/api/v1/epcis/queries/{quote(name, safe='')}"


@bp.post("/epcis/queries")
@operation("Create a named query (a QueryDefinition); its parameters are checked now",
           reply=QUERY_DEFINITION, status=201,
           headers={"Location": "the query's address", **GS1_HEADERS}, body=QueryIn,
           errors=(400, 409, 413))
def post_query(body: QueryIn) -> Response:
    session = get_session()
    with write_transaction(session):
        found = epcis_queries.create_query(session, name=body.name, query=body.query,
                                           actor=g.actor)
        answer = definition(found)
    return _answer(answer, 201, _query_address(found.name))


@bp.get("/epcis/queries")
@operation("The named queries, paged (Link rel=\"next\")",
           reply={"type": "array", "items": QUERY_DEFINITION}, headers=PAGED,
           query=models.Paging, errors=(400,))
def get_queries(query: models.Paging) -> Response:
    page = epcis_queries.list_queries(get_session(), actor=g.actor, per_page=query.perPage,
                                      after=query.nextPageToken or None)
    return with_next_page(_answer([definition(q) for q in page.queries]),
                          per_page=query.perPage, token=page.next_cursor)


@bp.get("/epcis/queries/<query_name>")
@operation("A named query's definition, as the one item of an array (GS1's schema for this "
           "answer is an array of query definitions)",
           reply={"type": "array", "items": QUERY_DEFINITION, "minItems": 1, "maxItems": 1},
           headers=GS1_HEADERS, errors=(404,))
def get_query(query_name: str) -> Response:
    return _answer([definition(epcis_queries.get_query(get_session(), query_name,
                                                       actor=g.actor))])


@bp.delete("/epcis/queries/<query_name>")
@operation("Remove a named query and end every subscription to it", reply=None, status=204,
           errors=(404,))
def delete_query(query_name: str) -> Response:
    session = get_session()
    with write_transaction(session):
        epcis_queries.delete_query(session, query_name, actor=g.actor)
    return Response(status=204)


@bp.get("/epcis/queries/<query_name>/events")
@operation("The named query's events (those the caller may read) as an EPCISQueryDocument "
           "with its queryName, paged like /events. WebSocket subscriptions are not "
           "offered: a request to upgrade is answered 200 with the results",
           reply=models.EPCIS_QUERY_DOCUMENT, headers=PAGED, query=models.Paging,
           header_params={"Upgrade": {"type": "string", "description":
                                      "ignored: no WebSocket; the answer is the results"}},
           errors=(400, 404, 413))
def get_query_events(query_name: str, query: models.Paging) -> Response:
    page = epcis_queries.run_query(get_session(), query_name, actor=g.actor,
                                   per_page=query.perPage, after=query.nextPageToken or None)
    return with_next_page(_answer(epcis_query.query_document(page.events,
                                                             query_name=query_name)),
                          per_page=query.perPage, token=page.next_cursor)


# A WebSocket handshake on the same address is routed apart by Werkzeug (and refused
# there): this rule brings it to the same view, which answers with the results.
bp.add_url_rule("/epcis/queries/<query_name>/events", view_func=get_query_events,
                websocket=True)


def _subscription_address(name: str, subscription_id: str) -> str:
    return f"{_query_address(name)}/subscriptions/{subscription_id}"


@bp.post("/epcis/queries/<query_name>/subscriptions")
@operation("Subscribe a receiver (dest) to the query's results: stream (as events are "
           "captured) or on a schedule; pushed as EPCISQueryDocuments signed and retried "
           "as webhooks are", reply=SUBSCRIPTION, status=201,
           headers={"Location": "the subscription's address", **GS1_HEADERS},
           body=SubscriptionIn, errors=(400, 404, 413))
def post_subscription(query_name: str, body: SubscriptionIn) -> Response:
    session = get_session()
    with write_transaction(session):
        found, secret = epcis_subscriptions.create_subscription(
            session, query_name, dest=body.dest, signature_token=body.signatureToken,
            stream=body.stream, schedule=body.schedule, report_if_empty=body.reportIfEmpty,
            initial_record_time=body.initialRecordTime, actor=g.actor)
        answer = subscription(found)
    if secret is not None:
        answer["secret"] = secret
    return _answer(answer, 201, _subscription_address(
        found.query_name, found.subscription.subscription_id))


@bp.get("/epcis/queries/<query_name>/subscriptions")
@operation("The query's subscriptions, paged (Link rel=\"next\")",
           reply={"type": "array", "items": SUBSCRIPTION}, headers=PAGED,
           query=models.Paging, errors=(400, 404))
def get_subscriptions(query_name: str, query: models.Paging) -> Response:
    page = epcis_subscriptions.list_subscriptions(
        get_session(), query_name, actor=g.actor, per_page=query.perPage,
        after=query.nextPageToken or None)
    return with_next_page(_answer([subscription(f) for f in page.items]),
                          per_page=query.perPage, token=page.next_cursor)


@bp.get("/epcis/queries/<query_name>/subscriptions/<subscription_id>")
@operation("One subscription (is it still there; when was its receiver last reached)",
           reply=SUBSCRIPTION, headers=GS1_HEADERS, errors=(404,))
def get_subscription(query_name: str, subscription_id: str) -> Response:
    return _answer(subscription(epcis_subscriptions.get_subscription(
        get_session(), query_name, subscription_id, actor=g.actor)))


@bp.delete("/epcis/queries/<query_name>/subscriptions/<subscription_id>")
@operation("Unsubscribe: nothing more is pushed, pushes not yet made are dropped",
           reply=None, status=204, errors=(404,))
def delete_subscription(query_name: str, subscription_id: str) -> Response:
    session = get_session()
    with write_transaction(session):
        epcis_subscriptions.delete_subscription(session, query_name, subscription_id,
                                                actor=g.actor)
    return Response(status=204)
