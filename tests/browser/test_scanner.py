"""The inspectors' scanner app in Chromium with a fake camera: the project's own QR label
for an issued serial, played as the camera by a Chromium launched for that video, and a
position from the browser context. The decoder is the ZXing WebAssembly ponyfill (Linux
Chromium has no BarcodeDetector), under the app's own Content Security Policy."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.browser.camera import camera_flags, empty_shelf, label, qr_video
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, OUTPUT
from tests.pages import PASSWORDS
from tracker.db import make_session_factory
from tracker.models import ApiToken, Batch, Scan, Serial, User
from tracker.services import custody, demo, issuing, masterdata
from tracker.services.auth import SYSTEM, create_user, revoke_token
from tracker.services.issuing import CodeWriter

GTIN = demo.demo_gtin("00011")
BRAND, T1, SHOP_ZJ = demo.pgln("00001"), demo.pgln("10001"), demo.pgln("12009")
GUANGZHOU = (23.13, 113.26)
HANGZHOU = (30.27, 120.15)
INSPECTOR = "inspector-user"


@pytest.fixture()
def world(db, settings, live_server) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """China's provinces and cities; a Guangdong batch of six serials; the first went to
    the brand's Guangdong distributor, the second on from it to a shop in Zhejiang (not
    authorised for Guangdong's goods); an inspector with a password."""
    with make_session_factory(db)() as session, session.begin():
        demo.load_maps(session)
        masterdata.create_product(session, gtin=GTIN, name="Jasmine tea", actor=SYSTEM)
        masterdata.create_party(session, id=BRAND, name="Brand", role="brand",
                                territories=["CN"], parent=None, actor=SYSTEM)
        masterdata.create_party(session, id=T1, name="Pearl River Trading", role="distributor",
                                territories=["CN-GD"], parent=BRAND, actor=SYSTEM)
        masterdata.create_party(session, id=SHOP_ZJ, name="West Lake Tea Shop",
                                role="retailer", territories=["CN-ZJ"], parent=None,
                                actor=SYSTEM)
        batch = issuing.issue_batch(session, gtin=GTIN, territory="CN-GD", quantity=6,
                                    party=BRAND, actor=SYSTEM, settings=settings)
        serials = list(session.scalars(select(Serial.serial).where(Serial.batch_id == batch.id)
                                       .order_by(Serial.serial)))
        for sender, receiver, codes in [(BRAND, T1, serials[:2]), (T1, SHOP_ZJ, serials[1:2])]:
            shipment = custody.record_shipment(session, from_party=sender, to_party=receiver,
                                               codes=codes, actor=SYSTEM)
            custody.receive_shipment(session, shipment_id=shipment.id, actor=SYSTEM)
        _, token = create_user(session, name=INSPECTOR, role="inspector",
                               password=PASSWORDS["inspector"], actor=SYSTEM)
        create_user(session, name="compliance-user", role="compliance",
                    password=PASSWORDS["compliance"], actor=SYSTEM)
        writer = CodeWriter(session.get(Batch, batch.id), settings)  # type: ignore[arg-type]
        uris = [writer.row(serial).uri for serial in serials]
    return {"serials": serials, "uris": uris, "token": token}


class Inspector:
    """A phone: its own Chromium (the camera is a launch flag), a context with the
    position and permissions, screenshots per step, every request and script error kept."""

    def __init__(self, browser_type: Any, base_url: str, folder: Path, video: Path | None,
                 place: tuple[float, float], accuracy: float, locale: str) -> None:
        self.base_url, self.folder, self.steps = base_url, folder, 0
        self.browser = browser_type.launch(
            executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS + (camera_flags(video) if video else []))
        self.context = self.browser.new_context(
            base_url=base_url, locale=locale, viewport={"width": 390, "height": 844},
            device_scale_factor=1, is_mobile=True, has_touch=True,
            geolocation={"latitude": place[0], "longitude": place[1], "accuracy": accuracy},
            permissions=["geolocation", "camera"],
            extra_http_headers={"Accept-Language": f"{locale},{locale.split('-')[0]};q=0.9"})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda message: message.type == "error"
                     and not message.text.startswith("Failed to load resource")
                     and self.errors.append(message.text))

    def shot(self, name: str) -> Path:
        self.steps += 1
        path = self.folder / f"{self.steps:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def sign_in(self, path: str = "/scan", password: str = PASSWORDS["inspector"],
                name: str = INSPECTOR) -> None:
        if path:
            self.page.goto(path)
        self.page.fill("#signin input[name=username]", name)
        self.page.fill("#signin input[name=password]", password)
        self.page.click("#signin button[type=submit]")
        self.page.locator("html[data-ready=true]").wait_for(state="attached")

    def verdict(self) -> str:
        """The verdict on screen once there is one (the element with data-verdict)."""
        panel = self.page.locator("#verdict[data-verdict]")
        panel.wait_for()
        return panel.get_attribute("data-verdict") or ""

    def wait_offline_ready(self) -> None:
        self.page.locator("html[data-offline-ready=true]").wait_for(state="attached")

    def enter(self, code: str) -> None:
        self.page.fill("#manual-code", code)
        self.page.click("#manual button[type=submit]")

    def outside_requests(self) -> list[str]:
        return [url for url in self.requests
                if not url.startswith((self.base_url, "data:", "blob:"))]

    def close(self) -> None:
        self.context.close()
        self.browser.close()


