"""Pages driven as a person uses them: Debian's Chromium through Playwright, against the
app served on a local port over the test database. Each test's screenshots go to
``tests/browser/output/<test name>/``; every request a page makes is recorded, and one
that leaves the server fails the test."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tracker.config import Settings

OUTPUT = Path(__file__).resolve().parent / "output"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.10.3" / "axe.min.js"
CHROMIUM = os.environ.get("TRACKER_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
# As the machines run it: no sandbox as root, and no background calls to Google's hosts.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture()
def live_server(db, database_url: str, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served by a thread on a free local port; its base URL."""
    from web import create_app

    app = create_app({"SECRET_KEY": "browser-tests"},
                     settings=Settings(database_url=database_url))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["tracker.engine"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: install Debian's chromium "
                    "package (.ci/run does) or set TRACKER_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Person:
    """A browser tab of one person: their language, screen, and what their pages asked
    for; ``shot(name)`` saves a screenshot of the step."""

    def __init__(self, browser: Any, base_url: str, folder: Path, locale: str,
                 viewport: dict[str, int]) -> None:
        self.base_url = base_url
        self.folder = folder
        self.context = browser.new_context(
            # The pages forbid inline scripts; the accessibility checker is injected as
            # one, so this tab lets it in (the pages' own CSP is tested over HTTP).
            bypass_csp=True,
            base_url=base_url, locale=locale, viewport=viewport,
            extra_http_headers={"Accept-Language": f"{locale},{locale.split('-')[0]};q=0.9"})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        # A dialog nobody asked for is a script injected through data (a party named
        # "<script>alert(1)</script>" must stay text).
        self.page.on("dialog", lambda dialog: (self.errors.append(f"dialog: {dialog.message}"),
                                               dialog.dismiss()))
        # A page answered 403 or 404 is what some tests ask for; a script, style or image
        # that fails to load never is.
        self.page.on("console", lambda message: message.type == "error"
                     and not message.text.startswith("Failed to load resource")
                     and self.errors.append(message.text))
        self.page.on("response", lambda response: response.status >= 400
                     and response.request.resource_type != "document"
                     and self.errors.append(f"{response.status} {response.url}"))
        self.steps = 0

    def shot(self, name: str) -> Path:
        self.steps += 1
        path = self.folder / f"{self.steps:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, name: str, password: str) -> None:
        self.page.goto("/login")
        self.page.fill("input[name=username]", name)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def accessibility_problems(self, impacts: tuple[str, ...] = ("serious", "critical")
                               ) -> list[str]:
        """axe-core's violations of these impacts on the page as it is now."""
        self.page.add_script_tag(path=str(AXE))
        found = self.page.evaluate("axe.run(document).then(r => r.violations.map(v => ("
                                   "{id: v.id, impact: v.impact, help: v.help,"
                                   " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))")
        return [f"{v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}" for v in found
                if v["impact"] in impacts]

    def outside_requests(self) -> list[str]:
        return [url for url in self.requests
                if not (url.startswith(self.base_url) or url.startswith("data:")
                        or url.startswith("blob:"))]


@pytest.fixture()
def person(browser, live_server, request) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """person(locale="en-US", width=1366, height=768) -> a Person on the live server."""
    folder = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    opened: list[Person] = []

    def open_tab(locale: str = "en-US", width: int = 1366, height: int = 768) -> Person:
        tab = Person(browser, live_server, folder, locale, {"width": width, "height": height})
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        outside = tab.outside_requests()
        errors = list(tab.errors)
        tab.context.close()
        assert outside == [], f"the pages asked for something outside the server: {outside}"
        assert errors == [], f"the pages raised script errors: {errors}"
