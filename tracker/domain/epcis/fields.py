"""What the EPCIS query parameters ask of an event beyond its indexed columns and
identifiers: persistent dispositions, the error declaration, the transformation, the
quantities and the sensor data (EPCIS 2.0 section 8.2.7.1).

``query_fields(event)`` reads them from a stored (normalised) event as ``(name, value,
number, moment)`` rows, one per distinct value: the repository keeps them beside the event
so a query about them is an indexed lookup, not a read of every document. Most events have
none (an observation or a shipment), so they cost nothing there.

>>> query_fields({"type": "ObjectEvent",
...               "persistentDisposition": {"set": ["completeness_verified"]},
...               "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877",
...                                 "quantity": 200}]})
(('pd_set', 'completeness_verified', None, None), ('quantity', '200', 200.0, None))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from tracker.domain.epcis.vocabulary import normalise_cbv

Field = tuple[str, str, float | None, dt.datetime | None]

MAX_VALUE = 500  # longer values are not indexed (and so not found by EQ_ parameters)

_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList",
                   "outputQuantityList")
# Sensor attributes an EQ_ parameter matches, and where they may stand.
SENSOR_REPORT_TEXT = ("type", "deviceID", "dataProcessingMethod", "microorganism",
                      "chemicalSubstance", "bizRules", "stringValue", "hexBinaryValue",
                      "uriValue")
SENSOR_METADATA_TEXT = ("deviceID", "dataProcessingMethod", "bizRules")
MEASUREMENT_PREFIXES = ("gs1:", "https://gs1.org/voc/", "http://gs1.org/voc/")


def measurement_type(value: str) -> str:
    """A GS1 measurement type as its bare word (``gs1:Temperature`` → ``Temperature``);
    a user's own type as written."""
    for prefix in MEASUREMENT_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix):]
    return value


def parse_time(value: str) -> dt.datetime | None:
    """An ISO 8601 time as an aware UTC datetime, or None when it is not one."""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):  # not a time, or beyond year 9999 in UTC
        return None


def _text(name: str, value: Any) -> Iterator[Field]:
    if isinstance(value, bool):
        yield name, "true" if value else "false", None, None
    elif isinstance(value, str) and 0 < len(value) <= MAX_VALUE:
        yield name, value, None, None


def _time(name: str, value: Any) -> Iterator[Field]:
    moment = parse_time(value) if isinstance(value, str) else None
    if moment is not None:
        yield name, moment.isoformat(), None, moment


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _fields(event: Mapping[str, Any]) -> Iterator[Field]:
    persistent = event.get("persistentDisposition")
    if isinstance(persistent, Mapping):
        for part in ("set", "unset"):
            for value in persistent.get(part) or ():
                if isinstance(value, str):
                    yield from _text("pd_" + part, normalise_cbv(value, "disposition"))
    yield from _text("transformationID", event.get("transformationID"))
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, Mapping):
        yield "errorDeclaration", "", None, None
        yield from _time("errorDeclarationTime", declaration.get("declarationTime"))
        if isinstance(declaration.get("reason"), str):
            yield from _text("errorReason", normalise_cbv(declaration["reason"], "er"))
        for corrective in declaration.get("correctiveEventIDs") or ():
            yield from _text("correctiveEventID", corrective)
    for key in _QUANTITY_LISTS:
        for element in _dicts(event.get(key)):
            quantity = element.get("quantity")
            if isinstance(quantity, int | float) and not isinstance(quantity, bool):
                yield "quantity", repr(quantity), float(quantity), None
    for element in _dicts(event.get("sensorElementList")):
        metadata = element.get("sensorMetadata")
        if isinstance(metadata, Mapping):
            yield from _time("startTime", metadata.get("startTime"))
            yield from _time("endTime", metadata.get("endTime"))
            for name in SENSOR_METADATA_TEXT:
                yield from _text(name, metadata.get(name))
        for report in _dicts(element.get("sensorReport")):
            for name in SENSOR_REPORT_TEXT:
                value = report.get(name)
                if name == "type" and isinstance(value, str):
                    value = measurement_type(value)
                yield from _text(name, value)
            if isinstance(report.get("booleanValue"), bool):
                yield from _text("booleanValue", report["booleanValue"])


_KEYS = frozenset(("persistentDisposition", "transformationID", "errorDeclaration",
                   "sensorElementList", *_QUANTITY_LISTS))


def query_fields(event: Mapping[str, Any]) -> tuple[Field, ...]:
    """The event's query fields, each (name, value) once."""
    if _KEYS.isdisjoint(event):
        return ()
    seen: dict[tuple[str, str], Field] = {}
    for field in _fields(event):
        seen.setdefault(field[:2], field)
    return tuple(seen.values())
