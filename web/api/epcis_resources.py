"""The EPCIS REST binding's top-level resources: ``/eventTypes``, ``/epcs``,
``/bizSteps``, ``/bizLocations``, ``/readPoints``, ``/dispositions``, each with
``/{id}`` (its sub-resources: ``events``) and ``/{id}/events`` (the events about it)."""

from __future__ import annotations

from flask import Response, g, jsonify

from tracker.services import epcis_resources
from tracker.services.epcis_query import collection
from web.api import bp
from web.api.epcis import GS1_HEADERS, events_page, filters, with_next_page
from web.api.schemas import models
from web.api.schemas.contract import operation
from web.db import get_session

COLLECTION = {"type": "object", "required": ["@context", "type", "member"], "properties": {
    "@context": {}, "type": {"const": "Collection"},
    "member": {"type": "array", "items": {"type": "string"}}}}
LINK = {"Link": '<...>; rel="next" when there is a next page', **GS1_HEADERS}
def _register(name: str, what: str) -> None:
    """The three routes of one resource."""
    variable = "<path:value>"

    @operation(f"The {what} known here (of the events you may read), paged",
               reply=COLLECTION, headers=LINK, query=models.Paging, errors=(400,))
    def listing(query: models.Paging) -> Response:
        members, token = epcis_resources.list_values(
            get_session(), name, actor=g.actor, per_page=query.perPage,
            after=query.nextPageToken or None)
        return with_next_page(jsonify(collection(members)),
                                            per_page=query.perPage, token=token)

    @operation(f"One of the {what}: its sub-resources (events)", reply=COLLECTION,
               headers=GS1_HEADERS, errors=(404,))
    def one(value: str) -> Response:
        epcis_resources.check_value(get_session(), name, value, actor=g.actor)
        return jsonify(collection(["events"]))

    @operation(f"The events about one of the {what} (the standard query parameters "
               "narrow them): an EPCISQueryDocument", reply=models.EPCIS_QUERY_DOCUMENT,
               headers=LINK, query=models.EventsQuery, errors=(400, 404, 413))
    def events(value: str, query: models.EventsPage) -> Response:
        stored = epcis_resources.check_value(get_session(), name, value, actor=g.actor)
        params = filters(query)
        return events_page(params, per_page=query.perPage, after=query.nextPageToken or None,
                           where=epcis_resources.events_params(name, stored, params))

    for view, suffix, endpoint in ((listing, "", "list"), (one, f"/{variable}", "one"),
                                   (events, f"/{variable}/events", "events")):
        bp.add_url_rule(f"/epcis/{name}{suffix}", f"epcis_{name}_{endpoint}", view,
                        methods=["GET"], merge_slashes=False)


for _name, _what in (("eventTypes", "event types"), ("epcs", "EPCs"),
                     ("bizSteps", "business steps"), ("bizLocations", "business locations"),
                     ("readPoints", "read points"), ("dispositions", "dispositions")):
    _register(_name, _what)
