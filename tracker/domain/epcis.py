"""EPCIS 2.0 documents and events: schema validation, CBV words and the CBV 2.0 event hash.

Pure functions: no database, no web framework.

* ``validate_document`` / ``validate_event`` check JSON against GS1's official EPCIS 2.0 JSON
  Schema and raise ``InvalidInput`` whose message names the first problem and its JSON path.
* ``normalise_cbv`` turns the three spellings of a Core Business Vocabulary value (bare
  word, ``urn:epcglobal:cbv:...`` URN, ``https://ref.gs1.org/cbv/...`` Web URI) into the
  bare word.
* ``event_hash`` is the CBV 2.0 "EPCIS Event Hash ID" (CBV 2.0 section 8.9), the same
  value the GS1 reference implementation (github.com/RalphTro/epcis-event-hash-generator)
  computes; ``prehash_string`` shows the canonical string it hashes.
* ``normalise_event`` reads what the tracker indexes from an event.

>>> normalise_cbv("urn:epcglobal:cbv:bizstep:shipping", "bizStep")
'shipping'
>>> normalise_cbv("https://ref.gs1.org/cbv/Disp-in_transit", "disposition")
'in_transit'
>>> event = {"type": "ObjectEvent", "eventTime": "2020-03-04T11:00:30+01:00",
...          "eventTimeZoneOffset": "+01:00", "action": "OBSERVE", "bizStep": "departing",
...          "epcList": ["urn:epc:id:sscc:4012345.0000000111"]}
>>> prehash_string(event)  # doctest: +NORMALIZE_WHITESPACE
'eventType=ObjectEventeventTime=2020-03-04T10:00:30.000ZeventTimeZoneOffset=+01:00\
epcListepc=https://id.gs1.org/00/040123450000001112action=OBSERVE\
bizStep=https://ref.gs1.org/cbv/BizStep-departing'
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache, partial
from importlib.resources import files
from typing import Any

import fastjsonschema
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT7

from tracker.domain.codes import epc_key
from tracker.domain.gs1 import gs1_check_digit, quoted
from tracker.errors import InvalidInput

__all__ = [
    "warm_up",
    "CBV_VOCABULARIES",
    "NormalisedEvent",
    "document_events",
    "event_hash",
    "normalise_cbv",
    "normalise_event",
    "prehash_string",
    "validate_document",
    "validate_event",
]

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


def _data(name: str) -> Any:
    return json.loads((files("tracker.data") / "epcis" / name).read_text(encoding="utf-8"))


# --- Core Business Vocabulary --------------------------------------------------------

CBV_WEB = "https://ref.gs1.org/cbv/"
# CBV 2.0 hashes sensor measurement types and alert types as https://ref.gs1.org/voc/...,
# whatever the gs1: prefix of the 2.0.0 JSON-LD context says (the reference
# implementation's published vectors depend on it).
GS1_VOC = "https://ref.gs1.org/voc/"


@dataclass(frozen=True)
class _Vocabulary:
    label: str  # for error messages: "business step"
    urn: str  # urn:epcglobal:cbv:bizstep:
    web: str  # https://ref.gs1.org/cbv/BizStep-
    terms: frozenset[str]


def _context_terms(term_context: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(k for k in term_context if not k.startswith("@"))


def _load_vocabularies() -> dict[str, _Vocabulary]:
    # The standard words come from GS1's own JSON-LD context, so the lists cannot drift
    # from what EPCIS 2.0 documents may use.
    context = _data("epcis-context.jsonld")["@context"]
    type_context = context["bizTransactionList"]["@context"]["type"]["@context"]
    sdt_context = context["sourceList"]["@context"]["type"]["@context"]
    reason_context = context["errorDeclaration"]["@context"]["reason"]["@context"]
    return {
        "bizStep": _Vocabulary(
            "business step", "urn:epcglobal:cbv:bizstep:", CBV_WEB + "BizStep-",
            _context_terms(context["bizStep"]["@context"])),
        "disposition": _Vocabulary(
            "disposition", "urn:epcglobal:cbv:disp:", CBV_WEB + "Disp-",
            _context_terms(context["disposition"]["@context"])),
        "sdt": _Vocabulary(
            "source/destination type", "urn:epcglobal:cbv:sdt:", CBV_WEB + "SDT-",
            _context_terms(sdt_context)),
        "btt": _Vocabulary(
            "business transaction type", "urn:epcglobal:cbv:btt:", CBV_WEB + "BTT-",
            _context_terms(type_context)),
        "er": _Vocabulary(
            "error reason", "urn:epcglobal:cbv:er:", CBV_WEB + "ER-",
            _context_terms(reason_context)),
    }


_VOCABULARIES = _load_vocabularies()
CBV_VOCABULARIES = tuple(_VOCABULARIES)
_VOCABULARY_ALIASES = {
    "bizstep": "bizStep",
    "disp": "disposition",
    "sourceOrDestinationType": "sdt",
    "bizTransactionType": "btt",
    "errorReason": "er",
    "reason": "er",
}


def _sensor_terms() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    report = _data("epcis-context.jsonld")["@context"]["sensorElementList"]["@context"][
        "sensorReport"]["@context"]
    return (_context_terms(report["type"]["@context"]),
            _context_terms(report["exception"]["@context"]),
            _context_terms(report["component"]["@context"]))


_MEASUREMENT_TYPES, _SENSOR_ALERTS, _COMPONENTS = _sensor_terms()


def normalise_cbv(value: str, vocabulary: str) -> str:
    """The bare CBV word for ``value``, or ``value`` unchanged when it is not a CBV word.

    ``vocabulary`` is ``bizStep``, ``disposition``, ``sdt`` (source/destination type),
    ``btt`` (business transaction type) or ``er`` (error reason). The bare word, the URN,
    the Web URI and the ``cbv:`` compact URI of a standard word all give the bare word;
    anything else, a user's own URI included, comes back as it was. Only standard words
    are rewritten, so the CBV 2.0 hash of an event is the same before and after.

    >>> normalise_cbv("shipping", "bizStep")
    'shipping'
    >>> normalise_cbv("urn:epcglobal:cbv:sdt:owning_party", "sdt")
    'owning_party'
    >>> normalise_cbv("https://ref.gs1.org/cbv/BTT-po", "btt")
    'po'
    >>> normalise_cbv("https://example.com/bizstep/gluing", "bizStep")
    'https://example.com/bizstep/gluing'
    """
    vocab = _VOCABULARIES.get(_VOCABULARY_ALIASES.get(vocabulary, vocabulary))
    if vocab is None:
        raise ValueError(f"unknown CBV vocabulary {vocabulary!r}; one of {CBV_VOCABULARIES}")
    if value in vocab.terms:
        return value
    for prefix in (vocab.urn, vocab.web, "cbv:" + vocab.web[len(CBV_WEB):]):
        if value.startswith(prefix) and value[len(prefix):] in vocab.terms:
            return value[len(prefix):]
    return value


def _bare(value: Any, vocabulary: str) -> Any:
    return normalise_cbv(value, vocabulary) if isinstance(value, str) else value


def _with_bare_words(event: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` with standard CBV values as bare words; the rest is shared."""
    out = dict(event)
    for key, vocab in (("bizStep", "bizStep"), ("disposition", "disposition")):
        if key in out:
            out[key] = _bare(out[key], vocab)
    pd = out.get("persistentDisposition")
    if isinstance(pd, Mapping):
        out["persistentDisposition"] = {
            k: [_bare(v, "disposition") for v in vs] if k in ("set", "unset")
            and isinstance(vs, list) else vs
            for k, vs in pd.items()}
    for key, vocab in (("bizTransactionList", "btt"), ("sourceList", "sdt"),
                       ("destinationList", "sdt")):
        entries = out.get(key)
        if isinstance(entries, list):
            out[key] = [dict(e, type=_bare(e["type"], vocab))
                        if isinstance(e, Mapping) and "type" in e else e for e in entries]
    declaration = out.get("errorDeclaration")
    if isinstance(declaration, Mapping) and "reason" in declaration:
        out["errorDeclaration"] = dict(declaration, reason=_bare(declaration["reason"], "er"))
    return out


