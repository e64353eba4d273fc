"""Shipments, receipts, containers and EPCIS through the HTTP API."""

from __future__ import annotations

import json
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp

from tests.conftest import STANDARDS
from tests.integration.network import GTIN, build
from tracker.db import make_session_factory
from tracker.services.events import party_uri

EPCIS = STANDARDS / "epcis"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def net(db, settings):  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session, session.begin():
        return build(session, settings)


@pytest.fixture()
def tokens(make_token, net):  # type: ignore[no-untyped-def]
    return {p: bearer(make_token("distributor", p)) for p in ("t1", "t2", "t1b")} | {
        "admin": bearer(make_token("admin")), "compliance": bearer(make_token("compliance")),
        "inspector": bearer(make_token("inspector"))}


def test_shipment_lifecycle(client, net, tokens):
    response = client.post("/api/v1/shipments", headers=tokens["admin"],
                           json={"from": "brand", "to": "t1", "codes": net.serials[:4]})
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "in_transit"
    assert response.headers["Location"].endswith(f"/api/v1/shipments/{body['id']}")
    other = client.post(f"/api/v1/shipments/{body['id']}/receive", headers=tokens["t1b"])
    assert other.status_code == 403
    partial = client.post(f"/api/v1/shipments/{body['id']}/receive", headers=tokens["t1"],
                          json={"codes": net.serials[:3]})
    assert partial.status_code == 200
    assert partial.get_json()["status"] == "partially_received"
    assert partial.get_json()["missing"] == [net.serials[3]]
    listing = client.get("/api/v1/shipments?status=partially_received&to=t1",
                         headers=tokens["t1"]).get_json()
    assert [s["id"] for s in listing["items"]] == [body["id"]]
    assert client.get(f"/api/v1/shipments/{body['id']}", headers=tokens["t2"]).status_code == 403


def test_shipping_unheld_codes_is_409_with_the_codes(client, net, tokens):
    response = client.post("/api/v1/shipments", headers=tokens["t1"],
                           json={"from": "t1", "to": "t2", "codes": net.serials[:2]})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "not_held" and net.serials[0] in error["message"]
    assert client.get("/api/v1/shipments", headers=tokens["admin"]).get_json()["total"] == 0


def test_distributor_cannot_ship_for_another_party(client, net, tokens):
    response = client.post("/api/v1/shipments", headers=tokens["t1"],
                           json={"from": "brand", "to": "t1", "codes": net.serials[:1]})
    assert response.status_code == 403


def test_inspector_may_not_ship(client, net, tokens):
    response = client.post("/api/v1/shipments", headers=tokens["inspector"],
                           json={"from": "brand", "to": "t1", "codes": net.serials[:1]})
    assert response.status_code == 403


def capture(client, headers, document, behaviour=None):  # type: ignore[no-untyped-def]
    extra = {"GS1-Capture-Error-Behaviour": behaviour} if behaviour else {}
    response = client.post("/api/v1/epcis/capture", json=document, headers={**headers, **extra})
    assert response.status_code == 202, response.get_json()
    job = client.get(response.headers["Location"], headers=headers).get_json()
    return job


def all_examples() -> list[Path]:
    return sorted((EPCIS / "JSON").rglob("*.jsonld"))


def test_every_official_example_is_captured_once(client, tokens):
    assert len(all_examples()) == 47
    seen_events = 0
    for path in all_examples():
        document = json.loads(path.read_text(encoding="utf-8"))
        job = capture(client, tokens["admin"], document)
        assert job["success"] is True and job["running"] is False, (path, job)
        others = [e for e in job["errors"] if e["code"] != "duplicate_event"]
        assert others == [], (path, others)
        seen_events += job["eventCount"]
    page = client.get("/api/v1/epcis/events?perPage=1000", headers=tokens["compliance"])
    stored = page.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert 0 < len(stored) <= seen_events
    # Capturing them all again stores nothing new.
    for path in all_examples():
        job = capture(client, tokens["admin"], json.loads(path.read_text(encoding="utf-8")))
        assert all(e["code"] == "duplicate_event" for e in job["errors"])
        assert job["capturedCount"] == 0


