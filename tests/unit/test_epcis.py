"""tracker.domain.epcis: EPCIS 2.0 schema validation, CBV words and the CBV 2.0 event hash.

Conformance data is read from tests/data/standards/epcis (a copy): GS1's JSON Schema, the 47
official example documents (JSON/) and their simple-context variants, mostly negative
cases (JSON-simple-context/).

The event-hash vectors come from the GS1 reference implementation of the "EPCIS Event Hash
ID" (CBV 2.0 section 8.9), github.com/RalphTro/epcis-event-hash-generator: the worked
examples of its README and the JSON documents behind tests/examples/expected/CBV2.0/*.hashes.
Their events are copied below as they are published.
"""

from __future__ import annotations

import copy
import datetime
import json
import time
from typing import Any

import pytest

from tests import conftest
from tracker.domain import epcis
from tracker.domain.epcis import (
    NormalisedEvent,
    document_events,
    event_hash,
    normalise_cbv,
    normalise_event,
    prehash_string,
    validate_document,
    validate_event,
)
from tracker.errors import InvalidInput

STANDARDS = conftest.STANDARDS / "epcis"
OFFICIAL = sorted(p.relative_to(STANDARDS / "JSON").as_posix()
                  for p in (STANDARDS / "JSON").rglob("*.jsonld"))
SIMPLE_CONTEXT = sorted(p.relative_to(STANDARDS / "JSON-simple-context").as_posix()
                        for p in (STANDARDS / "JSON-simple-context").rglob("*.jsonld"))
CONTEXT_2_0 = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def load(folder: str, name: str) -> Any:
    return json.loads((STANDARDS / folder / name).read_text(encoding="utf-8"))


def ni(hex_digest: str) -> str:
    return f"ni:///sha-256;{hex_digest}?ver=CBV2.0"


