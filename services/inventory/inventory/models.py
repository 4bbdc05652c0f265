"""Inventory's own tables. Stock is a ledger; a lot's `doses_on_hand` is the ledger's running
balance, kept in the same transaction as each entry and never allowed below zero."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    true,
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
    # An inactive product takes no new shipments (lots on hand stay usable).
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Set when a state admin edits the product: the seed then leaves it alone.
    edited_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    edited_by: Mapped[str | None] = mapped_column(String(100))


class Lot(Base):
    __tablename__ = "lots"
    __table_args__ = (
        UniqueConstraint("location_id", "shipment_id", name="uq_lots_location_shipment"),
        CheckConstraint("doses_on_hand >= 0", name="ck_lots_on_hand_not_negative"),
        CheckConstraint("status IN ('usable', 'quarantined')", name="ck_lots_status"),
        CheckConstraint(
            "doses_held >= 0 AND doses_held <= doses_on_hand", name="ck_lots_held_within_on_hand"
        ),
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
    # Of doses_on_hand, those held for a marketplace offer (`Hold`): not chosen for a dose, not
    # given, wasted or transferred, until released or shipped. Available = on hand - held.
    doses_held: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
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
        Index("ix_ledger_reference", "reference_id"),
        Index("ix_ledger_recorded", "recorded_at"),  # the stock_low job's 7-day window
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
    # For reason `wasted`: one of cvms_platform.codes.WASTAGE_REASONS.
    wastage_reason: Mapped[str | None] = mapped_column(String(30))
    # For reason `administered`: the open vial the dose was drawn from (None for a dose whose
    # vial inventory could not follow, e.g. one recorded after its vial's beyond-use time).
    vial_id: Mapped[str | None] = mapped_column(String(36))


class Discrepancy(Base):
    """A dose recorded against a lot that had no stock left: kept for the location to reconcile."""

    __tablename__ = "discrepancies"
    __table_args__ = (
        Index("ix_discrepancies_location_open", "location_id", "resolved_at"),
        Index("ix_discrepancies_administration", "administration_id"),
    )

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


class OpenVial(Base):
    """A punctured multi-dose vial: its doses must be given before `beyond_use_at`, or what is
    left is wasted (`open_vial_time_limit`). Its doses are still part of the lot's on-hand."""

    __tablename__ = "open_vials"
    __table_args__ = (
        CheckConstraint("doses_left >= 0", name="ck_open_vials_doses_left"),
        Index("ix_open_vials_lot", "lot_id", "closed_at"),
        Index("ix_open_vials_location", "location_id", "closed_at"),
        Index("ix_open_vials_open_until", "closed_at", "beyond_use_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"))
    location_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    doses_in_vial: Mapped[int] = mapped_column(Integer)
    doses_left: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    beyond_use_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Set when the vial is done with: `emptied` (its last dose drawn) or `time_limit` (what was
    # left wasted at its beyond-use time).
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(20))

    lot: Mapped[Lot] = relationship(lazy="joined")


class AdministrationDose(Base):
    """What administration last said about a recorded dose: the lot it came from, or voided.

    Inventory reconciles its ledger to this after each administration event, so the events of
    one dose (given, corrected, voided) may arrive in any order and still leave the stock right.
    """

    __tablename__ = "administration_doses"

    administration_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    location_id: Mapped[str] = mapped_column(String(64))
    lot_id: Mapped[str] = mapped_column(String(36))
    product_id: Mapped[str] = mapped_column(String(64))
    administered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    # The time of the statement in force (administered, corrected or voided at): an older
    # correction delivered late does not undo a newer one.
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)


