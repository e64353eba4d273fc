"""The database's own consistency, checked after concurrent work and after a restore:
the current custody state equals a replay of the custody history, no item is moved twice
by one shipment, and the checks of ``tracker db check`` find nothing."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, select

from tracker.db import make_session_factory
from tracker.models import CustodyMove


def moved_twice(engine: Engine) -> list[str]:
    """Items moved twice the same way by one shipment (two receipts of one shipment that
    both applied); [] when none. The replay of custody is ``tracker db check``'s."""
    with make_session_factory(engine)() as session:
        seen = Counter(tuple(row) for row in session.execute(
            select(CustodyMove.key, CustodyMove.kind, CustodyMove.shipment_id)
            .where(CustodyMove.shipment_id.is_not(None))))
    return [f"{key}: {kind} {count} times by shipment {shipment}"
            for (key, kind, shipment), count in sorted(seen.items(), key=str) if count > 1]


def integrity_problems(engine: Engine) -> list[str]:
    """What ``tracker db check`` finds wrong (tracker.services.integrity); [] when it
    passes."""
    from tracker.services import integrity

    with make_session_factory(engine)() as session:
        checks = integrity.check_database(session)
    return [f"{check.name}: {problem}" for check in checks for problem in check.problems]


def consistency_problems(engine: Engine) -> list[str]:
    return moved_twice(engine) + integrity_problems(engine)
