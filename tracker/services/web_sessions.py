"""Browser sessions kept on the server: the cookie carries a random id, the database its
SHA-256, the session's data and when it was last used. A session idle for longer than the
idle limit is gone; signing out deletes it; signing in starts a new one (a session id
known before sign-in is worth nothing after it)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tracker.db import utcnow
from tracker.models import WebSession

# A session's last use is written at most this often: most page views then write nothing.
TOUCH_EVERY = dt.timedelta(minutes=1)


def new_id() -> str:
    return secrets.token_urlsafe(32)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def load(session: Session, session_id: str) -> WebSession | None:
    """The session with this id, live or idle (``is_idle`` tells); None when unknown."""
    return session.get(WebSession, _hash(session_id))


def is_idle(row: WebSession, *, idle: dt.timedelta, now: dt.datetime | None = None) -> bool:
    """Unused for longer than ``idle``: the session is over."""
    return row.last_seen_at < (now or utcnow()) - idle


def needs_touch(row: WebSession, *, now: dt.datetime | None = None) -> bool:
    """Its last use is older than ``TOUCH_EVERY``: worth writing down again."""
    return row.last_seen_at < (now or utcnow()) - TOUCH_EVERY


def save(session: Session, session_id: str, *, data: dict[str, Any], user_id: int | None,
         now: dt.datetime | None = None) -> None:
    """Create or replace the session's data, and note its use."""
    now = now or utcnow()
    row = session.get(WebSession, _hash(session_id))
    if row is None:
        session.add(WebSession(id_hash=_hash(session_id), user_id=user_id, data=data,
                               created_at=now, last_seen_at=now))
    else:
        row.data, row.user_id, row.last_seen_at = data, user_id, now
    session.flush()


def touch(session: Session, session_id: str, *, now: dt.datetime | None = None) -> None:
    """Note a use of an unchanged session."""
    row = session.get(WebSession, _hash(session_id))
    if row is not None:
        row.last_seen_at = now or utcnow()
        session.flush()


def end(session: Session, session_id: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == _hash(session_id)))


def end_idle(session: Session, *, idle: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Delete every session idle for longer than ``idle``; how many there were."""
    cutoff = (now or utcnow()) - idle
    stale = list(session.scalars(select(WebSession.id_hash).where(
        WebSession.last_seen_at < cutoff)))
    if stale:
        session.execute(delete(WebSession).where(WebSession.id_hash.in_(stale)))
    return len(stale)