# --- Schema validation ---------------------------------------------------------------

# RFC 3986 URI: a scheme, then only URI characters and well-formed %-escapes. jsonschema
# checks no "uri" format without optional packages; without a check 'shiping' would pass
# as a bizStep "URI" and typos would slip through as user vocabulary.
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*")
# RFC 3339 date-time (time zone required; EPCIS forbids local times).
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:[Zz]|([+-])(\d{2}):(\d{2}))")


def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    m = _DATE_TIME.fullmatch(value)
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
    return _data("EPCIS-JSON-Schema.json")  # type: ignore[no-any-return]


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
    _validators()


@cache
def _validators() -> _Validators:
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


def _fast_valid(check: Callable[[Any], Any], instance: Any) -> bool:
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


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
               int: "a number", float: "a number", type(None): "null"}
_SCHEMA_TYPES = {"object": "an object", "array": "an array (a JSON list)", "string": "a string",
                 "number": "a number", "integer": "an integer", "boolean": "true or false",
                 "null": "null"}


def _shown(value: Any) -> str:
    return quoted(value) if isinstance(value, str) else quoted(json.dumps(value))[1:-1]


def _kind_and_value(value: Any) -> str:
    kind = _JSON_TYPES.get(type(value), "a value")
    return kind if value is None else f"{kind} {_shown(value)}"


def _vocabulary_at(path: Path) -> tuple[str, frozenset[str]] | None:
    """The CBV vocabulary (label, words) of the field at ``path``, if it has one."""
    keys = [p for p in path if isinstance(p, str)]
    if not keys:
        return None
    last = keys[-1]
    parent = keys[-2] if len(keys) > 1 else ""
    by_field = {"bizStep": "bizStep", "disposition": "disposition", "reason": "er"}
    if last in by_field and (last != "reason" or parent == "errorDeclaration"):
        vocab = _VOCABULARIES[by_field[last]]
        return vocab.label, vocab.terms
    if last in ("set", "unset") and parent == "persistentDisposition":
        return "disposition", _VOCABULARIES["disposition"].terms
    if last == "type" and parent in ("sourceList", "destinationList"):
        return _VOCABULARIES["sdt"].label, _VOCABULARIES["sdt"].terms
    if last == "type" and parent == "bizTransactionList":
        return _VOCABULARIES["btt"].label, _VOCABULARIES["btt"].terms
    if parent == "sensorReport":
        if last == "type":
            return "sensor measurement type", _MEASUREMENT_TYPES
        if last == "exception":
            return "sensor alert type", _SENSOR_ALERTS
        if last == "component":
            return "sensor component", _COMPONENTS
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
        return (f"{_shown(value)} is not an EPCIS event type; expected one of "
                f"{', '.join(EVENT_TYPES)} or the URI of an extension event type")
    if kind == "format" and error.validator_value == "uri":
        return (f"{_shown(value)} is not a URI; identifiers need a scheme, e.g. "
                "'urn:epc:id:sgtin:...' or 'https://id.gs1.org/01/...'")
    if kind == "format" and error.validator_value == "date-time":
        return (f"{_shown(value)} is not a date-time with a time zone, e.g. "
                "'2024-05-01T12:00:00.000+02:00'")
    if kind == "pattern" and path and path[-1] == "eventTimeZoneOffset":
        return f"{_shown(value)} is not a time zone offset such as '+02:00' or '-05:00'"
    if kind == "enum":
        options = ", ".join(repr(o) for o in error.validator_value)
        return f"{_shown(value)} is not one of {options}"
    if kind in ("anyOf", "oneOf") and isinstance(value, Mapping):
        alternatives = error.validator_value
        if _is_ilmd_rule(error):
            return (f"ilmd is only allowed when action is 'ADD' (action is "
                    f"{_shown(value.get('action'))})")
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


def _event_lists(doc: Mapping[str, Any]) -> tuple[dict[str, Any], list[Any] | None]:
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


def _fast_event_check(validators: _Validators, event: object) -> tuple[bool, object]:
    """Whether the event passes the fast schema check as written or with its CBV values
    as bare words (the schema itself refuses CBV URNs); and the view to explain a
    failure on."""
    if _fast_valid(validators.fast_event, event):
        return True, event
    view = _with_bare_words(event) if isinstance(event, Mapping) else event
    return view is not event and _fast_valid(validators.fast_event, view), view


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
            f"{_JSON_TYPES.get(type(doc), 'a value')}", code=SCHEMA_CODE,
            details=[{"path": "", "message": "expected a JSON object"}])
    if doc.get("type") not in DOCUMENT_TYPES:
        # Checked first: the schema would judge an event sent as a document as an event.
        message = ("required field 'type' is missing" if "type" not in doc else
                   f"expected 'EPCISDocument' or 'EPCISQueryDocument', got "
                   f"{_shown(doc.get('type'))}")
        raise InvalidInput(f"type: {message}", code=SCHEMA_CODE,
                           details=[{"path": "type", "message": message}])
    validators = _validators()
    envelope, events = _event_lists(doc)
    problems: list[tuple[str, list[dict[str, str]]]] = []
    if not _fast_valid(validators.fast_document, envelope):
        explained = _explain(validators.document, envelope, (), MAX_DETAILS)
        if explained is not None:
            problems.append(explained)
    room = MAX_DETAILS - sum(len(d) for _, d in problems)
    list_path: Path = (("epcisBody", "queryResults", "resultsBody", "eventList")
                       if doc.get("type") == "EPCISQueryDocument" else ("epcisBody", "eventList"))
    for index, event in enumerate(events or ()):
        if room <= 0:
            break
        passed, view = _fast_event_check(validators, event)
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
    validators = _validators()
    passed, view = _fast_event_check(validators, event)
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


# --- CBV 2.0 event hash: identifiers -------------------------------------------------
#
# CBV 2.0 rule 17/18: EPC URIs become canonical GS1 Digital Link URIs on id.gs1.org and
# Digital Link URIs are constrained (id.gs1.org, no query string, finest key level only).
# The character classes and length limits follow the reference implementation so that
# the same identifiers are (and are not) rewritten.

