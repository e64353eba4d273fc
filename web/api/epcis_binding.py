"""The EPCIS 2.0 REST binding's own rules under /api/v1/epcis, for every route there.

GS1's binding (its ``rest/openapi.yaml``) asks more of each answer than the rest of the API
gives, the same for every resource, so it is done here once rather than in each view:

* errors are RFC 7807 ``application/problem+json`` bodies whose ``type`` is one of GS1's
  ``epcisException:...`` names (:func:`problem_response`, called by the one error handler
  in ``web.errors``); they carry the API's usual ``error`` member as well. A refusal the
  rest of the API answers with 422 is the binding's 400 (GS1 knows no 422);
* every answer says which EPCIS and CBV versions it speaks (``GS1-EPCIS-Version`` ...).
  ``GS1-Extensions`` is not sent: the server supports no extension to announce, and GS1
  types the header as an object, which an empty value is not;
* ``OPTIONS`` on any route answers 204 with ``Allow`` and the discovery headers, and on
  ``/capture`` the real capture limits (events per document, bytes per body); on a named
  resource that does not exist (an event, a query, a capture job) it is 404;
* the request headers ``GS1-EPCIS-Min``/``-Max`` and ``GS1-CBV-Min``/``-Max`` are honoured
  (406 when 2.0.0 is outside them), as is ``GS1-EPC-Format``: EPC URIs in the events
  returned become GS1 Digital Link URIs on request; EPC URNs cannot be made from Digital
  Link URIs (that needs each GS1 Company Prefix's length, which a Digital Link does not
  carry), so ``Always_EPC_URN`` is 406;
* ``GET /epcis/`` lists the top-level resources the server has.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, g, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from tracker.domain.epcis.identifiers import canonical_identifier
from tracker.errors import NotFound, TrackerError
from tracker.services import epcis, epcis_query
from web import body_limits
from web.api import bp
from web.api.schemas.contract import operation
from web.db import get_session, settings

PREFIX = "/api/v1/epcis"
VERSION = "2.0.0"
VENDOR_VERSION = f"tracker-{metadata.version('tracker')}"
PROBLEM = "application/problem+json"
JSON_TYPES = ("application/json", "application/ld+json", PROBLEM)

# GS1's top-level resources (its TopLevelResources), listed at GET /epcis/ when routed.
TOP_LEVEL = ("events", "eventTypes", "epcs", "bizSteps", "bizLocations", "readPoints",
             "dispositions", "capture", "queries")
EPC_FORMATS = ("No_Preference", "Always_GS1_Digital_Link", "Always_EPC_URN", "Never_Translates")
CBV_XML_FORMATS = ("No_Preference", "Always_Web_URI", "Always_URN", "Never_Translates")
VERSION_HEADERS = ("GS1-EPCIS-Min", "GS1-EPCIS-Max", "GS1-CBV-Min", "GS1-CBV-Max")
_VERSION = re.compile(r"\d+(?:\.\d+)*")

# The answer's headers (GS1's components/headers), on every answer under the prefix.
ANSWER_HEADERS = {"GS1-EPCIS-Version": VERSION, "GS1-CBV-Version": VERSION,
                  "GS1-Vendor-Version": VENDOR_VERSION}
# OPTIONS adds what a client negotiates with (GS1's 204 ...Discovery responses).
DISCOVERY_HEADERS = {"GS1-EPCIS-Min": VERSION, "GS1-EPCIS-Max": VERSION,
                     "GS1-CBV-Min": VERSION, "GS1-CBV-Max": VERSION,
                     "GS1-EPC-Format": "No_Preference", "GS1-CBV-XML-Format": "No_Preference"}

# GS1's exception type and title for each status (its components/responses); 400 depends
# on the route and the refusal (exception_name).
EXCEPTIONS: dict[int, tuple[str, str]] = {
    401: ("SecurityException", "Unauthorised request"),
    403: ("SecurityException", "Access to resource forbidden"),
    404: ("NoSuchNameException", "Resource not found"),
    406: ("NotAcceptableException", "Conflicting request and response headers"),
    409: ("ResourceAlreadyExistsException",
          "A resource with the provided identifier already exists."),
    414: ("URITooLongException", "URI Too Long"),
    415: ("UnsupportedMediaTypeException", "Unsupported Media Type"),
    500: ("ImplementationException", "A server-side error occurred"),
    501: ("ImplementationException", "Functionality not supported by server"),
}
TITLES_400 = {"ValidationException": "Invalid request",
              "QueryParameterException": "Invalid query parameter",
              "QueryValidationException": "Invalid query",
              "SubscriptionControlsException": "Subscription error"}
# Refusals of a query's parameters (the query model's and the EPCIS service's codes).
QUERY_PARAMETER_CODES = frozenset({"invalid_parameter", "unsupported_parameter"})

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 7807 problem, as GS1's EPCIS 2.0 binding has it "
                   "(RFC7807ProblemResponseBody), with the API's usual error member",
    "required": ["type", "title", "status", "error"],
    "properties": {
        "type": {"type": "string", "description": "epcisException:<GS1's exception name>"},
        "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "error": {"$ref": "#/components/schemas/ErrorDetail"},
    },
}
TOP_LEVEL_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["@context", "type", "member"],
    "properties": {"@context": {"type": "string"}, "type": {"const": "Collection"},
                   "member": {"type": "array", "items": {"enum": list(TOP_LEVEL)}}},
}


def is_binding_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def exception_name(status: int, code: str, path: str, method: str) -> str | None:
    """GS1's exception for a refusal, None where GS1 names none (405, 429)."""
    if status in (400, 422):
        resource = path[len(PREFIX):]
        if resource.startswith("/queries/") and (
                "/subscriptions" in resource or resource.endswith("/events")):
            return ("SubscriptionControlsException" if "subscription" in code
                    else "ValidationException")
        if resource.startswith("/queries") and method == "POST":
            return "QueryValidationException"
        if method == "GET" and code in QUERY_PARAMETER_CODES:
            return "QueryParameterException"
        return "ValidationException"
    if status == 413:
        return "CaptureLimitExceededException" if method == "POST" else "QueryTooLargeException"
    return EXCEPTIONS[status][0] if status in EXCEPTIONS else None


