"""The EPCIS binding's own rules under /api/v1/epcis (web/api/epcis_binding.py): GS1's
RFC 7807 problems, its headers on every answer, OPTIONS discovery, version and EPC format
negotiation, and the binding's root."""

from __future__ import annotations

import dataclasses
import io
import json
from importlib import metadata
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import STANDARDS
from tracker.services import epcis
from web.api import epcis_binding

BASE = "/api/v1/epcis"
PROBLEM = "application/problem+json"
EXAMPLE = STANDARDS / "epcis" / "JSON" / "Example_9.6.1-ObjectEvent.jsonld"
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
VERSIONS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0",
            "GS1-Vendor-Version": f"tracker-{metadata.version('tracker')}"}


def event(n: int = 1, **fields: Any) -> dict[str, Any]:
    return {"@context": [CONTEXT], "type": "ObjectEvent", "action": "OBSERVE",
            "eventID": f"urn:uuid:3f1c2a7e-0000-4000-8000-{n:012d}",
            "eventTime": "2024-05-01T10:00:00Z", "eventTimeZoneOffset": "+00:00",
            "bizStep": "shipping", "disposition": "in_transit",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
            "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"}, **fields}


def problem(response: Any) -> dict[str, Any]:
    assert response.mimetype == PROBLEM, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict)
    return body


# --- errors: RFC 7807 problems with GS1's exception types ----------------------------


def test_an_unknown_capture_job_is_gs1s_no_such_name_problem(client, admin):
    response = client.get(f"{BASE}/capture/987654", headers=admin)
    assert response.status_code == 404
    assert problem(response) == {
        "type": "epcisException:NoSuchNameException", "title": "Resource not found",
        "status": 404, "detail": "capture job 987654 does not exist",
        "instance": "http://localhost/api/v1/epcis/capture/987654",
        "error": {"code": "unknown_capture", "message": "capture job 987654 does not exist"}}


def test_an_invalid_document_is_a_400_validation_exception_not_a_422(client, admin):
    response = client.post(f"{BASE}/capture", headers=admin, json={
        "@context": [CONTEXT], "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": "2020-01-01T00:00:00Z",
        "epcisBody": {"eventList": [{"type": "ObjectEvent", "action": "OBSERVE"}]}})
    assert response.status_code == 400
    body = problem(response)
    assert (body["type"], body["title"], body["status"]) == (
        "epcisException:ValidationException", "Invalid request", 400)
    assert body["error"]["code"] == "epcis_schema_invalid"
    assert body["detail"] == body["error"]["message"]


def test_a_bad_query_parameter_is_a_query_parameter_exception(client, admin):
    response = client.get(f"{BASE}/events?perPage=ten", headers=admin)
    assert response.status_code == 400
    body = problem(response)
    assert body["type"] == "epcisException:QueryParameterException"
    assert body["error"] == {"code": "invalid_parameter",
                             "message": "query parameter 'perPage' must be an integer, "
                                        "not 'ten'"}


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_no_token_is_a_security_exception(client, method):
    response = client.open(f"{BASE}/events", method=method)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="tracker"'
    body = problem(response)
    assert (body["type"], body["title"]) == ("epcisException:SecurityException",
                                             "Unauthorised request")
    assert body["error"]["code"] == "unauthorized"


def test_a_role_without_access_is_a_security_exception(client, make_token):
    inspector = {"Authorization": f"Bearer {make_token('inspector')}"}
    response = client.get(f"{BASE}/events", headers=inspector)
    assert response.status_code == 403
    assert problem(response)["type"] == "epcisException:SecurityException"


def test_the_same_event_twice_is_a_resource_already_exists_exception(client, admin):
    assert client.post(f"{BASE}/events", headers=admin, json=event()).status_code == 201
    again = client.post(f"{BASE}/events", headers=admin, json=event())
    assert again.status_code == 409
    body = problem(again)
    assert body["type"] == "epcisException:ResourceAlreadyExistsException"
    assert body["error"]["code"] == "duplicate_event"


@pytest.fixture()
def small(db, settings):  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app({"TESTING": True}, settings=dataclasses.replace(
        settings, max_document_body_bytes=50_000))
    yield app.test_client()
    app.extensions["tracker.engine"].dispose()


def test_a_capture_over_its_size_is_a_capture_limit_exception_naming_the_limits(small, admin):
    response = small.post(f"{BASE}/capture",
                          headers={**admin, "Content-Type": "application/json"},
                          environ_overrides={"wsgi.input": io.BytesIO(b""),
                                             "CONTENT_LENGTH": "50001"})
    assert response.status_code == 413
    body = problem(response)
    assert body["type"] == "epcisException:CaptureLimitExceededException"
    assert body["error"]["code"] == "too_large"
    assert response.headers["GS1-EPCIS-Capture-File-Size-Limit"] == "50000"
    assert response.headers["GS1-EPCIS-Capture-Limit"] == str(epcis.MAX_CAPTURE_EVENTS)


