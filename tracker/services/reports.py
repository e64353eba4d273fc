"""Reports for compliance: where diverted goods flow, and how each distributor scores.

Both reports cover a half-open period ``[since, until)`` of aware instants (see
:mod:`tracker.domain.periods` for how people's dates become one) and aggregate in the
database with GROUP BY: a period of 100,000 violations and millions of custody moves
returns a few hundred rows to Python, never the violations themselves.

Who sees what: admin and compliance read every row; a distributor reads only what is
attributed to its own party (its own scorecard row, the flows of the violations whose
responsible party it is); an inspector reads no report.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from typing import Any

from sqlalchemy import Select, and_, distinct, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from tracker.db import as_date, utc_day
from tracker.domain.codes import item_key
from tracker.domain.periods import Period, year_before
from tracker.errors import InvalidInput
from tracker.models import (
    CONFIRMED_STATUSES,
    CustodyMove,
    Party,
    PartyRole,
    ReceiptDay,
    RepeatReceipt,
    Role,
    Violation,
    ViolationTerritory,
    ViolationType,
)
from tracker.models.custody import RECEIPTS
from tracker.services.auth import Actor

# Custody moves of items, not of the cases and pallets they travel in: every item of a
# received pallet has a receive move of its own (tracker.services.custody.apply_receipt).
_ITEM_KEYS = item_key("%", "%")
# A party with this many confirmed violations in the twelve months to the period's end
# is a repeat offender.
REPEAT_CONFIRMED = 2


@dataclass(frozen=True)
class Flow:
    """Diverted goods from a territory they were meant for to the one they were found in.

    ``violations``: diverted violations opened in the period with that pair;
    ``units``: the distinct items (serials) among them. ``to_territory`` is None for
    goods found where no known territory lies; ``from_territory`` is None only for a
    violation that recorded no expected territory."""

    from_territory: str | None
    to_territory: str | None
    violations: int
    units: int


@dataclass(frozen=True)
class FlowReport:
    since: dt.datetime
    until: dt.datetime
    items: tuple[Flow, ...]
    pairs: int  # flows in the period (items may hold only the largest)


@dataclass(frozen=True)
class PartyScore:
    """One distributor's row of the scorecard.

    - ``received_units``: distinct items it received in the period (each item of a
      received case or pallet counts);
    - ``violations``: violations of every type attributed to it and opened in the period;
    - ``violations_per_1000``: violations per 1,000 received units, to two decimals;
      None when it received nothing;
    - ``confirmed``: of those violations, the ones confirmed or resolved (as they stand now);
    - ``repeat``: at least two confirmed or resolved violations opened in the twelve
      calendar months that end with the period;
    - ``previous_violations``: ``violations`` of the period of equal length before it.
    """

    party: str
    received_units: int
    violations: int
    violations_per_1000: float | None
    confirmed: int
    repeat: bool
    previous_violations: int


@dataclass(frozen=True)
class Scorecard:
    since: dt.datetime
    until: dt.datetime
    items: tuple[PartyScore, ...]


def _period(since: dt.datetime, until: dt.datetime) -> Period:
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("a report's since and until must be aware datetimes")
    if since >= until:
        raise InvalidInput(f"'since' ({since.isoformat()}) must be before 'until' "
                           f"({until.isoformat()})", code="invalid_parameter")
    return Period(since.astimezone(dt.UTC), until.astimezone(dt.UTC))


def _reader(actor: Actor) -> str | None:
    """The party a distributor is limited to; None for those who read everything."""
    actor.require(Role.COMPLIANCE, Role.DISTRIBUTOR, action="read reports")
    return actor.party_id if actor.role is Role.DISTRIBUTOR else None


def _opened_in(period: Period) -> ColumnElement[bool]:
    return and_(Violation.opened_at >= period.since, Violation.opened_at < period.until)


# --- violations over time ------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    type: str
    violations: int


def violations_over_time(session: Session, *, since: dt.datetime, until: dt.datetime,
                         actor: Actor) -> tuple[DayCount, ...]:
    """Violations opened per UTC day and type in ``[since, until)`` (days without any are
    left out); a distributor sees those attributed to it."""
    period = _period(since, until)
    party = _reader(actor)
    day = utc_day(session.get_bind().dialect.name, Violation.opened_at)
    query = (select(day, Violation.type, func.count()).where(_opened_in(period))
             .group_by(day, Violation.type))
    if party is not None:
        query = query.where(Violation.responsible_party == party)
    rows = [DayCount(as_date(d), kind.value, n) for d, kind, n in session.execute(query)]
    return tuple(sorted(rows, key=lambda r: (r.day, r.type)))


# --- diversion flows -----------------------------------------------------------------


def flows(session: Session, *, since: dt.datetime, until: dt.datetime, actor: Actor,
          largest: int | None = None) -> FlowReport:
    """Diverted violations opened in ``[since, until)``, counted per pair of an expected
    territory of the violation and the territory the goods were found in.

    A violation expected in two territories counts once under each. Most violations
    first, then by territory codes (None last). With ``largest``, only that many flows,
    the first ones; ``pairs`` says how many there are."""
    period = _period(since, until)
    pair = (ViolationTerritory.territory, Violation.found_territory)
    rows = [Flow(*row) for row in session.execute(
        _diverted(period, _reader(actor))
        .add_columns(*pair, func.count(), func.count(distinct(Violation.key)))
        .group_by(*pair))]
    _sort_flows(rows)
    return FlowReport(period.since, period.until, tuple(rows[:largest]), len(rows))


def busiest_flows(session: Session, *, since: dt.datetime, until: dt.datetime,
                  actor: Actor, largest: int) -> tuple[Flow, ...]:
    """The first ``largest`` of :func:`flows` without their distinct items (``units`` 0):
    the arrows of a map. Counting every pair's violations alone is a hash of the rows,
    not a sort (PostgreSQL: a third less time for a quarter of a big brand)."""
    period = _period(since, until)
    pair = (ViolationTerritory.territory, Violation.found_territory)
    rows = [Flow(source, found, n, 0) for source, found, n in session.execute(
        _diverted(period, _reader(actor)).add_columns(*pair, func.count()).group_by(*pair))]
    _sort_flows(rows)
    return tuple(rows[:largest])


def leaks(session: Session, *, since: dt.datetime, until: dt.datetime, actor: Actor
          ) -> dict[str, tuple[int, int]]:
    """Per territory, the diverted violations opened in ``[since, until)`` that were found
    in it and that were expected in it (goods leaking out of it): for the map."""
    period = _period(since, until)
    party = _reader(actor)
    found = session.execute(_diverted(period, party, expected=False)
                            .add_columns(Violation.found_territory, func.count())
                            .where(Violation.found_territory.is_not(None))
                            .group_by(Violation.found_territory))
    counts = {code: (n, 0) for code, n in found}
    expected = session.execute(_diverted(period, party)
                               .add_columns(ViolationTerritory.territory, func.count())
                               .where(ViolationTerritory.territory.is_not(None))
                               .group_by(ViolationTerritory.territory))
    for code, n in expected:
        counts[code] = (counts.get(code, (0, 0))[0], n)
    return counts


def _diverted(period: Period, party: str | None, *, expected: bool = True) -> Select[Any]:
    """Diverted violations opened in the period, to add columns and groups to; with
    ``expected``, a row per expected territory (outer: one without any still counts, from
    None)."""
    query = (select().select_from(Violation)
             .where(Violation.type == ViolationType.DIVERTED, _opened_in(period)))
    if expected:
        query = query.outerjoin(ViolationTerritory,
                                ViolationTerritory.violation_id == Violation.id)
    return query if party is None else query.where(Violation.responsible_party == party)


def _sort_flows(rows: list[Flow]) -> None:
    # Sorted here, not in SQL: the databases order text and NULLs differently.
    rows.sort(key=lambda f: (-f.violations, f.from_territory is None, f.from_territory or "",
                             f.to_territory is None, f.to_territory or ""))


# --- distributor scorecard -----------------------------------------------------------


def scorecard(session: Session, *, since: dt.datetime, until: dt.datetime, actor: Actor
              ) -> Scorecard:
    """Every distributor (a distributor user: its own party alone), with what it received
    and the violations attributed to it in ``[since, until)``; see :class:`PartyScore`.

    Most violations first, then by party id."""
    period = _period(since, until)
    party = _reader(actor)
    previous = period.previous()
    year = Period(year_before(period.until), period.until)
    scored = Party.id == party if party is not None else Party.role == PartyRole.DISTRIBUTOR
    # Never correlated with the outer query's parties: a list of its own.
    parties = select(Party.id).where(scored).correlate(None)

    confirmed = Violation.status.in_(CONFIRMED_STATUSES)
    attributed = (
        select(Violation.responsible_party.label("party"),
               func.count().filter(_opened_in(period)).label("violations"),
               func.count().filter(and_(_opened_in(period), confirmed)).label("confirmed"),
               func.count().filter(_opened_in(previous)).label("previous"),
               func.count().filter(and_(_opened_in(year), confirmed)).label("year_confirmed"))
        .where(Violation.responsible_party.in_(parties),
               Violation.opened_at >= min(previous.since, year.since),
               Violation.opened_at < period.until)
        .group_by(Violation.responsible_party)
        .subquery())

    query = (
        select(Party.id, attributed.c.violations, attributed.c.confirmed,
               attributed.c.previous, attributed.c.year_confirmed)
        .outerjoin(attributed, attributed.c.party == Party.id)
        .where(scored)
    )
    received = received_units(session, period, parties)
    rows = []
    for party_id, count, confirmed_count, previous_count, year_count in (
            session.execute(query)):
        units, count = received.get(party_id, 0), count or 0
        rows.append(PartyScore(
            party=party_id, received_units=units, violations=count,
            violations_per_1000=round(count * 1000 / units, 2) if units else None,
            confirmed=confirmed_count or 0, repeat=(year_count or 0) >= REPEAT_CONFIRMED,
            previous_violations=previous_count or 0))
    rows.sort(key=lambda s: (-s.violations, s.party))
    return Scorecard(period.since, period.until, tuple(rows))


def received_units(session: Session, period: Period, parties: Select[Any]) -> dict[str, int]:
    """The distinct items each of ``parties`` received in the period: its receipts there
    (whole UTC days from the daily counts, the period's partial days from the receipts
    themselves) minus its repeat receipts of an item it had already received in the
    period (:class:`tracker.models.RepeatReceipt`)."""
    first_day = _day_at_or_after(period.since)
    end_day = period.until.date()  # the days before it are whole inside the period
    if first_day >= end_day:
        edges = [(period.since, period.until)]
    else:
        edges = [(period.since, _midnight(first_day)), (_midnight(end_day), period.until)]
    counts: dict[str, int] = {}
    if first_day < end_day:
        days = (select(ReceiptDay.party_id, func.sum(ReceiptDay.receipts))
                .where(ReceiptDay.day >= first_day, ReceiptDay.day < end_day,
                       ReceiptDay.party_id.in_(parties))
                .group_by(ReceiptDay.party_id))
        counts.update((party, int(n)) for party, n in session.execute(days))
    for since, until in edges:
        if since >= until:
            continue
        receipts = (select(CustodyMove.to_party, func.count())
                    .where(text(RECEIPTS), CustodyMove.key.like(_ITEM_KEYS),
                           CustodyMove.at >= since, CustodyMove.at < until,
                           CustodyMove.to_party.in_(parties))
                    .group_by(CustodyMove.to_party))
        for party, n in session.execute(receipts):
            if party is not None:  # always: only listed parties are read
                counts[party] = counts.get(party, 0) + n
    repeats = (select(RepeatReceipt.party_id, func.count())
               .where(RepeatReceipt.at >= period.since, RepeatReceipt.at < period.until,
                      RepeatReceipt.previous_at >= period.since,
                      RepeatReceipt.party_id.in_(parties))
               .group_by(RepeatReceipt.party_id))
    for party, n in session.execute(repeats):
        counts[party] -= n
    return counts


def _day_at_or_after(moment: dt.datetime) -> dt.date:
    day = moment.date()
    return day if _midnight(day) == moment else day + dt.timedelta(days=1)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


# --- CSV downloads -------------------------------------------------------------------

FLOW_COLUMNS = tuple(f.name for f in fields(Flow))
SCORECARD_COLUMNS = tuple(f.name for f in fields(PartyScore))
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection);
# party ids and territory codes are anyone's text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return str(value)


def _csv(columns: Sequence[str], rows: Iterable[tuple[object, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(columns)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def flows_csv(session: Session, *, since: dt.datetime, until: dt.datetime, actor: Actor
              ) -> str:
    """:func:`flows` as CSV text: a header row, then one row per flow. An unknown
    territory is an empty cell."""
    report = flows(session, since=since, until=until, actor=actor)
    return _csv(FLOW_COLUMNS, (astuple(f) for f in report.items))


def scorecard_csv(session: Session, *, since: dt.datetime, until: dt.datetime, actor: Actor
                  ) -> str:
    """:func:`scorecard` as CSV text: a header row, then one row per party. The rate has
    two decimals (empty when nothing was received); repeat is true or false."""
    report = scorecard(session, since=since, until=until, actor=actor)
    return _csv(SCORECARD_COLUMNS, (astuple(s) for s in report.items))
