from __future__ import annotations

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.db import Base, created_at, str200


class Product(Base):
    """A trade item, keyed by its GTIN-14."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("company_prefix_length BETWEEN 6 AND 12", name="company_prefix_length"),
    )

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    name: Mapped[str200]
    # Needed to write SGTIN EPC URNs: the split of the GTIN into company prefix and item ref.
    company_prefix_length: Mapped[int] = mapped_column(default=7)
    created_at: Mapped[created_at]
