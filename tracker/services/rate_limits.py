"""Requests counted per client and limit in the database, so every server process counts
the same requests: the public page of a code today; signing in and token creation reuse
it (contract, "HTTP API": rate-limited per client and per user, 429 with Retry-After).

A limit is ``count`` requests per ``seconds``, counted in fixed windows of that length.
A *sliding* limit (the default) also weighs the window before by how much of it still
overlaps the last ``seconds`` (the "sliding window counter"): a client cannot send twice
the limit around a window's edge. Every request counts, refused ones too: a client that
keeps hammering stays refused.

>>> Limit.parse("30/minute")
Limit(count=30, seconds=60.0, sliding=True)
>>> Limit(5, 60, sliding=False).wait(count=6, previous=0, elapsed=15.0)
45.0
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, case, delete
from sqlalchemy.orm import Session

from tracker.db import (
    DirectConnection,
    Prepared,
    dialect_insert,
    direct_connection,
    table,
    utcnow,
    write_transaction,
)
from tracker.errors import InvalidInput
from tracker.models import RateLimitWindow

__all__ = ["Decision", "Limit", "hit", "prune"]

_UNITS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
_LIMIT = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*", re.IGNORECASE)
# One request in this many clears away rows no limit needs any more.
PRUNE_ONE_IN = 1000

_window = table(RateLimitWindow).c


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: float
    sliding: bool = True

    def __post_init__(self) -> None:
        if self.count < 1 or not self.seconds > 0:
            raise InvalidInput(f"a rate limit needs at least 1 request per a positive time, "
                               f"not {self.count} per {self.seconds} s", code="invalid_limit")

    @classmethod
    def parse(cls, text: str, *, sliding: bool = True) -> Limit:
        """``"30/minute"``, ``"5/second"``, ``"100/10 minutes"``, ``"1000/hour"``."""
        match = _LIMIT.fullmatch(text)
        if match is None:
            raise InvalidInput(f"rate limit {text!r} must look like 30/minute, 5/second, "
                               "100/10 minutes or 1000/hour", code="invalid_limit")
        count, times, unit = match.groups()
        return cls(int(count), (int(times) if times else 1) * _UNITS[unit.lower()], sliding)

    def weighed(self, count: int, previous: int, elapsed: float) -> float:
        """The requests counted against the limit ``elapsed`` seconds into a window."""
        if not self.sliding:
            return float(count)
        return previous * max(0.0, 1.0 - elapsed / self.seconds) + count

    def wait(self, *, count: int, previous: int, elapsed: float) -> float:
        """Seconds until one more request would be allowed (0: now), with ``count``
        requests in the window so far, ``previous`` in the window before, ``elapsed``
        seconds into the window."""
        s = self.seconds
        if self.weighed(count + 1, previous, elapsed) <= self.count:
            return 0.0
        if self.sliding and previous and count + 1 <= self.count:
            # Later in this window, the window before weighs less.
            at = s * (1.0 - (self.count - count - 1) / previous)
            if at < s:
                return max(at - elapsed, 0.0)
        if not self.sliding or count + 1 <= self.count:
            return s - elapsed  # the next window starts empty (or weighs too little)
        # In the next window this one becomes the window before, weighing less and less.
        at = s * (1.0 - (self.count - 1) / count)
        return s - elapsed + at


@dataclass(frozen=True)
class Decision:
    """Whether the request may go on; when not, whole seconds to wait (``Retry-After``)."""

    allowed: bool
    retry_after: int
    remaining: int


def _upsert(dialect: str) -> object:
    statement = dialect_insert(dialect)(table(RateLimitWindow))
    same = _window.window_start == statement.excluded.window_start
    # Windows start at multiples of their length, so a row that has not expired by the
    # new window's start is of the window just before it.
    follows = _window.expires_at > statement.excluded.window_start
    # Every expression reads the row as it was before the update.
    return statement.on_conflict_do_update(
        index_elements=[_window.key],
        set_={"count": case((same, _window.count + 1), else_=1),
              "previous": case((same, _window.previous), (follows, _window.count), else_=0),
              "window_start": statement.excluded.window_start,
              "expires_at": statement.excluded.expires_at},
    ).returning(_window.count, _window.previous)


_HIT = Prepared(_upsert, columns=("key", "window_start", "count", "previous", "expires_at"))
_PRUNE = Prepared(delete(table(RateLimitWindow)).where(
    _window.expires_at < bindparam("now")))


def hit(db: Session | DirectConnection, key: str, limit: Limit, *,
        now: dt.datetime | None = None) -> Decision:
    """Count one request of ``key`` (the limit's name and the client, e.g.
    ``"public:203.0.113.7"``) and say whether it is within ``limit``. One statement,
    atomic under concurrent requests; it writes, so the caller runs it in a write
    transaction (``write_transaction``)."""
    direct = db if isinstance(db, DirectConnection) else DirectConnection.of(db)
    now = now or utcnow()
    epoch = now.timestamp()
    start = math.floor(epoch / limit.seconds) * limit.seconds
    window_start = dt.datetime.fromtimestamp(start, dt.UTC)
    count, previous = direct.rows(_HIT, {
        "key": key, "window_start": window_start, "count": 1, "previous": 0,
        "expires_at": dt.datetime.fromtimestamp(start + 2 * limit.seconds, dt.UTC)})[0]
    if random.random() * PRUNE_ONE_IN < 1:
        prune(direct, now=now)
    elapsed = epoch - start
    weighed = limit.weighed(count, previous, elapsed)
    if weighed <= limit.count:
        return Decision(True, 0, max(0, math.floor(limit.count - weighed)))
    wait = limit.wait(count=count, previous=previous, elapsed=elapsed)
    return Decision(False, max(1, math.ceil(wait)), 0)


def count(session: Session, counted: Sequence[tuple[str, Limit]], *,
          now: dt.datetime | None = None) -> list[Decision]:
    """``hit`` for each (key, limit), in one transaction of their own beside the
    caller's: a count stands whatever becomes of the request (a refused sign-in is
    counted all the same)."""
    with direct_connection(session.get_bind().engine) as db, write_transaction(db):
        return [hit(db, key, limit, now=now) for key, limit in counted]


def prune(db: Session | DirectConnection, *, now: dt.datetime | None = None) -> None:
    """Clear away the counts no limit needs any more (two windows old)."""
    direct = db if isinstance(db, DirectConnection) else DirectConnection.of(db)
    direct.run(_PRUNE, {"now": now or utcnow()})
