"""Parsing request input into plain values; every refusal names the field."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, TypeVar, cast

from flask import request

from tracker.errors import InvalidInput, TrackerError
from web.body_limits import whole_body

T = TypeVar("T")
_MISSING = object()


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
        kind = "an object" if expected is dict else "an array"
        raise BadRequest(f"the request body must be a JSON {kind}", code="invalid_json")
    return body


def field(body: dict[str, Any], name: str, kind: type[T] | tuple[type, ...], *,
          default: Any = _MISSING) -> T:
    if name not in body or body[name] is None:
        if default is _MISSING:
            raise InvalidInput(f"field '{name}' is required", code="missing_field")
        return default  # type: ignore[no-any-return]
    value = body[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise InvalidInput(f"field '{name}' must be {_describe(kinds)}, not {value!r}",
                           code="invalid_field")
    if not isinstance(value, kinds):
        raise InvalidInput(f"field '{name}' must be {_describe(kinds)}, not {value!r}",
                           code="invalid_field")
    return cast(T, value)


def date_field(body: dict[str, Any], name: str) -> dt.date | None:
    value = field(body, name, str, default=None)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"field '{name}' must be a date as YYYY-MM-DD, not {value!r}",
                           code="invalid_field") from None


def int_arg(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"query parameter '{name}' must be a whole number, not {raw!r}",
                           code="invalid_parameter") from None
    if value < minimum or (maximum is not None and value > maximum):
        top = f" and {maximum:,}" if maximum is not None else ""
        raise InvalidInput(
            f"query parameter '{name}' must be between {minimum}{top}, not {value}",
            code="invalid_parameter",
        )
    return value


def _describe(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "a whole number", float: "a number", list: "a list",
             dict: "an object", bool: "true or false"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)
