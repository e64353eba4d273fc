"""The pages' foundation through Flask's test client: sign-in, server-side sessions and
their cookie, CSRF, each role's home, error pages in the layout, the two languages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from tests.pages import PASSWORDS, csrf_of, heading, sign_in
from tracker.db import make_session_factory
from tracker.models import WebSession


def test_the_front_page_says_what_this_is_and_leads_to_sign_in(client):
    page = client.get("/")
    text = page.get_data(as_text=True)

    assert page.status_code == 200
    assert heading(page) == "Stop channel diversion"
    assert 'href="/login"' in text
    assert page.headers.get("Set-Cookie") is None  # a visit leaves no session behind


@pytest.mark.parametrize(("role", "home", "title"), [
    ("admin", "/admin/", "Administration"), ("compliance", "/compliance/", "What needs attention"),
    ("inspector", "/scan", "Scanner · tracker"), ("distributor", "/portal/", "My distribution")])
def test_each_role_lands_on_its_own_home(client, users, role, home, title):
    response = sign_in(client, users[role], PASSWORDS[role])

    assert (response.status_code, response.headers["Location"]) == (302, home)
    page = client.get(home)
    if role == "inspector":  # the scanner app, a shell whose script shows the right view
        assert f"<title>{title}</title>" in page.get_data(as_text=True)
    else:
        assert heading(page) == title


def test_a_wrong_password_is_refused_with_a_message(client, users):
    response = sign_in(client, users["compliance"], "wrong")

    assert response.status_code == 401
    assert "Wrong user name or password." in response.get_data(as_text=True)
    assert client.get("/compliance/").status_code == 302  # still signed out


def test_signing_in_goes_back_to_the_page_asked_for_but_never_off_site(client, users):
    asked = client.get("/compliance/violations?type=diverted")
    assert asked.headers["Location"] == "/login?next=/compliance/violations?type%3Ddiverted"

    token = csrf_of(client.get("/login").get_data(as_text=True))
    back = client.post("/login?next=/compliance/violations?type%3Ddiverted", data={
        "username": users["compliance"], "password": PASSWORDS["compliance"],
        "csrf_token": token})
    assert back.headers["Location"] == "/compliance/violations?type=diverted"

    client.post("/logout", data={"csrf_token": csrf_of(client.get("/compliance/").get_data(
        as_text=True))})
    token = csrf_of(client.get("/login").get_data(as_text=True))
    away = client.post("/login?next=//evil.example/x", data={
        "username": users["compliance"], "password": PASSWORDS["compliance"],
        "csrf_token": token})
    assert away.headers["Location"] == "/compliance/"


@pytest.mark.parametrize(("role", "page"), [
    ("inspector", "/compliance/"), ("inspector", "/compliance/violations"),
    ("distributor", "/compliance/"), ("compliance", "/admin/"), ("distributor", "/inspector/"),
    ("inspector", "/portal/")])
def test_a_page_of_another_role_is_refused_in_the_layout(client, users, role, page):
    sign_in(client, users[role], PASSWORDS[role])

    response = client.get(page)

    assert response.status_code == 403
    assert heading(response) == "Not allowed"
    assert 'data-error="403"' in response.get_data(as_text=True)


def test_an_unknown_page_is_a_404_in_the_layout_and_the_api_keeps_its_json(client):
    page = client.get("/no-such-page")
    api = client.get("/api/v1/no-such-thing")

    assert (page.status_code, heading(page)) == (404, "Page not found")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_a_form_without_a_valid_csrf_token_is_refused_and_changes_nothing(client, users, db):
    missing = client.post("/login", data={"username": users["admin"],
                                          "password": PASSWORDS["admin"]})
    forged = client.post("/login", data={"username": users["admin"],
                                         "password": PASSWORDS["admin"], "csrf_token": "x"})

    assert (missing.status_code, forged.status_code) == (400, 400)
    assert heading(missing) == "The request could not be handled"
    assert client.get("/admin/").status_code == 302  # not signed in
    with make_session_factory(db)() as session:
        assert session.scalar(select(func.count()).select_from(WebSession).where(
            WebSession.user_id.is_not(None))) == 0


def test_the_session_cookie_is_http_only_and_same_site_lax(client, users):
    response = sign_in(client, users["admin"], PASSWORDS["admin"])
    cookie = response.headers["Set-Cookie"]

    assert cookie.startswith("tracker_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_over_https_the_session_cookie_is_secure(client, users):
    token = csrf_of(client.get("/login", base_url="https://localhost").get_data(as_text=True))
    response = client.post("/login", base_url="https://localhost", data={
        "username": users["admin"], "password": PASSWORDS["admin"], "csrf_token": token})

    assert "Secure" in response.headers["Set-Cookie"]


def test_signing_in_starts_a_new_session_and_signing_out_ends_it(client, users):
    client.get("/login")
    before = client.get_cookie("tracker_session").value
    sign_in(client, users["admin"], PASSWORDS["admin"])
    during = client.get_cookie("tracker_session").value
    assert during != before

    token = csrf_of(client.get("/admin/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    client.set_cookie("tracker_session", during)  # the old cookie, replayed
    assert client.get("/admin/").status_code == 302


def test_an_idle_session_expires(client, users, db, app):
    sign_in(client, users["admin"], PASSWORDS["admin"])
    assert client.get("/admin/").status_code == 200
    idle = dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    with make_session_factory(db)() as session, session.begin():
        for row in session.scalars(select(WebSession)):
            row.last_seen_at = row.last_seen_at - idle

    assert client.get("/admin/").status_code == 302


def test_the_browser_language_picks_chinese_and_the_switch_sticks(client, users):
    chinese = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert heading(chinese) == "制止窜货"

    switched = client.get("/language?lang=en&next=/login",
                          headers={"Accept-Language": "zh-CN"})
    assert switched.headers["Location"] == "/login"
    english = client.get("/", headers={"Accept-Language": "zh-CN"})
    assert heading(english) == "Stop channel diversion"


def test_pages_carry_security_headers_and_no_inline_script(client):
    response = client.get("/")
    text = response.get_data(as_text=True)

    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text) == []


def test_api_calls_leave_no_web_session(client, admin, db):
    client.get("/api/v1/territories", headers=admin)

    with make_session_factory(db)() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0


@pytest.mark.parametrize(("ago", "written"), [(dt.timedelta(seconds=10), False),
                                              (dt.timedelta(minutes=2), True)])
def test_a_page_view_notes_the_sessions_use_at_most_once_a_minute(client, users, db, ago,
                                                                    written):
    sign_in(client, users["admin"], PASSWORDS["admin"])
    client.get("/admin/")  # the first page after signing in stores its new CSRF token
    with make_session_factory(db)() as session, session.begin():
        row = session.scalars(select(WebSession).where(WebSession.user_id.is_not(None))).one()
        row.last_seen_at = before = row.last_seen_at - ago

    assert client.get("/admin/").status_code == 200
    with make_session_factory(db)() as session:
        after = session.scalars(select(WebSession.last_seen_at).where(
            WebSession.user_id.is_not(None))).one()
    assert (after != before) is written


def test_signing_in_clears_away_sessions_left_idle(client, users, db, app):
    client.get("/login")  # an anonymous session, never used again
    idle = dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    with make_session_factory(db)() as session, session.begin():
        (row,) = session.scalars(select(WebSession)).all()
        row.last_seen_at -= idle
        stale = row.id_hash

    other = app.test_client()
    sign_in(other, users["admin"], PASSWORDS["admin"])

    with make_session_factory(db)() as session:
        left = session.scalars(select(WebSession.id_hash)).all()
    assert stale not in left and len(left) == 1
