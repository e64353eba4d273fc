"""EPCIS 2.0 documents and events: schema validation, CBV words and the CBV 2.0 event hash.

Pure functions: no database, no web framework. One module per job:

* ``vocabulary`` — Core Business Vocabulary words: ``normalise_cbv`` turns the three
  spellings of a CBV value (bare word, ``urn:epcglobal:cbv:...`` URN,
  ``https://ref.gs1.org/cbv/...`` Web URI) into the bare word.
* ``schema`` — ``validate_document`` / ``validate_event`` check JSON against GS1's official
  EPCIS 2.0 JSON Schema and raise ``InvalidInput`` whose message names the first problem
  and its JSON path.
* ``identifiers`` — EPC URIs and Digital Link URIs in the canonical form the hash uses.
* ``hashing`` — ``event_hash`` is the CBV 2.0 "EPCIS Event Hash ID" (CBV 2.0 section 8.9),
  the same value the GS1 reference implementation computes; ``prehash_string`` shows the
  canonical string it hashes.
* ``normalisation`` — ``normalise_event`` reads what the tracker indexes from an event;
  ``normalised_slices`` checks and reads a whole document; ``checked_events`` checks one
  whole and ``normalise_slices`` then reads its events.
* ``fields`` — ``query_fields`` reads what query parameters ask beyond those (persistent
  dispositions, error declarations, quantities, sensor data).

Import from this package, not from its modules: the names below are its interface.

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

from tracker.domain.epcis.fields import measurement_type, parse_time, query_fields
from tracker.domain.epcis.hashing import (
    _general_prehash,
    _namespaces,
    _plain_prehash,
    event_hash,
    prehash_string,
)
from tracker.domain.epcis.identifiers import pattern_like
from tracker.domain.epcis.normalisation import (
    Normalised,
    NormalisedEvent,
    SliceMapper,
    check_and_normalise,
    checked_events,
    normalise_event,
    normalise_slices,
    normalised_slices,
    validate_and_normalise,
)
from tracker.domain.epcis.schema import (
    DOCUMENT_TYPES,
    EVENT_CODE,
    EVENT_TYPES,
    MAX_DETAILS,
    SCHEMA_CODE,
    document_events,
    validate_document,
    validate_event,
    warm_up,
)
from tracker.domain.epcis.schema import compiled_validators as _validators
from tracker.domain.epcis.schema import fast_valid as _fast_valid
from tracker.domain.epcis.vocabulary import CBV_VOCABULARIES, normalise_cbv
from tracker.domain.epcis.vocabulary import VOCABULARIES as _VOCABULARIES

__all__ = [
    "pattern_like",
    "measurement_type",
    "parse_time",
    "query_fields",
    "CBV_VOCABULARIES",
    "DOCUMENT_TYPES",
    "EVENT_CODE",
    "EVENT_TYPES",
    "MAX_DETAILS",
    "SCHEMA_CODE",
    "Normalised",
    "NormalisedEvent",
    "SliceMapper",
    "check_and_normalise",
    "checked_events",
    "document_events",
    "event_hash",
    "normalise_cbv",
    "normalise_event",
    "normalise_slices",
    "normalised_slices",
    "prehash_string",
    "validate_and_normalise",
    "validate_document",
    "validate_event",
    "warm_up",
    # Internals the unit tests look into (fast and general paths compared, word counts).
    "_VOCABULARIES",
    "_fast_valid",
    "_general_prehash",
    "_namespaces",
    "_plain_prehash",
    "_validators",
]
