"""Cases and pallets declared by EPCIS alone (a packing line's own system, SSCCs this
system never issued): packed, shipped by SSCC, unpacked, and the contradictions that
become custody exceptions - through the HTTP API, as an integrator drives it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.integration.network import GTIN, Network, build
from tracker.db import make_session_factory
from tracker.domain.codes import container_key
from tracker.domain.gs1 import make_sscc, sscc_urn
from tracker.models import Container, CustodyState
from tracker.services.events import party_uri

PREFIX = "4012345"  # a GS1 company prefix no party here issues SSCCs under
START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def size() -> int:
    """Serials issued to the brand (the 10,000-item tests parametrize it)."""
    return 20


@pytest.fixture()
def net(db, settings, size):  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session, session.begin():
        return build(session, settings, quantity=size)


@pytest.fixture()
def tokens(make_token, net):  # type: ignore[no-untyped-def]
    return {"admin": bearer(make_token("admin")), "t1": bearer(make_token("distributor", "t1")),
            "compliance": bearer(make_token("compliance"))}


def case(i: int) -> str:
    return make_sscc(PREFIX, i, extension_digit=1)


def pallet(i: int = 1) -> str:
    return make_sscc(PREFIX, i, extension_digit=3)


def dl(sscc: str) -> str:
    return f"https://id.gs1.org/00/{sscc}"


def urn(sscc: str) -> str:
    return sscc_urn(sscc, company_prefix_length=len(PREFIX))


def item(serial: str) -> str:
    return f"https://id.gs1.org/01/{GTIN}/21/{serial}"


def at(second: int) -> str:
    return (START + dt.timedelta(seconds=second)).isoformat().replace("+00:00", "Z")


def aggregation(parent: str, children: list[str] | None, second: int,
                action: str = "ADD") -> dict:
    event = {"type": "AggregationEvent", "eventTime": at(second),
             "eventTimeZoneOffset": "+00:00", "parentID": parent, "action": action,
             "bizStep": "packing" if action == "ADD" else "unpacking"}
    if children is not None:
        event["childEPCs"] = children
    return event


def hop(step: str, epcs: list[str], source: str, destination: str, second: int) -> dict:
    return {"type": "ObjectEvent", "eventTime": at(second), "eventTimeZoneOffset": "+00:00",
            "epcList": epcs, "action": "OBSERVE", "bizStep": step,
            "disposition": "in_transit" if step == "shipping" else "in_progress",
            "sourceList": [{"type": "owning_party", "source": party_uri(source)}],
            "destinationList": [{"type": "owning_party", "destination": party_uri(destination)}]}


def document(events: list[dict]) -> dict:
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-03-02T07:00:00Z", "epcisBody": {"eventList": events}}


def capture(client, tokens, events: list[dict]) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/epcis/capture", json=document(events),
                           headers=tokens["admin"])
    assert response.status_code == 202, response.get_json()
    job = client.get(response.headers["Location"], headers=tokens["admin"]).get_json()
    assert job["success"] is True and job["errors"] == [], job
    return job


def exceptions(client, tokens) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    items = client.get("/api/v1/custody-exceptions?limit=1000",
                       headers=tokens["compliance"]).get_json()["items"]
    return sorted((e["kind"], e["key"]) for e in items)


def states(db, keys: list[str]) -> dict[str, tuple[str | None, str, str | None]]:  # type: ignore[no-untyped-def]
    """(custodian, disposition, container) of each key, read from the database."""
    found = {}
    with make_session_factory(db)() as session:
        for part in range(0, len(keys), 2_000):
            found.update({s.key: (s.custodian, s.disposition, s.container)
                          for s in session.scalars(select(CustodyState).where(
                              CustodyState.key.in_(keys[part:part + 2_000])))})
    return found


def packing_line(serials: list[str], cases: int, per_case: int) -> list[dict]:
    """Each case packed with its items (cases as EPC URNs), then the cases onto a pallet
    (as a Digital Link), one second apart."""
    events = [aggregation(urn(case(c)), [item(s) for s in serials[c * per_case:
                                                                   (c + 1) * per_case]], c)
              for c in range(cases)]
    return events + [aggregation(dl(pallet()), [dl(case(c)) for c in range(cases)], cases)]


def assert_received_by_t1(db, net: Network, cases: int, per_case: int) -> None:  # type: ignore[no-untyped-def]
    keys = [net.key(i) for i in range(cases * per_case)]
    found = states(db, keys)
    expected = {net.key(c * per_case + j): ("t1", "in_progress", container_key(case(c)))
                for c in range(cases) for j in range(per_case)}
    assert found == expected
    cases_now = states(db, [container_key(case(c)) for c in range(cases)])
    assert set(cases_now.values()) == {("t1", "in_progress", container_key(pallet()))}


@pytest.mark.slow
@pytest.mark.parametrize("size", [10_000])
def test_a_pallet_packed_by_epcis_alone_ships_its_10000_items_through_shipments(
        client, net, db, tokens):
    capture(client, tokens, packing_line(net.serials, cases=100, per_case=100))
    assert exceptions(client, tokens) == []
    shipped = client.post("/api/v1/shipments", headers=tokens["admin"],
                          json={"from": "brand", "to": "t1", "codes": [dl(pallet())]})
    assert shipped.status_code == 201, shipped.get_json()
    shipment = shipped.get_json()["id"]
    received = client.post(f"/api/v1/shipments/{shipment}/receive", headers=tokens["t1"])
    assert received.status_code == 200 and received.get_json()["status"] == "received"
    assert_received_by_t1(db, net, cases=100, per_case=100)


@pytest.mark.slow
@pytest.mark.parametrize("size", [10_000])
def test_a_pallet_packed_and_shipped_in_one_epcis_document_moves_its_10000_items(
        client, net, db, tokens):
    events = packing_line(net.serials, cases=100, per_case=100)
    events += [hop("shipping", [urn(pallet())], "brand", "t1", 200),
               hop("receiving", [dl(pallet())], "brand", "t1", 300)]
    capture(client, tokens, events)
    assert exceptions(client, tokens) == []
    listing = client.get("/api/v1/shipments?to=t1", headers=tokens["t1"]).get_json()
    assert [(s["from"], s["status"]) for s in listing["items"]] == [("brand", "received")]
    assert_received_by_t1(db, net, cases=100, per_case=100)


def test_events_apply_in_event_time_order_whatever_the_document_order(
        client, net, db, tokens):
    events = packing_line(net.serials, cases=2, per_case=3)
    events.append(hop("shipping", [dl(pallet())], "brand", "t1", 10))
    capture(client, tokens, list(reversed(events)))
    assert exceptions(client, tokens) == []
    found = states(db, [net.key(i) for i in range(7)])
    assert {found[net.key(i)][:2] for i in range(6)} == {("brand", "in_transit")}
    assert net.key(6) not in found  # never packed, never moved


def test_the_declared_containers_belong_to_the_childrens_custodian(client, net, db, tokens):
    capture(client, tokens, packing_line(net.serials, cases=2, per_case=3))
    with make_session_factory(db)() as session:
        made = {(c.sscc, c.kind, c.party_id) for c in session.scalars(select(Container))}
    assert made == {(case(0), "case", "brand"), (case(1), "case", "brand"),
                    (pallet(), "pallet", "brand")}


def test_delete_unpacks_the_listed_children_or_everything_without_a_list(
        client, net, db, tokens):
    capture(client, tokens, packing_line(net.serials, cases=2, per_case=3))
    capture(client, tokens, [aggregation(dl(case(0)), [item(net.serials[0])], 20, "DELETE"),
                             aggregation(urn(pallet()), None, 21, "DELETE")])
    found = states(db, [net.key(i) for i in range(6)]
                   + [container_key(case(0)), container_key(case(1))])
    assert found[net.key(0)] == ("brand", "active", None)
    assert found[net.key(1)] == ("brand", "active", container_key(case(0)))
    assert found[container_key(case(0))] == ("brand", "active", None)
    assert found[container_key(case(1))] == ("brand", "active", None)
    # Shipping the case now moves what is still in it, and nothing else.
    shipped = client.post("/api/v1/shipments", headers=tokens["admin"],
                          json={"from": "brand", "to": "t1", "codes": [case(0)]})
    assert shipped.status_code == 201
    after = states(db, [net.key(i) for i in range(6)])
    assert [after[net.key(i)][1] for i in range(6)] == (
        ["active", "in_transit", "in_transit", "active", "active", "active"])
    assert exceptions(client, tokens) == []


def test_a_commissioned_sscc_is_registered_empty_and_filled_by_packing(
        client, net, db, tokens):
    commissioning = {"type": "ObjectEvent", "eventTime": at(0), "eventTimeZoneOffset": "+00:00",
                     "epcList": [dl(case(7))], "action": "ADD", "bizStep": "commissioning",
                     "disposition": "active"}
    capture(client, tokens, [commissioning])
    with make_session_factory(db)() as session:
        made = session.get_one(Container, case(7))
        assert (made.kind, made.party_id) == ("case", None)
    capture(client, tokens, [aggregation(urn(case(7)), [item(s) for s in net.serials[:2]], 1)])
    with make_session_factory(db)() as session:
        assert session.get_one(Container, case(7)).party_id == "brand"
    shipped = client.post("/api/v1/shipments", headers=tokens["admin"],
                          json={"from": "brand", "to": "t1", "codes": [urn(case(7))]})
    assert shipped.status_code == 201
    assert {v[:2] for v in states(db, [net.key(0), net.key(1)]).values()} == {
        ("brand", "in_transit")}


def test_contradictions_are_custody_exceptions_and_change_nothing(client, net, db, tokens):
    shipped = client.post("/api/v1/shipments", headers=tokens["admin"],
                          json={"from": "brand", "to": "t1", "codes": [net.serials[5]]})
    client.post(f"/api/v1/shipments/{shipped.get_json()['id']}/receive", headers=tokens["t1"])
    capture(client, tokens, [
        aggregation(dl(case(0)), [item(s) for s in net.serials[0:2]], 0),
        # serial 1 is in case 0 already
        aggregation(dl(case(1)), [item(s) for s in net.serials[1:3]], 1),
        # serial 5 is t1's: brand, holding the others, cannot pack it
        aggregation(dl(case(2)), [item(s) for s in net.serials[3:6]], 2),
        # case 0 on the pallet, then the pallet into case 0
        aggregation(dl(pallet()), [dl(case(0))], 3),
        aggregation(dl(case(0)), [dl(pallet())], 4),
        # serial 9 was never packed in case 1
        aggregation(dl(case(1)), [item(net.serials[9])], 5, "DELETE"),
    ])
    assert exceptions(client, tokens) == sorted([
        ("already_packed", net.key(1)), ("not_held", net.key(5)),
        ("invalid_packing", container_key(pallet())), ("not_packed", net.key(9))])
    messages = {e["kind"]: e["message"] for e in client.get(
        "/api/v1/custody-exceptions", headers=tokens["compliance"]).get_json()["items"]}
    assert messages["already_packed"] == (
        f"{item(net.serials[1])} was packed into {dl(case(1))} but is already packed in "
        f"{dl(case(0))}; it stays there")
    assert messages["not_held"] == (
        f"{item(net.serials[5])} was packed into {dl(case(2))} but is held by t1, not by "
        "the container's holder brand")
    found = states(db, [net.key(i) for i in (1, 5, 9)] + [container_key(pallet())])
    assert found[net.key(1)] == ("brand", "active", container_key(case(0)))
    assert found[net.key(5)] == ("t1", "in_progress", None)
    assert found[container_key(pallet())] == ("brand", "active", None)