@pytest.fixture()
def phone(browser, live_server, request, tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """phone(codes=[(uri, serial), ...], place=(lat, lon), accuracy=20) -> an Inspector
    whose camera shows those labels in turn (three seconds each)."""
    folder = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    opened: list[Inspector] = []

    def open_phone(codes: list[tuple[str, str]] | None = None,
                   place: tuple[float, float] = GUANGZHOU, accuracy: float = 20,
                   locale: str = "en-US") -> Inspector:
        video = None
        if codes is not None:
            scenes = [(empty_shelf(), 0.5)] + [(label(uri, serial), 3.0) for uri, serial in codes]
            video = qr_video(tmp_path / f"camera-{len(opened)}.y4m", scenes)
        tab = Inspector(browser.browser_type, live_server, folder, video, place, accuracy, locale)
        opened.append(tab)
        return tab

    yield open_phone
    for tab in opened:
        outside, errors = tab.outside_requests(), list(tab.errors)
        tab.close()
        assert outside == [], f"the app asked for something outside the server: {outside}"
        assert errors == [], f"the app raised script errors: {errors}"


def api_get(base: str, path: str, token: str) -> Any:
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def stored_scans(db: Any) -> list[tuple[str, str, str]]:
    """(serial, verdict, client_scan_id) of every stored scan, in the order they came."""
    with make_session_factory(db)() as session:
        return [(s.serial, s.verdict.value, s.client_scan_id)
                for s in session.scalars(select(Scan).order_by(Scan.id))]


def test_a_scan_inside_the_territory_shows_authentic(phone, world, db, live_server):
    you = phone(codes=[(world["uris"][0], world["serials"][0])], place=GUANGZHOU)
    you.page.goto("/scan")
    you.page.locator("#signin").wait_for()
    you.shot("sign-in")
    you.sign_in(path="")

    assert you.verdict() == "authentic"
    assert you.page.locator("#verdict-title").inner_text() == "Authentic"
    assert you.page.locator("#verdict-code").inner_text() == world["serials"][0]
    assert "Guangzhou (CN-GD-GZ)" in you.page.locator("#verdict-facts").inner_text()
    assert you.page.evaluate("document.documentElement.dataset.reader") == "zxing-wasm"
    you.shot("authentic")
    # Through the API like any client: stored once, with the phone's position and accuracy.
    (answer,) = api_get(live_server, "/api/v1/scans", world["token"])["items"]
    assert (answer["serial"], answer["verdict"]) == (world["serials"][0], "authentic")
    with make_session_factory(db)() as session:
        scan = session.scalars(select(Scan)).one()
        assert (scan.latitude, scan.longitude, scan.accuracy_m) == (*GUANGZHOU, 20)
        assert scan.device_id and scan.client_scan_id


def test_a_scan_outside_shows_diverted_with_the_territories_and_the_party(phone, world, db):
    you = phone(codes=[(world["uris"][1], world["serials"][1])], place=HANGZHOU)
    you.sign_in()

    assert you.verdict() == "diverted"
    facts = you.page.locator("#verdict-facts")
    # Names arrive with the verdict or just after it; codes until then.
    you.page.wait_for_function(
        "document.getElementById('verdict-facts').innerText.includes('Pearl River Trading')")
    assert facts.inner_text().split("\n") == [
        "Expected in", "Guangdong (CN-GD)", "Found in", "Hangzhou (CN-ZJ-HZ)",
        "Responsible", f"Pearl River Trading ({T1})"]
    you.shot("diverted")

    # "Next" goes back to reading at once; the label still in view is not a new scan.
    you.page.click("[data-action=next]")
    assert you.page.locator("#verdict").is_hidden()
    you.page.locator("#toast", has_text="not a new scan").wait_for()
    you.shot("same-code-again")
    assert [(s, v) for s, v, _ in stored_scans(db)] == [(world["serials"][1], "diverted")]


def test_the_verdict_in_chinese(phone, world):
    you = phone(codes=[(world["uris"][1], world["serials"][1])], place=HANGZHOU,
                locale="zh-CN")
    you.page.goto("/scan")
    assert you.page.locator("#signin h1").inner_text() == "登录"
    you.sign_in(path="")

    assert you.verdict() == "diverted"
    assert you.page.locator("#verdict-title").inner_text() == "窜货"
    you.page.wait_for_function(
        "document.getElementById('verdict-facts').innerText.includes('杭州')")
    you.shot("diverted-zh")


def test_offline_scans_queue_survive_a_reload_and_are_sent_once_on_reconnecting(
        phone, world, db, live_server):
    serials, uris = world["serials"], world["uris"]
    you = phone(codes=[(uris[2], serials[2])], place=GUANGZHOU)
    # Signed in on the history page, so the camera starts only once the phone is offline.
    you.sign_in("/scan#history")
    you.wait_offline_ready()
    you.context.set_offline(True)

    you.page.click("[data-tab=scan]")
    assert you.verdict() == "pending"
    assert "kept on this phone" in you.page.locator("#verdict-explain").inner_text()
    you.shot("offline-pending")
    for serial in serials[3:5]:
        you.page.click("[data-action=next]")
        you.enter(serial)
        assert you.verdict() == "pending"
    assert you.page.locator("#queue").get_attribute("data-waiting") == "3"
    you.shot("three-waiting")

    # Opened again with no network: the service worker serves the app, the scans are kept.
    you.page.click("[data-tab=history]")
    assert you.page.reload().from_service_worker
    rows = you.page.locator("#scan-list li[data-scan-status]")
    rows.first.wait_for()
    assert [rows.nth(i).get_attribute("data-scan-status") for i in range(rows.count())] == [
        "pending"] * 3
    assert you.page.locator("#net").get_attribute("data-online") == "false"
    you.shot("reloaded-offline")
    assert stored_scans(db) == []

    you.context.set_offline(False)
    you.page.locator("#scan-list li[data-scan-status=pending]").first.wait_for(state="detached")
    results = [rows.nth(i).get_attribute("data-result") for i in range(rows.count())]
    assert results == ["authentic"] * 3
    assert you.page.locator("#queue").get_attribute("data-waiting") == "0"
    you.shot("sent-after-reconnecting")
    stored = stored_scans(db)
    assert sorted(s for s, _, _ in stored) == sorted(serials[2:5])
    assert len({client_id for _, _, client_id in stored}) == 3
    assert len(api_get(live_server, "/api/v1/scans", world["token"])["items"]) == 3


def test_a_sign_in_revoked_while_offline_loses_nothing(phone, world, db):
    serials, uris = world["serials"], world["uris"]
    you = phone(codes=[(uris[5], serials[5])], place=GUANGZHOU)
    you.sign_in("/scan#history")
    you.wait_offline_ready()
    you.context.set_offline(True)
    you.page.click("[data-tab=scan]")
    assert you.verdict() == "pending"

    # Meanwhile the device's token is revoked (a lost phone reported, say).
    from web.api import forget_tokens

    with make_session_factory(db)() as session, session.begin():
        user_id = session.scalar(select(User.id).where(User.name == INSPECTOR))
        device_token = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                       .order_by(ApiToken.id.desc())).first()
        assert device_token is not None
        revoke_token(session, device_token.id, actor=SYSTEM)
    forget_tokens()

    you.context.set_offline(False)
    you.page.locator("#signin").wait_for()
    assert "Sign in again" in you.page.locator("#signin-message").inner_text()
    assert you.page.locator("#queue").get_attribute("data-waiting") == "1"
    you.shot("sign-in-again")
    assert stored_scans(db) == []

    you.sign_in(path="")
    you.page.locator("#queue[data-waiting='0']").wait_for(state="attached")
    assert [(s, v) for s, v, _ in stored_scans(db)] == [(serials[5], "authentic")]
    with make_session_factory(db)() as session:
        assert session.scalar(select(func.count()).select_from(Scan)) == 1
    you.shot("sent-after-signing-in")


