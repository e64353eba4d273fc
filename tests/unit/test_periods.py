"""Reporting periods as people type them: dates, instants, defaults and refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from tracker.domain.periods import Period, parse_period, year_before
from tracker.errors import InvalidInput

NOW = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


@pytest.mark.parametrize(("since", "until", "period"), [
    ("2024-03-01", "2024-03-31", Period(utc(2024, 3, 1), utc(2024, 4, 1))),
    ("2024-03-01", "2024-03-01", Period(utc(2024, 3, 1), utc(2024, 3, 2))),
    ("2024-03-01T08:00:00+08:00", "2024-03-02T00:00:00Z",
     Period(utc(2024, 3, 1), utc(2024, 3, 2))),
    ("2024-03-01T12:00:00Z", "2024-03-01", Period(utc(2024, 3, 1, 12), utc(2024, 3, 2))),
    (None, None, Period(utc(2024, 4, 1, 9, 30), NOW)),
    ("", "", Period(utc(2024, 4, 1, 9, 30), NOW)),
    ("2024-04-20", None, Period(utc(2024, 4, 20), NOW)),
    (None, "2024-03-31", Period(utc(2024, 3, 2), utc(2024, 4, 1))),
])
def test_dates_include_the_whole_day_and_defaults_span_30_days(since, until, period):
    assert parse_period(since, until, now=NOW) == period


@pytest.mark.parametrize(("since", "until", "message"), [
    ("2024-02-30", None, "parameter 'since' must be a date as YYYY-MM-DD or an ISO 8601 "
                         "time such as 2024-03-01T08:00:00+08:00, not '2024-02-30'"),
    (None, "last week", "parameter 'until' must be a date as YYYY-MM-DD or an ISO 8601 "
                        "time such as 2024-03-01T08:00:00+08:00, not 'last week'"),
    ("2024-03-01T10:00", None, "parameter 'since' must carry a timezone (Z or +08:00) when "
                               "it gives a time, not '2024-03-01T10:00'"),
    ("2024-03-02", "2024-03-01", "parameter 'since' ('2024-03-02') must not be after "
                                 "parameter 'until' ('2024-03-01')"),
    ("2024-03-01T10:00Z", "2024-03-01T10:00Z", "parameter 'since' ('2024-03-01T10:00Z') "
                                               "must be before parameter 'until' "
                                               "('2024-03-01T10:00Z')"),
    ("2024-06-01", None, "parameter 'since' ('2024-06-01') must be before parameter "
                         "'until' (now, 2024-05-01T09:30:00+00:00)"),
])
def test_bad_values_are_refused_naming_the_parameter_and_quoting_the_value(since, until,
                                                                             message):
    with pytest.raises(InvalidInput) as info:
        parse_period(since, until, now=NOW)
    assert (info.value.code, info.value.message) == ("invalid_parameter", message)


def test_the_previous_period_has_the_same_length_and_ends_where_this_one_starts():
    assert Period(utc(2024, 3, 1), utc(2024, 4, 1)).previous() == Period(
        utc(2024, 1, 30), utc(2024, 3, 1))


@pytest.mark.parametrize(("moment", "before"), [
    (utc(2025, 1, 15, 12), utc(2024, 1, 15, 12)),
    (utc(2024, 2, 29), utc(2023, 2, 28)),
])
def test_year_before_is_twelve_calendar_months_back(moment, before):
    assert year_before(moment) == before
