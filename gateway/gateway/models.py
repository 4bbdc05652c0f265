"""The gateway's own tables: who may sign in, the locations users act for, and refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cvms_platform.db import UtcDateTime

ROLES = (
    "state_admin",
    "org_admin",
    "location_manager",
    "vaccinator",
    "helpdesk",
    "recipient",
    "partner",
)


class Base(DeclarativeBase):
    pass


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    location_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Organization admins and partner systems act for an organization; a recipient's account is
    # the recipient's (administration's recipient id) and reaches only that recipient's records.
    organization_id: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    recipient_id: Mapped[str | None] = mapped_column(
        String(36), nullable=True, unique=True, default=None
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RefreshToken(Base):
    """A refresh token, kept only as its SHA-256 digest: the token itself is shown once."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The token that replaced this one when it was used: set, a second use means it leaked.
    replaced_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
