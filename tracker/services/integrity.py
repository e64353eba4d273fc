"""The database's invariants, checked (``tracker db check``): each check reads, changes
nothing, and names what is wrong.

- custody: every item's current state (``custody_states``) equals a replay of its moves
  (``custody_moves``) from its first holder;
- batches: each batch's quantity equals the serials issued in it;
- evidence: each violation's scan count equals the scans linked to it;
- receipts: the reports' rollups equal a recount of the receive moves
  (:func:`tracker.services.custody.recounted_receipts`, as ``recount_receipts`` would
  write them);
- violation territories: the rows of ``violation_territories`` equal the violations'
  JSON lists of expected territories;
- audit: the hash chain of the audit log is intact (:func:`tracker.services.audit.verify`).

Run the checks in one snapshot of the database (a read transaction; on PostgreSQL
REPEATABLE READ) so that a server writing meanwhile does not make them disagree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.db import as_date, chunks, table
from tracker.models import (
    Batch,
    CustodyMove,
    CustodyState,
    ReceiptDay,
    RepeatReceipt,
    Scan,
    Serial,
    Violation,
    ViolationTerritory,
)
from tracker.services import audit, custody

MAX_PROBLEMS = 20  # named per check; the rest are counted
CHUNK = 5_000


@dataclass(frozen=True)
class Check:
    """One invariant: what was checked (a phrase with counts) and what is wrong."""

    name: str
    checked: str
    problems: list[str] = field(default_factory=list)
    more: int = 0  # problems beyond those named

    @property
    def passed(self) -> bool:
        return not self.problems


class _Problems:
    def __init__(self) -> None:
        self.named: list[str] = []
        self.more = 0

    def add(self, problem: str) -> None:
        if len(self.named) < MAX_PROBLEMS:
            self.named.append(problem)
        else:
            self.more += 1

    def check(self, name: str, checked: str) -> Check:
        return Check(name, checked, self.named, self.more)


# --- custody -------------------------------------------------------------------------


@dataclass(frozen=True)
class Custody:
    """What the current state of an item or container records."""

    custodian: str | None
    disposition: str
    shipment_id: int | None
    container: str | None


@dataclass(frozen=True)
class Move:
    kind: str
    from_party: str | None
    to_party: str | None
    shipment_id: int | None
    detail: str | None


def first_custody(first_holder: str | None) -> Custody:
    """Before any move: with the batch's owner (or the container's maker), as issued."""
    return Custody(first_holder, "active", None, None)


def replay(start: Custody, moves: Iterable[Move]) -> Custody:
    """The state the custody services leave after these moves, in the order recorded:
    shipping (``custody.ship``), receiving (``custody.apply_receipt``: only while the
    item is in transit in that shipment), packing and unpacking (a move's detail names
    the container; an unpacking applies to what is in it) and a disposition
    (``dispose``: the detail names it)."""
    state = start
    for move in moves:
        if move.kind == "ship":
            state = replace(state, custodian=move.from_party, disposition=custody.IN_TRANSIT,
                            shipment_id=move.shipment_id)
        elif move.kind == "receive" and state.shipment_id == move.shipment_id:
            state = replace(state, custodian=move.to_party, disposition=custody.IN_PROGRESS,
                            shipment_id=None)
        elif move.kind == "pack":
            state = replace(state, container=move.detail)
        elif move.kind == "unpack" and state.container == move.detail:
            state = replace(state, container=None)
        elif move.kind == "dispose" and move.detail is not None:
            state = replace(state, disposition=move.detail)
    return state


_state, _move = table(CustodyState).c, table(CustodyMove).c
_STATES = (select(_state.key, _state.custodian, _state.disposition, _state.shipment_id,
                  _state.container).order_by(_state.key))
_MOVES_COLUMNS = (_move.key, _move.kind, _move.from_party, _move.to_party, _move.shipment_id,
                  _move.detail)


def _moves_of(session: Session, keys: Sequence[str]) -> dict[str, list[Move]]:
    found: dict[str, list[Move]] = {}
    for key, *fields in session.execute(select(*_MOVES_COLUMNS).where(_move.key.in_(keys))
                                        .order_by(_move.id)):
        found.setdefault(key, []).append(Move(*fields))
    return found


def _first_holders(session: Session, keys: Sequence[str]) -> dict[str, str | None]:
    return {r.key: r.first_holder for r in custody.resolve_keys(session, keys)}


def _compare(problems: _Problems, key: str, stored: Custody | None, moves: list[Move],
             replayed: Custody) -> None:
    if stored is None:
        problems.add(f"custody of {key}: {len(moves)} moves are recorded but no current "
                     "state")
        return
    for name in ("custodian", "disposition", "shipment_id", "container"):
        have, want = getattr(stored, name), getattr(replayed, name)
        if have != want:
            problems.add(f"custody of {key}: the current state says {name} {have!r}, a "
                         f"replay of its {len(moves)} moves gives {want!r}")
            return


def check_custody(session: Session) -> Check:
    problems = _Problems()
    states = moves_seen = 0
    after: str | None = None
    while True:
        query = _STATES.limit(CHUNK)
        if after is not None:
            query = query.where(_state.key > after)
        rows = session.execute(query).all()
        if not rows:
            break
        after = rows[-1][0]
        keys = [row[0] for row in rows]
        moves = _moves_of(session, keys)
        holders = _first_holders(session, keys)
        for key, *fields in rows:
            of_key = moves.get(key, [])
            _compare(problems, key, Custody(*fields), of_key,
                     replay(first_custody(holders.get(key)), of_key))
            moves_seen += len(of_key)
        states += len(rows)
    # Moves of keys that have no current state at all.
    stateless = list(session.scalars(
        select(_move.key).where(~select(_state.key).where(_state.key == _move.key).exists())
        .distinct()))
    for part in chunks(stateless):
        for key, of_key in _moves_of(session, part).items():
            _compare(problems, key, None, of_key, first_custody(None))
            moves_seen += len(of_key)
    return problems.check("custody", f"{states:,} current states agree with a replay of "
                                     f"{moves_seen:,} moves")


# --- batches and evidence ------------------------------------------------------------


def _counted(session: Session, parent_id: Any, stored: Any, reference: Any,
             *where: Any) -> tuple[list[Any], list[Any]]:
    """Each parent's stored count beside the rows that refer to it (``reference``, with
    ``where``): (id, stored, counted) in id order; and the referred ids that are no
    parent, with their rows' count."""
    counted = (select(reference.label("parent"), func.count().label("n")).where(*where)
               .group_by(reference).subquery())
    rows = session.execute(
        select(parent_id, stored, func.coalesce(counted.c.n, 0))
        .outerjoin(counted, counted.c.parent == parent_id).order_by(parent_id)).all()
    orphans = session.execute(select(counted.c.parent, counted.c.n).where(
        ~select(parent_id).where(parent_id == counted.c.parent).exists())).all()
    return list(rows), list(orphans)