def test_no_such_route_is_a_problem_too(client, admin):
    response = client.get(f"{BASE}/nothing-here", headers=admin)
    assert response.status_code == 404
    assert problem(response)["error"]["code"] == "not_found"
    wrong = client.put(f"{BASE}/events", headers=admin)
    assert wrong.status_code == 405
    assert (problem(wrong)["type"], problem(wrong)["title"]) == ("about:blank",
                                                                 "Method Not Allowed")


def test_the_instance_is_an_escaped_absolute_uri(client, admin):
    response = client.get(f"{BASE}/capture/{quote('ü x', safe='')}", headers=admin)
    assert problem(response)["instance"] == "http://localhost/api/v1/epcis/capture/%C3%BC%20x"


def test_errors_outside_the_binding_keep_the_apis_body(client, admin):
    response = client.get("/api/v1/batches/987654", headers=admin)
    assert response.mimetype == "application/json"
    assert response.get_json() == {"error": {"code": "unknown_batch",
                                             "message": "batch 987654 does not exist"}}
    assert "GS1-EPCIS-Version" not in response.headers


def test_a_capture_jobs_errors_are_problems_keeping_their_members(client, admin):
    document = json.loads(EXAMPLE.read_text())
    client.post(f"{BASE}/capture", headers=admin, json=document)
    again = client.post(f"{BASE}/capture", headers=admin, json=document).get_json()
    job = client.get(f"{BASE}/capture/{again['captureID']}", headers=admin).get_json()
    first = document["epcisBody"]["eventList"][0]["eventID"]
    assert job["errors"][0] == {
        "type": "epcisException:ResourceAlreadyExistsException",
        "title": "A resource with the provided identifier already exists.",
        "detail": job["errors"][0]["message"], "index": 0, "code": "duplicate_event",
        "eventID": first, "message": job["errors"][0]["message"]}
    assert len(job["errors"]) == 2


def test_a_refused_event_is_a_validation_problem():
    assert epcis_binding.capture_errors([
        {"index": 3, "code": "epcis_invalid_event", "message": "event 3: no eventTime"}]) == [
        {"type": "epcisException:ValidationException", "title": "Invalid event",
         "detail": "event 3: no eventTime", "index": 3, "code": "epcis_invalid_event",
         "message": "event 3: no eventTime"}]


@pytest.mark.parametrize(("status", "code", "path", "method", "name"), [
    (400, "invalid_field", "/events", "POST", "ValidationException"),
    (422, "epcis_schema_invalid", "/capture", "POST", "ValidationException"),
    (400, "invalid_parameter", "/events", "GET", "QueryParameterException"),
    (400, "unsupported_parameter", "/bizSteps/shipping/events", "GET",
     "QueryParameterException"),
    (400, "invalid_query", "/queries", "POST", "QueryValidationException"),
    (400, "invalid_subscription", "/queries/q/subscriptions", "POST",
     "SubscriptionControlsException"),
    (400, "invalid_parameter", "/queries/q/events", "GET", "ValidationException"),
    (401, "unauthorized", "/events", "GET", "SecurityException"),
    (403, "forbidden", "/capture", "POST", "SecurityException"),
    (404, "unknown_query", "/queries/q", "GET", "NoSuchNameException"),
    (404, "unknown_subscription", "/queries/q/subscriptions/s", "GET", "NoSuchNameException"),
    (406, "not_acceptable", "/events", "GET", "NotAcceptableException"),
    (409, "query_exists", "/queries", "POST", "ResourceAlreadyExistsException"),
    (413, "too_large", "/capture", "POST", "CaptureLimitExceededException"),
    (413, "too_many_results", "/events", "GET", "QueryTooLargeException"),
    (414, "uri_too_long", "/events", "GET", "URITooLongException"),
    (415, "unsupported_media_type", "/events", "POST", "UnsupportedMediaTypeException"),
    (500, "http_error", "/events", "GET", "ImplementationException"),
    (501, "not_implemented", "/nextPageToken/t", "DELETE", "ImplementationException"),
    (405, "method_not_allowed", "/events", "PUT", None),
    (429, "rate_limited", "/events", "GET", None),
])
def test_each_refusal_has_gs1s_exception(status, code, path, method, name):
    assert epcis_binding.exception_name(status, code, BASE + path, method) == name


