"""Webhooks: the endpoints admins subscribe, the outbox of notifications written in the
same transaction as the change they announce, one delivery per (notification,
endpoint), and every attempt to deliver it (tracker.services.notify, .deliveries)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, created_at, enum_type, intpk


class DeliveryStatus(enum.Enum):
    PENDING = "pending"  # due at next_attempt_at (or claimed by a worker until then)
    DELIVERED = "delivered"
    FAILED = "failed"  # every retry failed; only a redelivery on request sends it again


class WebhookEndpoint(Base):
    """A receiver's URL and the secret its deliveries are signed with. ``failing_since``
    is the first failure of the current run of failures (none since a success); an
    endpoint that failed for days is disabled (``disabled_at``, with the reason)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[intpk]
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[created_at]
    created_by: Mapped[str] = mapped_column(String(100))
    failing_since: Mapped[dt.datetime | None]
    disabled_at: Mapped[dt.datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(500))


class WebhookSubscription(Base):
    """An event type an endpoint receives."""

    __tablename__ = "webhook_subscriptions"

    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True)
    event: Mapped[str] = mapped_column(String(40), primary_key=True)


class WebhookNotification(Base):
    """One event as sent: ``payload`` is the body of every delivery of it, and
    ``message_id`` its ``webhook-id`` (the same on every retry)."""

    __tablename__ = "webhook_notifications"

    id: Mapped[intpk]
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime]
    payload: Mapped[str] = mapped_column(Text)


class WebhookDelivery(Base):
    """A notification on its way to one endpoint. ``next_attempt_at`` is set while it is
    pending: when it is due, or, once a worker claimed it (``claimed_by``), when the
    claim lapses (a worker that died mid-delivery leaves it to another)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),)

    id: Mapped[intpk]
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_notifications.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_type(DeliveryStatus, "delivery_status", 20))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    delivered_at: Mapped[dt.datetime | None]


class WebhookAttempt(Base):
    """One POST of a delivery: the receiver's status code, or the error (no answer)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[intpk]
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[float]
