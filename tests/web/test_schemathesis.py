"""Schemathesis against the generated OpenAPI document, through the app's WSGI interface:
for every operation, valid and invalid requests made from the document get no 5xx, a
documented status and media type, and an answer matching its schema (errors: the error
body). Authenticated as admin over a small seeded world, so the requests reach the views.

Bounded to stay within about a minute on each database: a few examples per operation,
no shrinking, no stateful phase. What cannot be fuzzed sensibly is capped, not skipped:
- a batch's quantity (up to 1,000,000 serials in one request) is capped at 20, and a
  run of SSCCs at 5, so a generated request does not spend minutes writing serials;
- a label PDF's ``limit`` at 50 labels, for the same reason.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

GTIN = "09506000134352"
SQUARE = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"code": "T1", "name": "Test land"},
    "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
}]}
EXAMPLES = 6
CAPS = [  # (component schema, property, most): see the module's docstring
    ("BatchIn", "quantity", 20),
    ("ContainersIn", "count", 5),
]


def seed(client: Any, headers: dict[str, str]) -> None:
    """A territory, a product, a brand and a distributor, a batch, a shipment and a scan
    (a violation): enough for generated requests to find something now and then."""
    api = "/api/v1"
    for path, body in [
        ("/territories", SQUARE),
        ("/products", {"gtin": GTIN, "name": "Tea"}),
        ("/parties", {"id": "brand", "name": "Brand", "role": "brand"}),
        ("/parties", {"id": "dist", "name": "Dist", "role": "distributor",
                      "territories": ["T1"], "parent": "brand"}),
    ]:
        assert client.post(api + path, json=body, headers=headers).status_code == 201
    batch = client.post(f"{api}/batches", headers=headers, json={
        "gtin": GTIN, "territory": "T1", "quantity": 3, "lot": "L1"}).get_json()
    serials = [line.split(",")[0] for line in client.get(
        f"{api}/batches/{batch['id']}/codes", headers=headers).get_data(as_text=True).split()[1:]]
    assert client.post(f"{api}/shipments", headers=headers, json={
        "from": "brand", "to": "dist", "codes": serials[:2]}).status_code == 201
    assert client.post(f"{api}/scans", headers=headers, json={
        "code": serials[0], "latitude": 40.0, "longitude": 40.0,
        "scanned_at": dt.datetime.now(dt.UTC).isoformat()}).status_code == 201


def api_schema(app: Any, client: Any, headers: dict[str, str]) -> Any:
    """The app's document, capped (see the module's docstring), loaded by schemathesis."""
    document = copy.deepcopy(client.get("/api/v1/openapi.json").get_json())
    components = document["components"]["schemas"]
    for name, prop, most in CAPS:
        components[name]["properties"][prop]["maximum"] = most
    labels = document["paths"]["/batches/{batch_id}/labels.pdf"]["get"]["parameters"]
    next(p for p in labels if p["name"] == "limit")["schema"]["maximum"] = 50
    config = SchemathesisConfig.from_dict({
        "headers": headers,
        # Valid requests often meet a 404/409/422 (an id or code that does not exist):
        # the API's answer, not the document's fault.
        "checks": {"positive_data_acceptance": {"enabled": False}},
    })
    schema = schemathesis.openapi.from_dict(document, config=config)
    schema.app = app
    return schema


def modes_for(described: dict[str, Any]) -> list[GenerationMode]:
    """Invalid requests too, where something can be made invalid: a body, a query, an
    integer in the path (any text is a valid path segment; Hypothesis would search long
    for an invalid one before giving up)."""
    open_to_invalid = "requestBody" in described or any(
        p["in"] == "query" or p["schema"].get("type") == "integer"
        for p in described.get("parameters", []))
    return [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if open_to_invalid else [])


def test_the_api_answers_as_its_document_says(app, client, admin):  # type: ignore[no-untyped-def]
    # The schemathesis pytest plugin's own parametrisation needs pytest < 9, so each
    # operation is run here as a Hypothesis test of its own; every failure is collected.
    seed(client, admin)
    schema = api_schema(app, client, admin)
    cases = 0
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        described = schema.raw_schema["paths"][operation.path][operation.method.lower()]
        for mode in modes_for(described):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                nonlocal cases
                cases += 1
                case.call_and_validate(headers=admin)

            try:
                run()
            except Unsatisfiable:  # nothing in the operation can be made invalid
                continue
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - each is reported
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:1500]}")
    print(f"\nschemathesis: {cases} cases over {len(operations)} operations, "
          f"{len(failures)} failing")
    assert len(operations) >= 40
    assert failures == [], "\n\n".join(failures)
