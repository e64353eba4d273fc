"""The public page behind every QR code in Chromium, on a phone's screen: authentic,
unknown and recalled codes in English and Chinese, sharing a position (and a copied
code revealed by it), the JSON a resolver gets, and never a party on the page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tracker.db import make_session_factory
from tracker.domain.serials import ALPHABET, with_check_character
from tracker.models import Serial
from tracker.services import custody, demo, issuing, masterdata, violations
from tracker.services.auth import SYSTEM

GTIN = demo.demo_gtin("00011")
BRAND, BRAND_NAME = "zebra-brand-7731", "Zebracorn Secret Holdings"
DIST, DIST_NAME = "quokka-dist-5520", "Quokkaline Hidden Trading"
SECRETS = (BRAND, BRAND_NAME, DIST, DIST_NAME, "moulds")
PHONE = {"width": 390, "height": 844}
BEIJING = {"latitude": 39.90, "longitude": 116.40, "accuracy": 25}
GUANGZHOU = {"latitude": 23.13, "longitude": 113.26, "accuracy": 25}


@pytest.fixture()
def codes(db, settings):  # type: ignore[no-untyped-def]
    """Addresses of a genuine item (shipped to a distributor), a never-issued serial and
    a recalled item."""
    with make_session_factory(db)() as session, session.begin():
        demo.load_maps(session)
        masterdata.create_product(session, gtin=GTIN, name="Jasmine Green Tea 250 g",
                                  actor=SYSTEM)
        masterdata.create_party(session, id=BRAND, name=BRAND_NAME, role="brand",
                                territories=["CN"], parent=None, actor=SYSTEM)
        masterdata.create_party(session, id=DIST, name=DIST_NAME, role="distributor",
                                territories=["CN-GD"], parent=BRAND, actor=SYSTEM)
        batch = issuing.issue_batch(session, gtin=GTIN, territory="CN-GD", quantity=3,
                                    lot="L2026A", party=BRAND, actor=SYSTEM, settings=settings)
        recalled = issuing.issue_batch(session, gtin=GTIN, territory="CN-GD", quantity=1,
                                       party=BRAND, actor=SYSTEM, settings=settings)
        genuine = sorted(session.scalars(select(Serial.serial)
                                         .where(Serial.batch_id == batch.id)))
        withdrawn = session.scalar(select(Serial.serial).where(Serial.batch_id == recalled.id))
        shipment = custody.record_shipment(session, from_party=BRAND, to_party=DIST,
                                           codes=genuine, actor=SYSTEM)
        custody.receive_shipment(session, shipment_id=shipment.id, actor=SYSTEM)
        violations.recall_batch(session, recalled.id, reason="moulds", actor=SYSTEM)
    never = with_check_character("".join(
        ALPHABET[(ALPHABET.index(c) + 1) % len(ALPHABET)] for c in genuine[0][:-1]))
    link = f"/01/{GTIN}/21/{{}}"
    return {"authentic": link.format(genuine[0]), "other": link.format(genuine[1]),
            "unknown_code": link.format(never), "recalled": link.format(withdrawn)}


def verdict_shown(tab) -> str:  # type: ignore[no-untyped-def]
    return str(tab.page.get_attribute("[data-verdict]", "data-verdict"))


def assert_no_party(tab) -> None:  # type: ignore[no-untyped-def]
    text = tab.page.content().lower()
    for secret in SECRETS:
        assert secret.lower() not in text, f"{secret!r} on the public page"


def test_a_person_sees_authentic_unknown_and_recalled_codes(person, codes):
    tab = person(width=PHONE["width"], height=PHONE["height"])
    expected = {"authentic": "Genuine product", "unknown_code": "Unknown code",
                "recalled": "Recalled product"}
    for verdict, heading in expected.items():
        tab.page.goto(codes[verdict])
        assert verdict_shown(tab) == verdict
        assert tab.page.inner_text("[data-verdict] h1") == heading
        assert_no_party(tab)
        tab.shot(verdict)
        assert tab.accessibility_problems() == []
    tab.page.goto(codes["authentic"])
    assert "checked 1 time before" in tab.page.inner_text("[data-checks-before]")
    assert "L2026A" in tab.page.inner_text("main")


def test_the_page_speaks_chinese_to_a_chinese_browser(person, codes):
    tab = person(locale="zh-CN", width=PHONE["width"], height=PHONE["height"])
    headings = {"authentic": "正品", "unknown_code": "未知码", "recalled": "已召回的产品"}
    for verdict, heading in headings.items():
        tab.page.goto(codes[verdict])
        assert verdict_shown(tab) == verdict
        assert tab.page.inner_text("[data-verdict] h1") == heading
        assert_no_party(tab)
        tab.shot(f"{verdict}-zh")
    assert tab.page.inner_text("[data-action=share-position]") == "分享我的位置，帮助打击假冒"


def test_sharing_a_position_records_it_and_can_reveal_a_copied_code(person, codes):
    first = person(width=PHONE["width"], height=PHONE["height"])
    first.context.grant_permissions(["geolocation"])
    first.context.set_geolocation(BEIJING)
    first.page.goto(codes["authentic"])
    first.page.click("[data-action=share-position]")
    first.page.wait_for_selector("[data-share-position][data-position-shared]")
    assert first.page.inner_text("[data-position-status]") == (
        "Thank you: your check near Beijing is recorded.")
    assert verdict_shown(first) == "authentic"
    first.shot("shared-in-beijing")
    # Minutes later the same code is checked in Guangzhou, 1,900 km away.
    second = person(width=PHONE["width"], height=PHONE["height"])
    second.context.grant_permissions(["geolocation"])
    second.context.set_geolocation(GUANGZHOU)
    second.page.goto(codes["authentic"])
    assert "Beijing" in second.page.inner_text("[data-checks-before] + ul")
    second.page.click("[data-action=share-position]")
    second.page.wait_for_selector('[data-verdict="suspected_clone"]')
    assert second.page.inner_text("[data-verdict] h1") == "Possible copy"
    assert_no_party(second)
    second.shot("copy-revealed-in-guangzhou")


def test_a_refused_position_is_explained(person, codes):
    tab = person(width=PHONE["width"], height=PHONE["height"])
    tab.page.goto(codes["other"])
    tab.page.click("[data-action=share-position]")
    tab.page.wait_for_function(
        "document.querySelector('[data-position-status]').textContent.includes('not shared')")
    assert tab.page.is_enabled("[data-action=share-position]")
    tab.shot("position-refused")


def test_a_resolver_gets_json_from_the_same_address(person, codes):
    tab = person()
    answer = tab.page.request.get(codes["authentic"], headers={"Accept": "application/json"})
    body = answer.json()
    assert (answer.status, body["verdict"], body["gtin"]) == (200, "authentic", GTIN)
    linkset = tab.page.request.get(codes["authentic"] + "?linkType=all")
    assert linkset.headers["content-type"] == "application/linkset+json"
    assert linkset.json()["linkset"][0]["anchor"].endswith(codes["authentic"])
    for secret in SECRETS:
        assert secret not in answer.text() and secret not in linkset.text()