_DL = "https://id.gs1.org/"
# An EPC URI character (Tag Data Standard "GS3A3"), or one of the %-escapes it allows.
_EPC_CHAR = (r"(?:[!'()*+,\-.0-9:;=A-Za-z_]|%(?:2[125-9A-Fa-f]|3[0-9A-Fa-f]|4[1-9A-Fa-f]"
             r"|5[0-9AaFf]|6[1-9A-Fa-f]|7[0-9Aa]))")
_CPI_CHAR = r"(?:[0-9A-Z\-]|%(?:2[3dfDF]|3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]))"
# Characters GS1 Digital Link wants %-encoded that EPC URIs carry raw.
_DL_ESCAPES = str.maketrans({"!": "%21", "(": "%28", ")": "%29", "*": "%2A", "+": "%2B",
                             ",": "%2C", ":": "%3A"})


def _escape(value: str) -> str:
    return value.translate(_DL_ESCAPES)


def _chars(pattern: str, low: int, high: int) -> re.Pattern[str]:
    return re.compile(f"(?:{pattern}){{{low},{high}}}")


_SERIAL_20 = _chars(_EPC_CHAR, 1, 20)
_SERIAL_16 = _chars(_EPC_CHAR, 1, 16)
_SERIAL_28 = _chars(_EPC_CHAR, 1, 28)
_GDTI_SERIAL = _chars(_EPC_CHAR, 0, 20)
_DIGITS_RE = re.compile(r"[0-9]+")


def _digits(text: str, length: int | None = None) -> bool:
    return _DIGITS_RE.fullmatch(text) is not None and (length is None or len(text) == length)


def _with_check(body: str) -> str:
    return body + gs1_check_digit(body)


def _split_prefixed(fields: list[str], total: int) -> str | None:
    """Company prefix + reference (two URN fields), when they make ``total`` digits."""
    prefix, reference = fields[0], fields[1]
    if not (6 <= len(prefix) <= 12 and _digits(prefix) and len(prefix) + len(reference) == total
            and (reference == "" or _digits(reference))):
        return None
    return prefix + reference


def _gtin14(fields: list[str]) -> str | None:
    # SGTIN-style: the indicator digit leads the item reference and the GTIN.
    body = _split_prefixed(fields, 13)
    if body is None or not fields[1]:
        return None
    return _with_check(fields[1][0] + fields[0] + fields[1][1:])


def _epc_id(scheme: str, rest: str) -> str | None:
    fields = rest.split(".")
    if scheme in ("sgtin", "upui"):
        if len(fields) < 3:
            return None
        gtin = _gtin14(fields[:2])
        serial = rest.split(".", 2)[2]
        pattern = _SERIAL_20 if scheme == "sgtin" else _SERIAL_28
        if gtin is None or not pattern.fullmatch(serial):
            return None
        ai = "/21/" if scheme == "sgtin" else "/235/"
        return f"{_DL}01/{gtin}{ai}{_escape(serial)}"
    if scheme == "sscc" and len(fields) == 2:
        body = _split_prefixed(fields, 17)
        return None if body is None else (
            f"{_DL}00/{_with_check(fields[1][0] + fields[0] + fields[1][1:])}")
    if scheme in ("sgln", "grai", "gdti", "sgcn") and len(fields) >= 3:
        body = _split_prefixed(fields[:2], 12)
        tail = rest.split(".", 2)[2]
        if body is None:
            return None
        if scheme == "sgln":
            if not _SERIAL_20.fullmatch(tail):
                return None
            gln = _with_check(body)
            return f"{_DL}414/{gln}" if tail == "0" else f"{_DL}414/{gln}/254/{_escape(tail)}"
        if scheme == "grai":
            return (f"{_DL}8003/{_with_check('0' + body)}{_escape(tail)}"
                    if _SERIAL_16.fullmatch(tail) else None)
        if scheme == "gdti":
            return (f"{_DL}253/{_with_check(body)}{_escape(tail)}"
                    if _GDTI_SERIAL.fullmatch(tail) else None)
        return f"{_DL}255/{_with_check(body)}{tail}" if _digits(tail) and len(tail) <= 12 else None
    if scheme in ("giai", "ginc") and len(fields) >= 2:
        prefix, reference = rest.split(".", 1)
        if not (6 <= len(prefix) <= 12 and _digits(prefix)
                and _chars(_EPC_CHAR, 1, 30 - len(prefix)).fullmatch(reference)):
            return None
        return f"{_DL}{'8004' if scheme == 'giai' else '401'}/{prefix}{_escape(reference)}"
    if scheme in ("gsrn", "gsrnp", "gsin") and len(fields) == 2:
        body = _split_prefixed(fields, 16 if scheme == "gsin" else 17)
        ai = {"gsrn": "8018", "gsrnp": "8017", "gsin": "402"}[scheme]
        return None if body is None or not fields[1] else f"{_DL}{ai}/{_with_check(body)}"
    if scheme == "pgln" and len(fields) == 2:
        body = _split_prefixed(fields, 12)
        return None if body is None else f"{_DL}417/{_with_check(body)}"
    if scheme == "cpi" and len(fields) >= 3:
        prefix, reference, serial = fields[0], ".".join(fields[1:-1]), fields[-1]
        if not (6 <= len(prefix) <= 12 and _digits(prefix) and _digits(serial)
                and len(serial) <= 12
                and _chars(_CPI_CHAR, 1, 30 - len(prefix)).fullmatch(reference)):
            return None
        return f"{_DL}8010/{_escape(prefix + reference)}/8011/{serial}"
    if scheme == "itip" and len(fields) >= 5:
        gtin = _gtin14(fields[:2])
        piece, total, serial = fields[2], fields[3], rest.split(".", 4)[4]
        if gtin is None or not (_digits(piece, 2) and _digits(total, 2)
                                and _SERIAL_20.fullmatch(serial)):
            return None
        return f"{_DL}8006/{gtin}{piece}{total}/21/{_escape(serial)}"
    return None


def _epc_class_or_pattern(kind: str, scheme: str, rest: str) -> str | None:
    fields = rest.split(".")
    if kind == "class":
        if scheme != "lgtin" or len(fields) < 3:
            return None
        gtin, lot = _gtin14(fields[:2]), rest.split(".", 2)[2]
        return (f"{_DL}01/{gtin}/10/{_escape(lot)}"
                if gtin is not None and _SERIAL_20.fullmatch(lot) else None)
    if fields[-1] != "*":
        return None
    fields = fields[:-1]
    if scheme in ("sgtin", "upui") and len(fields) == 2:
        gtin = _gtin14(fields)
        return None if gtin is None else f"{_DL}01/{gtin}"
    if scheme in ("grai", "gdti", "sgcn") and len(fields) == 2:
        body = _split_prefixed(fields, 12)
        if body is None:
            return None
        if scheme == "grai":
            return f"{_DL}8003/{_with_check('0' + body)}"
        return f"{_DL}{'253' if scheme == 'gdti' else '255'}/{_with_check(body)}"
    if scheme == "cpi" and len(fields) == 2:
        prefix, reference = fields
        if not (6 <= len(prefix) <= 12 and _digits(prefix)
                and _chars(_CPI_CHAR, 1, 30 - len(prefix)).fullmatch(reference)):
            return None
        return f"{_DL}8010/{_escape(prefix + reference)}"
    if scheme == "itip" and len(fields) == 4:
        gtin = _gtin14(fields[:2])
        if gtin is None or not (_digits(fields[2], 2) and _digits(fields[3], 2)):
            return None
        return f"{_DL}8006/{gtin}{fields[2]}{fields[3]}"
    return None