def schema_error(call: Any, *args: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    assert caught.value.code == "epcis_schema_invalid"
    return caught.value


def test_the_shared_standards_are_all_here() -> None:
    assert len(OFFICIAL) == 47
    assert len(SIMPLE_CONTEXT) == 46  # the query document has no simple-context twin


# --- The 47 official example documents ------------------------------------------------


@pytest.mark.parametrize("name", OFFICIAL)
def test_official_example_validates(name: str) -> None:
    validate_document(load("JSON", name))


# What each official event hashes to. For 51 of the 56 events this is the value the
# reference implementation computes (its current CBV 2.0 profile, run offline with its
# bundled 2.0.0 context). It cannot hash the other five: for those the values pin ours,
# and HASHED_WITHOUT_REFERENCE says why and how they compare.
OFFICIAL_HASHES: dict[str, tuple[str, ...]] = {
    "AssociationEvent/AssociationEvent-a.jsonld": (
        "39141606ab0b3f7839735303d670b16acdd6faf573d27564ebb3f76ad23e4ff7",
    ),
    "AssociationEvent/AssociationEvent-b.jsonld": (
        "2a4801ee770582c1952504052703f6ccca6b6a11ddd85936365bd7d01c6729c7",
    ),
    "AssociationEvent/AssociationEvent-c.jsonld": (
        "847bbfc737fe2de2af46f2f334225a53ce680361a5ba2a0269e4a50fc4923429",
    ),
    "AssociationEvent/AssociationEvent-d.jsonld": (
        "b9350b16fd98c704364d0b37fc39bb7816459c42e46fb1fd1ccd4f2135b9b8d3",
    ),
    "AssociationEvent/AssociationEvent-e.jsonld": (
        "2820137e367df426b0eb62660bb1baf8f2f06d5306a0e1568230067b526c4566",
    ),
    "AssociationEvent/AssociationEvent-f.jsonld": (
        "09081753a3f4920ec67295b8432785ab4871e88d75297bb03803a40884474661",
    ),
    "AssociationEvent/AssociationEvent-g.jsonld": (
        "b9350b16fd98c704364d0b37fc39bb7816459c42e46fb1fd1ccd4f2135b9b8d3",
    ),
    "AssociationEvent/AssociationEvent-h.jsonld": (
        "2fff9bed44a912a5905b5ea660b1fe0fd695bde66997304afaa9774fc2a5a877",
    ),
    "EPCISQueryDocument.jsonld": (
        "df6523665bc5e5803d6c7b84f5a04e103694d8220f2abc4f2c74310e89f31bc6",
        "32547b2344d525ea60ab1b899d82a9011fd9c39bb26ed936e113066146f49941",
    ),
    "Example-TransactionEvents-2020_07_03y.jsonld": (
        "61500fbc3a2c8f036b8bff19ac0b1737b6b258a239f2606fdb12364b7f427435",
        "1a1768e8b57c8f890a99cff894292227fd880aed78f51400d49bff73b12e0964",
    ),
    "Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld": (
        "81069d07aa478d073f4443c023c18042d6e6e982a810ad89894df03fc0f2e966",
    ),
    "Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld": (
        "df6523665bc5e5803d6c7b84f5a04e103694d8220f2abc4f2c74310e89f31bc6",
        "32547b2344d525ea60ab1b899d82a9011fd9c39bb26ed936e113066146f49941",
    ),
    "Example_9.6.1-ObjectEvent.jsonld": (
        "df6523665bc5e5803d6c7b84f5a04e103694d8220f2abc4f2c74310e89f31bc6",
        "32547b2344d525ea60ab1b899d82a9011fd9c39bb26ed936e113066146f49941",
    ),
    "Example_9.6.1-with-comment.jsonld": (
        "df6523665bc5e5803d6c7b84f5a04e103694d8220f2abc4f2c74310e89f31bc6",
        "32547b2344d525ea60ab1b899d82a9011fd9c39bb26ed936e113066146f49941",
    ),
    "Example_9.6.2-ObjectEvent.jsonld": (
        "762a84511e7a8db0b379ecae3e90345fffe84c3c77bbd43c612269bb804a0928",
    ),
    "Example_9.6.3-AggregationEvent.jsonld": (
        "96b6bf98742a60dbfaa2dda08b63435ce67079d224ea27d63e55e62a7843b878",
    ),
    "Example_9.6.4-TransformationEvent.jsonld": (
        "c794227acf3a4d9be9ba1f8340425782f88a0f4e3f35b533a8bf8f1bc206a379",
    ),
    "PersistentDisposition-example.jsonld": (
        "e5fb3b1cdffa602d57398586bb2c520e9eec9334cb8bb6a49f358d3268fcccb3",
        "5260a612a93b10d585ee1c3b02dd1288b8b159f6d25b6de09e450001b874db9a",
    ),
    "WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld": (
        "d3b08a0fc053bb7dc4065fe2664c18886e2f729abd1221520beffb55831da327",
        "4edc29e1e6848aa19422f37f8dae23bf0865378b0953d83aa1062e6c86131ea6",
    ),
    "WithDigitalLinkID/Example_9.6.2-ObjectEventWithDigitalLink.jsonld": (
        "8d72ace9a502f1277e33749fa4aad734224717ba9565312e0948d3251074808c",
    ),
    "WithDigitalLinkID/Example_9.6.3-AggregationEventWithDigitalLink.jsonld": (
        "c6d04a3b2879ee8b89a595053f328830b802fb76f7d148909c574174561465e4",
    ),
    "WithDigitalLinkID/Example_9.6.4-TransformationEventWithDigitalLink.jsonld": (
        "c794227acf3a4d9be9ba1f8340425782f88a0f4e3f35b533a8bf8f1bc206a379",
    ),
    "WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld": (
        "db50dd61ad0309f0f727d7b1f9335728d77c07b2ba13f82fe58a87f42e943a2a",
        "e74d8397fb06e337c3a9ffdf00effff305de5fc8ec6f0fbae28b036f4320cfda",
    ),
    "WithErrorDeclaration/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld": (
        "df6523665bc5e5803d6c7b84f5a04e103694d8220f2abc4f2c74310e89f31bc6",
        "32547b2344d525ea60ab1b899d82a9011fd9c39bb26ed936e113066146f49941",
    ),
    "WithFullCombinationOfFields/aggregation_event_all_possible_fields.jsonld": (
        "46a08c604beb16af0280ea28050fff31bdbf4f81efc7c12e6d94e97d7af1ced3",
    ),
    "WithFullCombinationOfFields/association_event_all_possible_fields.jsonld": (
        "01a7050ea26548d9464ee68f44f218ef1ebe4a0eb85d76a9cee33f5e73b6c06f",
    ),
    "WithFullCombinationOfFields/object_event_all_possible_fields.jsonld": (
        "9811bfb2672e9c3a0f6151be339d22b60db375c8b23d2740f6137cc6539f0639",
    ),
    "WithFullCombinationOfFields/transaction_event_all_possible_fields.jsonld": (
        "4a85d64a96409f0c57baed258666b26d83e6690d204a8aaed4c7e2624d8b0c81",
    ),
    "WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld": (
        "529cc54b8cf9d8664208cc6c77473274d8c2dd473469920a7d09a814623f52cc",
    ),
    "WithSensorData/SensorDataExample1.jsonld": (
        "c8cb05c0d18bcd43ee417ef1132aa2e5e23e6b272bc5b7f6bdaf74714fa0e909",
    ),
    "WithSensorData/SensorDataExample10.jsonld": (
        "3fe71b3243e87fa6e80d1239d4bbf57afcca25b28f3dc8dbea038b29f745abc2",
    ),
    "WithSensorData/SensorDataExample11.jsonld": (
        "d4813a7951c21f479512db39feb777f1bc3e4de65d0fec7fcf09fd5254c19e29",
    ),
    "WithSensorData/SensorDataExample12.jsonld": (
        "760a5014516ac5a49bf2957f2b2268da154676a7d2feaa57392d682f3f61fc52",
    ),
    "WithSensorData/SensorDataExample13.jsonld": (
        "f00df01c320e9b7076d0fdc5f48c57fe04054cf5d3891c5dd3989f9a3cd8cc7e",
    ),
    "WithSensorData/SensorDataExample14.jsonld": (
        "0ec2b66f65ac9d1df16b081ff23a417eae2947455922d39ae03b890ff173ea47",
    ),
    "WithSensorData/SensorDataExample15.jsonld": (
        "556060a9cef0db288b7073f6f53554dfcc4835bbcf1c33b9bd9bb1985bfe51ab",
    ),
    "WithSensorData/SensorDataExample16.jsonld": (
        "e1c13af8c5c9ca254ba231326fa81b27066cd55b190a64ec6450481baa2e3be6",
    ),
    "WithSensorData/SensorDataExample17.jsonld": (
        "971c76a583e1e7449626e8536cbc636d39d44245d56d3b993aa1b220f065f11e",
    ),
    "WithSensorData/SensorDataExample1b.jsonld": (
        "9e4942c1be298d1bbd6b08b874dc38daaa9c01d4c388249519ca1b7b4e983135",
    ),
    "WithSensorData/SensorDataExample2.jsonld": (
        "529e69324cb534e2055a6ad4c863e7fc39e343b6ee10d68cec18b7d64886c2b3",
    ),
    "WithSensorData/SensorDataExample3.jsonld": (
        "ef96e98aa74dca9208b634ebcf9eecd873a4cc115ab9eee129ad0ae008f83f6d",
    ),
    "WithSensorData/SensorDataExample4.jsonld": (
        "36dfd87050b24ff7be7c96683a7064a26bdd8c4d0aa572938785bfe886a48e5c",
    ),
    "WithSensorData/SensorDataExample5.jsonld": (
        "1aaea406e281e615bc281a601b89800ba2ccb57c24fc61873e83bb8d9ef8c091",
    ),
    "WithSensorData/SensorDataExample6.jsonld": (
        "fc16c86411389f2134cfc65581f17c6a04738417444d7b43bd67f75486e68859",
    ),
    "WithSensorData/SensorDataExample7.jsonld": (
        "46d01d949a4e2834e729d70545c64f239efb267778e381c39f2a56724dd3c969",
    ),
    "WithSensorData/SensorDataExample8.jsonld": (
        "82a2be0da29c9780a90d9013c18d9915d290b90647f36f2eca80026a619a6e46",
    ),
    "WithSensorData/SensorDataExample9.jsonld": (
        "ea519a9e693560791c01e1547fe256e4cef89036914c994d6285f15709ae0160",
    ),
}

HASHED_WITHOUT_REFERENCE = {
    "Example-TransactionEvents-2020_07_03y.jsonld":
        "its @context defines terms as objects and a bizTransaction has no type: the"
        " reference implementation fails on both",
    "WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld":
        "rebinds the protected cbvmda prefix, which the reference's JSON-LD expansion refuses"
        " (with an unprotected context it gives this hash)",
    "WithSensorData/SensorDataExample10.jsonld":
        "rebinds gs1 to https://gs1.org/voc/, which the reference's JSON-LD expansion refuses;"
        " we hash sensor types as https://ref.gs1.org/voc/... as its CBV 2.0 vectors do",
    "WithSensorData/SensorDataExample13.jsonld":
        "rebinds gs1 to https://gs1.org/voc/ (as SensorDataExample10)",
}

# GS1's example eventIDs are illustrative, not computed: none of the 45 "ni:" eventIDs is
# reproduced by any release of the reference implementation (PyPI 1.5.0 to 1.9.3) nor by
# its current CBV 2.0 profile, and different events carry the same eventID (00e1e6...
# appears on four events). The events hash to OFFICIAL_HASHES instead.
ILLUSTRATIVE_EVENT_ID = "illustrative eventID in GS1's example, not the event's hash"

KNOWN_MISMATCHES: dict[tuple[str, int], str] = {
    ("AssociationEvent/AssociationEvent-a.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("AssociationEvent/AssociationEvent-b.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("AssociationEvent/AssociationEvent-c.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("AssociationEvent/AssociationEvent-d.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("AssociationEvent/AssociationEvent-e.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("AssociationEvent/AssociationEvent-f.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("AssociationEvent/AssociationEvent-g.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("EPCISQueryDocument.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("EPCISQueryDocument.jsonld", 1): ILLUSTRATIVE_EVENT_ID,
    ("Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld",
     0): ILLUSTRATIVE_EVENT_ID,
    ("Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld", 1): ILLUSTRATIVE_EVENT_ID,
    ("Example_9.6.1-ObjectEvent.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("Example_9.6.1-ObjectEvent.jsonld", 1): ILLUSTRATIVE_EVENT_ID,
    ("Example_9.6.1-with-comment.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("Example_9.6.1-with-comment.jsonld", 1): ILLUSTRATIVE_EVENT_ID,
    ("Example_9.6.2-ObjectEvent.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("Example_9.6.3-AggregationEvent.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("Example_9.6.4-TransformationEvent.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("PersistentDisposition-example.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("PersistentDisposition-example.jsonld", 1): ILLUSTRATIVE_EVENT_ID,
    ("WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld", 1): ILLUSTRATIVE_EVENT_ID,
    ("WithDigitalLinkID/Example_9.6.2-ObjectEventWithDigitalLink.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithDigitalLinkID/Example_9.6.3-AggregationEventWithDigitalLink.jsonld",
     0): ILLUSTRATIVE_EVENT_ID,
    ("WithDigitalLinkID/Example_9.6.4-TransformationEventWithDigitalLink.jsonld",
     0): ILLUSTRATIVE_EVENT_ID,
    ("WithErrorDeclaration/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld",
     0): ILLUSTRATIVE_EVENT_ID,
    ("WithErrorDeclaration/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld",
     1): ILLUSTRATIVE_EVENT_ID,
    ("WithFullCombinationOfFields/aggregation_event_all_possible_fields.jsonld",
     0): ILLUSTRATIVE_EVENT_ID,
    ("WithFullCombinationOfFields/association_event_all_possible_fields.jsonld",
     0): ILLUSTRATIVE_EVENT_ID,
    ("WithFullCombinationOfFields/transaction_event_all_possible_fields.jsonld",
     0): ILLUSTRATIVE_EVENT_ID,
    ("WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld",
     0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample1.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample10.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample11.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample13.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample17.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample1b.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample2.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample3.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample4.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample5.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample6.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample7.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
    ("WithSensorData/SensorDataExample8.jsonld", 0): ILLUSTRATIVE_EVENT_ID,
}


def test_official_hashes_cover_every_example_event() -> None:
    assert sorted(OFFICIAL_HASHES) == OFFICIAL
    for name, hashes in OFFICIAL_HASHES.items():
        assert len(hashes) == len(document_events(load("JSON", name))), name
    assert set(HASHED_WITHOUT_REFERENCE) <= set(OFFICIAL)


@pytest.mark.parametrize("name", OFFICIAL)
def test_official_example_events_normalise_and_hash(name: str) -> None:
    doc = load("JSON", name)
    for index, event in enumerate(document_events(doc)):
        normalised = normalise_event(event, doc.get("@context"))
        assert normalised.hash == ni(OFFICIAL_HASHES[name][index]), index
        # What we store and serve back hashes the same, on its own.
        assert event_hash(normalised.document) == normalised.hash, index
        event_id = event.get("eventID", "")
        if event_id.startswith("ni:///sha-256;"):
            if (name, index) in KNOWN_MISMATCHES:
                assert normalised.hash != event_id, f"{name}[{index}] now matches: drop it"
            else:
                assert normalised.hash == event_id, index


def test_known_mismatches_name_events_with_a_hash_event_id() -> None:
    for name, index in KNOWN_MISMATCHES:
        event = document_events(load("JSON", name))[index]
        assert event["eventID"].startswith("ni:///sha-256;"), (name, index)


# --- JSON-simple-context: the same examples with a simplified @context ----------------
#
# Pinned once from the validator: 43 of the 46 are refused. With the schema's "uri" and
# "date-time" formats checked, the blank-node document id "_:document1" is not a URI;
# plain jsonschema, which checks no formats, would refuse only 4 of them.

BLANK_NODE_ID = (
    "id: '_:document1' is not a URI; identifiers need a scheme, e.g. 'urn:epc:id:sgtin:...' "
    "or 'https://id.gs1.org/01/...'"
)
SIMPLE_CONTEXT_VALID = [
    "WithSensorData/SensorDataExample11.jsonld",
    "WithSensorData/SensorDataExample16.jsonld",
    "WithSensorData/SensorDataExample9.jsonld",
]
SIMPLE_CONTEXT_REFUSED = {
    "AssociationEvent/AssociationEvent-a.jsonld": BLANK_NODE_ID,
    "AssociationEvent/AssociationEvent-b.jsonld": BLANK_NODE_ID,
    "AssociationEvent/AssociationEvent-c.jsonld": BLANK_NODE_ID,
    "AssociationEvent/AssociationEvent-d.jsonld": BLANK_NODE_ID,
    "AssociationEvent/AssociationEvent-e.jsonld": BLANK_NODE_ID,
    "AssociationEvent/AssociationEvent-f.jsonld": BLANK_NODE_ID,
    "AssociationEvent/AssociationEvent-g.jsonld": BLANK_NODE_ID,
    "AssociationEvent/AssociationEvent-h.jsonld": BLANK_NODE_ID,
    "Example-TransactionEvents-2020_07_03y.jsonld": (
        "epcisBody.eventList[1].sourceList: expected an array (a JSON list), got an "
        "object {\"type\": \"location\", \"source\": \"urn:epc:id:sgln:952005385.481.0\"}"
    ),
    "Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld": BLANK_NODE_ID,
    "Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld": BLANK_NODE_ID,
    "Example_9.6.1-ObjectEvent.jsonld": BLANK_NODE_ID,
    "Example_9.6.1-with-comment.jsonld": BLANK_NODE_ID,
    "Example_9.6.2-ObjectEvent.jsonld": BLANK_NODE_ID,
    "Example_9.6.3-AggregationEvent.jsonld": BLANK_NODE_ID,
    "Example_9.6.4-TransformationEvent.jsonld": BLANK_NODE_ID,
    "PersistentDisposition-example.jsonld": BLANK_NODE_ID,
    "WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld": BLANK_NODE_ID,
    "WithDigitalLinkID/Example_9.6.2-ObjectEventWithDigitalLink.jsonld": BLANK_NODE_ID,
    "WithDigitalLinkID/Example_9.6.3-AggregationEventWithDigitalLink.jsonld": BLANK_NODE_ID,
    "WithDigitalLinkID/Example_9.6.4-TransformationEventWithDigitalLink.jsonld": BLANK_NODE_ID,
    "WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld": BLANK_NODE_ID,
    "WithErrorDeclaration/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld": BLANK_NODE_ID,
    "WithFullCombinationOfFields/aggregation_event_all_possible_fields.jsonld": (
        "epcisBody.eventList[0]: field 'persistentDisposition' is not allowed here (not a"
        " field of this object)"
    ),
    "WithFullCombinationOfFields/association_event_all_possible_fields.jsonld": (
        "epcisBody.eventList[0]: field 'persistentDisposition' is not allowed here (not a"
        " field of this object)"
    ),
    "WithFullCombinationOfFields/object_event_all_possible_fields.jsonld": (
        "epcisBody.eventList[0]: ilmd is only allowed when action is 'ADD' (action is "
        "'OBSERVE')"
    ),
    "WithFullCombinationOfFields/transaction_event_all_possible_fields.jsonld": (
        "epcisBody.eventList[0]: field 'persistentDisposition' is not allowed here (not a"
        " field of this object)"
    ),
    "WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld": (
        "epcisBody.eventList[0].sensorElementList[0]: field 'type' is not allowed here "
        "(not a field of this object)"
    ),
    "WithSensorData/SensorDataExample1.jsonld": BLANK_NODE_ID,
    "WithSensorData/SensorDataExample10.jsonld": BLANK_NODE_ID,
    "WithSensorData/SensorDataExample12.jsonld": (
        "document: required field 'schemaVersion' is missing"
    ),
    "WithSensorData/SensorDataExample13.jsonld": BLANK_NODE_ID,
    "WithSensorData/SensorDataExample14.jsonld": (
        "epcisBody.eventList[0].sensorElementList[0]: field 'type' is not allowed here "
        "(not a field of this object)"
    ),
    "WithSensorData/SensorDataExample15.jsonld": (
        "epcisBody.eventList[0].sensorElementList[0]: field 'type' is not allowed here "
        "(not a field of this object)"
    ),
    "WithSensorData/SensorDataExample17.jsonld": (
        "schemaVersion: expected a string, got a number 2.0"
    ),
    "WithSensorData/SensorDataExample1b.jsonld": BLANK_NODE_ID,
    "WithSensorData/SensorDataExample2.jsonld": BLANK_NODE_ID,
    "WithSensorData/SensorDataExample3.jsonld": BLANK_NODE_ID,
    "WithSensorData/SensorDataExample4.jsonld": BLANK_NODE_ID,
    "WithSensorData/SensorDataExample5.jsonld": BLANK_NODE_ID,
    "WithSensorData/SensorDataExample6.jsonld": BLANK_NODE_ID,
    "WithSensorData/SensorDataExample7.jsonld": BLANK_NODE_ID,
    "WithSensorData/SensorDataExample8.jsonld": BLANK_NODE_ID,
}


def test_simple_context_outcomes_cover_every_file() -> None:
    assert sorted([*SIMPLE_CONTEXT_VALID, *SIMPLE_CONTEXT_REFUSED]) == SIMPLE_CONTEXT


@pytest.mark.parametrize("name", SIMPLE_CONTEXT_VALID)
def test_simple_context_document_that_fits_the_schema_passes(name: str) -> None:
    validate_document(load("JSON-simple-context", name))


@pytest.mark.parametrize("name", sorted(SIMPLE_CONTEXT_REFUSED))
def test_simple_context_document_is_refused_naming_the_path(name: str) -> None:
    error = schema_error(validate_document, load("JSON-simple-context", name))
    assert error.message == SIMPLE_CONTEXT_REFUSED[name]
    assert error.details[0]["path"] in error.message


# --- Published CBV 2.0 event-hash vectors (reference implementation) -------------------

# README, worked example 1: user extensions at event level. The pre-hash string and hash
# are the published ones.
README_EXAMPLE_1 = {
    "type": "ObjectEvent",
    "eventTime": "2020-03-04T11:00:30.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "recordTime": "2020-03-04T11:00:30.999+01:00",
    "epcList": ["urn:epc:id:sscc:4012345.0000000333", "urn:epc:id:sscc:4012345.0000000111",
                "urn:epc:id:sscc:4012345.0000000222"],
    "action": "OBSERVE",
    "bizStep": "departing",
    "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.987"},
    "example:myField1": {"example:mySubField1": "2", "example:mySubField2": "5"},
    "example:myField2": "0",
    "example:myField3": {"example:mySubField3": ["3", "1"]},
}
README_CONTEXT = [CONTEXT_2_0, {"example": "https://ns.example.com/epcis/"}]
README_PREHASH_1 = (
    "eventType=ObjectEventeventTime=2020-03-04T10:00:30.000ZeventTimeZoneOffset=+01:00"
    "epcListepc=https://id.gs1.org/00/040123450000001112epc=https://id.gs1.org/00/"
    "040123450000002225epc=https://id.gs1.org/00/040123450000003338action=OBSERVE"
    "bizStep=https://ref.gs1.org/cbv/BizStep-departingreadPointid=https://id.gs1.org/414/"
    "4012345000115/254/987{https://ns.example.com/epcis/}myField1"
    "{https://ns.example.com/epcis/}mySubField1=2{https://ns.example.com/epcis/}mySubField2=5"
    "{https://ns.example.com/epcis/}myField2=0{https://ns.example.com/epcis/}myField3"
    "{https://ns.example.com/epcis/}mySubField3=1{https://ns.example.com/epcis/}mySubField3=3"
)

# README, worked example 2: sensor data (CBV 2.0 writes no "sensorElementList").
README_EXAMPLE_2 = {
    "type": "ObjectEvent",
    "eventTime": "2020-04-01T15:00:00+01:00",
    "eventTimeZoneOffset": "+01:00",
    "epcList": ["urn:epc:id:sgtin:4012345.011111.9876"],
    "action": "OBSERVE",
    "bizStep": "inspecting",
    "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"},
    "sensorElementList": [{
        "sensorMetadata": {"deviceID": "urn:epc:id:giai:4000001.111",
                           "deviceMetadata": "https://id.gs1.org/8004/4000001111"},
        "sensorReport": [
            {"type": "Temperature", "value": 26, "sDev": 0.1, "uom": "CEL"},
            {"type": "AbsoluteHumidity", "value": 12.1, "uom": "A93"},
            {"type": "Dimensionless",
             "microorganism": "https://www.ncbi.nlm.nih.gov/taxonomy/1126011",
             "value": 0.05, "uom": "C35"},
            {"type": "Dimensionless",
             "chemicalSubstance": "https://identifiers.org/inchikey:CZMRCDWAGMRECN-UGDNZRGBSA-N",
             "value": 0.18, "uom": "C35"},
        ],
    }],
}
README_PREHASH_2 = (
    "eventType=ObjectEventeventTime=2020-04-01T14:00:00.000ZeventTimeZoneOffset=+01:00"
    "epcListepc=https://id.gs1.org/01/04012345111118/21/9876action=OBSERVE"
    "bizStep=https://ref.gs1.org/cbv/BizStep-inspectingreadPointid=https://id.gs1.org/414/"
    "4012345000054sensorElementsensorMetadatadeviceID=https://id.gs1.org/8004/4000001111"
    "deviceMetadata=https://id.gs1.org/8004/4000001111sensorReporttype=https://ref.gs1.org/"
    "voc/AbsoluteHumidityvalue=12.1uom=A93sensorReporttype=https://ref.gs1.org/voc/"
    "DimensionlesschemicalSubstance=https://identifiers.org/inchikey:CZMRCDWAGMRECN-UGDNZRGBSA-N"
    "value=0.18uom=C35sensorReporttype=https://ref.gs1.org/voc/Dimensionlessmicroorganism="
    "https://www.ncbi.nlm.nih.gov/taxonomy/1126011value=0.05uom=C35sensorReporttype="
    "https://ref.gs1.org/voc/Temperaturevalue=26sDev=0.1uom=CEL"
)

# README, worked example 3: a user extension inside readPoint (CBV 2.0 moves it to a
# trailing "readPoint" block).
README_EXAMPLE_3 = {
    "type": "ObjectEvent",
    "eventTime": "2020-03-04T11:00:30+01:00",
    "eventTimeZoneOffset": "+01:00",
    "epcList": ["urn:epc:id:sgtin:0614141.011111.987"],
    "action": "OBSERVE",
    "bizStep": "departing",
    "disposition": "in_transit",
    "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.0", "example:myField1": "AB-12"},
    "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epc:id:gdti:4012345.11111.123"}],
    "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
    "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00000"}],
    "example:userExt": "CD-34",
}
README_PREHASH_3 = (
    "eventType=ObjectEventeventTime=2020-03-04T10:00:30.000ZeventTimeZoneOffset=+01:00"
    "epcListepc=https://id.gs1.org/01/00614141111114/21/987action=OBSERVE"
    "bizStep=https://ref.gs1.org/cbv/BizStep-departingdisposition=https://ref.gs1.org/cbv/"
    "Disp-in_transitreadPointid=https://id.gs1.org/414/4012345000115bizTransactionList"
    "type=https://ref.gs1.org/cbv/BTT-pobizTransaction=https://id.gs1.org/253/4012345111118123"
    "sourceListtype=https://ref.gs1.org/cbv/SDT-owning_partysource=https://id.gs1.org/417/"
    "4012345000009destinationListtype=https://ref.gs1.org/cbv/SDT-owning_partydestination="
    "https://id.gs1.org/417/0614141000005readPoint{https://ns.example.com/epcis/}myField1=AB-12"
    "{https://ns.example.com/epcis/}userExt=CD-34"
)


@pytest.mark.parametrize(
    ("event", "prehash", "digest"),
    [
        (README_EXAMPLE_1, README_PREHASH_1,
         "6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7"),
        (README_EXAMPLE_2, README_PREHASH_2,
         "271565c346ae2fb28c4583c4dca4ab4772d465eb4e0b6e548d77d8b49377d95c"),
        (README_EXAMPLE_3, README_PREHASH_3,
         "3ae14c02c4bdc220cc31942cf804f6845eb8dec96ba6483391c92a9b165f9329"),
    ],
    ids=["extensions", "sensor-data", "readPoint-extension"],
)
def test_reference_readme_example_hashes_as_published(
        event: dict[str, Any], prehash: str, digest: str) -> None:
    assert prehash_string(event, README_CONTEXT) == prehash
    assert event_hash(event, README_CONTEXT) == ni(digest)


# The ext1/ext2/ext3 extensions of the reference's *_all_possible_fields documents, which
# repeat them at event level, in ILMD and in sensorElement.
_EXT: dict[str, Any] = {
    "ext1:float": "20",
    "ext1:time": "2013-06-08T14:58:56.591Z",
    "ext1:array": [
        "12", "22", "2013-06-08T14:58:56.591Z", "true", "stringInArray",
        {"ext1:object": {"ext1:object": {
            "ext2:array": ["14", "23.0", "stringInArrayInObjectInArray"],
            "ext2:object": {"ext2:object": {"ext3:string": "stringInObjectInObjectInArray"}},
            "ext2:int": "13",
            "ext2:string": "stringInObjectInArray"}}},
    ],
    "ext1:boolean": "true",
    "ext1:object": {
        "ext2:array": ["11", "21", "stringInArrayInObject"],
        "ext2:object": {"ext2:object": {"ext3:string": "stringInObjectInObject"}},
        "ext2:string": "stringInObject",
    },
    "ext1:default": "stringAsDefaultValue",
    "ext1:int": "10",
    "ext1:string": "string",
}
_ALL_FIELDS_CONTEXT = ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
                       {"ext3": "http://example.com/ext3/"}, {"ext2": "http://example.com/ext2/"},
                       {"ext1": "http://example.com/ext1/"}]
_ALL_FIELDS_COMMON: dict[str, Any] = {
    "certificationInfo": "https://accreditation-council.example.org/certificate/ABC12345",
    "bizTransactionList": [
        {"type": "po", "bizTransaction": "urn:epc:id:gdti:0614141.00001.1618034"},
        {"type": "pedigree", "bizTransaction": "urn:epc:id:gsrn:0614141.0000010253"},
    ],
    "sourceList": [
        {"type": "location", "source": "urn:epc:id:sgln:4012345.00225.0"},
        {"type": "possessing_party", "source": "urn:epc:id:pgln:4012345.00225"},
        {"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00225"},
    ],
    "destinationList": [
        {"type": "location", "destination": "urn:epc:id:sgln:0614141.00777.0"},
        {"type": "possessing_party", "destination": "urn:epc:id:pgln:0614141.00777"},
        {"type": "owning_party", "destination": "urn:epc:id:pgln:0614141.00777"},
    ],
    "sensorElementList": [{
        "sensorMetadata": {
            "time": "2019-04-02T13:05:00.000Z", "deviceID": "urn:epc:id:giai:4000001.111",
            "deviceMetadata": "https://id.gs1.org/8004/4000001111",
            "rawData": "https://example.org/8004/401234599999",
            "startTime": "2019-04-02T12:55:01.000Z", "endTime": "2019-04-02T13:55:00.000Z",
            "dataProcessingMethod": "https://example.com/253/4012345000054987",
            "bizRules": "https://example.com/253/4012345000054987",
            "ext1:someFurtherMetadata": "someText",
        },
        "sensorReport": [{
            "type": "Temperature", "deviceID": "urn:epc:id:giai:4000001.111",
            "rawData": "https://example.org/8004/401234599999",
            "dataProcessingMethod": "https://example.com/253/4012345000054987",
            "time": "2019-07-19T13:00:00.000Z",
            "microorganism": "https://www.ncbi.nlm.nih.gov/taxonomy/1126011",
            "chemicalSubstance": "https://identifiers.org/inchikey:CZMRCDWAGMRECN-UGDNZRGBSA-N",
            "value": 26, "component": "example:x", "stringValue": "SomeString",
            "booleanValue": True, "hexBinaryValue": "f0f0f0",
            "uriValue": "https://id.gs1.org/8004/4000001111", "minValue": 26, "maxValue": 26.2,
            "meanValue": 13.2, "percRank": 50, "percValue": 12.7, "uom": "CEL", "sDev": 0.1,
            "ext1:someFurtherReportData": "someText",
            "deviceMetadata": "https://id.gs1.org/8004/4000001111",
        }],
        **_EXT,
    }],
    "persistentDisposition": {"unset": ["completeness_inferred"],
                              "set": ["completeness_verified"]},
    "ilmd": {**_EXT, "cbvmda:countryOfExport": "KR", "cbvmda:grossWeight": "3.5",
             "cbvmda:netWeight": "3.5", "cbvmda:countryOfOrigin": "GB",
             "cbvmda:drainedWeight": "3.5", "cbvmda:lotNumber": "ABC123"},
    **_EXT,
}
_CORRECTED = {"declarationTime": "2006-11-07T14:00:00.000+01:00", "reason": "incorrect_data",
              "correctiveEventIDs": [ni("fec9667280c4710a3fa9558b7bc8ddc2ced0dc442d87f82becae24bb6"
                                        "ca6a46f")]}
OBJECT_EVENT_ALL_FIELDS = {
    "type": "ObjectEvent",
    "eventTime": "2005-04-05T02:33:31.116Z",
    "eventTimeZoneOffset": "-06:00",
    "eventID": "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8",
    "errorDeclaration": _CORRECTED,
    "epcList": ["urn:epc:id:sgtin:0614141.107346.2018"],
    "action": "ADD",
    "bizStep": "receiving",
    "disposition": "in_progress",
    "readPoint": {"id": "urn:epc:id:sgln:0012345.11111.400"},
    "bizLocation": {"id": "urn:epc:id:sgln:0012345.11111.0"},
    "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 200,
                      "uom": "KGM"}],
    **_ALL_FIELDS_COMMON,
}
_QUANTITIES = [
    {"epcClass": "urn:epc:class:lgtin:4012345.011111.4444", "quantity": 10, "uom": "KGM"},
    {"epcClass": "urn:epc:class:lgtin:0614141.077777.987", "quantity": 30},
    {"epcClass": "urn:epc:idpat:sgtin:4012345.066666.*", "quantity": 220},
]
TRANSFORMATION_EVENT_ALL_FIELDS = {
    "type": "TransformationEvent",
    "eventTime": "2013-10-31T14:58:56.591Z",
    "eventTimeZoneOffset": "+02:00",
    "eventID": ni("0bf4271d60ed65fb687e95f7216c4c0a4c1181c070f657d41385b6fbd93e97ef"),
    "errorDeclaration": dict(_CORRECTED, declarationTime="2013-11-07T14:00:00.000+01:00"),
    "inputEPCList": ["urn:epc:id:sgtin:4012345.011122.25",
                     "urn:epc:id:sgtin:4000001.065432.99886655"],
    "inputQuantityList": _QUANTITIES,
    "outputEPCList": ["urn:epc:id:sgtin:4012345.077889.25", "urn:epc:id:sgtin:4012345.077889.26",
                      "urn:epc:id:sgtin:4012345.077889.27", "urn:epc:id:sgtin:4012345.077889.28"],
    "outputQuantityList": _QUANTITIES,
    "transformationID": "urn:epc:id:gdti:0614141.12345.400",
    "bizStep": "commissioning",
    "disposition": "in_progress",
    "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
    "bizLocation": {"id": "urn:epc:id:sgln:0614141.00888.0"},
    **_ALL_FIELDS_COMMON,
}

