"""The delivery worker: sends the outbox's due deliveries (tracker.services.notify),
signed as the Standard Webhooks specification says, and records every attempt.

Several workers (one beside each server process, or ``tracker webhooks deliver``) share
the work without sending one attempt twice: a worker claims due deliveries in one
statement — on PostgreSQL rows locked with ``FOR UPDATE SKIP LOCKED``, on SQLite under
the one write lock — stamping them with a claim of its own and moving their due time to
when the claim lapses. It posts outside any transaction, then records what happened,
only where its claim still holds. A worker killed mid-way leaves its claims to lapse:
another sends them then (the receiver sees the same ``webhook-id`` again: at least once).

A failed attempt (no answer in time, or a status other than 2xx) is retried after the
next of the configured delays, stretched by up to a fifth at random so that retries of
many deliveries spread out instead of arriving together. An endpoint whose attempts
have done nothing but fail for days is disabled, with the reason on the endpoint (GET
/webhooks) and a warning in the log.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import datetime as dt
import logging
import math
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import urllib3
from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from tracker.config import Settings
from tracker.db import UTCDateTime, make_session_factory, table, utcnow, write_transaction
from tracker.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookNotification,
)
from tracker.services import epcis_subscriptions

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1  # how soon a notification committed by another process goes out
CLAIM_BATCH = 100
POSTING_THREADS = 16  # a slow receiver holds one thread, not the others' deliveries
# A claim lasts as long as posting its batch may take (every POST to its timeout, as
# many at once as there are threads) and this much more, to record the attempts. A
# worker killed meanwhile leaves its claims to lapse: they are sent again then.
CLAIM_MARGIN_S = 5.0
JITTER = 0.2
USER_AGENT = "tracker-webhooks/1"


@dataclass(frozen=True)
class Policy:
    """How deliveries are retried and when an endpoint is given up (from Settings)."""

    delays: tuple[float, ...]
    timeout_s: float
    disable_after: dt.timedelta

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(tuple(settings.webhook_retry_delays), settings.webhook_timeout_s,
                   dt.timedelta(days=settings.webhook_disable_after_days))

    def retry_at(self, attempts: int, now: dt.datetime) -> dt.datetime | None:
        """When to try again after ``attempts`` failed attempts; None: give up."""
        if attempts > len(self.delays):
            return None
        delay = self.delays[attempts - 1] * (1 + random.uniform(0, JITTER))
        return now + dt.timedelta(seconds=delay)


@dataclass(frozen=True)
class Claimed:
    id: int
    attempts: int
    message_id: str
    payload: str
    endpoint_id: int
    url: str
    secret: str
    type: str = ""  # the notification's type


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# Core tables: the worker's statements run many rows at once, with no ORM objects.
_delivery, _endpoint = table(WebhookDelivery), table(WebhookEndpoint)
_notification, _attempt = table(WebhookNotification), table(WebhookAttempt)
_d, _e, _n = _delivery.c, _endpoint.c, _notification.c
_due = (_d.next_attempt_at <= bindparam("now", type_=UTCDateTime()), _e.disabled_at.is_(None))


def any_due(session: Session, now: dt.datetime) -> bool:
    """A read, with no lock, before trying to claim (which writes)."""
    return session.execute(
        select(_d.id).join(_endpoint, _e.id == _d.endpoint_id).where(*_due).limit(1),
        {"now": now}).first() is not None


def claim(session: Session, *, owner: str, policy: Policy, now: dt.datetime,
          limit: int = CLAIM_BATCH, threads: int = POSTING_THREADS) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries for this worker (in its transaction), to be
    posted by ``threads`` at once."""
    chosen = (select(_d.id).join(_endpoint, _e.id == _d.endpoint_id).where(*_due)
              .order_by(_d.next_attempt_at).limit(limit)
              .with_for_update(skip_locked=True, of=_delivery))
    lapses = now + dt.timedelta(
        seconds=math.ceil(limit / threads) * policy.timeout_s + CLAIM_MARGIN_S)
    ids = list(session.scalars(
        update(_delivery).where(_d.id.in_(chosen.scalar_subquery()))
        .values(claimed_by=owner, next_attempt_at=lapses).returning(_d.id), {"now": now}))
    if not ids:
        return []
    rows = session.execute(
        select(_d.id, _d.attempts, _n.message_id, _n.payload, _e.id, _e.url, _e.secret,
               _n.type)
        .join(_notification, _n.id == _d.notification_id)
        .join(_endpoint, _e.id == _d.endpoint_id)
        .where(_d.id.in_(ids)).order_by(_d.id))
    return [Claimed(*row) for row in rows]


