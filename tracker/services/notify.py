"""The outbox: a change announces itself by writing its notification, and a delivery to
each endpoint subscribed to its event type then, in the change's own transaction. A
change rolled back takes its notification with it; a change committed has its
notification, which the delivery worker (tracker.services.deliveries) sends.

A notification is written only when some endpoint subscribes to its type (one read
finds out before anything is built): a field scan pays for webhooks only once someone
listens. The statements run on the driver (tracker.db.Prepared), since a scan's
violation is opened on the scan path's own connection, in its transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import Integer, String, bindparam, exists, insert, literal, select
from sqlalchemy.orm import Session

from tracker.db import DirectConnection, Prepared, UTCDateTime, table, utcnow
from tracker.models import (
    Batch,
    DeliveryStatus,
    Shipment,
    Violation,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookNotification,
    WebhookSubscription,
)

# The contract's event types (§2 Notifications).
EVENT_TYPES = ("violation.opened", "violation.updated", "shipment.received",
               "batch.recalled", "sanction.proposed", "sanction.updated")

_endpoint, _subscription = table(WebhookEndpoint).c, table(WebhookSubscription).c
_notification, _delivery = table(WebhookNotification).c, table(WebhookDelivery).c
_event = bindparam("type", type_=String)
_now = bindparam("created_at", type_=UTCDateTime())
_listening = (select(_subscription.endpoint_id)
              .join(table(WebhookEndpoint), _endpoint.id == _subscription.endpoint_id)
              .where(_subscription.event == _event, _endpoint.disabled_at.is_(None)))

_LISTENING = Prepared(select(exists(_listening)))
_NOTIFY = Prepared(insert(table(WebhookNotification)).returning(_notification.id),
                   columns=("message_id", "type", "created_at", "payload"))
_DELIVER = Prepared(
    insert(table(WebhookDelivery))
    .from_select(["notification_id", "endpoint_id", "status", "attempts", "next_attempt_at",
                  "created_at"],
                 select(bindparam("notification", type_=Integer), _subscription.endpoint_id,
                        literal(DeliveryStatus.PENDING.value), literal(0), _now, _now)
                 .join(table(WebhookEndpoint), _endpoint.id == _subscription.endpoint_id)
                 .where(_subscription.event == _event, _endpoint.disabled_at.is_(None))))


def emit(target: Session | DirectConnection, event: str,
         data: dict[str, Any] | Callable[[], dict[str, Any]], *,
         now: dt.datetime | None = None) -> str | None:
    """Write the notification of ``event`` in the caller's transaction, with a delivery
    to each endpoint subscribed to it; its message id (``webhook-id``), or None when no
    endpoint listens. ``data`` may be a function that builds it: called only then."""
    if event not in EVENT_TYPES:
        raise ValueError(f"{event!r} is not an event type: {', '.join(EVENT_TYPES)}")
    db = target if isinstance(target, DirectConnection) else DirectConnection.of(target)
    if not db.first(_LISTENING, {"type": event})[0]:  # type: ignore[index]
        return None
    at = (now or utcnow()).astimezone(dt.UTC)
    message_id = message_id_at(at)
    payload = json.dumps({"id": message_id, "type": event, "timestamp": at.isoformat(),
                          "data": data() if callable(data) else data},
                         separators=(",", ":"), ensure_ascii=False, default=_plain)
    (notification_id,) = db.rows(_NOTIFY, {"message_id": message_id, "type": event,
                                            "created_at": at, "payload": payload})[0]
    db.run(_DELIVER, {"notification": notification_id, "type": event, "created_at": at})
    return message_id


def send_to(session: Session, endpoint_id: int, kind: str, payload: str, *,
            now: dt.datetime | None = None) -> str:
    """Write a notification whose body is ``payload`` as given (not wrapped in
    ``{"id", "type", ...}``) with a delivery to one endpoint, in the caller's
    transaction; its message id. An EPCIS query subscription's push
    (tracker.services.epcis_subscriptions) goes out this way, signed and retried like
    any webhook."""
    at = (now or utcnow()).astimezone(dt.UTC)
    message_id = message_id_at(at)
    notification_id = session.execute(
        insert(table(WebhookNotification)).returning(_notification.id),
        {"message_id": message_id, "type": kind, "created_at": at, "payload": payload}
    ).scalar_one()
    session.execute(insert(table(WebhookDelivery)), {
        "notification_id": notification_id, "endpoint_id": endpoint_id,
        "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": at,
        "created_at": at})
    return message_id


def message_id_at(at: dt.datetime) -> str:
    """A notification's id (``webhook-id``): its time in milliseconds, then 80 random
    bits. Ids made later sort later, so the unique index grows at its end rather than
    in a random page per notification.

    >>> len(message_id_at(dt.datetime(2026, 12, 6, tzinfo=dt.UTC)))
    36
    """
    return f"msg_{int(at.timestamp() * 1000):012x}{secrets.token_hex(10)}"


def _plain(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum
        return value.value
    raise TypeError(f"{type(value).__name__} {value!r} cannot be sent in a notification")


# --- what each event says ----------------------------------------------------------------
# The data of an event has the shape the API gives the same thing (GET /violations/{id},
# /batches/{id}, /shipments/{id}), so a receiver reads it as it reads the API.


def violation(v: Violation) -> dict[str, Any]:
    return {"id": v.id, "type": v.type.value, "status": v.status.value, "serial": v.serial,
            "gtin": v.gtin, "key": v.key, "batch_id": v.batch_id,
            "responsible_party": v.responsible_party,
            "expected_territories": list(v.expected_territories),
            "found_territory": v.found_territory, "scan_count": v.scan_count,
            "opened_at": v.opened_at, "last_scan_at": v.last_scan_at,
            "updated_at": v.updated_at}


def violation_opened(db: DirectConnection, violation_id: int, finding: Any, *,
                     batch_id: int | None, now: dt.datetime) -> None:
    """``violation.opened`` on the scan path, from the finding that opened it
    (tracker.services.violations.Finding): no read of the row just written."""
    emit(db, "violation.opened", lambda: {
        "id": violation_id, "type": finding.verdict, "status": "open",
        "serial": finding.serial, "gtin": finding.gtin, "key": finding.key,
        "batch_id": batch_id, "responsible_party": finding.responsible_party,
        "expected_territories": list(finding.expected_territories),
        "found_territory": finding.found_territory, "scan_count": 1,
        "opened_at": now, "last_scan_at": finding.scanned_at, "updated_at": now}, now=now)


def batch(b: Batch) -> dict[str, Any]:
    return {"id": b.id, "gtin": b.gtin, "territory": b.territory.code,
            "quantity": b.quantity, "owner": b.owner_party_id, "lot": b.lot,
            "status": b.status.value, "recalled_at": b.recalled_at,
            "recall_reason": b.recall_reason}


def shipment(s: Shipment, *, received: int) -> dict[str, Any]:
    """A shipment and how many of its items this receipt confirmed."""
    return {"id": s.id, "from": s.from_party, "to": s.to_party, "status": s.status.value,
            "item_count": s.item_count, "received": received, "received_at": s.received_at}