def test_a_poor_position_asks_before_sending(phone, world, db):
    you = phone(codes=None, place=GUANGZHOU, accuracy=3000)
    you.sign_in()
    you.page.locator("#position-status", has_text="poor").wait_for()
    you.enter(world["serials"][0])

    warning = you.page.locator("#position-warning")
    warning.wait_for()
    assert "within 3,000 m" in warning.inner_text()
    you.shot("poor-position")
    assert stored_scans(db) == []
    you.page.click("[data-action=send-anyway]")
    assert you.verdict() == "authentic"
    with make_session_factory(db)() as session:
        assert session.scalars(select(Scan.accuracy_m)).one() == 3000


def test_a_code_that_is_not_a_product_code_is_refused_with_a_message(phone, world, db):
    you = phone(codes=None)
    you.sign_in()
    you.enter("HELLO WORLD")

    panel = you.page.locator("#verdict[data-refused]")
    panel.wait_for()
    assert panel.get_attribute("data-refused") == "malformed_code"
    assert "not a product code" in you.page.locator("#verdict-explain").inner_text()
    assert you.page.locator("#queue").get_attribute("data-waiting") == "0"
    you.shot("refused")
    assert stored_scans(db) == []


def test_compliance_users_are_sent_back_from_the_scanner(phone, world):
    you = phone(codes=None)
    you.page.goto("/scan")
    you.page.fill("#signin input[name=username]", "compliance-user")
    you.page.fill("#signin input[name=password]", PASSWORDS["compliance"])
    you.page.click("#signin button[type=submit]")

    you.page.locator("#signin-message", has_text="for inspectors").wait_for()
    you.shot("not-an-inspector")