def problem_response(status: int, code: str, message: str, details: object = None) -> Response:
    """The binding's error answer: an RFC 7807 problem with GS1's exception type, and the
    API's ``error`` member. 422 becomes 400: GS1 refuses invalid input with 400."""
    status = 400 if status == 422 else status
    name = exception_name(status, code, request.path, request.method)
    if name is None:  # RFC 7807: no semantics beyond the HTTP status
        kind, title = "about:blank", HTTP_STATUS_CODES.get(status, "Error")
    else:
        kind = f"epcisException:{name}"
        title = (TITLES_400.get(name, "") if status == 400
                 else EXCEPTIONS.get(status, ("", ""))[1]) or HTTP_STATUS_CODES.get(status, "")
    error: dict[str, object] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    body = {"type": kind, "title": title, "status": status, "detail": message,
            "instance": instance(), "error": error}
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tracker"'
    return response


def instance() -> str:
    """The address refused, as an absolute URI (what it was sent as may hold characters a
    URI may not: they are %-escaped)."""
    return request.host_url.rstrip("/") + quote(request.script_root + request.path,
                                                safe="/:@!$&'()*+,;=-._~")


def wants_problem() -> bool:
    """Whether the error answer being made is the binding's (a request under the prefix)."""
    return has_request_context() and is_binding_path(request.path)


def _version(text: str) -> tuple[int, ...] | None:
    text = text.strip()
    if not _VERSION.fullmatch(text):
        return None
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


_SPOKEN = tuple(int(part) for part in VERSION.split("."))


def _not_acceptable(message: str) -> Response:
    return problem_response(406, "not_acceptable", message)


