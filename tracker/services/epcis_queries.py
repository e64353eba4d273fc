"""EPCIS named queries (GS1's REST binding, ``/queries``): a query definition kept under
a name, its events read like ``GET /events``, and removed with its subscriptions.

Who may: admins create and remove queries; compliance and distributors read them and
run them, a distributor seeing only the events it was party to (the query engine's
visibility filter, tracker.services.epcis_query) — a definition names no party's data,
its results do.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.db import utcnow
from tracker.errors import Conflict, InvalidInput, NotFound
from tracker.models import EpcisQuery, QuerySubscription, Role
from tracker.services import audit, epcis_query
from tracker.services.auth import Actor

MAX_NAME = 200
# A name is a path segment of /queries/{queryName}: nothing a URL would have to escape.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*")
READERS = (Role.COMPLIANCE, Role.DISTRIBUTOR)


@dataclass(frozen=True)
class QueryPage:
    queries: list[EpcisQuery]
    next_cursor: str | None


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidInput("field 'name' must be the query's name (letters, digits, "
                           "'.', '_', '~', '-')", code="invalid_query_name")
    if len(name) > MAX_NAME or not NAME.fullmatch(name):
        raise InvalidInput(f"field 'name' is {name[:MAX_NAME]!r}: a query name is 1 to "
                           f"{MAX_NAME} letters, digits, '.', '_', '~' or '-', starting "
                           "with a letter or digit", code="invalid_query_name")
    return name


def check_query(query: object) -> dict[str, Any]:
    """The parameters as the query engine will read them; a bad one refused by name."""
    if not isinstance(query, dict):
        raise InvalidInput("field 'query' must be an object of EPCIS query parameters "
                           "(e.g. {\"eventType\": [\"ObjectEvent\"]})", code="invalid_field")
    params = {k: v for k, v in query.items() if k != "@context"}
    epcis_query.check_params(params)
    return dict(query)


def parameters(query: EpcisQuery) -> dict[str, object]:
    """The stored query's filter and ordering (its own paging is the caller's)."""
    return {k: v for k, v in query.query.items()
            if k != "@context" and k not in epcis_query.PAGING}


def create_query(session: Session, *, name: object, query: object, actor: Actor,
                 now: dt.datetime | None = None) -> EpcisQuery:
    actor.require(action="create EPCIS queries")
    name, params = check_name(name), check_query(query)
    if session.scalar(select(EpcisQuery.id).where(EpcisQuery.name == name)) is not None:
        raise Conflict(f"a query named {name!r} exists already; choose another name or "
                       "delete it first", code="query_exists")
    found = EpcisQuery(name=name, query=params, created_at=now or utcnow(),
                       created_by=actor.name)
    session.add(found)
    session.flush()
    audit.record(session, actor=actor, action="epcis_query.create", subject_type="epcis_query",
                 subject_id=found.id, now=now, detail={"name": name})
    return found


def cursor(token: str | None) -> int:
    """A list's page token: the id of the last row of the page before."""
    if not token:
        return 0
    if not token.isdigit() or len(token) > 10:
        raise InvalidInput(f"nextPageToken {token[:80]!r} is not one this server gave "
                           "(follow the Link header of the page before)",
                           code="invalid_parameter")
    return int(token)


def list_queries(session: Session, *, actor: Actor, per_page: int = 30,
                 after: str | None = None) -> QueryPage:
    actor.require(*READERS, action="read EPCIS queries")
    rows = list(session.scalars(select(EpcisQuery).where(EpcisQuery.id > cursor(after))
                                .order_by(EpcisQuery.id).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return QueryPage(rows, str(rows[-1].id) if more and rows else None)


def find_query(session: Session, name: str) -> EpcisQuery:
    found = session.scalar(select(EpcisQuery).where(EpcisQuery.name == name))
    if found is None:
        raise NotFound(f"no query named {name!r} (GET /epcis/queries lists them)",
                       code="unknown_query")
    return found


def get_query(session: Session, name: str, *, actor: Actor) -> EpcisQuery:
    actor.require(*READERS, action="read EPCIS queries")
    return find_query(session, name)


def delete_query(session: Session, name: str, *, actor: Actor,
                 now: dt.datetime | None = None) -> None:
    """Remove the query and end every subscription to it (nothing more is pushed)."""
    from tracker.services import epcis_subscriptions  # it reads queries from here

    actor.require(action="delete EPCIS queries")
    found = find_query(session, name)
    for subscription in list(session.scalars(select(QuerySubscription).where(
            QuerySubscription.query_id == found.id).order_by(QuerySubscription.id))):
        epcis_subscriptions.end(session, subscription, actor=actor, now=now)
    session.delete(found)
    session.flush()
    audit.record(session, actor=actor, action="epcis_query.delete", subject_type="epcis_query",
                 subject_id=found.id, now=now, detail={"name": name})


def run_query(session: Session, name: str, *, actor: Actor, per_page: int = 30,
              after: str | None = None) -> epcis_query.Page:
    """One page of the query's events that ``actor`` may read."""
    actor.require(*READERS, action="run EPCIS queries")
    found = find_query(session, name)
    return epcis_query.query_events(session, parameters(found),
                                    actor=actor, per_page=per_page, after=after)