_DL_KEYS = ("01|gtin|8006|itip|8010|cpid|414|gln|417|party|8017|gsrnp|8018|gsrn|255|gcn|00|sscc"
            "|253|gdti|401|ginc|402|gsin|8003|grai|8004|giai")
_DL_CANDIDATE = re.compile(rf"https?:[^?#]*/(?:{_DL_KEYS})/\d{{4}}[^/]")
_DL_NAMES = (("/gtin/", "/01/"), ("/itip/", "/8006/"), ("/cpid/", "/8010/"), ("/gln/", "/414/"),
             ("/party/", "/417/"), ("/gsrnp/", "/8017/"), ("/gsrn/", "/8018/"),
             ("/gcn/", "/255/"), ("/sscc/", "/00/"), ("/gdti/", "/253/"), ("/ginc/", "/401/"),
             ("/gsin/", "/402/"), ("/grai/", "/8003/"), ("/giai/", "/8004/"),
             ("/cpv/", "/22/"), ("/lot/", "/10/"), ("/ser/", "/21/"))
_ON_ID_GS1 = re.compile(
    r"https://id\.gs1\.org/(?:01|8006|8010|414|417|8017|8018|255|00|253|401|402|8003|8004)"
    r"/\d{4}[^/]")
# Where a custom domain's path starts, tried in this order.
_PRIMARY_KEYS = ("00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006",
                 "8010", "8017", "8018")
# The reference's value character set: GS1 AI encodable characters without % / & and a few.
_V = r"[\"'\-.0-9;-?A-Z_a-z]"
_DL_WITH_CPV = re.compile(rf"https://id\.gs1\.org/(?:8006/\d{{18}}|01/\d{{14}})/22/{_V}{{0,20}}")
_DL_CPV_THEN_MORE = re.compile(
    rf"https://id\.gs1\.org/(?:8006/\d{{18}}|01/\d{{14}})/22/(?:{_V}|/){{0,20}}")
_DL_LOT_AND_SERIAL = re.compile(
    rf"https://id\.gs1\.org/(?:8006/\d{{18}}|01/\d{{14}})/10/{_V}{{0,20}}/21/{_V}{{0,20}}")
_DL_CONSTRAINED = re.compile(
    r"https://id\.gs1\.org/(?:"
    rf"00/\d{{18}}|01/\d{{14}}(?:/21/{_V}{{0,20}}|/10/{_V}{{0,20}}|/235/{_V}{{0,28}})?"
    rf"|253/\d{{13}}{_V}{{0,17}}|255/\d{{13}}\d{{0,12}}|401/{_V}{{0,30}}|402/\d{{17}}"
    rf"|414/\d{{13}}(?:/254/{_V}{{0,20}})?|417/\d{{13}}|8003/\d{{14}}{_V}{{0,16}}"
    rf"|8004/{_V}{{0,30}}|8006/\d{{18}}(?:/21/{_V}{{0,20}}|/10/{_V}{{0,20}})?"
    r"|8010/[#\-/0-9A-Z]{0,30}(?:/8011/\d{0,12})?|8017/\d{18}|8018/\d{18})")
_GTIN_PADDING = {13: "0", 12: "00", 11: "000000", 10: "000000", 9: "000000", 8: "000000"}


def _constrained_digital_link(uri: str) -> str | None:
    if not _DL_CANDIDATE.match(uri):
        return None
    uri = uri.split("?", 1)[0]
    for name, ai in _DL_NAMES:
        uri = uri.replace(name, ai)
    if not _ON_ID_GS1.match(uri):
        for key in _PRIMARY_KEYS:
            at = uri.find(f"/{key}/")
            if at != -1:
                uri = _DL[:-1] + uri[at:]
                break
    if uri.startswith(_DL + "01/"):
        digits = len(uri[len(_DL) + 3:]) - len(uri[len(_DL) + 3:].lstrip("0123456789"))
        if digits in _GTIN_PADDING:  # GTIN-8/12/13 are written as GTIN-14
            uri = uri.replace("/01/", "/01/" + _GTIN_PADDING[digits])
    at = uri.find("/22/")
    if at != -1:  # the consumer product variant is not part of the identity
        if _DL_WITH_CPV.fullmatch(uri):
            uri = uri[:at]
        elif _DL_CPV_THEN_MORE.fullmatch(uri):
            rest = uri[at + 4:]
            uri = uri[:at] + rest[rest.find("/"):]
    if _DL_LOT_AND_SERIAL.fullmatch(uri):  # a serial identifies more finely than a lot
        at = uri.find("/10/")
        rest = uri[at + 4:]
        uri = uri[:at] + rest[rest.find("/"):]
    return uri if _DL_CONSTRAINED.fullmatch(uri) else None


@lru_cache(maxsize=65_536)
def _canonical_identifier(text: str) -> str | None:
    """The constrained canonical GS1 Digital Link URI for an EPC or DL URI, else None."""
    if "." not in text:  # every EPC URI and every Digital Link host has one
        return None
    if text.startswith("urn:epc:"):
        parts = text.split(":", 4)
        if len(parts) == 5:
            kind, scheme, body = parts[2], parts[3], parts[4]
            if kind == "id":
                return _epc_id(scheme, body)
            if kind in ("class", "idpat"):
                return _epc_class_or_pattern(kind, scheme, body)
        return None
    if text.startswith("http"):
        return _constrained_digital_link(text)
    return None


# --- CBV 2.0 event hash: values ------------------------------------------------------

_CBV_URNS = tuple((vocab.urn, vocab.web) for vocab in _VOCABULARIES.values())
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?")


def _canonical_number(text: str) -> str:
    """Numbers without trailing zeros or exponent noise (CBV 2.0 rule 6); else unchanged."""
    if not (text[0].isdigit() or text[0] in "+-."):
        return text  # cheap test first: most values are not numbers
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    if number == number.to_integral_value():
        return str(number.to_integral_value())
    return format(number.normalize(), "f")


@lru_cache(maxsize=1 << 16)  # locations, parties and words repeat across a document
def _canonical_value(text: str) -> str:
    """A non-empty, stripped value in its pre-hash form (CBV 2.0 rules 6, 14, 17, 18)."""
    if "urn:epcglobal:cbv:" in text:
        for urn, web in _CBV_URNS:
            text = text.replace(urn, web)
    text = _canonical_number(text)
    return _canonical_identifier(text) or text


def _parse_timestamp(text: str) -> datetime.datetime | None:
    """ISO 8601 date and time; a time without zone is read as UTC (never as server time)."""
    m = _TIMESTAMP.fullmatch(text)
    if m is None:
        return None
    fraction = (m[7] or "")[:6].ljust(6, "0")  # sub-microsecond digits are cut, not rounded
    zone = datetime.UTC
    if m[9]:
        offset = datetime.timedelta(hours=int(m[10]), minutes=int(m[11] or 0))
        try:
            zone = datetime.timezone(offset if m[9] == "+" else -offset)
        except ValueError:
            return None
    try:
        return datetime.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]),
                                 int(m[6] or 0), int(fraction), tzinfo=zone)
    except ValueError:
        return None


