"""The EPCIS query parameters, paging and top-level resources of GS1's REST binding,
through the HTTP API, over every official GS1 example document.

Each parameter's answer is compared with an oracle written here over the stored events'
JSON (not the repository's index): the events whose documents satisfy the parameter as
the standard words it. Values are taken from the data itself, plus one nothing has.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import STANDARDS
from tests.web.test_api_custody import net, tokens  # noqa: F401 - fixtures
from tracker.services.epcis_query import PARAMETERS

EPCIS = STANDARDS / "epcis"
V = "/api/v1/epcis"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def loaded(client, admin):  # type: ignore[no-untyped-def]
    """Every official example captured; the stored events as served."""
    for path in sorted((EPCIS / "JSON").rglob("*.jsonld")):
        response = client.post(f"{V}/capture", headers=admin,
                               json=json.loads(path.read_text(encoding="utf-8")))
        assert response.status_code == 202, (path, response.get_json())
    return all_events(client, admin, "")


def results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_json()
    events: list[dict[str, Any]] = (
        response.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"])
    return events


def every_page(client: Any, headers: dict[str, str], url: str,
               read: Callable[[Any], list[Any]]) -> list[Any]:
    """What ``read`` finds on every page from ``url`` on, following the Link headers."""
    found: list[Any] = []
    following: str | None = url
    while following is not None:
        response = client.get(following, headers=headers)
        found += read(response)
        link = response.headers.get("Link")
        following = link[1:link.index(">")].replace("http://localhost", "") if link else None
    return found


def all_events(client: Any, headers: dict[str, str], query: str) -> list[dict[str, Any]]:
    """Every page of a query."""
    return every_page(client, headers, f"{V}/events?perPage=7&{query}", results)


# --- the oracle -----------------------------------------------------------------------

def when(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def bare(value: str) -> str:
    for prefix in ("gs1:", "https://gs1.org/voc/"):
        value = value.removeprefix(prefix)
    return value


def reports(e: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for element in e.get("sensorElementList", []):
        yield from element.get("sensorReport", [])


def metadata(e: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for element in e.get("sensorElementList", []):
        if "sensorMetadata" in element:
            yield element["sensorMetadata"]


def quantities(e: dict[str, Any]) -> Iterator[float]:
    for key in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        for element in e.get(key, []):
            if "quantity" in element:
                yield float(element["quantity"])


def classes(e: dict[str, Any], *keys: str) -> set[str]:
    return {q["epcClass"] for k in keys for q in e.get(k, [])}


Oracle = Callable[[dict[str, Any], Any], bool]
ORACLES: dict[str, tuple[Callable[[dict[str, Any]], Iterator[Any]], Oracle]] = {
    # parameter: (the values events hold for it, does an event match a value)
    "eventType": (lambda e: iter([e["type"]]), lambda e, v: e["type"] == v),
    "EQ_bizStep": (lambda e: iter([e["bizStep"]] if "bizStep" in e else []),
                   lambda e, v: e.get("bizStep") == v),
    "EQ_type": (lambda e: (bare(r["type"]) for r in reports(e) if "type" in r),
                lambda e, v: any(bare(r.get("type", "")) == v for r in reports(e))),
    "EQ_deviceID": (
        lambda e: (x["deviceID"] for x in [*reports(e), *metadata(e)] if "deviceID" in x),
        lambda e, v: any(x.get("deviceID") == v for x in [*reports(e), *metadata(e)])),
    "EQ_microorganism": (
        lambda e: (r["microorganism"] for r in reports(e) if "microorganism" in r),
        lambda e, v: any(r.get("microorganism") == v for r in reports(e))),
    "EQ_stringValue": (
        lambda e: (r["stringValue"] for r in reports(e) if "stringValue" in r),
        lambda e, v: any(r.get("stringValue") == v for r in reports(e))),
    "EQ_booleanValue": (
        lambda e: (r["booleanValue"] for r in reports(e) if "booleanValue" in r),
        lambda e, v: any(r.get("booleanValue") is v for r in reports(e))),
    "GE_startTime": (
        lambda e: (m["startTime"] for m in metadata(e) if "startTime" in m),
        lambda e, v: any(when(m["startTime"]) >= when(v) for m in metadata(e)
                         if "startTime" in m)),
    "LT_endTime": (
        lambda e: (m["endTime"] for m in metadata(e) if "endTime" in m),
        lambda e, v: any(when(m["endTime"]) < when(v) for m in metadata(e) if "endTime" in m)),
    "EXISTS_errorDeclaration": (lambda e: iter([True]),
                                lambda e, v: "errorDeclaration" in e),
    "EQ_errorReason": (
        lambda e: iter([e["errorDeclaration"]["reason"]]
                       if "reason" in e.get("errorDeclaration", {}) else []),
        lambda e, v: e.get("errorDeclaration", {}).get("reason") == v),
    "GE_errorDeclarationTime": (
        lambda e: iter([e["errorDeclaration"]["declarationTime"]]
                       if "errorDeclaration" in e else []),
        lambda e, v: "errorDeclaration" in e and when(
            e["errorDeclaration"]["declarationTime"]) >= when(v)),
    "EQ_persistentDisposition_set": (
        lambda e: iter(e.get("persistentDisposition", {}).get("set", [])),
        lambda e, v: v in e.get("persistentDisposition", {}).get("set", [])),
    "EQ_persistentDisposition_unset": (
        lambda e: iter(e.get("persistentDisposition", {}).get("unset", [])),
        lambda e, v: v in e.get("persistentDisposition", {}).get("unset", [])),
    "GE_quantity": (quantities, lambda e, v: any(q >= v for q in quantities(e))),
    "LT_quantity": (quantities, lambda e, v: any(q < v for q in quantities(e))),
    "EQ_quantity": (quantities, lambda e, v: any(q == v for q in quantities(e))),
    "MATCH_inputEPCClass": (
        lambda e: iter(classes(e, "inputQuantityList")),
        lambda e, v: v in classes(e, "inputQuantityList")),
    "MATCH_outputEPCClass": (
        lambda e: iter(classes(e, "outputQuantityList")),
        lambda e, v: v in classes(e, "outputQuantityList")),
    "MATCH_epcClass": (
        lambda e: iter(classes(e, "quantityList", "childQuantityList")),
        lambda e, v: v in classes(e, "quantityList", "childQuantityList")),
    "EQ_transformationID": (
        lambda e: iter([e["transformationID"]] if "transformationID" in e else []),
        lambda e, v: e.get("transformationID") == v),
    "GE_eventTime": (lambda e: iter([e["eventTime"]]),
                     lambda e, v: when(e["eventTime"]) >= when(v)),
}
ABSENT = {"GE_startTime": "2999-01-01T00:00:00Z", "LT_endTime": "1900-01-01T00:00:00Z",
          "GE_errorDeclarationTime": "2999-01-01T00:00:00Z",
          "GE_eventTime": "2999-01-01T00:00:00Z", "GE_quantity": 1e12, "LT_quantity": -1,
          "EQ_quantity": 0.5, "EQ_booleanValue": None, "EXISTS_errorDeclaration": None}


def in_url(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return quote(str(value), safe="")


def test_every_parameter_answers_as_the_standard_words_it(client, admin, loaded):
    checked = 0
    for name, (held, matches) in ORACLES.items():
        values = sorted({v for e in loaded for v in held(e)}, key=str)
        assert values, f"no example holds {name}: the oracle would test nothing"
        absent = ABSENT.get(name, "urn:example:nothing-has-this")
        for value in values + ([absent] if absent is not None else []):
            expected = {e["eventID"] for e in loaded if matches(e, value)}
            got = {e["eventID"] for e in all_events(client, admin, f"{name}={in_url(value)}")}
            assert got == expected, (name, value)
            checked += 1
    assert checked > 60


def test_alternatives_are_one_or_the_other(client, admin, loaded):
    shipping = {e["eventID"] for e in loaded if e.get("bizStep") == "shipping"}
    receiving = {e["eventID"] for e in loaded if e.get("bizStep") == "receiving"}
    got = {e["eventID"] for e in all_events(client, admin, "EQ_bizStep=shipping|receiving")}
    assert shipping and receiving and got == shipping | receiving
    # CBV spellings are one value.
    urn = all_events(client, admin, "EQ_bizStep=urn:epcglobal:cbv:bizstep:shipping")
    assert {e["eventID"] for e in urn} == shipping


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_every_listed_parameter_is_answered(client, admin, name):
    value = {"GE": "2020-01-01T00:00:00Z", "LT": "2020-01-01T00:00:00Z"}.get(name[:2], "x")
    if name.endswith("quantity"):
        value = "3"
    if name in ("EXISTS_errorDeclaration", "EQ_booleanValue"):
        value = "true"
    response = client.get(f"{V}/events?{name}={value}", headers=admin)
    assert response.status_code == 200, response.get_json()


def test_order_limit_and_pages_in_order(client, admin, loaded):
    newest_first = sorted(loaded, key=lambda e: (when(e["eventTime"])), reverse=True)
    got = all_events(client, admin, "orderBy=eventTime&orderDirection=DESC")
    assert [when(e["eventTime"]) for e in got] == [when(e["eventTime"]) for e in newest_first]
    # Every one once across the pages (some examples share an eventID: compared as lists).
    assert sorted(json.dumps(e, sort_keys=True) for e in got) == sorted(
        json.dumps(e, sort_keys=True) for e in loaded)
    oldest = all_events(client, admin, "orderBy=eventTime&orderDirection=ASC")
    # Ties in time are broken by storage order, so one is the other reversed.
    assert [e["eventID"] for e in oldest] == [e["eventID"] for e in reversed(got)]
    # The most recent event, as the standard's extremal query asks it.
    (latest,) = all_events(client, admin, "orderBy=eventTime&eventCountLimit=1")
    assert when(latest["eventTime"]) == when(newest_first[0]["eventTime"])
    # A limit larger than a page spans pages and stops at the limit.
    ten = all_events(client, admin, "orderBy=recordTime&orderDirection=ASC&eventCountLimit=10")
    assert len(ten) == 10


def test_refusals_name_the_parameter(client, admin, loaded):
    for query, named in [("EQ_colour=red", "EQ_colour"),
                         ("GE_eventTime=yesterday", "GE_eventTime"),
                         ("eventCountLimit=3", "eventCountLimit"),
                         ("orderBy=eventTime&eventCountLimit=3&maxEventCount=3", "maxEventCount"),
                         ("orderBy=colour", "orderBy"),
                         ("GE_quantity=many", "GE_quantity"),
                         ("nextPageToken=not-a-token", "nextPageToken")]:
        response = client.get(f"{V}/events?{query}", headers=admin)
        assert response.status_code == 400, (query, response.status_code)
        assert named in response.get_json()["error"]["message"], query
    too_many = client.get(f"{V}/events?maxEventCount=3", headers=admin)
    assert too_many.status_code == 413
    assert "more than maxEventCount 3" in too_many.get_json()["error"]["message"]
    assert len(all_events(client, admin, f"maxEventCount={len(loaded)}")) == len(loaded)


def collection(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["type"] == "Collection" and "@context" in body
    members: list[str] = body["member"]
    return members


def every_member(client: Any, headers: dict[str, str], name: str) -> list[str]:
    return every_page(client, headers, f"{V}/{name}?perPage=5", collection)


def test_top_level_resources_list_what_is_known_and_lead_to_its_events(client, admin, loaded):
    types = every_member(client, admin, "eventTypes")
    assert {"ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent",
            "AssociationEvent"} <= set(types)
    steps = every_member(client, admin, "bizSteps")
    assert "shipping" in steps and "receiving" in steps and len(steps) == len(set(steps))
    assert steps == sorted(steps)
    locations = every_member(client, admin, "bizLocations")
    assert set(locations) == {e["bizLocation"]["id"] for e in loaded if "bizLocation" in e}
    points = every_member(client, admin, "readPoints")
    assert set(points) == {e["readPoint"]["id"] for e in loaded if "readPoint" in e}
    epcs = every_member(client, admin, "epcs")
    assert all(":" in epc for epc in epcs) and len(epcs) > 20
    # One of each leads to the same events as the query it stands for.
    for name, value, query in [("bizSteps", "shipping", "EQ_bizStep=shipping"),
                               ("bizLocations", locations[0], f"EQ_bizLocation={locations[0]}"),
                               ("readPoints", points[0], f"EQ_readPoint={points[0]}"),
                               ("eventTypes", "TransformationEvent",
                                "eventType=TransformationEvent"),
                               ("epcs", epcs[0], f"MATCH_anyEPC={quote(epcs[0], safe='')}")]:
        address = f"{V}/{name}/{quote(value, safe='')}"
        assert collection(client.get(address, headers=admin)) == ["events"]
        expected = {e["eventID"] for e in all_events(client, admin, query)}
        page = results(client.get(f"{address}/events?perPage=1000", headers=admin))
        assert expected and {e["eventID"] for e in page} == expected, name
    # Unknown: 404 naming it; a filter the address already gives: refused.
    missing = client.get(f"{V}/bizLocations/{quote('urn:epc:id:sgln:0.0.0', safe='')}",
                         headers=admin)
    assert missing.status_code == 404 and "urn:epc:id:sgln:0.0.0" in (
        missing.get_json()["error"]["message"])
    twice = client.get(f"{V}/bizSteps/shipping/events?EQ_bizStep=receiving", headers=admin)
    assert twice.status_code == 400 and "EQ_bizStep" in twice.get_json()["error"]["message"]


def test_an_epc_in_the_address_may_be_written_with_its_slashes(client, admin, loaded):
    epc = next(e for e in every_member(client, admin, "epcs") if e.startswith("https://"))
    raw = client.get(f"{V}/epcs/{epc}/events", headers=admin)
    encoded = client.get(f"{V}/epcs/{quote(epc, safe='')}/events", headers=admin)
    assert results(raw) and results(raw) == results(encoded)


def test_capture_jobs_are_listed_newest_first_in_pages(client, admin, loaded):
    jobs = every_page(client, admin, f"{V}/capture?perPage=10", lambda r: r.get_json())
    ids = [int(j["captureID"]) for j in jobs]
    assert len(ids) == 47 and ids == sorted(ids, reverse=True)
    assert all(j["running"] is False and j["success"] is True for j in jobs)


def test_a_released_page_token_reads_no_further_page(client, admin, loaded):
    first = client.get(f"{V}/events?perPage=5", headers=admin)
    link = first.headers["Link"]
    following = link[1:link.index(">")].replace("http://localhost", "")
    token = following.split("nextPageToken=")[1].split("&")[0]
    assert results(client.get(following, headers=admin))  # usable, again and again
    assert client.delete(f"{V}/nextPageToken/{token}", headers=admin).status_code == 204
    assert client.delete(f"{V}/nextPageToken/{token}", headers=admin).status_code == 204
    refused = client.get(following, headers=admin)
    assert refused.status_code == 400 and "released" in refused.get_json()["error"]["message"]
    # Other tokens, of the same query or another listing, are not touched.
    assert results(client.get(f"{V}/events?perPage=5", headers=admin))
    steps = client.get(f"{V}/bizSteps?perPage=2", headers=admin)
    assert client.get(steps.headers["Link"][1:steps.headers["Link"].index(">")],
                      headers=admin).status_code == 200


def test_a_distributor_sees_the_resources_of_its_own_events_only(client, net, tokens):  # noqa: F811
    shipped = net.serials[:3]
    assert client.post("/api/v1/shipments", headers=tokens["admin"], json={
        "from": "brand", "to": "t1", "codes": shipped}).status_code == 201
    mine = every_member(client, tokens["t1"], "epcs")
    assert sorted(mine) == sorted(f"https://id.gs1.org/{net.key(i)}" for i in range(3))
    assert every_member(client, tokens["t1b"], "epcs") == []
    # The vocabulary is no secret; the events are.
    assert "shipping" in every_member(client, tokens["t1b"], "bizSteps")
    assert results(client.get(f"{V}/bizSteps/shipping/events", headers=tokens["t1b"])) == []
    theirs = results(client.get(f"{V}/epcs/{quote(mine[0], safe='')}/events",
                                headers=tokens["t1"]))
    assert [e["bizStep"] for e in theirs] == ["shipping"]
    outsider = client.get(f"{V}/epcs/{quote(mine[0], safe='')}", headers=tokens["t1b"])
    assert outsider.status_code == 404
    assert client.get(f"{V}/epcs", headers=tokens["inspector"]).status_code == 403


def test_epc_patterns_match_the_items_and_containers_they_describe(client, admin):
    items = ["urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2018",
             "urn:epc:id:sgtin:0614141.207346.1", "urn:epc:id:sgtin:4012345.011111.1"]
    events = [{"type": "ObjectEvent", "eventTime": f"2026-01-01T00:0{i}:00Z",
               "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "epcList": [epc]}
              for i, epc in enumerate(items)]
    events.append({"type": "AggregationEvent", "eventTime": "2026-01-01T00:09:00Z",
                   "eventTimeZoneOffset": "+00:00", "action": "ADD",
                   "parentID": "urn:epc:id:sscc:0614141.1234567890", "childEPCs": [items[3]]})
    from tests.web.test_api_custody import event_doc

    assert client.post(f"{V}/capture", headers=admin, json=event_doc(events)).status_code == 202

    def epcs(query: str) -> list[list[str]]:
        return [e.get("epcList") or [e["parentID"]] for e in all_events(client, admin, query)]

    assert epcs("MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.*") == [[items[0]], [items[1]]]
    assert epcs("MATCH_epc=urn:epc:idpat:sgtin:0614141.*.*") == [[i] for i in items[:3]]
    # Every item: the four observed, and the one packed (MATCH_epc reads childEPCs too).
    assert len(epcs("MATCH_epc=urn:epc:idpat:sgtin:*.*.*")) == 5
    assert epcs("MATCH_parentID=urn:epc:idpat:sscc:0614141.*") == [
        ["urn:epc:id:sscc:0614141.1234567890"]]
    assert epcs("MATCH_epc=urn:epc:idpat:sgtin:9999999.*.*") == []
    # A pattern and a whole identifier together: either.
    assert len(epcs(f"MATCH_anyEPC=urn:epc:idpat:sscc:0614141.*|{items[0]}")) == 2


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_an_event_time_beyond_the_calendar_in_utc_is_refused_naming_it(client, admin, moment):
    event = {"type": "ObjectEvent", "eventTime": moment, "eventTimeZoneOffset": moment[-6:],
             "action": "OBSERVE", "epcList": ["urn:epc:id:sgtin:0614141.107346.1"]}
    single = client.post(f"{V}/events", headers=admin, json=event)
    assert single.status_code == 400, single.get_json()
    assert "eventTime" in single.get_json()["error"]["message"]
    from tests.web.test_api_custody import event_doc

    job = client.post(f"{V}/capture", headers=admin, json=event_doc([event]))
    assert job.status_code == 202
    assert not client.get(job.headers["Location"], headers=admin).get_json()["success"]
    # A query about such a time is refused too, naming it (not a server error).
    query = client.get(f"{V}/events?GE_eventTime={quote(moment)}", headers=admin)
    assert query.status_code == 400 and "GE_eventTime" in query.get_json()["error"]["message"]
