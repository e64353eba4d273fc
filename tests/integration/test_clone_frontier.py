"""The clone check reads a bounded frontier of an item's scans (tracker.services.scans,
"the clone frontier") and still gives every scan the verdict and flags of the
travel-speed rule applied to all of the item's earlier scans."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from tests.integration.network import Network, build
from tracker import migrate
from tracker.config import Settings
from tracker.db import DirectConnection, make_engine, make_session_factory, write_transaction
from tracker.domain import verdicts
from tracker.domain.codes import parse_code
from tracker.models import CloneFrontier, Scan
from tracker.services import clone_frontier, public, scans
from tracker.services.auth import SYSTEM, Actor, actor_for, create_user

T0 = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
CITIES = [(39.90, 116.40), (23.13, 113.26), (31.23, 121.47), (22.54, 114.06)]


@pytest.fixture()
def field(db, settings) -> tuple[Network, Actor]:
    with make_session_factory(db)() as session, session.begin():
        net = build(session, settings, quantity=400)
        user, _ = create_user(session, name="inspector", role="inspector", actor=SYSTEM)
        return net, actor_for(user)


def every_earlier_scan(session: Session, key: str) -> list[verdicts.ScanPoint]:
    """Today's rule without its shortcuts: every stored scan of the item with a place."""
    rows = session.execute(select(Scan.latitude, Scan.longitude, Scan.scanned_at)
                           .where(Scan.key == key, Scan.latitude.is_not(None)))
    return [verdicts.ScanPoint(lat, lon, at) for lat, lon, at in rows]


def reference(session: Session, judged: scans.JudgedScan) -> verdicts.Judgement:
    others = ([] if "clock_skew" in judged.input_flags
              else every_earlier_scan(session, judged.item.key))
    return verdicts.judge(other_scans=others, place=judged.place, **judged.judge_inputs)


def scan_and_compare(factory: Any, inspector: Actor, settings: Settings,
                     request: scans.ScanRequest, now: dt.datetime) -> dict[str, Any]:
    with factory() as session, write_transaction(session):
        db = DirectConnection.of(session)
        judged = scans.judge_scan(db, request, actor=inspector, settings=settings, now=now)
        expected = reference(session, judged)
        answer = scans.store_scan(db, judged, actor=inspector, settings=settings)
    assert (answer["verdict"], answer["flags"]) == (
        expected.verdict.value, expected.flags + judged.input_flags)
    return answer


def share_and_compare(factory: Any, settings: Settings, check_id: int,
                      latitude: float, longitude: float, now: dt.datetime) -> None:
    with factory() as session, write_transaction(session):
        db = DirectConnection.of(session)
        judged = public.judge_position(db, check_id, latitude=latitude, longitude=longitude,
                                       accuracy_m=50.0, settings=settings, now=now)
        expected = reference(session, judged)
        public.add_position(db, check_id, judged, settings=settings)
        stored = session.get(Scan, check_id)
        assert stored is not None
        assert (stored.verdict.value, stored.flags) == (expected.verdict.value,
                                                        expected.flags)


def check(factory: Any, code: str, now: dt.datetime) -> int:
    with factory() as session, write_transaction(session):
        db = DirectConnection.of(session)
        return public.record_check(db, public.look_up(db, parse_code(code)), code=code,
                                   now=now)


places = st.one_of(
    # Around a few cities, some a few hundred km apart, so speeds fall near the limit.
    st.tuples(st.sampled_from(CITIES), st.floats(-0.5, 0.5), st.floats(-0.5, 0.5)).map(
        lambda c: (round(c[0][0] + c[1], 4), round(c[0][1] + c[2], 4))),
    # Anywhere in a region a few hundred km across: speeds near the limit.
    st.tuples(st.floats(25.0, 35.0), st.floats(110.0, 120.0)).map(
        lambda p: (round(p[0], 3), round(p[1], 3))),
    st.tuples(st.floats(-80, 80), st.floats(-179, 179)).filter(lambda p: p != (0.0, 0.0)),
)
steps = st.lists(st.tuples(
    st.sampled_from(["now", "now", "now", "late", "very_late", "same_instant", "skew",
                     "check", "share"]),
    places,
    # Time since the previous step: often minutes, sometimes past the clone window.
    st.one_of(st.integers(0, 600), st.integers(600, 4 * 3600), st.integers(20 * 3600,
                                                                             30 * 3600)),
    st.floats(0.0, 1.0),  # how late, or which earlier time, as a fraction
    st.sampled_from([1000.0, 1000.0, 1000.0, 300.0]),  # the setting, changed now and then
), min_size=1, max_size=25)