@bp.before_request
def _negotiate() -> Response | None:
    """406 for what the binding cannot answer as asked (after authentication: bp's first
    hook). The chosen EPC format is kept for the answer."""
    if not is_binding_path(request.path):
        return None
    for name in VERSION_HEADERS:
        value = request.headers.get(name)
        if value is None:
            continue
        asked = _version(value)
        if asked is None:
            return _not_acceptable(f"{name} must be a version such as 2.0.0, not {value!r}")
        if (asked > _SPOKEN) if name.endswith("Min") else (asked < _SPOKEN):
            standard = name.split("-")[1]
            return _not_acceptable(f"this server speaks {standard} {VERSION} only; "
                                   f"{name}: {value} leaves it out")
    for name in ("GS1-EPCIS-Version", "GS1-CBV-Version"):  # the version of a sent document
        value = request.headers.get(name)
        if value is not None and (_version(value) or (0,))[0] != _SPOKEN[0]:
            return _not_acceptable(f"this server takes {name.split('-')[1]} {VERSION} "
                                   f"documents, not {name}: {value}")
    epc_format = request.headers.get("GS1-EPC-Format", "No_Preference").strip()
    if epc_format not in EPC_FORMATS:
        return _not_acceptable(f"GS1-EPC-Format must be one of {', '.join(EPC_FORMATS)}, "
                               f"not {epc_format!r}")
    if epc_format == "Always_EPC_URN":
        return _not_acceptable(
            "GS1-EPC-Format: Always_EPC_URN is not supported: an EPC URN cannot be made from "
            "a GS1 Digital Link URI without the GS1 Company Prefix's length, which the URI "
            "does not carry; ask for No_Preference, Never_Translates or "
            "Always_GS1_Digital_Link")
    cbv_format = request.headers.get("GS1-CBV-XML-Format")
    if cbv_format is not None and cbv_format.strip() not in CBV_XML_FORMATS:
        return _not_acceptable(f"GS1-CBV-XML-Format must be one of "
                               f"{', '.join(CBV_XML_FORMATS)}, not {cbv_format!r}")
    if request.accept_mimetypes and request.method != "OPTIONS" and \
            request.accept_mimetypes.best_match(JSON_TYPES) is None:
        return _not_acceptable("this server answers in JSON (application/json or "
                               "application/ld+json) only; the Accept header leaves both out")
    g.epc_format = epc_format
    token = request.args.get("nextPageToken")
    if token and request.method == "GET":  # one a client released reads no more pages
        session = get_session()
        epcis_query.check_token(session, token)
        session.rollback()
    if request.method == "OPTIONS" and request.view_args:
        _require_named_resource()
    return None


def _require_named_resource() -> None:
    """OPTIONS on a named resource (an event, a query, a capture job ...) that does not
    exist is 404, as GS1 has it: its GET (of the resource itself for .../events) is asked,
    and only its NotFound kept; the GET's other answers are not the OPTIONS's business."""
    rule = request.url_rule.rule if request.url_rule is not None else ""
    path = request.path.removesuffix("/events") if rule.endswith("/events") else request.path
    try:
        endpoint, arguments = current_app.url_map.bind("").match(path, method="GET")
    except HTTPException:  # no GET there (or no such resource path)
        return
    if not arguments:
        return
    try:
        current_app.view_functions[endpoint](**arguments)
    except NotFound:
        raise
    except TrackerError:
        return


@bp.after_app_request
def _binding_headers(response: Response) -> Response:
    """The GS1 headers on every answer under the prefix; OPTIONS as GS1's discovery."""
    if not has_request_context() or not is_binding_path(request.path):
        return response
    response.headers.update(ANSWER_HEADERS)
    capture = request.path.rstrip("/") in (f"{PREFIX}/capture", f"{PREFIX}/events")
    if request.method == "OPTIONS" and response.status_code == 200:
        response.status_code = 204
        response.set_data(b"")
        response.headers.pop("Content-Type", None)
        response.headers.update(DISCOVERY_HEADERS)
        if request.path.rstrip("/") == f"{PREFIX}/capture":
            response.headers.update(_capture_limits())
            response.headers["GS1-Capture-Error-Behaviour"] = "all"  # rollback and proceed
    elif response.status_code == 413 and capture:
        response.headers.update(_capture_limits())
    elif response.status_code == 200 and g.get("epc_format") == "Always_GS1_Digital_Link":
        _to_digital_link(response)
    return response