def check_batches(session: Session) -> Check:
    problems = _Problems()
    rows, orphans = _counted(session, Batch.id, Batch.quantity, table(Serial).c.batch_id)
    for batch_id, quantity, count in rows:
        if count != quantity:
            problems.add(f"batch {batch_id} says {quantity:,} serials but {count:,} are "
                         "issued in it")
    for batch_id, count in orphans:
        problems.add(f"{count:,} serials belong to batch {batch_id}, which does not exist")
    total = sum(count for _id, _quantity, count in rows)
    return problems.check("batches", f"{len(rows):,} batches hold their {total:,} serials")


def check_evidence(session: Session) -> Check:
    problems = _Problems()
    link = table(Scan).c.violation_id
    rows, orphans = _counted(session, Violation.id, Violation.scan_count, link,
                             link.is_not(None))
    for violation_id, scan_count, count in rows:
        if count != scan_count:
            problems.add(f"violation {violation_id} counts {scan_count:,} scans but "
                         f"{count:,} scans are its evidence")
    for violation_id, count in orphans:
        problems.add(f"{count:,} scans are evidence of violation {violation_id}, which does "
                     "not exist")
    total = sum(count for _id, _stored, count in rows)
    return problems.check("evidence", f"{len(rows):,} violations count their {total:,} "
                                      "evidence scans")