@hypothesis_settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])
@given(history=steps)
def test_verdicts_and_flags_match_the_rule_over_every_earlier_scan(db, settings, field,
                                                                   history):
    net, inspector = field
    serial = net.serials[next(SERIALS) % len(net.serials)]
    factory = make_session_factory(db)
    now = T0 + dt.timedelta(days=next(DAYS))  # each example far from the others
    times: list[dt.datetime] = []
    pending: list[int] = []
    for n, (kind, (lat, lon), gap, fraction, speed) in enumerate(history):
        now += dt.timedelta(seconds=gap)
        run = dataclasses.replace(settings, clone_speed_kmh=speed)
        if kind == "check":
            pending.append(check(factory, serial, now))
            continue
        if kind == "share":
            if pending:
                share_and_compare(factory, run, pending.pop(0), lat, lon, now)
            continue
        at: dt.datetime | None = {
            "now": None,
            "late": now - dt.timedelta(minutes=55 * fraction),
            "very_late": now - dt.timedelta(hours=30 * fraction),
            "same_instant": times[int(fraction * (len(times) - 1))] if times else None,
            "skew": now + dt.timedelta(days=1),
        }[kind]
        answer = scan_and_compare(factory, inspector, run, scans.ScanRequest(
            code=serial, latitude=lat, longitude=lon, accuracy_m=20.0, scanned_at=at,
            client_scan_id=f"{serial}-{n}"), now)
        times.append(dt.datetime.fromisoformat(answer["scanned_at"]))


SERIALS = itertools.count()
DAYS = itertools.count(0, 10)


def frontier_rows(db: Any, key: str) -> tuple[int, int]:
    """(live rows, all rows) of the item's frontier."""
    with db.connect() as connection:
        live, total = connection.execute(
            select(func.count(CloneFrontier.id).filter(CloneFrontier.superseded_at.is_(None)),
                   func.count(CloneFrontier.id)).where(CloneFrontier.key == key)).one()
    return live, total


def test_a_copied_label_scanned_in_two_cities_keeps_two_live_rows(db, settings, field):
    # Beijing and Guangzhou in turn, ten minutes apart, for ten hours: each scan
    # supersedes the one in its city twenty minutes before.
    net, inspector = field
    factory = make_session_factory(db)
    answers = []
    for n in range(60):
        lat, lon = CITIES[n % 2]
        answers.append(scan_and_compare(factory, inspector, settings, scans.ScanRequest(
            code=net.serials[0], latitude=lat, longitude=lon, accuracy_m=20.0),
            T0 + dt.timedelta(minutes=10 * n))["verdict"])
    assert answers == ["diverted"] + ["suspected_clone"] * 59
    # The live rows are each city's latest scan; the rest are those superseded in the
    # last LATE_GRACE (at minutes 530 to 590), kept for scans arriving late.
    assert frontier_rows(db, net.key(0)) == (2, 2 + 7)


def bulk_scans(session: Session, key: str, serial: str,
               points: list[tuple[float, float, dt.datetime]]) -> None:
    """Scans stored directly (as an import or an older release would), not through the
    scan path: the frontier knows nothing of them."""
    session.execute(insert(Scan), [dict(
        code=serial, form="serial", serial=serial, key=key, latitude=lat, longitude=lon,
        scanned_at=at, received_at=at, verdict="authentic", near_border=False,
        expected_territories=[], flags=[], response={}) for lat, lon, at in points])


