"""The compliance team's violation queue: filtered, sorted, paged by keyset, counted per
status, exported as CSV, and cases assigned to the people working them.

Keyset paging: a page starts after the sort key of the previous page's last row, so a
page deep in the queue costs what the first one costs, and rows opened meanwhile do not
shift the pages (as they would with OFFSET).
"""

from __future__ import annotations

import base64
import binascii
import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, literal, select, tuple_
from sqlalchemy.orm import Session

from tracker.db import chunks, table, utcnow
from tracker.domain.gs1 import quoted
from tracker.errors import InvalidInput, NotFound
from tracker.models import Role, User, Violation, ViolationAudit, ViolationStatus, ViolationType
from tracker.services import audit
from tracker.services.auth import Actor
from tracker.services.violation_filter import (
    UNASSIGNED,
    QueueFilter,
    conditions,
    near_border_evidence,
    parse_filter,
)
from tracker.services.violations import visible

__all__ = ["SORTS", "UNASSIGNED", "QueueFilter", "QueuePage", "QueueRow", "Sort", "assign",
           "count_by_status", "export_csv", "list_queue", "parse_filter"]

MAX_LIMIT = 500
# Rows fetched at a time while exporting: memory stays bounded whatever the queue's length.
EXPORT_BATCH = 1_000


@dataclass(frozen=True)
class Sort:
    """A keyset order: one key, then the violation id to break ties, in one direction."""

    key: ColumnElement[Any]
    descending: bool
    timestamp: bool  # the key is a time (else a count)

    def order_by(self) -> tuple[ColumnElement[Any], ...]:
        if self.descending:
            return self.key.desc(), Violation.id.desc()
        return self.key.asc(), Violation.id.asc()

    def after(self, key: Any, violation_id: int) -> ColumnElement[bool]:
        """The rows that come after the row with this key and id."""
        position = tuple_(literal(key, self.key.type), literal(violation_id))
        row = tuple_(self.key, Violation.id)
        return row < position if self.descending else row > position


_violation = table(Violation).c
SORTS: dict[str, Sort] = {
    "newest": Sort(_violation.opened_at, descending=True, timestamp=True),
    "oldest": Sort(_violation.opened_at, descending=False, timestamp=True),
    # A violation opens with its first scan; opened_at stands in for a missing one, so
    # the key is never NULL (NULLs sort differently per database and break keysets).
    "last_scan": Sort(func.coalesce(_violation.last_scan_at, _violation.opened_at),
                      descending=True, timestamp=True),
    "most_scans": Sort(_violation.scan_count, descending=True, timestamp=False),
}


@dataclass(frozen=True)
class QueueRow:
    id: int
    type: ViolationType
    status: ViolationStatus
    serial: str | None
    gtin: str | None
    batch_id: int | None
    responsible_party: str | None
    expected_territories: list[str]
    found_territory: str | None
    scan_count: int
    opened_at: dt.datetime
    last_scan_at: dt.datetime | None
    updated_at: dt.datetime
    assignee: str | None  # the user name
    near_border: bool  # some evidence scan lay near a border


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None  # for ``after``; None on the last page


_ROW_COLUMNS = (Violation.id, Violation.type, Violation.status, Violation.serial,
                Violation.gtin, Violation.batch_id, Violation.responsible_party,
                Violation.expected_territories, Violation.found_territory,
                Violation.scan_count, Violation.opened_at, Violation.last_scan_at,
                Violation.updated_at)


def _sort(name: str) -> Sort:
    sort = SORTS.get(name)
    if sort is None:
        raise InvalidInput(f"sort: {quoted(name)} is not a sort; use one of: "
                           f"{', '.join(SORTS)}", code="invalid_parameter")
    return sort


def _keys(filters: QueueFilter, sort: Sort, actor: Actor) -> Select[int, Any]:
    """The ids and sort keys of the queue's rows, in order, for the actor."""
    query = (select(Violation.id, sort.key.label("sort_key")).where(*conditions(filters))
             .order_by(*sort.order_by()))
    return visible(query, actor)


def _rows(keys: Select[int, Any], sort: Sort, *, after: tuple[Any, int] | None, limit: int
          ) -> Select[*tuple[Any, ...]]:
    """The rows of one page: picked by id and key first, so the assignee and the
    evidence are looked up for the page's rows only, not for every row sorted."""
    if after is not None:
        keys = keys.where(sort.after(*after))
    page = keys.limit(limit).subquery("page")
    key = page.c.sort_key.desc() if sort.descending else page.c.sort_key.asc()
    tie = page.c.id.desc() if sort.descending else page.c.id.asc()
    return (select(*_ROW_COLUMNS, User.name.label("assignee"),
                   near_border_evidence().label("near_border"), page.c.sort_key)
            .join(page, page.c.id == Violation.id)
            .outerjoin(User, User.id == Violation.assignee_id)
            .order_by(key, tie))


_FIELDS = [field.name for field in dataclasses.fields(QueueRow)]


def _row(row: Row[Any]) -> QueueRow:
    values = row._mapping
    return QueueRow(**{name: values[name] for name in _FIELDS})


# --- cursors: the sort's name and the last row's key and id, url-safe ------------------