# --- GS1's headers on every answer ------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "authorised"), [
    ("GET", "/", True), ("GET", "/events", True), ("GET", "/capture/987654", True),
    ("GET", "/events", False), ("OPTIONS", "/capture", True), ("GET", "/nothing", True),
])
def test_every_answer_names_the_versions_it_speaks(client, admin, method, path, authorised):
    response = client.open(BASE + path, method=method, headers=admin if authorised else {})
    assert {name: response.headers.get(name) for name in VERSIONS} == VERSIONS


# --- OPTIONS: GS1's discovery ---------------------------------------------------------


def test_options_on_capture_announces_the_real_limits(client, admin, settings):
    response = client.options(f"{BASE}/capture", headers=admin)
    assert response.status_code == 204
    assert response.get_data() == b""
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST", "OPTIONS", "HEAD"}
    assert {name: response.headers.get(name) for name in (
        "GS1-EPCIS-Min", "GS1-EPCIS-Max", "GS1-CBV-Min", "GS1-CBV-Max", "GS1-EPC-Format",
        "GS1-CBV-XML-Format", "GS1-EPCIS-Capture-Limit", "GS1-EPCIS-Capture-File-Size-Limit",
        "GS1-Capture-Error-Behaviour")} == {
        "GS1-EPCIS-Min": "2.0.0", "GS1-EPCIS-Max": "2.0.0", "GS1-CBV-Min": "2.0.0",
        "GS1-CBV-Max": "2.0.0", "GS1-EPC-Format": "No_Preference",
        "GS1-CBV-XML-Format": "No_Preference",
        "GS1-EPCIS-Capture-Limit": str(epcis.MAX_CAPTURE_EVENTS),
        "GS1-EPCIS-Capture-File-Size-Limit": str(settings.max_document_body_bytes),
        "GS1-Capture-Error-Behaviour": "all"}


def test_options_elsewhere_has_no_capture_limits(client, admin):
    response = client.options(f"{BASE}/events", headers=admin)
    assert response.status_code == 204
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST", "OPTIONS", "HEAD"}
    assert response.headers["GS1-EPCIS-Max"] == "2.0.0"
    assert "GS1-EPCIS-Capture-Limit" not in response.headers


def test_options_on_a_named_resource_that_does_not_exist_is_404(client, admin):
    assert client.post(f"{BASE}/events", headers=admin, json=event()).status_code == 201
    known = client.options(f"{BASE}/events/{quote(event()['eventID'], safe='')}",
                           headers=admin)
    assert known.status_code == 204
    unknown = client.options(f"{BASE}/events/{quote('urn:uuid:nothing', safe='')}",
                             headers=admin)
    assert unknown.status_code == 404
    assert problem(unknown)["type"] == "epcisException:NoSuchNameException"
    assert client.options(f"{BASE}/capture/987654", headers=admin).status_code == 404


@pytest.mark.parametrize("path", ["/queries/nothing/events", "/eventTypes/Nope/events",
                                  "/queries/nothing"])
def test_options_on_the_events_of_a_name_that_does_not_exist_is_404(client, admin, path):
    response = client.options(BASE + path, headers=admin)
    assert response.status_code == 404
    assert problem(response)["type"] == "epcisException:NoSuchNameException"


def test_options_on_the_root(client, admin):
    response = client.options(f"{BASE}/", headers=admin)
    assert response.status_code == 204
    assert set(response.headers["Allow"].split(", ")) == {"GET", "OPTIONS", "HEAD"}


# --- negotiation: versions, EPC format, media type ----------------------------------------


@pytest.mark.parametrize(("headers", "status"), [
    ({"GS1-EPCIS-Min": "1.2", "GS1-EPCIS-Max": "2.0"}, 200),
    ({"GS1-EPCIS-Min": "2.0.0", "GS1-CBV-Max": "3"}, 200),
    ({"GS1-CBV-Min": "1.2.0", "GS1-CBV-Max": "2.0.0"}, 200),
    ({"GS1-EPCIS-Min": "2.0.1"}, 406),
    ({"GS1-EPCIS-Max": "1.2"}, 406),
    ({"GS1-CBV-Min": "2.1"}, 406),
    ({"GS1-CBV-Max": "1.2.0"}, 406),
    ({"GS1-EPCIS-Min": "two"}, 406),
    ({"GS1-EPC-Format": "Never_Translates"}, 200),
    ({"GS1-EPC-Format": "Sometimes"}, 406),
    ({"GS1-CBV-XML-Format": "Always_URN"}, 200),
    ({"GS1-CBV-XML-Format": "URN_please"}, 406),
    ({"Accept": "application/ld+json"}, 200),
    ({"Accept": "application/xml"}, 406),
])
def test_the_gs1_request_headers_are_honoured(client, admin, headers, status):
    response = client.get(f"{BASE}/events", headers={**admin, **headers})
    assert response.status_code == status, response.get_data(as_text=True)
    if status == 406:
        assert problem(response)["type"] == "epcisException:NotAcceptableException"


