"""GS1's own EPCIS 2.0 REST binding (``tests/data/standards/epcis/rest/openapi.yaml``, GS1's
file as published) as the acceptance test of /api/v1/epcis: schemathesis makes requests
from GS1's description and judges the answers by it, through the app's WSGI interface,
authenticated as admin over a small world of captured events.

Three tests:

* every operation GS1 describes (every path and method, OPTIONS included) is answered by
  a route of ours: called with names that exist (a captured event's ID, its EPC, its
  read point ...), none answers 405, or 404 because no route is there (a 404 for a
  named thing that does not exist is an answer; a missing route is not);
* the same calls, their answers judged by GS1's schemas (generated names rarely exist,
  so this is where an existing event, capture job or query is looked at);
* for every operation, requests made from GS1's description get no 5xx, a status and
  media type GS1 documents, and bodies and headers matching GS1's schemas.

The copy schemathesis loads is GS1's, rewritten where it cannot be used as it is:

* its schemas ``$ref`` GS1's website, ``https://gs1.github.io/EPCIS/REST%20Bindings/
  JSON-Schema-Stub.json#/definitions/<name>`` (epcisQueryDocument, EPCIS-Document-Event,
  ObjectEvent, bizStep, ...). The stub is not in the standard's files and a test reads
  nothing from the network, so each becomes ``#/components/schemas/EPCIS.<name>``, the
  definition of that name in ``tests/data/standards/epcis/EPCIS-JSON-Schema.json`` (the
  schema the EPCIS service checks documents against), every definition copied into the
  components with its own ``#/definitions/`` references rewritten the same way;
* ``example`` values that ``$ref`` GS1's example files on the web are dropped (examples,
  not schemas);
* ``openapi: 3.0.3`` becomes ``3.1.0``: the EPCIS JSON schema is draft-07 (``if``/``then``
  choose an event's schema by its type), which OpenAPI 3.0's schema dialect lacks and its
  Draft 4 validator would skip, so events in answers would go unchecked. GS1's yaml uses
  nothing 3.0-only (no ``nullable``, no boolean ``exclusiveMinimum``);
* ``servers`` points at ``/api/v1/epcis`` (GS1's file names no server);
* five slips in GS1's file, each of which would refuse every correct answer:
  ``409ResourceAlreadyExistsException`` says ``status`` is 406; ``CaptureJob`` makes
  ``errors`` and ``errorFile`` a ``oneOf`` of two schemas that both match any job (neither
  requires its member), so each is made to require its member; ``400SubscriptionIssues``
  is the only error given as ``application/json`` / ``application/xml`` rather than
  ``application/problem+json`` / ``+xml``; the ``Link`` header's schema has
  ``format: uri``, which no Link header (``<...>; rel="next"``, GS1's own example) is;
  ``GET /queries/{queryName}`` answers one query (its example and description) but its
  schema is an array of them: either is taken.

* the ``nextPageToken`` query parameter is not generated: GS1 describes it as the value
  that points to the next list of results, which only the server makes (it is in the
  ``Link`` header of the page before). A made-up one is refused with 400 naming it, which
  GS1 documents on no list; ``tests/web/test_epcis_query.py`` follows every listing's
  pages by their Link headers and checks a forged and a released token are refused.

Bounded to about a minute on each database: a few examples per operation, no shrinking,
no stateful phase. Invalid requests are made too, where GS1's schemas allow one; GS1
documents no 400 for most operations (an unreadable ``perPage`` gets 400 all the same),
so for those only a server error or accepting the invalid request is a failure.
A failing operation is reported in one line: the operation and its first problem.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, unquote

import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS
from schemathesis.config import SchemathesisConfig

from tests.conftest import STANDARDS

EPCIS = STANDARDS / "epcis"
BASE = "/api/v1/epcis"
STUB = "https://gs1.github.io/EPCIS/REST%20Bindings/JSON-Schema-Stub.json#/definitions/"
EXAMPLES = 4
SEEDED = ("Example_9.6.1-ObjectEvent.jsonld", "Example_9.6.3-AggregationEvent.jsonld")
EPC = "urn:epc:id:sgtin:0614141.107346.2018"  # in Example_9.6.1, and GS1's yaml's example
READ_POINT = "urn:epc:id:sgln:0012345.11111.400"
BIZ_LOCATION = "urn:epc:id:sgln:0012345.11111.0"
QUERY_NAME = "gs1AcceptanceQuery"
NEXT_PAGE_TOKEN = "#/components/parameters/NextPageToken"
# Checks for requests GS1's schemas call invalid: GS1 documents no 400 on most operations.
NEGATIVE_CHECKS = ("not_a_server_error", "negative_data_rejection")


# --- GS1's file, made loadable ----------------------------------------------------------


def _component(definition: str) -> str:
    return "#/components/schemas/EPCIS." + unquote(definition).replace("@", "at-")


def _rewritten(value: Any) -> Any:
    """External and JSON-schema ``$ref``s as components; web-hosted examples dropped."""
    if isinstance(value, list):
        return [_rewritten(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key == "example" and isinstance(item, dict) and str(item.get("$ref", "")).startswith(
                "http"):
            continue
        if key == "$ref" and isinstance(item, str):
            if item.startswith(STUB):
                item = _component(item.removeprefix(STUB))
            elif item.startswith("#/definitions/"):
                item = _component(item.removeprefix("#/definitions/"))
            assert item.startswith("#/components/"), f"a $ref left outside: {item}"
        out[key] = _rewritten(item)
    return out


def gs1_document() -> dict[str, Any]:
    """GS1's binding as schemathesis loads it (see the module's docstring)."""
    document = yaml.safe_load((EPCIS / "rest" / "openapi.yaml").read_text(encoding="utf-8"))
    assert document["openapi"] == "3.0.3"
    document["openapi"] = "3.1.0"
    document["servers"] = [{"url": BASE}]
    definitions = json.loads((EPCIS / "EPCIS-JSON-Schema.json").read_text())["definitions"]
    schemas = document["components"]["schemas"]
    for name, definition in definitions.items():
        schemas[_component(name).rsplit("/", 1)[1]] = definition
    document = _rewritten(document)
    responses = document["components"]["responses"]
    for content in responses["409ResourceAlreadyExistsException"]["content"].values():
        status = content["schema"]["allOf"][0]["properties"]["status"]
        assert status["enum"] == [406]
        status.update(enum=[409], default=409)
    for branch, member in zip(document["components"]["schemas"]["CaptureJob"]["allOf"][1][
            "oneOf"], ("errors", "errorFile"), strict=True):
        assert list(branch["properties"]) == [member]
        branch["required"] = [member]
    subscription = responses["400SubscriptionIssues"]["content"]
    subscription["application/problem+json"] = subscription.pop("application/json")
    subscription["application/problem+xml"] = subscription.pop("application/xml")
    link = document["components"]["schemas"]["Link"]
    assert link.pop("format") == "uri"
    one_query = document["paths"]["/queries/{queryName}"]["get"]["responses"]["200"]
    queries = one_query["content"]["application/json"]["schema"]
    one_query["content"]["application/json"]["schema"] = {"anyOf": [queries, queries["items"]]}
    # Page tokens are the server's to make: not generated (see the module's docstring).
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [p for p in operation["parameters"]
                                           if p.get("$ref") != NEXT_PAGE_TOKEN]
    return document


def operations_of(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, item in document["paths"].items()
            for method in item if method != "parameters"]


# --- a small world ------------------------------------------------------------------------


def one_event(n: int) -> dict[str, Any]:
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "ObjectEvent", "eventID": f"urn:uuid:6a0b6d44-1d2e-4c3a-9a1b-{n:012d}",
            "action": "OBSERVE", "bizStep": "inspecting", "disposition": "active",
            "eventTime": f"2024-01-01T10:{n % 60:02d}:00Z", "eventTimeZoneOffset": "+00:00",
            "epcList": [f"urn:epc:id:sgtin:0614141.107346.9{n}"],
            "readPoint": {"id": READ_POINT}}


def seed(client: Any, headers: dict[str, str]) -> dict[str, str]:
    """GS1's example documents captured, one event posted alone, a named query and a
    subscription where those routes exist: a name that exists for each path variable."""
    known = {"eventType": "ObjectEvent", "epc": EPC, "bizStep": "shipping",
             "bizLocation": BIZ_LOCATION, "readPoint": READ_POINT, "disposition": "in_transit",
             "queryName": QUERY_NAME, "subscriptionID": "none", "token": "none"}
    # The first document twice: the last capture job lists errors (its duplicates).
    for name in (*SEEDED, SEEDED[0]):
        response = client.post(f"{BASE}/capture", headers=headers,
                               json=json.loads((EPCIS / "JSON" / name).read_text()))
        assert response.status_code == 202, response.get_data(as_text=True)
        known["captureID"] = response.get_json()["captureID"]
    posted = client.post(f"{BASE}/events", headers=headers, json=one_event(0))
    assert posted.status_code == 201, posted.get_data(as_text=True)
    known["eventID"] = one_event(0)["eventID"]
    page = client.get(f"{BASE}/events?perPage=1", headers=headers)
    link = re.search(r"nextPageToken=([^&>]+)", page.headers.get("Link", ""))
    if link:
        known["token"] = unquote(link.group(1))
    query = client.post(f"{BASE}/queries", headers=headers, json={
        "name": QUERY_NAME, "query": {"eventType": ["ObjectEvent"]}})
    if query.status_code == 201:
        subscribed = client.post(f"{BASE}/queries/{QUERY_NAME}/subscriptions", headers=headers,
                                 json={"dest": "https://example.com/epcis-callback",
                                       "reportIfEmpty": False, "stream": True})
        if subscribed.status_code == 201 and isinstance(subscribed.get_json(), dict):
            body = subscribed.get_json()
            known["subscriptionID"] = str(body.get("subscriptionID", body.get("id", "none")))
    return known


def request_for(method: str, path: str, known: dict[str, str], n: int) -> dict[str, Any]:
    """A request to an operation with names that exist, and a body GS1's schema takes."""
    url = BASE + re.sub(r"\{(\w+)\}", lambda m: quote(known[m.group(1)], safe=""), path)
    body: Any = None
    if (method, path) == ("POST", "/capture"):
        body = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument", "schemaVersion": "2.0",
                "creationDate": "2024-01-01T00:00:00Z",
                "epcisBody": {"eventList": [one_event(n)]}}
    elif (method, path) == ("POST", "/events"):
        body = one_event(n)
    elif (method, path) == ("POST", "/queries"):
        body = {"name": f"{QUERY_NAME}{n}", "query": {"eventType": ["ObjectEvent"]}}
    elif (method, path) == ("POST", "/queries/{queryName}/subscriptions"):
        body = {"dest": "https://example.com/epcis-callback", "reportIfEmpty": False,
                "stream": True}
    return {"method": method, "path": url, "json": body}


