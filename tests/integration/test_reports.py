"""Reports through the service: diversion flows and the distributor scorecard on a
hand-built month (tests.integration.diversion), exact figures on both databases."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

import pytest

from tests.integration.diversion import SINCE, UNTIL, at, build_diversion
from tests.integration.network import distributor
from tracker.errors import InvalidInput, PermissionDenied
from tracker.models import Role
from tracker.services import masterdata, reports
from tracker.services.auth import SYSTEM, Actor
from tracker.services.reports import Flow, PartyScore

MARCH = {"since": SINCE, "until": UNTIL}
INSPECTOR = Actor(name="ines", role=Role.INSPECTOR, user_id=7)
COMPLIANCE = Actor(name="carla", role=Role.COMPLIANCE, user_id=8)


@pytest.fixture()
def month(session, settings):  # type: ignore[no-untyped-def]
    return build_diversion(session, settings)


def test_flows_count_each_expected_territory_against_where_goods_were_found(session, month):
    report = reports.flows(session, **MARCH, actor=COMPLIANCE)
    assert (report.since, report.until) == (SINCE, UNTIL)
    # V5 and V6 are one serial expected in A1 and A2: two violations, one unit each pair.
    assert report.items == (
        Flow("A1", "B", violations=4, units=3),  # V4, V10 (t2); V5, V6 (t3)
        Flow("A", "B", violations=3, units=3),  # V1, V11 (t1); V7 (brand)
        Flow("A2", "B", violations=2, units=1),  # V5, V6
        Flow("A", None, violations=1, units=1),  # V2, found where no territory lies
    )


@pytest.mark.parametrize("actor", [COMPLIANCE, distributor("t1")], ids=["all", "t1"])
def test_the_largest_flows_are_the_first_of_all_with_the_same_figures(session, month, actor):
    every = reports.flows(session, **MARCH, actor=actor)

    for largest in range(len(every.items) + 2):
        shown = reports.flows(session, **MARCH, actor=actor, largest=largest)
        assert shown.items == every.items[:largest]
        assert shown.pairs == every.pairs == len(every.items)
        assert reports.busiest_flows(session, **MARCH, actor=actor, largest=largest) == tuple(
            dataclasses.replace(f, units=0) for f in every.items[:largest])


def test_leaks_count_the_diversions_found_in_and_expected_in_each_territory(session, month):
    # Found in B: V1, V4-V7, V10, V11; V2 in no territory. V5 and V6, expected in A1 and
    # A2, leak out of each.
    assert reports.leaks(session, **MARCH, actor=COMPLIANCE) == {
        "B": (7, 0), "A1": (0, 4), "A": (0, 4), "A2": (0, 2)}
    assert reports.leaks(session, **MARCH, actor=distributor("t1")) == {
        "B": (2, 0), "A": (0, 3)}


def test_flows_of_a_distributor_are_those_attributed_to_it(session, month):
    report = reports.flows(session, **MARCH, actor=distributor("t1"))
    assert report.items == (Flow("A", "B", 2, 2), Flow("A", None, 1, 1))


def test_scorecard_lists_every_distributor_with_exact_figures(session, month):
    report = reports.scorecard(session, **MARCH, actor=SYSTEM)
    assert report.items == (
        # V1, V2, V11; V1 confirmed, V3 (January) confirmed too: a repeat offender.
        # V8 at 23:59:59 on 29 February belongs to the previous period.
        PartyScore("t1", received_units=10, violations=3, violations_per_1000=300.0,
                   confirmed=1, repeat=True, previous_violations=1),
        # V4 (resolved) and V10 at 23:59:59 on 31 March.
        PartyScore("t2", received_units=3, violations=2, violations_per_1000=666.67,
                   confirmed=1, repeat=False, previous_violations=0),
        # V5 (dismissed) and V6; the receipt at 00:00 on 1 April is not March's.
        PartyScore("t3", received_units=2, violations=2, violations_per_1000=1000.0,
                   confirmed=0, repeat=False, previous_violations=0),
        # Three items in a case and one loose: four units.
        PartyScore("t1b", received_units=4, violations=0, violations_per_1000=0.0,
                   confirmed=0, repeat=False, previous_violations=0),
        PartyScore("t4", received_units=0, violations=0, violations_per_1000=None,
                   confirmed=0, repeat=False, previous_violations=0),
    )


def test_a_distributor_sees_only_its_own_scorecard_row(session, month):
    report = reports.scorecard(session, **MARCH, actor=distributor("t2"))
    assert [row.party for row in report.items] == ["t2"]


def test_the_period_before_counts_what_march_leaves_out(session, month):
    february = reports.scorecard(session, since=at("2024-02-01T00:00:00"), until=SINCE,
                                 actor=SYSTEM)
    t1 = next(row for row in february.items if row.party == "t1")
    assert (t1.received_units, t1.violations, t1.violations_per_1000) == (2, 1, 500.0)
    assert reports.flows(session, since=UNTIL, until=at("2024-04-02T00:00:00"),
                         actor=SYSTEM).items == (Flow("A", "B", 1, 1),)  # V9 alone


@pytest.mark.parametrize(("until", "repeat"), [
    ("2025-01-15T00:00:00", True),  # V3 (15 January 2024, noon) lies in the twelve months
    ("2025-01-16T00:00:00", False),  # it does not: V1 is t1's only confirmed violation
])
def test_repeat_looks_back_twelve_months_from_the_end_of_the_period(session, month, until,
                                                                    repeat):
    report = reports.scorecard(session, since=SINCE, until=at(until),
                               actor=distributor("t1"))
    assert report.items[0].repeat is repeat


@pytest.mark.parametrize("report", [reports.flows, reports.scorecard])
def test_an_inspector_may_not_read_reports(session, report):
    with pytest.raises(PermissionDenied) as info:
        report(session, **MARCH, actor=INSPECTOR)
    assert info.value.message == ("role 'inspector' may not read reports; it needs one of: "
                                  "admin, compliance, distributor")


def test_a_period_that_ends_before_it_starts_is_refused(session):
    with pytest.raises(InvalidInput) as info:
        reports.flows(session, since=UNTIL, until=SINCE, actor=SYSTEM)
    assert info.value.code == "invalid_parameter"
    assert info.value.message == ("'since' (2024-04-01T00:00:00+00:00) must be before "
                                  "'until' (2024-03-01T00:00:00+00:00)")


def test_flows_csv_has_a_header_and_the_same_rows(session, month):
    assert reports.flows_csv(session, **MARCH, actor=SYSTEM) == (
        "from_territory,to_territory,violations,units\r\n"
        "A1,B,4,3\r\nA,B,3,3\r\nA2,B,2,1\r\nA,,1,1\r\n")


def test_scorecard_csv_has_a_header_and_the_same_rows(session, month):
    text = reports.scorecard_csv(session, **MARCH, actor=SYSTEM)
    assert text.splitlines() == [
        "party,received_units,violations,violations_per_1000,confirmed,repeat,"
        "previous_violations",
        "t1,10,3,300.00,1,true,1", "t2,3,2,666.67,1,false,0", "t3,2,2,1000.00,0,false,0",
        "t1b,4,0,0.00,0,false,0", "t4,0,0,,0,false,0"]
    rows = list(csv.DictReader(io.StringIO(text)))
    report = reports.scorecard(session, **MARCH, actor=SYSTEM)
    assert [row["party"] for row in rows] == [s.party for s in report.items]
    assert list(rows[0]) == [f.name for f in dataclasses.fields(PartyScore)]


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(session, month):
    masterdata.create_party(session, id="=HYPERLINK(\"x\")", name="odd", role="distributor",
                            territories=["B"], parent="brand", actor=SYSTEM)
    text = reports.scorecard_csv(session, **MARCH, actor=SYSTEM)
    assert "\"'=HYPERLINK(\"\"x\"\")\",0,0,,0,false,0" in text.splitlines()


def test_aware_instants_in_any_timezone_cover_the_same_period(session, month):
    china = dt.timezone(dt.timedelta(hours=8))
    assert reports.scorecard(
        session, since=SINCE.astimezone(china), until=UNTIL.astimezone(china), actor=SYSTEM
    ) == reports.scorecard(session, **MARCH, actor=SYSTEM)
