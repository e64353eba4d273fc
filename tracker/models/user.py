from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.db import Base, created_at, enum_type, intpk


class Role(enum.StrEnum):
    ADMIN = "admin"
    COMPLIANCE = "compliance"
    INSPECTOR = "inspector"
    DISTRIBUTOR = "distributor"


class User(Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[Role] = mapped_column(
        enum_type(Role, "user_role", 20)
    )
    party_id: Mapped[str | None] = mapped_column(
        ForeignKey("parties.id", ondelete="RESTRICT"), index=True
    )
    # scrypt hash in hashlib's parameters; NULL when the user signs in by token only.
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created_at]
    # When the user last opened their home page: "what changed since the last visit".
    last_visit_at: Mapped[dt.datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", lazy="raise")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a database leak gives no tokens."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[created_at]
    revoked_at: Mapped[dt.datetime | None]
    # A device's sign-in (the scanner app) ends by itself; None: valid until revoked.
    expires_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens", lazy="joined")


class WebSession(Base):
    """A signed-in browser's session, kept on the server: the cookie holds only a random
    id, of which the SHA-256 is stored, so sessions can be ended and expire when idle."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[created_at]
    last_seen_at: Mapped[dt.datetime] = mapped_column(index=True)