def _capture_limits() -> dict[str, str]:
    most = body_limits.KINDS[body_limits.ROUTE_KINDS["api.post_capture"]].limit(settings())
    return {"GS1-EPCIS-Capture-Limit": str(epcis.MAX_CAPTURE_EVENTS),
            "GS1-EPCIS-Capture-File-Size-Limit": str(most)}


# Where an event holds EPCs (and locations, parties: EPC URIs too): GS1's event fields.
_EPC_LISTS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList",
                   "outputQuantityList")


def _dl(value: Any) -> Any:
    """An EPC URN's GS1 Digital Link URI; anything else (a Digital Link, a private URI)
    as it is."""
    if isinstance(value, str) and value.startswith("urn:epc:"):
        return canonical_identifier(value) or value
    return value


def to_digital_link(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its EPC URNs written as GS1 Digital Link URIs."""
    out = dict(event)
    for name in _EPC_LISTS:
        if isinstance(out.get(name), list):
            out[name] = [_dl(v) for v in out[name]]
    if "parentID" in out:
        out["parentID"] = _dl(out["parentID"])
    for name in _QUANTITY_LISTS:
        if isinstance(out.get(name), list):
            out[name] = [dict(q, epcClass=_dl(q["epcClass"]))
                         if isinstance(q, dict) and "epcClass" in q else q for q in out[name]]
    for name in ("readPoint", "bizLocation"):
        if isinstance(out.get(name), dict) and "id" in out[name]:
            out[name] = dict(out[name], id=_dl(out[name]["id"]))
    for name, key in (("sourceList", "source"), ("destinationList", "destination")):
        if isinstance(out.get(name), list):
            out[name] = [dict(s, **{key: _dl(s[key])}) if isinstance(s, dict) and key in s
                         else s for s in out[name]]
    return out


def _to_digital_link(response: Response) -> None:
    """Rewrite the EPCs of an answer's events (an EPCISQueryDocument) or of a list of
    EPCs (GET /epcs) as Digital Link URIs."""
    if response.is_streamed or not response.is_json:
        return
    body = response.get_json(silent=True)
    if not isinstance(body, dict):
        return
    if body.get("type") == "EPCISQueryDocument":
        results = body.get("epcisBody", {}).get("queryResults", {}).get("resultsBody", {})
        if isinstance(results.get("eventList"), list):
            results["eventList"] = [to_digital_link(e) if isinstance(e, dict) else e
                                    for e in results["eventList"]]
    elif body.get("type") == "Collection" and request.path.startswith(f"{PREFIX}/epcs"):
        body["member"] = [_dl(m) for m in body.get("member", [])]
    else:
        return
    response.set_data(json.dumps(body))


@bp.get("/epcis/")
@operation("The EPCIS binding's top-level resources (GS1's 200SupportedTopLevel)",
           reply=TOP_LEVEL_SCHEMA)
def get_epcis_root() -> Response:
    routed = {rule.rule for rule in current_app.url_map.iter_rules()}
    member = [name for name in TOP_LEVEL if f"{PREFIX}/{name}" in routed]
    return jsonify(epcis_query.collection(member))


def capture_errors(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A capture job's errors as GS1's CaptureJob has them, RFC 7807 problems (``type``,
    ``title``, ``detail``), each keeping the job's own members (``index``, ``code``,
    ``message``, ``eventID``)."""
    problems = []
    for entry in entries:
        name = ("ResourceAlreadyExistsException" if entry.get("code") == "duplicate_event"
                else "ValidationException")
        title = (EXCEPTIONS[409][1] if name == "ResourceAlreadyExistsException"
                 else "Invalid event")
        problems.append({"type": f"epcisException:{name}", "title": title,
                         "detail": entry.get("message", ""), **entry})
    return problems