def test_a_version_outside_is_refused_saying_which(client, admin):
    response = client.get(f"{BASE}/events", headers={**admin, "GS1-EPCIS-Min": "3.0"})
    assert problem(response)["detail"] == (
        "this server speaks EPCIS 2.0.0 only; GS1-EPCIS-Min: 3.0 leaves it out")


def test_a_document_of_another_epcis_version_is_not_acceptable(client, admin):
    response = client.post(f"{BASE}/events", json=event(),
                           headers={**admin, "GS1-EPCIS-Version": "1.2"})
    assert response.status_code == 406
    assert problem(response)["detail"] == (
        "this server takes EPCIS 2.0.0 documents, not GS1-EPCIS-Version: 1.2")


def test_epc_urns_are_not_made_and_the_refusal_says_why(client, admin):
    response = client.get(f"{BASE}/events", headers={**admin, "GS1-EPC-Format": "Always_EPC_URN"})
    assert response.status_code == 406
    assert "GS1 Company Prefix's length" in problem(response)["detail"]


def events_of(response: Any) -> list[dict[str, Any]]:
    body = response.get_json()
    return body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]  # type: ignore[no-any-return]


def test_epcs_are_returned_as_digital_links_on_request(client, admin):
    document = json.loads(EXAMPLE.read_text())
    assert client.post(f"{BASE}/capture", headers=admin, json=document).status_code == 202
    plain = events_of(client.get(f"{BASE}/events?perPage=10", headers=admin))
    assert {e["epcList"][0] for e in plain} == {"urn:epc:id:sgtin:0614141.107346.2017",
                                                "urn:epc:id:sgtin:0614141.107346.2018"}
    asked = client.get(f"{BASE}/events?perPage=10",
                       headers={**admin, "GS1-EPC-Format": "Always_GS1_Digital_Link"})
    assert asked.status_code == 200
    linked = events_of(asked)
    assert sorted(e["epcList"] for e in linked) == [
        ["https://id.gs1.org/01/10614141073464/21/2017",
         "https://id.gs1.org/01/10614141073464/21/2018"],
        ["https://id.gs1.org/01/10614141073464/21/2018"]]
    assert {e["readPoint"]["id"] for e in linked} == {"https://id.gs1.org/414/0614141073467/254/1234",
                                                      "https://id.gs1.org/414/0012345111112/254/400"}
    kept = client.get(f"{BASE}/events?perPage=10",
                      headers={**admin, "GS1-EPC-Format": "Never_Translates"})
    assert events_of(kept) == plain


def test_every_epc_field_of_an_event_is_translated():
    urn, link = "urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"
    sscc, sscc_link = "urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"
    lgtin = "urn:epc:class:lgtin:4012345.012345.998877"
    party = "urn:epc:id:pgln:0614141.00001"
    translated = epcis_binding.to_digital_link({
        "type": "AggregationEvent", "parentID": sscc, "childEPCs": [urn, "https://example.com/x"],
        "childQuantityList": [{"epcClass": lgtin, "quantity": 2}],
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.07346.0"},
        "sourceList": [{"type": "owning_party", "source": party}],
        "destinationList": [{"type": "owning_party", "destination": "urn:example:private"}]})
    assert translated == {
        "type": "AggregationEvent", "parentID": sscc_link,
        "childEPCs": [link, "https://example.com/x"],
        "childQuantityList": [{"epcClass": "https://id.gs1.org/01/04012345123456/10/998877",
                               "quantity": 2}],
        "bizLocation": {"id": "https://id.gs1.org/414/0614141073467"},
        "sourceList": [{"type": "owning_party", "source": "https://id.gs1.org/417/0614141000012"}],
        "destinationList": [{"type": "owning_party", "destination": "urn:example:private"}]}


# --- the binding's root ---------------------------------------------------------------------


def test_the_root_lists_the_top_level_resources_the_server_has(app, client, admin):
    response = client.get(f"{BASE}/", headers=admin)
    assert response.status_code == 200
    routed = {rule.rule for rule in app.url_map.iter_rules()}
    assert response.get_json() == {
        "@context": CONTEXT, "type": "Collection",
        "member": [name for name in epcis_binding.TOP_LEVEL if f"{BASE}/{name}" in routed]}
    assert {"events", "capture"} <= set(response.get_json()["member"])