def test_a_note_and_photo_taken_offline_go_with_their_scan(phone, world, db, live_server,
                                                           tmp_path):
    from PIL import Image

    from tracker.services.evidence import evidence_of

    you = phone(codes=None)
    you.sign_in()
    you.wait_offline_ready()
    you.context.set_offline(True)
    you.enter(world["serials"][0])
    assert you.verdict() == "pending"
    you.page.click("#evidence summary")
    you.page.fill("#evidence-note", "Sold from the back room")

    not_a_photo = tmp_path / "notes.txt"
    not_a_photo.write_text("not a picture")
    you.page.set_input_files("#evidence-photo", str(not_a_photo))
    you.page.click("#evidence-form button[type=submit]")
    you.page.locator("#evidence-message", has_text="not a photo").wait_for()
    you.shot("not-a-photo")

    # A big PNG from the gallery: the phone sends a JPEG of at most 1600 px.
    shelf = tmp_path / "shelf.png"
    Image.new("RGB", (3000, 2000), (200, 30, 30)).save(shelf)
    you.page.set_input_files("#evidence-photo", str(shelf))
    you.page.click("#evidence-form button[type=submit]")
    you.page.locator("#evidence-message", has_text="sent with the scan").wait_for()
    assert you.page.locator("#queue").get_attribute("data-waiting") == "2"
    you.shot("evidence-kept-offline")

    you.context.set_offline(False)
    you.page.locator("#queue[data-waiting='0']").wait_for(state="attached")
    you.page.locator("#evidence-message", has_text="sent").wait_for()
    (answer,) = api_get(live_server, "/api/v1/scans", world["token"])["items"]
    with make_session_factory(db)() as session:
        evidence = evidence_of(session, [answer["scan_id"]])[answer["scan_id"]]
    assert (evidence.note, evidence.photo_width, evidence.photo_height) == (
        "Sold from the back room", 1600, 1067)
    request = urllib.request.Request(f"{live_server}/api/v1/scans/{answer['scan_id']}/photo",
                                     headers={"Authorization": f"Bearer {world['token']}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.read(3) == b"\xff\xd8\xff"
    you.shot("evidence-sent")


def test_too_many_sign_in_attempts_say_how_long_to_wait(phone, world):
    you = phone(codes=None)
    you.page.goto("/scan")
    button = you.page.locator("#signin button[type=submit]")
    for attempt in range(11):  # the default limit: 10 attempts per name in 15 minutes
        you.page.fill("#signin input[name=username]", INSPECTOR)
        you.page.fill("#signin input[name=password]", "not the password")
        button.click()
        you.page.locator("#signin button[type=submit]:not([disabled])").wait_for()
        shown = you.page.locator("#signin-message").inner_text()
        if attempt < 10:
            assert shown == "Wrong user name or password."
    assert shown.startswith("Too many sign-in attempts. Wait ") and "minutes" in shown
    you.shot("too-many-attempts")
