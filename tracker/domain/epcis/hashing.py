"""The CBV 2.0 EPCIS Event Hash ID (CBV 2.0 section 8.9).

``event_hash`` gives the same value the GS1 reference implementation
(github.com/RalphTro/epcis-event-hash-generator) computes; ``prehash_string`` shows the
canonical string it hashes.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any

from tracker.domain.epcis.identifiers import canonical_identifier
from tracker.domain.epcis.schema import EVENT_CODE, JSON_TYPES
from tracker.domain.epcis.vocabulary import (
    CBV_WEB,
    GS1_VOC,
    VOCABULARIES,
    with_vocabulary_iris,
)
from tracker.errors import InvalidInput

# --- Values ---------------------------------------------------------------------------

_CBV_URNS = tuple((vocab.urn, vocab.web) for vocab in VOCABULARIES.values())
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
    return canonical_identifier(text) or text


def parse_timestamp(text: str) -> datetime.datetime | None:
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
    moment = parse_timestamp(text)
    if moment is None:
        return text
    millis = (moment.microsecond + 500) // 1000
    moment = moment.replace(microsecond=0) + datetime.timedelta(milliseconds=millis)
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


# Prefixes every document has, as the reference implementation binds them; a document's
# own @context may rebind all but gs1.
_STANDARD_PREFIXES = {"gs1": GS1_VOC, "cbv": CBV_WEB, "epcis": "https://ref.gs1.org/epcis/",
                      "cbvmda": "urn:epcglobal:cbv:mda"}


def context_prefixes(context: object, into: dict[str, str]) -> dict[str, str]:
    """The prefixes a JSON-LD ``@context`` declares, added to ``into``."""
    if isinstance(context, list):
        for item in context:
            context_prefixes(item, into)
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
    context_prefixes(context, prefixes)
    context_prefixes(own_context, prefixes)  # an event's own context is the inner one
    prefixes["gs1"] = GS1_VOC
    result = _Namespaces(
        keys={p: "{" + iri + "}" for p, iri in prefixes.items()},
        # CBV 2.0 rule 15 expands compact URIs of GS1 vocabularies only; a user's own
        # "example:x" value stays as written.
        values={p: iri for p, iri in prefixes.items()
                if iri.startswith(("https://ref.gs1.org", "https://gs1.org"))})
    _last_namespaces = (context, own_context, result)
    return result


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
                           f"{JSON_TYPES.get(type(event), 'a value')}", code=EVENT_CODE)
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
            if name in VOCABULARIES and value in VOCABULARIES[name].terms:
                value = VOCABULARIES[name].web + value
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
            if kind in VOCABULARIES[vocabulary].terms:
                kind = VOCABULARIES[vocabulary].web + kind
            rendered_entries.append(_plain_value("type", kind, ns)
                                    + _plain_value(value_name, entry[value_name], ns))
        if rendered_entries:
            out.append(name + "".join(sorted(rendered_entries)))
    return "".join(out)


def _general_prehash(event: Mapping[str, Any], ns: _Namespaces) -> str:
    source = with_vocabulary_iris(event)
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
