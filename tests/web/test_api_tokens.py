"""Bearer tokens as their owners manage them: list, issue another, revoke."""

from __future__ import annotations

import json

from tests.web.test_api import bearer, error_of


def test_a_user_issues_itself_another_token_that_works(client, make_token):
    first = make_token("inspector")
    response = client.post("/api/v1/tokens", headers=bearer(first))
    assert response.status_code == 201
    second = response.get_json()
    assert second["token"].startswith(second["prefix"]) and second["revoked_at"] is None
    me = client.get("/api/v1/me", headers=bearer(second["token"])).get_json()
    assert me["role"] == "inspector"
    listed = client.get("/api/v1/tokens", headers=bearer(first)).get_json()["items"]
    assert [t["id"] for t in listed] == [second["id"], second["id"] - 1]
    assert all("token" not in t for t in listed)  # only prefixes, never the tokens


def test_a_revoked_token_is_refused_at_once(client, make_token):
    token = make_token("inspector")
    spare = client.post("/api/v1/tokens", headers=bearer(token)).get_json()
    # Used once, so the server remembers it as good.
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    own = [t for t in client.get("/api/v1/tokens", headers=bearer(token)).get_json()["items"]
           if t["id"] != spare["id"]][0]
    response = client.delete(f"/api/v1/tokens/{own['id']}", headers=bearer(spare["token"]))
    assert response.status_code == 200 and response.get_json()["revoked_at"] is not None
    refused = client.get("/api/v1/me", headers=bearer(token))
    assert refused.status_code == 401
    assert error_of(refused)["code"] == "invalid_token"
    assert client.get("/api/v1/me", headers=bearer(spare["token"])).status_code == 200


def test_revoking_a_revoked_token_is_a_conflict_and_an_unknown_one_404(client, make_token):
    token = make_token("compliance")
    spare = client.post("/api/v1/tokens", headers=bearer(token)).get_json()
    assert client.delete(f"/api/v1/tokens/{spare['id']}", headers=bearer(token)).status_code == 200
    again = client.delete(f"/api/v1/tokens/{spare['id']}", headers=bearer(token))
    assert again.status_code == 409 and error_of(again)["code"] == "already_revoked"
    missing = client.delete("/api/v1/tokens/999999", headers=bearer(token))
    assert missing.status_code == 404 and error_of(missing)["code"] == "unknown_token"


def test_only_an_admin_touches_another_users_tokens(client, make_token, admin):
    victim = make_token("inspector")
    victim_id = client.get("/api/v1/tokens", headers=bearer(victim)).get_json()["items"][0]["id"]
    other = make_token("inspector")
    refused = client.delete(f"/api/v1/tokens/{victim_id}", headers=bearer(other))
    assert refused.status_code == 403 and error_of(refused)["code"] == "forbidden"
    assert client.get("/api/v1/me", headers=bearer(victim)).status_code == 200
    name = client.get("/api/v1/me", headers=bearer(victim)).get_json()["name"]
    listing = client.get(f"/api/v1/tokens?user={name}", headers=bearer(other))
    assert listing.status_code == 403
    listed = client.get(f"/api/v1/tokens?user={name}", headers=admin).get_json()["items"]
    assert [t["id"] for t in listed] == [victim_id]
    assert client.delete(f"/api/v1/tokens/{victim_id}", headers=admin).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(victim)).status_code == 401


def test_the_cli_lists_issues_and_revokes_tokens(run_cli):
    user = json.loads(run_cli("users", "create", "carol", "--role", "inspector").stdout)
    issued = json.loads(run_cli("users", "token", "carol").stdout)
    listed = json.loads(run_cli("users", "tokens", "carol").stdout)
    assert [t["id"] for t in listed] == [issued["id"], issued["id"] - 1]
    assert user["token"].startswith(listed[1]["prefix"])
    revoked = json.loads(run_cli("users", "revoke-token", str(issued["id"])).stdout)
    assert revoked["id"] == issued["id"] and revoked["revoked_at"]
    again = run_cli("users", "revoke-token", str(issued["id"]), check=False)
    assert again.returncode == 1
    assert json.loads(again.stderr)["error"]["code"] == "already_revoked"


def test_a_token_revoked_by_another_process_stops_working_within_the_cache_time(
        client, make_token, db, monkeypatch):
    import time

    import web.api
    from tracker.db import make_session_factory
    from tracker.services.auth import SYSTEM, revoke_token

    token = make_token("inspector")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    token_id = client.get("/api/v1/tokens", headers=bearer(token)).get_json()["items"][0]["id"]
    # As the CLI or another server process would: straight in the database.
    with make_session_factory(db)() as session, session.begin():
        revoke_token(session, token_id, actor=SYSTEM)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200  # remembered
    later = time.monotonic() + web.api.TOKEN_CACHE_SECONDS + 0.1
    monkeypatch.setattr(web.api.time, "monotonic", lambda: later)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert web.api.TOKEN_CACHE_SECONDS <= 5


def test_an_expired_token_is_refused_saying_so(client, db):
    import datetime as dt

    from tracker.db import make_session_factory
    from tracker.services.auth import SYSTEM, create_user, issue_token

    with make_session_factory(db)() as session, session.begin():
        user, lasting = create_user(session, name="phone-user", role="inspector",
                                    actor=SYSTEM)
        ended = issue_token(session, user, lifetime=dt.timedelta(seconds=-1))
        running = issue_token(session, user, lifetime=dt.timedelta(days=1))

    refused = client.get("/api/v1/tokens", headers=bearer(ended))
    assert refused.status_code == 401
    error = error_of(refused)
    assert error["code"] == "token_expired" and error["message"].endswith("; sign in again")
    listed = client.get("/api/v1/tokens", headers=bearer(running)).get_json()["items"]
    # A token made by the service or the CLI never expires; a device's does.
    assert sorted(t["expires_at"] is None for t in listed) == [False, False, True]
    assert client.get("/api/v1/tokens", headers=bearer(lasting)).status_code == 200
