"""EPCIS 2.0 JSON Schema checks: GS1's official schema, errors a person can act on.

``validate_document`` / ``validate_event`` raise ``InvalidInput`` whose message names the
first problem and its JSON path, with up to ``MAX_DETAILS`` problems in ``details``.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import fastjsonschema
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT7

from tracker.domain.epcis.vocabulary import (
    COMPONENTS,
    MEASUREMENT_TYPES,
    SENSOR_ALERTS,
    VOCABULARIES,
    load_data,
    with_bare_words,
)
from tracker.domain.gs1 import quoted
from tracker.errors import InvalidInput

EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)
DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")
SCHEMA_CODE = "epcis_schema_invalid"
EVENT_CODE = "epcis_invalid_event"
# Enough for a person to fix a batch of mistakes; more only makes the reply huge.
MAX_DETAILS = 20


# RFC 3986 URI: a scheme, then only URI characters and well-formed %-escapes. jsonschema
# checks no "uri" format without optional packages; without a check 'shiping' would pass
# as a bizStep "URI" and typos would slip through as user vocabulary.
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*")
# RFC 3339 date-time (time zone required; EPCIS forbids local times).
DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:[Zz]|([+-])(\d{2}):(\d{2}))")


def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    m = DATE_TIME.fullmatch(value)
    if m is None:
        return False
    try:
        # RFC 3339 permits a leap second (:60); datetime does not, and it is still a date.
        datetime.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]),
                          min(int(m[6]), 59))
    except ValueError:
        return False
    return m[8] is None or (int(m[9]) <= 23 and int(m[10]) <= 59)


_FORMAT_CHECKER = FormatChecker(formats=())
_FORMAT_CHECKER.checks("uri")(_is_uri)
_FORMAT_CHECKER.checks("date-time")(_is_date_time)


@dataclass(frozen=True)
class _Validators:
    document: Draft7Validator
    event: Draft7Validator
    # fastjsonschema compiles the schema to Python and checks an event ~15x faster than
    # jsonschema (about 40 us against 650 us), which is what makes a 10,000-event
    # capture validate in well under a second. jsonschema still has the last word: it
    # is only asked when the fast check fails, to say what is wrong (and to accept the
    # input should the two ever disagree).
    fast_document: Callable[[Any], Any]
    fast_event: Callable[[Any], Any]


@cache
def _schema() -> dict[str, Any]:
    return load_data("EPCIS-JSON-Schema.json")  # type: ignore[no-any-return]


@cache
def _standard_field_names() -> frozenset[str]:
    """Every field name some part of the schema allows by name (its propertyNames lists)."""
    names: set[str] = set()

    def words(node: Any) -> None:
        if isinstance(node, Mapping):
            names.update(w for w in node.get("enum", ()) if isinstance(w, str))
            for value in node.values():
                words(value)
        elif isinstance(node, list):
            for item in node:
                words(item)

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                (words if key == "propertyNames" else walk)(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(_schema())
    return frozenset(names)


def warm_up() -> None:
    """Compile the schema validators now (about half a second) rather than on the first
    capture; servers call this at start."""
    compiled_validators()


@cache
def compiled_validators() -> _Validators:
    """The schema's document and event validators, compiled once per process."""
    schema = _schema()
    schema_id = schema["$id"]
    # Events are checked against the schema's own event definition, referred to by the
    # schema's $id so that both libraries resolve its internal references the same way.
    event_schema = {"$ref": schema_id + "#/definitions/EPCIS-Document-Event"}
    registry: Registry[Any] = Registry().with_resource(schema_id, DRAFT7.create_resource(schema))
    formats = {"uri": _is_uri, "date-time": _is_date_time}

    fast_schema = _enums_first(schema)

    def bundled(uri: str) -> Any:
        # Nothing is ever fetched from the network: the schema is the only document.
        if uri.split("#", 1)[0] == schema_id:
            return fast_schema
        raise InvalidInput(f"the EPCIS schema refers to {uri!r}, which is not bundled")

    handlers = {"http": bundled, "https": bundled}
    return _Validators(
        document=Draft7Validator(schema, registry=registry, format_checker=_FORMAT_CHECKER),
        event=Draft7Validator(event_schema, registry=registry, format_checker=_FORMAT_CHECKER),
        fast_document=fastjsonschema.compile(fast_schema, formats=formats, handlers=handlers),
        fast_event=fastjsonschema.compile(event_schema, formats=formats, handlers=handlers),
    )


