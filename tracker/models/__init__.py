"""Typed ORM entities, one module per aggregate. Importing this registers every table."""

from tracker.models.batch import Batch, BatchStatus, Serial
from tracker.models.party import Party, PartyRole, party_territories
from tracker.models.product import Product
from tracker.models.territory import Territory
from tracker.models.user import ApiToken, Role, User

__all__ = [
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
    "party_territories",
]
