"""Signing in and issuing tokens are rate-limited in the database (every server process
counts the same attempts): per user name and per client for signing in, a lock-out that
ends with its window; per user for tokens. Refusals are 429 with Retry-After."""

from __future__ import annotations

import pytest

from tests.pages import PASSWORDS, sign_in
from tracker.config import Settings
from tracker.errors import InvalidInput


@pytest.fixture()
def strict(db, database_url):  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app({"TESTING": True}, settings=Settings(
        database_url=database_url, sign_in_user_limit="3/hour",
        sign_in_client_limit="6/hour", token_limit="2/hour"))
    yield app
    app.extensions["tracker.engine"].dispose()


def test_a_user_name_is_locked_out_after_too_many_attempts(strict, users):
    client = strict.test_client()
    name = users["compliance"]
    answers = [sign_in(client, name, "wrong").status_code for _ in range(3)]
    locked = sign_in(client, name, PASSWORDS["compliance"])  # even the right password

    assert answers == [401, 401, 401]
    assert locked.status_code == 429
    # A sliding window: the hour before weighs on the next one, so up to two hours.
    assert 0 < int(locked.headers["Retry-After"]) <= 2 * 3600
    assert "Too many sign-in attempts. Wait" in locked.get_data(as_text=True)
    assert client.get("/compliance/").status_code == 302  # not signed in
    # The name counts however it is written; another user signs in meanwhile.
    assert sign_in(client, name.upper(), "wrong").status_code == 429
    assert sign_in(client, users["admin"], PASSWORDS["admin"]).status_code == 302


def test_a_client_trying_many_names_is_refused(strict, users):
    client = strict.test_client()
    answers = [sign_in(client, f"someone-{n}", "guess").status_code for n in range(6)]
    # A forged X-Forwarded-For does not make another client (no trusted proxy is set).
    refused = sign_in(client, users["admin"], PASSWORDS["admin"],
                      **{"X-Forwarded-For": "198.51.100.9"})

    assert answers == [401] * 6
    assert refused.status_code == 429 and refused.headers["Retry-After"]


def test_the_lock_out_is_shown_in_chinese(strict, users):
    client = strict.test_client()
    for _ in range(3):
        sign_in(client, users["inspector"], "wrong")
    locked = sign_in(client, users["inspector"], "wrong", **{"Accept-Language": "zh-CN"})

    assert locked.status_code == 429
    assert "登录尝试次数过多" in locked.get_data(as_text=True)


def test_tokens_issued_to_a_user_are_limited(strict, make_token):
    token = make_token("inspector")  # issued by the service, not counted
    client = strict.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    answers = [client.post("/api/v1/tokens", headers=headers) for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].get_json()["error"]["code"] == "rate_limited"
    assert int(answers[2].headers["Retry-After"]) > 0


def test_a_limit_that_does_not_read_stops_the_server_at_start(db, database_url):
    from web import create_app

    with pytest.raises(InvalidInput, match="must look like 30/minute"):
        create_app({"TESTING": True}, settings=Settings(database_url=database_url,
                                                        sign_in_user_limit="ten a minute"))


def test_the_limits_are_read_from_the_environment():
    settings = Settings.from_env({"TRACKER_SIGN_IN_USER_LIMIT": "5/minute",
                                  "TRACKER_SIGN_IN_CLIENT_LIMIT": "50/hour",
                                  "TRACKER_TOKEN_LIMIT": "3/day"})

    assert (settings.sign_in_user_limit, settings.sign_in_client_limit,
            settings.token_limit) == ("5/minute", "50/hour", "3/day")
