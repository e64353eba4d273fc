"""What needs a compliance team's attention today: open violations by type and territory,
the newest ones, what changed since the user's last visit, and the last 30 days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tracker.db import as_date, utc_day, utcnow
from tracker.models import (
    CLOSED_STATUSES,
    Role,
    User,
    Violation,
    ViolationAudit,
    ViolationType,
)
from tracker.services.auth import Actor

TREND_DAYS = 30
NEWEST = 10
TERRITORIES = 10


@dataclass(frozen=True)
class Attention:
    open_by_type: dict[str, int]
    # (found territory or None, open violations), most first.
    open_by_territory: list[tuple[str | None, int]]
    newest: list[Violation]
    # Since the user's previous visit (None: first visit, nothing to compare with).
    since: dt.datetime | None
    opened_since: int
    reviewed_since: int
    # Violations opened per day (UTC), oldest first, TREND_DAYS days ending today.
    trend: list[tuple[dt.date, int]]


def attention(session: Session, *, actor: Actor, since: dt.datetime | None,
              now: dt.datetime | None = None) -> Attention:
    actor.require(Role.COMPLIANCE, action="see the compliance overview")
    now = now or utcnow()
    still_open = Violation.status.not_in(CLOSED_STATUSES)
    by_type = dict(session.execute(
        select(Violation.type, func.count()).where(still_open).group_by(Violation.type)).all())
    by_territory = session.execute(
        select(Violation.found_territory, func.count().label("n")).where(still_open)
        .group_by(Violation.found_territory).order_by(func.count().desc(),
                                                      Violation.found_territory)
        .limit(TERRITORIES)).all()
    newest = list(session.scalars(select(Violation).where(still_open)
                                  .order_by(Violation.opened_at.desc(), Violation.id.desc())
                                  .limit(NEWEST)))
    opened_since = reviewed_since = 0
    if since is not None:
        opened_since = session.scalar(select(func.count()).select_from(Violation).where(
            Violation.opened_at > since)) or 0
        reviewed_since = session.scalar(select(func.count(func.distinct(
            ViolationAudit.violation_id))).where(ViolationAudit.at > since,
                                                 ViolationAudit.action == "status")) or 0
    first_day = now.date() - dt.timedelta(days=TREND_DAYS - 1)
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC)
    day = utc_day(session.get_bind().dialect.name, Violation.opened_at)
    per_day = {as_date(d): n for d, n in session.execute(
        select(day, func.count()).where(Violation.opened_at >= start).group_by(day)).all()}
    trend = [(first_day + dt.timedelta(days=i), per_day.get(first_day + dt.timedelta(days=i), 0))
             for i in range(TREND_DAYS)]
    return Attention(
        open_by_type={t.value: by_type.get(t, 0) for t in ViolationType},
        open_by_territory=[(code, n) for code, n in by_territory],
        newest=newest, since=since, opened_since=opened_since, reviewed_since=reviewed_since,
        trend=trend)


def note_visit(session: Session, *, actor: Actor, now: dt.datetime | None = None
               ) -> dt.datetime | None:
    """Record that the user looked now; the time of their previous look."""
    if actor.user_id is None:
        return None
    user = session.get(User, actor.user_id)
    if user is None:
        return None
    previous = user.last_visit_at
    user.last_visit_at = now or utcnow()
    session.flush()
    return previous
