"""The webhooks API: subscribing, listing without secrets, who may do what, deliveries
with every attempt, redelivery, enabling again, and a scan posted over HTTP notifying."""

from __future__ import annotations

import base64

import pytest

from tests.integration.network import build
from tests.integration.test_webhooks import IN_B, policy, receiving, settle
from tracker.db import make_session_factory, write_transaction
from tracker.services import notify


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def net(db, settings):  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session, write_transaction(session):
        return build(session, settings)


def subscribe(client, admin, url="https://example.com/hook",  # type: ignore[no-untyped-def]
              events=("violation.opened",)):
    response = client.post("/api/v1/webhooks", json={"url": url, "events": list(events)},
                           headers=admin)
    assert response.status_code == 201, response.json
    return response.json


def test_subscribing_answers_the_id_and_a_standard_webhooks_secret(client, admin):
    created = subscribe(client, admin, events=["violation.opened", "batch.recalled"])
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    listed = client.get("/api/v1/webhooks", headers=admin).json["items"]
    assert listed == [{
        "id": created["id"], "url": "https://example.com/hook",
        "events": ["violation.opened", "batch.recalled"], "created_at": listed[0]["created_at"],
        "created_by": listed[0]["created_by"], "enabled": True, "failing_since": None,
        "disabled_at": None, "disabled_reason": None}]
    assert "secret" not in listed[0]


@pytest.mark.parametrize("body, code, message", [
    ({"url": "ftp://example.com/x", "events": ["violation.opened"]}, "invalid_url",
     "field 'url' is 'ftp://example.com/x': a webhook needs an http:// or https:// address "
     "with a host"),
    ({"url": "https://example.com", "events": []}, "invalid_events",
     "field 'events' is empty: name at least one of violation.opened, violation.updated, "
     "shipment.received, batch.recalled, sanction.proposed, sanction.updated"),
    ({"url": "https://example.com", "events": ["violation.closed"]}, "unknown_event",
     "field 'events' names 'violation.closed', not an event type; the types are "
     "violation.opened, violation.updated, shipment.received, batch.recalled, "
     "sanction.proposed, sanction.updated"),
    ({"url": "https://example.com", "events": "violation.opened"}, "invalid_field",
     "field 'events' must be a list, not 'violation.opened'"),
    ({"events": ["violation.opened"]}, "missing_field", "field 'url' is required"),
])
def test_a_bad_subscription_is_refused_naming_the_field(client, admin, body, code, message):
    response = client.post("/api/v1/webhooks", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json == {"error": {"code": code, "message": message}}
    assert client.get("/api/v1/webhooks", headers=admin).json["items"] == []


def test_only_admins_manage_webhooks_and_compliance_reads_them(client, admin, make_token,
                                                               net):
    created = subscribe(client, admin)
    compliance = bearer(make_token("compliance"))
    assert client.get("/api/v1/webhooks", headers=compliance).status_code == 200
    assert client.get(f"/api/v1/webhooks/{created['id']}/deliveries",
                      headers=compliance).status_code == 200
    refused = client.post("/api/v1/webhooks", json={"url": "https://example.com/2",
                                                    "events": ["batch.recalled"]},
                          headers=compliance)
    assert refused.status_code == 403
    assert refused.json["error"]["message"] == ("role 'compliance' may not manage webhooks; "
                                                "it needs one of: admin")
    assert client.delete(f"/api/v1/webhooks/{created['id']}",
                         headers=compliance).status_code == 403
    for role, party in (("inspector", None), ("distributor", "t1")):
        headers = bearer(make_token(role, party))
        assert client.get("/api/v1/webhooks", headers=headers).status_code == 403


def test_deleting_a_webhook_removes_it_and_its_deliveries(client, admin, db):
    created = subscribe(client, admin)
    with make_session_factory(db)() as session, write_transaction(session):
        assert notify.emit(session, "violation.opened", {"id": 1}) is not None
    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/webhooks", headers=admin).json["items"] == []
    missing = client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=admin)
    assert missing.status_code == 404
    assert missing.json["error"] == {"code": "unknown_webhook",
                                     "message": f"webhook {created['id']} does not exist"}
    with make_session_factory(db)() as session, write_transaction(session):
        assert notify.emit(session, "violation.opened", {"id": 2}) is None  # nobody listens


def test_a_scan_over_http_is_delivered_and_redelivered_on_request(
        client, admin, make_token, net, db, settings):
    with receiving(statuses=[500]) as receiver:
        created = subscribe(client, admin, url=receiver.url)
        scanned = client.post("/api/v1/scans", headers=bearer(make_token("inspector")), json={
            "code": net.serials[0], "latitude": IN_B[0], "longitude": IN_B[1],
            "accuracy_m": 5})
        assert scanned.json["verdict"] == "diverted"
        deliveries = f"/api/v1/webhooks/{created['id']}/deliveries"
        (pending,) = client.get(deliveries, headers=admin).json["items"]
        assert pending["type"] == "violation.opened" and pending["status"] == "pending"
        assert pending["attempts"] == [] and pending["delivered_at"] is None
        settle(db, policy())
        (done,) = client.get(deliveries, headers=admin).json["items"]
        assert done["status"] == "delivered"
        assert [(a["status_code"], a["error"]) for a in done["attempts"]] == [
            (500, "the receiver answered 500"), (200, None)]
        again = client.post(f"{deliveries}/{done['id']}/redeliver", headers=admin)
        assert again.status_code == 202
        assert again.json["status"] == "pending"
        settle(db, policy())
        (redone,) = client.get(deliveries, headers=admin).json["items"]
        assert [a["status_code"] for a in redone["attempts"]] == [500, 200, 200]
        assert [r.id for r in receiver.received] == [pending["message_id"]] * 3
        assert receiver.received[0].verified(created["secret"])["data"]["id"] == \
            scanned.json["violation_id"]


def test_redelivering_an_unknown_delivery_is_404(client, admin):
    created = subscribe(client, admin)
    response = client.post(f"/api/v1/webhooks/{created['id']}/deliveries/99/redeliver",
                           headers=admin)
    assert response.status_code == 404
    assert response.json["error"] == {"code": "unknown_delivery",
                                      "message": f"webhook {created['id']} has no delivery 99"}


def test_a_disabled_webhook_is_held_and_enabled_again(client, admin, db):
    created = subscribe(client, admin)
    path = f"/api/v1/webhooks/{created['id']}"
    held = client.patch(path, json={"enabled": False}, headers=admin)
    assert held.json["enabled"] is False and held.json["disabled_reason"].startswith(
        "disabled by ")
    with make_session_factory(db)() as session, write_transaction(session):
        assert notify.emit(session, "violation.opened", {"id": 1}) is None
    resumed = client.patch(path, json={"enabled": True}, headers=admin)
    assert resumed.json["enabled"] is True and resumed.json["disabled_reason"] is None
    with make_session_factory(db)() as session, write_transaction(session):
        assert notify.emit(session, "violation.opened", {"id": 2}) is not None


def test_the_openapi_document_describes_the_webhooks(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert set(paths["/webhooks"]) == {"get", "post"}
    assert set(paths["/webhooks/{webhook_id}"]) == {"patch", "delete"}
    assert "get" in paths["/webhooks/{webhook_id}/deliveries"]
    assert "post" in paths["/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"]
    created = paths["/webhooks"]["post"]["responses"]["201"]["content"]["application/json"]
    assert created["schema"] == {"$ref": "#/components/schemas/WebhookCreated"}