_IN_OUT = {
    "inputEPCList": ["urn:epc:id:sgtin:4012345.011122.25",
                     "urn:epc:id:sgtin:4000001.065432.99886655"],
    "outputEPCList": ["urn:epc:id:sgtin:4012345.077889.25", "urn:epc:id:sgtin:4012345.077889.26",
                      "urn:epc:id:sgtin:4012345.077889.27", "urn:epc:id:sgtin:4012345.077889.28"],
}
_AT_0200 = {"eventTime": "2019-10-21T14:58:56.591+02:00", "eventTimeZoneOffset": "+02:00"}
VARIOUS_EVENT_TYPES: list[dict[str, Any]] = [
    {"type": "ObjectEvent", "eventTime": "2019-10-21T11:00:30.000+01:00",
     "eventTimeZoneOffset": "+01:00", "epcList": ["urn:epc:id:sscc:5200001.0111111146"],
     "action": "OBSERVE", "bizStep": "departing",
     "readPoint": {"id": "urn:epc:id:sgln:5200001.99901.0"},
     "bizTransactionList": [
         {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:5200001000008:4711"},
         {"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:5200001000008:RE1099"}],
     "sourceList": [{"type": "possessing_party", "source": "urn:epc:id:pgln:5200001.00000"}],
     "destinationList": [
         {"type": "possessing_party", "destination": "urn:epc:id:pgln:4000001.98765"},
         {"type": "location", "destination": "urn:epc:id:sgln:4012345.00012.0"}]},
    {"type": "ObjectEvent", "eventTime": "2019-10-21T12:00:30.000+01:00",
     "eventTimeZoneOffset": "+01:00", "epcList": ["urn:epc:id:sscc:5200001.0111111146"],
     "action": "OBSERVE", "bizStep": "receiving",
     "readPoint": {"id": "urn:epc:id:sgln:4012345.00012.0"},
     "bizTransactionList": [
         {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:5200001000008:4711"},
         {"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:5200001000008:RE1099"}],
     "sourceList": [{"type": "possessing_party", "source": "urn:epc:id:pgln:4000001.00012"},
                    {"type": "owning_party", "source": "urn:epc:id:pgln:4000001.00012"}],
     "destinationList": [
         {"type": "possessing_party", "destination": "urn:epc:id:pgln:4012345.00000"},
         {"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00000"},
         {"type": "location", "destination": "urn:epc:id:sgln:4012345.00012.0"}]},
    {"type": "ObjectEvent", "eventTime": "2019-10-21T15:45:00.000+01:00",
     "eventTimeZoneOffset": "+01:00", "epcList": ["urn:epc:id:sscc:4012345.0111111111"],
     "action": "OBSERVE", "bizStep": "inspecting", "disposition": "in_progress",
     "readPoint": {"id": "urn:epc:id:sgln:4012345.00024.0"}},
    {"type": "ObjectEvent", "eventTime": "2019-10-21T14:58:56.000+02:00",
     "eventTimeZoneOffset": "+02:00",
     "quantityList": [{"epcClass": "urn:epc:class:lgtin:4054739.099914.20160711",
                       "quantity": 600, "uom": "KGM"}],
     "action": "ADD", "bizStep": "commissioning",
     "readPoint": {"id": "urn:epc:id:sgln:4054739.00001.0"},
     "ilmd": {"cbvmda:bestBeforeDate": "2019-10-21"}},
    {"type": "AggregationEvent", **_AT_0200, "eventTime": "2019-10-21T11:58:56.591+02:00",
     "parentID": "urn:epc:id:sscc:4047023.0111111122",
     "childEPCs": ["urn:epc:id:sgtin:4047023.077551.98", "urn:epc:id:sgtin:4047023.077551.97",
                   "urn:epc:id:sgtin:4047023.077551.107", "urn:epc:id:sgtin:4047023.077551.109"],
     "action": "ADD", "bizStep": "packing",
     "readPoint": {"id": "urn:epc:id:sgln:4047023.00012.0"}},
    {"type": "AggregationEvent", **_AT_0200, "eventTime": "2019-10-21T17:30:56.591+02:00",
     "parentID": "urn:epc:id:sscc:4012344.0111111133",
     "childQuantityList": [
         {"epcClass": "urn:epc:class:lgtin:4054739.099902.P2", "quantity": 12, "uom": "KGM"},
         {"epcClass": "urn:epc:class:lgtin:4054739.012345.lot2", "quantity": 17}],
     "action": "ADD", "bizStep": "packing",
     "readPoint": {"id": "urn:epc:id:sgln:4012345.00025.0"}},
    {"type": "AggregationEvent", **_AT_0200, "eventTime": "2019-10-21T11:58:56.591+02:00",
     "parentID": "urn:epc:id:sscc:4012344.0111111144", "action": "DELETE",
     "bizStep": "unpacking", "readPoint": {"id": "urn:epc:id:sgln:4012345.00025.0"},
     "bizTransactionList": [
         {"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345123456:RE1099"}]},
    {"type": "AggregationEvent", **_AT_0200, "eventTime": "2019-10-21T14:02:56.000+02:00",
     "parentID": "urn:epc:id:sscc:4012344.0998811122",
     "childEPCs": ["urn:epc:id:sscc:4012344.0998811123", "urn:epc:id:sscc:4012344.0998811124",
                   "urn:epc:id:sscc:4012344.0998811125"],
     "action": "DELETE", "bizStep": "unpacking",
     "readPoint": {"id": "urn:epc:id:sgln:4012345.00077.0"},
     "bizTransactionList": [
         {"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345123456:4711"}]},
    {"type": "TransactionEvent", "eventTime": "2019-10-21T00:05:00-06:00",
     "eventTimeZoneOffset": "-06:00",
     "epcList": ["urn:epc:id:sgtin:0614141.107340.1", "urn:epc:id:sgtin:0614141.107340.2"],
     "action": "ADD", "bizStep": "shipping", "readPoint": {"id": "urn:epc:id:sgln:4012345.00000.5"},
     "bizLocation": {"id": "urn:epc:id:sgln:4012345.00000.0"},
     "bizTransactionList": [
         {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345123456:RE100099"}]},
    {"type": "TransactionEvent", **_AT_0200,
     "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.099988.2014-02-10",
                       "quantity": 2030, "uom": "KGM"}],
     "action": "ADD", "bizStep": "holding", "readPoint": {"id": "urn:epc:id:sgln:4012345.00025.0"},
     "bizLocation": {"id": "urn:epc:id:sgln:4012345.00002.0"},
     "bizTransactionList": [
         {"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345123456:RE1099"}]},
    {"type": "TransformationEvent", **_AT_0200, **_IN_OUT,
     "transformationID": "urn:epc:id:gdti:4012345.55555.1234", "bizStep": "commissioning",
     "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
     "ilmd": {"example:bestBeforeDate": "2020-11-10", "example:batch": "4711"}},
    {"type": "TransformationEvent", **_AT_0200, **_IN_OUT, "inputQuantityList": _QUANTITIES,
     "bizStep": "commissioning", "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
     "ilmd": {"example:bestBeforeDate": "2015-11-10", "example:batch": "XYZ"}},
    {"type": "TransformationEvent", **_AT_0200, "inputEPCList": _IN_OUT["inputEPCList"],
     "outputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4054739.099902.P20131121",
                             "quantity": 9520}],
     "transformationID": "urn:epc:id:gdti:4012345.55555.1234",
     "bizStep": "http://epcis.example.com/user/vocab/bizstep/exampling",
     "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"}},
]

