"""EPCIS named queries (``POST /epcis/queries``) and their subscriptions: a query's
results pushed to a receiver as events are captured (stream) or on a schedule, through
the webhook outbox (tracker.services.epcis_subscriptions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, created_at, intpk


class EpcisQuery(Base):
    """A named query: the EPCIS query parameters as the QueryDefinition held them."""

    __tablename__ = "epcis_queries"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[created_at]
    created_by: Mapped[str] = mapped_column(String(100))


class QuerySubscription(Base):
    """A query's results pushed to ``dest``: the subscription owns the webhook endpoint
    its pushes are delivered to (url = dest), so they are signed, retried and recorded as
    webhooks are. ``after_event_pk`` and ``min_record_time`` say where the next push
    starts: events stored after that one, recorded from that time. A scheduled one is due
    at ``next_run_at``; the run that takes it moves that on in the same transaction."""

    __tablename__ = "epcis_query_subscriptions"

    id: Mapped[intpk]
    subscription_id: Mapped[str] = mapped_column(String(40), unique=True)
    query_id: Mapped[int] = mapped_column(
        ForeignKey("epcis_queries.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), unique=True)
    stream: Mapped[bool]
    schedule: Mapped[dict[str, str] | None] = mapped_column(JSON)
    report_if_empty: Mapped[bool] = mapped_column(default=False)
    initial_record_time: Mapped[dt.datetime | None]
    min_record_time: Mapped[dt.datetime]
    after_event_pk: Mapped[int] = mapped_column(default=0)
    next_run_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    created_at: Mapped[created_at]
    created_by: Mapped[str] = mapped_column(String(100))
    # Whose eyes the pushes see through (the creator's role and party).
    creator_role: Mapped[str] = mapped_column(String(20))
    creator_party: Mapped[str | None] = mapped_column(String(200))
