"""Named queries and query subscriptions of the EPCIS REST binding (/api/v1/epcis/queries):
their answers judged by the schemas of GS1's ``rest/openapi.yaml`` (and the query
documents by GS1's EPCIS JSON schema), paging by the Link header, who may do what, and
every refusal naming what is wrong. The pushes themselves are tested end to end in
tests/integration/test_epcis_subscriptions.py."""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
import yaml

from tests.conftest import STANDARDS
from tests.integration.network import GTIN, build
from tests.web.test_api_custody import event_doc, hop
from tracker.db import make_session_factory
from tracker.services.epcis_subscriptions import secret_of

Q = "/api/v1/epcis/queries"
EPCIS_SCHEMA = STANDARDS / "epcis" / "EPCIS-JSON-Schema.json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def net(db, settings):  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session, session.begin():
        return build(session, settings)


@pytest.fixture()
def tokens(make_token, net):  # type: ignore[no-untyped-def]
    return {p: bearer(make_token("distributor", p)) for p in ("t1", "t1b")} | {
        role: bearer(make_token(role)) for role in ("admin", "compliance", "inspector")}


def observation(n: int) -> dict[str, Any]:
    return {"type": "ObjectEvent", "eventTime": f"2026-01-02T10:{n:02d}:00.000Z",
            "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "bizStep": "inspecting",
            "epcList": [f"urn:epc:id:sgtin:9506000.013435.obs{n}"]}


@pytest.fixture()
def captured(client, net, tokens):  # type: ignore[no-untyped-def]
    """Shipping brand -> t1 (two events), brand -> t1b (one), and three observations."""
    uris = [f"https://id.gs1.org/01/{GTIN}/21/{s}" for s in net.serials]
    events = [hop("shipping", uris[0:1], "brand", "t1", 1),
              hop("shipping", uris[1:2], "brand", "t1", 2),
              hop("shipping", uris[5:6], "brand", "t1b", 3),
              observation(4), observation(5), observation(6)]
    response = client.post("/api/v1/epcis/capture", json=event_doc(events),
                           headers=tokens["admin"])
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["success"], response.get_json()
    return uris


# --- GS1's schemas ------------------------------------------------------------------


