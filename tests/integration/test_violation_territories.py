"""The database keeps each violation's expected territories as rows (triggers of
migration 0006), whichever way the violation is stored or changed."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from tracker.models import Violation, ViolationTerritory, ViolationType


def rows(session) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return sorted((v, t) for v, t in session.execute(
        select(ViolationTerritory.violation_id, ViolationTerritory.territory)))


def test_rows_follow_the_list_on_insert_change_and_delete(session):
    session.add(Violation(id=1, key="k1", type=ViolationType.DIVERTED,
                          expected_territories=["A", "B", "A"]))  # a code twice: one row
    session.execute(insert(Violation), [{"id": 2, "key": "k2", "type": ViolationType.RECALLED,
                                         "expected_territories": []}])
    session.flush()
    assert rows(session) == [(1, "A"), (1, "B")]

    session.execute(update(Violation).where(Violation.id == 1)
                    .values(expected_territories=["C"]))
    session.execute(update(Violation).where(Violation.id == 2)
                    .values(expected_territories=["D", "E"]))
    assert rows(session) == [(1, "C"), (2, "D"), (2, "E")]

    session.execute(delete(Violation).where(Violation.id == 2))
    assert rows(session) == [(1, "C")]


def test_extending_a_violation_leaves_its_rows_alone(session):
    session.add(Violation(id=1, key="k1", type=ViolationType.DIVERTED,
                          expected_territories=["A"]))
    session.flush()
    session.execute(update(Violation).where(Violation.id == 1)
                    .values(scan_count=Violation.scan_count + 1))
    assert rows(session) == [(1, "A")]