def _enums_first(schema: Any) -> Any:
    """The same schema with the word-list branch of each anyOf tried first.

    anyOf does not depend on order, but fastjsonschema pays for every failed branch with
    an exception; most values (bizStep "shipping", field name "epcList") are words.
    """
    if isinstance(schema, list):
        return [_enums_first(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {key: _enums_first(value) for key, value in schema.items()}
    if isinstance(out.get("anyOf"), list):
        out["anyOf"] = sorted(out["anyOf"], key=lambda alt: not (
            isinstance(alt, Mapping) and "enum" in alt))
    return out


def fast_valid(check: Callable[[Any], Any], instance: Any) -> bool:
    """Whether a fastjsonschema ``check`` takes ``instance``."""
    try:
        check(instance)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


Path = Sequence[str | int]


def _json_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
               int: "a number", float: "a number", type(None): "null"}
_SCHEMA_TYPES = {"object": "an object", "array": "an array (a JSON list)", "string": "a string",
                 "number": "a number", "integer": "an integer", "boolean": "true or false",
                 "null": "null"}


def shown(value: Any) -> str:
    """``value`` as an error message quotes it."""
    return quoted(value) if isinstance(value, str) else quoted(json.dumps(value))[1:-1]


def _kind_and_value(value: Any) -> str:
    kind = JSON_TYPES.get(type(value), "a value")
    return kind if value is None else f"{kind} {shown(value)}"


def _vocabulary_at(path: Path) -> tuple[str, frozenset[str]] | None:
    """The CBV vocabulary (label, words) of the field at ``path``, if it has one."""
    keys = [p for p in path if isinstance(p, str)]
    if not keys:
        return None
    last = keys[-1]
    parent = keys[-2] if len(keys) > 1 else ""
    by_field = {"bizStep": "bizStep", "disposition": "disposition", "reason": "er"}
    if last in by_field and (last != "reason" or parent == "errorDeclaration"):
        vocab = VOCABULARIES[by_field[last]]
        return vocab.label, vocab.terms
    if last in ("set", "unset") and parent == "persistentDisposition":
        return "disposition", VOCABULARIES["disposition"].terms
    if last == "type" and parent in ("sourceList", "destinationList"):
        return VOCABULARIES["sdt"].label, VOCABULARIES["sdt"].terms
    if last == "type" and parent == "bizTransactionList":
        return VOCABULARIES["btt"].label, VOCABULARIES["btt"].terms
    if parent == "sensorReport":
        if last == "type":
            return "sensor measurement type", MEASUREMENT_TYPES
        if last == "exception":
            return "sensor alert type", SENSOR_ALERTS
        if last == "component":
            return "sensor component", COMPONENTS
    return None


def _describe(error: ValidationError) -> str:
    """What is wrong, in words a person can act on (without the path)."""
    path = list(error.absolute_path)
    value = error.instance
    kind = error.validator
    if "propertyNames" in error.absolute_schema_path and isinstance(value, str):
        if value in _standard_field_names():
            return f"field {quoted(value)} is not allowed here (not a field of this object)"
        return (f"field {quoted(value)} is not allowed here; extension fields need a namespace "
                f"prefix declared in @context, e.g. 'example:{value}'")
    vocabulary = _vocabulary_at(path)
    if vocabulary is not None and kind in ("anyOf", "oneOf", "enum", "pattern", "format", "type"):
        label, words = vocabulary
        if not isinstance(value, str):
            return f"expected a string (a CBV {label} or a URI), got {_kind_and_value(value)}"
        word = value.rsplit("-", 1)[-1].rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        close = difflib.get_close_matches(word, sorted(words), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        example = close[0] if close else sorted(words)[0]
        return (f"{quoted(value)} is not a CBV {label}: use a standard word such as "
                f"{example!r} (bare, as URN or as https://ref.gs1.org/cbv/ URI) or a URI "
                f"of your own{hint}")
    if kind == "required" and isinstance(value, Mapping):
        missing = next((r for r in error.validator_value if r not in value), "?")
        return f"required field {missing!r} is missing"
    if kind == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_SCHEMA_TYPES.get(n, n) for n in names)
        return f"expected {wanted}, got {_kind_and_value(value)}"
    if path and path[-1] == "type" and kind in ("format", "enum", "anyOf", "oneOf"):
        return (f"{shown(value)} is not an EPCIS event type; expected one of "
                f"{', '.join(EVENT_TYPES)} or the URI of an extension event type")
    if kind == "format" and error.validator_value == "uri":
        return (f"{shown(value)} is not a URI; identifiers need a scheme, e.g. "
                "'urn:epc:id:sgtin:...' or 'https://id.gs1.org/01/...'")
    if kind == "format" and error.validator_value == "date-time":
        return (f"{shown(value)} is not a date-time with a time zone, e.g. "
                "'2024-05-01T12:00:00.000+02:00'")
    if kind == "pattern" and path and path[-1] == "eventTimeZoneOffset":
        return f"{shown(value)} is not a time zone offset such as '+02:00' or '-05:00'"
    if kind == "enum":
        options = ", ".join(repr(o) for o in error.validator_value)
        return f"{shown(value)} is not one of {options}"
    if kind in ("anyOf", "oneOf") and isinstance(value, Mapping):
        alternatives = error.validator_value
        if _is_ilmd_rule(error):
            return (f"ilmd is only allowed when action is 'ADD' (action is "
                    f"{shown(value.get('action'))})")
        needs = _requirement({kind: alternatives})
        if needs is not None:
            return f"needs {needs}"
    if kind == "not" and error.validator_value == {}:
        return "must not be present here"
    if error.context:
        reasons = dict.fromkeys(
            f"{_json_path(c.relative_path) or 'here'}: {_describe(c)}" for c in error.context)
        return "fits none of the allowed forms: " + "; ".join(list(reasons)[:3])
    return error.message if len(error.message) <= 200 else error.message[:197] + "..."


def _requirement(schema: Any) -> str | None:
    """The fields an anyOf/allOf of "required" rules asks for, in words, if that is all."""
    if not isinstance(schema, Mapping):
        return None
    parts = []
    if schema.get("required"):
        parts.append(" and ".join(schema["required"]))
    action = schema.get("properties", {}).get("action", {}).get("pattern")
    if isinstance(action, str):
        parts.append(f"action {action.strip('^$')!r}")
    for keyword, joiner in (("allOf", " and "), ("anyOf", " or ")):
        if keyword in schema:
            found = [_requirement(sub) for sub in schema[keyword]]
            subs = [sub for sub in found if sub is not None]
            if len(subs) < len(found):
                return None
            text = joiner.join(f"({s})" if " or " in s and joiner == " and " else s
                               for s in subs)
            parts.append(f"({text})" if parts and " or " in text else text)
    return " with ".join(parts) if parts else None


def _is_ilmd_rule(error: ValidationError) -> bool:
    # ObjectEvent: "ilmd only with action ADD", written as an anyOf over action patterns.
    return error.validator == "anyOf" and any(
        isinstance(a, Mapping) and "not" in a.get("properties", {}).get("ilmd", {})
        for a in error.validator_value)


def _explain(validator: Draft7Validator, instance: Any, prefix: Path, limit: int
             ) -> tuple[str, list[dict[str, str]]] | None:
    """(headline, details) for ``instance``'s schema errors, or None when it is valid.

    The headline is jsonschema's best match among the specific errors (an anyOf only when
    nothing more specific is wrong: 'SHIP' is not an action, rather than "the event fits
    none of the forms"); it comes first in the details too.
    """
    errors = list(validator.iter_errors(instance))
    if not errors:
        return None
    # Without ilmd, the ilmd rule only repeats that the action is not one of the three.
    errors = [e for e in errors if not (_is_ilmd_rule(e) and isinstance(e.instance, Mapping)
                                        and "ilmd" not in e.instance)] or errors
    specific = [e for e in errors if e.validator not in ("anyOf", "oneOf")]
    best = best_match(specific or errors)
    assert best is not None
    top = best
    while top.parent is not None:
        top = top.parent
    ordered = [best, *(e for e in errors if e is not top)]
    details = [{"path": _json_path([*prefix, *e.absolute_path]), "message": _describe(e)}
               for e in ordered[:limit]]
    return f"{details[0]['path'] or 'document'}: {details[0]['message']}", details


def event_lists(doc: Mapping[str, Any]) -> tuple[dict[str, Any], list[Any] | None]:
    """The document with its event list emptied (for the envelope check), and the events.

    Envelope and events are checked separately so each event can take the fast path and
    an error in one event never costs a full-document jsonschema run.
    """
    body = doc.get("epcisBody")
    if not isinstance(body, Mapping):
        return dict(doc), None
    if doc.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults")
        inner = results.get("resultsBody") if isinstance(results, Mapping) else None
        if isinstance(results, Mapping) and isinstance(inner, Mapping) \
                and isinstance(inner.get("eventList"), list):
            envelope_results = dict(results, resultsBody=dict(inner, eventList=[]))
            return (dict(doc, epcisBody=dict(body, queryResults=envelope_results)),
                    inner["eventList"])
        return dict(doc), None
    if isinstance(body.get("eventList"), list):
        return dict(doc, epcisBody=dict(body, eventList=[])), body["eventList"]
    return dict(doc), None


def _raise_schema(problems: list[tuple[str, list[dict[str, str]]]]) -> None:
    headline = problems[0][0]
    details = [d for _, ds in problems for d in ds][:MAX_DETAILS]
    raise InvalidInput(headline, code=SCHEMA_CODE, details=details)


def fast_event_check(validators: _Validators, event: object) -> tuple[bool, object]:
    """Whether the event passes the fast schema check as written or with its CBV values
    as bare words (the schema itself refuses CBV URNs); and the view to explain a
    failure on."""
    if fast_valid(validators.fast_event, event):
        return True, event
    view = with_bare_words(event) if isinstance(event, Mapping) else event
    return view is not event and fast_valid(validators.fast_event, view), view


def validate_document(doc: object) -> None:
    """Check an EPCISDocument or EPCISQueryDocument against the EPCIS 2.0 JSON Schema.

    CBV values may be written as bare words, URNs or Web URIs (the schema itself refuses
    ``urn:epcglobal:cbv:...``; standard words in that form are checked as bare words).
    Raises ``InvalidInput`` (code ``epcis_schema_invalid``) whose message gives the JSON
    path and the first problem, with up to 20 problems in ``details``.
    """
    if not isinstance(doc, Mapping):
        raise InvalidInput(
            f"document: expected an EPCIS document (a JSON object), got "
            f"{JSON_TYPES.get(type(doc), 'a value')}", code=SCHEMA_CODE,
            details=[{"path": "", "message": "expected a JSON object"}])
    if doc.get("type") not in DOCUMENT_TYPES:
        # Checked first: the schema would judge an event sent as a document as an event.
        message = ("required field 'type' is missing" if "type" not in doc else
                   f"expected 'EPCISDocument' or 'EPCISQueryDocument', got "
                   f"{shown(doc.get('type'))}")
        raise InvalidInput(f"type: {message}", code=SCHEMA_CODE,
                           details=[{"path": "type", "message": message}])
    validators = compiled_validators()
    envelope, events = event_lists(doc)
    problems: list[tuple[str, list[dict[str, str]]]] = []
    if not fast_valid(validators.fast_document, envelope):
        explained = _explain(validators.document, envelope, (), MAX_DETAILS)
        if explained is not None:
            problems.append(explained)
    room = MAX_DETAILS - sum(len(d) for _, d in problems)
    list_path: Path = (("epcisBody", "queryResults", "resultsBody", "eventList")
                       if doc.get("type") == "EPCISQueryDocument" else ("epcisBody", "eventList"))
    for index, event in enumerate(events or ()):
        if room <= 0:
            break
        passed, view = fast_event_check(validators, event)
        if passed:
            continue
        explained = _explain(validators.event, view, (*list_path, index), room)
        if explained is not None:
            problems.append(explained)
            room -= len(explained[1])
    if problems:
        _raise_schema(problems)


def validate_event(event: object) -> None:
    """Check one event (as for ``POST /epcis/events``) against the schema's event rules.

    Same rules and error form as ``validate_document``; paths start at the event.
    """
    validators = compiled_validators()
    passed, view = fast_event_check(validators, event)
    if passed:
        return
    explained = _explain(validators.event, view, (), MAX_DETAILS)
    if explained is not None:
        headline, details = explained
        if headline.startswith("document:"):
            headline = "event:" + headline[len("document:"):]
        _raise_schema([(headline, details)])


def document_events(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events of an EPCISDocument (``epcisBody.eventList``) or an EPCISQueryDocument
    (``epcisBody.queryResults.resultsBody.eventList``)."""
    body = doc.get("epcisBody")
    if isinstance(body, Mapping):
        if isinstance(body.get("eventList"), list):
            return list(body["eventList"])
        results = body.get("queryResults")
        inner = results.get("resultsBody") if isinstance(results, Mapping) else None
        if isinstance(inner, Mapping) and isinstance(inner.get("eventList"), list):
            return list(inner["eventList"])
    raise InvalidInput("epcisBody: the document has no event list "
                       "(epcisBody.eventList or epcisBody.queryResults.resultsBody.eventList)",
                       code=SCHEMA_CODE)