def _utc_millis(text: str) -> str:
    """A timestamp in UTC with milliseconds, rounded half up (CBV 2.0 rules 8 and 9)."""
    moment = _parse_timestamp(text)
    if moment is None:
        return text
    millis = (moment.microsecond + 500) // 1000
    moment = moment.replace(microsecond=0) + datetime.timedelta(milliseconds=millis)
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


# Prefixes every document has, as the reference implementation binds them; a document's
# own @context may rebind all but gs1.
_STANDARD_PREFIXES = {"gs1": GS1_VOC, "cbv": CBV_WEB, "epcis": "https://ref.gs1.org/epcis/",
                      "cbvmda": "urn:epcglobal:cbv:mda"}


def _context_prefixes(context: object, into: dict[str, str]) -> dict[str, str]:
    if isinstance(context, list):
        for item in context:
            _context_prefixes(item, into)
    elif isinstance(context, Mapping):
        for key, value in context.items():
            if key.startswith("@"):
                continue
            if isinstance(value, str):
                into[key] = value
            elif isinstance(value, Mapping) and isinstance(value.get("@id"), str) \
                    and ":" not in key:
                into[key] = value["@id"]
    return into


@dataclass(frozen=True)
class _Namespaces:
    keys: dict[str, str]  # prefix -> "{iri}" for extension field names
    values: dict[str, str]  # prefix -> iri, GS1 namespaces only, for compact URI values


_last_namespaces: tuple[object, object, _Namespaces] | None = None


def _namespaces(context: object, own_context: object) -> _Namespaces:
    global _last_namespaces
    # A capture passes the same @context object with every one of its events.
    cached = _last_namespaces
    if cached is not None and cached[0] is context and cached[1] is own_context:
        return cached[2]
    prefixes = dict(_STANDARD_PREFIXES)
    _context_prefixes(context, prefixes)
    _context_prefixes(own_context, prefixes)  # an event's own context is the inner one
    prefixes["gs1"] = GS1_VOC
    result = _Namespaces(
        keys={p: "{" + iri + "}" for p, iri in prefixes.items()},
        # CBV 2.0 rule 15 expands compact URIs of GS1 vocabularies only; a user's own
        # "example:x" value stays as written.
        values={p: iri for p, iri in prefixes.items()
                if iri.startswith(("https://ref.gs1.org", "https://gs1.org"))})
    _last_namespaces = (context, own_context, result)
    return result


