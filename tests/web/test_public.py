"""The public page behind every QR code, over HTTP: verdicts, the consumer check it
records, the shared position and the clone rule, the resolver answers, the rate limit,
and never a party, shipment or custody detail."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.pages import sign_in
from tests.web.test_api_scans import bearer
from tracker.config import Settings
from tracker.db import make_session_factory, utcnow
from tracker.domain.serials import ALPHABET, with_check_character
from tracker.models import Scan, ScanSource, Serial, Violation
from tracker.services import custody, demo, issuing, masterdata, violations
from tracker.services.auth import SYSTEM, Actor, Role

GTIN = demo.demo_gtin("00011")
OTHER_GTIN = demo.demo_gtin("00028")
PRODUCT = "Jasmine Green Tea 250 g"
# Distinctive names and ids: none of them may ever appear on a public answer.
BRAND, BRAND_NAME = "zebra-brand-7731", "Zebracorn Secret Holdings"
DIST, DIST_NAME = "quokka-dist-5520", "Quokkaline Hidden Trading"
SECRETS = (BRAND, BRAND_NAME, DIST, DIST_NAME, "Zebracorn", "Quokkaline", "shipment",
           "custod", "Recall reason: moulds in lot")
BEIJING = (39.90, 116.40)
GUANGZHOU = (23.13, 113.26)
HANGZHOU = (30.27, 120.15)
JSON = {"Accept": "application/json"}


@pytest.fixture()
def world(db, settings):  # type: ignore[no-untyped-def]
    """Real China maps; a brand and a Guangdong distributor with distinctive names; a
    batch for Guangdong (two serials shipped to and received by the distributor) and a
    recalled batch."""
    with make_session_factory(db)() as session, session.begin():
        demo.load_maps(session)
        masterdata.create_product(session, gtin=GTIN, name=PRODUCT, company_prefix_length=7,
                                  actor=SYSTEM)
        masterdata.create_product(session, gtin=OTHER_GTIN, name="Oolong 500 g",
                                  company_prefix_length=7, actor=SYSTEM)
        masterdata.create_party(session, id=BRAND, name=BRAND_NAME, role="brand",
                                territories=["CN"], parent=None, actor=SYSTEM)
        masterdata.create_party(session, id=DIST, name=DIST_NAME, role="distributor",
                                territories=["CN-GD"], parent=BRAND, actor=SYSTEM)
        batch = issuing.issue_batch(session, gtin=GTIN, territory="CN-GD", quantity=6,
                                    lot="L2026A", party=BRAND, actor=SYSTEM, settings=settings)
        recalled = issuing.issue_batch(session, gtin=GTIN, territory="CN-GD", quantity=2,
                                       lot="L2026B", party=BRAND, actor=SYSTEM,
                                       settings=settings)
        serials = sorted(session.scalars(select(Serial.serial)
                                         .where(Serial.batch_id == batch.id)))
        withdrawn = sorted(session.scalars(select(Serial.serial)
                                           .where(Serial.batch_id == recalled.id)))
        shipment = custody.record_shipment(session, from_party=BRAND, to_party=DIST,
                                           codes=serials[:2], actor=SYSTEM)
        custody.receive_shipment(session, shipment_id=shipment.id,
                                 actor=Actor(name="d", role=Role.DISTRIBUTOR, party_id=DIST))
        violations.recall_batch(session, recalled.id, reason="Recall reason: moulds in lot",
                                actor=SYSTEM)
    return {"serials": serials, "recalled": withdrawn}


def path(serial: str, gtin: str = GTIN, lot: str | None = None) -> str:
    return f"/01/{gtin}" + (f"/10/{lot}" if lot else "") + f"/21/{serial}"


def verdict_of(html: str) -> str:
    found = re.findall(r'data-verdict="([^"]+)"', html)
    assert len(found) == 1, found
    return found[0]


def position_token(html: str) -> str:
    match = re.search(r'data-token="([^"]+)"', html)
    assert match, "the page offers no way to share a position"
    return match.group(1)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret.lower() not in text.lower(), f"{secret!r} shown on a public answer"


def consumer_checks(db) -> list[Scan]:  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session:
        return list(session.scalars(select(Scan).where(Scan.source == ScanSource.CONSUMER)
                                    .order_by(Scan.id)))


def violation_count(db) -> int:  # type: ignore[no-untyped-def]
    with make_session_factory(db)() as session:
        return len(list(session.scalars(select(Violation.id))))


def share(client, html: str, point: tuple[float, float], accuracy: float = 20.0,
          **headers: str):  # type: ignore[no-untyped-def]
    return client.post("/checks/position", json={
        "token": position_token(html), "latitude": point[0], "longitude": point[1],
        "accuracy_m": accuracy}, headers=headers)


def test_a_genuine_code_shows_the_product_and_says_authentic(client, world):
    serial = world["serials"][0]
    response = client.get(path(serial))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert verdict_of(html) == "authentic"
    assert "Genuine product" in html
    assert PRODUCT in html and GTIN in html and "L2026A" in html and serial in html
    assert "first time this code has been checked" in html
    assert_no_secret(html)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # no session is opened for a visitor


def test_any_digital_link_path_of_the_item_is_read(client, world):
    serial = world["serials"][2]
    for address in (path(serial, lot="L2026A"), path(serial) + "?17=301231",
                    path(serial, gtin=GTIN.lstrip("0"))):
        assert verdict_of(client.get(address).get_data(as_text=True)) == "authentic", address


def test_each_view_is_recorded_as_a_consumer_check_without_position(client, world):
    serial = world["serials"][0]
    client.get(path(serial))
    html = client.get(path(serial)).get_data(as_text=True)
    checks = consumer_checks(client.application.extensions["tracker.engine"])
    assert [(c.serial, c.verdict.value, c.latitude, c.longitude, c.inspector_id)
            for c in checks] == [(serial, "authentic", None, None, None)] * 2
    assert checks[0].key == f"01/{GTIN}/21/{serial}"
    assert "checked 1 time before" in html
    assert "place not shared" in html


@pytest.mark.parametrize("case", ["never_issued", "bad_check_character", "gtin_mismatch"])
def test_a_code_the_brand_never_issued_shows_unknown_code(client, world, case):
    real = world["serials"][0]
    if case == "never_issued":
        body = "".join(ALPHABET[(ALPHABET.index(c) + 1) % len(ALPHABET)] for c in real[:-1])
        address = path(with_check_character(body))
    elif case == "bad_check_character":
        wrong = next(c for c in ALPHABET if c != real[-1])
        address = path(real[:-1] + wrong)
    else:
        address = path(real, gtin=OTHER_GTIN)
    html = client.get(address).get_data(as_text=True)
    assert verdict_of(html) == "unknown_code"
    assert "Unknown code" in html and "counterfeit" in html
    assert_no_secret(html)
    (check,) = consumer_checks(client.application.extensions["tracker.engine"])
    assert check.verdict.value == "unknown_code" and case in check.flags
    # A consumer's check opens no violation unless the setting says so.
    assert violation_count(client.application.extensions["tracker.engine"]) == 0


def test_a_recalled_item_shows_recalled_without_the_reason(client, world):
    html = client.get(path(world["recalled"][0])).get_data(as_text=True)
    assert verdict_of(html) == "recalled"
    assert "Recalled product" in html and "Do not use it" in html
    assert_no_secret(html)


@pytest.mark.parametrize("address", [
    f"/01/{GTIN}/21/",                       # empty serial
    f"/01/{GTIN[:-1]}9/21/ABC",              # wrong GTIN check digit
    f"/01/{GTIN}",                           # a product, not an item
    f"/01/{GTIN}/21/ABC/10/LOT",             # qualifiers in the wrong order
])
def test_an_address_that_is_not_an_item_code_is_a_404_page(client, world, address):
    response = client.get(address)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Not a product code" in html and 'data-error="404"' in html
    assert "data-verdict" not in html
    assert consumer_checks(client.application.extensions["tracker.engine"]) == []
    answer = client.get(address, headers=JSON)
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] == "not_a_code"


def test_the_page_is_in_chinese_for_a_chinese_browser(client, world):
    html = client.get(path(world["serials"][0]),
                      headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert verdict_of(html) == "authentic"
    assert 'lang="zh-CN"' in html
    assert "正品" in html and "分享我的位置" in html
    assert "Genuine product" not in html


def test_json_answers_the_verification_and_reveals_no_party(client, world):
    serial = world["serials"][0]
    client.get(path(serial))
    response = client.get(path(serial), headers=JSON)
    body = response.get_json()
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert {k: body[k] for k in ("gtin", "serial", "verdict", "product", "lot",
                                 "checks_before")} == {
        "gtin": GTIN, "serial": serial, "verdict": "authentic", "product": PRODUCT,
        "lot": "L2026A", "checks_before": 1}
    assert body["code"] == f"http://localhost{path(serial)}"
    assert body["earlier_checks"][0]["place"] is None
    assert body["position_token"]
    assert_no_secret(response.get_data(as_text=True))
    assert len(consumer_checks(client.application.extensions["tracker.engine"])) == 2


@pytest.mark.parametrize("ask", [{"query": "?linkType=all"}, {"query": "?linkType=linkset"},
                                 {"headers": {"Accept": "application/linkset+json"}}])
def test_a_resolver_request_gets_the_linkset(client, world, ask):
    serial = world["serials"][0]
    anchor = f"http://localhost{path(serial)}"
    response = client.get(path(serial) + ask.get("query", ""), headers=ask.get("headers"))
    assert response.status_code == 200
    assert response.mimetype == "application/linkset+json"
    (entry,) = json.loads(response.get_data(as_text=True))["linkset"]
    assert entry["anchor"] == anchor
    assert entry["https://gs1.org/voc/defaultLink"] == [{
        "href": anchor, "title": "Is this product genuine?", "type": "text/html",
        "hreflang": ["en", "zh"]}]
    assert entry["https://gs1.org/voc/verificationService"][0]["href"] == anchor
    assert f'<{anchor}?linkType=all>; rel="linkset"; type="application/linkset+json"' in \
        response.headers["Link"]
    assert_no_secret(response.get_data(as_text=True))
    # A resolver's request is not a person's check.
    assert consumer_checks(client.application.extensions["tracker.engine"]) == []


@pytest.mark.parametrize("link_type", ["gs1:defaultLink", "gs1:verificationService",
                                       "https://gs1.org/voc/defaultLink",
                                       "https://ref.gs1.org/voc/verificationService"])
def test_a_link_type_with_a_target_redirects_to_it(client, world, link_type):
    serial = world["serials"][0]
    response = client.get(path(serial), query_string={"linkType": link_type})
    assert response.status_code == 307
    assert response.headers["Location"] == f"http://localhost{path(serial)}"


def test_a_link_type_without_a_target_is_a_404_naming_those_there_are(client, world):
    response = client.get(path(world["serials"][0]) + "?linkType=gs1:pip")
    assert response.status_code == 404
    assert response.get_json()["error"] == {
        "code": "no_such_link",
        "message": "no link of type 'gs1:pip' is registered for this code; there are: "
                   "gs1:defaultLink, gs1:verificationService, and linkType=all lists them"}
    assert 'rel="linkset"' in response.headers["Link"]


def test_every_answer_carries_the_links_in_a_link_header(client, world):
    serial = world["serials"][0]
    link = client.get(path(serial)).headers["Link"]
    assert f'<http://localhost{path(serial)}>; rel="https://gs1.org/voc/defaultLink"; ' \
           'type="text/html"' in link


@pytest.fixture()
def limited(db, settings):  # type: ignore[no-untyped-def]
    """make(**settings) -> a client of an app with those settings (3 requests a minute)."""
    from web import create_app

    apps = []

    def make(**changes: Any):  # type: ignore[no-untyped-def]
        fields = {"database_url": settings.database_url, "dl_base": settings.dl_base,
                  "public_rate_limit": "3/minute", **changes}
        app = create_app({"TESTING": True}, settings=Settings(**fields))
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["tracker.engine"].dispose()


def test_too_many_checks_from_one_client_get_429_with_retry_after(limited, world):
    client = limited()
    serial = world["serials"][0]
    assert [client.get(path(serial)).status_code for _ in range(3)] == [200] * 3
    refused = client.get(path(serial))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 120
    html = refused.get_data(as_text=True)
    assert "Too many checks" in html and "Wait " in html and 'data-error="429"' in html
    as_json = client.get(path(serial), headers=JSON)
    assert as_json.status_code == 429
    assert as_json.get_json()["error"]["code"] == "rate_limited"
    assert as_json.headers["Retry-After"].isdigit()
    # Refused requests record nothing.
    assert len(consumer_checks(client.application.extensions["tracker.engine"])) == 3


def test_resolver_requests_and_bad_addresses_count_towards_the_limit(limited, world):
    client = limited()
    serial = world["serials"][0]
    client.get(path(serial) + "?linkType=all")
    client.get(f"/01/{GTIN}")
    client.get(path(serial))
    assert client.get(path(serial) + "?linkType=all").status_code == 429


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(limited, world):
    serial = world["serials"][0]
    direct = limited()
    codes = [direct.get(path(serial), headers={"X-Forwarded-For": f"198.51.100.{i}"})
             .status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]  # one peer, whatever it claims
    proxied = limited(trusted_proxies=1)
    codes = [proxied.get(path(serial), headers={"X-Forwarded-For": f"203.0.113.{i}"})
             .status_code for i in range(4)]
    assert codes == [200] * 4  # four clients behind the proxy
    # Behind one proxy, what the client itself put in front does not make it another.
    spoofed = [proxied.get(path(serial), headers={
        "X-Forwarded-For": f"10.0.0.{i}, 203.0.113.99"}).status_code for i in range(4)]
    assert spoofed == [200, 200, 200, 429]


def test_a_shared_position_is_added_to_the_check_at_city_level(client, world):
    serial = world["serials"][0]
    html = client.get(path(serial)).get_data(as_text=True)
    response = share(client, html, GUANGZHOU)
    body = response.get_json()
    assert response.status_code == 200
    assert body["verdict"] == "authentic"
    assert body["place"] == {"territory": "CN-GD-GZ", "name": "Guangzhou", "name_zh": "广州市"}
    assert body["message"] == "Thank you: your check near Guangzhou is recorded."
    (check,) = consumer_checks(client.application.extensions["tracker.engine"])
    assert (check.latitude, check.longitude, check.accuracy_m, check.found_territory) == (
        *GUANGZHOU, 20.0, "CN-GD-GZ")
    again = client.get(path(serial)).get_data(as_text=True)
    assert "Guangzhou" in again and "23.13" not in again
    assert_no_secret(json.dumps(body))


def test_a_position_outside_any_territory_is_shown_rounded(client, world):
    html = client.get(path(world["serials"][0])).get_data(as_text=True)
    share(client, html, (-33.8688, 151.2093))  # Sydney: no territory of the maps
    again = client.get(path(world["serials"][0])).get_data(as_text=True)
    assert "near -33.9, 151.2" in again and "151.209" not in again


def test_a_check_takes_one_position_only(client, world):
    html = client.get(path(world["serials"][0])).get_data(as_text=True)
    assert share(client, html, GUANGZHOU).status_code == 200
    second = share(client, html, BEIJING)
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "position_given"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"token": "forged", "latitude": 23.1, "longitude": 113.2}, 400, "bad_token"),
    ({"latitude": 23.1, "longitude": 113.2}, 400, "bad_token"),
    ({"token": None, "latitude": 91, "longitude": 113.2}, 422, "invalid_coordinates"),
    ({"token": None, "latitude": "north", "longitude": 113.2}, 422, "invalid_field"),
])
def test_a_bad_position_request_is_refused_with_a_reason(client, world, body, status, code):
    html = client.get(path(world["serials"][0])).get_data(as_text=True)
    if "token" in body and body["token"] is None:
        body = {**body, "token": position_token(html)}
    response = client.post("/checks/position", json=body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    (check,) = consumer_checks(client.application.extensions["tracker.engine"])
    assert check.latitude is None


def test_a_position_from_another_site_is_refused(client, world):
    html = client.get(path(world["serials"][0])).get_data(as_text=True)
    response = share(client, html, GUANGZHOU, Origin="https://evil.example")
    assert response.status_code == 403
    assert share(client, html, GUANGZHOU, Origin="http://localhost").status_code == 200


def test_a_consumer_check_in_beijing_makes_an_inspector_scan_in_guangzhou_a_clone(
        client, world, make_token):
    serial = world["serials"][0]
    html = client.get(path(serial)).get_data(as_text=True)
    assert share(client, html, BEIJING).get_json()["verdict"] == "authentic"
    a_minute_later = (utcnow() + dt.timedelta(minutes=1)).isoformat()
    scan = client.post("/api/v1/scans", headers=bearer(make_token("inspector")), json={
        "code": f"https://id.example.com{path(serial)}", "latitude": GUANGZHOU[0],
        "longitude": GUANGZHOU[1], "accuracy_m": 10, "scanned_at": a_minute_later})
    assert scan.status_code == 201
    assert scan.get_json()["verdict"] == "suspected_clone"
    # The next person is warned.
    assert verdict_of(client.get(path(serial)).get_data(as_text=True)) == "suspected_clone"


def test_two_consumer_checks_far_apart_show_a_possible_copy(client, world):
    serial = world["serials"][0]
    first = client.get(path(serial)).get_data(as_text=True)
    share(client, first, BEIJING)
    second = client.get(path(serial)).get_data(as_text=True)
    response = share(client, second, GUANGZHOU).get_json()
    assert response["verdict"] == "suspected_clone"
    assert 'data-verdict="suspected_clone"' in response["panel"]
    assert "Possible copy" in response["panel"]
    # A signal only, by default.
    assert violation_count(client.application.extensions["tracker.engine"]) == 0


def test_a_check_without_position_does_not_feed_the_clone_rule(client, world, make_token):
    serial = world["serials"][0]
    client.get(path(serial))
    scan = client.post("/api/v1/scans", headers=bearer(make_token("inspector")), json={
        "code": f"https://id.example.com{path(serial)}", "latitude": GUANGZHOU[0],
        "longitude": GUANGZHOU[1], "accuracy_m": 10})
    assert scan.get_json()["verdict"] == "authentic"


def test_a_diverted_item_is_genuine_to_the_person_and_a_signal_to_compliance(
        client, world, users):
    serial = world["serials"][0]
    html = client.get(path(serial)).get_data(as_text=True)
    answer = share(client, html, HANGZHOU).get_json()
    assert answer["verdict"] == "authentic"
    assert_no_secret(json.dumps(answer))
    engine = client.application.extensions["tracker.engine"]
    (check,) = consumer_checks(engine)
    assert (check.verdict.value, check.found_territory, check.violation_id) == (
        "diverted", "CN-ZJ-HZ", None)
    assert violation_count(engine) == 0
    # An inspector's scan there opens the case; its page counts the consumer's signal.
    with make_session_factory(engine)() as session:
        from tracker.services import scans

        scans.record_scan(session, scans.ScanRequest(
            code=f"https://id.example.com{path(serial)}", latitude=HANGZHOU[0],
            longitude=HANGZHOU[1], accuracy_m=10,
            scanned_at=utcnow()),
            actor=Actor(name="i", role=Role.INSPECTOR), settings=client.application
            .extensions["tracker.settings"])
        session.commit()
        violation_id = session.scalar(select(Violation.id))
    sign_in(client, users["compliance"], "pw-compliance-1")
    page = client.get(f"/compliance/violations/{violation_id}").get_data(as_text=True)
    assert re.search(r'data-consumer-checks="1"', page)
    assert re.search(r'data-consumer-outside="1"', page)


def test_with_the_setting_on_a_consumer_check_opens_violations(limited, world):
    client = limited(consumer_violations=True, public_rate_limit="100/minute")
    serial = world["serials"][0]
    html = client.get(path(serial)).get_data(as_text=True)
    engine = client.application.extensions["tracker.engine"]
    assert violation_count(engine) == 0  # no position yet: no evidence to show
    share(client, html, HANGZHOU)
    with make_session_factory(engine)() as session:
        (violation,) = session.scalars(select(Violation))
        assert (violation.type.value, violation.found_territory, violation.scan_count) == (
            "diverted", "CN-ZJ-HZ", 1)
        (check,) = consumer_checks(engine)
        assert check.violation_id == violation.id


def test_a_head_request_records_no_check(client, world):
    response = client.head(path(world["serials"][0]))
    assert response.status_code == 200
    assert 'rel="linkset"' in response.headers["Link"]
    assert consumer_checks(client.application.extensions["tracker.engine"]) == []
