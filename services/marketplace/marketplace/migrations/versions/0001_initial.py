"""Offers of surplus doses and the claims on them (with their transfers); outbox and inbox

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from cvms_platform import outbox_wakeup
from cvms_platform.tables import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "offers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("lot_id", sa.String(36), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("lot_number", sa.String(50), nullable=False),
        sa.Column("expiration_date", sa.Date, nullable=False),
        sa.Column("doses_offered", sa.Integer, nullable=False),
        sa.Column("doses_unclaimed", sa.Integer, nullable=False),
        sa.Column("min_per_claim", sa.Integer, nullable=False),
        sa.Column("available_until", sa.Date, nullable=False),
        sa.Column("fulfilment", sa.String(10), nullable=False),
        sa.Column("transit_days", sa.Integer, nullable=False),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.Text, nullable=True),
        sa.Column("doses_released", sa.Integer, nullable=True),
        sa.CheckConstraint("doses_offered > 0", name="ck_offers_doses"),
        sa.CheckConstraint(
            "doses_unclaimed >= 0 AND doses_unclaimed <= doses_offered",
            name="ck_offers_unclaimed_within_offered",
        ),
        sa.CheckConstraint("min_per_claim >= 1", name="ck_offers_min_per_claim"),
        sa.CheckConstraint("status IN ('open', 'withdrawn', 'expired')", name="ck_offers_status"),
        sa.CheckConstraint("fulfilment IN ('pickup', 'shipped')", name="ck_offers_fulfilment"),
    )
    op.create_index("ix_offers_search", "offers", ["status", "product_id", "expiration_date"])
    op.create_index("ix_offers_location", "offers", ["location_id", "created_at"])
    op.create_index("ix_offers_until", "offers", ["status", "available_until"])
    op.create_table(
        "claims",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("offer_id", sa.String(64), sa.ForeignKey("offers.id"), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("doses_requested", sa.Integer, nullable=False),
        sa.Column("doses_accepted", sa.Integer, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("requested_by", sa.String(100), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_by", sa.String(100), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.Text, nullable=True),
        sa.Column("shipped_by", sa.String(100), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_by", sa.String(100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("doses_received", sa.Integer, nullable=True),
        sa.Column("arrival_temperature_c", sa.Numeric(5, 1), nullable=True),
        sa.Column("data_logger_id", sa.String(100), nullable=True),
        sa.Column("problem", sa.String(60), nullable=True),
        sa.Column("to_lot_id", sa.String(36), nullable=True),
        sa.CheckConstraint("doses_requested > 0", name="ck_claims_requested"),
        sa.CheckConstraint(
            "doses_accepted IS NULL OR (doses_accepted > 0 AND doses_accepted <= doses_requested)",
            name="ck_claims_accepted_within_requested",
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'declined', 'expired', 'accepted', 'shipped', 'received')",
            name="ck_claims_status",
        ),
    )
    op.create_index("ix_claims_offer", "claims", ["offer_id", "status"])
    op.create_index("ix_claims_location", "claims", ["location_id", "requested_at"])
    op.create_index("ix_claims_due", "claims", ["status", "expires_at"])
    create_messaging_tables(op)
    outbox_wakeup.install(op)


def downgrade() -> None:
    outbox_wakeup.uninstall(op)
    drop_messaging_tables(op)
    op.drop_index("ix_claims_due", table_name="claims")
    op.drop_index("ix_claims_location", table_name="claims")
    op.drop_index("ix_claims_offer", table_name="claims")
    op.drop_table("claims")
    op.drop_index("ix_offers_until", table_name="offers")
    op.drop_index("ix_offers_location", table_name="offers")
    op.drop_index("ix_offers_search", table_name="offers")
    op.drop_table("offers")
