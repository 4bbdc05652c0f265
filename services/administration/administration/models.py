"""Administration's own tables: recipients, the dose records, and a projection of lots."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cvms_platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


class Recipient(Base):
    __tablename__ = "recipients"
    __table_args__ = (Index("ix_recipients_identity", "family_name", "given_name", "birth_date"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Administration(Base):
    """One dose given. Its id is chosen by the client, so a retried submission records it once."""

    __tablename__ = "administrations"
    __table_args__ = (
        Index("ix_administrations_recipient", "recipient_id", "administered_at"),
        Index("ix_administrations_location", "location_id", "administered_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("recipients.id"))
    location_id: Mapped[str] = mapped_column(String(64))
    lot_id: Mapped[str] = mapped_column(String(36))
    product_id: Mapped[str] = mapped_column(String(64))
    lot_number: Mapped[str] = mapped_column(String(50))
    dose_number: Mapped[int] = mapped_column(Integer)
    administered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[str] = mapped_column(String(100))


class KnownLot(Base):
    """Lots as announced by inventory's `lot_received` events (administration never reads
    inventory's tables); filled on demand over RPC when a dose names a lot not seen yet."""

    __tablename__ = "known_lots"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    location_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    lot_number: Mapped[str] = mapped_column(String(50))
    expiration_date: Mapped[date] = mapped_column(Date)