# (document, @context, events, published hashes) from tests/examples/documents/ and
# tests/examples/expected/CBV2.0/ of the reference implementation.
PUBLISHED_VECTORS: list[tuple[str, Any, list[dict[str, Any]], list[str]]] = [
    ("TimeStampRoundOff.jsonld", [CONTEXT_2_0], [
        {"type": "ObjectEvent", "eventTime": "2023-02-02T11:04:03.1415Z",
         "eventTimeZoneOffset": "+01:00", "epcList": ["https://id.gs1.de/00/040123451111111110"],
         "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
         "readPoint": {"id": "https://id.gs1.de/414/4012345000115"}},
        {"type": "ObjectEvent", "eventTime": "2023-02-02T11:04:03.1414Z",
         "eventTimeZoneOffset": "+01:00", "epcList": ["https://id.gs1.de/00/040123451111111110"],
         "action": "OBSERVE", "bizStep": "transporting",
         "readPoint": {"id": "geo:50.947573340894124,6.922120147375441"}},
        {"type": "ObjectEvent", "eventTime": "2023-02-12T11:04:03.1415Z",
         "eventTimeZoneOffset": "+01:00",
         "certificationInfo": "https://accreditation-council.example.org/certificate/ABC12345",
         "epcList": ["https://id.gs1.de/01/04012345999990/21/XYZ-1234"], "action": "OBSERVE",
         "bizStep": "receiving", "disposition": "in_progress",
         "readPoint": {"id": "https://id.gs1.de/414/4012345000115"},
         "sensorElementList": [{
             "sensorMetadata": {"time": "2023-02-12T11:04:03.1007Z",
                                "bizRules": "https://id.example.com/253/4012345000054987"},
             "sensorReport": [{
                 "type": "Dimensionless", "exception": "ALARM_CONDITION",
                 "coordinateReferenceSystem": "http://www.opengis.net/def/crs/EPSG/0/27700"}]}]},
    ], ["af7658e711574363633f20b3dadc7bc4c13c6f612cf96d95e03c421c0e58f3c6",
        "0550df44527332c1fe417c5837fe61b9e71eaa93307b88519dac549bf2d4dcf9",
        "bf052637920f56c28bd6bc4ce10bb296203fcddc543f1e293d5a77b07592dcec"]),
    ("ObjectEvent_all_possible_fields.json", _ALL_FIELDS_CONTEXT, [OBJECT_EVENT_ALL_FIELDS],
     ["9811bfb2672e9c3a0f6151be339d22b60db375c8b23d2740f6137cc6539f0639"]),
    ("TransformationEvent_all_possible_fields.json",
     [*_ALL_FIELDS_CONTEXT, {"cbvmda": "http://example.com/cbvmda/"}],
     [TRANSFORMATION_EVENT_ALL_FIELDS],
     ["529cc54b8cf9d8664208cc6c77473274d8c2dd473469920a7d09a814623f52cc"]),
    ("epcisDocWithAllGS1Keys.jsonld", [CONTEXT_2_0], [{
        "type": "ObjectEvent", "eventTime": "2023-03-27T11:30:00.0Z",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [
            "urn:epc:id:sgtin:4012345.012345.12", "urn:epc:id:sscc:4012345.0000000333",
            "https://id.gs1.org/00/040123450000003338", "urn:epc:id:grai:4012345.66666.87",
            "urn:epc:id:giai:4012345.AAbb", "urn:epc:id:gsrn:4012345.9876540000",
            "urn:epc:id:gsrnp:4012345.0000098765", "urn:epc:id:gdti:4012345.55555.98",
            "urn:epc:id:cpi:4012345.ABC.123", "urn:epc:id:sgcn:4012345.99999.44",
            "urn:epc:id:ginc:4012345.333", "urn:epc:id:gsin:4012345.999987654",
            "urn:epc:id:itip:4012345.012345.01.02.999", "urn:epc:id:upui:4012345.012345.AB12"],
        "quantityList": [{"epcClass": c} for c in (
            "urn:epc:class:lgtin:4054739.099914.20160711", "urn:epc:idpat:sgtin:4054739.099914.*",
            "urn:epc:idpat:grai:4012345.66666.*", "urn:epc:idpat:gdti:4012345.55555.*",
            "urn:epc:idpat:sgcn:4012345.99999.*", "urn:epc:idpat:cpi:4012345.ABC.*",
            "urn:epc:idpat:itip:4012345.012345.01.02.*")],
        "action": "OBSERVE", "bizStep": "other",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.987"}}],
     ["40744f32beff53a4bf5bb5956d465cb52de5bbcc9f131409d8efb903b04d9351"]),
    ("epcisDocWithSensorComponent.jsonld", [CONTEXT_2_0, {"cbv": "https://ref.gs1.org/cbv/"}], [{
        "type": "ObjectEvent", "eventTime": "2022-04-07T10:00:00.000Z",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["https://id.example.com/8003/040123450007718765"], "action": "OBSERVE",
        "bizStep": "sensor_reporting",
        "readPoint": {"id": "https://id.example.com/414/4012345000054"},
        "sensorElementList": [{"sensorReport": [
            {"type": "gs1:Angle", "value": 42.698334, "component": "cbv:Comp-latitude",
             "uom": "DD",
             "coordinateReferenceSystem": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
            {"type": "gs1:Angle", "value": 23.319941, "component": "cbv:Comp-longitude",
             "uom": "DD",
             "coordinateReferenceSystem": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}]}]}],
     ["14faa21345eb49fa31e5578aed52a2c291b7dc8ded0d53c88135955173ea91fc"]),
    ("epcisDocWithVariousEventTypes.jsonld",
     [CONTEXT_2_0, {"example": "https://ns.example.com/epcis/"},
      {"cbvmda": "urn:epcglobal:cbv:mda:"}],
     VARIOUS_EVENT_TYPES,
     ["253f0178f96349eedc207505b49044a602129605cf692e3d9f1f36c8bd1dfb0d",
      "ef43acf0e69951f79739f603f714893784648a41bac3f58035b5830a978a2631",
      "c50842eb714406394a77fb7b517fea621c78a61f65549874de7c9e019afe7b6f",
      "5f396ea5cb32fe4d0980cb79f5a5eb9640559e9f5a6cefa5c98a7d6ad554b50b",
      "c941e6486c561c2be83c28dc228c150eaef9a6befb1015e6cc563982fb7414b6",
      "cfda50b7ff23682e989bafc3747ac9b752f405305fcde6618280f6be27344f35",
      "c4bdb87c8d59d6ab569d0cfc6583e9dd4c314cdf71799b0ef8d4febe5239d9c5",
      "a62b9f9e429fcba628ea47d073542ca67e9fbe4688df2c649b8cd13b8519b91f",
      "cf6559dc931963f19ed9cd2fe33c02ef64c8cfd557e5a96b086a87db315b7122",
      "b741a543ea0b2a4c4bdb3441c7dc196b41710e5b2c9870b211fac8d6d4c93427",
      "335da6c3ab1d932824748791beec4d7ed261ed383f6849f6b8718e8fafb4d298",
      "36ab2ba0e3eac03d14a630148c63c31da00b8c4f1c311f501eb459e89a6e6350",
      "756558aa09b2d38c6bcb6e50eab2fcbebd9bde17362a7c4f4686a5d7f5fb013f"]),
    ("epcisDocWithXMLstartTagAndErrorDeclaration.jsonld",
     [CONTEXT_2_0, {"example": "https://ns.example.com/epcis/"}], [{
         "type": "TransformationEvent", "eventTime": "2020-01-14T00:00:00.000+01:00",
         "eventTimeZoneOffset": "+01:00",
         "eventID": "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8",
         "inputEPCList": ["urn:epc:id:sgtin:4012345.011111.987"],
         "outputEPCList": ["urn:epc:id:sgtin:4012345.033333.AGHFG"],
         "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.022222.87545GHGH"}],
         "outputQuantityList": [{"epcClass": "urn:epc:idpat:sgtin:4012345.044444.*",
                                 "quantity": 452.0, "uom": "KGM"}],
         "bizStep": "commissioning", "readPoint": {"id": "urn:epc:id:sgln:4012345.00000.0"},
         "errorDeclaration": {"declarationTime": "2020-01-15T00:00:00.000+01:00",
                              "reason": "incorrect_data", "example:vendorExtension": "Test1"}}],
     ["e16ce101f3d7383612e00b74419b2d88f12baa6a124b0e390252d396687d5cf7"]),
    ("epcisDocWithCustomExtensions.jsonld",
     [CONTEXT_2_0, {"example": "https://ns.example.com/epcis/",
                    "repository-x": "https://repository-x.example.com/"},
      {"rdfs": "http://www.w3.org/2000/01/rdf-schema#"}], [
        {"type": "ObjectEvent", "eventTime": "2019-10-21T14:45:00Z",
         "recordTime": "2023-06-02T07:03:16.073Z", "eventTimeZoneOffset": "+01:00",
         "eventID": ni("b3d481c5590757ab8361a6cb0e924820feb3b61eb568e7d7703f21a96f76f51d"),
         "epcList": ["https://id.gs1.org/00/040123451111111127"], "action": "OBSERVE",
         "bizStep": "inspecting", "disposition": "in_progress",
         "readPoint": {"id": "https://id.gs1.org/414/4012345000245/254/1"},
         "repository-x:hash": ni("b3d481c5590757ab8361a6cb0e924820feb3b61eb568e7d7703f21a96f"
                                 "76f51d"),
         "example:captureID": "cc90bbe4-7f3a-4abd-b150-d4371c72a64f"},
        # Its eventID is its own hash: a vector in the eventID itself.
        {"type": "ObjectEvent", "eventTime": "2019-10-21T14:45:00Z",
         "recordTime": "2023-06-02T07:03:16.073Z", "eventTimeZoneOffset": "+01:00",
         "eventID": ni("b3d481c5590757ab8361a6cb0e924820feb3b61eb568e7d7703f21a96f76f51d"),
         "epcList": ["https://id.gs1.org/00/040123451111111127"], "action": "OBSERVE",
         "bizStep": "inspecting", "disposition": "in_progress",
         "readPoint": {"id": "https://id.gs1.org/414/4012345000245/254/1"}}],
     ["81d42556b26127560fee1c57e0b7775cbd58aa401af0565e58ce043472ab3a5b",
      "b3d481c5590757ab8361a6cb0e924820feb3b61eb568e7d7703f21a96f76f51d"]),
]

# One published vector we do not reproduce, on purpose. The reference's own
# dl_normaliser_test.py wants "!", "(", ")" and "*" in EPC serials %-encoded when they
# become Digital Link URIs (6789%2F%26%25%22%21%3F%28%29), and its code does so; this
# .hashes file was made by a version that left them as they are (6789%2F%26%25%22!%3F()).
# We follow the code and its unit test; the expected value is what that code computes.
EPCLIST_NORMALISATION = {
    "type": "ObjectEvent", "eventTime": "2019-04-02T15:00:00.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "epcList": [
        "urn:epc:id:sgtin:4012345.011111.9876", "urn:epc:id:sgtin:4012345.011111.98%22",
        "urn:epc:id:sgtin:415056789012.0.987654",
        "urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()",
        "urn:epc:id:sscc:4012345.3111111111", "urn:epc:id:sgln:4012345.00005.122",
        "urn:epc:id:sgln:4012345.00005.0", "urn:epc:id:grai:4012345.00022.334455",
        "urn:epc:id:giai:4012345.ABC345", "urn:epc:id:gsrn:4012345.0000006765",
        "urn:epc:id:gsrnp:4012345.0000000007", "urn:epc:id:gdti:4012345.00009.PO-4711",
        "urn:epc:id:gdti:987659999999..9", "urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234",
        "urn:epc:id:ginc:0614141.xyz47%2F11", "urn:epc:id:gsin:4012345.222333444",
        "urn:epc:id:itip:4012345.011111.01.02.987",
        "urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7'SDB",
        "urn:epc:id:pgln:4000001.00000", "urn:epc:id:pgln:999999999999.",
        "urn:epc:class:lgtin:4012345.012345.Lot987", "https://id.gs1.org/gtin/09780345418913",
        "https://example.com/gtin/09780345418913/21/765tz?abc=211121"],
    "action": "OBSERVE", "bizStep": "inspecting",
    "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"},
}
PUBLISHED_VECTOR_DIFFERENCES = {
    "epclist_normalisation.jsonld": (
        "028e1a1a0aef2be946fa8026eec361159033cab9d4da3f94bee1d58070b20198",  # published
        "4689c31cebcad30d58b175246cd49cbd8d02fa15a4099602e8f638127b4fca79",  # reference code
    ),
}