def signed_headers(claimed: Claimed, at: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers: the timestamp is the attempt's (receivers refuse
    old ones), the id the notification's (the same on every retry)."""
    signature = Webhook(claimed.secret).sign(claimed.message_id, at, claimed.payload)
    headers = {"content-type": "application/json", "user-agent": USER_AGENT,
               "webhook-id": claimed.message_id,
               "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}
    if claimed.type == epcis_subscriptions.PUSH_KIND:  # GS1's binding names the header
        headers["GS1-Signature"] = signature
    return headers


def post(http: urllib3.PoolManager, claimed: Claimed, policy: Policy) -> Outcome:
    at = utcnow()
    started = time.perf_counter()
    status, error = None, None
    try:
        # The answer's body is read (and dropped) within the timeout: the connection
        # then serves the endpoint's next delivery.
        response = http.request(
            "POST", claimed.url, body=claimed.payload.encode(),
            headers=signed_headers(claimed, at), redirect=False, retries=False,
            timeout=urllib3.Timeout(total=policy.timeout_s))
        status = response.status
        if not 200 <= status < 300:
            error = f"the receiver answered {status}"
    except Exception as exc:  # every failure to get an answer is an attempt's outcome
        error = f"{type(exc).__name__}: {exc}"[:500]
    return Outcome(claimed, at, status, error, (time.perf_counter() - started) * 1000)


def record(session: Session, outcomes: Sequence[Outcome], *, owner: str, policy: Policy,
           now: dt.datetime) -> list[int]:
    """Keep each attempt, settle or reschedule its delivery (where this worker's claim
    still holds), and disable endpoints that have only failed for too long; the ids of
    the endpoints disabled."""
    if not outcomes:
        return []
    # A delivery whose endpoint was deleted meanwhile is gone with its record; the
    # others are locked until this commits, so a deletion waits for it.
    alive = set(session.scalars(
        select(_d.id).where(_d.id.in_([o.claimed.id for o in outcomes]))
        .order_by(_d.id).with_for_update()))
    outcomes = [o for o in outcomes if o.claimed.id in alive]
    if not outcomes:
        return []
    session.execute(insert(_attempt), [
        {"delivery_id": o.claimed.id, "at": o.at, "status_code": o.status_code,
         "error": o.error, "duration_ms": o.duration_ms} for o in outcomes])
    settled = []
    for o in outcomes:
        attempts = o.claimed.attempts + 1
        retry = None if o.ok else policy.retry_at(attempts, now)
        settled.append({
            "b_id": o.claimed.id, "b_attempts": attempts, "b_next": retry,
            "b_status": (DeliveryStatus.DELIVERED if o.ok else DeliveryStatus.PENDING
                         if retry else DeliveryStatus.FAILED),
            "b_delivered": o.at if o.ok else None})
    session.execute(
        update(_delivery).where(_d.id == bindparam("b_id"), _d.claimed_by == owner)
        .values(attempts=bindparam("b_attempts"), next_attempt_at=bindparam("b_next"),
                status=bindparam("b_status"), delivered_at=bindparam("b_delivered"),
                claimed_by=None), settled)
    succeeded = {o.claimed.endpoint_id for o in outcomes if o.ok}
    failed = {o.claimed.endpoint_id for o in outcomes if not o.ok} - succeeded
    if succeeded:
        session.execute(update(_endpoint).where(_e.id.in_(succeeded))
                        .values(failing_since=None))
    if not failed:
        return []
    session.execute(update(_endpoint).where(_e.id.in_(failed))
                    .values(failing_since=func.coalesce(_e.failing_since, now)))
    since = now - policy.disable_after
    failing = list(session.execute(
        select(_e.id, _e.url, _e.failing_since)
        .where(_e.id.in_(failed), _e.disabled_at.is_(None), _e.failing_since <= since)))
    for endpoint_id, url, first in failing:
        reason = (f"every delivery failed since {first:%Y-%m-%d %H:%M} UTC "
                  f"({policy.disable_after.total_seconds() / 86400:g} days or more); "
                  "enable it again once the receiver answers")
        session.execute(update(_endpoint).where(_e.id == endpoint_id)
                        .values(disabled_at=now, disabled_reason=reason))
        log.warning("webhook %s (%s) disabled: %s", endpoint_id, url, reason)
    return [endpoint_id for endpoint_id, _, _ in failing]


class Worker:
    """Claims, posts and records, round after round, until stopped."""

    def __init__(self, engine: Engine, policy: Policy, *, threads: int = POSTING_THREADS):
        self.sessions = make_session_factory(engine)
        self.policy = policy
        self.threads = threads
        self.owner = f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.http = urllib3.PoolManager(num_pools=50, maxsize=threads, block=False)
        self.pool = concurrent.futures.ThreadPoolExecutor(threads, "webhook-post")

    def round(self) -> int:
        """Send what is due now, once; how many attempts were made. EPCIS query
        subscriptions whose schedule is due write their pushes first."""
        epcis_subscriptions.run_due(self.sessions)
        with self.sessions() as session:
            if not any_due(session, utcnow()):
                return 0
            session.rollback()
            with write_transaction(session):
                claimed = claim(session, owner=self.owner, policy=self.policy, now=utcnow(),
                                threads=self.threads)
            if not claimed:
                return 0
            outcomes = list(self.pool.map(lambda c: post(self.http, c, self.policy), claimed))
            with write_transaction(session):
                record(session, outcomes, owner=self.owner, policy=self.policy, now=utcnow())
        return len(outcomes)

    def run(self, stop: threading.Event, *, once: bool = False) -> int:
        """Deliver until ``stop`` is set (``once``: until nothing is due); how many
        attempts were made. A database that is away is waited for, not fatal."""
        made = 0
        while not stop.is_set():
            try:
                count = self.round()
            except Exception:
                if once:
                    raise
                log.exception("webhook delivery round failed; trying again shortly")
                count = 0
                stop.wait(1.0)
            made += count
            if count == 0:
                if once:
                    break
                stop.wait(POLL_SECONDS)
        return made

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.http.clear()


def start_in_background(engine: Engine, settings: Settings) -> threading.Event:
    """A worker on a daemon thread of this process (``tracker serve`` starts one beside
    each server process); set the event returned to stop it."""
    stop = threading.Event()
    worker = Worker(engine, Policy.of(settings))
    thread = threading.Thread(target=worker.run, args=(stop,), name="webhook-deliveries",
                              daemon=True)
    thread.start()

    def finish() -> None:
        # A process that exits normally records the attempts it made (else they are
        # sent again once their claim lapses).
        stop.set()
        thread.join(settings.webhook_timeout_s + 5)

    atexit.register(finish)
    return stop

