"""The security headers of every page, and pages that need no inline script to work.

Every page route of the authorisation matrix (tests/web/test_authorization_matrix.py) is
opened as each kind of visitor — whatever the answer (a page, a redirect to sign in, a
refusal, a file) — and carries a Content-Security-Policy that allows scripts from the
site only (no 'unsafe-inline', no 'unsafe-eval'), refuses framing (frame-ancestors
'none' and X-Frame-Options DENY), and ``X-Content-Type-Options: nosniff``. The templates
and the pages as served hold no inline ``<script>`` and no inline event handler.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_authorization_matrix import (
    PAGE_IDENTITIES,
    ROWS,
    build_world,
    page_clients,
    send,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "web" / "templates", ROOT / "scanner_app" / "templates"]
PAGE_ROWS = [row for row in ROWS if not row.rule.startswith("/api/")]

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
# A data block (type="application/json") is never run; anything else needs a src.
DATA_BLOCK = re.compile(r"""\btype\s*=\s*["']application/(ld\+)?json["']""", re.I)
EVENT_HANDLER = re.compile(r"""<[a-z][^>]*?\s(on[a-z]+|hx-on[:\-][\w:\-]*)\s*=""", re.I | re.S)
JAVASCRIPT_URL = re.compile(r"""(href|src|action|formaction)\s*=\s*["']\s*javascript:""", re.I)


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name.lower()] = values
    return parsed


def header_problems(response: Any) -> list[str]:
    problems = []
    policy = response.headers.get("Content-Security-Policy")
    if not policy:
        return ["no Content-Security-Policy"]
    csp = directives(policy)
    scripts = csp.get("script-src", csp.get("default-src", []))
    if "'self'" not in scripts:
        problems.append(f"script-src is {scripts}")
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        if unsafe in scripts:
            problems.append(f"script-src allows {unsafe}")
    if csp.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors is {csp.get('frame-ancestors')}")
    if csp.get("object-src") != ["'none'"]:
        problems.append(f"object-src is {csp.get('object-src')}")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.headers.get("X-Frame-Options") != "DENY":
        problems.append("no X-Frame-Options: DENY")
    return problems


def inline_script_problems(html: str) -> list[str]:
    problems = []
    for attributes, body in SCRIPT_TAG.findall(html):
        if DATA_BLOCK.search(attributes):
            continue
        if "src=" not in attributes.replace(" ", "") or body.strip():
            problems.append(f"inline script <script{attributes}>{body.strip()[:60]}")
    problems += [f"inline event handler {m.group(1)}=" for m in EVENT_HANDLER.finditer(html)]
    problems += [f"javascript: URL in {m.group(1)}" for m in JAVASCRIPT_URL.finditer(html)]
    return problems


@pytest.fixture()
def world(app, client, db, settings):  # type: ignore[no-untyped-def]
    return build_world(db, settings, client)


def test_every_page_route_carries_the_security_headers(app, world):  # type: ignore[no-untyped-def]
    clients = page_clients(app, world)
    problems = []
    checked = 0
    html_pages = 0
    for row in PAGE_ROWS:
        for identity in (PAGE_IDENTITIES if row.auth == "session" else ("anonymous",)):
            call = row.call(world, identity)
            response = send(clients[identity], row, call, {})
            checked += 1
            problems += [f"{row.method} {call.path} as {identity}: {p}"
                         for p in header_problems(response)]
            if response.mimetype == "text/html":
                html_pages += 1
                problems += [f"{row.method} {call.path} as {identity}: {p}"
                             for p in inline_script_problems(response.get_data(as_text=True))]
    print(f"\nsecurity headers: {len(PAGE_ROWS)} page routes, {checked} responses, "
          f"{html_pages} HTML pages checked for inline scripts")
    assert not problems, "\n".join(problems)
    assert html_pages > 20


def test_the_scanner_adds_only_webassembly_to_the_policy(client):  # type: ignore[no-untyped-def]
    site = directives(client.get("/").headers["Content-Security-Policy"])
    scanner = directives(client.get("/scan").headers["Content-Security-Policy"])
    assert scanner["script-src"] == [*site["script-src"], "'wasm-unsafe-eval'"]
    assert {k: v for k, v in scanner.items() if k != "script-src"} == \
        {k: v for k, v in site.items() if k != "script-src"}


def templates() -> list[Path]:
    return sorted(p for d in TEMPLATE_DIRS for p in d.rglob("*.html"))


def test_templates_are_found():  # type: ignore[no-untyped-def]
    assert len(templates()) > 15


@pytest.mark.parametrize("template", templates(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_template_holds_an_inline_script_or_handler(template):  # type: ignore[no-untyped-def]
    assert inline_script_problems(template.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("html", [
    "<script>alert(1)</script>",
    '<script src="/static/a.js">alert(1)</script>',
    '<button onclick="go()">',
    '<div\n  class="x" onmouseover = "go()">',
    '<button hx-on:click="go()">',
    '<a href="javascript:go()">',
])
def test_the_checker_catches_inline_code(html):  # type: ignore[no-untyped-def]
    assert inline_script_problems(html) != []


@pytest.mark.parametrize("html", [
    '<script src="/static/a.js"></script>',
    '<script type="module" src="/static/a.js"></script>',
    '<script type="application/json" id="data">{"a": 1}</script>',
    '<p>the word onclick= in text is no handler</p>',
    '<input data-confirm="x" name="online">',
])
def test_the_checker_lets_pass_what_runs_no_inline_code(html):  # type: ignore[no-untyped-def]
    assert inline_script_problems(html) == []
