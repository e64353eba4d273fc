"""Field scans judged against the real maps, violations and their review, over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from geopy.distance import geodesic
from sqlalchemy import func, select

from tracker.db import make_session_factory
from tracker.domain.serials import ALPHABET, with_check_character
from tracker.models import Scan, Serial, Violation
from tracker.services import custody, demo, issuing, masterdata
from tracker.services.auth import SYSTEM
from tracker.services.territory_cache import territory_index

GTIN = demo.demo_gtin("00011")
OTHER_GTIN = demo.demo_gtin("00028")
BRAND, T1, T2, R_ZJ, T1_ZJ = (demo.pgln(r) for r in ("00001", "10001", "11002", "12009", "10002"))
SHENZHEN = (22.54, 114.06)
GUANGZHOU = (23.13, 113.26)
HANGZHOU = (30.27, 120.15)
NEW_YORK = (40.71, -74.00)
T0 = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def world(db, settings):  # type: ignore[no-untyped-def]
    """Real China/US maps, a brand, GD tier-1, Shenzhen tier-2, a Zhejiang retailer."""
    with make_session_factory(db)() as session, session.begin():
        demo.load_maps(session)
        for gtin in (GTIN, OTHER_GTIN):
            masterdata.create_product(session, gtin=gtin, name=gtin, company_prefix_length=7,
                                      actor=SYSTEM)
        for pid, role, area, parent in [
            (BRAND, "brand", ["CN", "US"], None), (T1, "distributor", ["CN-GD"], BRAND),
            (T2, "distributor", ["CN-GD-SZ"], T1), (T1_ZJ, "distributor", ["CN-ZJ"], BRAND),
            (R_ZJ, "retailer", ["CN-ZJ"], T1_ZJ)]:
            masterdata.create_party(session, id=pid, name=pid, role=role, territories=area,
                                    parent=parent, actor=SYSTEM)
        batch = issuing.issue_batch(session, gtin=GTIN, territory="CN-GD", quantity=30,
                                    party=BRAND, actor=SYSTEM, settings=settings)
        serials = sorted(session.scalars(select(Serial.serial)
                                         .where(Serial.batch_id == batch.id)))
    return {"batch": batch.id, "serials": serials}


@pytest.fixture()
def inspector(make_token):  # type: ignore[no-untyped-def]
    return bearer(make_token("inspector"))


@pytest.fixture()
def compliance(make_token):  # type: ignore[no-untyped-def]
    return bearer(make_token("compliance"))


def uri(serial: str, gtin: str = GTIN) -> str:
    return f"https://id.example.com/01/{gtin}/21/{serial}"


def scan(client, headers, code, point, *, at=T0, status=201, **extra):  # type: ignore[no-untyped-def]
    body = {"code": code, "latitude": point[0], "longitude": point[1],
            "scanned_at": at.isoformat(), **extra}
    response = client.post("/api/v1/scans", json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def hand_off(db, chain, serials):  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session, session.begin():
        for sender, receiver in chain:
            shipment = custody.record_shipment(session, from_party=sender, to_party=receiver,
                                               codes=serials, actor=SYSTEM)
            custody.receive_shipment(session, shipment_id=shipment.id, actor=SYSTEM)


def test_deep_inside_is_authentic(client, world, inspector):
    answer = scan(client, inspector, uri(world["serials"][0]), GUANGZHOU)
    assert {k: answer[k] for k in ("verdict", "near_border", "expected_territories",
                                   "found_territory", "responsible_party", "violation_id")} == {
        "verdict": "authentic", "near_border": False, "expected_territories": ["CN-GD"],
        "found_territory": "CN-GD-GZ", "responsible_party": None, "violation_id": None}


def test_deep_outside_is_diverted_with_nobody_responsible_when_nothing_shipped(
        client, world, inspector):
    answer = scan(client, inspector, uri(world["serials"][0]), HANGZHOU)
    assert answer["verdict"] == "diverted"
    assert answer["found_territory"] == "CN-ZJ-HZ"
    assert answer["responsible_party"] is None and answer["violation_id"] is not None


def test_tier2_custody_narrows_the_expectation(client, world, inspector, db):
    hand_off(db, [(BRAND, T1), (T1, T2)], world["serials"][:2])
    inside = scan(client, inspector, uri(world["serials"][0]), SHENZHEN)
    assert (inside["verdict"], inside["expected_territories"]) == ("authentic", ["CN-GD-SZ"])
    elsewhere = scan(client, inspector, uri(world["serials"][1]), GUANGZHOU)
    assert (elsewhere["verdict"], elsewhere["found_territory"]) == ("diverted", "CN-GD-GZ")
    assert elsewhere["responsible_party"] == T2


def test_hand_off_to_an_unauthorised_receiver_two_tiers_down_names_its_sender(
        client, world, inspector, db):
    hand_off(db, [(BRAND, T1), (T1, T2), (T2, R_ZJ)], world["serials"][:1])
    answer = scan(client, inspector, uri(world["serials"][0]), HANGZHOU)
    assert answer["verdict"] == "diverted"
    assert answer["responsible_party"] == T2
    assert answer["expected_territories"] == ["CN-GD-SZ"]


def test_items_shipped_inside_a_pallet_name_the_sender_of_the_pallet(
        client, world, inspector, db):
    # The items' hand-offs come from the pallet's shipments, not their own.
    with make_session_factory(db)() as session, session.begin():
        (pallet,) = custody.create_containers(session, party=BRAND, kind="pallet",
                                              company_prefix="9506000", actor=SYSTEM)
        custody.pack(session, party=BRAND, container=pallet.sscc,
                     codes=world["serials"][:3], actor=SYSTEM)
    hand_off(db, [(BRAND, T1), (T1, R_ZJ)], [pallet.sscc])
    answer = scan(client, inspector, uri(world["serials"][1]), HANGZHOU)
    assert (answer["verdict"], answer["responsible_party"]) == ("diverted", T1)
    untouched = scan(client, inspector, uri(world["serials"][5]), HANGZHOU)
    assert (untouched["verdict"], untouched["responsible_party"]) == ("diverted", None)


def border_point(session, metres: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """A point in Hunan `metres` north of Guangdong, on the real map."""
    index = territory_index(session)
    point = demo.point_outside(index, "CN-GD", (26.0, 113.0), metres, bearing=180)
    assert index.most_specific(point[1], point[0]) == "CN-HN"
    assert abs(index.distance_to_boundary_m(["CN-GD"], point[1], point[0]) - metres) < 1
    return point


def test_within_gps_accuracy_of_the_border_is_near_border_not_a_violation(
        client, world, inspector, db):
    with make_session_factory(db)() as session:
        point = border_point(session, 40.0)
    near = scan(client, inspector, uri(world["serials"][0]), point, accuracy_m=100)
    assert (near["verdict"], near["near_border"], near["violation_id"]) == (
        "authentic", True, None)
    assert near["found_territory"] == "CN-HN"
    far = scan(client, inspector, uri(world["serials"][1]), point, accuracy_m=10)
    assert (far["verdict"], far["near_border"]) == ("diverted", False)


def test_unknown_serial_opens_one_violation_and_later_scans_attach(client, world, inspector,
                                                                    db, compliance):
    fake = with_check_character("23456789ABCDEF")
    assert fake not in world["serials"]
    first = scan(client, inspector, uri(fake), SHENZHEN)
    second = scan(client, inspector, uri(fake), SHENZHEN, at=T0 + dt.timedelta(days=1))
    assert first["verdict"] == second["verdict"] == "unknown_code"
    assert first["violation_id"] == second["violation_id"]
    detail = client.get(f"/api/v1/violations/{first['violation_id']}",
                        headers=compliance).get_json()
    assert detail["scan_count"] == 2 and [s["scan_id"] for s in detail["scans"]] == [
        first["scan_id"], second["scan_id"]]
    assert [a["action"] for a in detail["audit"]] == ["opened", "evidence"]


def test_right_serial_with_the_wrong_gtin_is_unknown(client, world, inspector):
    answer = scan(client, inspector, uri(world["serials"][0], OTHER_GTIN), GUANGZHOU)
    assert answer["verdict"] == "unknown_code" and "gtin_mismatch" in answer["flags"]


def test_wrong_check_character_is_unknown_not_a_typo(client, world, inspector):
    serial = world["serials"][0]
    wrong = serial[:-1] + next(c for c in ALPHABET if c != serial[-1])
    answer = scan(client, inspector, uri(wrong), GUANGZHOU)
    assert answer["verdict"] == "unknown_code" and "bad_check_character" in answer["flags"]


def test_recalled_batch(client, world, inspector, compliance):
    response = client.post(f"/api/v1/batches/{world['batch']}/recall", headers=compliance,
                           json={"reason": "contaminated lot"})
    assert response.status_code == 200 and response.get_json()["status"] == "recalled"
    answer = scan(client, inspector, uri(world["serials"][0]), GUANGZHOU)
    assert answer["verdict"] == "recalled"
    again = client.post(f"/api/v1/batches/{world['batch']}/recall", headers=compliance,
                        json={"reason": "again"})
    assert again.status_code == 409


def test_two_scans_2000_km_apart_within_an_hour_is_a_clone(client, world, inspector):
    serial = world["serials"][0]
    scan(client, inspector, uri(serial), SHENZHEN)
    beijing = (39.90, 116.40)
    assert geodesic(SHENZHEN, beijing).km > 1900
    clone = scan(client, inspector, uri(serial), beijing, at=T0 + dt.timedelta(minutes=50))
    assert clone["verdict"] == "suspected_clone"
    scan(client, inspector, uri(world["serials"][1]), SHENZHEN)
    slow = scan(client, inspector, uri(world["serials"][1]), GUANGZHOU,
                at=T0 + dt.timedelta(days=3))
    assert slow["verdict"] == "authentic"


def test_retried_client_scan_id_returns_the_first_answer_and_stores_nothing(
        client, world, inspector, db):
    body = {"client_scan_id": "phone-7:42"}
    first = scan(client, inspector, uri(world["serials"][0]), HANGZHOU, **body)
    again = scan(client, inspector, uri(world["serials"][0]), GUANGZHOU, **body)
    assert again == first
    with make_session_factory(db)() as session:
        assert session.scalar(select(func.count()).select_from(Scan)) == 1
        assert session.scalar(select(func.count()).select_from(Violation)) == 1


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"latitude": 91}, 422, "invalid_coordinates"),
        ({"longitude": -180.5}, 422, "invalid_coordinates"),
        ({"latitude": math.nan}, 422, "invalid_coordinates"),
        ({"latitude": "22.5"}, 422, "invalid_field"),
        ({"code": "hello world"}, 400, "malformed_code"),
        ({"scanned_at": "yesterday"}, 422, "invalid_field"),
    ],
)
def test_bad_scans_are_refused_and_nothing_is_stored(client, world, inspector, db, change,
                                                      status, code):
    body = {"code": uri(world["serials"][0]), "latitude": 22.5, "longitude": 114.0, **change}
    response = client.post("/api/v1/scans", data=json.dumps(body),
                           headers={**inspector, "Content-Type": "application/json"})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    with make_session_factory(db)() as session:
        assert session.scalar(select(func.count()).select_from(Scan)) == 0


def test_missing_field_is_named(client, world, inspector):
    response = client.post("/api/v1/scans", json={"code": uri(world["serials"][0]),
                                                  "latitude": 22.5}, headers=inspector)
    assert response.status_code == 422
    assert response.get_json()["error"] == {"code": "missing_field",
                                            "message": "field 'longitude' is required"}


def test_violation_review_workflow_is_audited(client, world, inspector, compliance):
    answer = scan(client, inspector, uri(world["serials"][0]), HANGZHOU)
    vid = answer["violation_id"]
    path = f"/api/v1/violations/{vid}"
    assert client.patch(path, json={"status": "resolved", "note": "x"},
                        headers=compliance).status_code == 409
    assert client.patch(path, json={"status": "investigating"},
                        headers=compliance).status_code == 422
    step = client.patch(path, json={"status": "investigating", "note": "asked GD"},
                        headers=compliance)
    assert step.status_code == 200
    done = client.patch(path, json={"status": "confirmed", "note": "photos match"},
                        headers=compliance).get_json()
    assert done["status"] == "confirmed"
    trail = [(a["action"], a["from_status"], a["to_status"], a["note"]) for a in done["audit"]]
    assert trail[1:] == [
        ("status", "open", "investigating", "asked GD"),
        ("status", "investigating", "confirmed", "photos match")]
    assert client.patch(path, json={"status": "confirmed", "note": "x"},
                        headers=inspector).status_code == 403
    listing = client.get("/api/v1/violations?status=confirmed&type=diverted",
                         headers=compliance).get_json()
    assert [v["id"] for v in listing["items"]] == [vid]


def test_distributor_sees_only_violations_attributed_to_it(client, world, inspector, db,
                                                            make_token):
    hand_off(db, [(BRAND, T1), (T1, T2), (T2, R_ZJ)], world["serials"][:1])
    vid = scan(client, inspector, uri(world["serials"][0]), HANGZHOU)["violation_id"]
    t2 = bearer(make_token("distributor", T2))
    t1 = bearer(make_token("distributor", T1))
    assert [v["id"] for v in client.get("/api/v1/violations", headers=t2)
            .get_json()["items"]] == [vid]
    assert client.get("/api/v1/violations", headers=t1).get_json()["items"] == []
    assert client.get(f"/api/v1/violations/{vid}", headers=t1).status_code == 403
    assert client.get("/api/v1/violations", headers=inspector).status_code == 403


def test_trace_lists_events_and_scans_in_time_order(client, world, inspector, db, compliance):
    hand_off(db, [(BRAND, T1)], world["serials"][:1])
    scan(client, inspector, uri(world["serials"][0]), GUANGZHOU)
    trace = client.get(f"/api/v1/serials/{world['serials'][0]}/trace",
                       headers=compliance).get_json()
    assert trace["territory"] == "CN-GD" and trace["custodian"] == T1
    assert [e["biz_step"] for e in trace["events"]] == ["commissioning", "shipping",
                                                         "receiving"]
    assert [s["verdict"] for s in trace["scans"]] == ["authentic"]
    assert trace["disposition"] == "in_progress"


def test_cli_scan_prints_the_same_json(run_cli, world):
    result = run_cli("scan", uri(world["serials"][0]), "--lat", str(HANGZHOU[0]),
                     "--lon", str(HANGZHOU[1]))
    answer = json.loads(result.stdout)
    assert answer["verdict"] == "diverted" and answer["found_territory"] == "CN-ZJ-HZ"
    bad = run_cli("scan", "nonsense", "--lat", str(HANGZHOU[0]), "--lon", str(HANGZHOU[1]),
                  check=False)
    assert bad.returncode == 1 and json.loads(bad.stderr)["error"]["code"] == "malformed_code"
