"""The scanner app's weight and speed, in Debian's Chromium through Playwright.

    python bench/scanner_bench.py [--samples 6]

Weight: the app's own JavaScript and CSS (what a phone fetches before the decoder), the
vendored ponyfill, the Leaflet the history map loads when first opened, and the ZXing
WASM decoder, each in bytes as served and gzipped.

Speed, with the app served by ``tracker serve``'s app on a local port over a small world
in a temporary SQLite database (the China map, one Guangdong batch, an inspector):

- first load: a fresh phone (no cache, no service worker) on Chromium's "Fast 3G"
  (CDP ``Network.emulateNetworkConditions``: 562.5 ms latency, 1.44 Mbps × 0.9 down,
  675 kbps × 0.9 up) opens /scan; time from navigation start to the app's
  ``scanner:usable`` mark (the sign-in form ready). Target < 3 s.
- repeat load: the same phone signed in and its service worker installed opens /scan
  again on Fast 3G; time to ``scanner:usable`` (the scanner ready, shell and scripts
  from the service worker's cache). Target < 1 s. Also printed: the decoder ready (WASM
  compiled) on each load, for information.
- QR → verdict, online (no throttling): the fake camera plays labels of different
  serials, each after an empty shelf; a script in the page watches the video's frames and
  notes when a label first shows (the frame in which the code enters the camera); the app
  marks ``scanner:verdict-shown`` once the verdict is painted. Target < 1 s.

Baseline in the same run: ``GET /healthz`` opened as a page on Fast 3G (one round trip
of the emulated network and the server's floor), so the loads read as multiples of it.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from tests.browser.camera import camera_flags, empty_shelf, label, qr_video  # noqa: E402
from tracker import migrate  # noqa: E402
from tracker.config import Settings  # noqa: E402
from tracker.db import make_engine, make_session_factory  # noqa: E402
from tracker.models import Batch, Serial  # noqa: E402
from tracker.services import demo, issuing, masterdata  # noqa: E402
from tracker.services.auth import SYSTEM, create_user  # noqa: E402
from tracker.services.issuing import CodeWriter  # noqa: E402

APP = ROOT / "scanner_app" / "static"
LEAFLET = ROOT / "web" / "static" / "vendor" / "leaflet-1.9.4"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
FAST_3G = {"offline": False, "latency": 562.5,
           "downloadThroughput": 1.44e6 * 0.9 / 8, "uploadThroughput": 675e3 * 0.9 / 8}
PASSWORD = "pw-inspector-bench"
GUANGZHOU = (23.13, 113.26)
TARGETS = {"first": 3000, "repeat": 1000, "qr": 1000}

# Watches the app's video: the moments a label comes into view (the centre of the frame
# turns from the shelf's even grey to black and white).
WATCH_FRAMES = """
(() => {
  window.benchEntered = [];
  const video = document.getElementById('camera');
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 32;
  const pen = canvas.getContext('2d', { willReadFrequently: true });
  let showing = false;
  const look = (now) => {
    if (video.videoWidth) {
      const side = Math.min(video.videoWidth, video.videoHeight) / 3;
      pen.drawImage(video, (video.videoWidth - side) / 2, (video.videoHeight - side) / 2,
                    side, side, 0, 0, 32, 32);
      const data = pen.getImageData(0, 0, 32, 32).data;
      let spread = 0;
      for (let i = 0; i < data.length; i += 4) spread = Math.max(spread, Math.abs(data[i] - 150));
      const label = spread > 60;
      if (label && !showing) window.benchEntered.push(now);
      showing = label;
    }
    video.requestVideoFrameCallback(look);
  };
  video.requestVideoFrameCallback(look);
})();
"""


def kb(size: int) -> str:
    return f"{size / 1024:,.1f} KB"


def weigh(paths: list[Path]) -> tuple[int, int]:
    raw = sum(p.stat().st_size for p in paths)
    packed = sum(len(gzip.compress(p.read_bytes(), 6)) for p in paths)
    return raw, packed


def print_weights() -> None:
    own = sorted(p for p in APP.rglob("*") if p.suffix in {".js", ".css"}
                 and "vendor" not in p.parts)
    rows = [(f"app's own JS + CSS ({len(own)} files)", own, 300 * 1024),
            ("barcode-detector ponyfill (loaded when no native reader)",
             [APP / "vendor" / "barcode-detector-3.2.2" / "ponyfill.js"], None),
            ("Leaflet JS + CSS (loaded when the history map opens)",
             [LEAFLET / "leaflet.js", LEAFLET / "leaflet.css"], None),
            ("ZXing WASM decoder", [APP / "vendor" / "zxing-wasm-3.1.3" / "zxing_reader.wasm"],
             None)]
    print("== weight ==")
    for name, paths, target in rows:
        raw, packed = weigh(paths)
        verdict = "" if target is None else (
            f"   target < {kb(target)}: {'met' if raw < target else 'MISSED'}")
        print(f"  {name:58} {kb(raw):>11} ({kb(packed)} gzipped){verdict}")
    for path in own:
        print(f"    {path.relative_to(APP)}: {kb(path.stat().st_size)}")


def build_world(url: str) -> list[tuple[str, str]]:
    """The China map, a Guangdong batch, an inspector; (uri, serial) of the serials."""
    engine = make_engine(url)
    migrate.rebuild(engine)
    settings = Settings(database_url=url)
    with make_session_factory(engine)() as session, session.begin():
        demo.load_maps(session)
        gtin = demo.demo_gtin("00011")
        masterdata.create_product(session, gtin=gtin, name="Jasmine tea", actor=SYSTEM)
        masterdata.create_party(session, id="brand", name="Brand", role="brand",
                                territories=["CN"], parent=None, actor=SYSTEM)
        batch = issuing.issue_batch(session, gtin=gtin, territory="CN-GD", quantity=20,
                                    party="brand", actor=SYSTEM, settings=settings)
        create_user(session, name="inspector", role="inspector", password=PASSWORD,
                    actor=SYSTEM)
        writer = CodeWriter(session.get(Batch, batch.id), settings)  # type: ignore[arg-type]
        serials = list(session.scalars(select(Serial.serial)
                                       .where(Serial.batch_id == batch.id)))
        codes = [(writer.row(s).uri, s) for s in serials]
    engine.dispose()
    return codes


def serve(url: str) -> tuple[str, Any]:
    from web import create_app

    app = create_app({"SECRET_KEY": "scanner-bench"}, settings=Settings(database_url=url))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def mark(page: Any, name: str) -> float | None:
    found = page.evaluate(f"performance.getEntriesByName('{name}').map(e => e.startTime)")
    return found[-1] if found else None


def wait_mark(page: Any, name: str, timeout: float = 60_000) -> float:
    page.wait_for_function(f"performance.getEntriesByName('{name}').length > 0",
                           timeout=timeout)
    return mark(page, name)  # type: ignore[return-value]


def decoder_ready(page: Any) -> float:
    """ms from navigation start until the QR reader is ready (the WASM compiled)."""
    page.wait_for_function("document.documentElement.dataset.reader", timeout=120_000)
    return page.evaluate("performance.now()")  # type: ignore[no-any-return]


def line(name: str, value: float, target: float | None, baseline: float | None) -> None:
    extra = f"   ({value / baseline:.1f}× the baseline)" if baseline else ""
    goal = "" if target is None else (
        f"   target < {target / 1000:g} s: {'met' if value < target else 'MISSED'}")
    print(f"  {name:52} {value:8.0f} ms{goal}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=6, help="QR → verdict samples")
    args = parser.parse_args()
    print_weights()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        codes = build_world(url)
        base, server = serve(url)
        scenes = []
        # Five serials, so each is out of view longer than the 10 s in which the same code
        # is not a new scan.
        for uri, serial in codes[:5]:
            scenes += [(empty_shelf(), 1.0), (label(uri, serial), 2.0)]
        video = qr_video(Path(folder) / "labels.y4m", scenes)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS + camera_flags(video))
            # The bench's own probes are evaluated scripts, which the app's CSP forbids.
            context = browser.new_context(
                bypass_csp=True, base_url=base, viewport={"width": 390, "height": 844},
                is_mobile=True,
                geolocation={"latitude": GUANGZHOU[0], "longitude": GUANGZHOU[1],
                             "accuracy": 15}, permissions=["geolocation", "camera"])
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})

            print("\n== loads on Fast 3G ==")
            cdp.send("Network.emulateNetworkConditions", FAST_3G)
            page.goto("/healthz")
            baseline = page.evaluate(
                "performance.getEntriesByType('navigation')[0].responseEnd")
            line("baseline: GET /healthz as a page", baseline, None, None)

            page.goto("/scan")
            first = wait_mark(page, "scanner:usable")
            line("first load: /scan usable (sign-in form)", first, TARGETS["first"], baseline)

            cdp.send("Network.emulateNetworkConditions", {**FAST_3G, "latency": 0,
                                                          "downloadThroughput": -1,
                                                          "uploadThroughput": -1})
            page.fill("#signin input[name=username]", "inspector")
            page.fill("#signin input[name=password]", PASSWORD)
            page.click("#signin button[type=submit]")
            page.wait_for_selector("html[data-ready=true]", state="attached")
            page.wait_for_selector("html[data-offline-ready=true]", state="attached",
                                   timeout=120_000)
            page.wait_for_selector("#verdict[data-verdict]")  # the first label, read online

            cdp.send("Network.emulateNetworkConditions", FAST_3G)
            page.goto("/scan#history")  # a full load (a new URL), the camera left off
            page.reload()
            repeat = wait_mark(page, "scanner:usable")
            line("repeat load: /scan usable (service worker)", repeat, TARGETS["repeat"],
                 baseline)
            page.click("[data-tab=scan]")
            ready = decoder_ready(page)
            line("repeat load: decoder ready (WASM from the cache)", ready, None, baseline)

            print("\n== QR entering the camera → verdict on screen, online ==")
            cdp.send("Network.emulateNetworkConditions", {**FAST_3G, "latency": 0,
                                                          "downloadThroughput": -1,
                                                          "uploadThroughput": -1})
            page.evaluate(WATCH_FRAMES)
            times: list[float] = []
            seen = 0
            while len(times) < args.samples:
                page.wait_for_function(
                    f"performance.getEntriesByName('scanner:verdict-shown').length > {seen}",
                    timeout=120_000)
                shown = page.evaluate("performance.getEntriesByName('scanner:verdict-shown')"
                                      ".map(e => e.startTime)")
                seen = len(shown)
                entered = [t for t in page.evaluate("window.benchEntered") if t <= shown[-1]]
                if entered:
                    times.append(shown[-1] - entered[-1])
                page.click("[data-action=next]")
            for index, value in enumerate(times, 1):
                line(f"sample {index}", value, None, None)
            print()
            line("median", statistics.median(times), TARGETS["qr"], None)
            line("worst", max(times), TARGETS["qr"], None)
            context.close()
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