@pytest.mark.parametrize(("context", "events", "digests"),
                         [v[1:] for v in PUBLISHED_VECTORS], ids=[v[0] for v in PUBLISHED_VECTORS])
def test_reference_vector_hashes_as_published(
        context: Any, events: list[dict[str, Any]], digests: list[str]) -> None:
    assert [event_hash(e, context) for e in events] == [ni(d) for d in digests]


def test_published_vector_with_unescaped_serials_is_a_known_difference() -> None:
    published, computed = PUBLISHED_VECTOR_DIFFERENCES["epclist_normalisation.jsonld"]
    assert event_hash(EPCLIST_NORMALISATION, [CONTEXT_2_0]) == ni(computed) != ni(published)
    assert ("epc=https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29"
            in prehash_string(EPCLIST_NORMALISATION))


def test_event_id_that_is_its_own_hash_is_reproduced() -> None:
    event = PUBLISHED_VECTORS[-1][2][1]
    assert event_hash(event) == event["eventID"]


def test_extension_prefixes_need_the_document_context() -> None:
    without = prehash_string(README_EXAMPLE_1)
    assert "example:myField2=0" in without
    assert prehash_string(README_EXAMPLE_1, README_CONTEXT) == README_PREHASH_1


def test_event_level_context_declares_prefixes_too() -> None:
    event = {"@context": [{"example": "https://ns.example.com/epcis/"}], **README_EXAMPLE_1}
    assert event_hash(event) == event_hash(README_EXAMPLE_1, README_CONTEXT)


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("key order", lambda e: dict(reversed(list(e.items())))),
        ("list order", lambda e: dict(e, epcList=list(reversed(e["epcList"])))),
        ("URN words", lambda e: dict(e, bizStep="urn:epcglobal:cbv:bizstep:departing")),
        ("Web URI words", lambda e: dict(e, bizStep="https://ref.gs1.org/cbv/BizStep-departing")),
        ("compact URI words", lambda e: dict(e, bizStep="cbv:BizStep-departing")),
        ("Digital Link EPCs", lambda e: dict(e, epcList=[
            "https://id.gs1.org/00/040123450000001112", "https://example.com/00/040123450000002225",
            "urn:epc:id:sscc:4012345.0000000333"])),
        ("another time zone", lambda e: dict(e, eventTime="2020-03-04T05:00:30-05:00")),
        ("UTC, no fraction", lambda e: dict(e, eventTime="2020-03-04T10:00:30Z")),
        ("not hashed fields", lambda e: dict(
            e, eventID="urn:uuid:1", recordTime="2024-01-01T00:00Z",
            certificationInfo="https://example.com/cert", errorDeclaration={"reason": "x"})),
        ("comments", lambda e: dict(e, comment="checked by Ann", **{"rdfs:comment": "x"})),
    ],
)
def test_same_event_written_differently_hashes_the_same(name: str, change: Any) -> None:
    event = copy.deepcopy(README_EXAMPLE_1)
    assert event_hash(change(event), README_CONTEXT) == ni(
        "6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7")


