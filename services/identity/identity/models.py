"""Identity's tables: who may sign in, the organizations and locations they act for,
refresh tokens, provider enrollments, one-time password links, API keys and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cvms_platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Enrolled locations belong to an organization; its org admins act for them.
    organization_id: Mapped[str | None] = mapped_column(
        String(64), nullable=True, default=None, index=True
    )
    # What the enrollment form said: address, phone, type, storage capacity...
    details: Mapped[dict | None] = mapped_column(JSON, nullable=True, default=None)


class Organization(Base):
    """A provider organization, created when a state admin approves its enrollment."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[dict] = mapped_column(JSON)
    enrollment_id: Mapped[str | None] = mapped_column(String(36), nullable=True, unique=True)
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
    organization_id: Mapped[str | None] = mapped_column(
        String(64), nullable=True, default=None, index=True
    )
    recipient_id: Mapped[str | None] = mapped_column(
        String(36), nullable=True, unique=True, default=None
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Invited users: where their links are to be sent, and whom help-desk agents look up.
    email: Mapped[str | None] = mapped_column(String(254), nullable=True, default=None)
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True, default=None)


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


class Enrollment(Base):
    """A provider's enrollment form: Section A (`organization`) and Section B (`locations`, each
    with its initial users). Only the holder of the edit token (kept as its SHA-256 digest) may
    read, change or submit it while it is a draft or was rejected."""

    __tablename__ = "enrollments"
    # The review list: by status, oldest submission first.
    __table_args__ = (Index("ix_enrollments_status", "status", "submitted_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    edit_token_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))  # draft, submitted, approved, rejected
    organization: Mapped[dict] = mapped_column(JSON)
    locations: Mapped[list] = mapped_column(JSON)
    rejection_reason: Mapped[str | None] = mapped_column(Text, nullable=True, default=None)
    organization_id: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(36), nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, default=None)


class PasswordLink(Base):
    """A one-time link to set a password (an invitation or a reset): kept as the SHA-256 digest
    of its token, expiring, and dead once used."""

    __tablename__ = "password_links"
    __table_args__ = (
        Index("ix_password_links_delivery_token", "delivery_token_hash", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token the notifications service e-mails (the first one is shown to whoever made the
    # link): either sets the password; each delivery replaces the delivered one.
    delivery_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, default=None)
    purpose: Mapped[str] = mapped_column(String(20))  # invitation, reset
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, default=None)


class ApiKey(Base):
    """A partner system's key for an organization, kept as the SHA-256 digest of the key."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(20))  # shown in listings to tell keys apart
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, default=None)


class AuditEvent(Base):
    """Who read or changed a recipient's record or a location's inventory: added, never changed
    (PostgreSQL refuses UPDATE and DELETE on the table)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    actor_type: Mapped[str] = mapped_column(String(20))  # user, api_key, anonymous
    role: Mapped[str | None] = mapped_column(String(30), nullable=True)
    ip: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))  # read, change
    status: Mapped[int] = mapped_column(Integer)
    recipient_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    location_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    lot_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    object_ids: Mapped[dict] = mapped_column(JSON)
