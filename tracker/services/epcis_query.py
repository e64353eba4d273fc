"""EPCIS queries: the standard query parameters (EPCIS 2.0 section 8.2.7.1, as GS1's
REST binding lists them) turned into one SQL query over the event store, pages through
its answer, and the ``EPCISQueryDocument`` that carries a page.

Every parameter GS1's binding lists is answered; what the repository does not hold is
said rather than guessed: ``WD_readPoint`` / ``WD_bizLocation`` match the location itself
(no location hierarchy is held as master data); ``MATCH_`` parameters take whole
identifiers and the pure-identity patterns of items and containers
(``urn:epc:idpat:sgtin:CP.IR.*``, ``urn:epc:idpat:sscc:CP.*``). Values arrive as the URL
writes them (``a|b`` for alternatives) or as a query definition holds them (lists,
numbers, booleans); a parameter this module does not know, or a value of the wrong kind,
is refused naming it.

Pages run in a stable order — storage order, or ``orderBy`` ``eventTime`` /
``recordTime`` with the event's id breaking ties — from an opaque cursor that holds the
last key served (and, under ``eventCountLimit``, how many were served), so a page is an
indexed range read however deep it is.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from tracker.domain.codes import epc_key
from tracker.domain.epcis import measurement_type, normalise_cbv, parse_time, pattern_like
from tracker.errors import InvalidInput, NotFound, PermissionDenied, TooLarge
from tracker.models import CustodyMove, Event, EventEPC, EventField, ReleasedPageToken, Role
from tracker.services.auth import Actor

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
INVALID = "invalid_parameter"
UNSUPPORTED = "unsupported_parameter"
PAGING = ("perPage", "nextPageToken")
ORDERING = ("orderBy", "orderDirection", "eventCountLimit", "maxEventCount")
ORDER_FIELDS = {"eventTime": Event.event_time, "recordTime": Event.record_time}

Condition = ColumnElement[bool]


def _values(name: str, raw: object) -> list[str]:
    """Alternatives: ``a|b`` in a URL, a list in a query definition."""
    if isinstance(raw, str):
        values = [v for v in raw.split("|") if v]
    elif isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        values = [v for v in raw if v]
    else:
        raise InvalidInput(f"query parameter '{name}' must be a list of strings (in a URL "
                           f"separated by '|'), not {raw!r}", code=INVALID)
    if not values:
        raise InvalidInput(f"query parameter '{name}' needs at least one value", code=INVALID)
    return values


def _time(name: str, raw: object) -> dt.datetime:
    moment = parse_time(raw) if isinstance(raw, str) else None
    if moment is None:
        raise InvalidInput(f"query parameter '{name}' must be an ISO 8601 time, not {raw!r}",
                           code=INVALID)
    return moment


def _number(name: str, raw: object) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    try:
        if isinstance(raw, str):
            number = float(raw)
            if number == number and abs(number) != float("inf"):
                return number
    except ValueError:
        pass
    raise InvalidInput(f"query parameter '{name}' must be a number, not {raw!r}", code=INVALID)


def _integer(name: str, raw: object) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    elif isinstance(raw, str) and raw.strip().lstrip("+").isdigit():
        number = int(raw)
    else:
        raise InvalidInput(f"query parameter '{name}' must be a whole number, not {raw!r}",
                           code=INVALID)
    if not 0 <= number <= 2**31 - 1:
        raise InvalidInput(f"query parameter '{name}' must be between 0 and 2147483647, "
                           f"not {number}", code=INVALID)
    return number


def _boolean(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false", ""):
        return raw.lower() != "false"  # present without a value: true
    raise InvalidInput(f"query parameter '{name}' must be true or false, not {raw!r}",
                       code=INVALID)


# --- the parameters -------------------------------------------------------------------

def _in(column: Any, normalise: Callable[[str], str] = str) -> Callable[[str, object], Condition]:
    return lambda name, raw: column.in_([normalise(v) for v in _values(name, raw)])


_OPS: dict[str, Callable[[Any, Any], Condition]] = {
    "GE": lambda c, v: c >= v, "GT": lambda c, v: c > v, "LT": lambda c, v: c < v,
    "LE": lambda c, v: c <= v, "EQ": lambda c, v: c == v}


def _compare(column: Any, op: str, read: Callable[[str, object], Any]
             ) -> Callable[[str, object], Condition]:
    return lambda name, raw: _OPS[op](column, read(name, raw))


def _with_field(field: str, condition: Callable[[Any], Condition]) -> Condition:
    return Event.id.in_(select(EventField.event_pk).where(EventField.name == field,
                                                          condition(EventField)))


def _field_in(field: str, normalise: Callable[[str], str] = str
              ) -> Callable[[str, object], Condition]:
    return lambda name, raw: _with_field(field, lambda f: f.value.in_(
        [normalise(v) for v in _values(name, raw)]))


def _field_compare(field: str, column: str, op: str, read: Callable[[str, object], Any]
                   ) -> Callable[[str, object], Condition]:
    def condition(name: str, raw: object) -> Condition:
        value = read(name, raw)
        return _with_field(field, lambda f: _OPS[op](getattr(f, column), value))
    return condition


def _like(column: Any, pattern: str) -> Condition:
    """``LIKE pattern``, as an index range when the pattern is a plain prefix."""
    prefix = pattern[:-1]
    if pattern.endswith("%") and "%" not in prefix and "_" not in prefix:
        return (column >= prefix) & (column < prefix[:-1] + chr(ord(prefix[-1]) + 1))
    return column.like(pattern)


def _matching(*roles: str) -> Callable[[str, object], Condition]:
    """Identifiers, whole or as pure-identity patterns (``urn:epc:idpat:sgtin:CP.IR.*``)."""
    def condition(name: str, raw: object) -> Condition:
        values = _values(name, raw)
        # A pattern also matches itself: a class of items is written as one (epcClass).
        patterns = [like for like in map(pattern_like, values) if like is not None]
        which = or_(EventEPC.key.in_([epc_key(v) for v in values]),
                    *(_like(EventEPC.key, like) for like in patterns))
        return Event.id.in_(select(EventEPC.event_pk).where(which, EventEPC.role.in_(roles)))
    return condition


def _error_declared(name: str, raw: object) -> Condition | None:
    if not _boolean(name, raw):
        return None  # false: events with or without one
    return _with_field("errorDeclaration", lambda f: f.value == "")


def _boolean_value(name: str, raw: object) -> Condition:
    wanted = "true" if _boolean(name, raw) else "false"
    return _with_field("booleanValue", lambda f: f.value == wanted)


def _cbv(vocabulary: str) -> Callable[[str], str]:
    return lambda value: normalise_cbv(value, vocabulary)


PARAMETERS: dict[str, Callable[[str, object], Condition | None]] = {
    "eventType": _in(Event.event_type),
    "GE_eventTime": _compare(Event.event_time, "GE", _time),
    "LT_eventTime": _compare(Event.event_time, "LT", _time),
    "GE_recordTime": _compare(Event.record_time, "GE", _time),
    "LT_recordTime": _compare(Event.record_time, "LT", _time),
    "EQ_action": _in(Event.action, str.upper),
    "EQ_bizStep": _in(Event.biz_step, _cbv("bizStep")),
    "EQ_disposition": _in(Event.disposition, _cbv("disposition")),
    "EQ_persistentDisposition_set": _field_in("pd_set", _cbv("disposition")),
    "EQ_persistentDisposition_unset": _field_in("pd_unset", _cbv("disposition")),
    "EQ_readPoint": _in(Event.read_point),
    "WD_readPoint": _in(Event.read_point),
    "EQ_bizLocation": _in(Event.biz_location),
    "WD_bizLocation": _in(Event.biz_location),
    "EQ_transformationID": _field_in("transformationID"),
    "MATCH_epc": _matching("epc", "child"),
    "MATCH_parentID": _matching("parent"),
    "MATCH_inputEPC": _matching("input"),
    "MATCH_outputEPC": _matching("output"),
    "MATCH_anyEPC": _matching("epc", "child", "parent", "input", "output"),
    "MATCH_epcClass": _matching("quantity"),
    "MATCH_inputEPCClass": _matching("in_class"),
    "MATCH_outputEPCClass": _matching("out_class"),
    "MATCH_anyEPCClass": _matching("quantity", "in_class", "out_class"),
    "EQ_quantity": _field_compare("quantity", "number", "EQ", _number),
    "GT_quantity": _field_compare("quantity", "number", "GT", _number),
    "GE_quantity": _field_compare("quantity", "number", "GE", _number),
    "LT_quantity": _field_compare("quantity", "number", "LT", _number),
    "LE_quantity": _field_compare("quantity", "number", "LE", _number),
    "EQ_eventID": _in(Event.event_id),
    "EXISTS_errorDeclaration": _error_declared,
    "GE_errorDeclarationTime": _field_compare("errorDeclarationTime", "moment", "GE", _time),
    "LT_errorDeclarationTime": _field_compare("errorDeclarationTime", "moment", "LT", _time),
    "EQ_errorReason": _field_in("errorReason", _cbv("er")),
    "EQ_correctiveEventID": _field_in("correctiveEventID"),
    "GE_startTime": _field_compare("startTime", "moment", "GE", _time),
    "LT_startTime": _field_compare("startTime", "moment", "LT", _time),
    "GE_endTime": _field_compare("endTime", "moment", "GE", _time),
    "LT_endTime": _field_compare("endTime", "moment", "LT", _time),
    "EQ_type": _field_in("type", measurement_type),
    "EQ_deviceID": _field_in("deviceID"),
    "EQ_dataProcessingMethod": _field_in("dataProcessingMethod"),
    "EQ_microorganism": _field_in("microorganism"),
    "EQ_chemicalSubstance": _field_in("chemicalSubstance"),
    "EQ_bizRules": _field_in("bizRules"),
    "EQ_stringValue": _field_in("stringValue"),
    "EQ_hexBinaryValue": _field_in("hexBinaryValue", str.upper),
    "EQ_uriValue": _field_in("uriValue"),
    "EQ_booleanValue": _boolean_value,
}
SUPPORTED = (*PARAMETERS, *ORDERING, *PAGING)


@dataclass(frozen=True)
class Ordering:
    """How the answer runs: by storage order, or by ``field`` in ``direction``; at most
    ``limit`` events in all (``eventCountLimit``), or refused above ``most``
    (``maxEventCount``)."""

    field: str | None = None
    descending: bool = True
    limit: int | None = None
    most: int | None = None


def _ordering(params: Mapping[str, object]) -> Ordering:
    field = params.get("orderBy")
    if field is not None and field not in ORDER_FIELDS:
        raise InvalidInput(f"query parameter 'orderBy' must be eventTime or recordTime (no "
                           f"extension field is ordered on here), not {field!r}", code=INVALID)
    direction = params.get("orderDirection", "DESC")
    if direction not in ("ASC", "DESC"):
        raise InvalidInput(f"query parameter 'orderDirection' must be ASC or DESC, not "
                           f"{direction!r}", code=INVALID)
    limit = (_integer("eventCountLimit", params["eventCountLimit"])
             if "eventCountLimit" in params else None)
    most = (_integer("maxEventCount", params["maxEventCount"])
            if "maxEventCount" in params else None)
    if limit is not None and most is not None:
        raise InvalidInput("query parameters 'eventCountLimit' and 'maxEventCount' cannot "
                           "be used together", code=INVALID)
    if limit is not None and field is None:
        raise InvalidInput("query parameter 'eventCountLimit' needs 'orderBy' (it keeps the "
                           "first events in that order)", code=INVALID)
    return Ordering(field=field if isinstance(field, str) else None,
                    descending=direction == "DESC", limit=limit, most=most)


def check_params(params: Mapping[str, object]) -> None:
    """Refuse an unknown parameter or a value of the wrong kind, naming it."""
    conditions(params)
    _ordering(params)


def conditions(params: Mapping[str, object]) -> list[Condition]:
    found: list[Condition] = []
    for name, raw in params.items():
        if name in ORDERING or name in PAGING:
            continue
        handler = PARAMETERS.get(name)
        if handler is None:
            raise InvalidInput(f"query parameter '{name}' is not supported; supported: "
                               f"{', '.join(SUPPORTED)}", code=UNSUPPORTED)
        condition = handler(name, raw)
        if condition is not None:
            found.append(condition)
    return found


def visible_event_ids(actor: Actor, *, action: str) -> Select[Any] | None:
    """The ids of the events ``actor`` may read, or None for every one: compliance and
    admin read all; a distributor those that moved goods from or to its party; others
    none (refused)."""
    if actor.role is not Role.DISTRIBUTOR:
        actor.require(Role.COMPLIANCE, action=action)
        return None
    return select(CustodyMove.event_pk).where(
        (CustodyMove.from_party == actor.party_id) | (CustodyMove.to_party == actor.party_id))


def visible_events(query: Select[Any], actor: Actor, *, action: str) -> Select[Any]:
    """The query limited to the events the actor may read (``visible_event_ids``)."""
    ids = visible_event_ids(actor, action=action)
    return query if ids is None else query.where(Event.id.in_(ids))


def select_events(params: Mapping[str, object], *, actor: Actor,
                  action: str = "query EPCIS events") -> Select[Any]:
    """The events matching ``params`` that ``actor`` may read (no order, no paging)."""
    query: Select[Any] = visible_events(select(Event), actor, action=action)
    for condition in conditions(params):
        query = query.where(condition)
    return query


def get_event(session: Session, event_id: str, *, actor: Actor) -> Event:
    actor.require(Role.COMPLIANCE, Role.DISTRIBUTOR, action="read EPCIS events")
    by_id = select(Event).where((Event.event_id == event_id) | (Event.event_hash == event_id))
    event = session.scalar(by_id.limit(1))
    if event is None:
        raise NotFound(f"no event with eventID {event_id!r}", code="unknown_event")
    if actor.role is Role.DISTRIBUTOR:
        event = session.scalar(visible_events(by_id, actor, action="read EPCIS events")
                               .limit(1))
        if event is None:
            raise PermissionDenied(f"event {event_id!r} moved no goods from or to party "
                                   f"'{actor.party_id}'")
    return event


# --- pages ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    events: list[Event]
    next_cursor: str | None  # the nextPageToken of the page after, if there is one


def _encode(cursor: dict[str, Any]) -> str:
    raw = json.dumps(cursor, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    try:
        cursor = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if isinstance(cursor, dict) and isinstance(cursor.get("id"), int):
            return cursor
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput(f"nextPageToken {token[:80]!r} is not one this server gave (follow "
                       "the Link header of the page before)", code=INVALID)


def query_events(session: Session, params: Mapping[str, object], *, actor: Actor,
                 per_page: int = 30, after: str | None = None) -> Page:
    """One page of the events matching ``params``, from the page token ``after``."""
    order = _ordering(params)
    query = select_events(params, actor=actor)
    cursor = _decode(after) if after else None
    served = int(cursor.get("n", 0)) if cursor else 0
    if order.most is not None and cursor is None:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        if total > order.most:
            raise TooLarge(f"the query matches {total} events, more than maxEventCount "
                           f"{order.most}", code="query_too_large")
    size = per_page if order.limit is None else min(per_page, order.limit - served)
    if size <= 0:
        return Page([], None)
    if order.field is None:
        keys: tuple[Any, ...] = (Event.id,)
        if cursor is not None:
            query = query.where(Event.id > cursor["id"])
    else:
        column = ORDER_FIELDS[order.field]
        direction = (lambda c: c.desc()) if order.descending else (lambda c: c.asc())
        keys = (direction(column), direction(Event.id))
        if cursor is not None:
            last = _time("nextPageToken", cursor.get("at"))
            if order.descending:
                query = query.where((column < last) | ((column == last)
                                                       & (Event.id < cursor["id"])))
            else:
                query = query.where((column > last) | ((column == last)
                                                       & (Event.id > cursor["id"])))
    rows = list(session.scalars(query.order_by(*keys).limit(size + 1)))
    more = len(rows) > size and (order.limit is None or served + size < order.limit)
    rows = rows[:size]
    if not more or not rows:
        return Page(rows, None)
    last_row = rows[-1]
    next_cursor: dict[str, Any] = {"id": last_row.id}
    if order.field is not None:
        at = last_row.event_time if order.field == "eventTime" else last_row.record_time
        next_cursor["at"] = (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).isoformat()
    if order.limit is not None:
        next_cursor["n"] = served + len(rows)
    return Page(rows, _encode(next_cursor))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def release_token(session: Session, token: str) -> None:
    """The client is done with ``token`` (a page token of any listing): no further page is
    read with it. Releasing one twice is releasing it once."""
    if session.get(ReleasedPageToken, _digest(token)) is None:
        session.add(ReleasedPageToken(digest=_digest(token)))
        session.flush()


def check_token(session: Session, token: str) -> None:
    """Refuse a page token its client released."""
    if session.get(ReleasedPageToken, _digest(token)) is not None:
        raise InvalidInput(f"nextPageToken {token[:80]!r} was released (DELETE "
                           "/nextPageToken/...): start the query again", code=INVALID)


def collection(members: Sequence[str]) -> dict[str, Any]:
    """A JSON-LD ``Collection`` of the binding's resources (GS1's ...Collection schemas)."""
    return {"@context": EPCIS_CONTEXT, "type": "Collection", "member": list(members)}


def query_document(events: Sequence[Event], *, query_name: str = "SimpleEventQuery",
                   subscription_id: str | None = None) -> dict[str, Any]:
    """The ``EPCISQueryDocument`` holding ``events`` as stored."""
    results: dict[str, Any] = {"queryName": query_name}
    if subscription_id is not None:
        results["subscriptionID"] = subscription_id
    results["resultsBody"] = {"eventList": [e.document for e in events]}
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "epcisBody": {"queryResults": results},
    }
