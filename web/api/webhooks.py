"""Webhooks: subscriptions to event types, their deliveries and redelivery (admin;
compliance reads)."""

from __future__ import annotations

from typing import Annotated, Any

from flask import Response, g, jsonify
from pydantic import Field, WithJsonSchema
from typing_extensions import TypedDict

from tracker.db import write_transaction
from tracker.models import DeliveryStatus
from tracker.services import webhooks
from tracker.services.notify import EVENT_TYPES
from web.api import bp, render
from web.api.masterdata import created
from web.api.schemas.contract import Body, judged, operation
from web.api.schemas.models import MaybeWhen, Page, When, words
from web.db import get_session

EventName = Annotated[str, WithJsonSchema({"type": "string", "enum": list(EVENT_TYPES)})]


# --- Requests ---------------------------------------------------------------------------

class WebhookIn(Body):
    """Judged by the webhooks service (one place for what a URL and an event may be)."""

    url: Annotated[Any, judged({"type": "string", "format": "uri",
                                "maxLength": webhooks.MAX_URL,
                                "description": "the receiver's http:// or https:// address"})]
    events: Annotated[list[str], judged({
        "type": "array", "minItems": 1, "items": {"type": "string", "enum": list(EVENT_TYPES)},
        "description": "the event types it receives"})]


class WebhookChange(Body):
    enabled: Annotated[bool, Field(description="false holds its deliveries; true sends "
                                               "them again and forgets past failures")]


# --- Answers ----------------------------------------------------------------------------

class Webhook(TypedDict):
    id: int
    url: str
    events: list[EventName]
    created_at: When
    created_by: str
    enabled: bool
    failing_since: Annotated[str | None, Field(
        description="the first failure since the last success"), WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]})]
    disabled_at: MaybeWhen
    disabled_reason: Annotated[str | None, Field(description="why no deliveries go out")]


class WebhookCreated(Webhook):
    secret: Annotated[str, Field(description="whsec_ and base64: the key of the "
                                             "signatures; shown only once")]


class Webhooks(TypedDict):
    items: list[Webhook]


class WebhookAttempt(TypedDict):
    at: When
    status_code: Annotated[int | None, Field(description="the receiver's answer; null: none")]
    error: str | None
    duration_ms: float


class WebhookDelivery(TypedDict):
    id: int
    message_id: Annotated[str, Field(description="the webhook-id header and the body's id")]
    type: EventName
    status: Annotated[str, words(DeliveryStatus)]
    attempts: list[WebhookAttempt]
    next_attempt_at: MaybeWhen
    created_at: When
    delivered_at: MaybeWhen


class WebhookDeliveries(TypedDict):
    items: list[WebhookDelivery]
    total: int
    limit: int
    offset: int


def webhook(found: webhooks.Endpoint) -> Webhook:
    e = found.endpoint
    return {"id": e.id, "url": e.url, "events": found.events,
            "created_at": render.iso(e.created_at), "created_by": e.created_by,
            "enabled": e.disabled_at is None, "failing_since": render.iso(e.failing_since),
            "disabled_at": render.iso(e.disabled_at), "disabled_reason": e.disabled_reason}


def delivery(found: webhooks.Delivery) -> WebhookDelivery:
    d, n = found.delivery, found.notification
    return {"id": d.id, "message_id": n.message_id, "type": n.type, "status": d.status.value,
            "attempts": [{"at": render.iso(a.at), "status_code": a.status_code,
                          "error": a.error, "duration_ms": round(a.duration_ms, 1)}
                         for a in found.attempts],
            "next_attempt_at": render.iso(d.next_attempt_at),
            "created_at": render.iso(d.created_at), "delivered_at": render.iso(d.delivered_at)}


@bp.post("/webhooks")
@operation("Subscribe a URL to event types; the answer holds the signing secret, shown once",
           reply=WebhookCreated, status=201, body=WebhookIn, errors=(400, 413, 422))
def post_webhook(body: WebhookIn) -> Response:
    session = get_session()
    with write_transaction(session):
        found, secret = webhooks.create_endpoint(session, url=body.url, events=body.events,
                                                 actor=g.actor)
        answer: WebhookCreated = {**webhook(found), "secret": secret}
    return created(answer)


@bp.get("/webhooks")
@operation("The webhooks (without their secrets), with any that were disabled and why",
           reply=Webhooks)
def get_webhooks() -> Response:
    found = webhooks.list_endpoints(get_session(), actor=g.actor)
    page: Webhooks = {"items": [webhook(f) for f in found]}
    return jsonify(page)


@bp.patch("/webhooks/<int:webhook_id>")
@operation("Enable a webhook again (its waiting deliveries go out) or hold its deliveries",
           reply=Webhook, body=WebhookChange, errors=(400, 404, 422))
def patch_webhook(webhook_id: int, body: WebhookChange) -> Response:
    session = get_session()
    with write_transaction(session):
        found = webhooks.set_enabled(session, webhook_id, enabled=body.enabled, actor=g.actor)
        answer = webhook(found)
    return jsonify(answer)


@bp.delete("/webhooks/<int:webhook_id>")
@operation("Unsubscribe: the webhook goes, with the deliveries it has not received",
           reply=None, status=204, errors=(404,))
def delete_webhook(webhook_id: int) -> Response:
    session = get_session()
    with write_transaction(session):
        webhooks.delete_endpoint(session, webhook_id, actor=g.actor)
    return Response(status=204)


@bp.get("/webhooks/<int:webhook_id>/deliveries")
@operation("A webhook's deliveries, newest first, each with every attempt (time, the "
           "receiver's status, the error)", reply=WebhookDeliveries, query=Page,
           errors=(404, 422))
def get_deliveries(webhook_id: int, query: Page) -> Response:
    found, total = webhooks.list_deliveries(get_session(), webhook_id, actor=g.actor,
                                            limit=query.limit, offset=query.offset)
    page: WebhookDeliveries = {"items": [delivery(f) for f in found], "total": total,
                               "limit": query.limit, "offset": query.offset}
    return jsonify(page)


@bp.post("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@operation("Send a delivery again now, with the same webhook-id", reply=WebhookDelivery,
           status=202, errors=(404, 409))
def post_redeliver(webhook_id: int, delivery_id: int) -> Response:
    session = get_session()
    with write_transaction(session):
        found = webhooks.redeliver(session, webhook_id, delivery_id, actor=g.actor)
        answer = delivery(found)
    response = jsonify(answer)
    response.status_code = 202
    return response
