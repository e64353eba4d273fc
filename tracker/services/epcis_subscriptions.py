"""EPCIS query subscriptions (GS1's REST binding, ``/queries/{queryName}/subscriptions``):
a named query's results pushed to the subscriber's ``dest`` as an ``EPCISQueryDocument``
whose ``queryResults`` carry ``queryName`` and ``subscriptionID``.

A push is a webhook notification: each subscription owns a webhook endpoint (url =
dest; the signing secret is the subscriber's ``signatureToken``, or one made here), and
a push is written into the outbox (tracker.services.notify.send_to) with the
``EPCISQueryDocument`` as its body. The delivery worker (tracker.services.deliveries)
then signs it with the Standard Webhooks headers, retries it with the same
``webhook-id``, records every attempt and disables a receiver that failed for days, as
for any webhook. The admin's ``GET /webhooks`` does not list these endpoints.

- ``stream: true``: pushed as events are stored, in the storing transaction
  (:func:`captured`, called by tracker.services.epcis once a capture's events are
  stored, and by tracker.services.events for each event the tracker makes itself:
  shipments, receipts, packing, issuing, recalls): a change rolled back pushes nothing.
  With no stream subscription a capture pays one indexed read.
- ``schedule``: run by the delivery worker when due (:func:`run_due`). The run that
  takes a due subscription writes its push and moves ``next_run_at`` on in one
  transaction, holding the row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's one
  writer), so two server processes never push the same run twice.

Each push holds the query's events stored since the previous push (the first: recorded
from ``initialRecordTime`` if given, else stored after the subscription was made), at
most ``PUSH_BATCH`` events a push (GS1: "group EPCIS events in manageable batches"). A
scheduled push with nothing in it is sent only under ``reportIfEmpty``.

Schedules are cron-like, in UTC, as EPCIS 1.2 section 8.2.5.3 writes them: each of
``second``, ``minute``, ``hour``, ``dayOfMonth``, ``month``, ``dayOfWeek`` (1 Monday
to 7 Sunday) is a number, a range ``[low-high]``, or a comma-separated list of them.
An omitted day or month field matches every value; an omitted ``second``, ``minute`` or
``hour`` matches every value when no larger field is given, and its first value
otherwise — so ``{"hour": "1", "minute": "5"}`` runs once a day at 01:05:00, as GS1's
example says, and ``{"second": "[0-59]"}`` every second.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from tracker.db import DirectConnection, Prepared, utcnow, write_transaction
from tracker.errors import InvalidInput, NotFound
from tracker.models import (
    EpcisQuery,
    Event,
    QuerySubscription,
    Role,
    WebhookDelivery,
    WebhookEndpoint,
)
from tracker.services import audit, custody, epcis_queries, epcis_query, notify, webhooks
from tracker.services.auth import Actor

log = logging.getLogger(__name__)

PUSH_KIND = "epcis.query"  # the notification type of a push (GET /webhooks/{id}/deliveries)
PUSH_BATCH = 500  # events a push holds at most
CLAIM_BATCH = 20  # scheduled subscriptions one run takes at once
MAX_TOKEN = 64  # a signatureToken's characters (its bytes key the signatures)
FIELDS = (("second", 0, 59), ("minute", 0, 59), ("hour", 0, 23), ("dayOfMonth", 1, 31),
          ("month", 1, 12), ("dayOfWeek", 1, 7))
TIME_OF_DAY = ("second", "minute", "hour")
_ELEMENT = re.compile(r"\s*(?:(\d{1,2})|\[(\d{1,2})-(\d{1,2})\])\s*")
_SEARCH_YEARS = 30  # a schedule that matches no moment in this long never matches


# --- schedules ---------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """The values each field matches (see the module's docstring)."""

    second: frozenset[int]
    minute: frozenset[int]
    hour: frozenset[int]
    dayOfMonth: frozenset[int]  # noqa: N815 (GS1's name)
    month: frozenset[int]
    dayOfWeek: frozenset[int]  # noqa: N815

    def matches(self, moment: dt.datetime) -> bool:
        return (moment.second in self.second and moment.minute in self.minute
                and moment.hour in self.hour and moment.day in self.dayOfMonth
                and moment.month in self.month and moment.isoweekday() in self.dayOfWeek)

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The first whole second after ``moment`` (UTC) that the schedule matches.

        >>> s = parse_schedule({"hour": "1", "minute": "5"})
        >>> s.next_after(dt.datetime(2026, 12, 6, 19, 0, tzinfo=dt.UTC)).isoformat()
        '2026-12-07T01:05:00+00:00'
        """
        t = moment.astimezone(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
        give_up = t.replace(year=t.year + _SEARCH_YEARS, month=1, day=1)
        while t < give_up:
            if t.month not in self.month:
                t = (t.replace(day=1) + dt.timedelta(days=32)).replace(
                    day=1, hour=0, minute=0, second=0)
            elif t.day not in self.dayOfMonth or t.isoweekday() not in self.dayOfWeek:
                t = t.replace(hour=0, minute=0, second=0) + dt.timedelta(days=1)
            elif t.hour not in self.hour:
                t = t.replace(minute=0, second=0) + dt.timedelta(hours=1)
            elif t.minute not in self.minute:
                t = t.replace(second=0) + dt.timedelta(minutes=1)
            elif t.second not in self.second:
                t += dt.timedelta(seconds=1)
            else:
                return t
        raise InvalidInput(f"the schedule matches no moment in the next {_SEARCH_YEARS} "
                           "years (a day that no month has?)", code="invalid_subscription_schedule")


def _field_values(name: str, raw: object, low: int, high: int) -> frozenset[int]:
    text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"field 'schedule.{name}' must be a string such as \"5\", "
                           f"\"[1-5]\" or \"0,30\", not {raw!r}",
                           code="invalid_subscription_schedule")
    values: set[int] = set()
    for element in text.split(","):
        found = _ELEMENT.fullmatch(element)
        if found is None:
            raise InvalidInput(f"field 'schedule.{name}' is {text!r}: each element must be "
                               f"a number or a range [low-high], from {low} to {high}",
                               code="invalid_subscription_schedule")
        single, first, last = found.groups()
        start, end = (int(single), int(single)) if single else (int(first), int(last))
        if not low <= start <= end <= high:
            raise InvalidInput(f"field 'schedule.{name}' is {text!r}: values run from "
                               f"{low} to {high} (a range from low to high)",
                               code="invalid_subscription_schedule")
        values.update(range(start, end + 1))
    return frozenset(values)


def parse_schedule(raw: object) -> Schedule:
    """A QuerySchedule as GS1 writes it; a bad field is refused by name.

    >>> sorted(parse_schedule({"second": "0,[10-12]"}).second)
    [0, 10, 11, 12]
    """
    if not isinstance(raw, dict):
        raise InvalidInput("field 'schedule' must be an object such as "
                           "{\"hour\": \"1\", \"minute\": \"5\"}",
                           code="invalid_subscription_schedule")
    names = [name for name, _, _ in FIELDS]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise InvalidInput(f"field 'schedule' has {', '.join(map(repr, unknown))}; its "
                           f"fields are {', '.join(names)}", code="invalid_subscription_schedule")
    given = [name for name in names if raw.get(name) is not None]
    if not given:
        raise InvalidInput(f"field 'schedule' names no field; give one or more of "
                           f"{', '.join(names)}", code="invalid_subscription_schedule")
    largest = max(names.index(name) for name in given)
    values: dict[str, frozenset[int]] = {}
    for index, (name, low, high) in enumerate(FIELDS):
        if name in given:
            values[name] = _field_values(name, raw[name], low, high)
        elif name in TIME_OF_DAY and index < largest:
            values[name] = frozenset({low})
        else:
            values[name] = frozenset(range(low, high + 1))
    return Schedule(**values)


def schedule_text(raw: dict[str, Any]) -> dict[str, str]:
    """The schedule as GS1 writes it (strings), in field order."""
    return {name: str(raw[name]) for name, _, _ in FIELDS if raw.get(name) is not None}


# --- subscribing -------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    subscription: QuerySubscription
    query_name: str
    dest: str
    last_notified_at: dt.datetime | None


@dataclass(frozen=True)
class SubscriptionPage:
    items: list[Found]
    next_cursor: str | None


def check_dest(dest: object) -> str:
    return webhooks.check_url(dest, field="dest", code="invalid_subscription_dest",
                              what="query results are pushed to")


def secret_of(signature_token: str) -> str:
    """The Standard Webhooks secret whose key is the token's UTF-8 bytes: a subscriber
    verifies a push with ``Webhook(secret_of(token))`` (HMAC-SHA256 keyed by its token).

    >>> secret_of("abc")
    'whsec_YWJj'
    """
    return "whsec_" + base64.b64encode(signature_token.encode()).decode()


def _check_token(token: object) -> str | None:
    if token is None:
        return None
    if not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN:
        raise InvalidInput(f"field 'signatureToken' must be a string of 1 to {MAX_TOKEN} "
                           "characters (the key the pushes are signed with)",
                           code="invalid_subscription_token")
    return token


def _check_time(raw: object) -> dt.datetime | None:
    if raw is None:
        return None
    moment = None
    if isinstance(raw, str) and "T" in raw.upper():
        try:
            moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(f"field 'initialRecordTime' must be an ISO 8601 time with its "
                           f"timezone (2026-12-06T10:00:00Z), not {raw!r}",
                           code="invalid_subscription_field")
    return moment.astimezone(dt.UTC)


def _check_flag(name: str, raw: object, default: bool) -> bool:
    if raw is None:
        return default
    if not isinstance(raw, bool):
        raise InvalidInput(f"field '{name}' must be true or false, not {raw!r}",
                           code="invalid_subscription_field")
    return raw


def creator(subscription: QuerySubscription) -> Actor:
    """Whose eyes a subscription's pushes see through: its creator's."""
    return Actor(name=subscription.created_by, role=Role(subscription.creator_role),
                 party_id=subscription.creator_party)


def create_subscription(session: Session, query_name: str, *, dest: object,
                        signature_token: object = None, stream: object = None,
                        schedule: object = None, report_if_empty: object = None,
                        initial_record_time: object = None, actor: Actor,
                        now: dt.datetime | None = None) -> tuple[Found, str | None]:
    """Subscribe ``dest`` to the query's results; the subscription, and the signing
    secret when this server made it (no ``signatureToken`` given), shown this once."""
    actor.require(action="manage EPCIS query subscriptions")
    query = epcis_queries.find_query(session, query_name)
    now = now or utcnow()
    url, token = check_dest(dest), _check_token(signature_token)
    streaming = _check_flag("stream", stream, False)
    if stream is False:
        raise InvalidInput("field 'stream' may only be true (push as events are "
                           "captured); for pushes on a timetable give 'schedule' instead",
                           code="invalid_subscription")
    if streaming and schedule is not None:
        raise InvalidInput("give either 'stream': true or a 'schedule', not both",
                           code="invalid_subscription")
    if not streaming and schedule is None:
        raise InvalidInput("a subscription needs 'stream': true (push as events are "
                           "captured) or a 'schedule' (when to push)",
                           code="invalid_subscription")
    timetable = parse_schedule(schedule) if schedule is not None else None
    initial = _check_time(initial_record_time)
    empty_too = _check_flag("reportIfEmpty", report_if_empty, False)
    secret = secret_of(token) if token is not None else webhooks.new_secret()
    # Captures take turns with this: one running now is in the first push or was stored
    # before it; one after sees the subscription.
    custody.take_turn(session)
    endpoint = WebhookEndpoint(url=url, secret=secret, created_at=now,
                               created_by=actor.name)
    session.add(endpoint)
    session.flush()
    subscription = QuerySubscription(
        subscription_id=str(uuid.uuid4()), query_id=query.id, endpoint_id=endpoint.id,
        stream=streaming, schedule=schedule_text(schedule) if isinstance(schedule, dict)
        else None, report_if_empty=empty_too, initial_record_time=initial,
        min_record_time=initial or now,
        # The first push: events recorded from initialRecordTime, or stored from now on.
        after_event_pk=0 if initial else session.scalar(select(func.max(Event.id))) or 0,
        next_run_at=timetable.next_after(now) if timetable else None,
        created_at=now, created_by=actor.name, creator_role=actor.role.value,
        creator_party=actor.party_id)
    session.add(subscription)
    session.flush()
    if streaming and initial is not None:  # what was recorded before, at once
        _push(session, subscription, query, _window(query, subscription), now=now)
    audit.record(session, actor=actor, action="epcis_subscription.create",
                 subject_type="epcis_subscription", subject_id=subscription.subscription_id,
                 now=now, detail={"query": query.name, "dest": url, "stream": streaming})
    found = Found(subscription, query.name, url, None)
    return found, None if token is not None else secret


def _found(session: Session, rows: Sequence[Row[QuerySubscription, str, str]]
           ) -> list[Found]:
    ids = [s.endpoint_id for s, _, _ in rows]
    last = dict(session.execute(
        select(WebhookDelivery.endpoint_id, func.max(WebhookDelivery.delivered_at))
        .where(WebhookDelivery.endpoint_id.in_(ids))
        .group_by(WebhookDelivery.endpoint_id)).all()) if ids else {}
    return [Found(s, name, url, last.get(s.endpoint_id)) for s, name, url in rows]


def _select() -> Select[QuerySubscription, str, str]:
    return (select(QuerySubscription, EpcisQuery.name, WebhookEndpoint.url)
            .join(EpcisQuery, EpcisQuery.id == QuerySubscription.query_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == QuerySubscription.endpoint_id))


def list_subscriptions(session: Session, query_name: str, *, actor: Actor,
                       per_page: int = 30, after: str | None = None) -> SubscriptionPage:
    actor.require(Role.COMPLIANCE, action="read EPCIS query subscriptions")
    query = epcis_queries.find_query(session, query_name)
    start = epcis_queries.cursor(after)
    rows = list(session.execute(
        _select().where(QuerySubscription.query_id == query.id,
                        QuerySubscription.id > start)
        .order_by(QuerySubscription.id).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return SubscriptionPage(_found(session, rows),
                            str(rows[-1][0].id) if more and rows else None)


def _find(session: Session, query_name: str, subscription_id: str) -> Found:
    query = epcis_queries.find_query(session, query_name)
    rows = list(session.execute(_select().where(
        QuerySubscription.query_id == query.id,
        QuerySubscription.subscription_id == subscription_id)))
    if not rows:
        raise NotFound(f"query {query_name!r} has no subscription {subscription_id!r}",
                       code="unknown_subscription")
    return _found(session, rows)[0]


def get_subscription(session: Session, query_name: str, subscription_id: str, *,
                     actor: Actor) -> Found:
    actor.require(Role.COMPLIANCE, action="read EPCIS query subscriptions")
    return _find(session, query_name, subscription_id)


def delete_subscription(session: Session, query_name: str, subscription_id: str, *,
                        actor: Actor, now: dt.datetime | None = None) -> None:
    actor.require(action="manage EPCIS query subscriptions")
    end(session, _find(session, query_name, subscription_id).subscription, actor=actor,
        now=now)


def end(session: Session, subscription: QuerySubscription, *, actor: Actor,
        now: dt.datetime | None = None) -> None:
    """Unsubscribe: its endpoint goes with the pushes not yet made (and the subscription
    with its endpoint)."""
    subscription_id = subscription.subscription_id
    webhooks.delete_endpoint(session, subscription.endpoint_id, actor=actor, now=now)
    session.expire(subscription)
    audit.record(session, actor=actor, action="epcis_subscription.delete",
                 subject_type="epcis_subscription", subject_id=subscription_id, now=now)


# --- pushing -----------------------------------------------------------------------


def _window(query: EpcisQuery, subscription: QuerySubscription) -> Select[Any]:
    """The query's events that are new to the subscription."""
    chosen = epcis_query.select_events(epcis_queries.parameters(query),
                                       actor=creator(subscription))
    chosen = chosen.where(Event.id > subscription.after_event_pk)
    if subscription.initial_record_time is not None:
        chosen = chosen.where(Event.record_time >= subscription.initial_record_time)
    return chosen


def _push(session: Session, subscription: QuerySubscription, query: EpcisQuery,
          chosen: Select[Any], *, now: dt.datetime, if_empty: bool = False) -> int:
    """Write the pushes of the events ``chosen`` selects (in storage order, in batches);
    how many events they hold."""
    last, pushed = 0, 0
    while True:
        events = list(session.scalars(chosen.where(Event.id > last).order_by(Event.id)
                                      .limit(PUSH_BATCH)))
        if not events and (pushed or not if_empty):
            return pushed
        body = epcis_query.query_document(events, query_name=query.name,
                                          subscription_id=subscription.subscription_id)
        notify.send_to(session, subscription.endpoint_id, PUSH_KIND,
                       json.dumps(body, separators=(",", ":"), ensure_ascii=False), now=now)
        pushed += len(events)
        if len(events) < PUSH_BATCH:
            return pushed
        last = events[-1].id


# Compiled once and run on the driver (tracker.db.Prepared): a capture with no stream
# subscription pays one indexless read of a table that is empty or nearly so.
_STREAMING = Prepared(select(QuerySubscription.id)
                      .where(QuerySubscription.stream.is_(True)).limit(1))


def captured(session: Session, stored: ColumnElement[bool], *,
             now: dt.datetime | None = None) -> None:
    """Push the events just stored (``stored`` selects them) to every stream
    subscription whose query they match, in the capture's transaction."""
    if DirectConnection.of(session).first(_STREAMING) is None:
        return
    now = now or utcnow()
    # A receiver disabled after days of failures still gets its pushes written: the
    # delivery worker holds them until it is enabled again, so a stream loses nothing.
    for subscription, query in session.execute(
            select(QuerySubscription, EpcisQuery)
            .join(EpcisQuery, EpcisQuery.id == QuerySubscription.query_id)
            .where(QuerySubscription.stream.is_(True))
            .order_by(QuerySubscription.id)).all():
        try:
            chosen = epcis_query.select_events(epcis_queries.parameters(query),
                                               actor=creator(subscription))
        except InvalidInput as exc:  # checked when made; a capture never fails for it
            log.warning("query %r of subscription %s is refused now (%s); nothing pushed",
                        query.name, subscription.subscription_id, exc)
            continue
        _push(session, subscription, query, chosen.where(stored), now=now)


def run_due(sessions: sessionmaker[Session], *, now: dt.datetime | None = None) -> int:
    """Run the scheduled subscriptions that are due (called by the delivery worker each
    round): their pushes are written and their next run set in one transaction; how
    many ran. A read without a lock first, as the worker's own ``any_due``."""
    now = now or utcnow()
    due = (select(QuerySubscription).where(QuerySubscription.next_run_at <= now)
           .order_by(QuerySubscription.next_run_at))
    with sessions() as session:
        if session.execute(due.with_only_columns(QuerySubscription.id).limit(1)).first() is None:
            return 0
        session.rollback()
        with write_transaction(session):
            taken = list(session.scalars(due.limit(CLAIM_BATCH)
                                         .with_for_update(skip_locked=True)))
            for subscription in taken:
                try:
                    with session.begin_nested():  # one that fails holds up no other
                        _run(session, subscription, now)
                except Exception:
                    log.exception("scheduled push of subscription %s failed; it runs "
                                  "again at its next time", subscription.subscription_id)
                    subscription.next_run_at = parse_schedule(
                        subscription.schedule or {}).next_after(now)
        return len(taken)


def _run(session: Session, subscription: QuerySubscription, now: dt.datetime) -> None:
    assert subscription.schedule is not None
    subscription.next_run_at = parse_schedule(subscription.schedule).next_after(now)
    endpoint = session.get_one(WebhookEndpoint, subscription.endpoint_id)
    if endpoint.disabled_at is not None:
        return  # its receiver is away: the next run once enabled pushes all since
    query = session.get_one(EpcisQuery, subscription.query_id)
    # Every writer of events takes the custody turn (tracker.services.custody.take_turn)
    # until it commits, so ids are committed in order: whatever is stored later has a
    # larger id than this, and the next run starts exactly where this one ends.
    high = session.scalar(select(func.max(Event.id))) or 0
    try:
        chosen = _window(query, subscription).where(Event.id <= high)
    except InvalidInput as exc:
        log.warning("query %r of subscription %s is refused now (%s); nothing pushed",
                    query.name, subscription.subscription_id, exc)
        return
    _push(session, subscription, query, chosen, now=now, if_empty=subscription.report_if_empty)
    subscription.after_event_pk = max(high, subscription.after_event_pk)
    subscription.min_record_time = now
