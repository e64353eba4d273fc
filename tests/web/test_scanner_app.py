"""The scanner app's server side: the shell, its service worker and manifest, the device
token from a web sign-in, the names it shows, the vendored decoder, and its weight."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from PIL import Image

from tests.pages import PASSWORDS, sign_in
from tracker.db import make_session_factory
from tracker.services import masterdata
from tracker.services.auth import SYSTEM

APP = Path(__file__).resolve().parents[2] / "scanner_app"
VENDOR = APP / "static" / "vendor"
CATALOGUE = APP.parent / "web" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def phrases(page: str) -> dict[str, str]:
    match = re.search(r'<script type="application/json" id="phrases">(.*?)</script>', page, re.S)
    assert match, "the shell carries no phrases"
    return json.loads(match.group(1))


def csrf_from_session(client) -> str:  # type: ignore[no-untyped-def]
    return client.get("/scan/session").get_json()["csrf_token"]


def test_the_shell_is_the_same_for_everyone_and_allows_only_webassembly_beyond_the_site(client):
    response = client.get("/scan")

    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval';" in policy
    assert "'unsafe-eval'" not in policy.replace("'wasm-unsafe-eval'", "")
    assert response.headers["Cache-Control"] == "no-cache"
    page = response.get_data(as_text=True)
    assert '<link rel="manifest" href="/scan/manifest.webmanifest">' in page
    assert "csrf_token\" value=\"\"" in page  # the app asks for a fresh one
    assert phrases(page)["verdict_diverted"] == "Diverted"
    # Other pages keep the site's policy.
    assert "wasm" not in client.get("/login").headers["Content-Security-Policy"]


def test_the_shell_in_chinese(client):
    page = client.get("/scan", headers=ZH).get_data(as_text=True)

    assert '<html lang="zh-CN">' in page
    assert phrases(page)["verdict_diverted"] == "窜货"
    assert phrases(page)["explain_pending"] == "无网络：扫码已保存在本机，网络恢复后自动发送。"


def test_the_service_worker_is_served_at_the_apps_scope_and_keeps_the_decoder(client):
    response = client.get("/scan/sw.js")

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/scan"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    assets = json.loads(re.search(r"const ASSETS = (\[.*?\]);", body).group(1))
    assert "/scan/static/vendor/zxing-wasm-3.1.3/zxing_reader.wasm" in assets
    assert "/scan/static/vendor/barcode-detector-3.2.2/ponyfill.js" in assets
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in assets
    for url in assets:
        assert client.get(url).status_code == 200, url
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', body).group(1)
    assert f'data-version="{version}"' in client.get("/scan").get_data(as_text=True)


def test_the_wasm_is_served_as_webassembly(client):
    response = client.get("/scan/static/vendor/zxing-wasm-3.1.3/zxing_reader.wasm")

    assert response.mimetype == "application/wasm"
    assert response.data[:4] == b"\0asm"


def test_the_vendored_wasm_is_the_exact_build_the_ponyfill_was_made_for():
    ponyfill = (VENDOR / "barcode-detector-3.2.2" / "ponyfill.js").read_text()
    wasm = (VENDOR / "zxing-wasm-3.1.3" / "zxing_reader.wasm").read_bytes()

    assert re.search(r"ZXING_WASM_SHA256=(\w)", ponyfill)
    assert f"`{hashlib.sha256(wasm).hexdigest()}`" in ponyfill
    assert "`3.1.3`" in ponyfill  # ZXING_WASM_VERSION
    for licence in ["barcode-detector-3.2.2/LICENSE", "zxing-wasm-3.1.3/LICENSE",
                    "zxing-wasm-3.1.3/LICENSE-zxing-cpp"]:
        assert (VENDOR / licence).stat().st_size > 1000, licence


def test_the_manifest_makes_the_app_installable(client):
    manifest = json.loads(client.get("/scan/manifest.webmanifest").data)

    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/scan", "/scan", "standalone")
    sizes = set()
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(client.get(icon["src"]).data))
        assert (image.format, f"{image.width}x{image.height}") == ("PNG", icon["sizes"])
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes
    assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])
    chinese = json.loads(client.get("/scan/manifest.webmanifest", headers=ZH).data)
    assert chinese["name"] == "追溯扫码"


def test_a_signed_in_inspector_gets_a_device_token_that_posts_scans(client, users):
    sign_in(client, users["inspector"], PASSWORDS["inspector"])

    response = client.post("/scan/token", headers={"X-CSRFToken": csrf_from_session(client)})

    assert response.status_code == 201
    token = response.get_json()["token"]
    assert response.get_json()["user"] == users["inspector"]
    scan = client.post("/api/v1/scans", headers={"Authorization": f"Bearer {token}"},
                       json={"code": "https://id.example.com/01/09506000134352/21/23456789ABCDEFD",
                             "latitude": 1, "longitude": 2})
    assert scan.status_code == 201, scan.get_json()
    assert scan.get_json()["verdict"] == "unknown_code"
    # A device's sign-in ends by itself (TRACKER_DEVICE_TOKEN_DAYS, 30 by default).
    listed = client.get("/api/v1/tokens",
                        headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    (device,) = [t for t in listed if token.startswith(t["prefix"])]
    lasts = dt.datetime.fromisoformat(device["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=29, hours=23) < lasts <= dt.timedelta(days=30)


def test_a_device_token_needs_a_web_sign_in(client):
    response = client.post("/scan/token", headers={"X-CSRFToken": csrf_from_session(client)})

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "sign_in_required"


def test_a_device_token_needs_the_csrf_token(client, users):
    sign_in(client, users["inspector"], PASSWORDS["inspector"])

    response = client.post("/scan/token")

    assert response.status_code == 400


@pytest.mark.parametrize("role", ["compliance", "distributor"])
def test_a_device_token_is_for_inspectors(client, users, role):
    sign_in(client, users[role], PASSWORDS[role])

    response = client.post("/scan/token", headers={"X-CSRFToken": csrf_from_session(client)})

    assert response.status_code == 403
    assert response.get_json()["error"] == {
        "code": "not_inspector",
        "message": "This app is for inspectors. Sign in with an inspector's account."}


def test_signing_in_through_the_login_form_leads_back_to_the_session_state(client, users):
    token = csrf_from_session(client)
    response = client.post("/login?next=/scan/session", data={
        "username": users["inspector"], "password": PASSWORDS["inspector"],
        "csrf_token": token}, follow_redirects=True)

    state = response.get_json()
    assert (state["signed_in"], state["user"], state["role"]) == (
        True, users["inspector"], "inspector")
    assert state["csrf_token"] and state["now"].endswith("+00:00")


def test_names_come_in_the_readers_language_by_bearer_token(client, make_token, db):
    with make_session_factory(db)() as session, session.begin():
        masterdata.import_territories(session, actor=SYSTEM, collection={
            "type": "FeatureCollection", "features": [{
                "type": "Feature", "properties": {"code": "CN-ZJ", "name": "Zhejiang",
                                                  "name_zh": "浙江省"},
                "geometry": {"type": "Polygon", "coordinates": [
                    [[119, 28], [122, 28], [122, 31], [119, 31], [119, 28]]]}}]})
        masterdata.create_party(session, id="p1", name="West Lake Tea", role="retailer",
                                territories=["CN-ZJ"], parent=None, actor=SYSTEM)
    headers = {"Authorization": f"Bearer {make_token('inspector')}"}

    english = client.get("/scan/names.json?lang=en", headers=headers).get_json()
    chinese = client.get("/scan/names.json?lang=zh", headers=headers).get_json()

    assert english == {"territories": {"CN-ZJ": "Zhejiang"}, "parties": {"p1": "West Lake Tea"}}
    assert chinese["territories"] == {"CN-ZJ": "浙江省"}
    assert client.get("/scan/names.json").status_code == 401
    other = {"Authorization": f"Bearer {make_token('distributor', 'p1')}"}
    assert client.get("/scan/names.json", headers=other).status_code == 403


def test_every_sentence_of_the_app_has_its_chinese_translation():
    marked = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(APP), [("**.py", "python"), ("templates/**.html", "jinja2")],
            keywords={"_": None, "gettext": None, "lazy_gettext": None, "_l": None}):
        marked.add(message if isinstance(message, str) else message[0])
    with CATALOGUE.open("rb") as file:
        translated = {m.id for m in read_po(file, locale="zh")
                      if m.id and m.string and "fuzzy" not in m.flags}

    assert len(marked) > 80
    assert sorted(marked - translated) == []


def test_the_apps_own_scripts_and_styles_weigh_under_300_kb_before_the_decoder():
    own = [p for p in (APP / "static").rglob("*") if p.suffix in {".js", ".css"}
           and "vendor" not in p.parts]

    assert sum(p.stat().st_size for p in own) < 300 * 1024
