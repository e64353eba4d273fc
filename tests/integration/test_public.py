"""The rate limiter shared by every server process, and the public page's service: what a
consumer's check records and what it tells, on the real database."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from tracker.db import DirectConnection, make_session_factory, write_transaction
from tracker.domain.codes import parse_code
from tracker.errors import Conflict, InvalidInput, NotFound
from tracker.models import RateLimitWindow, Scan, ScanSource, Serial
from tracker.services import demo, issuing, masterdata, public, rate_limits
from tracker.services.auth import SYSTEM

T0 = dt.datetime(2026, 5, 1, 8, 0, 0, tzinfo=dt.UTC)  # a whole minute and hour
GTIN = demo.demo_gtin("00011")


def hits(session, key: str, limit: rate_limits.Limit, times: list[dt.datetime]
         ) -> list[rate_limits.Decision]:  # type: ignore[no-untyped-def]
    decisions = []
    for moment in times:
        with write_transaction(session):
            decisions.append(rate_limits.hit(session, key, limit, now=moment))
    return decisions


@pytest.mark.parametrize(("text", "limit"), [
    ("30/minute", rate_limits.Limit(30, 60.0)),
    ("5/second", rate_limits.Limit(5, 1.0)),
    ("100/10 minutes", rate_limits.Limit(100, 600.0)),
    (" 1000 / HOUR ", rate_limits.Limit(1000, 3600.0)),
    ("2/days", rate_limits.Limit(2, 172800.0 / 2)),
])
def test_a_limit_is_read_from_its_setting(text, limit):
    assert rate_limits.Limit.parse(text) == limit


@pytest.mark.parametrize(("text", "message"), [
    ("30 per minute", "rate limit '30 per minute' must look like 30/minute, 5/second, "
                      "100/10 minutes or 1000/hour"),
    ("0/minute", "a rate limit needs at least 1 request per a positive time, not 0 per 60.0 s"),
])
def test_a_bad_limit_setting_is_refused_with_its_reason(text, message):
    with pytest.raises(InvalidInput) as refused:
        rate_limits.Limit.parse(text)
    assert refused.value.message == message


def test_a_fixed_window_allows_the_limit_then_refuses_until_the_next_window(session):
    limit = rate_limits.Limit(3, 60, sliding=False)
    times = [T0 + dt.timedelta(seconds=s) for s in (0, 10, 20, 45)]
    decisions = hits(session, "t:a", limit, times)
    assert [(d.allowed, d.retry_after, d.remaining) for d in decisions] == [
        (True, 0, 2), (True, 0, 1), (True, 0, 0), (False, 15, 0)]
    assert hits(session, "t:a", limit, [T0 + dt.timedelta(seconds=60)])[0].allowed


def test_each_key_is_counted_on_its_own(session):
    limit = rate_limits.Limit(1, 60, sliding=False)
    first = hits(session, "t:a", limit, [T0, T0])
    other = hits(session, "t:b", limit, [T0])
    assert [d.allowed for d in first + other] == [True, False, True]


def test_a_sliding_window_weighs_the_window_before(session):
    limit = rate_limits.Limit(4, 60)
    # Four at the end of one window...
    assert all(d.allowed for d in hits(session, "t:s", limit,
                                       [T0 + dt.timedelta(seconds=55)] * 4))
    # ...weigh 4 × (1 - 15/60) = 3 fifteen seconds into the next: one more is allowed.
    fifteen = T0 + dt.timedelta(seconds=75)
    (allowed, refused) = hits(session, "t:s", limit, [fifteen, fifteen])
    assert allowed.allowed and not refused.allowed
    # 4 × (1 - t/60) + 2 + 1 <= 4 from t = 45 s into the window: 30 s after the refusal.
    assert refused.retry_after == 30
    assert hits(session, "t:s", limit, [fifteen + dt.timedelta(seconds=30)])[0].allowed


@pytest.mark.parametrize(("limit", "count", "previous", "elapsed", "wait"), [
    (rate_limits.Limit(5, 60, sliding=False), 6, 0, 15.0, 45.0),
    (rate_limits.Limit(5, 60), 4, 0, 10.0, 0.0),
    (rate_limits.Limit(5, 60), 5, 0, 10.0, 50.0 + 12.0),  # 5 × (1 - t/60) + 1 <= 5
    (rate_limits.Limit(5, 60), 10, 0, 0.0, 60.0 + 36.0),  # 10 × (1 - t/60) + 1 <= 5
    (rate_limits.Limit(5, 60), 2, 4, 0.0, 30.0),      # 4 × (1 - t/60) + 3 <= 5
    (rate_limits.Limit(1, 60), 1, 0, 0.0, 120.0),     # a limit of one: two windows on
])
def test_the_wait_is_until_one_more_request_would_be_allowed(limit, count, previous,
                                                             elapsed, wait):
    assert limit.wait(count=count, previous=previous, elapsed=elapsed) == pytest.approx(wait)
    later = elapsed + wait
    if wait:
        if later < limit.seconds:
            assert limit.weighed(count + 1, previous, later) <= limit.count + 1e-9
        elif later < 2 * limit.seconds:
            assert limit.weighed(1, count, later - limit.seconds) <= limit.count + 1e-9


def test_requests_from_many_threads_are_each_counted_once(db):
    limit = rate_limits.Limit(1000, 3600, sliding=False)
    factory = make_session_factory(db)

    def send() -> None:
        with factory() as session:
            for _ in range(10):
                with write_transaction(session):
                    rate_limits.hit(session, "t:threads", limit, now=T0)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with factory() as session:
        assert session.scalar(select(RateLimitWindow.count)
                              .where(RateLimitWindow.key == "t:threads")) == 40


def test_old_counts_are_cleared_away(session):
    limit = rate_limits.Limit(5, 60)
    hits(session, "t:old", limit, [T0])
    hits(session, "t:new", limit, [T0 + dt.timedelta(minutes=2)])
    with write_transaction(session):
        rate_limits.prune(session, now=T0 + dt.timedelta(minutes=2, seconds=1))
    assert list(session.scalars(select(RateLimitWindow.key))) == ["t:new"]


@pytest.fixture()
def item(session, settings):  # type: ignore[no-untyped-def]
    with write_transaction(session):
        for collection, prop in [(demo.regions(), None),
                                 (demo.china_provinces(), "iso_3166_2")]:
            masterdata.import_territories(session, collection=collection, code_property=prop,
                                          actor=SYSTEM)
        masterdata.create_product(session, gtin=GTIN, name="Tea", company_prefix_length=7,
                                  actor=SYSTEM)
        batch = issuing.issue_batch(session, gtin=GTIN, territory="CN-GD", quantity=1,
                                    lot="L1", actor=SYSTEM, settings=settings)
        serial = session.scalar(select(Serial.serial).where(Serial.batch_id == batch.id))
    return f"https://id.example.com/01/{GTIN}/21/{serial}"


def check_once(session, code: str, now: dt.datetime) -> tuple[public.Check, int]:  # type: ignore[no-untyped-def]
    db = DirectConnection.of(session)
    check = public.look_up(db, parse_code(code))
    session.rollback()
    with write_transaction(session):
        check_id = public.record_check(DirectConnection.of(session), check, code=code, now=now)
    return check, check_id


def test_a_check_is_stored_as_a_consumer_scan_and_counted_by_the_next(session, item):
    first, check_id = check_once(session, item, T0)
    assert (first.verdict, first.product, first.lot, first.checks_before) == (
        "authentic", "Tea", "L1", 0)
    scan = session.get(Scan, check_id)
    assert (scan.source, scan.inspector_id, scan.latitude, scan.scanned_at) == (
        ScanSource.CONSUMER, None, None, T0)
    second, _ = check_once(session, item, T0 + dt.timedelta(minutes=5))
    assert second.checks_before == 1
    assert [e.place for e in second.earlier] == [public.Place()]


def test_a_position_is_judged_as_a_scan_there_and_taken_once(session, item, settings):
    _, check_id = check_once(session, item, T0)
    db = DirectConnection.of(session)
    judged = public.judge_position(db, check_id, latitude=23.13, longitude=113.26,
                                   accuracy_m=30.0, settings=settings)
    session.rollback()
    with write_transaction(session):
        located = public.add_position(DirectConnection.of(session), check_id, judged,
                                      settings=settings)
    assert (located.verdict, located.place.territory) == ("authentic", "CN-GD")
    with pytest.raises(Conflict):
        public.judge_position(DirectConnection.of(session), check_id, latitude=23.1,
                              longitude=113.2, accuracy_m=None, settings=settings)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Scan)) == 1


def test_a_position_for_no_check_is_not_found(session, item, settings):
    with pytest.raises(NotFound) as missing:
        public.judge_position(DirectConnection.of(session), 999, latitude=1, longitude=1,
                              accuracy_m=None, settings=settings)
    assert missing.value.message == "there is no consumer check 999"


def test_consumer_signals_count_the_checks_of_a_serial(session, item, settings):
    for minutes, point in [(0, (30.27, 120.15)), (300, (23.13, 113.26)), (600, None)]:
        _, check_id = check_once(session, item, T0 + dt.timedelta(minutes=minutes))
        if point is None:
            continue
        judged = public.judge_position(DirectConnection.of(session), check_id,
                                       latitude=point[0], longitude=point[1],
                                       accuracy_m=10.0, settings=settings)
        session.rollback()
        with write_transaction(session):
            public.add_position(DirectConnection.of(session), check_id, judged,
                                settings=settings)
    key = item.split("example.com/")[1]
    assert public.consumer_signals(session, key) == public.ConsumerSignals(
        checks=3, located=2, outside=1)
