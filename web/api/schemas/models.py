"""The API's request bodies and query strings (pydantic models that parse them) and its
answers (TypedDicts that ``web.api.render`` and the views build, checked by mypy and
described in the OpenAPI document from the same class)."""

from __future__ import annotations

import enum
from typing import Annotated, Any, NotRequired

from pydantic import ConfigDict, Field, WithJsonSchema, create_model
from typing_extensions import TypedDict

from tracker.domain.labels import MAX_GRID
from tracker.domain.verdicts import Verdict
from tracker.models import (
    BatchStatus,
    LineStatus,
    PartyRole,
    Role,
    ShipmentStatus,
    ViolationStatus,
    ViolationType,
)
from tracker.services import epcis_query
from tracker.services.scans import MAX_CLIENT_ID
from web.api.schemas.contract import (
    Body,
    Date,
    Instant,
    Query,
    judged,
    one_of,
    page_size,
    whole,
)

MAX_BATCH = 1_000_000  # the contract's most serials in one request (a setting may lower it)


def words(kind: type[enum.Enum]) -> WithJsonSchema:
    """Describes a string naming one of ``kind``'s values: ``Annotated[str, words(X)]``."""
    return WithJsonSchema({"type": "string", "enum": [m.value for m in kind]})


def filter_by(kind: type[enum.Enum]) -> WithJsonSchema:
    """Describes a query filter naming one of ``kind``'s values; empty (as a form sends an
    unset filter) is the same as absent."""
    return WithJsonSchema({"type": "string", "enum": ["", *(m.value for m in kind)]})


When = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
MaybeWhen = Annotated[str | None, WithJsonSchema(
    {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]})]
Day = Annotated[str | None, WithJsonSchema(
    {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]})]
Codes = Annotated[list[str], Field(description="Digital Link URIs, SGTIN URNs, bare serials "
                                               "or SSCCs of packed cases and pallets")]


# --- Requests ---------------------------------------------------------------------------

class ProductIn(Body):
    gtin: Annotated[str, Field(description="GTIN-8/12/13/14; the check digit is verified")]
    name: str
    company_prefix_length: int = 7


class PartyIn(Body):
    id: Annotated[str, Field(description="the party's identifier in EPCIS source and "
                                         "destination lists, e.g. a PGLN URN")]
    name: str = ""
    role: Annotated[str, words(PartyRole)]
    territories: list[str] = []
    parent: str | None = None


class BatchIn(Body):
    gtin: str
    territory: str
    quantity: Annotated[Any, judged({"type": "integer", "minimum": 1, "maximum": MAX_BATCH})]
    lot: Annotated[str | None, judged({"anyOf": [
        {"type": "string", "minLength": 1, "maxLength": 20}, {"type": "null"}]})] = None
    expiry: Date | None = None
    party: str | None = None


class RecallIn(Body):
    reason: str


class ShipmentIn(Body):
    from_: Annotated[str, Field(alias="from")]
    to: str
    codes: Codes


class ReceiptIn(Body):
    codes: Annotated[Codes | None, Field(description="the codes received; absent: all")] = None


class ContainersIn(Body):
    party: str
    kind: Annotated[str, judged({"type": "string", "enum": ["case", "pallet"]})]
    count: Annotated[Any, judged({"type": "integer", "minimum": 1, "maximum": 10_000})] = 1
    company_prefix: str | None = None


class PackIn(Body):
    party: str
    codes: Codes


class UnpackIn(Body):
    party: str
    codes: Annotated[Codes | None, Field(description="the codes to take out; absent: all")] = None


