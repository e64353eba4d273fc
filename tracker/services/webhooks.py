"""Webhook endpoints: admins subscribe a URL to event types, read its deliveries with
every attempt, redeliver one, and enable an endpoint again once its receiver is mended.
What is sent and how: tracker.services.notify (the outbox) and .deliveries (the worker).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from tracker.db import utcnow
from tracker.errors import Conflict, InvalidInput, NotFound
from tracker.models import (
    DeliveryStatus,
    QuerySubscription,
    Role,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookNotification,
    WebhookSubscription,
)
from tracker.services import audit
from tracker.services.auth import Actor
from tracker.services.notify import EVENT_TYPES

MAX_URL = 2000
SECRET_BYTES = 32  # Standard Webhooks asks for 24 to 64


@dataclass(frozen=True)
class Endpoint:
    endpoint: WebhookEndpoint
    events: list[str]


@dataclass(frozen=True)
class Delivery:
    delivery: WebhookDelivery
    notification: WebhookNotification
    attempts: list[WebhookAttempt]


@dataclass(frozen=True)
class Activity:
    """What became of an endpoint's deliveries: how many are in each status, and the
    latest attempt of any of them (None before the first)."""

    counts: dict[DeliveryStatus, int]
    last_attempt: WebhookAttempt | None


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: ``whsec_`` and base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_url(url: object, *, field: str = "url", code: str = "invalid_url",
              what: str = "a webhook needs") -> str:
    """A receiver's address: http:// or https:// with a host, at most MAX_URL long;
    refused naming ``field`` (a subscription's ``dest`` is checked the same way)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(f"field '{field}' must be the receiver's http:// or https:// "
                           "address", code=code)
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"field '{field}' is {url[:200]!r}: {what} an http:// or https:// "
                           "address with a host", code=code)
    if len(url) > MAX_URL:
        raise InvalidInput(f"field '{field}' is {len(url)} characters long; at most {MAX_URL}",
                           code=code)
    return url


def check_events(events: Sequence[str]) -> list[str]:
    if not events:
        raise InvalidInput("field 'events' is empty: name at least one of "
                           f"{', '.join(EVENT_TYPES)}", code="invalid_events")
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"field 'events' names {', '.join(map(repr, unknown))}, not an "
                           f"event type; the types are {', '.join(EVENT_TYPES)}",
                           code="unknown_event")
    return list(dict.fromkeys(events))


def create_endpoint(session: Session, *, url: str, events: Sequence[str], actor: Actor,
                    now: dt.datetime | None = None) -> tuple[Endpoint, str]:
    """Subscribe ``url`` to ``events``; the endpoint and its signing secret."""
    actor.require(action="manage webhooks")
    url, chosen = check_url(url), check_events(events)
    endpoint = WebhookEndpoint(url=url, secret=new_secret(), created_at=now or utcnow(),
                               created_by=actor.name)
    session.add(endpoint)
    session.flush()
    session.add_all(WebhookSubscription(endpoint_id=endpoint.id, event=e) for e in chosen)
    session.flush()
    audit.record(session, actor=actor, action="webhook.create", subject_type="webhook",
                 subject_id=endpoint.id, now=now, detail={"url": url, "events": chosen})
    return Endpoint(endpoint, chosen), endpoint.secret


def _events_of(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    events: dict[int, list[str]] = {i: [] for i in ids}
    for endpoint_id, event in session.execute(
            select(WebhookSubscription.endpoint_id, WebhookSubscription.event)
            .where(WebhookSubscription.endpoint_id.in_(ids))):
        events[endpoint_id].append(event)
    return {i: sorted(e, key=EVENT_TYPES.index) for i, e in events.items()}


def list_endpoints(session: Session, *, actor: Actor) -> list[Endpoint]:
    actor.require(Role.COMPLIANCE, action="read webhooks")
    # An EPCIS query subscription's endpoint is the subscription's (GET
    # /epcis/queries/{name}/subscriptions), not a webhook of its own.
    rows = list(session.scalars(select(WebhookEndpoint).where(~exists().where(
        QuerySubscription.endpoint_id == WebhookEndpoint.id)).order_by(WebhookEndpoint.id)))
    events = _events_of(session, [e.id for e in rows])
    return [Endpoint(e, events[e.id]) for e in rows]


def get_endpoint(session: Session, endpoint_id: int, *, actor: Actor) -> Endpoint:
    actor.require(Role.COMPLIANCE, action="read webhooks")
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"webhook {endpoint_id} does not exist", code="unknown_webhook")
    return Endpoint(endpoint, _events_of(session, [endpoint.id])[endpoint.id])


