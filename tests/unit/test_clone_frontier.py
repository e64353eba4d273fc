"""The rule behind the clone frontier (tracker.domain.verdicts, above compare_kept): a
scan from which a later one can be reached within the speed limit never decides the
travel-speed rule for a scan after both, so keeping the others gives the same verdict
and the same ``speed_kmh`` flag as comparing with every earlier scan."""

from __future__ import annotations

import datetime as dt
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.domain.verdicts import (
    KeptScan,
    ScanPoint,
    compare_kept,
    may_exceed_speed,
    travel_speed_kmh,
)

T0 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
LIMIT = 1000.0


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def highest_speed(scan: ScanPoint, others: list[ScanPoint], limit: float) -> float:
    """What ``judge`` flags: the highest speed above the limit (0 when none is)."""
    speed = max((travel_speed_kmh(scan, other) for other in others
                 if may_exceed_speed(scan, other, limit)), default=0.0)
    return speed if speed > limit else 0.0


def shown(speed: float) -> str:
    return "inf" if math.isinf(speed) else str(round(speed))


# Points along a parallel and a meridian near 30° N, a few hundred km apart, and times
# minutes apart: many pairs imply speeds near the limit.
points = st.tuples(st.floats(25.0, 35.0), st.floats(110.0, 120.0),
                   st.integers(0, 600)).map(lambda p: ScanPoint(round(p[0], 3),
                                                                round(p[1], 3), at(p[2])))


@settings(max_examples=300, deadline=None)
@given(q=points, step=st.integers(0, 300), p_step=st.integers(0, 300),
       place=st.tuples(st.floats(25.0, 35.0), st.floats(110.0, 120.0)),
       limit=st.sampled_from([300.0, 1000.0]))
def test_a_later_scan_reachable_from_an_earlier_one_implies_a_speed_at_least_as_high(
        q, step, p_step, place, limit):
    # q' is q moved within the limit; p comes after both.
    q2 = ScanPoint(q.lat + (place[0] - q.lat) * 0.5, q.lon + (place[1] - q.lon) * 0.5,
                   q.at + dt.timedelta(minutes=step))
    if travel_speed_kmh(q, q2) > limit:
        return
    p = ScanPoint(place[0], place[1], q2.at + dt.timedelta(minutes=p_step))
    if travel_speed_kmh(p, q) > limit:
        assert travel_speed_kmh(p, q2) >= travel_speed_kmh(p, q) * (1 - 1e-12)


@settings(max_examples=400, deadline=None)
@given(history=st.lists(points, min_size=1, max_size=30),
       limit=st.sampled_from([300.0, 1000.0, 5000.0]))
def test_the_frontier_gives_the_flag_of_every_earlier_scan_in_time_order(history, limit):
    # Scans in time order, as most arrive: keep the frontier as the service does (live
    # rows only) and compare each scan's flag with the one from every earlier scan.
    history = sorted(history, key=lambda p: p.at)
    live: dict[int, ScanPoint] = {}
    for n, scan in enumerate(history):
        kept = [KeptScan(i, point, None) for i, point in live.items()]
        comparison = compare_kept(scan, kept, limit)
        assert shown(comparison.highest_speed_kmh) == shown(
            highest_speed(scan, history[:n], limit))
        for i in comparison.supersede:
            del live[i]
        if comparison.superseded_at is None:
            live[n] = scan


def test_a_scan_at_the_same_time_and_place_supersedes_the_new_one_not_the_kept_one():
    kept = KeptScan(1, ScanPoint(31.2, 121.5, at(0)), None)
    comparison = compare_kept(ScanPoint(31.2, 121.5, at(0)), [kept], LIMIT)
    assert (comparison.highest_speed_kmh, comparison.supersede,
            comparison.superseded_at) == (0.0, [], at(0))


def test_two_places_at_the_same_instant_imply_an_infinite_speed_and_keep_both():
    kept = KeptScan(1, ScanPoint(31.2, 121.5, at(0)), None)
    comparison = compare_kept(ScanPoint(31.3, 121.5, at(0)), [kept], LIMIT)
    assert (comparison.highest_speed_kmh, comparison.supersede,
            comparison.superseded_at) == (math.inf, [], None)


def test_a_late_scan_is_superseded_by_the_earliest_later_scan_it_can_reach():
    # Shanghai at 10:00 arrives after Shanghai at 10:30 and Hangzhou (165 km) at 10:20.
    shanghai, hangzhou = (31.2, 121.5), (30.3, 120.2)
    kept = [KeptScan(1, ScanPoint(*shanghai, at(30)), None),
            KeptScan(2, ScanPoint(*hangzhou, at(20)), None)]
    comparison = compare_kept(ScanPoint(*shanghai, at(0)), kept, LIMIT)
    assert (comparison.supersede, comparison.superseded_at) == ([], at(20))


def test_a_kept_scan_superseded_before_the_new_one_stays_as_it_is():
    # Superseded at minute 5 by another scan: a scan at minute 10 changes nothing.
    kept = [KeptScan(1, ScanPoint(31.2, 121.5, at(0)), at(5)),
            KeptScan(2, ScanPoint(31.2, 121.5, at(1)), at(20))]
    comparison = compare_kept(ScanPoint(31.2, 121.5, at(10)), kept, LIMIT)
    assert comparison.supersede == [2]


def test_the_highest_speed_is_the_one_judge_finds_over_the_same_scans():
    # Beijing 3 hours before Shanghai (356 km/h, superseded), Guangzhou 30 minutes
    # before (2,421 km/h), Hangzhou (165 km) 5 minutes before (1,983 km/h).
    shanghai = ScanPoint(31.23, 121.47, at(180))
    kept = [KeptScan(1, ScanPoint(39.9, 116.4, at(0)), None),
            KeptScan(2, ScanPoint(23.13, 113.26, at(150)), None),
            KeptScan(3, ScanPoint(30.27, 120.15, at(175)), None)]
    comparison = compare_kept(shanghai, kept, LIMIT)
    assert comparison.supersede == [1]
    assert comparison.highest_speed_kmh == travel_speed_kmh(shanghai, kept[1].point)
    assert round(comparison.highest_speed_kmh) == 2421