class ScanIn(Body):
    """Judged by the scan service, which the scanner app and the public page share."""

    code: Annotated[Any, judged({"type": "string",
                                 "description": "a Digital Link URI, SGTIN URN or serial"})]
    latitude: Annotated[Any, judged({"type": "number", "minimum": -90, "maximum": 90})]
    longitude: Annotated[Any, judged({"type": "number", "minimum": -180, "maximum": 180})]
    accuracy_m: Annotated[Any, judged({"anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1_000_000}, {"type": "null"}]})] = None
    scanned_at: Instant | None = None
    client_scan_id: Annotated[Any, judged({"anyOf": [
        {"type": "string", "minLength": 1, "maxLength": MAX_CLIENT_ID},
        {"type": "null"}]})] = None
    device_id: str | None = None


class ReviewIn(Body):
    status: Annotated[str, words(ViolationStatus)]
    note: str | None = None


class Page(Query):
    limit: Annotated[int, whole(1, 500)] = 50
    offset: Annotated[int, whole()] = 0


class BigPage(Query):
    limit: Annotated[int, whole(1, 1000)] = 100
    offset: Annotated[int, whole()] = 0


class UserQuery(Query):
    user: Annotated[str | None, Field(description="another user's name (admin)")] = None


class ImportQuery(Query):
    code_property: Annotated[str | None, Field(
        description="the property holding a feature's code when it has neither "
                    "properties.code nor an id")] = None


class TerritoryQuery(Query):
    geometry: Annotated[str, Field(description="0 leaves the geometry out")] = "1"


class CodesQuery(Query):
    columns: Annotated[str, Field(description="comma-separated: serial, uri, epc")] = "serial,uri"


class LabelsQuery(Query):
    offset: Annotated[int, whole()] = 0
    limit: Annotated[int | None, whole(1)] = None
    columns: Annotated[int | None, whole(1, MAX_GRID)] = None
    rows: Annotated[int | None, whole(1, MAX_GRID)] = None


class QrQuery(Query):
    box_size: Annotated[int, whole(1, 40)] = 10


class ShipmentsQuery(Page):
    status: Annotated[Any, filter_by(ShipmentStatus)] = None
    from_: Annotated[str | None, Field(alias="from")] = None
    to: str | None = None


class ContainerLabelsQuery(Query):
    party: str | None = None
    sscc: Annotated[str, Field(description="comma-separated SSCCs")] = ""
    columns: Annotated[int, whole(1, MAX_GRID)] = 2
    rows: Annotated[int, whole(1, MAX_GRID)] = 4


class ViolationsQuery(Page):
    status: Annotated[Any, filter_by(ViolationStatus)] = None
    type: Annotated[Any, filter_by(ViolationType)] = None
    party: str | None = None
    territory: str | None = None


class ReportQuery(Query):
    since: Annotated[str | None, Field(description="a date (YYYY-MM-DD, UTC) or an ISO 8601 "
                                                   "instant; default: 30 days ago")] = None
    until: Annotated[str | None, Field(description="a date (included) or an instant "
                                                   "(excluded); default: now")] = None
    format: Annotated[str, one_of("json", "csv")] = "json"


EVENT_FILTERS = tuple(epcis_query.PARAMETERS) + epcis_query.ORDERING


class Paging(Query):
    """The EPCIS binding's paging: ``nextPageToken`` as the Link header of the page
    before gave it."""

    perPage: Annotated[int, page_size(30, 1000)] = 30
    nextPageToken: Annotated[str, Field(max_length=2000)] = ""


class EventsPage(Paging):
    """The standard EPCIS query parameters (judged by the EPCIS query service, which
    refuses those it does not know), and paging."""

    model_config = ConfigDict(extra="allow")


EventsQuery = create_model(
    "EventsQuery", __base__=EventsPage,
    **{name: (str | None, None) for name in EVENT_FILTERS})  # type: ignore[call-overload]


# --- Answers ----------------------------------------------------------------------------

class Me(TypedDict):
    name: str
    role: Annotated[str, words(Role)]
    party: str | None


class ApiToken(TypedDict):
    id: int
    prefix: str
    created_at: When
    revoked_at: MaybeWhen
    expires_at: MaybeWhen
    token: NotRequired[Annotated[str, Field(description="the bearer token, shown only once")]]


class ApiTokens(TypedDict):
    items: list[ApiToken]


class Territory(TypedDict):
    code: str
    name: str
    parent: str | None
    has_geometry: bool
    bbox: Annotated[list[float] | None, Field(description="[min_lon, min_lat, max_lon, "
                                                          "max_lat]; null for a sales region")]
    import_notes: list[str]
    updated_at: MaybeWhen


class TerritoryDetail(Territory):
    geometry: NotRequired[Annotated[dict[str, Any] | None, Field(
        description="a GeoJSON Polygon or MultiPolygon")]]
    children: list[str]


class Territories(TypedDict):
    items: list[Territory]


class ImportNote(TypedDict):
    code: str
    notes: list[str]


class Imported(TypedDict):
    created: int
    updated: int
    codes: list[str]
    notes: list[ImportNote]


class Product(TypedDict):
    gtin: str
    name: str
    company_prefix_length: int
    created_at: When


class Products(TypedDict):
    items: list[Product]


class Party(TypedDict):
    id: str
    name: str
    role: Annotated[str, words(PartyRole)]
    tier: int | None
    parent: str | None
    territories: list[str]
    created_at: When


class Parties(TypedDict):
    items: list[Party]


class Batch(TypedDict):
    id: int
    gtin: str
    product: str
    territory: str
    quantity: int
    owner: str | None
    lot: str | None
    expiry: Day
    status: Annotated[str, words(BatchStatus)]
    issued_by: str | None
    issued_at: When
    recalled_at: MaybeWhen
    recall_reason: str | None


class BatchDetail(Batch):
    issued: int


class Batches(TypedDict):
    items: list[Batch]
    limit: int
    offset: int


class Serial(TypedDict):
    serial: str
    uri: str
    epc: str
    batch: Batch


class ShipmentLine(TypedDict):
    code: str
    key: str
    status: Annotated[str, words(LineStatus)]


# "from" is a keyword: these two are spelt in TypedDict's call form.
Shipment = TypedDict("Shipment", {
    "id": int,
    "from": str,
    "to": str,
    "status": Annotated[str, words(ShipmentStatus)],
    "origin": str,
    "item_count": int,
    "shipped_at": When,
    "received_at": MaybeWhen,
    "created_by": str | None,
})


class ShipmentDetail(Shipment):
    codes: list[ShipmentLine]
    missing: list[str]


class Shipments(TypedDict):
    items: list[Shipment]
    total: int
    limit: int
    offset: int


class Container(TypedDict):
    sscc: str
    kind: str
    party: str | None
    uri: str
    created_at: When


class Containers(TypedDict):
    items: list[Container]


class Packed(TypedDict):
    container: str
    packed: int


class Unpacked(TypedDict):
    container: str
    unpacked: int


class ScanAnswer(TypedDict):
    scan_id: int
    violation_id: int | None
    verdict: Annotated[str, words(Verdict)]
    near_border: bool
    expected_territories: list[str]
    found_territory: str | None
    responsible_party: str | None
    flags: list[str]
    serial: str | None
    scanned_at: When


class Scans(TypedDict):
    items: list[ScanAnswer]
    limit: int
    offset: int


class Evidence(TypedDict):
    scan_id: int
    note: str | None
    has_photo: bool
    photo_bytes: int | None


class Violation(TypedDict):
    id: int
    type: Annotated[str, words(ViolationType)]
    status: Annotated[str, words(ViolationStatus)]
    serial: str | None
    gtin: str | None
    key: str
    batch_id: int | None
    responsible_party: str | None
    expected_territories: list[str]
    found_territory: str | None
    scan_count: int
    opened_at: When
    last_scan_at: MaybeWhen
    updated_at: MaybeWhen


class Violations(TypedDict):
    items: list[Violation]
    total: int
    limit: int
    offset: int


class EvidenceScan(ScanAnswer):
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    code: str
    device_id: str | None


Move = TypedDict("Move", {
    "kind": str,
    "from": str | None,
    "to": str | None,
    "shipment_id": int | None,
    "at": MaybeWhen,
})


class AuditEntry(TypedDict):
    at: When
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None


class ViolationDetail(Violation):
    scans: list[EvidenceScan]
    custody: list[Move]
    audit: list[AuditEntry]


class TraceBatch(TypedDict):
    id: int
    gtin: str
    lot: str | None
    status: Annotated[str, words(BatchStatus)]
    owner: str | None
    recall_reason: str | None


class TraceMove(Move):
    container: str | None


class TraceEvent(TypedDict):
    event_id: str
    type: str
    action: str | None
    biz_step: str | None
    disposition: str | None
    event_time: MaybeWhen
    origin: str
    via: list[str] | None
    document: dict[str, Any]


class TraceScan(TypedDict):
    scan_id: int
    verdict: Annotated[str, words(Verdict)]
    scanned_at: MaybeWhen
    latitude: float | None
    longitude: float | None
    found_territory: str | None
    violation_id: int | None


class Trace(TypedDict):
    serial: str
    uri: str
    epc: str
    batch: TraceBatch
    territory: str | None
    custodian: str | None
    disposition: str | None
    container: str | None
    in_shipment: int | None
    custody: list[TraceMove]
    events: list[TraceEvent]
    scans: list[TraceScan]


class Flow(TypedDict):
    from_territory: str | None
    to_territory: str | None
    violations: int
    units: int


class Flows(TypedDict):
    since: When
    until: When
    items: list[Flow]


class Score(TypedDict):
    party: str
    received_units: int
    violations: int
    violations_per_1000: float | None
    confirmed: int
    repeat: bool
    previous_violations: int


class Scorecard(TypedDict):
    since: When
    until: When
    items: list[Score]


class CaptureJob(TypedDict):
    captureID: str
    createdAt: When
    finishedAt: MaybeWhen
    running: bool
    success: bool
    captureErrorBehaviour: str
    eventCount: int | None
    capturedCount: int | None
    errors: list[dict[str, Any]]


class CustodyException(TypedDict):
    id: int
    event_pk: int
    key: str | None
    kind: str
    message: str
    status: str
    created_at: When


class CustodyExceptions(TypedDict):
    items: list[CustodyException]


class ErrorDetail(TypedDict):
    code: Annotated[str, Field(pattern="^[a-z][a-z0-9_]*$", description="snake_case reason")]
    message: Annotated[str, Field(description="a sentence a person can act on")]
    details: NotRequired[Any]


class Error(TypedDict):
    error: ErrorDetail


# --- EPCIS ------------------------------------------------------------------------------
# The EPCIS routes follow GS1's REST binding: their documents are GS1's EPCIS 2.0 JSON
# schema's (tracker/data/epcis/EPCIS-JSON-Schema.json, the copy the EPCIS service checks
# against), whose definitions the document carries as EPCIS.* components.

GS1_SCHEMA = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-json-schema.json"


def gs1(definition: str, description: str) -> dict[str, Any]:
    return {"allOf": [{"$ref": f"#/components/schemas/EPCIS.{definition}"}],
            "description": f"{description}, as GS1's JSON schema defines it: {GS1_SCHEMA}"}


EPCIS_EVENT = gs1("EPCIS-Document-Event", "one EPCIS 2.0 event (JSON-LD)")
EPCIS_DOCUMENT = gs1("epcisDocument", "an EPCISDocument")
EPCIS_QUERY_DOCUMENT = gs1("epcisQueryDocument", "an EPCISQueryDocument")
