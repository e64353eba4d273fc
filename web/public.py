"""The public page behind every QR code: ``/01/{gtin}/.../21/{serial}`` (contract §3).

Anyone may open it, signed in or not. HTML by default: the product, whether the code is
genuine, how often and roughly where it was checked before, a warning for unknown,
recalled or copied codes (tracker.services.public decides what is shown; never a party,
shipment or custody detail). With ``Accept: application/json`` the same verification as
JSON; with a GS1 ``linkType`` query (or ``Accept: application/linkset+json``) it answers
as a GS1-Conformant Resolver does: ``linkType=all`` (or ``linkset``) the RFC 9264 linkset,
another link type a 307 to its target or a 404 naming the link types there are. Every
answer about a readable code carries the links in a ``Link`` header.

Each HTML or JSON view records a consumer check; resolver requests, HEAD requests and
refused ones record nothing. Every request here is rate-limited per client
(``TRACKER_PUBLIC_RATE_LIMIT``; the client is the peer's address, or the
X-Forwarded-For entry the ``TRACKER_TRUSTED_PROXIES`` proxies vouch for).

The person may share their position from the page (static/js/public-check.js posts it to
``/checks/position``). The page opens no session, so the session-bound CSRF token of the
other forms would cost a stored session per visitor; the post carries instead a token
signed with the app's secret that names this one check and expires: it is the CSRF
token here (it cannot be forged or reused for another check), and a cross-site Origin is
refused as well.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from tracker import errors
from tracker.domain.codes import ParsedCode, parse_code
from tracker.services import public, rate_limits
from web import i18n, throttle
from web.db import get_session, settings
from web.errors import error_response, status_for
from web.security import csrf
from web.throttle import client_address

bp = Blueprint("public", __name__)

GS1_VOC = "https://gs1.org/voc/"
LINKSET_TYPE = "application/linkset+json"
# A shared position is taken within this many seconds of opening the page.
POSITION_TOKEN_SECONDS = 15 * 60
_TOKEN_SALT = "consumer-check-position"

VERDICT_TEXTS = {
    "authentic": (_l("Genuine product"),
                  _l("This code was issued by the brand for this product.")),
    "unknown_code": (_l("Unknown code"),
                     _l("The brand never issued this code for this product. The product may"
                        " be counterfeit: do not buy or use it, and tell the seller.")),
    "recalled": (_l("Recalled product"),
                 _l("This product has been recalled or withdrawn from sale. Do not use it;"
                    " take it back to where you bought it.")),
    "suspected_clone": (_l("Possible copy"),
                        _l("This code has been checked in places too far apart for one item"
                           " to travel between in the time. The label may have been copied:"
                           " look carefully at the seller and the packaging.")),
}
VERDICT_STYLES = {"authentic": "success", "unknown_code": "danger", "recalled": "danger",
                  "suspected_clone": "warning"}


def _requested_uri() -> str:
    """The URI as the client sent it, on this host: the raw path keeps percent-escapes
    (``%2F`` in a serial) that the decoded path has lost."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    path = raw.split("?", 1)[0] if raw else quote(request.path, safe="/")
    query = request.query_string.decode("latin-1")
    return f"{request.host_url.rstrip('/')}{path}" + (f"?{query}" if query else "")


def _answer_kind() -> str:
    if "linkType" in request.args:
        return "linkset"
    best = request.accept_mimetypes.best_match(["text/html", "application/json", LINKSET_TYPE],
                                               default="text/html")
    return {"application/json": "json", LINKSET_TYPE: "linkset"}.get(best or "", "html")


def _read(uri: str) -> tuple[ParsedCode | None, str]:
    """The item code of the address, or None and the reason it is none."""
    try:
        parsed = parse_code(uri)
    except errors.MalformedCode as exc:
        return None, exc.message
    if parsed.form != "digital_link" or parsed.serial is None:
        return None, _("the link names a product but not one item (it has no /21/ serial)")
    return parsed, ""


@bp.get("/01/<path:_rest>")
def code_page(_rest: str) -> Any:
    uri = _requested_uri()
    kind = _answer_kind()
    parsed, problem = _read(uri)
    # A HEAD (a link checker, a preview) is nobody's check.
    decision, check, check_id = public.visit(
        get_session(), parsed if kind != "linkset" else None, code=uri,
        client=client_address(), limit=throttle.limit("public"),
        record=request.method == "GET")
    if not decision.allowed:
        return too_many(decision, kind)
    if parsed is None:
        return _unreadable(problem, kind)
    anchor = uri.split("?", 1)[0]
    links = _links(anchor)
    if kind == "linkset":
        response = _resolve(anchor, links)
    elif kind == "json":
        assert check is not None
        response = jsonify(_verification(anchor, check, check_id))
    else:
        assert check is not None
        response = Response(render_template(
            "public/code.html", check=check, anchor=anchor, verdict_text=VERDICT_TEXTS,
            verdict_style=VERDICT_STYLES, place_label=place_label, day=_day,
            position_token=_token(check_id) if check_id else None))
    response.headers["Link"] = ", ".join(
        [f'<{anchor}?linkType=all>; rel="linkset"; type="{LINKSET_TYPE}"']
        + [f'<{href}>; rel="{rel}"; type="{kind_}"' for rel, href, kind_, _title in links])
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


def _links(anchor: str) -> list[tuple[str, str, str, str]]:
    """(relation, target, media type, title) of the code: this page is where the brand
    says whether a code is genuine; no other target is registered."""
    return [(f"{GS1_VOC}defaultLink", anchor, "text/html", "Is this product genuine?"),
            (f"{GS1_VOC}verificationService", anchor, "text/html",
             "Check this code: genuine, unknown, recalled or copied")]


