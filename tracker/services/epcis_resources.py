"""The EPCIS REST binding's top-level resources: the event types, EPCs, business steps,
business locations, read points and dispositions the repository knows, each a way into
the events about it (``/bizSteps/shipping/events`` is ``/events?EQ_bizStep=shipping``).

What a reader may see of them follows what it may see of the events: a distributor lists
the EPCs and locations of the events it was party to, not the whole repository's. The
event types, and the CBV's business steps and dispositions, are listed as supported words
to everyone (GS1's examples list the vocabulary); values used in events are added to them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tracker.domain.codes import epc_key
from tracker.domain.epcis import EVENT_TYPES, normalise_cbv
from tracker.domain.epcis.vocabulary import VOCABULARIES
from tracker.errors import InvalidInput, NotFound
from tracker.models import Event, EventEPC
from tracker.services.auth import Actor
from tracker.services.epcis_query import visible_event_ids
from tracker.services.events import epc_uri

EPC_ROLES = ("epc", "child", "parent", "input", "output")


@dataclass(frozen=True)
class Resource:
    """A top-level resource: the query parameter its ``/{id}/events`` stands for, the
    column its values come from, the standard words listed beside those used."""

    name: str
    parameter: str
    column: Any
    standard: tuple[str, ...] = ()
    vocabulary: str | None = None  # CBV vocabulary whose spellings are one value

    def normalise(self, value: str) -> str:
        if self.vocabulary is not None:
            return normalise_cbv(value, self.vocabulary)
        if self.name == "epcs":
            return epc_key(value)
        return value

    def shown(self, value: str) -> str:
        return epc_uri(value) if self.name == "epcs" else value


RESOURCES = {r.name: r for r in (
    Resource("eventTypes", "eventType", Event.event_type, tuple(sorted(EVENT_TYPES))),
    Resource("epcs", "MATCH_anyEPC", EventEPC.key),
    Resource("bizSteps", "EQ_bizStep", Event.biz_step,
             tuple(sorted(VOCABULARIES["bizStep"].terms)), "bizStep"),
    Resource("bizLocations", "EQ_bizLocation", Event.biz_location),
    Resource("readPoints", "EQ_readPoint", Event.read_point),
    Resource("dispositions", "EQ_disposition", Event.disposition,
             tuple(sorted(VOCABULARIES["disposition"].terms)), "disposition"),
)}


def _used(resource: Resource, actor: Actor) -> tuple[Any, Select[Any]]:
    """The resource's column and the query of its distinct values in the events ``actor``
    may read (narrowed and ordered by the caller, on the column: an index range)."""
    ids = visible_event_ids(actor, action="read EPCIS resources")
    if resource.name == "epcs":
        query = select(EventEPC.key).where(EventEPC.role.in_(EPC_ROLES))
        column: Any = EventEPC.key
        if ids is not None:
            query = query.where(EventEPC.event_pk.in_(ids))
    else:
        column = resource.column
        query = select(column).where(column.is_not(None))
        if ids is not None:
            query = query.where(Event.id.in_(ids))
    return column, query.distinct()


def _cursor(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"nextPageToken {token[:80]!r} is not one this server gave (follow "
                           "the Link header of the page before)", code="invalid_parameter"
                           ) from None


def list_values(session: Session, name: str, *, actor: Actor, per_page: int = 30,
                after: str | None = None) -> tuple[list[str], str | None]:
    """One page of a resource's members in lexical order, and the next page's token."""
    resource = RESOURCES[name]
    start = _cursor(after)
    column, query = _used(resource, actor)
    if start is not None:
        query = query.where(column > start)
    values = set(session.scalars(query.order_by(column).limit(per_page + 1)))
    values.update(v for v in resource.standard if start is None or v > start)
    ordered = sorted(values)
    page = ordered[:per_page]
    token = None
    if len(ordered) > per_page:
        token = base64.urlsafe_b64encode(page[-1].encode()).decode().rstrip("=")
    return [resource.shown(v) for v in page], token


def check_value(session: Session, name: str, value: str, *, actor: Actor) -> str:
    """The value as stored when the resource knows it (for ``actor``); else not found."""
    resource = RESOURCES[name]
    stored = resource.normalise(value)
    column, used = _used(resource, actor)  # refuses a role that reads no events
    if stored in resource.standard:
        return stored
    if session.scalar(used.where(column == stored).limit(1)) is None:
        raise NotFound(f"no {_singular(name)} {value!r} in the events you may read",
                       code="unknown_resource")
    return stored


def _singular(name: str) -> str:
    return {"eventTypes": "event type", "epcs": "EPC", "bizSteps": "business step",
            "bizLocations": "business location", "readPoints": "read point",
            "dispositions": "disposition"}[name]


def events_params(name: str, value: str, filters: Mapping[str, object]) -> dict[str, object]:
    """What a resource's ``/{id}/events`` adds to the request's filters."""
    parameter = RESOURCES[name].parameter
    if parameter in filters:
        raise InvalidInput(f"query parameter '{parameter}' is not taken here: the address "
                           f"names the {_singular(name)} already", code="unsupported_parameter")
    return {parameter: [value]}
