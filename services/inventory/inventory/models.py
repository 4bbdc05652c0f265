"""Inventory's own tables. Stock is a ledger; a lot's `doses_on_hand` is the ledger's running
balance, kept in the same transaction as each entry and never allowed below zero."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cvms_platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


USABLE = "usable"
QUARANTINED = "quarantined"


def new_id() -> str:
    return str(uuid.uuid4())


class Product(Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    cap_color: Mapped[str] = mapped_column(String(30))
    manufacturer: Mapped[str] = mapped_column(String(100))
    mvx_code: Mapped[str] = mapped_column(String(10))
    cvx_code: Mapped[str] = mapped_column(String(10))
    ndc_unit_of_sale: Mapped[str] = mapped_column(String(20))
    ndc_unit_of_use: Mapped[str] = mapped_column(String(20))
    doses_per_vial: Mapped[int] = mapped_column(Integer)
    dose_volume_ml: Mapped[float] = mapped_column(Numeric(4, 2))
    min_age_years: Mapped[int] = mapped_column(Integer)
    series_doses: Mapped[int] = mapped_column(Integer)
    min_interval_days: Mapped[int] = mapped_column(Integer)
    storage_min_c: Mapped[int] = mapped_column(Integer)
    storage_max_c: Mapped[int] = mapped_column(Integer)
    beyond_use_hours: Mapped[int] = mapped_column(Integer)


class Lot(Base):
    __tablename__ = "lots"
    __table_args__ = (
        UniqueConstraint("location_id", "shipment_id", name="uq_lots_location_shipment"),
        CheckConstraint("doses_on_hand >= 0", name="ck_lots_on_hand_not_negative"),
        CheckConstraint("status IN ('usable', 'quarantined')", name="ck_lots_status"),
        Index("ix_lots_location_product", "location_id", "product_id"),
        Index("ix_lots_location_storage_unit", "location_id", "storage_unit"),
        Index("ix_lots_expiration", "expiration_date"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(String(64))
    shipment_id: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    lot_number: Mapped[str] = mapped_column(String(50))
    expiration_date: Mapped[date] = mapped_column(Date)
    storage_unit: Mapped[str | None] = mapped_column(String(100))
    doses_received: Mapped[int] = mapped_column(Integer)
    doses_on_hand: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # `usable`, or `quarantined` after a temperature excursion in its storage unit, until
    # released; a quarantined lot's doses are still counted on hand.
    status: Mapped[str] = mapped_column(String(20), default=USABLE, server_default=USABLE)
    excursion_id: Mapped[str | None] = mapped_column(String(36))
    quarantined_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When `lot_expiring` was announced for this lot (once per lot).
    expiring_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    product: Mapped[Product] = relationship(lazy="joined")


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_location_recorded", "location_id", "recorded_at"),
        Index("ix_ledger_lot", "lot_id"),
        Index("ix_ledger_lot_recorded", "lot_id", "recorded_at"),
        # The inventory levels report's covering index (migration 0003).
        Index(
            "ix_ledger_report",
            "location_id",
            "product_id",
            "recorded_at",
            postgresql_include=["lot_id", "reason", "wastage_reason", "delta"],
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"))
    location_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(30))
    delta: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    source_event_id: Mapped[str | None] = mapped_column(String(36))
    reference_id: Mapped[str | None] = mapped_column(String(36))
    correlation_id: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    # For reason `wasted`: one of cvms_platform.contracts.WASTAGE_REASONS.
    wastage_reason: Mapped[str | None] = mapped_column(String(30))


class Discrepancy(Base):
    """A dose recorded against a lot that had no stock left: kept for the location to reconcile."""

    __tablename__ = "discrepancies"
    __table_args__ = (Index("ix_discrepancies_location_open", "location_id", "resolved_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(String(64))
    lot_id: Mapped[str] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(String(50))
    administration_id: Mapped[str | None] = mapped_column(String(36))
    source_event_id: Mapped[str] = mapped_column(String(36))
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution: Mapped[str | None] = mapped_column(Text)


class Excursion(Base):
    """A temperature excursion reported for a storage unit; it quarantined the unit's lots."""

    __tablename__ = "excursions"
    __table_args__ = (Index("ix_excursions_location_unit", "location_id", "storage_unit"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(String(64))
    storage_unit: Mapped[str] = mapped_column(String(100))
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    min_c: Mapped[float | None] = mapped_column(Numeric(5, 1))
    max_c: Mapped[float | None] = mapped_column(Numeric(5, 1))
    temperature_c: Mapped[float | None] = mapped_column(Numeric(5, 1))
    note: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