class StockThreshold(Base):
    """A location's threshold for `stock_low`: fewer days of supply than this (default 7)."""

    __tablename__ = "stock_thresholds"

    location_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    threshold_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class StockLowNotice(Base):
    """`stock_low` was announced for this location and product on this day (once a day)."""

    __tablename__ = "stock_low_notices"

    location_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    days_of_supply: Mapped[float] = mapped_column(Numeric(10, 2))
    announced_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Transfer(Base):
    """Doses of a lot moved to another location: `transferred_out` there, `transferred_in`
    here, in one transaction. The client's transfer id makes it idempotent."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("doses > 0", name="ck_transfers_doses"),
        Index("ix_transfers_from", "from_location_id", "recorded_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client's transfer id
    from_location_id: Mapped[str] = mapped_column(String(64))
    from_lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"))
    to_location_id: Mapped[str] = mapped_column(String(64))
    to_lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"))
    doses: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The ledger entries' reference (a ledger reference is a uuid; the client's id may not be).
    reference_id: Mapped[str] = mapped_column(String(36), default=new_id)


class FormRow(Base):
    """A row of an imported Inventory Levels form, recorded once: importing the same form
    again finds its rows here and records nothing twice."""

    __tablename__ = "form_rows"

    location_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # What the row said (its entry columns), to tell a re-import from a reused row id.
    digest: Mapped[str] = mapped_column(String(64))
    ledger_entry_ids: Mapped[str] = mapped_column(Text)  # comma-separated
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    imported_by: Mapped[str | None] = mapped_column(String(100))


IN_TRANSIT, RECEIVED = "in_transit", "received"


class Hold(Base):
    """Doses of a lot set aside for someone else (a marketplace offer): counted in the lot's
    `doses_held` while `doses_held` here is above zero. The client's hold id makes placing it
    idempotent; releases and shipments take doses from it, each once by its own id."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("doses_placed > 0", name="ck_holds_placed"),
        CheckConstraint(
            "doses_held >= 0 AND doses_held <= doses_placed", name="ck_holds_held_within_placed"
        ),
        Index("ix_holds_lot", "lot_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client's hold id
    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"))
    location_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    doses_placed: Mapped[int] = mapped_column(Integer)
    doses_held: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class HoldRelease(Base):
    """Doses given back from a hold to the lot's available stock, once per release id."""

    __tablename__ = "hold_releases"
    __table_args__ = (
        CheckConstraint("doses > 0", name="ck_hold_releases_doses"),
        Index("ix_hold_releases_hold", "hold_id"),
    )

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the client's release id
    hold_id: Mapped[str] = mapped_column(ForeignKey("holds.id"))
    doses: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(30))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Shipment(Base):
    """Held doses shipped to another location: out of the source lot (`transferred_out`) when
    shipped, in transit until the destination receives them as the same lot (number, product,
    expiry; `transferred_in`), counted and with its cold-chain attestation. Idempotent by the
    client's shipment id at each step."""

    __tablename__ = "shipments"
    __table_args__ = (
        CheckConstraint("doses > 0", name="ck_shipments_doses"),
        CheckConstraint(
            "doses_received IS NULL OR (doses_received >= 0 AND doses_received <= doses)",
            name="ck_shipments_received",
        ),
        Index("ix_shipments_hold", "hold_id"),
        Index("ix_shipments_to", "to_location_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client's shipment id
    hold_id: Mapped[str] = mapped_column(ForeignKey("holds.id"))
    from_location_id: Mapped[str] = mapped_column(String(64))
    from_lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"))
    to_location_id: Mapped[str] = mapped_column(String(64))
    to_lot_id: Mapped[str | None] = mapped_column(ForeignKey("lots.id"))
    product_id: Mapped[str] = mapped_column(String(64))
    lot_number: Mapped[str] = mapped_column(String(50))
    expiration_date: Mapped[date] = mapped_column(Date)
    doses: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=IN_TRANSIT)
    shipped_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    doses_received: Mapped[int | None] = mapped_column(Integer)
    # The destination's attestation: the temperature on arrival and the data logger's id.
    arrival_temperature_c: Mapped[float | None] = mapped_column(Numeric(5, 1))
    data_logger_id: Mapped[str | None] = mapped_column(String(100))
    cold_chain_ok: Mapped[bool | None] = mapped_column(Boolean)
    # The ledger entries' reference (a ledger reference is a uuid; the client's id may not be).
    reference_id: Mapped[str] = mapped_column(String(36), default=new_id)
