"""Each API view's contract: the models that parse its input and describe its answers.

``@operation(...)``, written under ``@bp.get(...)`` / ``@bp.post(...)``, records what the
OpenAPI document says about the route (``web.api.schemas.openapi`` reads it from the view)
and parses the request once: the JSON body into the ``body`` model and the query string
into the ``query`` model, each handed to the view by keyword. The view does not check
again what the model checked. A refusal names the field as the rest of the API does:
absent → 422 ``missing_field``; wrong type → 422 ``invalid_field`` (body) or
``invalid_parameter`` (query); not JSON at all → 400 ``invalid_json``.

Where the domain core already judges a value (a scan's position, a batch's quantity, a
lot's characters, a party's role) the model describes it (:func:`judged`) and lets the
service answer: the model checks at most the JSON type, and only where the service does not.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from flask import request
from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError, core_schema

from tracker.errors import InvalidInput, NotFound, TrackerError
from web.api.inputs import json_body

F = TypeVar("F", bound=Callable[..., Any])

JSON = "application/json"
NUL = "\x00"
HAS_NUL = "contains the NUL character (\\u0000), which no text may hold"
# The most an id or a count in a URL may be: the databases' integer columns (and SQLite's
# driver) stop at 64 bits, and nothing here comes near 2**31.
MAX_ID = 2**31 - 1
BINARY = {"type": "string", "format": "binary"}  # a PDF, PNG or JPEG answer
CSV_TEXT = {"type": "string", "description": "CSV with a header row"}


class Body(BaseModel):
    """A JSON request body: exact JSON types (no "5" for 5), unknown members ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class Query(BaseModel):
    """Query parameters: each a string as sent, or converted by an annotated type below."""

    model_config = ConfigDict(strict=True, extra="ignore")


@dataclass(frozen=True)
class Reply:
    """One answer of an operation: a status with a body of a media type (or none)."""

    status: int
    schema: Any = None  # a TypedDict or model, a JSON schema dict, or None: no body
    media: str = JSON
    description: str = "success"
    also: dict[str, Any] = field(default_factory=dict)  # other media types → schema
    headers: dict[str, str] = field(default_factory=dict)  # header → what it holds


@dataclass(frozen=True)
class Operation:
    summary: str
    replies: tuple[Reply, ...]
    errors: tuple[int, ...]
    body: type[Body] | None = None
    query: type[Query] | None = None
    content: dict[str, Any] | None = None  # a request body not parsed here: media → schema
    required_body: bool = True
    header_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    public: bool = False


def operation(summary: str, *, reply: Any = None, status: int = 200, media: str = JSON,
              also: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
              body: type[Body] | None = None, query: type[Query] | None = None,
              content: dict[str, Any] | None = None, required_body: bool = True,
              header_params: dict[str, dict[str, Any]] | None = None,
              errors: Iterable[int] = (), public: bool = False) -> Callable[[F], F]:
    """Describe a view and parse its input; see the module's docstring."""
    described = Operation(
        summary=summary,
        replies=(Reply(status, reply, media, also=also or {}, headers=headers or {}),),
        errors=tuple(errors), body=body, query=query, content=content,
        required_body=required_body, header_params=header_params or {}, public=public)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def parsed(**kwargs: Any) -> Any:
            _check_address(kwargs)
            if query is not None:
                kwargs["query"] = parse(query, request.args.to_dict(), "query parameter")
            if body is not None:
                kwargs["body"] = parse(body, json_body(), "field")
            return view(**kwargs)

        parsed.operation = described  # type: ignore[attr-defined]
        return parsed  # type: ignore[return-value]

    return decorate


def _check_address(path: dict[str, Any]) -> None:
    """Refuse what no text column can store (PostgreSQL refuses NUL) and what no id
    column reaches, before a query is made of it."""
    for name, value in path.items():
        if isinstance(value, int) and value > MAX_ID:  # Flask's <int:...> has no bound
            thing = name.removesuffix("_id")
            raise NotFound(f"{thing} {value} does not exist", code=f"unknown_{thing}")
        if isinstance(value, str) and NUL in value:
            raise InvalidInput(f"the path's '{name}' {HAS_NUL}", code="invalid_parameter")
    for name, value in request.args.items(multi=True):
        if NUL in name or NUL in value:
            raise InvalidInput(f"query parameter {name!r} {HAS_NUL}", code="invalid_parameter")


