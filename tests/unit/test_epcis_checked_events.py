"""A document checked whole before anything is stored (``checked_events``), its events
normalised afterwards, slice by slice (``normalise_slices``): what a capture over HTTP does
so that the schema check runs before the write lock and the normalising alongside the
storing. It must give what the one-pass ``validate_and_normalise`` gives."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.test_epcis import (
    CONTEXT_2_0,
    OFFICIAL,
    PLAIN_EVENT,
    SIMPLE_CONTEXT_REFUSED,
    in_slices_of,
    load,
    schema_error,
)
from tracker.domain import epcis
from tracker.domain.epcis import validate_document

MAPPERS = [None, in_slices_of(1), in_slices_of(2)]
MAPPER_IDS = ["whole", "slices of 1", "slices of 2"]


def document_of(events: list[Any]) -> dict[str, Any]:
    return {"@context": [CONTEXT_2_0], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-06-01T00:00:00Z", "epcisBody": {"eventList": events}}


@pytest.mark.parametrize("mapper", MAPPERS, ids=MAPPER_IDS)
@pytest.mark.parametrize("name", OFFICIAL)
def test_checked_then_normalised_gives_what_the_one_pass_gives(name: str, mapper: Any) -> None:
    doc = load("JSON", name)
    events, context = epcis.checked_events(doc, mapper)
    normalised = [n for part in epcis.normalise_slices(events, context, mapper) for n in part]
    assert context == doc["@context"]
    assert normalised == epcis.validate_and_normalise(doc)


@pytest.mark.parametrize("name", sorted(SIMPLE_CONTEXT_REFUSED))
def test_the_check_refuses_what_validate_document_refuses(name: str) -> None:
    doc = load("JSON-simple-context", name)
    expected = schema_error(validate_document, doc)
    refused = schema_error(epcis.checked_events, doc, in_slices_of(1))
    assert (refused.message, refused.details) == (expected.message, expected.details)


@pytest.mark.parametrize("mapper", MAPPERS, ids=MAPPER_IDS)
def test_a_bad_event_in_the_last_slice_refuses_the_document(mapper: Any) -> None:
    events = [copy.deepcopy(PLAIN_EVENT) for _ in range(3)]
    events[2]["action"] = "SHIP"
    refused = schema_error(epcis.checked_events, document_of(events), mapper)
    assert refused.message.startswith("epcisBody.eventList[2].action")


def test_the_check_gives_the_events_as_they_came_without_copying_them() -> None:
    urn_words = dict(copy.deepcopy(PLAIN_EVENT), bizStep="urn:epcglobal:cbv:bizstep:shipping")
    doc = document_of([copy.deepcopy(PLAIN_EVENT), urn_words])
    events, _ = epcis.checked_events(doc, in_slices_of(1))
    assert events is doc["epcisBody"]["eventList"]
    assert events[1]["bizStep"] == "urn:epcglobal:cbv:bizstep:shipping"


def test_an_event_that_cannot_be_stored_is_normalised_to_its_reason() -> None:
    timeless = {k: v for k, v in PLAIN_EVENT.items() if k != "eventTime"}
    parts = list(epcis.normalise_slices([copy.deepcopy(PLAIN_EVENT), timeless], [CONTEXT_2_0],
                                        in_slices_of(1)))
    assert parts == [[epcis.normalise_event(PLAIN_EVENT, [CONTEXT_2_0])],
                     [("epcis_invalid_event",
                       "eventTime: required field 'eventTime' is missing")]]


def test_a_document_without_events_has_nothing_to_normalise() -> None:
    events, context = epcis.checked_events(document_of([]), in_slices_of(2))
    assert events == []
    assert [n for part in epcis.normalise_slices(events, context, in_slices_of(2))
            for n in part] == []
