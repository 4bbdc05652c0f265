"""Scheduling's own tables.

A slot's `booked` count is the seat ledger: it only moves by conditional UPDATEs, and the
database refuses `booked > capacity` (CHECK) and two active appointments of one person for one
dose (partial unique index), whatever the application does."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cvms_platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


# Appointment statuses. Active ones hold a seat and count for "one per person per dose".
BOOKED, CHECKED_IN = "booked", "checked_in"
CANCELLED, COMPLETED, NO_SHOW = "cancelled", "completed", "no_show"
ACTIVE_STATUSES = (BOOKED, CHECKED_IN)
ACTIVE = text("status IN ('booked', 'checked_in')")

# Waitlist entry statuses.
WAITING, OFFERED, ACCEPTED, EXPIRED, WITHDRAWN = (
    "waiting",
    "offered",
    "accepted",
    "expired",
    "withdrawn",
)
WAITLIST_ACTIVE = text("status IN ('waiting', 'offered')")


class LocationSettings(Base):
    """What a provider publishes about a location on the public locator (Vaccines.gov)."""

    __tablename__ = "location_settings"
    __table_args__ = (
        Index("ix_location_settings_coordinates", "latitude", "longitude"),
        Index("ix_location_settings_zip", "zip"),
    )

    location_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    zip: Mapped[str] = mapped_column(String(10))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    time_zone: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(30))
    website: Mapped[str | None] = mapped_column(String(300))
    # {"mon": [{"opens": "09:00", "closes": "17:00"}], ...}: local times, absent day = closed.
    hours: Mapped[dict] = mapped_column(JSON, default=dict)
    products: Mapped[list] = mapped_column(JSON, default=list)
    walk_ins_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    accepting_appointments: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    public_notes: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))


class ClinicDay(Base):
    __tablename__ = "clinic_days"
    __table_args__ = (
        UniqueConstraint("location_id", "date", name="uq_clinic_days_location_date"),
        CheckConstraint("status IN ('open', 'closed')", name="ck_clinic_days_status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(String(64))
    date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(100))
    close_reason: Mapped[str | None] = mapped_column(Text)
    # When leftover doses of the day's opened vials were offered to its waitlist.
    leftovers_offered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Slot(Base):
    __tablename__ = "slots"
    __table_args__ = (
        CheckConstraint("booked <= capacity", name="ck_slots_not_overbooked"),
        CheckConstraint("booked >= 0", name="ck_slots_booked_not_negative"),
        CheckConstraint("capacity >= 0", name="ck_slots_capacity_not_negative"),
        UniqueConstraint("clinic_day_id", "product_id", "starts_at", name="uq_slots_day_time"),
        Index("ix_slots_location_starts", "location_id", "starts_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    clinic_day_id: Mapped[str] = mapped_column(ForeignKey("clinic_days.id"))
    location_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    # False once its clinic day is closed: a booking's conditional UPDATE checks it.
    open: Mapped[bool] = mapped_column(Boolean, default=True)


# What a booking request says of the person it is for.
PERSON_FIELDS = (
    "given_name",
    "family_name",
    "birth_date",
    "phone",
    "email",
    "preferred_language",
    "contact_email",
    "contact_sms",
)


class BookingPerson:
    """Who an appointment or a waitlist place is for, as they gave it, and how to reach them."""

    # normalised family name | given name | birth date: who "one per person per dose" means.
    person_key: Mapped[str] = mapped_column(String(300))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(254))
    preferred_language: Mapped[str] = mapped_column(String(5), default="en")
    # The channels the person chose when booking (the notifications service honours them).
    contact_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    contact_sms: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))

    @property
    def contact_channels(self) -> list[str]:
        """The channels the person may be reached by: chosen, with an address."""
        reachable = (
            ("email", self.email and self.contact_email),
            ("sms", self.phone and self.contact_sms),
        )
        return [channel for channel, yes in reachable if yes]

    def person(self) -> dict:
        """The person as a booking request names them (what records.create takes)."""
        return {field: getattr(self, field) for field in PERSON_FIELDS}


class Appointment(BookingPerson, Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index(
            "uq_appointments_active_person_dose",
            "person_key",
            "dose_number",
            unique=True,
            postgresql_where=ACTIVE,
            sqlite_where=ACTIVE,
        ),
        Index("ix_appointments_slot", "slot_id"),
        Index("ix_appointments_location_starts", "location_id", "starts_at"),
        Index("ix_appointments_recipient", "recipient_id"),
        Index("ix_appointments_administration", "administration_id"),
        Index(
            "ix_appointments_reminder_due",
            "starts_at",
            postgresql_where=text("status = 'booked' AND reminder_sent_at IS NULL"),
            sqlite_where=text("status = 'booked' AND reminder_sent_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    confirmation_code: Mapped[str] = mapped_column(String(20), unique=True)
    location_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    dose_number: Mapped[int] = mapped_column(Integer, default=1)
    # None for a place taken from leftover doses (not a slot of the schedule).
    slot_id: Mapped[str | None] = mapped_column(ForeignKey("slots.id"))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), default=BOOKED)
    # Administration's recipient id, given at check-in: links the recorded dose to this booking.
    recipient_id: Mapped[str | None] = mapped_column(String(36))
    previous_appointment_id: Mapped[str | None] = mapped_column(String(36))
    # Set when the dose was recorded and the series has another one.
    next_dose_number: Mapped[int | None] = mapped_column(Integer)
    next_dose_from: Mapped[date | None] = mapped_column(Date)
    next_dose_appointment_id: Mapped[str | None] = mapped_column(String(36))
    administration_id: Mapped[str | None] = mapped_column(String(36))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AppointmentHistory(Base):
    """Every change of an appointment: what, by whom, when and why."""

    __tablename__ = "appointment_history"
    __table_args__ = (Index("ix_appointment_history_appointment", "appointment_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    appointment_id: Mapped[str] = mapped_column(ForeignKey("appointments.id"))
    action: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class WaitlistEntry(BookingPerson, Base):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        Index(
            "uq_waitlist_active_person_day",
            "clinic_day_id",
            "person_key",
            unique=True,
            postgresql_where=WAITLIST_ACTIVE,
            sqlite_where=WAITLIST_ACTIVE,
        ),
        Index("ix_waitlist_day_status", "clinic_day_id", "product_id", "status", "joined_at"),
        Index("ix_waitlist_offer_expiry", "offer_expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    clinic_day_id: Mapped[str] = mapped_column(ForeignKey("clinic_days.id"))
    location_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default=WAITING)
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # An offer holds a seat of `offered_slot_id` (counted in its `booked`) until it expires;
    # a leftover-dose offer has no slot.
    offer_kind: Mapped[str | None] = mapped_column(String(20))
    offered_slot_id: Mapped[str | None] = mapped_column(String(36))
    offered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    appointment_id: Mapped[str | None] = mapped_column(String(36))


class WalkIn(Base):
    """A person vaccinated on a clinic day without an appointment."""

    __tablename__ = "walk_ins"
    __table_args__ = (Index("ix_walk_ins_day", "clinic_day_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    clinic_day_id: Mapped[str] = mapped_column(ForeignKey("clinic_days.id"))
    location_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    recipient_id: Mapped[str | None] = mapped_column(String(36))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[str] = mapped_column(String(100))


class StockLot(Base):
    """Scheduling's projection of inventory's lots, fed by inventory's events: enough to say
    whether a location has usable doses of a product and how fresh that knowledge is."""

    __tablename__ = "stock_lots"
    __table_args__ = (Index("ix_stock_lots_location_product", "location_id", "product_id"),)

    lot_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    location_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    doses_on_hand: Mapped[int] = mapped_column(Integer, default=0)
    usable: Mapped[bool] = mapped_column(Boolean, default=True)
    expiration_date: Mapped[date | None] = mapped_column(Date)
    # When inventory's latest applied event about this lot occurred.
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
