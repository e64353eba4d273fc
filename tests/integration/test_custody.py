"""Custody down the tiers through the services: shipping, receiving, packing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.integration.network import build, distributor
from tracker.errors import Conflict, InvalidInput, MalformedCode, PermissionDenied
from tracker.models import CustodyMove, LineStatus, Shipment, ShipmentStatus
from tracker.services import custody
from tracker.services.auth import SYSTEM


@pytest.fixture()
def net(session, settings):  # type: ignore[no-untyped-def]
    return build(session, settings)


def custodian(session, net, i: int) -> str | None:  # type: ignore[no-untyped-def]
    state = custody.current_state(session, net.key(i), "brand")
    return state.custodian


def test_brand_ships_and_tier1_receives(session, net):
    shipment = custody.record_shipment(session, from_party="brand", to_party="t1",
                                       codes=net.serials[:5], actor=SYSTEM)
    assert shipment.status is ShipmentStatus.IN_TRANSIT and shipment.item_count == 5
    assert custody.current_state(session, net.key(0), "brand").disposition == "in_transit"
    custody.receive_shipment(session, shipment_id=shipment.id, actor=distributor("t1"))
    assert shipment.status is ShipmentStatus.RECEIVED
    assert [custodian(session, net, i) for i in range(6)] == ["t1"] * 5 + ["brand"]


def test_shipping_what_the_sender_does_not_hold_is_409_naming_the_codes(session, net):
    with pytest.raises(Conflict) as info:
        custody.record_shipment(session, from_party="t1", to_party="t2",
                                codes=net.serials[:2], actor=distributor("t1"))
    assert info.value.code == "not_held"
    assert info.value.message == (
        f"'t1' does not hold 2 of the codes: {net.serials[0]} (held by brand), "
        f"{net.serials[1]} (held by brand)")
    assert session.scalar(select(func.count()).select_from(Shipment)) == 0


def test_codes_in_transit_cannot_be_shipped_again(session, net):
    first = custody.record_shipment(session, from_party="brand", to_party="t1",
                                    codes=net.serials[:1], actor=SYSTEM)
    with pytest.raises(Conflict, match=f"in transit in shipment {first.id}"):
        custody.record_shipment(session, from_party="brand", to_party="t1b",
                                codes=net.serials[:1], actor=SYSTEM)


def test_only_the_addressee_receives(session, net):
    shipment = custody.record_shipment(session, from_party="brand", to_party="t1",
                                       codes=net.serials[:1], actor=SYSTEM)
    with pytest.raises(PermissionDenied) as info:
        custody.receive_shipment(session, shipment_id=shipment.id, actor=distributor("t1b"))
    assert info.value.message == (
        f"shipment {shipment.id} is addressed to 't1'; only it may receive it")


def test_receiving_twice_changes_nothing(session, net):
    shipment = custody.record_shipment(session, from_party="brand", to_party="t1",
                                       codes=net.serials[:3], actor=SYSTEM)
    custody.receive_shipment(session, shipment_id=shipment.id, actor=distributor("t1"))
    moves = session.scalar(select(func.count()).select_from(CustodyMove))
    again = custody.receive_shipment(session, shipment_id=shipment.id, actor=distributor("t1"))
    assert again.status is ShipmentStatus.RECEIVED
    assert session.scalar(select(func.count()).select_from(CustodyMove)) == moves


def test_partial_receipt_records_what_is_missing(session, net):
    shipment = custody.record_shipment(session, from_party="brand", to_party="t1",
                                       codes=net.serials[:3], actor=SYSTEM)
    custody.receive_shipment(session, shipment_id=shipment.id, codes=net.serials[:2],
                             actor=distributor("t1"))
    lines = {line.code: line.status for line in custody.shipment_lines(session, shipment.id)}
    assert lines == {net.serials[0]: LineStatus.RECEIVED, net.serials[1]: LineStatus.RECEIVED,
                     net.serials[2]: LineStatus.MISSING}
    assert shipment.status is ShipmentStatus.PARTIALLY_RECEIVED
    assert custodian(session, net, 2) == "brand"
    # The missing one turns up later and is received.
    custody.receive_shipment(session, shipment_id=shipment.id, codes=[net.serials[2]],
                             actor=distributor("t1"))
    assert shipment.status is ShipmentStatus.RECEIVED and custodian(session, net, 2) == "t1"


def test_a_distributor_acts_only_as_its_own_party(session, net):
    with pytest.raises(PermissionDenied) as info:
        custody.record_shipment(session, from_party="brand", to_party="t1",
                                codes=net.serials[:1], actor=distributor("t1"))
    assert info.value.message == (
        "distributor user 'user-of-t1' acts for party 't1' and may not ship goods for "
        "party 'brand'")


def test_unknown_party_and_code_are_named(session, net):
    with pytest.raises(InvalidInput) as info:
        custody.record_shipment(session, from_party="brand", to_party="nobody",
                                codes=net.serials[:1], actor=SYSTEM)
    assert info.value.code == "unknown_party"
    with pytest.raises(InvalidInput) as info:
        custody.record_shipment(session, from_party="brand", to_party="t1",
                                codes=["23456789ABCDEFD"], actor=SYSTEM)
    assert (info.value.code, info.value.message) == (
        "unknown_code", "1 code(s) were never issued here: 23456789ABCDEFD")
    with pytest.raises(MalformedCode):
        custody.record_shipment(session, from_party="brand", to_party="t1",
                                codes=["not a code"], actor=SYSTEM)


def test_shipping_a_pallet_moves_everything_inside_at_any_depth(session, net):
    cases = custody.create_containers(session, party="brand", kind="case", count=2,
                                      company_prefix="9506000", actor=SYSTEM)
    (pallet,) = custody.create_containers(session, party="brand", kind="pallet",
                                          company_prefix="9506000", actor=SYSTEM)
    assert [c.sscc[0] for c in cases] == ["1", "1"] and pallet.sscc.startswith("3")
    custody.pack(session, party="brand", container=cases[0].sscc, codes=net.serials[:3],
                 actor=SYSTEM)
    custody.pack(session, party="brand", container=cases[1].sscc, codes=net.serials[3:6],
                 actor=SYSTEM)
    custody.pack(session, party="brand", container=pallet.sscc,
                 codes=[c.sscc for c in cases], actor=SYSTEM)
    with pytest.raises(Conflict, match=f"packed in 00/{cases[0].sscc}; ship that or unpack"):
        custody.record_shipment(session, from_party="brand", to_party="t1b",
                                codes=[net.serials[0]], actor=SYSTEM)
    shipment = custody.record_shipment(session, from_party="brand", to_party="t1",
                                       codes=[pallet.sscc], actor=SYSTEM)
    assert shipment.item_count == 6
    custody.receive_shipment(session, shipment_id=shipment.id, actor=distributor("t1"))
    assert [custodian(session, net, i) for i in range(7)] == ["t1"] * 6 + ["brand"]
    # Still packed: unpack a case, then its items ship alone.
    custody.unpack(session, party="t1", container=pallet.sscc, actor=distributor("t1"))
    custody.unpack(session, party="t1", container=cases[0].sscc, codes=[net.serials[0]],
                   actor=distributor("t1"))
    alone = custody.record_shipment(session, from_party="t1", to_party="t2",
                                    codes=[net.serials[0]], actor=distributor("t1"))
    assert alone.item_count == 1


def test_packing_what_is_not_held_is_refused(session, net):
    (case,) = custody.create_containers(session, party="t1", kind="case",
                                        company_prefix="9506000", actor=distributor("t1"))
    with pytest.raises(Conflict, match="held by brand"):
        custody.pack(session, party="t1", container=case.sscc, codes=net.serials[:1],
                     actor=distributor("t1"))


def test_trace_of_an_item_in_a_case_on_a_pallet_shows_the_pallet_moves(session, net,
                                                                         settings):
    from tracker.services.trace import trace_serial

    (case,) = custody.create_containers(session, party="brand", kind="case",
                                        company_prefix="9506000", actor=SYSTEM)
    (pallet,) = custody.create_containers(session, party="brand", kind="pallet",
                                          company_prefix="9506000", actor=SYSTEM)
    custody.pack(session, party="brand", container=case.sscc, codes=net.serials[:2],
                 actor=SYSTEM)
    custody.pack(session, party="brand", container=pallet.sscc, codes=[case.sscc],
                 actor=SYSTEM)
    shipment = custody.record_shipment(session, from_party="brand", to_party="t1",
                                       codes=[pallet.sscc], actor=SYSTEM)
    custody.receive_shipment(session, shipment_id=shipment.id, actor=distributor("t1"))
    trace = trace_serial(session, net.serials[0], actor=SYSTEM, settings=settings)
    assert [e["biz_step"] for e in trace["events"]] == [
        "commissioning", "packing", "packing", "shipping", "receiving"]
    assert [(c["kind"], c["from"], c["to"]) for c in trace["custody"]] == [
        ("pack", "brand", "brand"), ("ship", "brand", "t1"), ("receive", "brand", "t1")]