def delete_endpoint(session: Session, endpoint_id: int, *, actor: Actor,
                    now: dt.datetime | None = None) -> None:
    """Unsubscribe: the endpoint goes with its deliveries not yet made and their record."""
    actor.require(action="manage webhooks")
    endpoint = get_endpoint(session, endpoint_id, actor=actor).endpoint
    deliveries = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.execute(delete(WebhookSubscription)
                    .where(WebhookSubscription.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.flush()
    audit.record(session, actor=actor, action="webhook.delete", subject_type="webhook",
                 subject_id=endpoint_id, now=now, detail={"url": endpoint.url})


def set_enabled(session: Session, endpoint_id: int, *, enabled: bool, actor: Actor,
                now: dt.datetime | None = None) -> Endpoint:
    """Disable an endpoint (its deliveries wait), or enable it again: its waiting
    deliveries go out, and its days of failures count afresh."""
    actor.require(action="manage webhooks")
    found = get_endpoint(session, endpoint_id, actor=actor)
    endpoint, now = found.endpoint, now or utcnow()
    if enabled and endpoint.disabled_at is not None:
        endpoint.disabled_at = endpoint.disabled_reason = endpoint.failing_since = None
    elif not enabled and endpoint.disabled_at is None:
        endpoint.disabled_at, endpoint.disabled_reason = now, f"disabled by {actor.name}"
    else:
        return found
    session.flush()
    audit.record(session, actor=actor, action="webhook.enable" if enabled else
                 "webhook.disable", subject_type="webhook", subject_id=endpoint.id, now=now)
    return found


def activity(session: Session, ids: Sequence[int], *, actor: Actor) -> dict[int, Activity]:
    """Each endpoint's deliveries counted by status, and its latest attempt."""
    actor.require(Role.COMPLIANCE, action="read webhooks")
    counts = {i: dict.fromkeys(DeliveryStatus, 0) for i in ids}
    for endpoint_id, status, count in session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
            .where(WebhookDelivery.endpoint_id.in_(ids))
            .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)):
        counts[endpoint_id][status] = count
    # Per endpoint, the attempts read newest first until one of its own: a few rows for
    # an endpoint in use, where max() per endpoint reads every attempt.
    newest = (select(WebhookAttempt.id)
              .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
              .where(WebhookDelivery.endpoint_id == WebhookEndpoint.id)
              .order_by(WebhookAttempt.id.desc()).limit(1)
              .correlate(WebhookEndpoint).scalar_subquery())
    latest = select(newest).where(WebhookEndpoint.id.in_(ids))
    last = {endpoint_id: attempt for attempt, endpoint_id in session.execute(
        select(WebhookAttempt, WebhookDelivery.endpoint_id)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookAttempt.id.in_(latest)))}
    return {i: Activity(counts[i], last.get(i)) for i in ids}


def list_deliveries(session: Session, endpoint_id: int, *, actor: Actor, limit: int = 50,
                    offset: int = 0, status: DeliveryStatus | None = None
                    ) -> tuple[list[Delivery], int]:
    """An endpoint's deliveries (of one status, if given), newest first, each with every
    attempt; and how many."""
    get_endpoint(session, endpoint_id, actor=actor)
    chosen = [WebhookDelivery.endpoint_id == endpoint_id]
    if status is not None:
        chosen.append(WebhookDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(WebhookDelivery)
                           .where(*chosen)) or 0
    rows = session.execute(
        select(WebhookDelivery, WebhookNotification)
        .join(WebhookNotification, WebhookNotification.id == WebhookDelivery.notification_id)
        .where(*chosen)
        .order_by(WebhookDelivery.id.desc()).limit(limit).offset(offset)).all()
    attempts: dict[int, list[WebhookAttempt]] = {d.id: [] for d, _ in rows}
    for attempt in session.scalars(select(WebhookAttempt).where(
            WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.at, WebhookAttempt.id)):
        attempts[attempt.delivery_id].append(attempt)
    return [Delivery(d, n, attempts[d.id]) for d, n in rows], total


def redeliver(session: Session, endpoint_id: int, delivery_id: int, *, actor: Actor,
              now: dt.datetime | None = None) -> Delivery:
    """Send a delivery again now (same ``webhook-id``), whatever became of it."""
    actor.require(action="manage webhooks")
    endpoint = get_endpoint(session, endpoint_id, actor=actor).endpoint
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise NotFound(f"webhook {endpoint_id} has no delivery {delivery_id}",
                       code="unknown_delivery")
    if endpoint.disabled_at is not None:
        raise Conflict(f"webhook {endpoint_id} is disabled ({endpoint.disabled_reason}); "
                       "enable it first (PATCH with enabled: true)", code="webhook_disabled")
    if delivery.status is DeliveryStatus.PENDING and delivery.claimed_by is not None:
        raise Conflict(f"delivery {delivery_id} is being sent right now; look again in a "
                       "moment", code="delivery_in_progress")
    now = now or utcnow()
    delivery.status, delivery.next_attempt_at, delivery.claimed_by = (
        DeliveryStatus.PENDING, now, None)
    session.flush()
    audit.record(session, actor=actor, action="webhook.redeliver", subject_type="webhook",
                 subject_id=endpoint_id, now=now, detail={"delivery": delivery_id})
    notification = session.get(WebhookNotification, delivery.notification_id)
    assert notification is not None
    attempts = list(session.scalars(select(WebhookAttempt).where(
        WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.at,
                                                            WebhookAttempt.id)))
    return Delivery(delivery, notification, attempts)