def _with_vocabulary_iris(event: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` with bare standard vocabulary words as Web URIs (CBV 2.0 rule 16).

    The JSON-LD context types these fields as vocabulary terms; only its words expand.
    """
    out = dict(event)

    def iri(value: Any, vocab: str) -> Any:
        v = _VOCABULARIES[vocab]
        return v.web + value if isinstance(value, str) and value in v.terms else value

    for key, vocab in (("bizStep", "bizStep"), ("disposition", "disposition")):
        if key in out:
            out[key] = iri(out[key], vocab)
    pd = out.get("persistentDisposition")
    if isinstance(pd, Mapping):
        out["persistentDisposition"] = {
            k: [iri(v, "disposition") for v in vs] if isinstance(vs, list) and k in (
                "set", "unset") else vs for k, vs in pd.items()}
    for key, vocab in (("bizTransactionList", "btt"), ("sourceList", "sdt"),
                       ("destinationList", "sdt")):
        if isinstance(out.get(key), list):
            out[key] = [dict(e, type=iri(e["type"], vocab))
                        if isinstance(e, Mapping) and "type" in e else e for e in out[key]]
    if isinstance(out.get("sensorElementList"), list):
        out["sensorElementList"] = [_sensor_element_iris(e) for e in out["sensorElementList"]]
    return out


def _sensor_element_iris(element: Any) -> Any:
    if not isinstance(element, Mapping) or not isinstance(element.get("sensorReport"), list):
        return element
    reports = []
    for report in element["sensorReport"]:
        if isinstance(report, Mapping):
            report = dict(report)
            for key, words, base in (("type", _MEASUREMENT_TYPES, GS1_VOC),
                                     ("exception", _SENSOR_ALERTS, GS1_VOC),
                                     ("component", _COMPONENTS, CBV_WEB + "Comp-")):
                if isinstance(report.get(key), str) and report[key] in words:
                    report[key] = base + report[key]
        reports.append(report)
    return dict(element, sensorReport=reports)


# --- CBV 2.0 event hash: the pre-hash string -----------------------------------------
#
# The event becomes a tree of (name, text, children) nodes, the shape an EPCIS XML event
# has: list members take the list's singular name, children are sorted, prefixed names
# are expanded to "{namespace}local". The tree is then read in the canonical property
# order (CBV 2.0 section 8.9.2), and what is left over - ILMD, user extensions inside
# standard fields, user extensions of the event - is appended sorted. This is how the
# reference implementation reads JSON, and its published hashes depend on these details.
#
# Where the reference implementation's results depend on accidents, we follow the rules:
# * Bare words are expanded in the fields the JSON-LD context types as vocabulary
#   (bizStep, disposition, types, sensor type/exception/component) and only there; the
#   reference rewrites any equal string anywhere in the document, so an extension value
#   "x" becomes a URI when some other event of the document has component "x".
# * A business transaction, source or destination is written type first whatever the JSON
#   key order; without a type it is hashed (the reference fails).
# * Bare words are expanded even in a document without @context, and sensor measurement
#   types always as https://ref.gs1.org/voc/..., even if a document rebinds gs1.
# * A time without time zone is read as UTC, not as the server's local time.
# * An @context inside the event declares prefixes and is not itself hashed.
# On all 51 official example events the reference can hash, on its published vectors and
# on 900 generated variants of them, the two agree.

Node = tuple[str, str, list[Any]]


class _Entry(tuple):  # type: ignore[type-arg]
    """A business transaction, source or destination: its type node, then its value node."""


_IGNORED_KEYS = frozenset({"#text", "comment", "rdfs:comment"})
_UNSORTED_IF_PRESENT = ("bizTransaction", "source", "destination")


def _scalar(value: Any, ns: _Namespaces) -> str:
    if isinstance(value, str):
        prefix, colon, local = value.partition(":")
        if colon and prefix in ns.values:
            return ns.values[prefix] + local
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)  # numbers as Python writes them; null as "None"


def _tree(value: Any, ns: _Namespaces) -> Node:
    if isinstance(value, list):
        return ("", "", sorted(_tree(item, ns) for item in value))
    if not isinstance(value, Mapping):
        return ("", _scalar(value, ns), [])
    children: list[Any] = []
    for key, item in value.items():
        if key in _IGNORED_KEYS or key.startswith("@xmlns"):
            continue
        prefix, colon, local = key.partition(":")
        if colon and prefix in ns.keys:
            key = ns.keys[prefix] + local
        if isinstance(item, list):
            children.extend((key, text, grand) for _, text, grand in _tree(item, ns)[2])
        elif isinstance(item, Mapping):
            node = _tree(item, ns)
            children.append((key, node[1], node[2]))
        else:
            children.append((key, _scalar(item, ns), []))
    if not any(k in value for k in _UNSORTED_IF_PRESENT):
        children.sort()
    name, text = value.get("type"), value.get("#text")
    return (name if isinstance(name, str) else "", text if isinstance(text, str) else "",
            children)


_TYPED_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source",
                "destinationList": "destination"}
_RENAMED = {"inputEPC": "epc", "outputEPC": "epc", "inputQuantity": "quantityElement",
            "outputQuantity": "quantityElement", "childQuantity": "quantityElement"}


def _typed_entry(element: Node, value_name: str) -> _Entry:
    # The type comes first whatever the JSON key order (CBV 2.0 rule 13).
    kinds = [c for c in element[2] if c[0] == "type"][:1]
    values = [c for c in element[2] if c[0] == value_name][:1]
    return _Entry(kinds + values)


def _align(node: Node) -> Node:
    """Give JSON the XML data model: fooList holds foo elements, childEPCs holds epc ones."""
    name, text, children = node
    lists: dict[str, list[Any]] = {}
    rest: list[Any] = []
    for child in children:
        if child[0].endswith("List"):
            lists.setdefault(child[0], []).append((child[0][:-4], child[1], child[2]))
        else:
            rest.append(child)
    for list_name, members in lists.items():
        if list_name in _TYPED_LISTS:
            members = [_typed_entry(m, _TYPED_LISTS[list_name]) for m in members]
        rest.append((list_name, "", members))
    child_epcs: list[Node] = [("epc", c[1], []) for c in rest if c[0] == "childEPCs"]
    if child_epcs:
        rest = [c for c in rest if c[0] != "childEPCs"]
        rest.append(("childEPCs", "", child_epcs))
    aligned = []
    for c in rest:
        if c[0] in _TYPED_LISTS:
            aligned.append(c)
        elif c[2]:
            aligned.append(_align(c))
        else:  # a leaf: only a rename can apply
            aligned.append((_RENAMED[c[0]], c[1], c[2]) if c[0] in _RENAMED else c)
    if name in _RENAMED:
        name = _RENAMED[name]
    elif name == "quantity" and aligned:
        name = "quantityElement"
    return (name, text, aligned)


Order = tuple[tuple[str, Any], ...]
_TYPED = "typed"  # sub-order marker: (type, value) entries
_EPCS: Order = (("epc", None),)
_QUANTITIES: Order = (("quantityElement", (("epcClass", None), ("quantity", None),
                                           ("uom", None))),)
_SENSOR_METADATA: Order = tuple((n, None) for n in (
    "time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
    "dataProcessingMethod", "bizRules"))
_SENSOR_REPORT: Order = tuple((n, None) for n in (
    "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
    "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
    "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank",
    "percValue", "uom", "coordinateReferenceSystem"))
# CBV 2.0 section 8.9.2, the canonical property order (eventType is written first).
_EVENT_ORDER: Order = (
    ("eventTime", None), ("eventTimeZoneOffset", None), ("epcList", _EPCS), ("parentID", None),
    ("inputEPCList", _EPCS), ("childEPCs", _EPCS), ("quantityList", _QUANTITIES),
    ("childQuantityList", _QUANTITIES), ("inputQuantityList", _QUANTITIES),
    ("outputEPCList", _EPCS), ("outputQuantityList", _QUANTITIES), ("action", None),
    ("transformationID", None), ("bizStep", None), ("disposition", None),
    ("persistentDisposition", (("set", None), ("unset", None))),
    ("readPoint", (("id", None),)), ("bizLocation", (("id", None),)),
    ("bizTransactionList", _TYPED), ("sourceList", _TYPED), ("destinationList", _TYPED),
    ("sensorElementList", (("sensorElement", (("sensorMetadata", _SENSOR_METADATA),
                                              ("sensorReport", _SENSOR_REPORT))),)),
)
# Not part of the hash (CBV 2.0 section 8.9.2): identity, capture bookkeeping, corrections.
_NOT_HASHED = frozenset({"recordTime", "eventID", "type", "errorDeclaration",
                         "certificationInfo"})


def _shown_name(name: str) -> str:
    # CBV 2.0 writes sensorElement blocks without their list's name (2.1 adds it).
    return "" if name == "sensorElementList" else name


@cache
def _is_time(name: str) -> bool:
    lowered = name.lower()
    return "time" in lowered and "offset" not in lowered


@cache
def _order_names(order: Order) -> frozenset[str]:
    return frozenset(name for name, _ in order)


def _render_ordered(children: list[Any], order: Order) -> str:
    """The fields named in ``order``, in that order; consumed nodes leave ``children``."""
    by_name: dict[str, list[Node]] = {}
    for child in children:
        if not isinstance(child, _Entry):
            by_name.setdefault(child[0], []).append(child)
    out = []
    for name, sub in order:
        matching = by_name.get(name)
        if matching:
            out += sorted(s for s in (_render_field(c, sub) for c in matching) if s)
    names = _order_names(order)
    # A field is consumed once nothing is left under it; what is left is an extension.
    children[:] = [c for c in children if isinstance(c, _Entry) or c[2] or c[0] not in names]
    return "".join(out)


def _render_field(node: Node, sub: Any) -> str:
    name, text, grand = node
    inner = ""
    if sub == _TYPED:
        if grand and all(isinstance(g, _Entry) for g in grand):
            inner = _render_generic(grand)
            grand.clear()
    elif sub:
        inner = _render_ordered(grand, sub)
    value = ""
    if text:
        stripped = text.strip()
        if stripped:
            value = "=" + (_utc_millis(stripped) if _is_time(name)
                           else _canonical_value(stripped))
    return _shown_name(name) + value + inner if value or inner else ""


def _render_generic(children: Sequence[Any]) -> str:
    """Nodes outside the property order: name=value, nested, sorted (rules 19 and 20)."""
    values = []
    for child in children:
        if isinstance(child, _Entry):
            values.append(_render_generic(child))
            continue
        name, text, grand = child
        stripped = text.strip()
        values.append(name + ("=" + _canonical_value(stripped) if stripped else "")
                      + _render_generic(grand))
    if len(values) > 1 and not any(
            not isinstance(c, _Entry) and c[0] in _UNSORTED_IF_PRESENT for c in children):
        values.sort()
    return "".join(values)


def _is_namespaced(name: str) -> bool:
    return "{" in name and "/}" in name


def _field_extensions(children: list[Any], order: Order) -> str:
    """User extensions inside a standard field, prefixed by the path of field names."""
    parts = []
    for name, sub in order:
        if not sub or sub == _TYPED:
            continue
        for child in children:
            if not isinstance(child, _Entry) and child[0] == name:
                inner = _field_extensions(child[2], sub)
                if inner:
                    parts.append(_shown_name(name) + inner)
    direct = [c for c in children if not isinstance(c, _Entry) and _is_namespaced(c[0])]
    if direct:
        parts.append(_render_generic(direct))
    return "".join(parts)


def prehash_string(event: Mapping[str, Any], context: object | None = None) -> str:
    """The canonical CBV 2.0 pre-hash string of ``event`` (what ``event_hash`` hashes).

    ``context`` is the ``@context`` of the document the event came in: it says what the
    prefixes of user extension fields stand for ("example:myField" is hashed as
    "{http://ns.example.com/epcis/}myField"). An ``@context`` inside the event adds to it.
    """
    if not isinstance(event, Mapping):
        raise InvalidInput(f"event: expected a JSON object, got "
                           f"{_JSON_TYPES.get(type(event), 'a value')}", code=EVENT_CODE)
    ns = _namespaces(context, event.get("@context"))
    plain = _plain_prehash(event, ns)
    return plain if plain is not None else _general_prehash(event, ns)


# The shape of most captured events: an ObjectEvent of EPCs with the usual fields and no
# extensions. _plain_prehash renders exactly what _general_prehash does for it, without
# building the tree (tests compare the two on the official examples and on variants).
_PLAIN_KEYS = frozenset({"type", "eventTime", "eventTimeZoneOffset", "epcList", "action",
                         "bizStep", "disposition", "readPoint", "bizLocation", "sourceList",
                         "destinationList", "eventID", "recordTime"})
_PLAIN_SCALARS = (("eventTime", "eventTimeZoneOffset"), ("action", "bizStep", "disposition"))
_PLAIN_PARTIES = (("sourceList", "source", "sdt"), ("destinationList", "destination", "sdt"))


def _plain_value(name: str, value: str, ns: _Namespaces) -> str:
    stripped = _scalar(value, ns).strip()
    if not stripped:
        return name
    return f"{name}={_utc_millis(stripped) if _is_time(name) else _canonical_value(stripped)}"


def _plain_prehash(event: Mapping[str, Any], ns: _Namespaces) -> str | None:
    """The pre-hash string of a plain ObjectEvent, or None for any other shape."""
    if event.get("type") != "ObjectEvent" or not _PLAIN_KEYS.issuperset(event):
        return None
    out = ["eventType=ObjectEvent"]
    for name in _PLAIN_SCALARS[0]:
        if name in event:
            value = event[name]
            if not isinstance(value, str):
                return None
            if (rendered := _plain_value(name, value, ns)) != name:
                out.append(rendered)
    if "epcList" in event:
        epcs = event["epcList"]
        if not isinstance(epcs, list) or not all(isinstance(e, str) for e in epcs):
            return None
        rendered_epcs = sorted(r for e in epcs if (r := _plain_value("epc", e, ns)) != "epc")
        if rendered_epcs:
            out.append("epcList" + "".join(rendered_epcs))
    for name in _PLAIN_SCALARS[1]:
        if name in event:
            value = event[name]
            if not isinstance(value, str):
                return None
            if name in _VOCABULARIES and value in _VOCABULARIES[name].terms:
                value = _VOCABULARIES[name].web + value
            if (rendered := _plain_value(name, value, ns)) != name:
                out.append(rendered)
    for name in ("readPoint", "bizLocation"):
        if name in event:
            place = event[name]
            if not (isinstance(place, Mapping) and place.keys() == {"id"}
                    and isinstance(place["id"], str)):
                return None
            if (rendered := _plain_value("id", place["id"], ns)) != "id":
                out.append(name + rendered)
    for name, value_name, vocabulary in _PLAIN_PARTIES:
        if name not in event:
            continue
        entries = event[name]
        if not isinstance(entries, list):
            return None
        rendered_entries = []
        for entry in entries:
            if not (isinstance(entry, Mapping) and entry.keys() == {"type", value_name}
                    and isinstance(entry["type"], str) and isinstance(entry[value_name], str)):
                return None
            kind = entry["type"]
            if kind in _VOCABULARIES[vocabulary].terms:
                kind = _VOCABULARIES[vocabulary].web + kind
            rendered_entries.append(_plain_value("type", kind, ns)
                                    + _plain_value(value_name, entry[value_name], ns))
        if rendered_entries:
            out.append(name + "".join(sorted(rendered_entries)))
    return "".join(out)


def _general_prehash(event: Mapping[str, Any], ns: _Namespaces) -> str:
    source = _with_vocabulary_iris(event)
    source.pop("@context", None)  # JSON-LD framing, not event data
    event_type, _, children = _align(_tree(source, ns))
    standard = _render_ordered(children, _EVENT_ORDER)
    # CBV 2.0: ILMD, then extensions inside standard fields, then the event's extensions.
    trailing = [_render_generic([c for c in children if c[0] == "ilmd"])]
    children[:] = [c for c in children if c[0] != "ilmd"]
    for name, sub in _EVENT_ORDER:
        if not sub or sub == _TYPED:
            continue
        for child in [c for c in children if c[0] == name]:
            inner = _field_extensions(child[2], sub)
            if inner:
                trailing.append(_shown_name(name) + inner)
                children[:] = [c for c in children if c is not child]
    trailing.append(_render_generic([c for c in children if c[0] not in _NOT_HASHED]))
    return f"eventType={event_type}{standard}{''.join(trailing)}"


def event_hash(event: Mapping[str, Any], context: object | None = None) -> str:
    """The CBV 2.0 EPCIS Event Hash ID of ``event``: ``ni:///sha-256;{hex}?ver=CBV2.0``.

    The same event gives the same hash however it is written: JSON key order, list order,
    bare CBV words or their URNs, EPC URNs or Digital Link URIs, time zones. ``eventID``,
    ``recordTime``, ``errorDeclaration`` and ``certificationInfo`` do not count.
    """
    digest = hashlib.sha256(prehash_string(event, context).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"


# --- What the tracker reads from an event -------------------------------------------

_OFFSET = re.compile(r"[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00)")
_EPC_ROLES = (("epcList", "epc"), ("childEPCs", "child"), ("inputEPCList", "input"),
              ("outputEPCList", "output"))
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList",
                   "outputQuantityList")


@dataclass(frozen=True)
class NormalisedEvent:
    """One EPCIS event as the tracker stores and indexes it.

    ``epcs`` pairs each identifier's normalised key (``epc_key``) with its role: ``epc``,
    ``parent``, ``child``, ``input``, ``output`` or ``quantity`` (an epcClass); each pair
    appears once. ``document`` is the event as served back: standard CBV values as bare
    words and, when it uses extension prefixes declared only in the capture document's
    ``@context``, an ``@context`` of its own declaring them (so it keeps its meaning and
    its hash on its own).
    """

    event_type: str
    action: str | None
    biz_step: str | None
    disposition: str | None
    event_time: datetime.datetime
    event_timezone_offset: str
    read_point: str | None
    biz_location: str | None
    epcs: tuple[tuple[str, str], ...]
    sources: tuple[tuple[str, str], ...]
    destinations: tuple[tuple[str, str], ...]
    event_id: str | None
    hash: str
    error_declaration: dict[str, Any] | None
    document: dict[str, Any]


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code=EVENT_CODE)


def _event_time(event: Mapping[str, Any]) -> datetime.datetime:
    raw = event.get("eventTime")
    if raw is None:
        raise _invalid("eventTime: required field 'eventTime' is missing")
    m = _DATE_TIME.fullmatch(raw) if isinstance(raw, str) else None
    moment = _parse_timestamp(raw) if m is not None else None
    if moment is None:
        raise _invalid(f"eventTime: {_shown(raw)} is not a date-time with a time zone, e.g. "
                       "'2024-05-01T12:00:00.000+02:00'")
    return moment


def _offset_text(moment: datetime.datetime) -> str:
    offset = moment.utcoffset() or datetime.timedelta(0)
    sign = "-" if offset < datetime.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _location(value: Any) -> str | None:
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def _identifiers(event: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    if isinstance(event.get("parentID"), str):
        found.append((epc_key(event["parentID"]), "parent"))
    for key, role in _EPC_ROLES:
        if isinstance(event.get(key), list):
            found += [(epc_key(v), role) for v in event[key] if isinstance(v, str)]
    for key in _QUANTITY_LISTS:
        if isinstance(event.get(key), list):
            found += [(epc_key(q["epcClass"]), "quantity") for q in event[key]
                      if isinstance(q, Mapping) and isinstance(q.get("epcClass"), str)]
    return tuple(dict.fromkeys(pair for pair in found if pair[0]))


def _parties(entries: Any, id_key: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(entries, list):
        return ()
    return tuple(
        (normalise_cbv(e["type"], "sdt") if isinstance(e.get("type"), str) else "", e[id_key])
        for e in entries if isinstance(e, Mapping) and isinstance(e.get(id_key), str))


def _prefixes(value: Any, into: set[str]) -> set[str]:
    """Every "prefix" of a "prefix:rest" field name or string value in ``value``."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            into.add(key.partition(":")[0])
            _prefixes(item, into)
    elif isinstance(value, list):
        for item in value:
            _prefixes(item, into)
    elif isinstance(value, str):
        into.add(value.partition(":")[0])
    return into


_last_declared: tuple[object, dict[str, str]] | None = None


def _declared_prefixes(context: object) -> dict[str, str]:
    global _last_declared
    cached = _last_declared
    if cached is not None and cached[0] is context:
        return cached[1]
    declared = _context_prefixes(context, {})
    _last_declared = (context, declared)
    return declared


def _self_contained(document: dict[str, Any], context: object) -> dict[str, Any]:
    """Declare in the event the prefixes it uses that only the capture document declared."""
    declared = _declared_prefixes(context)
    if not declared:
        return document
    own = _context_prefixes(document.get("@context"), {})
    needed = {p: declared[p] for p in sorted(_prefixes(document, set()))
              if p in declared and p not in own}
    if not needed:
        return document
    existing = document.get("@context")
    contexts = existing if isinstance(existing, list) else [] if existing is None else [existing]
    return {"@context": [*contexts, needed], **{k: v for k, v in document.items()
                                               if k != "@context"}}


def normalise_event(event: Mapping[str, Any], context: object | None = None) -> NormalisedEvent:
    """Read what the tracker stores about an EPCIS event (assumed schema-valid).

    ``context`` is the capture document's ``@context`` (see ``prehash_string``). Raises
    ``InvalidInput`` (code ``epcis_invalid_event``) for what the schema lets through but
    cannot be stored: a missing or unreadable ``eventTime``, a malformed
    ``eventTimeZoneOffset``. A missing offset is taken from ``eventTime``.
    """
    if not isinstance(event, Mapping):
        raise _invalid(f"event: expected a JSON object, got "
                       f"{_JSON_TYPES.get(type(event), 'a value')}")
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise _invalid("type: required field 'type' is missing")
    moment = _event_time(event)
    offset = event.get("eventTimeZoneOffset")
    if offset is None:
        offset = _offset_text(moment)
    elif not isinstance(offset, str) or not _OFFSET.fullmatch(offset):
        raise _invalid(f"eventTimeZoneOffset: {_shown(offset)} is not a time zone offset "
                       "such as '+02:00' or '-05:00'")
    document = _self_contained(_with_bare_words(event), context)
    declaration = document.get("errorDeclaration")
    biz_step, disposition = event.get("bizStep"), event.get("disposition")
    return NormalisedEvent(
        event_type=event_type,
        action=event["action"] if isinstance(event.get("action"), str) else None,
        biz_step=normalise_cbv(biz_step, "bizStep") if isinstance(biz_step, str) else None,
        disposition=(normalise_cbv(disposition, "disposition")
                     if isinstance(disposition, str) else None),
        event_time=moment.astimezone(datetime.UTC),
        event_timezone_offset=offset,
        read_point=_location(event.get("readPoint")),
        biz_location=_location(event.get("bizLocation")),
        epcs=_identifiers(event),
        sources=_parties(event.get("sourceList"), "source"),
        destinations=_parties(event.get("destinationList"), "destination"),
        event_id=event["eventID"] if isinstance(event.get("eventID"), str) else None,
        hash=event_hash(event, context),
        error_declaration=dict(declaration) if isinstance(declaration, Mapping) else None,
        document=document,
    )


# --- Checking and normalising a whole document --------------------------------------

# What one event became: its normalised form, or the (code, message) of why it cannot be
# stored although the schema takes it.
Normalised = NormalisedEvent | tuple[str, str]
SliceMapper = Callable[[Callable[[list[Any]], list[Any]], list[Any]], Iterable[list[Any]]]


def check_and_normalise(events: list[Any], context: object = None
                        ) -> list[tuple[bool, Normalised | None]]:
    """For each event: whether it passes the schema's fast check, and if so what it
    normalises to. Pure, so a document's events can be spread over processes."""
    validators = _validators()
    out: list[tuple[bool, Normalised | None]] = []
    for event in events:
        if _fast_event_check(validators, event)[0]:
            out.append((True, _normalised_or_reason(event, context)))
        else:
            out.append((False, None))
    return out


def _normalised_or_reason(event: Any, context: object) -> Normalised:
    try:
        return normalise_event(event, context)
    except InvalidInput as exc:
        return (exc.code, exc.message)


def validate_and_normalise(doc: object, map_slices: SliceMapper | None = None
                           ) -> list[Normalised]:
    """``validate_document`` and ``normalise_event`` for each event, in one pass over the
    events (see normalised_slices). Raises what ``validate_document`` raises."""
    _count, slices = normalised_slices(doc, map_slices)
    return [result for part in slices for result in part]


def normalised_slices(doc: object, map_slices: SliceMapper | None = None
                      ) -> tuple[int, Iterator[list[Normalised]]]:
    """The number of events of a document whose envelope is checked now, and their
    normalised forms slice by slice as the events are checked. ``map_slices(fn, events)``
    gives fn over consecutive slices of the events, in order, and may make them in other
    processes. A slice with an event the schema refuses raises what ``validate_document``
    raises, as the slice comes: a caller storing slices as they come undoes what it
    stored."""
    if not isinstance(doc, Mapping) or doc.get("type") not in DOCUMENT_TYPES:
        validate_document(doc)
    assert isinstance(doc, Mapping)
    envelope, events = _event_lists(doc)
    if events is None or not _fast_valid(_validators().fast_document, envelope):
        validate_document(doc)
    events = events or []
    context = doc.get("@context")
    check = partial(check_and_normalise, context=context)
    parts = map_slices(check, events) if map_slices is not None else [check(events)]

    def slices() -> Iterator[list[Normalised]]:
        offset = 0
        for part in parts:
            if not all(passed for passed, _ in part):
                validate_document(doc)  # says what is wrong
            # Events the fast check refused but jsonschema, which has the last word, took.
            yield [result if result is not None else _normalised_or_reason(event, context)
                   for (_, result), event in zip(part, events[offset:offset + len(part)],
                                                  strict=True)]
            offset += len(part)

    return len(events), slices()
