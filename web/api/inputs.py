"""The JSON request body, read once; the models in web.api.schemas judge its fields."""

from __future__ import annotations

import json
from typing import Any

from tracker.errors import InvalidInput, TrackerError
from web.body_limits import whole_body


class BadRequest(TrackerError):
    """Malformed request (not JSON, wrong type): 400."""

    code = "bad_request"


def json_body(expected: type = dict) -> Any:
    # The raw bytes, parsed here: request.data would first run the form parser, and
    # get_json the mimetype checks, which a JSON-only API has no use for.
    raw = whole_body()
    if not raw:
        raise BadRequest("the request has no body; send JSON with Content-Type: application/json",
                         code="invalid_json")
    try:
        body = json.loads(raw)
    except ValueError:  # not JSON, or not UTF-8/16/32 text
        body = None
    if body is None:
        raise BadRequest("the request body is not valid JSON", code="invalid_json")
    if not isinstance(body, expected):
        kind = "object" if expected is dict else "array"
        raise BadRequest(f"the request body must be a JSON {kind}", code="invalid_json")
    if b"\\u0000" in raw:  # rare: only then is the body walked
        place = _nul_at(body, "")
        if place is not None:
            raise InvalidInput(f"field '{place}' contains the NUL character (\\u0000), which "
                               "no text may hold", code="invalid_field")
    return body


def _nul_at(value: Any, place: str) -> str | None:
    """Where in a JSON value a string (or a member's name) holds NUL, which PostgreSQL's
    text and JSON columns refuse; None if nowhere."""
    if isinstance(value, str):
        return place if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{place}.{key}" if place else key
            found = inner if "\x00" in key else _nul_at(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for n, item in enumerate(value):
            found = _nul_at(item, f"{place}[{n}]")
            if found is not None:
                return found
    return None
