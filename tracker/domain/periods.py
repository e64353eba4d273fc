"""Reporting periods: what ``since`` and ``until`` mean when a person types them.

A period is half-open, ``[since, until)``, in UTC, so consecutive periods never count
the same moment twice. People give either dates or instants:

- a date (``YYYY-MM-DD``) is a UTC day; ``until`` as a date includes that whole day;
- an ISO 8601 instant carries its timezone (``Z`` or ``+08:00``) and is taken as it is.

Left out, ``until`` is now and ``since`` lies 30 days before ``until``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tracker.errors import InvalidInput

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    """The half-open period ``[since, until)``, both aware UTC instants.

    >>> p = parse_period("2024-03-01", "2024-03-31", now=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
    >>> p.since.isoformat(), p.until.isoformat()
    ('2024-03-01T00:00:00+00:00', '2024-04-01T00:00:00+00:00')
    >>> p.previous().since.isoformat()
    '2024-01-30T00:00:00+00:00'
    """

    since: dt.datetime
    until: dt.datetime

    def previous(self) -> Period:
        """The period of equal length that ends where this one starts."""
        return Period(self.since - (self.until - self.since), self.since)


def year_before(moment: dt.datetime) -> dt.datetime:
    """The same date and time twelve calendar months earlier (29 February: the 28th).

    >>> year_before(dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC)).isoformat()
    '2023-02-28T12:00:00+00:00'
    """
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:
        return moment.replace(year=moment.year - 1, day=28)


def _moment(name: str, value: str, *, end_of_day: bool) -> tuple[dt.datetime, bool]:
    """The instant a parameter names, and whether it was given as a date."""
    text = value.strip()
    is_date = not any(mark in text for mark in "Tt ")
    try:
        if is_date:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
            return (moment + dt.timedelta(days=1) if end_of_day else moment), True
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"parameter '{name}' must be a date as YYYY-MM-DD or an ISO 8601 time such as "
            f"2024-03-01T08:00:00+08:00, not {value!r}", code="invalid_parameter") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"parameter '{name}' must carry a timezone (Z or +08:00) when it "
                           f"gives a time, not {value!r}", code="invalid_parameter")
    return moment.astimezone(dt.UTC), False


def parse_period(since: str | None, until: str | None, *, now: dt.datetime,
                 days: int = DEFAULT_DAYS) -> Period:
    """The period named by ``since`` and ``until`` (either may be None or empty).

    >>> now = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)
    >>> p = parse_period(None, None, now=now)
    >>> p.since.isoformat(), p.until.isoformat()
    ('2024-04-01T09:30:00+00:00', '2024-05-01T09:30:00+00:00')
    >>> parse_period("2024-03-01T08:00:00+08:00", None, now=now).since.isoformat()
    '2024-03-01T00:00:00+00:00'
    >>> parse_period("2024-03-01", "2024-03-01", now=now).until.isoformat()
    '2024-03-02T00:00:00+00:00'

    Raises ``InvalidInput`` (code ``invalid_parameter``) naming the parameter and quoting
    its value, or naming both when ``since`` is not before ``until``.
    """
    start = end = None
    until_is_date = False
    if until:
        end, until_is_date = _moment("until", until, end_of_day=True)
    if since:
        start, _ = _moment("since", since, end_of_day=False)
    end = end if end is not None else now.astimezone(dt.UTC)
    start = start if start is not None else end - dt.timedelta(days=days)
    if start >= end:
        relation = "must not be after" if until_is_date else "must be before"
        named = repr(until) if until else f"now, {end.isoformat(timespec='seconds')}"
        raise InvalidInput(f"parameter 'since' ({since!r}) {relation} parameter 'until' "
                           f"({named})", code="invalid_parameter")
    return Period(start, end)
