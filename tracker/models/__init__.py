"""Typed ORM entities, one module per aggregate. Importing this registers every table."""

from tracker.models.audit import AuditEntry, AuditHead
from tracker.models.batch import Batch, BatchStatus, Serial
from tracker.models.custody import (
    Container,
    CustodyException,
    CustodyMove,
    CustodyState,
    LineStatus,
    ReceiptDay,
    RepeatReceipt,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from tracker.models.epcis import (
    CaptureJob,
    CaptureStatus,
    Event,
    EventEPC,
    EventField,
    ReleasedPageToken,
)
from tracker.models.epcis_query import EpcisQuery, QuerySubscription
from tracker.models.evidence import ScanEvidence
from tracker.models.party import Party, PartyRole, party_territories
from tracker.models.product import Product
from tracker.models.rate_limit import RateLimitWindow
from tracker.models.scan import (
    CLOSED_STATUSES,
    CONFIRMED_STATUSES,
    OPEN_VIOLATION,
    CloneFrontier,
    Scan,
    ScanSource,
    Verdict,
    Violation,
    ViolationAudit,
    ViolationComment,
    ViolationStatus,
    ViolationTerritory,
    ViolationType,
)
from tracker.models.territory import Territory
from tracker.models.user import ApiToken, Role, User, WebSession
from tracker.models.webhook import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookNotification,
    WebhookSubscription,
)

__all__ = [
    "AuditEntry",
    "AuditHead",
    "CLOSED_STATUSES",
    "OPEN_VIOLATION",
    "CONFIRMED_STATUSES",
    "CaptureJob",
    "CaptureStatus",
    "CloneFrontier",
    "Container",
    "CustodyException",
    "CustodyMove",
    "CustodyState",
    "Event",
    "EventEPC",
    "EpcisQuery",
    "QuerySubscription",
    "EventField",
    "ReleasedPageToken",
    "LineStatus",
    "ReceiptDay",
    "RepeatReceipt",
    "RateLimitWindow",
    "Scan",
    "ScanEvidence",
    "ScanSource",
    "Shipment",
    "ShipmentLine",
    "ShipmentStatus",
    "Verdict",
    "Violation",
    "ViolationAudit",
    "ViolationComment",
    "ViolationStatus",
    "ViolationTerritory",
    "ViolationType",
    "ApiToken",
    "Batch",
    "BatchStatus",
    "Party",
    "PartyRole",
    "Product",
    "Role",
    "Serial",
    "Territory",
    "User",
    "WebSession",
    "DeliveryStatus",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookNotification",
    "WebhookSubscription",
    "party_territories",
]
