"""The OpenAPI 3.1 document, built from the routes the app has and their ``@operation``s.

Paths and path parameters come from the URL map, request and answer schemas from the
models in ``web.api.schemas.models`` (pydantic writes the JSON schemas), so the document
describes what the views do and cannot list a route the app lacks.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from flask import Flask
from pydantic import TypeAdapter
from werkzeug.routing import Rule

from tracker.domain.epcis.vocabulary import load_data
from web.api import epcis_binding
from web.api.schemas import models
from web.api.schemas.contract import JSON, MAX_ID, Operation, Reply, operation_of

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"

ERRORS = {400: "malformed request (not JSON, an unreadable code)",
          401: "no token, or a bad, revoked or expired one",
          403: "the role may not do this", 404: "not found", 409: "conflict with the stored state",
          413: "body too large", 422: "invalid values; the message names the field",
          429: "too many requests; wait for Retry-After seconds",
          406: "the GS1 headers or Accept ask for what the server cannot answer"}
BINDING = "/epcis"  # GS1's EPCIS binding: its errors are RFC 7807 problems (epcis_binding)
ALWAYS = (401, 403)


def document(app: Flask) -> dict[str, Any]:
    """The API's description from the app's routes under ``/api/v1``."""
    types: dict[str, tuple[Any, str]] = {"Error": (models.Error, "serialization")}
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op = operation_of(app.view_functions[rule.endpoint])
        if not rule.rule.startswith(PREFIX + "/") or op is None:
            continue
        path, parameters = _path(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                op, parameters, types, binding=path.startswith(BINDING))
    return {
        "openapi": "3.1.0",
        "info": {"title": "tracker API", "version": "1",
                 "description": "Serial numbers per territory, custody down the tiers and "
                                "field-scan verdicts against channel diversion."},
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": _schemas(types) | gs1_epcis_schemas()
                       | {"Problem": epcis_binding.PROBLEM_SCHEMA}},
    }


_VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")  # <converter(args):name>


def _path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    parameters = []
    for converter, name in _VARIABLE.findall(rule.rule):
        schema: dict[str, Any] = ({"type": "integer", "minimum": 0, "maximum": MAX_ID}
                                  if converter == "int"
                                  else {"type": "string", "minLength": 1})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _VARIABLE.sub(r"{\2}", rule.rule[len(PREFIX):]), parameters


def _operation(op: Operation, path_params: list[dict[str, Any]],
               types: dict[str, tuple[Any, str]], *, binding: bool = False) -> dict[str, Any]:
    described: dict[str, Any] = {"summary": op.summary, "responses": {}}
    if op.public:
        described["security"] = []
    parameters = list(path_params)
    if op.query is not None:
        schema = op.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            prop = {k: v for k, v in prop.items()  # a query has no null: absent instead
                    if k != "title" and not (k == "default" and v is None)}
            entry = {"name": name, "in": "query", "required": name in required}
            if "description" in prop:
                entry["description"] = prop.pop("description")
            parameters.append(entry | {"schema": prop})
    for name, schema in op.header_params.items():
        parameters.append({"name": name, "in": "header", "required": False, "schema": schema})
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        described["requestBody"] = {"required": True, "content": {
            JSON: {"schema": _schema_of(op.body, "validation", types)}}}
    elif op.content is not None:
        described["requestBody"] = {"required": op.required_body, "content": {
            media: {"schema": _schema_of(schema, "validation", types)}
            for media, schema in op.content.items()}}
    for reply in op.replies:
        described["responses"][str(reply.status)] = _reply(reply, types)
    statuses = {*(() if op.public else ALWAYS), *op.errors, *_parsing(op, parameters)}
    if binding:  # GS1 has no 422 (its 400), and 406 for what the GS1 headers ask
        statuses = {400 if status == 422 else status for status in statuses} | {406}
    for status in sorted(statuses):
        described["responses"][str(status)] = _error(status, binding=binding)
    return described


def _parsing(op: Operation, parameters: list[dict[str, Any]]) -> set[int]:
    """The refusals of the request parsing every view shares: a body that is not JSON or
    over its limit (400, 413), a field or parameter the model refuses (422)."""
    statuses = {422} if parameters or op.body is not None else set()
    if op.body is not None or op.content is not None:
        statuses |= {400, 413, 422}
    return statuses


def _reply(reply: Reply, types: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": reply.description}
    if reply.schema is not None:
        answer["content"] = {reply.media: {"schema": _schema_of(reply.schema, "serialization",
                                                                 types)}}
        for media, schema in reply.also.items():
            answer["content"][media] = {"schema": _schema_of(schema, "serialization", types)}
    if reply.headers:
        answer["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                             for name, text in reply.headers.items()}
    return answer


def _error(status: int, *, binding: bool = False) -> dict[str, Any]:
    media, model = (epcis_binding.PROBLEM, "Problem") if binding else (JSON, "Error")
    answer: dict[str, Any] = {"description": ERRORS[status], "content": {
        media: {"schema": {"$ref": REF.format(model=model)}}}}
    if status == 429:
        answer["headers"] = {"Retry-After": {"description": "seconds to wait",
                                             "schema": {"type": "string"}}}
    return answer


def _schema_of(source: Any, mode: str, types: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    """A reference to a model or TypedDict (collected for the components), or a schema."""
    if isinstance(source, dict):
        return source
    name = source.__name__
    types[name] = (source, mode)
    return {"$ref": REF.format(model=name)}


def gs1_epcis_schemas() -> dict[str, Any]:
    """GS1's EPCIS 2.0 JSON schema (the copy the EPCIS service checks documents against),
    its definitions as components named ``EPCIS.<definition>``."""
    definitions = load_data("EPCIS-JSON-Schema.json")["definitions"]

    def name(definition: str) -> str:
        return "EPCIS." + definition.replace("@", "at-")

    def moved(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: (REF.format(model=name(unquote(item.removeprefix("#/definitions/"))))
                          if key == "$ref" and isinstance(item, str) else moved(item))
                    for key, item in value.items()}
        if isinstance(value, list):
            return [moved(item) for item in value]
        return value

    return {name(key): moved(value) for key, value in definitions.items()}


def _schemas(types: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    inputs = [(name, mode, TypeAdapter(kind)) for name, (kind, mode) in types.items()]
    tops, definitions = TypeAdapter.json_schemas(inputs, ref_template=REF)  # type: ignore[arg-type]
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    for (name, _mode), schema in tops.items():
        if schema.get("$ref") != REF.format(model=name):  # named otherwise by pydantic
            schemas[name] = schema
    return schemas