def _encode(sort_name: str, key: Any, violation_id: int) -> str:
    value = key.isoformat() if isinstance(key, dt.datetime) else key
    text = json.dumps([sort_name, value, violation_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, sort_name: str, sort: Sort) -> tuple[Any, int]:
    bad = InvalidInput(f"after: {quoted(cursor)} is not a cursor of this queue sorted by "
                       f"{sort_name}; start again from the first page",
                       code="invalid_parameter")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, value, violation_id = json.loads(text)
    except (binascii.Error, ValueError, TypeError):
        raise bad from None
    if name != sort_name or type(violation_id) is not int:
        raise bad
    if sort.timestamp:
        try:
            key = dt.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise bad from None
        if key.tzinfo is None:
            raise bad
        return key, violation_id
    if type(value) is not int:
        raise bad
    return value, violation_id


def list_queue(session: Session, *, filters: QueueFilter, sort: str = "newest",
               after: str | None = None, limit: int = 50, actor: Actor) -> QueuePage:
    """One page of the queue; ``after`` is the previous page's ``next_cursor``."""
    order = _sort(sort)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: {limit} is not between 1 and {MAX_LIMIT}",
                           code="invalid_parameter")
    position = None if after is None else _decode(after, sort, order)
    rows = session.execute(_rows(_keys(filters, order, actor), order, after=position,
                                 limit=limit + 1)).all()
    cursor = _encode(sort, rows[limit - 1].sort_key, rows[limit - 1].id) if len(rows) > limit \
        else None
    return QueuePage([_row(r) for r in rows[:limit]], cursor)


def count_by_status(session: Session, *, filters: QueueFilter, actor: Actor
                    ) -> dict[str, int]:
    """How many violations of each status match the filter without its status condition
    (the counts on the status tabs); every status is present."""
    query = visible(select(Violation.status, func.count()).where(
        *conditions(filters, statuses=False)).group_by(Violation.status), actor)
    counts = {status.value: 0 for status in ViolationStatus}
    for status, count in session.execute(query):
        counts[status.value] = count
    return counts


CSV_COLUMNS = ("id", "type", "status", "serial", "gtin", "batch_id", "responsible_party",
               "expected_territories", "found_territory", "scan_count", "opened_at",
               "last_scan_at", "assignee", "near_border")


def _csv_line(row: QueueRow) -> tuple[Any, ...]:
    def iso(value: dt.datetime | None) -> str:
        return "" if value is None else value.isoformat()

    return (row.id, row.type.value, row.status.value, row.serial, row.gtin, row.batch_id,
            row.responsible_party, " ".join(row.expected_territories), row.found_territory,
            row.scan_count, iso(row.opened_at), iso(row.last_scan_at), row.assignee,
            "true" if row.near_border else "false")


def export_csv(session: Session, *, filters: QueueFilter, sort: str, actor: Actor
               ) -> Iterator[str]:
    """Every row of the queue as CSV text in chunks: the header line, then a chunk per
    ``EXPORT_BATCH`` rows. The checks run at the call; the rows are read as the chunks
    are taken, in the caller's transaction (keep it open while streaming).

    One query, read in batches through a server-side cursor (PostgreSQL) or SQLite's
    own stepping: keyset batches would sort the whole queue again for every batch on
    the sorts no index serves."""
    order = _sort(sort)
    query = (select(*_ROW_COLUMNS, User.name.label("assignee"),
                    near_border_evidence().label("near_border"))
             .outerjoin(User, User.id == Violation.assignee_id)
             .where(*conditions(filters)).order_by(*order.order_by()))
    return _csv_chunks(session, visible(query, actor))


def _csv_chunks(session: Session, query: Select[*tuple[Any, ...]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def taken() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield taken()
    result = session.execute(query.execution_options(yield_per=EXPORT_BATCH))
    for rows in result.partitions():
        writer.writerows(_csv_line(_row(r)) for r in rows)
        yield taken()


def assign(session: Session, violation_ids: Sequence[int], *, assignee: str | None,
           actor: Actor, now: dt.datetime | None = None) -> int:
    """Give the violations to a user to work (None: to nobody), each change audited.
    All or nothing; returns how many violations changed hands."""
    actor.require(Role.COMPLIANCE, action="assign violations")
    user_id: int | None = None
    if assignee is not None:
        person = session.scalar(select(User).where(User.name == assignee))
        if person is None:
            raise NotFound(f"user {quoted(assignee)} does not exist", code="unknown_user")
        if person.role not in (Role.COMPLIANCE, Role.ADMIN) or not person.active:
            raise InvalidInput(f"user {quoted(assignee)} cannot work cases: only active"
                               " compliance officers and administrators can",
                               code="invalid_assignee")
        user_id = person.id
    wanted = list(dict.fromkeys(violation_ids))
    found: dict[int, Violation] = {}
    for part in chunks(wanted):
        found.update((v.id, v) for v in session.scalars(
            select(Violation).where(Violation.id.in_(part))))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(f"no violation with id {', '.join(map(str, missing))}",
                       code="unknown_violation")
    now = now or utcnow()
    note = "unassigned" if assignee is None else f"assigned to {assignee}"
    changed = [found[i] for i in wanted if found[i].assignee_id != user_id]
    for violation in changed:
        violation.assignee_id = user_id
        violation.updated_at = now
        session.add(ViolationAudit(violation_id=violation.id, at=now, actor=actor.name,
                                   action="assign", note=note))
    session.flush()
    if changed:
        audit.record(session, actor=actor, action="violation.assign",
                     subject_type="violations", now=now, detail={
                         "assignee": assignee, "violations": [v.id for v in changed]})
    return len(changed)