def operation_of(view: Callable[..., Any]) -> Operation | None:
    return getattr(view, "operation", None)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: dict[str, Any], where: str) -> M:
    """``data`` as ``model``, or the first problem as the API's refusal naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise refusal(exc.errors(include_url=False)[0], where) from None


_NAMES = {"string_type": "a string", "int_type": "a whole number", "float_type": "a number",
          "list_type": "a list", "dict_type": "an object", "model_type": "an object",
          "bool_type": "true or false", "is_instance_of": "an object"}


def refusal(error: Any, where: str) -> TrackerError:
    name = _place(error["loc"])
    kind, value = error["type"], error.get("input")
    if kind == "missing" or (value is None and kind in _NAMES):
        return InvalidInput(f"{where} '{name}' is required", code="missing_field")
    wrong = "invalid_parameter" if where == "query parameter" else "invalid_field"
    if kind in _NAMES:
        return InvalidInput(f"{where} '{name}' must be {_NAMES[kind]}, not {value!r}",
                            code=wrong)
    if kind in ("invalid_field", "invalid_parameter"):  # raised by the types below
        return InvalidInput(f"{where} '{name}' {error['msg']}", code=wrong)
    return InvalidInput(f"{where} '{name}': {error['msg']}", code=wrong)


def _place(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def judged(schema: dict[str, Any]) -> WithJsonSchema:
    """Describes a value the service judges (one place): ``Annotated[Any, judged({...})]``."""
    return WithJsonSchema(schema)


@dataclass(frozen=True, eq=False)  # hashed by identity: a union holds it
class Parsed:
    """Annotation metadata: ``convert`` parses the value, ``schema`` describes it."""

    convert: Callable[[Any], Any]
    schema: dict[str, Any]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.convert)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return dict(self.schema)


def _refuse(kind: str, message: str, value: object) -> PydanticCustomError:
    return PydanticCustomError(kind, message, {"value": repr(value)})


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(value: object) -> dt.date:
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _refuse("invalid_field", "must be a date as YYYY-MM-DD, not {value}", value)


def _instant(value: object) -> dt.datetime:
    moment = None
    if isinstance(value, str) and "T" in value.upper():
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00")
                                               .replace("z", "+00:00"))
        except ValueError:
            pass
    if moment is None:
        raise _refuse("invalid_field", "must be an ISO 8601 time, not {value}", value)
    if moment.tzinfo is None:
        raise PydanticCustomError("invalid_field", "must carry a timezone (Z or +08:00)")
    return moment


Date = Annotated[dt.date, Parsed(_date, {"type": "string", "format": "date"})]
Instant = Annotated[dt.datetime, Parsed(_instant, {"type": "string", "format": "date-time"})]

_WHOLE = re.compile(r"[0-9]+")


def whole(minimum: int = 0, maximum: int = MAX_ID) -> Parsed:
    """A query parameter holding a whole number from ``minimum`` to ``maximum``."""
    def convert(raw: object) -> int:
        if not (isinstance(raw, str) and _WHOLE.fullmatch(raw)):
            raise _refuse("invalid_parameter", "must be a whole number, not {value}", raw)
        value = int(raw)
        if not minimum <= value <= maximum:
            raise PydanticCustomError("invalid_parameter",
                                      f"must be between {minimum} and {maximum:,}, not {value}")
        return value

    return Parsed(convert, {"type": "integer", "minimum": minimum, "maximum": maximum})


def page_size(default: int, most: int) -> Parsed:
    """An EPCIS ``perPage``: any integer (GS1's binding sets no bounds), taken as the
    nearest from 1 to ``most`` — a server may send fewer than asked, the binding says."""
    def convert(raw: object) -> int:
        if not (isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", raw)):
            raise _refuse("invalid_parameter", "must be an integer, not {value}", raw)
        return min(max(int(raw), 1), most)

    return Parsed(convert, {"type": "integer", "default": default,
                            "description": f"events (or items) per page; 1 to {most:,} "
                                           "are kept, beyond is taken as the nearest"})


def one_of(*words: str) -> Parsed:
    """A query parameter holding one of ``words``."""
    def convert(raw: object) -> str:
        if raw not in words:
            raise _refuse("invalid_parameter", f"must be one of: {', '.join(words)}; "
                          "not {value}", raw)
        return str(raw)

    return Parsed(convert, {"type": "string", "enum": list(words)})