@pytest.mark.parametrize(
    "change",
    [
        lambda e: dict(e, action="ADD"),
        lambda e: dict(e, eventTime="2020-03-04T11:00:30.001+01:00"),
        lambda e: dict(e, epcList=e["epcList"][:2]),
        lambda e: dict(e, readPoint={"id": "urn:epc:id:sgln:4012345.00011.988"}),
        lambda e: dict(e, **{"example:myField2": "1"}),
        lambda e: {k: v for k, v in e.items() if k != "example:myField2"},
    ],
    ids=["action", "time", "fewer EPCs", "read point", "extension value", "extension gone"],
)
def test_any_change_of_substance_changes_the_hash(change: Any) -> None:
    assert event_hash(change(README_EXAMPLE_1), README_CONTEXT) != ni(
        "6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7")


# --- Identifiers in their canonical GS1 Digital Link form (CBV 2.0 rules 17 and 18) ---
#
# The reference implementation's tests/dl_normaliser_test.py: EPC URIs of every scheme,
# EPC patterns and classes, and Digital Link URIs constrained to id.gs1.org, without query
# string, at the finest level of identification. None means "hashed as written".

@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("urn:epc:id:sgtin:4012345.011111.98%22", "https://id.gs1.org/01/04012345111118/21/98%22"),
        ("urn:epc:id:sgtin:415056789012.0.987654",
         "https://id.gs1.org/01/04150567890128/21/987654"),
        ("urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()",
         "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29"),
        ("urn:epc:id:sscc:4012345.3111111111", "https://id.gs1.org/00/340123451111111111"),
        ("urn:epc:id:sgln:4012345.00005.122", "https://id.gs1.org/414/4012345000054/254/122"),
        ("urn:epc:id:sgln:4012345.00005.0", "https://id.gs1.org/414/4012345000054"),
        ("urn:epc:id:grai:4012345.00022.334455", "https://id.gs1.org/8003/04012345000221334455"),
        ("urn:epc:id:giai:4012345.ABC345", "https://id.gs1.org/8004/4012345ABC345"),
        ("urn:epc:id:gsrn:4012345.0000006765", "https://id.gs1.org/8018/401234500000067657"),
        ("urn:epc:id:gsrnp:4012345.0000000007", "https://id.gs1.org/8017/401234500000000074"),
        ("urn:epc:id:gdti:4012345.00009.PO-4711", "https://id.gs1.org/253/4012345000092PO-4711"),
        ("urn:epc:id:gdti:987659999999..9", "https://id.gs1.org/253/98765999999929"),
        ("urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234",
         "https://id.gs1.org/8010/061414111111111111111-A%23%2F/8011/1234"),
        ("urn:epc:id:ginc:0614141.xyz47%2F11", "https://id.gs1.org/401/0614141xyz47%2F11"),
        ("urn:epc:id:gsin:4012345.222333444", "https://id.gs1.org/402/40123452223334442"),
        ("urn:epc:id:itip:4012345.011111.01.02.987",
         "https://id.gs1.org/8006/040123451111180102/21/987"),
        ("urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7SDB",
         "https://id.gs1.org/01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7SDB"),
        ("urn:epc:id:pgln:4000001.00000", "https://id.gs1.org/417/4000001000005"),
        ("urn:epc:id:pgln:999999999999.", "https://id.gs1.org/417/9999999999994"),
        ("urn:epc:id:sgcn:4012345.99999.44", "https://id.gs1.org/255/401234599999044"),
        ("urn:epc:class:lgtin:4012345.012345.Lot987",
         "https://id.gs1.org/01/04012345123456/10/Lot987"),
        ("urn:epc:idpat:sgtin:4012345.012345.*", "https://id.gs1.org/01/04012345123456"),
        ("urn:epc:idpat:grai:4012345.99999.*", "https://id.gs1.org/8003/04012345999990"),
        ("urn:epc:idpat:gdti:4012345.11111.*", "https://id.gs1.org/253/4012345111118"),
        ("urn:epc:idpat:sgcn:4012345.22222.*", "https://id.gs1.org/255/4012345222227"),
        ("urn:epc:idpat:cpi:4012345.AB12.*", "https://id.gs1.org/8010/4012345AB12"),
        ("urn:epc:idpat:itip:4012345.012345.01.02.*",
         "https://id.gs1.org/8006/040123451234560102"),
        ("urn:epc:idpat:upui:4012345.012345.*", "https://id.gs1.org/01/04012345123456"),
        ("https://id.gs1.org/gtin/09780345418913", "https://id.gs1.org/01/09780345418913"),
        ("https://example.com/gtin/09780345418913/21/765tz?abc=211121",
         "https://id.gs1.org/01/09780345418913/21/765tz"),
        ("http://example.de/gtin-8/01/97803111", "https://id.gs1.org/01/00000097803111"),
        ("http://us-company-with-UPC.com/01/001122334455", "https://id.gs1.org/01/00001122334455"),
        ("http://us-company-with-UPC.com/01/001122334455/ser/GHB",
         "https://id.gs1.org/01/00001122334455/21/GHB"),
        ("https://ean-13.de/gtin/4012345123456/ser/ABC524",
         "https://id.gs1.org/01/04012345123456/21/ABC524"),
        ("http://id.gs1.org/gtin/9780345418913", "https://id.gs1.org/01/09780345418913"),
        ("https://id.gs1.org/gtin/9780345418913/cpv/344/lot/1223/ser/765tz",
         "https://id.gs1.org/01/09780345418913/21/765tz"),
        ("https://id.gs1.org/gtin/9780345418913/cpv/344", "https://id.gs1.org/01/09780345418913"),
        ("https://example.de/gtin/04012345123456/cpv/344/ser/987654",
         "https://id.gs1.org/01/04012345123456/21/987654"),
        ("http://example.de/01/040123451234/cpv/344/lot/ABD",
         "https://id.gs1.org/01/00040123451234/10/ABD"),
        ("https://id.gs1.org/01/9780345418913/22/344/10/1223/21/765tz",
         "https://id.gs1.org/01/09780345418913/21/765tz"),
        ("https://id.gs1.org/itip/123456789101100190/cpv/ABCD",
         "https://id.gs1.org/8006/123456789101100190"),
        ("https://fashion-corp.com/8006/040123451234560102/22/AB/21/443322",
         "https://id.gs1.org/8006/040123451234560102/21/443322"),
        ("https://id.gs1.org/8006/040123451234560102/22/ABCD/10/XYZ",
         "https://id.gs1.org/8006/040123451234560102/10/XYZ"),
        ("https://fashion-corp.com/8006/040123451234560102/10/Lot-123/21/ser987",
         "https://id.gs1.org/8006/040123451234560102/21/ser987"),
        ("https://gs1.test.example.org/01/9780345418913/10/1223",
         "https://id.gs1.org/01/09780345418913/10/1223"),
        ("https://example.org/01/9780345418913/21/765tz?11=221109",
         "https://id.gs1.org/01/09780345418913/21/765tz"),
        ("https://example.co.uk/party/4226350800008", "https://id.gs1.org/417/4226350800008"),
        ("https://id.gs1.org/414/4280000000002/254/12",
         "https://id.gs1.org/414/4280000000002/254/12"),
        ("https://id.gs1.org/8003/03870585000552987", "https://id.gs1.org/8003/03870585000552987"),
        ("https://id.gs1.org/8004/0180451111ABC987", "https://id.gs1.org/8004/0180451111ABC987"),
        ("https://id.gs1.org/253/4602443000331XYZ", "https://id.gs1.org/253/4602443000331XYZ"),
        ("https://id.gs1.org/8010/0628165987/8011/9876",
         "https://id.gs1.org/8010/0628165987/8011/9876"),
        ("https://id.gs1.org/255/0811625999996554433",
         "https://id.gs1.org/255/0811625999996554433"),
        ("http://fashion.com/itip/040123451234560102/ser/ABC145",
         "https://id.gs1.org/8006/040123451234560102/21/ABC145"),
        ("http://example.org/123/4012345ABC987/456/4711", None),
        ("http://id.gs1.org/99/9780345418913", None),
        ("http://id.gs1.org/01/9780345418913/99/utfgf", None),
        ("http://example.de/abc/9780345418913", None),
        ("http://example.de/01/97803", None),
        ("https://id.gs1.org/8006/04012345123456/22/ABCD/10/XYZ", None),
        ("urn:epc:id:sgtin:4012345.0123456.12", None),  # 14 digits: not an SGTIN
        ("Hello World!", None),
    ],
)
def test_identifier_is_hashed_in_canonical_digital_link_form(
        written: str, canonical: str | None) -> None:
    event = {"type": "ObjectEvent", "epcList": [written], "action": "OBSERVE"}
    assert prehash_string(event) == (
        f"eventType=ObjectEventepcListepc={canonical or written}action=OBSERVE")


@pytest.mark.parametrize(
    ("written", "hashed"),
    [
        ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),  # rounded half up
        ("2023-02-02T11:04:03.1414Z", "2023-02-02T11:04:03.141Z"),
        ("2023-12-31T23:59:59.9996Z", "2024-01-01T00:00:00.000Z"),  # the carry rolls over
        ("2005-04-03T20:33:31.116000-06:00", "2005-04-04T02:33:31.116Z"),
        ("2019-10-21T14:45:00Z", "2019-10-21T14:45:00.000Z"),
        ("2020-01-14T00:00:00+0100", "2020-01-13T23:00:00.000Z"),
        ("not a time", "not a time"),
    ],
)
def test_event_time_is_hashed_in_utc_with_milliseconds(written: str, hashed: str) -> None:
    event = {"type": "ObjectEvent", "eventTime": written}
    assert prehash_string(event) == f"eventType=ObjectEventeventTime={hashed}"


@pytest.mark.parametrize(
    ("written", "hashed"),
    [(200, "200"), (452.0, "452"), ("23.0", "23"), (0.1, "0.1"), ("1.50", "1.5"),
     (1e-07, "0.0000001"), ("+7", "7"), (True, "true"), ("12ab", "12ab")],
)
def test_numbers_are_hashed_without_trailing_zeros(written: Any, hashed: str) -> None:
    event = {"type": "ObjectEvent",
             "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877",
                               "quantity": written}]}
    assert prehash_string(event).endswith(f"quantity={hashed}")


# --- CBV words in their three spellings ------------------------------------------------

