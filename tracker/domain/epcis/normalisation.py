"""What the tracker reads from an EPCIS event, and a whole document checked and read.

``normalise_event`` reads what the tracker stores and indexes; ``normalised_slices`` checks
a document against the schema and normalises its events in one pass, slice by slice.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from tracker.domain.codes import epc_key
from tracker.domain.epcis.hashing import context_prefixes, event_hash, parse_timestamp
from tracker.domain.epcis.schema import (
    DATE_TIME,
    DOCUMENT_TYPES,
    EVENT_CODE,
    JSON_TYPES,
    compiled_validators,
    event_lists,
    fast_event_check,
    fast_valid,
    shown,
    validate_document,
)
from tracker.domain.epcis.vocabulary import normalise_cbv, with_bare_words
from tracker.errors import InvalidInput

_OFFSET = re.compile(r"[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00)")
_EPC_ROLES = (("epcList", "epc"), ("childEPCs", "child"), ("inputEPCList", "input"),
              ("outputEPCList", "output"))
# An epcClass's role by the list it stands in (MATCH_epcClass, MATCH_inputEPCClass, ...).
_QUANTITY_LISTS = (("quantityList", "quantity"), ("childQuantityList", "quantity"),
                   ("inputQuantityList", "in_class"), ("outputQuantityList", "out_class"))


@dataclass(frozen=True)
class NormalisedEvent:
    """One EPCIS event as the tracker stores and indexes it.

    ``epcs`` pairs each identifier's normalised key (``epc_key``) with its role: ``epc``,
    ``parent``, ``child``, ``input``, ``output``, or for an epcClass ``quantity``
    (``in_class``, ``out_class`` in a transformation's input and output); each pair
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
    m = DATE_TIME.fullmatch(raw) if isinstance(raw, str) else None
    moment = parse_timestamp(raw) if m is not None else None
    if moment is None:
        raise _invalid(f"eventTime: {shown(raw)} is not a date-time with a time zone, e.g. "
                       "'2024-05-01T12:00:00.000+02:00'")
    try:
        moment.astimezone(datetime.UTC)
    except OverflowError:
        raise _invalid(f"eventTime: {shown(raw)} lies outside the years 1 to 9999 in UTC"
                       ) from None
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
    for key, role in _QUANTITY_LISTS:
        if isinstance(event.get(key), list):
            found += [(epc_key(q["epcClass"]), role) for q in event[key]
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
    declared = context_prefixes(context, {})
    _last_declared = (context, declared)
    return declared


def _self_contained(document: dict[str, Any], context: object) -> dict[str, Any]:
    """Declare in the event the prefixes it uses that only the capture document declared."""
    declared = _declared_prefixes(context)
    if not declared:
        return document
    own = context_prefixes(document.get("@context"), {})
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
                       f"{JSON_TYPES.get(type(event), 'a value')}")
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise _invalid("type: required field 'type' is missing")
    moment = _event_time(event)
    offset = event.get("eventTimeZoneOffset")
    if offset is None:
        offset = _offset_text(moment)
    elif not isinstance(offset, str) or not _OFFSET.fullmatch(offset):
        raise _invalid(f"eventTimeZoneOffset: {shown(offset)} is not a time zone offset "
                       "such as '+02:00' or '-05:00'")
    document = _self_contained(with_bare_words(event), context)
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
    validators = compiled_validators()
    out: list[tuple[bool, Normalised | None]] = []
    for event in events:
        if fast_event_check(validators, event)[0]:
            out.append((True, _normalised_or_reason(event, context)))
        else:
            out.append((False, None))
    return out


def _normalised_or_reason(event: Any, context: object) -> Normalised:
    try:
        return normalise_event(event, context)
    except InvalidInput as exc:
        return (exc.code, exc.message)


def _envelope_checked(doc: object) -> tuple[list[Any], object]:
    """A document's events and ``@context``, its envelope checked; raises what
    ``validate_document`` raises for a bad envelope."""
    if not isinstance(doc, Mapping) or doc.get("type") not in DOCUMENT_TYPES:
        validate_document(doc)
    assert isinstance(doc, Mapping)
    envelope, events = event_lists(doc)
    if events is None or not fast_valid(compiled_validators().fast_document, envelope):
        validate_document(doc)
    return events or [], doc.get("@context")


def _fast_checked(events: list[Any]) -> list[bool]:
    validators = compiled_validators()
    return [fast_event_check(validators, event)[0] for event in events]


def _normalised_all(events: list[Any], context: object = None) -> list[Normalised]:
    return [_normalised_or_reason(event, context) for event in events]


def checked_events(doc: object, map_slices: SliceMapper | None = None
                   ) -> tuple[list[Any], object]:
    """A document's events and ``@context``, the whole document checked against the
    schema (raises what ``validate_document`` raises) and nothing normalised yet: for a
    caller that must know the document is good before it stores any of it, then reads
    the events with ``normalise_slices`` as it stores them. ``map_slices`` as in
    normalised_slices."""
    events, context = _envelope_checked(doc)
    parts = map_slices(_fast_checked, events) if map_slices is not None \
        else [_fast_checked(events)]
    if not all(passed for part in parts for passed in part):
        validate_document(doc)  # says what is wrong, unless jsonschema takes what it refused
    return events, context


def normalise_slices(events: list[Any], context: object = None,
                     map_slices: SliceMapper | None = None) -> Iterable[list[Normalised]]:
    """``normalise_event`` for each of a checked document's events (see checked_events),
    slice by slice; a (code, message) for one that cannot be stored. ``map_slices`` as in
    normalised_slices."""
    normalise = partial(_normalised_all, context=context)
    return map_slices(normalise, events) if map_slices is not None else [normalise(events)]


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
    events, context = _envelope_checked(doc)
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