def _link_type(value: str) -> str:
    """A link type as its full URI: ``gs1:pip`` and ``https://ref.gs1.org/voc/pip`` are
    ``https://gs1.org/voc/pip``."""
    for prefix in ("gs1:", "https://gs1.org/voc/", "https://www.gs1.org/voc/",
                   "https://ref.gs1.org/voc/", "http://gs1.org/voc/"):
        if value.startswith(prefix):
            return GS1_VOC + value[len(prefix):]
    return value


def _resolve(anchor: str, links: list[tuple[str, str, str, str]]) -> Response:
    wanted = request.args.get("linkType", "all")
    if wanted in ("all", "linkset") or "linkType" not in request.args:
        entry: dict[str, Any] = {"anchor": anchor}
        for rel, href, media, title in links:
            entry.setdefault(rel, []).append(
                {"href": href, "title": title, "type": media,
                 "hreflang": sorted(i18n.LANGUAGES)})
        response = current_app.response_class(
            current_app.json.dumps({"linkset": [entry]}), mimetype=LINKSET_TYPE)
        return response
    target = next((href for rel, href, _m, _t in links if rel == _link_type(wanted)), None)
    if target is not None:
        return redirect(target, code=307)  # type: ignore[return-value]
    there = ", ".join(rel.replace(GS1_VOC, "gs1:") for rel, *_ in links)
    response = error_response(
        404, "no_such_link",
        f"no link of type {wanted!r} is registered for this code; there are: {there}, "
        "and linkType=all lists them")
    return response


def _verification(anchor: str, check: public.Check, check_id: int | None) -> dict[str, Any]:
    return {
        "code": anchor, "gtin": check.gtin, "serial": check.serial,
        "verdict": check.verdict, "product": check.product, "lot": check.lot,
        "expiry": check.expiry.isoformat() if check.expiry else None,
        "checks_before": check.checks_before,
        "earlier_checks": [{"at": e.at.isoformat(), "place": _place_json(e.place)}
                           for e in check.earlier],
        "check_id": check_id,
        "position_token": _token(check_id) if check_id else None,
    }


def _place_json(place: public.Place) -> dict[str, Any] | None:
    if place.territory is not None:
        return {"territory": place.territory, "name": place.name, "name_zh": place.name_zh}
    if place.latitude is None:
        return None
    return {"latitude": place.latitude, "longitude": place.longitude}


def place_label(place: public.Place) -> str:
    """Where a check was, as a person reads it, in the page's language."""
    if place.territory is not None:
        if i18n.language() == "zh" and place.name_zh:
            return place.name_zh
        return place.name or place.territory
    if place.latitude is None or place.longitude is None:
        return _("place not shared")
    return _("near %(latitude)s, %(longitude)s", latitude=format(place.latitude, ".1f"),
             longitude=format(place.longitude, ".1f"))


def _day(moment: dt.datetime) -> str:
    return format_date(moment, "medium")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)


def _token(check_id: int) -> str:
    return _serializer().dumps(check_id)


@bp.post("/checks/position")
@csrf.exempt
def share_position() -> Response:
    """A position the person chose to share for the check the page recorded."""
    origin = request.headers.get("Origin")
    if origin and origin.rstrip("/") != request.host_url.rstrip("/"):
        return error_response(403, "cross_site", _("Positions are taken only from this site's"
                                                   " own pages."))
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error_response(400, "bad_request", _("Send the position as a JSON object."))
    try:
        check_id = _serializer().loads(str(body.get("token", "")),
                                       max_age=POSITION_TOKEN_SECONDS)
    except SignatureExpired:
        return error_response(400, "check_expired",
                              _("This check is too old to add a position. Scan the code"
                                " again."))
    except BadSignature:
        return error_response(400, "bad_token", _("This request does not come from a check"
                                                  " page. Scan the code again."))
    try:
        decision, located = public.place_check(
            get_session(), int(check_id), latitude=body.get("latitude"),
            longitude=body.get("longitude"), accuracy_m=body.get("accuracy_m"),
            client=client_address(), limit=throttle.limit("public"), settings=settings())
    except errors.TrackerError as exc:
        return error_response(status_for(exc), exc.code, exc.message)
    if located is None:
        return too_many(decision, "json")
    heading, explanation = VERDICT_TEXTS[located.verdict]
    return jsonify({
        "verdict": located.verdict, "place": _place_json(located.place),
        "message": _("Thank you: your check near %(place)s is recorded.",
                     place=place_label(located.place)),
        "panel": render_template("public/verdict.html", verdict=located.verdict,
                                 verdict_text=VERDICT_TEXTS, verdict_style=VERDICT_STYLES),
    })


def too_many(decision: rate_limits.Decision, kind: str) -> Response:
    """429 with Retry-After, as a page or as the API's error body."""
    message = _("Too many checks from your connection. Wait %(seconds)s seconds and try"
                " again.", seconds=decision.retry_after)
    if kind != "html":
        return throttle.too_many(decision, message)
    response = Response(render_template("public/refused.html", status=429,
                                        heading=_("Too many checks"), explanation=message),
                        status=429)
    response.headers["Retry-After"] = str(decision.retry_after)
    return response


def _unreadable(problem: str, kind: str) -> Response:
    if kind != "html":
        return error_response(404, "not_a_code",
                              f"this address is not the code of an item: {problem}")
    return Response(render_template("public/unreadable.html", problem=problem), status=404)


@bp.app_template_global()
def consumer_signals(key: str) -> public.ConsumerSignals:
    """Consumer checks of a serial, for compliance's pages (the violation page shows
    them beside the evidence: by default they open no case of their own)."""
    return public.consumer_signals(get_session(), key)