def test_a_clone_is_caught_however_many_scans_came_before(db, settings, field):
    # 1,500 scans in Beijing over the last 20 hours, the latest ten minutes ago: a scan
    # in Shanghai now implies 6,394 km/h. (Reading the scans with a cap of 1,000, the
    # oldest first, missed it.)
    net, inspector = field
    factory = make_session_factory(db)
    beijing = [(39.9, 116.4, T0 + dt.timedelta(seconds=48 * i)) for i in range(1_500)]
    now = beijing[-1][2] + dt.timedelta(minutes=10)
    with factory() as session, write_transaction(session):
        bulk_scans(session, net.key(0), net.serials[0], beijing)
    answer = scan_and_compare(factory, inspector, settings, scans.ScanRequest(
        code=net.serials[0], latitude=31.23, longitude=121.47, accuracy_m=20.0), now)
    assert answer["verdict"] == "suspected_clone"
    assert answer["flags"][:2] == ["clone_speed_exceeded", "speed_kmh=6394"]
    # The item started its frontier from its recent scans: the latest in Beijing and
    # the one in Shanghai are live, the 63 Beijing scans superseded in the hour before
    # the one in Shanghai (by the next, 48 s later) are kept for late scans, the rest
    # are gone.
    assert frontier_rows(db, net.key(0)) == (2, 2 + 63)
    scan_and_compare(factory, inspector, settings, scans.ScanRequest(
        code=net.serials[0], latitude=39.9, longitude=116.4, accuracy_m=20.0),
        now + dt.timedelta(minutes=1))
    assert frontier_rows(db, net.key(0))[0] == 2


def test_a_changed_speed_limit_starts_the_rows_again(db, settings, field):
    net, inspector = field
    factory = make_session_factory(db)
    # Beijing then Shanghai an hour and a half later: 713 km/h, allowed at 1,000 km/h.
    scan_and_compare(factory, inspector, settings, scans.ScanRequest(
        code=net.serials[1], latitude=39.9, longitude=116.4, accuracy_m=20.0), T0)
    scan_and_compare(factory, inspector, settings, scans.ScanRequest(
        code=net.serials[1], latitude=31.23, longitude=121.47, accuracy_m=20.0),
        T0 + dt.timedelta(minutes=90))
    assert frontier_rows(db, net.key(1)) == (1, 2)
    # At 300 km/h, Beijing (superseded at 1,000 km/h) counts again for a scan in
    # Guangzhou: 1,890 km from Beijing in 100 minutes, 1,210 km from Shanghai in 10.
    slow = dataclasses.replace(settings, clone_speed_kmh=300.0)
    answer = scan_and_compare(factory, inspector, slow, scans.ScanRequest(
        code=net.serials[1], latitude=23.13, longitude=113.26, accuracy_m=20.0),
        T0 + dt.timedelta(minutes=100))
    assert answer["flags"][:2] == ["clone_speed_exceeded", "speed_kmh=7263"]
    with db.connect() as connection:
        assert set(connection.execute(select(CloneFrontier.clone_speed_kmh)
                                      .where(CloneFrontier.key == net.key(1))).scalars()
                   ) == {300.0}


def test_a_late_scan_after_the_rows_started_again_finds_the_scans_live_at_its_time(
        db, settings, field):
    # Beijing at 8:00 and 8:30 (the first superseded), then the limit changes and a
    # scan in Shanghai at 8:40 starts the rows again; a scan in Guangzhou sent late, at
    # 8:10, is 1,883 km and ten minutes from Beijing at 8:00: 11,297 km/h.
    net, inspector = field
    factory = make_session_factory(db)
    code = net.serials[3]
    for minutes, (lat, lon) in [(0, CITIES[0]), (30, CITIES[0])]:
        scan_and_compare(factory, inspector, settings, scans.ScanRequest(
            code=code, latitude=lat, longitude=lon, accuracy_m=20.0),
            T0 + dt.timedelta(minutes=minutes))
    slow = dataclasses.replace(settings, clone_speed_kmh=300.0)
    scan_and_compare(factory, inspector, slow, scans.ScanRequest(
        code=code, latitude=31.23, longitude=121.47, accuracy_m=20.0),
        T0 + dt.timedelta(minutes=40))
    answer = scan_and_compare(factory, inspector, slow, scans.ScanRequest(
        code=code, latitude=23.13, longitude=113.26, accuracy_m=20.0,
        scanned_at=T0 + dt.timedelta(minutes=10)), T0 + dt.timedelta(minutes=41))
    assert answer["flags"][:2] == ["clone_speed_exceeded", "speed_kmh=11297"]


