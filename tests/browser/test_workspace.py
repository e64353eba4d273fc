"""The compliance workspace in Chromium: an inspector's diverted scan through the API,
then compliance signs in and sees it on the overview; the same in Chinese; other roles
are turned away; the language switch sticks."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from typing import Any

import pytest
from sqlalchemy import select

from tests.pages import PASSWORDS
from tracker.db import make_session_factory
from tracker.models import Serial
from tracker.services import custody, demo, issuing, masterdata
from tracker.services.auth import SYSTEM, create_user

GTIN = demo.demo_gtin("00011")
BRAND, T1, SHOP_ZJ = demo.pgln("00001"), demo.pgln("10001"), demo.pgln("12009")
HANGZHOU = (30.27, 120.15)


@pytest.fixture()
def field(db, settings, live_server):  # type: ignore[no-untyped-def]
    """The China map, a brand and a Guangdong distributor, users of every role, and one
    item of a Guangdong batch scanned in Hangzhou by an inspector through the API."""
    with make_session_factory(db)() as session, session.begin():
        demo.load_maps(session)
        masterdata.create_product(session, gtin=GTIN, name="Jasmine tea", actor=SYSTEM)
        masterdata.create_party(session, id=BRAND, name="Brand", role="brand",
                                territories=["CN"], parent=None, actor=SYSTEM)
        masterdata.create_party(session, id=T1, name="<script>alert(1)</script> Trading",
                                role="distributor", territories=["CN-GD"], parent=BRAND,
                                actor=SYSTEM)
        masterdata.create_party(session, id=SHOP_ZJ, name="West Lake Tea Shop",
                                role="retailer", territories=["CN-ZJ"], parent=None,
                                actor=SYSTEM)
        batch = issuing.issue_batch(session, gtin=GTIN, territory="CN-GD", quantity=3,
                                    party=BRAND, actor=SYSTEM, settings=settings)
        tokens = {}
        for role, password in PASSWORDS.items():
            _, tokens[role] = create_user(session, name=f"{role}-user", role=role,
                                          password=password,
                                          party_id=T1 if role == "distributor" else None,
                                          actor=SYSTEM)
        serial = session.scalar(select(Serial.serial).where(Serial.batch_id == batch.id)
                                .order_by(Serial.serial))
        # Down the tiers: the brand to its Guangdong distributor (authorised), then on to
        # a shop in Zhejiang (not authorised for Guangdong's goods).
        for sender, receiver in [(BRAND, T1), (T1, SHOP_ZJ)]:
            shipment = custody.record_shipment(session, from_party=sender, to_party=receiver,
                                               codes=[serial], actor=SYSTEM)
            custody.receive_shipment(session, shipment_id=shipment.id, actor=SYSTEM)
    answer = post_json(f"{live_server}/api/v1/scans", tokens["inspector"], {
        "code": f"https://id.example.com/01/{GTIN}/21/{serial}", "latitude": HANGZHOU[0],
        "longitude": HANGZHOU[1], "accuracy_m": 15,
        "scanned_at": dt.datetime.now(dt.UTC).isoformat()})
    assert (answer["verdict"], answer["responsible_party"]) == ("diverted", T1)
    return {"serial": serial, "violation": answer["violation_id"]}


def pdf_text(data: bytes) -> str:
    import pypdfium2 as pdfium

    return "\n".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(data))


def post_json(url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_compliance_signs_in_and_sees_the_diverted_scan_on_the_overview(person, field):
    you = person()
    you.page.goto("/")
    assert you.page.locator("h1").inner_text() == "Stop channel diversion"
    you.shot("front-page")

    you.page.click("text=Sign in >> nth=-1")
    you.shot("sign-in")
    you.sign_in("compliance-user", PASSWORDS["compliance"])

    assert you.page.url.endswith("/compliance/")
    assert you.page.locator("h1").inner_text() == "What needs attention"
    assert you.page.locator("[data-open-type=diverted] .stat").inner_text() == "1"
    assert you.page.locator("[data-open-territory=CN-ZJ-HZ]").inner_text() == "1"
    assert "Hangzhou (CN-ZJ-HZ)" in you.page.locator("table").last.inner_text()
    trend = you.page.evaluate(
        "document.querySelector('canvas[data-chart=trend]').chart.data.datasets[0].data")
    assert (len(trend), trend[-1], sum(trend)) == (30, 1, 1)
    you.shot("overview")

    you.page.click("[data-open-type=diverted]")
    assert "type=diverted" in you.page.url


def test_the_overview_in_chinese(person, field):
    you = person(locale="zh-CN")
    you.sign_in("compliance-user", PASSWORDS["compliance"])

    assert you.page.locator("h1").inner_text() == "待关注事项"
    assert "窜货" in you.page.locator("[data-open-type=diverted]").inner_text()
    # Territory names from the map's name_zh.
    assert "浙江" in you.page.locator("main").inner_text() or "杭州" in you.page.locator(
        "main").inner_text()
    you.shot("overview-zh")


def test_the_language_switch_sticks_across_pages_and_sign_out(person, field):
    you = person(locale="en-US")
    you.sign_in("compliance-user", PASSWORDS["compliance"])
    with you.page.expect_navigation():
        you.page.select_option("#lang", "zh")
    assert you.page.locator("h1").inner_text() == "待关注事项"

    you.page.click("text=退出登录")
    assert you.page.locator("h1").inner_text() == "制止窜货"
    you.shot("signed-out-zh")


@pytest.mark.parametrize("role", ["inspector", "distributor"])
def test_other_roles_are_turned_away_from_the_compliance_pages(person, field, role):
    you = person()
    you.sign_in(f"{role}-user", PASSWORDS[role])
    response = you.page.goto("/compliance/")

    assert response.status == 403
    assert you.page.locator("h1").inner_text() == "Not allowed"
    you.shot(f"{role}-refused")


def test_on_a_phone_the_navigation_folds_into_a_menu(person, field):
    you = person(width=390, height=844)
    you.sign_in("compliance-user", PASSWORDS["compliance"])

    assert not you.page.locator("[data-nav='compliance.queue']").is_visible()
    you.page.click("button.navbar-toggler")
    you.page.locator("[data-nav='compliance.queue']").wait_for(state="visible")
    you.shot("phone-menu")


WALK_TEXT = {"en-US": ("Violation", "Guangdong", "Hangzhou", "Diverted"),
             "zh-CN": ("违规", "广东", "杭州", "窜货")}


@pytest.mark.parametrize("locale", list(WALK_TEXT))
def test_compliance_finds_the_case_confirms_it_and_the_export_agrees(person, field, locale):
    heading, expected_name, found_name, diverted = WALK_TEXT[locale]
    you = person(locale=locale)
    you.sign_in("compliance-user", PASSWORDS["compliance"])
    you.page.click("[data-nav='compliance.queue']")
    you.page.click("summary")  # the filters
    you.page.fill("#f-found", "CN-ZJ")
    you.page.select_option("#f-type", "diverted")
    you.page.click("[data-action=filter]")
    rows = you.page.locator("tr[data-violation]")
    assert rows.count() == 1
    assert diverted in rows.first.inner_text()
    assert you.page.locator("[data-status-tab=open] [data-count]").inner_text() == "1"
    you.shot("queue-filtered")
    queue_ids = [rows.nth(i).get_attribute("data-violation") for i in range(rows.count())]

    with you.page.expect_download() as download:
        you.page.click("[data-action=export]")
    exported = download.value.path().read_text().splitlines()
    assert [line.split(",")[0] for line in exported[1:]] == queue_ids

    rows.first.locator("a").click()
    you.page.wait_for_selector("#case-map[data-loaded=true]")
    the_map = you.page.locator("#case-map")
    assert (the_map.get_attribute("data-expected"), the_map.get_attribute("data-found"),
            the_map.get_attribute("data-scans")) == ("1", "1", "1")
    assert heading in you.page.locator("h1").inner_text()
    assert you.page.locator("[data-serial]").inner_text() == field["serial"]
    assert expected_name in you.page.locator("[data-case-expected]").inner_text()
    assert found_name in you.page.locator("[data-case-found]").inner_text()
    left = you.page.locator("[data-left-territory]")
    assert left.count() == 1 and "West Lake Tea Shop" in left.inner_text()
    you.shot("case")

    you.page.fill("#reason", "Shop receipts show the Guangdong distributor sold to Zhejiang")
    you.page.click("button[name=status][value=confirmed]")
    assert you.page.locator("[data-status]").get_attribute("data-status") == "confirmed"
    last = you.page.locator("[data-audit-action=status]").last
    assert "compliance-user" in last.inner_text()
    assert last.locator("[data-note]").inner_text() == (
        "Shop receipts show the Guangdong distributor sold to Zhejiang")
    you.shot("case-confirmed")

    case_file = you.context.request.get(
        you.page.locator("[data-action=case-file]").get_attribute("href"))
    assert case_file.headers["content-type"] == "application/pdf"
    text = " ".join(pdf_text(case_file.body()).split())  # table cells wrap their lines
    assert field["serial"] in text
    assert "West Lake Tea Shop" in text  # the chain
    assert "Shop receipts show the Guangdong distributor sold to Zhejiang" in text  # audit
    (you.folder / f"case-file-{locale}.pdf").write_bytes(case_file.body())

    you.page.click("[data-nav='reports.overview']")
    you.page.wait_for_selector("#flows-map[data-loaded=true]")
    scorecard = you.page.locator(f"[data-party='{T1}'] td")
    assert (scorecard.nth(2).inner_text(), scorecard.nth(4).inner_text()) == ("1", "1")
    assert you.page.locator("[data-flow='CN-GD>CN-ZJ-HZ'] td").nth(2).inner_text() == "1"


def test_the_case_in_chinese(person, field):
    you = person(locale="zh-CN")
    you.sign_in("compliance-user", PASSWORDS["compliance"])
    you.page.goto(f"/compliance/violations/{field['violation']}")
    you.page.wait_for_selector("#case-map[data-loaded=true]")

    assert "窜货" in you.page.locator("h1").inner_text()
    assert "广东" in you.page.locator("[data-case-expected]").inner_text()
    assert "杭州市" in you.page.locator("[data-case-found]").inner_text()
    you.shot("case-zh")


def test_the_reports_count_the_diversion_and_drill_down_to_it(person, field):
    you = person()
    you.sign_in("compliance-user", PASSWORDS["compliance"])
    you.page.click("[data-nav='reports.overview']")
    you.page.wait_for_selector("#flows-map[data-loaded=true]")

    series = you.page.evaluate(
        "document.querySelector('canvas[data-chart=over-time]').chart.data.datasets"
        ".map(d => [d.type_code, d.data.reduce((a, b) => a + b, 0)])")
    assert dict(series) == {"diverted": 1, "unknown_code": 0, "suspected_clone": 0,
                            "recalled": 0}
    flow = you.page.locator("[data-flow='CN-GD>CN-ZJ-HZ']")
    assert flow.locator("td").nth(2).inner_text() == "1"
    scorecard = you.page.locator(f"[data-party='{T1}']")
    assert scorecard.locator("td").nth(2).inner_text() == "1"
    the_map = you.page.locator("#flows-map")
    assert (the_map.get_attribute("data-territories"), the_map.get_attribute("data-flows")) == (
        "2", "1")
    you.shot("reports")

    with you.page.expect_download() as download:
        you.page.click("[data-action=flows-csv]")
    lines = download.value.path().read_text().splitlines()
    assert lines[0] == "from_territory,to_territory,violations,units"
    assert lines[1:] == ["CN-GD,CN-ZJ-HZ,1,1"]

    flow.locator("a").click()
    assert you.page.locator("tr[data-violation]").count() == 1
    assert you.page.locator("tr[data-violation]").get_attribute("data-violation") == str(
        field["violation"])


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_workspace_pages_have_no_serious_accessibility_problem(person, field, locale):
    you = person(locale=locale)
    you.sign_in("compliance-user", PASSWORDS["compliance"])
    problems = {}
    for page, ready in [("/compliance/", "canvas[data-chart=trend]"),
                        ("/compliance/violations", "table[data-queue]"),
                        (f"/compliance/violations/{field['violation']}",
                         "#case-map[data-loaded=true]"),
                        ("/compliance/reports/", "#flows-map[data-loaded=true]")]:
        you.page.goto(page)
        you.page.wait_for_selector(ready)
        problems[page] = you.accessibility_problems()

    assert problems == {page: [] for page in problems}