# --- receipt rollups -----------------------------------------------------------------


def _moment(value: Any) -> dt.datetime:
    """A timestamp read from a computed column (SQLite gives its text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def check_receipts(session: Session) -> Check:
    problems = _Problems()
    days, repeats = custody.recounted_receipts(session.get_bind().dialect.name)
    counted = {(party, as_date(day)): n for party, day, n in session.execute(days)}
    stored = {(party, day): n for party, day, n in session.execute(
        select(ReceiptDay.party_id, ReceiptDay.day, ReceiptDay.receipts))}
    for party, day in sorted(counted.keys() | stored.keys()):
        have, want = stored.get((party, day), 0), counted.get((party, day), 0)
        if have != want:
            problems.add(f"receipts of {party} on {day}: the rollup says {have:,}, the "
                         f"receive moves give {want:,}")
    recounted: Counter[tuple[Any, ...]] = Counter(
        (party, key, _moment(at), _moment(previous))
                        for party, key, at, previous in session.execute(repeats))
    kept: Counter[tuple[Any, ...]] = Counter(tuple(row) for row in session.execute(select(
        RepeatReceipt.party_id, RepeatReceipt.key, RepeatReceipt.at, RepeatReceipt.previous_at)))
    for (party, key, at, previous), n in sorted((kept - recounted).items()):
        problems.add(f"repeat receipt of {key} by {party} at {at.isoformat()} (previous "
                     f"{previous.isoformat()}) is in the rollup {n} time(s) too many")
    for (party, key, at, previous), n in sorted((recounted - kept).items()):
        problems.add(f"repeat receipt of {key} by {party} at {at.isoformat()} (previous "
                     f"{previous.isoformat()}) is missing from the rollup ({n})")
    return problems.check("receipts", f"{len(stored):,} daily receipt counts and "
                                      f"{sum(kept.values()):,} repeat receipts agree with "
                                      "the receive moves")


# --- violation territories -----------------------------------------------------------


def check_violation_territories(session: Session) -> Check:
    problems = _Problems()
    violations = rows = 0
    after = 0
    while True:
        listed = session.execute(select(Violation.id, Violation.expected_territories)
                                 .where(Violation.id > after).order_by(Violation.id)
                                 .limit(CHUNK)).all()
        if not listed:
            break
        after = listed[-1][0]
        kept: dict[int, set[str]] = {}
        for violation_id, territory in session.execute(
                select(ViolationTerritory.violation_id, ViolationTerritory.territory)
                .where(ViolationTerritory.violation_id.in_([v for v, _ in listed]))):
            kept.setdefault(violation_id, set()).add(territory)
            rows += 1
        for violation_id, expected in listed:
            want, have = set(expected or ()), kept.get(violation_id, set())
            if want != have:
                problems.add(f"violation {violation_id} expects {sorted(want)} but "
                             f"violation_territories lists {sorted(have)}")
        violations += len(listed)
    return problems.check("violation territories",
                          f"{rows:,} rows agree with the lists of {violations:,} violations")


# --- all of them ---------------------------------------------------------------------


def check_audit(session: Session) -> Check:
    report = audit.verify(session)
    problems = _Problems()
    if report.problem is not None:
        problems.add(report.problem)
    return problems.check("audit", f"{report.entries:,} audit entries are chained intact")


CHECKS: tuple[Callable[[Session], Check], ...] = (
    check_custody, check_batches, check_evidence, check_receipts,
    check_violation_territories, check_audit)


def check_database(session: Session) -> list[Check]:
    """Every invariant, in order; a check's ``problems`` name what is wrong."""
    return [check(session) for check in CHECKS]
