"""Location settings, clinic days, slots, appointments, waitlists, stock projection

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from cvms_platform.tables import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "clinic_days",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("leftovers_offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_clinic_days_status"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("location_id", "date", name="uq_clinic_days_location_date"),
    )
    op.create_table(
        "location_settings",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=False),
        sa.Column("line2", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("zip", sa.String(length=10), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("website", sa.String(length=300), nullable=True),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("walk_ins_accepted", sa.Boolean(), nullable=False),
        sa.Column("accepting_appointments", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("public_notes", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("location_id"),
    )
    op.create_index(
        "ix_location_settings_coordinates",
        "location_settings",
        ["latitude", "longitude"],
        unique=False,
    )
    op.create_index("ix_location_settings_zip", "location_settings", ["zip"], unique=False)

    op.create_table(
        "stock_lots",
        sa.Column("lot_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("doses_on_hand", sa.Integer(), nullable=False),
        sa.Column("usable", sa.Boolean(), nullable=False),
        sa.Column("expiration_date", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lot_id"),
    )
    op.create_index(
        "ix_stock_lots_location_product", "stock_lots", ["location_id", "product_id"], unique=False
    )

    op.create_table(
        "slots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("clinic_day_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.CheckConstraint("booked <= capacity", name="ck_slots_not_overbooked"),
        sa.CheckConstraint("booked >= 0", name="ck_slots_booked_not_negative"),
        sa.CheckConstraint("capacity >= 0", name="ck_slots_capacity_not_negative"),
        sa.ForeignKeyConstraint(
            ["clinic_day_id"],
            ["clinic_days.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clinic_day_id", "product_id", "starts_at", name="uq_slots_day_time"),
    )
    op.create_index("ix_slots_location_starts", "slots", ["location_id", "starts_at"], unique=False)

    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("clinic_day_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("person_key", sa.String(length=300), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("preferred_language", sa.String(length=5), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offer_kind", sa.String(length=20), nullable=True),
        sa.Column("offered_slot_id", sa.String(length=36), nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offer_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_day_id"],
            ["clinic_days.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(
        "ix_waitlist_day_status",
        "waitlist_entries",
        ["clinic_day_id", "product_id", "status", "joined_at"],
        unique=False,
    )
    op.create_index(
        "ix_waitlist_offer_expiry", "waitlist_entries", ["offer_expires_at"], unique=False
    )
    op.create_index(
        "uq_waitlist_active_person_day",
        "waitlist_entries",
        ["clinic_day_id", "person_key"],
        unique=True,
        postgresql_where=sa.text("status IN ('waiting', 'offered')"),
        sqlite_where=sa.text("status IN ('waiting', 'offered')"),
    )

    op.create_table(
        "walk_ins",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("clinic_day_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("recipient_id", sa.String(length=36), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_day_id"],
            ["clinic_days.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_walk_ins_day", "walk_ins", ["clinic_day_id"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("confirmation_code", sa.String(length=20), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("dose_number", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.String(length=36), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("person_key", sa.String(length=300), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("preferred_language", sa.String(length=5), nullable=False),
        sa.Column("recipient_id", sa.String(length=36), nullable=True),
        sa.Column("previous_appointment_id", sa.String(length=36), nullable=True),
        sa.Column("next_dose_number", sa.Integer(), nullable=True),
        sa.Column("next_dose_from", sa.Date(), nullable=True),
        sa.Column("next_dose_appointment_id", sa.String(length=36), nullable=True),
        sa.Column("administration_id", sa.String(length=36), nullable=True),
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["slots.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("confirmation_code"),
    )
    op.create_index(
        "ix_appointments_location_starts",
        "appointments",
        ["location_id", "starts_at"],
        unique=False,
    )
    op.create_index("ix_appointments_recipient", "appointments", ["recipient_id"], unique=False)
    op.create_index(
        "ix_appointments_reminder_due",
        "appointments",
        ["starts_at"],
        unique=False,
        postgresql_where=sa.text("status = 'booked' AND reminder_sent_at IS NULL"),
        sqlite_where=sa.text("status = 'booked' AND reminder_sent_at IS NULL"),
    )
    op.create_index("ix_appointments_slot", "appointments", ["slot_id"], unique=False)
    op.create_index(
        "uq_appointments_active_person_dose",
        "appointments",
        ["person_key", "dose_number"],
        unique=True,
        postgresql_where=sa.text("status IN ('booked', 'checked_in')"),
        sqlite_where=sa.text("status IN ('booked', 'checked_in')"),
    )

    op.create_table(
        "appointment_history",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("appointment_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_appointment_history_appointment",
        "appointment_history",
        ["appointment_id", "at"],
        unique=False,
    )

    create_messaging_tables(op)


def downgrade() -> None:
    drop_messaging_tables(op)
    op.drop_index("ix_appointment_history_appointment", "appointment_history")

    op.drop_table("appointment_history")
    op.drop_index("uq_appointments_active_person_dose", "appointments")
    op.drop_index("ix_appointments_slot", "appointments")
    op.drop_index("ix_appointments_reminder_due", "appointments")
    op.drop_index("ix_appointments_recipient", "appointments")
    op.drop_index("ix_appointments_location_starts", "appointments")

    op.drop_table("appointments")
    op.drop_index("ix_walk_ins_day", "walk_ins")

    op.drop_table("walk_ins")
    op.drop_index("uq_waitlist_active_person_day", "waitlist_entries")
    op.drop_index("ix_waitlist_offer_expiry", "waitlist_entries")
    op.drop_index("ix_waitlist_day_status", "waitlist_entries")

    op.drop_table("waitlist_entries")
    op.drop_index("ix_slots_location_starts", "slots")

    op.drop_table("slots")
    op.drop_index("ix_stock_lots_location_product", "stock_lots")

    op.drop_table("stock_lots")
    op.drop_index("ix_location_settings_zip", "location_settings")
    op.drop_index("ix_location_settings_coordinates", "location_settings")

    op.drop_table("location_settings")
    op.drop_table("clinic_days")
