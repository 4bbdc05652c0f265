"""Administration's own tables: recipients, the dose records, and a projection of lots."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cvms_platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


COMPLETED = "completed"
VOIDED = "voided"


def new_id() -> str:
    return str(uuid.uuid4())


class Recipient(Base):
    __tablename__ = "recipients"
    __table_args__ = (
        Index("ix_recipients_identity", "family_name", "given_name", "birth_date"),
        # How registration and imports match a person (migration 0006).
        Index(
            "ix_recipients_folded_identity",
            func.lower(func.trim(text("family_name"))),
            func.lower(func.trim(text("given_name"))),
            "birth_date",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The paper Recipient Registration form (migration 0002); all optional but the name and birth.
    sex: Mapped[str | None] = mapped_column(String(1))
    race: Mapped[str | None] = mapped_column(String(16))
    ethnicity: Mapped[str | None] = mapped_column(String(16))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    preferred_language: Mapped[str] = mapped_column(String(2), default="en")
    contact_email: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_mail: Mapped[bool] = mapped_column(Boolean, default=False)


class Administration(Base):
    """One dose given. Its id is chosen by the client, so a retried submission records it once."""

    __tablename__ = "administrations"
    __table_args__ = (
        Index("ix_administrations_recipient", "recipient_id", "administered_at"),
        Index("ix_administrations_location", "location_id", "administered_at"),
        Index("ix_administrations_lot_number", "lot_number"),
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
    # Clinical rules overridden (by a caller allowed to) and why; notes such as beyond_series.
    overridden_rules: Mapped[list | None] = mapped_column(JSON)
    override_reason: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[list | None] = mapped_column(JSON)
    # How the dose was given (migration 0003): HL7 0163 site and 0162 route codes, the volume,
    # who recorded it (the signed-in user) and who gave it when someone else did.
    site: Mapped[str | None] = mapped_column(String(8))
    route: Mapped[str | None] = mapped_column(String(8))
    dose_volume_ml: Mapped[float | None] = mapped_column(Float)
    recorded_by_user_id: Mapped[str | None] = mapped_column(String(36))
    performer_name: Mapped[str | None] = mapped_column(String(100))
    # completed, or voided (entered in error): a voided dose stays, with its history, but no
    # longer counts for the recipient's series.
    status: Mapped[str] = mapped_column(String(16), default=COMPLETED)
    # The offline import that recorded it, if any.
    import_id: Mapped[str | None] = mapped_column(String(36))
    history: Mapped[list[AdministrationChange]] = relationship(
        order_by="AdministrationChange.changed_at", viewonly=True
    )


class AdministrationChange(Base):
    """One correction or void of a dose: who, when, why, and the fields before and after."""

    __tablename__ = "administration_changes"
    __table_args__ = (Index("ix_administration_changes_dose", "administration_id", "changed_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    administration_id: Mapped[str] = mapped_column(ForeignKey("administrations.id"))
    action: Mapped[str] = mapped_column(String(16))  # corrected | voided
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_by_user_id: Mapped[str | None] = mapped_column(String(36))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)


class AdministrationImport(Base):
    """An offline import (a filled CSV sent in chunks): what it accepted and rejected."""

    __tablename__ = "administration_imports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    location_id: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ImportRow(Base):
    """A row of an import and its outcome; the report is these rows in order."""

    __tablename__ = "administration_import_rows"

    import_id: Mapped[str] = mapped_column(
        ForeignKey("administration_imports.id"), primary_key=True
    )
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))  # accepted | duplicate | rejected
    administration_id: Mapped[str | None] = mapped_column(String(36))
    recipient_id: Mapped[str | None] = mapped_column(String(36))
    errors: Mapped[dict | None] = mapped_column(JSON)


class KnownLot(Base):
    """Lots as announced by inventory's `lot_received` events (administration never reads
    inventory's tables); filled on demand over RPC when a dose names a lot not seen yet."""

    __tablename__ = "known_lots"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    location_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    lot_number: Mapped[str] = mapped_column(String(50))
    expiration_date: Mapped[date] = mapped_column(Date)


class LotQuarantine(Base):
    """Whether a lot is quarantined (a temperature excursion in its storage unit), as inventory's
    `lot_quarantined` and `lot_released` events say (migration 0004). Kept apart from
    `known_lots`: those events carry no lot number or expiration date, and may come before the
    lot's `lot_received`. `changed_at` is when inventory made the change (the event's time), so
    a late or redelivered older event does not undo a newer one."""

    __tablename__ = "lot_quarantines"

    lot_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    location_id: Mapped[str] = mapped_column(String(64))
    # Since when the lot is quarantined; None once released.
    quarantined_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Product(Base):
    """The facts of inventory's product catalog the clinical checks and exports need, filled and
    refreshed over the `inventory.list_products` RPC (administration never reads inventory's
    tables)."""

    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    manufacturer: Mapped[str] = mapped_column(String(200))
    mvx_code: Mapped[str] = mapped_column(String(10))
    cvx_code: Mapped[str] = mapped_column(String(10))
    dose_volume_ml: Mapped[float] = mapped_column(Float)
    min_age_years: Mapped[int] = mapped_column(Integer)
    series_doses: Mapped[int] = mapped_column(Integer)
    min_interval_days: Mapped[int] = mapped_column(Integer)
    cap_color: Mapped[str | None] = mapped_column(String(30))  # printed on records (0003)
    refreshed_at: Mapped[datetime] = mapped_column(UtcDateTime)