CBV_SPELLINGS = [
    *[("bizStep", w, "urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-")
      for w in ("shipping", "receiving", "commissioning", "packing", "unpacking",
                "decommissioning", "destroying")],
    *[("disposition", w, "urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-")
      for w in ("in_transit", "in_progress", "recalled", "destroyed", "stolen", "active")],
    *[("sdt", w, "urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-")
      for w in ("owning_party", "possessing_party", "location")],
    ("btt", "po", "urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("btt", "desadv", "urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("er", "incorrect_data", "urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
    ("er", "did_not_occur", "urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
]


@pytest.mark.parametrize(("vocabulary", "word", "urn", "web"), CBV_SPELLINGS,
                         ids=[f"{v}-{w}" for v, w, _, _ in CBV_SPELLINGS])
def test_every_spelling_of_a_cbv_word_gives_the_bare_word(
        vocabulary: str, word: str, urn: str, web: str) -> None:
    assert normalise_cbv(word, vocabulary) == word
    assert normalise_cbv(urn + word, vocabulary) == word
    assert normalise_cbv(web + word, vocabulary) == word


@pytest.mark.parametrize(
    ("value", "vocabulary"),
    [
        ("https://example.com/bizstep/gluing", "bizStep"),
        ("urn:example:bizstep:gluing", "bizStep"),
        ("urn:epcglobal:cbv:bizstep:shiping", "bizStep"),  # not a CBV word: left for the schema
        ("https://ref.gs1.org/cbv/Disp-shipping", "disposition"),  # a word of another list
        ("urn:epcglobal:cbv:disp:in_transit", "bizStep"),
        ("Shipping", "bizStep"),  # CBV words are case-sensitive
        ("https://example.com/parties/owner", "sdt"),
    ],
)
def test_a_value_that_is_not_a_cbv_word_stays_as_written(value: str, vocabulary: str) -> None:
    assert normalise_cbv(value, vocabulary) == value


def test_aliases_name_the_same_vocabularies() -> None:
    assert normalise_cbv("cbv:BizStep-packing", "bizstep") == "packing"
    assert normalise_cbv("urn:epcglobal:cbv:sdt:location", "sourceOrDestinationType") == "location"
    assert normalise_cbv("https://ref.gs1.org/cbv/BTT-inv", "bizTransactionType") == "inv"


def test_unknown_vocabulary_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown CBV vocabulary 'colour'"):
        normalise_cbv("red", "colour")


def test_cbv_words_come_from_the_epcis_context() -> None:
    assert len(epcis._VOCABULARIES["bizStep"].terms) == 41
    assert len(epcis._VOCABULARIES["disposition"].terms) == 33
    assert epcis._VOCABULARIES["sdt"].terms == {"owning_party", "possessing_party", "location"}


# --- Schema errors: the first problem, in words, with its path -------------------------


def shipping_event(**changes: Any) -> dict[str, Any]:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-05-01T10:00:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": ["https://id.example.com/01/09506000134352/21/23456789ABCDEFD"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
        "destinationList": [{"type": "owning_party",
                             "destination": "urn:epc:id:pgln:0614141.00000"}],
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not ...}


def document(*events: Any, event_list: Any = None) -> dict[str, Any]:
    return {"@context": [CONTEXT_2_0], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2024-05-01T10:00:00Z",
            "epcisBody": {"eventList": list(events) if event_list is None else event_list}}


def test_a_valid_document_with_cbv_urns_and_web_uris_passes() -> None:
    # The official schema refuses urn:epcglobal:cbv values; the contract accepts them.
    validate_document(document(
        shipping_event(),
        shipping_event(bizStep="urn:epcglobal:cbv:bizstep:receiving",
                       disposition="urn:epcglobal:cbv:disp:in_progress",
                       sourceList=[{"type": "urn:epcglobal:cbv:sdt:possessing_party",
                                    "source": "urn:epc:id:pgln:4012345.00000"}]),
        shipping_event(bizStep="https://ref.gs1.org/cbv/BizStep-packing",
                       disposition="https://example.com/disp/in_the_van"),
    ))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (document(event_list={"0": shipping_event()}),
         "epcisBody.eventList: expected an array (a JSON list), got an object "
         '{"0": {"type": "ObjectEvent", "eventTime": "2024-05-01T10:00:00.000+02:00", "...'),
        (document(shipping_event(), shipping_event(bizStep=42)),
         "epcisBody.eventList[1].bizStep: expected a string (a CBV business step or a URI), "
         "got a number 42"),
        (document(shipping_event(bizStep="shiping")),
         "epcisBody.eventList[0].bizStep: 'shiping' is not a CBV business step: use a standard "
         "word such as 'shipping' (bare, as URN or as https://ref.gs1.org/cbv/ URI) or a URI of "
         "your own; did you mean 'shipping'?"),
        (document(shipping_event(disposition="urn:epcglobal:cbv:disp:in_transt")),
         "epcisBody.eventList[0].disposition: 'urn:epcglobal:cbv:disp:in_transt' is not a CBV "
         "disposition: use a standard word such as 'in_transit' (bare, as URN or as "
         "https://ref.gs1.org/cbv/ URI) or a URI of your own; did you mean 'in_transit'?"),
        (document(shipping_event(eventTime=...)),
         "epcisBody.eventList[0]: required field 'eventTime' is missing"),
        (document(shipping_event(type="FooEvent")),
         "epcisBody.eventList[0].type: 'FooEvent' is not an EPCIS event type; expected one of "
         "ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, "
         "AssociationEvent or the URI of an extension event type"),
        (document(shipping_event(eventTime="2024-05-01T10:00:00")),
         "epcisBody.eventList[0].eventTime: '2024-05-01T10:00:00' is not a date-time with a "
         "time zone, e.g. '2024-05-01T12:00:00.000+02:00'"),
        (document(shipping_event(eventTimeZoneOffset="+2:00")),
         "epcisBody.eventList[0].eventTimeZoneOffset: '+2:00' is not a time zone offset such "
         "as '+02:00' or '-05:00'"),
        (document(shipping_event(note="fragile")),
         "epcisBody.eventList[0]: field 'note' is not allowed here; extension fields need a "
         "namespace prefix declared in @context, e.g. 'example:note'"),
        (document(shipping_event(sourceList=[{"type": "owner",
                                              "source": "urn:epc:id:pgln:4012345.00000"}])),
         "epcisBody.eventList[0].sourceList[0].type: 'owner' is not a CBV source/destination "
         "type: use a standard word such as 'location' (bare, as URN or as "
         "https://ref.gs1.org/cbv/ URI) or a URI of your own"),
        (document(shipping_event(epcList=...)),
         "epcisBody.eventList[0]: needs epcList or quantityList or sensorElementList and "
         "readPoint"),
        (document(shipping_event(ilmd={"example:lot": "L1"})),
         "epcisBody.eventList[0]: ilmd is only allowed when action is 'ADD' (action is "
         "'OBSERVE')"),
        (document(shipping_event(action="SHIP")),
         "epcisBody.eventList[0].action: 'SHIP' is not one of 'OBSERVE', 'ADD', 'DELETE'"),
        (document(shipping_event(epcList=["09506000134352 23456789ABCDEFD"])),
         "epcisBody.eventList[0].epcList[0]: '09506000134352 23456789ABCDEFD' is not a URI; "
         "identifiers need a scheme, e.g. 'urn:epc:id:sgtin:...' or 'https://id.gs1.org/01/...'"),
        ({**document(shipping_event()), "schemaVersion": 2},
         "schemaVersion: expected a string, got a number 2"),
        ({k: v for k, v in document(shipping_event()).items() if k != "@context"},
         "document: required field '@context' is missing"),
        (shipping_event(),
         "type: expected 'EPCISDocument' or 'EPCISQueryDocument', got 'ObjectEvent'"),
        ([shipping_event()], "document: expected an EPCIS document (a JSON object), got an array"),
    ],
    ids=["eventList-object", "bizStep-number", "bizStep-typo", "disposition-bad-urn",
         "eventTime-missing", "unknown-event-type", "eventTime-local", "offset", "field",
         "source-type", "no-epcs", "ilmd-observe", "action", "epc-not-uri", "schemaVersion",
         "no-context", "event-as-document", "not-an-object"],
)
def test_schema_error_names_the_first_problem_and_its_path(doc: Any, message: str) -> None:
    assert schema_error(validate_document, doc).message == message


def test_details_list_each_problem_with_its_path() -> None:
    error = schema_error(validate_document, document(
        shipping_event(), shipping_event(bizStep=42, action="SHIP"),
        shipping_event(eventTime=...)))
    assert error.details == [
        {"path": "epcisBody.eventList[1].action",
         "message": "'SHIP' is not one of 'OBSERVE', 'ADD', 'DELETE'"},
        {"path": "epcisBody.eventList[1].bizStep",
         "message": "expected a string (a CBV business step or a URI), got a number 42"},
        {"path": "epcisBody.eventList[2]", "message": "required field 'eventTime' is missing"},
    ]


def test_details_stop_at_twenty() -> None:
    error = schema_error(validate_document,
                         document(*[shipping_event(action="SHIP") for _ in range(50)]))
    assert len(error.details) == 20
    assert error.details[-1]["path"] == "epcisBody.eventList[19].action"


def test_query_document_events_are_checked_at_their_own_path() -> None:
    doc = load("JSON", "EPCISQueryDocument.jsonld")
    validate_document(doc)
    doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["action"] = "SHIP"
    assert schema_error(validate_document, doc).message.startswith(
        "epcisBody.queryResults.resultsBody.eventList[0].action: 'SHIP' is not one of")


def test_document_events_reads_either_kind_of_document() -> None:
    assert len(document_events(load("JSON", "EPCISQueryDocument.jsonld"))) == 2
    assert len(document_events(document(shipping_event(), shipping_event()))) == 2
    with pytest.raises(InvalidInput, match="^epcisBody: the document has no event list"):
        document_events({"type": "EPCISDocument"})


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"type": "ObjectEvent"}, "event: required field 'eventTime' is missing"),
        (shipping_event(bizStep=1),
         "bizStep: expected a string (a CBV business step or a URI), got a number 1"),
        ("ObjectEvent", "event: expected an object, got a string 'ObjectEvent'"),
    ],
)
def test_single_event_errors_have_paths_from_the_event(event: Any, message: str) -> None:
    assert schema_error(validate_event, event).message == message


def test_single_event_with_cbv_urns_is_valid() -> None:
    validate_event(shipping_event(bizStep="urn:epcglobal:cbv:bizstep:shipping",
                                  disposition="urn:epcglobal:cbv:disp:in_transit"))
    validate_event({"@context": [CONTEXT_2_0], **shipping_event()})


# --- normalise_event -----------------------------------------------------------------


def test_shipping_event_is_read_for_custody() -> None:
    event = shipping_event(
        bizStep="urn:epcglobal:cbv:bizstep:shipping",
        disposition="https://ref.gs1.org/cbv/Disp-in_transit",
        eventID="urn:uuid:0f0e8d2a-1c5b-4a8e-9f0e-1d2c3b4a5f60",
        bizLocation={"id": "urn:epc:id:sgln:4012345.00001.0"},
        sourceList=[{"type": "urn:epcglobal:cbv:sdt:owning_party",
                     "source": "urn:epc:id:pgln:4012345.00000"},
                    {"type": "location", "source": "urn:epc:id:sgln:4012345.00001.0"}],
        destinationList=[{"type": "https://ref.gs1.org/cbv/SDT-possessing_party",
                          "destination": "urn:epc:id:pgln:0614141.00000"}],
    )
    normalised = normalise_event(event, [CONTEXT_2_0])
    assert normalised == NormalisedEvent(
        event_type="ObjectEvent",
        action="OBSERVE",
        biz_step="shipping",
        disposition="in_transit",
        event_time=datetime.datetime(2024, 5, 1, 8, 0, tzinfo=datetime.UTC),
        event_timezone_offset="+02:00",
        read_point="urn:epc:id:sgln:4012345.00001.0",
        biz_location="urn:epc:id:sgln:4012345.00001.0",
        epcs=(("01/09506000134352/21/23456789ABCDEFD", "epc"),),
        sources=(("owning_party", "urn:epc:id:pgln:4012345.00000"),
                 ("location", "urn:epc:id:sgln:4012345.00001.0")),
        destinations=(("possessing_party", "urn:epc:id:pgln:0614141.00000"),),
        event_id="urn:uuid:0f0e8d2a-1c5b-4a8e-9f0e-1d2c3b4a5f60",
        hash=event_hash(event),
        error_declaration=None,
        document={**event, "bizStep": "shipping", "disposition": "in_transit",
                  "sourceList": [{"type": "owning_party",
                                  "source": "urn:epc:id:pgln:4012345.00000"},
                                 {"type": "location",
                                  "source": "urn:epc:id:sgln:4012345.00001.0"}],
                  "destinationList": [{"type": "possessing_party",
                                       "destination": "urn:epc:id:pgln:0614141.00000"}]},
    )
    assert normalised.hash == event_hash(dict(event, eventID="urn:uuid:other"))
    assert event["bizStep"] == "urn:epcglobal:cbv:bizstep:shipping"  # input left alone