def test_every_gs1_operation_has_a_route(app, client, admin):  # type: ignore[no-untyped-def]
    known = seed(client, admin)
    document = gs1_document()
    adapter = app.url_map.bind("localhost")
    missing: list[str] = []
    # Deleting comes last, so the query and its subscription are there for the others.
    ordered = sorted(operations_of(document), key=lambda op: op[0] == "DELETE")
    for n, (method, path) in enumerate(ordered, start=1):
        call = request_for(method, path, known, n)
        response = client.open(call["path"], method=method, json=call["json"], headers=admin)
        status = response.status_code
        body = response.get_json(silent=True) or {}
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        routed = True
        try:
            adapter.match(unquote(call["path"]).split("?")[0], method=method)
        except Exception:  # noqa: BLE001 - NotFound, MethodNotAllowed, a redirect: no route
            routed = False
        if not routed or status == 405 or (status == 404 and code == "not_found"):
            missing.append(f"{method} {path}: {status} {code or ''}".rstrip())
    print(f"\nGS1 operations: {len(ordered)}, without a route: {len(missing)}")
    assert missing == [], "\n".join(missing)


# --- schemathesis ---------------------------------------------------------------------------


def test_names_that_exist_are_answered_as_gs1_describes(app, client, admin):  # type: ignore[no-untyped-def]
    # Generated names rarely exist (most answers are 404): here each operation is asked
    # once about the seeded ones, and its answer judged by GS1's schemas.
    known = seed(client, admin)
    schema = gs1_schema(app, admin)
    operations = sorted((result.ok() for result in schema.get_all_operations()),
                        key=lambda op: op.method.upper() == "DELETE")
    failures: list[str] = []
    for n, operation in enumerate(operations, start=1):
        call = request_for(operation.method.upper(), operation.path, known, n)
        asked: dict[str, Any] = {"path_parameters": {
            name: known[name] for name in re.findall(r"\{(\w+)\}", operation.path)}}
        if call["json"] is not None:
            asked |= {"body": call["json"], "media_type": "application/json"}
        try:
            operation.Case(**asked).call_and_validate(headers=admin)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - each is reported
            failures.append(f"{operation.label}: {first_problem(exc)}")
    print(f"\nGS1 operations asked about names that exist: {len(operations)}, "
          f"answers GS1 refuses: {len(failures)}")
    assert failures == [], "\n".join(failures)