def test_a_position_shared_after_a_later_scan_is_judged_at_the_check_time(db, settings,
                                                                         field):
    # The public page records a check (no position) in Beijing's evening; an inspector
    # scans the code in Guangzhou ten minutes later; the person shares a Shanghai
    # position five minutes after that. The check is judged at its own time, against
    # both: a late scan that reads a few rows, not the item's history.
    net, inspector = field
    factory = make_session_factory(db)
    code = net.serials[2]
    scan_and_compare(factory, inspector, settings, scans.ScanRequest(
        code=code, latitude=39.9, longitude=116.4, accuracy_m=20.0), T0)
    check_id = check(factory, code, T0 + dt.timedelta(hours=3))
    scan_and_compare(factory, inspector, settings, scans.ScanRequest(
        code=code, latitude=23.13, longitude=113.26, accuracy_m=20.0),
        T0 + dt.timedelta(hours=3, minutes=10))
    share_and_compare(factory, settings, check_id, 31.23, 121.47,
                      T0 + dt.timedelta(hours=3, minutes=15))
    with factory() as session:
        stored = session.get(Scan, check_id)
        assert stored is not None
        assert stored.flags[:2] == ["clone_speed_exceeded", "speed_kmh=7263"]


def test_the_public_page_cannot_send_a_time_later_than_the_frontier_allows():
    # A check's time is the page's (server) time; its position may follow within the
    # token's life, and an inspector's clock may run MAX_CLOCK_AHEAD fast: together
    # within LATE_GRACE, so no anonymous request reads an item's scans without bound.
    from web.public import POSITION_TOKEN_SECONDS

    assert (dt.timedelta(seconds=POSITION_TOKEN_SECONDS) + scans.MAX_CLOCK_AHEAD
            <= clone_frontier.LATE_GRACE)


def test_migration_0010_keeps_the_recent_scans_with_a_place(tmp_path):
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'f.db'}")
    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    command.upgrade(config, "0009")
    scan = ("INSERT INTO scans (id, code, form, key, latitude, longitude, scanned_at, "
            "received_at, verdict, near_border, expected_territories, flags, response) "
            "VALUES (:id, 'c', 'serial', :key, :lat, 1.0, :at, :at, 'authentic', 0, '[]', "
            "'[]', '{}')")
    with engine.begin() as connection:
        connection.execute(text(scan), [
            {"id": 1, "key": "k1", "lat": 1.0, "at": "2026-06-01 00:00:00.000000"},
            {"id": 2, "key": "k1", "lat": 2.0, "at": "2026-06-02 10:00:00.000000"},
            {"id": 3, "key": "k2", "lat": None, "at": "2026-06-02 11:00:00.000000"},
            {"id": 4, "key": "k2", "lat": 3.0, "at": "2026-06-02 12:00:00.000000"}])
    command.upgrade(config, "0010")
    with engine.connect() as connection:
        # 20 h of window and an hour of grace before the latest: scan 1 is too old.
        assert connection.execute(text(
            "SELECT scan_id, key, latitude, scanned_at, superseded_at, clone_speed_kmh "
            "FROM clone_frontier ORDER BY scan_id")).all() == [
            (2, "k1", 2.0, "2026-06-02 10:00:00.000000", None, 1000.0),
            (4, "k2", 3.0, "2026-06-02 12:00:00.000000", None, 1000.0)]
    engine.dispose()