def test_every_identifier_is_indexed_once_with_its_role() -> None:
    sscc = "urn:epc:id:sscc:4012345.0000000111"
    aggregation = {
        "type": "AggregationEvent", "eventTime": "2024-05-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00", "action": "ADD", "bizStep": "packing",
        "parentID": sscc,
        "childEPCs": ["urn:epc:id:sgtin:4012345.011111.1", "urn:epc:id:sgtin:4012345.011111.1",
                      "https://id.gs1.org/01/04012345111118/21/1", "urn:example:thing:7"],
        "childQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.L1",
                               "quantity": 3}],
    }
    assert normalise_event(aggregation).epcs == (
        ("00/040123450000001112", "parent"),
        ("01/04012345111118/21/1", "child"),
        ("urn:example:thing:7", "child"),
        ("urn:epc:class:lgtin:4012345.011111.L1", "quantity"),
    )
    transformation = TRANSFORMATION_EVENT_ALL_FIELDS
    roles = [role for _, role in normalise_event(transformation).epcs]
    # The same classes in and out keep both roles (MATCH_inputEPCClass, MATCH_outputEPCClass).
    assert roles == ["input"] * 2 + ["output"] * 4 + ["in_class"] * 3 + ["out_class"] * 3


def test_error_declaration_is_kept_with_its_reason_as_a_word() -> None:
    event = dict(OBJECT_EVENT_ALL_FIELDS, errorDeclaration={
        "declarationTime": "2006-11-07T14:00:00.000+01:00",
        "reason": "urn:epcglobal:cbv:er:incorrect_data"})
    normalised = normalise_event(event, _ALL_FIELDS_CONTEXT)
    assert normalised.error_declaration == {"declarationTime": "2006-11-07T14:00:00.000+01:00",
                                            "reason": "incorrect_data"}
    assert normalised.hash == ni("9811bfb2672e9c3a0f6151be339d22b60db375c8b23d2740f6137cc6539f0639")


def test_served_document_declares_the_extension_prefixes_it_uses() -> None:
    normalised = normalise_event(README_EXAMPLE_1, README_CONTEXT)
    assert normalised.document == {"@context": [{"example": "https://ns.example.com/epcis/"}],
                                   **README_EXAMPLE_1}
    assert event_hash(normalised.document) == normalised.hash == ni(
        "6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7")
    assert "@context" not in normalise_event(shipping_event(), README_CONTEXT).document


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"eventTime": ...}, "eventTime: required field 'eventTime' is missing"),
        ({"eventTime": "yesterday"},
         "eventTime: 'yesterday' is not a date-time with a time zone, e.g. "
         "'2024-05-01T12:00:00.000+02:00'"),
        ({"eventTime": "2024-05-01T10:00:00"},
         "eventTime: '2024-05-01T10:00:00' is not a date-time with a time zone, e.g. "
         "'2024-05-01T12:00:00.000+02:00'"),
        ({"eventTime": "2024-02-30T10:00:00Z"},
         "eventTime: '2024-02-30T10:00:00Z' is not a date-time with a time zone, e.g. "
         "'2024-05-01T12:00:00.000+02:00'"),
        ({"eventTimeZoneOffset": "+2:00"},
         "eventTimeZoneOffset: '+2:00' is not a time zone offset such as '+02:00' or '-05:00'"),
        ({"eventTimeZoneOffset": "+15:00"},
         "eventTimeZoneOffset: '+15:00' is not a time zone offset such as '+02:00' or '-05:00'"),
        ({"type": ...}, "type: required field 'type' is missing"),
    ],
)
def test_event_the_tracker_cannot_store_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_event(shipping_event(**changes))
    assert (caught.value.code, caught.value.message) == ("epcis_invalid_event", message)


def test_missing_offset_is_taken_from_the_event_time() -> None:
    normalised = normalise_event(shipping_event(eventTime="2024-05-01T10:00:00.123456789-05:30",
                                                eventTimeZoneOffset=...))
    assert normalised.event_timezone_offset == "-05:30"
    assert normalised.event_time == datetime.datetime(2024, 5, 1, 15, 30, 0, 123456,
                                                      tzinfo=datetime.UTC)


# --- The two schema validators agree; a 10,000-event capture -------------------------


@pytest.mark.parametrize("folder", ["JSON", "JSON-simple-context"])
def test_fast_and_thorough_validators_agree_on_every_example_event(folder: str) -> None:
    # fastjsonschema answers first; jsonschema explains. They must judge alike.
    validators = epcis._validators()
    names = OFFICIAL if folder == "JSON" else SIMPLE_CONTEXT
    for name in names:
        for index, event in enumerate(document_events(load(folder, name))):
            fast = epcis._fast_valid(validators.fast_event, event)
            assert fast == validators.event.is_valid(event), (name, index)


def test_ten_thousand_event_capture_timing(capsys: pytest.CaptureFixture[str]) -> None:
    doc = document(*[shipping_event(epcList=[
        f"https://id.example.com/01/09506000134352/21/S{i:09d}"]) for i in range(10_000)])
    validate_document(document(shipping_event()))  # compile the validators first
    started = time.perf_counter()
    validate_document(doc)
    validated = time.perf_counter()
    normalised = [normalise_event(e, doc["@context"]) for e in document_events(doc)]
    done = time.perf_counter()
    assert len({n.hash for n in normalised}) == 10_000
    with capsys.disabled():
        print(f"\n10,000 ObjectEvents: validate {validated - started:.2f} s, "
              f"normalise + hash {done - validated:.2f} s")


# --- the plain-event shortcut of the hash ---------------------------------------------

PLAIN_EVENT = {
    "type": "ObjectEvent", "eventTime": "2026-05-01T08:00:00.000+08:00",
    "eventTimeZoneOffset": "+08:00", "action": "OBSERVE", "bizStep": "shipping",
    "disposition": "in_transit",
    "epcList": ["https://id.gs1.org/01/09506000134352/21/ABC",
                "urn:epc:id:sgtin:0614141.107346.2018"],
    "readPoint": {"id": "urn:epc:id:sgln:6901234.00001.0"},
    "bizLocation": {"id": "urn:epc:id:sgln:6901234.00001.1"},
    "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:6901234.00001"},
                   {"type": "possessing_party", "source": "urn:epc:id:pgln:6901234.00001"}],
    "destinationList": [{"type": "owning_party", "destination": "urn:tracker:party:T1"}],
}


def both_prehashes(event: Any, context: Any = None) -> tuple[str | None, str]:
    ns = epcis._namespaces(context, event.get("@context"))
    return epcis._plain_prehash(event, ns), epcis._general_prehash(event, ns)


def test_official_example_events_of_the_plain_shape_render_as_the_general_way_does() -> None:
    plain_events = 0
    for name in OFFICIAL:
        doc = load("JSON", name)
        for event in document_events(doc):
            plain, general = both_prehashes(event, doc.get("@context"))
            if plain is not None:
                plain_events += 1
                assert plain == general, name
    assert plain_events >= 1  # most official examples carry extensions; one is plain


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e,
        lambda e: dict(reversed(list(e.items()))),
        lambda e: dict(e, bizStep="urn:epcglobal:cbv:bizstep:receiving",
                       disposition="https://ref.gs1.org/cbv/Disp-in_progress"),
        lambda e: dict(e, bizStep="cbv:BizStep-departing", disposition="gs1:whatever"),
        lambda e: dict(e, bizStep="https://example.com/my-step", disposition="  "),
        lambda e: dict(e, eventTime="2026-05-01T00:00:00.0005Z", eventTimeZoneOffset=" +00:00 "),
        lambda e: dict(e, eventTime="2026-05-01T00:00:00", action=""),
        lambda e: dict(e, epcList=[" urn:epc:id:sgtin:0614141.107346.2018 ", "", "  ",
                                   "https://example.com/01/09506000134352/21/Z%2F1"]),
        lambda e: dict(e, epcList=[]),
        lambda e: dict(e, readPoint={"id": ""}, bizLocation={"id": " urn:x:y "}),
        lambda e: dict(e, sourceList=[
            {"source": "urn:epc:id:pgln:6901234.00002", "type": "urn:epcglobal:cbv:sdt:location"},
            {"type": " ", "source": "urn:epc:id:sgln:6901234.00001.0"},
            {"type": "https://ref.gs1.org/cbv/SDT-owning_party", "source": ""}]),
        lambda e: dict(e, sourceList=[], destinationList=[]),
        lambda e: dict(e, eventID="urn:uuid:1", recordTime="2026-05-02T00:00:00Z"),
        lambda e: {k: v for k, v in e.items() if k in ("type", "eventTime", "action")},
    ],
    ids=["as written", "key order", "URN and Web words", "compact URIs", "blank word",
         "time rounding", "no zone", "EPC forms", "no EPCs", "places", "party forms",
         "empty lists", "not hashed", "few fields"],
)
def test_plain_events_render_as_the_general_way_does(change: Any) -> None:
    plain, general = both_prehashes(change(copy.deepcopy(PLAIN_EVENT)))
    assert plain == general


@pytest.mark.parametrize(
    "change",
    [
        lambda e: dict(e, type="AggregationEvent"),
        lambda e: dict(e, **{"example:field": "1"}),
        lambda e: dict(e, action=None),
        lambda e: dict(e, readPoint={"id": "urn:x", "example:ext": "1"}),
        lambda e: dict(e, sourceList=[{"type": "owning_party"}]),
        lambda e: dict(e, epcList="urn:x"),
        lambda e: dict(e, quantityList=[]),
    ],
    ids=["other type", "extension", "null", "extension in a place", "half entry",
         "not a list", "quantities"],
)
def test_other_shapes_take_the_general_way(change: Any) -> None:
    event = change(copy.deepcopy(PLAIN_EVENT))
    plain, general = both_prehashes(event)
    assert plain is None
    assert prehash_string(event) == general


# --- checking and normalising a whole document in one pass ------------------------------


def in_slices_of(size: int) -> Any:
    """A chunk mapper that works slice by slice here, as the process pool does."""
    def map_slices(fn: Any, items: list[Any]) -> list[Any]:
        return [fn(items[i:i + size]) for i in range(0, len(items), size)] or [fn([])]
    return map_slices


@pytest.mark.parametrize("mapper", [None, in_slices_of(1), in_slices_of(2)],
                         ids=["whole", "slices of 1", "slices of 2"])
@pytest.mark.parametrize("name", OFFICIAL)
def test_one_pass_gives_what_validating_then_normalising_gives(name: str, mapper: Any) -> None:
    doc = load("JSON", name)
    expected = [normalise_event(e, doc.get("@context")) for e in document_events(doc)]
    assert epcis.validate_and_normalise(doc, map_slices=mapper) == expected


@pytest.mark.parametrize("name", sorted(SIMPLE_CONTEXT_REFUSED))
def test_one_pass_refuses_what_validate_document_refuses(name: str) -> None:
    doc = load("JSON-simple-context", name)
    expected = schema_error(validate_document, doc)
    refused = schema_error(epcis.validate_and_normalise, doc, in_slices_of(1))
    assert (refused.message, refused.details) == (expected.message, expected.details)


def test_check_marks_the_events_the_fast_check_refuses() -> None:
    good, urn_words, bad = (copy.deepcopy(PLAIN_EVENT),
                            dict(copy.deepcopy(PLAIN_EVENT),
                                 bizStep="urn:epcglobal:cbv:bizstep:shipping"),
                            dict(copy.deepcopy(PLAIN_EVENT), action="SHIP"))
    checked = epcis.check_and_normalise([good, urn_words, bad])
    assert [passed for passed, _ in checked] == [True, True, False]
    assert checked[0][1] == normalise_event(good)
    assert checked[2][1] is None
