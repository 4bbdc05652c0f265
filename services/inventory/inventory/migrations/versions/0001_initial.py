"""Products, lots, ledger, discrepancies, outbox and inbox.

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
        "products",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("cap_color", sa.String(30), nullable=False),
        sa.Column("manufacturer", sa.String(100), nullable=False),
        sa.Column("mvx_code", sa.String(10), nullable=False),
        sa.Column("cvx_code", sa.String(10), nullable=False),
        sa.Column("ndc_unit_of_sale", sa.String(20), nullable=False),
        sa.Column("ndc_unit_of_use", sa.String(20), nullable=False),
        sa.Column("doses_per_vial", sa.Integer, nullable=False),
        sa.Column("dose_volume_ml", sa.Numeric(4, 2), nullable=False),
        sa.Column("min_age_years", sa.Integer, nullable=False),
        sa.Column("series_doses", sa.Integer, nullable=False),
        sa.Column("min_interval_days", sa.Integer, nullable=False),
        sa.Column("storage_min_c", sa.Integer, nullable=False),
        sa.Column("storage_max_c", sa.Integer, nullable=False),
        sa.Column("beyond_use_hours", sa.Integer, nullable=False),
    )
    op.create_table(
        "lots",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(100), nullable=False),
        sa.Column("product_id", sa.String(64), sa.ForeignKey("products.id"), nullable=False),
        sa.Column("lot_number", sa.String(50), nullable=False),
        sa.Column("expiration_date", sa.Date, nullable=False),
        sa.Column("storage_unit", sa.String(100)),
        sa.Column("doses_received", sa.Integer, nullable=False),
        sa.Column("doses_on_hand", sa.Integer, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("location_id", "shipment_id", name="uq_lots_location_shipment"),
        sa.CheckConstraint("doses_on_hand >= 0", name="ck_lots_on_hand_not_negative"),
    )
    op.create_index("ix_lots_location_product", "lots", ["location_id", "product_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("lot_id", sa.String(36), sa.ForeignKey("lots.id"), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.Column("balance_after", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_event_id", sa.String(36)),
        sa.Column("reference_id", sa.String(36)),
        sa.Column("correlation_id", sa.String(200)),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_ledger_location_recorded", "ledger_entries", ["location_id", "recorded_at"])
    op.create_index("ix_ledger_lot", "ledger_entries", ["lot_id"])
    op.create_table(
        "discrepancies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("lot_id", sa.String(36), nullable=False),
        sa.Column("reason", sa.String(50), nullable=False),
        sa.Column("administration_id", sa.String(36)),
        sa.Column("source_event_id", sa.String(36), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolution", sa.Text),
    )
    op.create_index(
        "ix_discrepancies_location_open", "discrepancies", ["location_id", "resolved_at"]
    )
    create_messaging_tables(op)


def downgrade() -> None:
    drop_messaging_tables(op)
    for table in ("discrepancies", "ledger_entries", "lots", "products"):
        op.drop_table(table)
