"""The inspectors' mobile web app at /scan: a shell page, its service worker and manifest,
and the two small calls that turn a web sign-in into the device's API token.

Everything else the app does goes through the JSON API with that bearer token, like any
client (``POST /api/v1/scans``, ``GET /api/v1/scans``, evidence). The shell is the same
for everyone (no user data in it), so the service worker can keep it and open the app
with no network; the user, the CSRF token and the API token come from calls.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from scanner_app.phrases import phrasebook
from tracker.db import utcnow, write_transaction
from tracker.errors import AuthenticationRequired
from tracker.models import Party, Role, Territory, User
from tracker.services.auth import authenticate_token, issue_token
from web import i18n, security, throttle
from web.api import bp as api_bp
from web.db import get_session, settings
from web.errors import error_response

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
WEB_STATIC = HERE.parent / "web" / "static"
# The site's Leaflet, for the map of the day's scans (kept by the service worker too).
LEAFLET = ["vendor/leaflet-1.9.4/leaflet.js", "vendor/leaflet-1.9.4/leaflet.css"]
# The service worker's scope: the app's page /scan and everything below it.
SCOPE = "/scan"
ALLOWED_ROLES = (Role.INSPECTOR, Role.ADMIN)

bp = Blueprint("scanner", __name__, url_prefix=SCOPE, static_folder="static",
               static_url_path="/static", template_folder="templates")

# The ZXing decoder is WebAssembly: compiling it needs 'wasm-unsafe-eval' (which allows
# WebAssembly.instantiate and nothing else — no eval of scripts). Only the scanner's
# pages get it; every other page keeps the site's policy.
_SITE_SCRIPTS = "script-src 'self'"
assert _SITE_SCRIPTS in security.CONTENT_SECURITY_POLICY
CONTENT_SECURITY_POLICY = security.CONTENT_SECURITY_POLICY.replace(
    _SITE_SCRIPTS, f"{_SITE_SCRIPTS} 'wasm-unsafe-eval'")


@bp.after_request
def _policy(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def _cached_files() -> list[tuple[str, Path]]:
    """(url, file) of everything the service worker keeps, but the shell itself."""
    own = sorted(p for p in STATIC.rglob("*") if p.is_file()
                 and p.suffix not in {".md", ""} and not p.name.startswith("LICENSE"))
    return ([(url_for("scanner.static", filename=p.relative_to(STATIC).as_posix()), p)
             for p in own]
            + [(url_for("static", filename=name), WEB_STATIC / name) for name in LEAFLET])


@functools.cache
def _version(files: tuple[Path, ...]) -> str:
    """A hash of what the app is made of: a new release gets a new service worker, which
    fetches everything again into a new cache and drops the old one."""
    digest = hashlib.sha256()
    for path in (*files, *sorted((HERE / "templates").rglob("*")), HERE / "phrases.py"):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def app_version() -> str:
    return _version(tuple(path for _url, path in _cached_files()))


@bp.get("")
def app() -> Response:
    response = Response(render_template(
        "scanner/app.html", phrases=phrasebook(), version=app_version(),
        language=i18n.language(), api_base=api_bp.url_prefix))
    # Always asked again when online (the service worker keeps a copy for offline).
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


@bp.get("/sw.js")
def service_worker() -> Response:
    """Served from a view at /scan/sw.js (not from /scan/static/) so that its scope can be
    the app's page /scan itself."""
    body = render_template("scanner/sw.js", version=app_version(), shell=url_for("scanner.app"),
                           assets=[u for u, _p in _cached_files()],
                           manifest=url_for("scanner.manifest"))
    response = Response(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = SCOPE
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    icons = [{"src": url_for("scanner.static", filename=f"icons/{name}.png"),
              "sizes": size, "type": "image/png", "purpose": purpose}
             for name, size, purpose in [("icon-192", "192x192", "any"),
                                         ("icon-512", "512x512", "any"),
                                         ("maskable-512", "512x512", "maskable")]]
    body = {"name": _("Tracker scanner"), "short_name": _("Scanner"),
            "description": _("Check product codes in the field, online or offline."),
            "lang": "zh-CN" if i18n.language() == "zh" else "en",
            "start_url": url_for("scanner.app"), "scope": SCOPE, "id": SCOPE,
            "display": "standalone", "orientation": "portrait",
            "background_color": "#111827", "theme_color": "#111827", "icons": icons}
    response = Response(json.dumps(body, ensure_ascii=False),
                        mimetype="application/manifest+json")
    response.vary.add("Accept-Language")
    return response


@bp.get("/session")
def session_state() -> Response:
    """Who is signed in to the web session (if anyone), a fresh CSRF token for signing in
    or asking for a token, and the server's clock (the phone's may be off)."""
    signed_in = bool(current_user.is_authenticated)
    response = jsonify({
        "signed_in": signed_in,
        "user": current_user.name if signed_in else None,
        "role": current_user.role.value if signed_in else None,
        "csrf_token": generate_csrf(),
        "now": utcnow().isoformat(),
    })
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/token")
def token() -> Response:
    """A bearer token for this device, for the signed-in inspector (web session and CSRF
    token required: a page elsewhere cannot make the browser ask for one)."""
    if not current_user.is_authenticated:
        return error_response(401, "sign_in_required", _("Sign in first."))
    if current_user.role not in ALLOWED_ROLES:
        return error_response(403, "not_inspector",
                              _("This app is for inspectors. Sign in with an inspector's "
                                "account."))
    refused = throttle.first_refusal(("token", current_user.name))
    if refused is not None:
        return throttle.too_many(refused, _("Too many sign-ins on devices. Wait %(wait)s and "
                                            "try again.", wait=throttle.wait_words(refused)))
    db = get_session()
    with write_transaction(db):
        user = db.get(User, current_user.actor.user_id)
        assert user is not None
        issued = issue_token(db, user, lifetime=dt.timedelta(days=settings().device_token_days))
    response = jsonify({"token": issued, "user": current_user.name,
                        "role": current_user.role.value})
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/names.json")
def names() -> Response:
    """Territory names in the page's language and party names, for showing verdicts; by
    bearer token like the API (the app may have no web session by now)."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, bearer = header.partition(" ")
    db = get_session()
    try:
        actor = authenticate_token(db, bearer.strip() if scheme.lower() == "bearer" else None)
    except AuthenticationRequired as exc:
        return error_response(401, exc.code, exc.message)
    if actor.role not in ALLOWED_ROLES:
        return error_response(403, "not_inspector", _("This is for inspectors."))
    zh = request.args.get("lang", i18n.language()) == "zh"
    territories: dict[str, str] = {}
    for code, name, properties in db.execute(
            select(Territory.code, Territory.name, Territory.properties)):
        territories[code] = ((properties or {}).get("name_zh") if zh else None) or name
    parties = {party_id: name for party_id, name in db.execute(select(Party.id, Party.name))}
    db.rollback()
    return jsonify({"territories": territories, "parties": parties})
