"""Notifications' tables: one delivery per (event, person, channel), and the addresses that must
not be written to (bounced hard, or unsubscribed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cvms_platform.db import UtcDateTime

QUEUED, SENT, DEFERRED, FAILED, SUPPRESSED = "queued", "sent", "deferred", "failed", "suppressed"
STATES = (QUEUED, SENT, DEFERRED, FAILED, SUPPRESSED)
PENDING = (QUEUED, DEFERRED)


class Base(DeclarativeBase):
    pass


class Delivery(Base):
    """A message owed to one person on one channel because of one event. Written in the inbox
    transaction of the event, before anything is sent; its id is the e-mail's Message-ID, so a
    send repeated after a crash carries the same one. It holds ids and a masked address only:
    the address itself is asked of its owner at send time."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "person_id", "channel", name="uq_deliveries_event_person"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        Index("ix_deliveries_subject", "subject_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))
    message_type: Mapped[str] = mapped_column(String(50))
    # Whose address and language: an appointment's booker, a waitlist entry's person, a user.
    person_kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[str] = mapped_column(String(64))
    # What staff look the messages up by: an appointment, a waitlist entry, a user.
    subject_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10))
    # Set-password links always go; the rest honour an unsubscribed address.
    transactional: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the template needs from the event (ids, codes, times): never personal data.
    facts: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, default=None)
    language: Mapped[str | None] = mapped_column(String(5), nullable=True, default=None)
    masked_address: Mapped[str | None] = mapped_column(String(120), nullable=True, default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True, default=None)


class Suppression(Base):
    """An address not to write to: bounced hard (undeliverable) or unsubscribed from reminders.
    Kept as the SHA-256 digest of the normalised address."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("channel", "address_digest", name="uq_suppressions"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(10))
    address_digest: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(20))  # undeliverable, unsubscribed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