def _without_patterns(value: Any) -> Any:
    """GS1's schedule fields carry Ruby-style patterns (``\\g<element>``) that no JSON
    schema validator can compile: dropped, the rest of each schema kept."""
    if isinstance(value, list):
        return [_without_patterns(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_patterns(v) for k, v in value.items() if k != "pattern"}
    return value


@functools.cache
def gs1_yaml() -> dict[str, Any]:
    path = STANDARDS / "epcis" / "rest" / "openapi.yaml"
    return _without_patterns(yaml.safe_load(path.read_text(encoding="utf-8")))


def gs1_answer(path: str, method: str, status: str = "200") -> dict[str, Any]:
    """The schema GS1's yaml gives the JSON answer of an operation."""
    document = gs1_yaml()
    reply = document["paths"][path][method]["responses"][status]
    return {**reply["content"]["application/json"]["schema"],
            "components": document["components"]}


def conforms(instance: Any, schema: dict[str, Any]) -> None:
    jsonschema.validate(instance, schema)


def conforms_to_query_document(body: Any) -> None:
    definitions = json.loads(EPCIS_SCHEMA.read_text())
    jsonschema.validate(body, {**definitions, "$ref": "#/definitions/epcisQueryDocument"})


def subscription_schema() -> dict[str, Any]:
    return gs1_answer("/queries/{queryName}/subscriptions/{subscriptionID}", "get")


# --- queries ------------------------------------------------------------------------

SHIPPING = {"eventType": ["ObjectEvent"], "EQ_bizStep": ["shipping"]}


def create(client, tokens, name="shipped", query=None, who="admin"):  # type: ignore[no-untyped-def]
    return client.post(Q, json={"name": name, "query": SHIPPING if query is None else query},
                       headers=tokens[who])


def test_a_query_is_created_read_listed_and_deleted_in_gs1s_shapes(client, tokens):
    made = create(client, tokens)
    assert made.status_code == 201, made.get_json()
    assert made.headers["Location"] == f"http://localhost{Q}/shipped"  # absolute
    assert made.headers["GS1-EPCIS-Version"] == "2.0.0"
    one = client.get(made.headers["Location"], headers=tokens["compliance"])
    assert one.status_code == 200
    assert one.get_json() == [{"name": "shipped", "query": SHIPPING}]
    conforms(one.get_json(), gs1_answer("/queries/{queryName}", "get"))
    listed = client.get(Q, headers=tokens["compliance"])
    assert listed.get_json() == [{"name": "shipped", "query": SHIPPING}]
    conforms(listed.get_json(), gs1_answer("/queries", "get"))
    gone = client.delete(f"{Q}/shipped", headers=tokens["admin"])
    assert gone.status_code == 204
    missing = client.get(f"{Q}/shipped", headers=tokens["admin"])
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "unknown_query"
    assert "no query named 'shipped'" in missing.get_json()["error"]["message"]


def test_a_name_that_exists_is_409(client, tokens):
    assert create(client, tokens).status_code == 201
    again = create(client, tokens, query={"eventType": ["AggregationEvent"]})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "query_exists"
    assert client.get(f"{Q}/shipped", headers=tokens["admin"]).get_json()[0]["query"] == SHIPPING


@pytest.mark.parametrize(("body", "code", "named"), [
    ({"name": "q", "query": {"EQ_colour": ["red"]}}, "unsupported_parameter", "'EQ_colour'"),
    ({"name": "q", "query": {"GE_eventTime": "yesterday"}}, "invalid_parameter",
     "'GE_eventTime'"),
    ({"name": "q", "query": {"orderDirection": "SIDEWAYS"}}, "invalid_parameter",
     "'orderDirection'"),
    ({"name": "q", "query": ["eventType"]}, "invalid_field", "'query'"),
    ({"name": "my query", "query": {}}, "invalid_query_name", "'name'"),
    ({"query": {}}, "missing_field", "'name'"),
    ({"name": "q"}, "missing_field", "'query'"),
])
def test_a_bad_query_is_refused_naming_what_is_wrong(client, tokens, body, code, named):
    response = client.post(Q, json=body, headers=tokens["admin"])
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert named in response.get_json()["error"]["message"]
    assert client.get(Q, headers=tokens["admin"]).get_json() == []


def follow(client, url, headers):  # type: ignore[no-untyped-def]
    """Every page from ``url`` on, by the Link header: the bodies."""
    bodies = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        bodies.append(response.get_json())
        link = re.match(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
        url = unquote(link.group(1)).replace("http://localhost", "") if link else None
    return bodies


def test_the_queries_are_paged_by_the_link_header(client, tokens):
    names = [f"q{n}" for n in range(5)]
    for name in names:
        assert create(client, tokens, name).status_code == 201
    pages = follow(client, f"{Q}?perPage=2", tokens["compliance"])
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [q["name"] for p in pages for q in p] == names
    bad = client.get(f"{Q}?nextPageToken=zz", headers=tokens["admin"])
    assert bad.status_code == 400 and "nextPageToken" in bad.get_json()["error"]["message"]


def event_ids(document: dict[str, Any]) -> list[str]:
    results = document["epcisBody"]["queryResults"]
    return [e["eventID"] for e in results["resultsBody"]["eventList"]]


def test_a_querys_events_come_as_a_query_document_with_its_name_page_by_page(
        client, tokens, captured):
    assert create(client, tokens).status_code == 201
    pages = follow(client, f"{Q}/shipped/events?perPage=2", tokens["admin"])
    assert [len(event_ids(p)) for p in pages] == [2, 1]
    for page in pages:
        conforms_to_query_document(page)
        assert page["epcisBody"]["queryResults"]["queryName"] == "shipped"
        assert "subscriptionID" not in page["epcisBody"]["queryResults"]
        assert {e["bizStep"] for e in page["epcisBody"]["queryResults"]["resultsBody"][
            "eventList"]} <= {"shipping", "urn:epcglobal:cbv:bizstep:shipping"}
    everything = client.get("/api/v1/epcis/events?EQ_bizStep=shipping&perPage=100",
                            headers=tokens["admin"]).get_json()
    assert [i for p in pages for i in event_ids(p)] == event_ids(everything)


def test_a_websocket_upgrade_is_answered_with_the_results(client, tokens, captured):
    assert create(client, tokens).status_code == 201
    response = client.get(f"{Q}/shipped/events?stream=true", headers={
        **tokens["admin"], "Upgrade": "websocket", "Connection": "Upgrade"})
    assert response.status_code == 200
    assert len(event_ids(response.get_json())) == 3


def test_a_distributor_runs_a_query_and_sees_only_the_events_it_was_party_to(
        client, tokens, captured):
    assert create(client, tokens).status_code == 201
    assert create(client, tokens, "everything", {}).status_code == 201
    for name in ("shipped", "everything"):
        mine = event_ids(client.get(f"{Q}/{name}/events", headers=tokens["t1"]).get_json())
        theirs = event_ids(client.get(f"{Q}/{name}/events",
                                      headers=tokens["t1b"]).get_json())
        assert len(mine) == 2 and len(theirs) == 1 and not set(mine) & set(theirs)
    every = client.get("/api/v1/epcis/events?perPage=100", headers=tokens["compliance"])
    assert event_ids(client.get(f"{Q}/everything/events?perPage=100",
                                headers=tokens["compliance"]).get_json()) == event_ids(
        every.get_json())
    assert len(event_ids(every.get_json())) >= 6


@pytest.mark.parametrize(("who", "method", "path", "status"), [
    ("t1", "POST", Q, 403), ("compliance", "POST", Q, 403), ("inspector", "GET", Q, 403),
    ("inspector", "GET", f"{Q}/shipped/events", 403),
    ("t1", "DELETE", f"{Q}/shipped", 403), ("compliance", "DELETE", f"{Q}/shipped", 403),
    ("t1", "GET", f"{Q}/shipped", 200), ("compliance", "GET", f"{Q}/shipped/events", 200),
    ("t1", "POST", f"{Q}/shipped/subscriptions", 403),
    ("compliance", "POST", f"{Q}/shipped/subscriptions", 403),
    ("t1", "GET", f"{Q}/shipped/subscriptions", 403),
    ("compliance", "GET", f"{Q}/shipped/subscriptions", 200),
])
def test_who_may_do_what(client, tokens, who, method, path, status):
    assert create(client, tokens).status_code == 201
    body = ({"name": "other", "query": {}} if path == Q else
            {"dest": "https://example.com/hook", "stream": True})
    response = client.open(path, method=method, headers=tokens[who],
                           json=body if method == "POST" else None)
    assert response.status_code == status, response.get_json()
    if status == 403:
        assert response.get_json()["error"]["code"] == "forbidden"


# --- subscriptions ------------------------------------------------------------------


def subscribe(client, tokens, body, name="shipped"):  # type: ignore[no-untyped-def]
    return client.post(f"{Q}/{name}/subscriptions", json=body, headers=tokens["admin"])


def test_a_stream_subscription_is_made_read_listed_and_ended_in_gs1s_shapes(client, tokens):
    assert create(client, tokens).status_code == 201
    made = subscribe(client, tokens, {"dest": "https://client.example.com/cb", "stream": True,
                                      "signatureToken": "13df38d8275b13f05704629e5f1cf3d4"})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    conforms(body, gs1_answer("/queries/{queryName}/subscriptions", "post", "201"))
    assert body["stream"] is True and "schedule" not in body
    assert body["dest"] == "https://client.example.com/cb" and body["queryName"] == "shipped"
    assert "secret" not in body and "signatureToken" not in body  # the client's own
    location = made.headers["Location"]
    assert location == f"http://localhost{Q}/shipped/subscriptions/{body['subscriptionID']}"
    one = client.get(location, headers=tokens["compliance"])
    assert one.status_code == 200 and one.get_json() == body
    conforms(one.get_json(), subscription_schema())
    listed = client.get(f"{Q}/shipped/subscriptions", headers=tokens["compliance"]).get_json()
    assert listed == [body]
    conforms(listed, gs1_answer("/queries/{queryName}/subscriptions", "get"))
    # The subscription's receiver is not one of the admin's webhooks, but it is reachable
    # by its webhookID: its deliveries, and enabling it again after days of failures.
    assert client.get("/api/v1/webhooks", headers=tokens["admin"]).get_json()["items"] == []
    receiver = f"/api/v1/webhooks/{body['webhookID']}"
    assert client.get(f"{receiver}/deliveries", headers=tokens["admin"]).status_code == 200
    assert client.patch(receiver, json={"enabled": True},
                        headers=tokens["admin"]).status_code == 200
    assert client.delete(location, headers=tokens["admin"]).status_code == 204
    gone = client.get(location, headers=tokens["admin"])
    assert gone.status_code == 404
    assert gone.get_json()["error"]["code"] == "unknown_subscription"
    assert client.get(f"{Q}/shipped/subscriptions", headers=tokens["admin"]).get_json() == []


def test_a_scheduled_subscription_without_a_token_gets_a_secret_once(client, tokens):
    assert create(client, tokens).status_code == 201
    made = subscribe(client, tokens, {"dest": "http://127.0.0.1:9/cb", "reportIfEmpty": True,
                                      "initialRecordTime": "2026-01-01T00:00:00Z",
                                      "schedule": {"hour": "1", "minute": 5}})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["secret"].startswith("whsec_")
    assert body["schedule"] == {"minute": "5", "hour": "1"} and body["reportIfEmpty"] is True
    assert body["initialRecordTime"] == body["minRecordTime"] == "2026-01-01T00:00:00+00:00"
    one = client.get(made.headers["Location"], headers=tokens["admin"]).get_json()
    assert "secret" not in one
    assert one == {k: v for k, v in body.items() if k != "secret"}
    conforms(one, subscription_schema())


def test_the_subscriptions_are_paged_by_the_link_header(client, tokens):
    assert create(client, tokens).status_code == 201
    made = [subscribe(client, tokens, {"dest": f"https://e.example.com/{n}", "stream": True})
            .get_json()["subscriptionID"] for n in range(3)]
    pages = follow(client, f"{Q}/shipped/subscriptions?perPage=2", tokens["admin"])
    assert [[s["subscriptionID"] for s in p] for p in pages] == [made[:2], made[2:]]


@pytest.mark.parametrize(("body", "code", "named"), [
    ({"dest": "https://e.example.com/h"}, "invalid_subscription", "'schedule'"),
    ({"dest": "https://e.example.com/h", "stream": True, "schedule": {"hour": "1"}},
     "invalid_subscription", "not both"),
    ({"dest": "https://e.example.com/h", "stream": False}, "invalid_subscription", "'stream'"),
    ({"dest": "ftp://e.example.com/h", "stream": True}, "invalid_subscription_dest", "'dest'"),
    ({"stream": True}, "missing_field", "'dest'"),
    ({"dest": "https://e.example.com/h", "schedule": {"minute": "61"}},
     "invalid_subscription_schedule", "'schedule.minute'"),
    ({"dest": "https://e.example.com/h", "schedule": {"hour": "1-2"}},
     "invalid_subscription_schedule", "'schedule.hour'"),
    ({"dest": "https://e.example.com/h", "schedule": {"week": "1"}},
     "invalid_subscription_schedule", "'week'"),
    ({"dest": "https://e.example.com/h", "schedule": {}},
     "invalid_subscription_schedule", "names no field"),
    ({"dest": "https://e.example.com/h", "schedule": {"month": "2", "dayOfMonth": "30"}},
     "invalid_subscription_schedule", "matches no moment"),
    ({"dest": "https://e.example.com/h", "stream": True, "initialRecordTime": "today"},
     "invalid_subscription_field", "'initialRecordTime'"),
    ({"dest": "https://e.example.com/h", "stream": True, "signatureToken": "x" * 65},
     "invalid_subscription_token", "'signatureToken'"),
])
def test_a_bad_subscription_is_refused_naming_what_is_wrong(client, tokens, body, code, named):
    assert create(client, tokens).status_code == 201
    response = subscribe(client, tokens, body)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and named in error["message"], error
    assert client.get(f"{Q}/shipped/subscriptions", headers=tokens["admin"]).get_json() == []


def test_subscribing_to_a_query_that_does_not_exist_is_404(client, tokens):
    response = subscribe(client, tokens, {"dest": "https://e.example.com/h", "stream": True},
                         name="nothing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_query"


def test_deleting_a_query_ends_its_subscriptions(client, tokens, db):
    from sqlalchemy import func, select

    from tracker.models import QuerySubscription, WebhookEndpoint

    assert create(client, tokens).status_code == 201
    for n in range(2):
        assert subscribe(client, tokens, {"dest": f"https://e.example.com/{n}",
                                          "stream": True}).status_code == 201
    assert client.delete(f"{Q}/shipped", headers=tokens["admin"]).status_code == 204
    with make_session_factory(db)() as session:
        assert session.scalar(select(func.count()).select_from(QuerySubscription)) == 0
        assert session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0
    assert create(client, tokens).status_code == 201  # the name is free again
    assert client.get(f"{Q}/shipped/subscriptions", headers=tokens["admin"]).get_json() == []


def test_the_signing_secret_of_a_token_is_keyed_by_the_tokens_bytes():
    import base64

    assert base64.b64decode(secret_of("13df38d8").removeprefix("whsec_")) == b"13df38d8"