def test_single_event_twice_is_409(client, tokens):
    document = json.loads((EPCIS / "JSON" / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    event = document["epcisBody"]["eventList"][0]
    event["@context"] = document["@context"]
    first = client.post("/api/v1/epcis/events", json=event, headers=tokens["admin"])
    assert first.status_code == 201
    again = client.post("/api/v1/epcis/events", json=event, headers=tokens["admin"])
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "duplicate_event"
    fetched = client.get(first.headers["Location"], headers=tokens["compliance"])
    assert fetched.status_code == 200  # one event, inside a query document (GS1's binding)
    (only,) = fetched.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert only["type"] == "ObjectEvent" and only["eventID"] == event["eventID"]


def test_schema_invalid_document_is_refused_with_the_reason(client, tokens):
    response = client.post("/api/v1/epcis/capture", headers=tokens["admin"], json={
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2020-01-01T00:00:00Z",
        "epcisBody": {"eventList": [{"type": "ObjectEvent", "action": "OBSERVE"}]}})
    assert response.status_code == 400  # GS1's binding: a ValidationException is 400
    error = response.get_json()["error"]
    assert error["code"] == "epcis_schema_invalid" and "eventTime" in error["message"]


def stored_events(client, headers) -> list[dict]:  # type: ignore[no-untyped-def]
    page = client.get("/api/v1/epcis/events?perPage=1000", headers=headers).get_json()
    return page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_cut_off_upload_is_400_and_stores_nothing(client, tokens):
    text = (EPCIS / "JSON" / "Example_9.6.1-ObjectEvent.jsonld").read_text()
    before = stored_events(client, tokens["compliance"])
    response = client.post("/api/v1/epcis/capture", data=text[: len(text) // 2],
                           headers={**tokens["admin"], "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"
    assert stored_events(client, tokens["compliance"]) == before


def test_query_pages_with_link_next(client, tokens):
    for path in all_examples()[:10]:
        capture(client, tokens["admin"], json.loads(path.read_text(encoding="utf-8")))
    response = client.get("/api/v1/epcis/events?eventType=ObjectEvent&perPage=2",
                          headers=tokens["compliance"])
    events = response.get_json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(events) == 2 and all(e["type"] == "ObjectEvent" for e in events)
    link = response.headers["Link"]
    assert link.endswith('>; rel="next"')
    next_url = link[1: link.index(">")].replace("http://localhost", "")
    second = client.get(next_url, headers=tokens["compliance"]).get_json()
    more = second["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert more and {e["eventID"] for e in more}.isdisjoint({e["eventID"] for e in events})


def event_doc(events: list[dict]) -> dict:
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-01-01T00:00:00Z", "epcisBody": {"eventList": events}}


def hop(kind: str, uris: list[str], source: str, destination: str, minute: int) -> dict:
    step = {"shipping": ("urn:epcglobal:cbv:bizstep:shipping", "in_transit"),
            "receiving": ("https://ref.gs1.org/cbv/BizStep-receiving", "in_progress")}[kind]
    return {"type": "ObjectEvent", "eventTime": f"2026-01-01T10:{minute:02d}:00.000Z",
            "eventTimeZoneOffset": "+00:00", "epcList": uris, "action": "OBSERVE",
            "bizStep": step[0], "disposition": step[1],
            "sourceList": [{"type": "urn:epcglobal:cbv:sdt:owning_party",
                            "source": party_uri(source)}],
            "destinationList": [{"type": "owning_party", "destination": party_uri(destination)}]}


def test_epcis_chain_gives_the_same_custody_as_shipments(client, net, tokens):
    uris = [f"https://id.gs1.org/01/{GTIN}/21/{s}" for s in net.serials]
    chain = [("brand", "t1"), ("t1", "t2"), ("t2", "r")]
    events = []
    for n, (a, b) in enumerate(chain):
        events += [hop("shipping", uris[:2], a, b, 2 * n), hop("receiving", uris[:2], a, b,
                                                              2 * n + 1)]
    job = capture(client, tokens["admin"], event_doc(events))
    assert job["success"] and job["errors"] == []
    for a, b in chain:
        shipped = client.post("/api/v1/shipments", headers=tokens["admin"],
                              json={"from": a, "to": b, "codes": net.serials[2:4]})
        assert shipped.status_code == 201
        assert client.post(f"/api/v1/shipments/{shipped.get_json()['id']}/receive",
                           headers=tokens["admin"]).status_code == 200
    traces = [client.get(f"/api/v1/serials/{s}/trace", headers=tokens["compliance"]).get_json()
              for s in net.serials[:4]]
    assert {t["custodian"] for t in traces} == {"r"}
    hops = [[(c["kind"], c["from"], c["to"]) for c in t["custody"]] for t in traces]
    assert hops[0] == hops[1] == hops[2] == hops[3]
    assert hops[0] == [(k, a, b) for a, b in chain for k in ("ship", "receive")]


def test_epcis_shipping_of_unheld_codes_is_stored_as_a_custody_exception(client, net, tokens):
    uri = f"https://id.gs1.org/01/{GTIN}/21/{net.serials[0]}"
    job = capture(client, tokens["admin"], event_doc([hop("shipping", [uri], "t1", "t2", 0)]))
    assert job["success"] and job["capturedCount"] == 1
    exceptions = client.get("/api/v1/custody-exceptions", headers=tokens["compliance"])
    items = exceptions.get_json()["items"]
    assert [e["kind"] for e in items] == ["not_held"]
    assert "held by brand" in items[0]["message"]
    trace = client.get(f"/api/v1/serials/{net.serials[0]}/trace",
                       headers=tokens["compliance"]).get_json()
    assert trace["custodian"] == "brand"


def test_receipt_from_a_csv_or_scan_list(client, net, tokens):
    ids = []
    for _ in range(2):
        shipped = client.post("/api/v1/shipments", headers=tokens["admin"],
                              json={"from": "brand", "to": "t1", "codes": net.serials[
                                  len(ids) * 3: len(ids) * 3 + 3]})
        ids.append(shipped.get_json()["id"])
    csv_text = "serial,uri\n" + "".join(f"{s},https://id.example.com/01/{GTIN}/21/{s}\n"
                                         for s in net.serials[:2])
    partial = client.post(f"/api/v1/shipments/{ids[0]}/receive", data=csv_text,
                          headers={**tokens["t1"], "Content-Type": "text/csv"})
    assert partial.status_code == 200
    assert partial.get_json()["missing"] == [net.serials[2]]
    scan_list = "\n".join(f"https://id.example.com/01/{GTIN}/21/{s}" for s in net.serials[3:6])
    whole = client.post(f"/api/v1/shipments/{ids[1]}/receive", data=scan_list,
                        headers={**tokens["t1"], "Content-Type": "text/plain"})
    assert whole.get_json()["status"] == "received"
    empty = client.post(f"/api/v1/shipments/{ids[1]}/receive", data="code\n",
                        headers={**tokens["t1"], "Content-Type": "text/csv"})
    assert empty.status_code == 422


def test_one_bad_event_refuses_the_whole_document(client, net, tokens):
    uri = f"https://id.gs1.org/01/{GTIN}/21/{net.serials[0]}"
    good = hop("shipping", [uri], "brand", "t1", 0)
    bad = {**hop("receiving", [uri], "brand", "t1", 1), "eventTime": "yesterday"}
    before = stored_events(client, tokens["compliance"])
    response = client.post("/api/v1/epcis/capture", json=event_doc([good, bad]),
                           headers=tokens["admin"])
    assert response.status_code == 400  # GS1's binding: a ValidationException
    assert "eventList[1].eventTime" in response.get_json()["error"]["message"]
    assert stored_events(client, tokens["compliance"]) == before


def test_sscc_labels_decode_to_their_digital_link(client, net, tokens):
    made = client.post("/api/v1/containers", headers=tokens["t1"],
                       json={"party": "t1", "kind": "case", "count": 3,
                             "company_prefix": "9506000"}).get_json()["items"]
    ssccs = [c["sscc"] for c in made]
    assert ssccs == sorted(ssccs) and all(s.startswith("19506000") for s in ssccs)
    response = client.get("/api/v1/containers/labels.pdf?party=t1", headers=tokens["t1"])
    assert response.status_code == 200
    page = pypdfium2.PdfDocument(response.data)[0]
    decoded = sorted(d.text for d in zxingcpp.read_barcodes(page.render(scale=200 / 72)
                                                             .to_pil()))
    assert decoded == [f"https://id.gs1.org/00/{s}" for s in ssccs]
    assert all(f"(00) {s}" in page.get_textpage().get_text_range() for s in ssccs)
    other = client.get("/api/v1/containers/labels.pdf", headers=tokens["t2"])
    assert other.status_code == 200
