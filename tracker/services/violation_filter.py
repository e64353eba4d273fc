"""Which violations a list shows: the filter read from query words, and its SQL conditions.

One filter for both lists of violations: the compliance queue (``violation_queue``) and
the JSON API's ``GET /violations`` (``violations.list_violations``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, exists, select, true
from sqlalchemy.orm import aliased

from tracker.domain.gs1 import normalise_gtin, quoted
from tracker.errors import InvalidInput
from tracker.models import (
    Scan,
    Territory,
    User,
    Violation,
    ViolationStatus,
    ViolationTerritory,
    ViolationType,
)

UNASSIGNED = "-"  # the assignee word for "nobody works the case"
_YES = {"yes", "true", "1"}
_NO = {"no", "false", "0"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class QueueFilter:
    """Conditions on violations; an empty field sets no condition.

    >>> parse_filter({"status": "open,investigating", "found": "CN-GD"}).to_args()
    {'status': 'open,investigating', 'found': 'CN-GD'}
    """

    types: tuple[ViolationType, ...] = ()
    statuses: tuple[ViolationStatus, ...] = ()
    # A territory code: the violations naming it or any territory below it.
    expected_territory: str | None = None
    found_territory: str | None = None
    party: str | None = None  # responsible_party
    gtin: str | None = None  # GTIN-14
    batch_id: int | None = None
    opened_from: dt.date | None = None  # opened on or after this day (UTC)
    opened_until: dt.date | None = None  # opened on or before this day (UTC)
    # True: some evidence scan was near a border; False: none was.
    near_border: bool | None = None
    assignee: str | None = None  # a user name, or UNASSIGNED

    def to_args(self) -> dict[str, str]:
        """The query words ``parse_filter`` reads back into this filter (links, paging)."""
        words: dict[str, str | None] = {
            "type": ",".join(t.value for t in self.types) or None,
            "status": ",".join(s.value for s in self.statuses) or None,
            "expected": self.expected_territory, "found": self.found_territory,
            "party": self.party, "gtin": self.gtin,
            "batch": None if self.batch_id is None else str(self.batch_id),
            "from": None if self.opened_from is None else self.opened_from.isoformat(),
            "until": None if self.opened_until is None else self.opened_until.isoformat(),
            "near_border": None if self.near_border is None else
            ("yes" if self.near_border else "no"),
            "assignee": self.assignee,
        }
        return {word: value for word, value in words.items() if value is not None}


def _bad(word: str, value: str, what: str) -> InvalidInput:
    return InvalidInput(f"{word}: {quoted(value)} {what}", code="invalid_parameter")


def _values(args: Mapping[str, str | list[str]], word: str) -> list[str]:
    """The non-empty values given for a word: repeated, comma-separated, or both."""
    given = args.get(word)
    if given is None:
        return []
    items = [given] if isinstance(given, str) else list(given)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _single(args: Mapping[str, str | list[str]], word: str) -> str | None:
    given = args.get(word)
    items = [given] if isinstance(given, str) else list(given or [])
    values = [item.strip() for item in items if item.strip()]
    if len(values) > 1:
        raise InvalidInput(f"{word}: give one value, not {len(values)} "
                           f"({', '.join(quoted(v) for v in values)})",
                           code="invalid_parameter")
    return values[0] if values else None


E = TypeVar("E", ViolationType, ViolationStatus)


def _members(args: Mapping[str, str | list[str]], word: str, cls: type[E], what: str
             ) -> tuple[E, ...]:
    members: dict[E, None] = {}
    for value in _values(args, word):
        try:
            members[cls(value)] = None
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise _bad(word, value, f"is not a {what}; use one of: {allowed}") from None
    return tuple(members)


T = TypeVar("T")


def _converted(args: Mapping[str, str | list[str]], word: str,
               convert: Callable[[str], T | None], what: str) -> T | None:
    value = _single(args, word)
    if value is None:
        return None
    try:
        result = convert(value)
    except (ValueError, InvalidInput):
        result = None
    if result is None:
        raise _bad(word, value, what)
    return result


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if _DATE.fullmatch(value) else None


def _positive(value: str) -> int | None:
    number = int(value) if value.isdigit() else 0
    return number if number > 0 else None


def _yes_no(value: str) -> bool | None:
    word = value.lower()
    return True if word in _YES else False if word in _NO else None


def _gtin(value: str) -> str:
    try:
        return normalise_gtin(value)
    except InvalidInput as error:
        raise InvalidInput(f"gtin: {error.message}", code="invalid_parameter") from None


def parse_filter(args: Mapping[str, str | list[str]]) -> QueueFilter:
    """A filter from query words (other words are left to the caller: sort, after...).

    ``type`` and ``status`` take several values, repeated or comma-separated; ``from``
    and ``until`` are days (YYYY-MM-DD, UTC, both included); ``near_border`` is yes or
    no; ``assignee`` is a user name, or ``-`` for cases nobody works.

    >>> parse_filter({"type": ["diverted", "recalled"], "near_border": "yes"})
    QueueFilter(types=(<ViolationType.DIVERTED: 'diverted'>, \
<ViolationType.RECALLED: 'recalled'>), statuses=(), expected_territory=None, \
found_territory=None, party=None, gtin=None, batch_id=None, opened_from=None, \
opened_until=None, near_border=True, assignee=None)
    >>> parse_filter({"from": "2026-13-01"})
    Traceback (most recent call last):
    ...
    tracker.errors.InvalidInput: from: '2026-13-01' is not a date (YYYY-MM-DD)
    """
    gtin = _single(args, "gtin")
    opened_from = _converted(args, "from", _date, "is not a date (YYYY-MM-DD)")
    opened_until = _converted(args, "until", _date, "is not a date (YYYY-MM-DD)")
    if opened_from and opened_until and opened_until < opened_from:
        raise _bad("until", opened_until.isoformat(),
                   f"is before from {quoted(opened_from.isoformat())}")
    return QueueFilter(
        types=_members(args, "type", ViolationType, "violation type"),
        statuses=_members(args, "status", ViolationStatus, "violation status"),
        expected_territory=_single(args, "expected"),
        found_territory=_single(args, "found"),
        party=_single(args, "party"),
        gtin=None if gtin is None else _gtin(gtin),
        batch_id=_converted(args, "batch", _positive, "is not a batch id (a positive number)"),
        opened_from=opened_from,
        opened_until=opened_until,
        near_border=_converted(args, "near_border", _yes_no, "is not yes or no"),
        assignee=_single(args, "assignee"),
    )


# --- SQL ------------------------------------------------------------------------------


def territory_and_descendants(code: str) -> Select[tuple[str]]:
    """The codes of a territory and of every territory below it (by parent links)."""
    top = select(Territory.id, Territory.code).where(Territory.code == code)
    tree = top.cte(recursive=True)
    child = aliased(Territory)
    tree = tree.union_all(select(child.id, child.code).where(child.parent_id == tree.c.id))
    return select(tree.c.code)


def near_border_evidence() -> ColumnElement[bool]:
    """True when a scan that is evidence of the violation lay near a border: a test per
    violation, for the flag of each row shown."""
    return exists().where(Scan.violation_id == Violation.id, Scan.near_border == true())


def _with_near_border_evidence() -> ColumnElement[bool]:
    """The same as a set of violations (IN), for the filter: the near-border evidence is
    read once from its index instead of once per violation (the counts per status of
    100,000 violations: SQLite 182 -> 53 ms, PostgreSQL 486 -> 146 ms)."""
    return Violation.id.in_(select(Scan.violation_id).where(
        Scan.violation_id.is_not(None), Scan.near_border == true()))


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def conditions(filters: QueueFilter, *, statuses: bool = True) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a filter on ``violations`` (without the status condition
    when ``statuses`` is False: for counts per status)."""
    where: list[ColumnElement[bool]] = []
    if filters.types:
        where.append(Violation.type.in_(filters.types))
    if filters.statuses and statuses:
        where.append(Violation.status.in_(filters.statuses))
    if filters.expected_territory is not None:
        where.append(Violation.id.in_(
            select(ViolationTerritory.violation_id).where(ViolationTerritory.territory.in_(
                territory_and_descendants(filters.expected_territory)))))
    if filters.found_territory is not None:
        where.append(Violation.found_territory.in_(
            territory_and_descendants(filters.found_territory)))
    if filters.party is not None:
        where.append(Violation.responsible_party == filters.party)
    if filters.gtin is not None:
        where.append(Violation.gtin == filters.gtin)
    if filters.batch_id is not None:
        where.append(Violation.batch_id == filters.batch_id)
    if filters.opened_from is not None:
        where.append(Violation.opened_at >= _day_start(filters.opened_from))
    if filters.opened_until is not None:
        where.append(Violation.opened_at < _day_start(
            filters.opened_until + dt.timedelta(days=1)))
    if filters.near_border is not None:
        evidence = _with_near_border_evidence()
        where.append(evidence if filters.near_border else ~evidence)
    if filters.assignee == UNASSIGNED:
        where.append(Violation.assignee_id.is_(None))
    elif filters.assignee is not None:
        where.append(Violation.assignee_id == select(User.id).where(
            User.name == filters.assignee).scalar_subquery())
    return where