def gs1_schema(app: Any, headers: dict[str, str]) -> Any:
    config = SchemathesisConfig.from_dict({
        "headers": headers,
        # A valid request often names an event or a query that does not exist (404): the
        # binding's answer, not a fault.
        "checks": {"positive_data_acceptance": {"enabled": False}},
        # A failure's request is shown as sent (a page token too); the bearer token is
        # taken out of the report below.
        "output": {"sanitization": {"enabled": False}},
    })
    schema = schemathesis.openapi.from_dict(gs1_document(), config=config)
    schema.app = app
    return schema


def first_problem(exc: BaseException) -> str:
    """One line from schemathesis' report: the first problem, the answer, the request."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    check = next((line for line in lines if line.startswith("- ")), lines[0] if lines else "")
    at = lines.index(check) if check in lines else 0
    detail = next((line for line in lines[at + 1:at + 3] if not line.startswith("Schema")), "")
    answer = next((line for line in lines if re.match(r"\[\d{3}\] ", line)), "")
    sent = next((line for line in lines if line.startswith("curl ")), "")
    sent = re.sub(r" -H 'Authorization: [^']*'| --insecure", "", sent)
    text = f"{check} {detail[:160]} | answer {answer} | {sent[:240]}"
    return re.sub(r"\s+", " ", text)


def hypothesis_test(operation: Any, mode: GenerationMode, headers: dict[str, str],
                    counted: list[int]) -> Any:
    """The operation's requests of one mode as a Hypothesis test, with its checks."""
    checks = ({"checks": CHECKS.get_by_names(list(NEGATIVE_CHECKS))}
              if mode == GenerationMode.NEGATIVE else {})

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        counted.append(1)
        case.call_and_validate(headers=headers, **checks)

    return run


def test_the_binding_answers_as_gs1_describes_it(app, client, admin):  # type: ignore[no-untyped-def]
    # Each operation is run as a Hypothesis test of its own (as in test_schemathesis.py);
    # every failure is collected.
    seed(client, admin)
    schema = gs1_schema(app, admin)
    operations = [result.ok() for result in schema.get_all_operations()]
    counted: list[int] = []
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                hypothesis_test(operation, mode, admin, counted)()
            except Unsatisfiable:  # nothing in the operation can be made invalid
                continue
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - each is reported
                failures.append(f"{operation.label} ({mode.value}): {first_problem(exc)}")
    print(f"\nGS1 schemathesis: {len(counted)} cases over {len(operations)} operations, "
          f"{len(failures)} failing")
    assert len(operations) == len(operations_of(gs1_document()))
    assert failures == [], "\n".join(failures)


def test_the_loaded_copy_refers_to_nothing_outside_itself():
    refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(gs1_document()))
    assert refs and all(ref.startswith("#/components/") for ref in refs)
    assert "#/components/schemas/EPCIS.epcisQueryDocument" in refs
