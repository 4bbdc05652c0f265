"""Holds on doses (marketplace offers) and shipments of held doses in transit between locations.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    with op.batch_alter_table("lots") as batch:
        batch.add_column(sa.Column("doses_held", sa.Integer, nullable=False, server_default="0"))
        batch.create_check_constraint(
            "ck_lots_held_within_on_hand", "doses_held >= 0 AND doses_held <= doses_on_hand"
        )
    op.create_table(
        "holds",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("lot_id", sa.String(36), sa.ForeignKey("lots.id"), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("doses_placed", sa.Integer, nullable=False),
        sa.Column("doses_held", sa.Integer, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("doses_placed > 0", name="ck_holds_placed"),
        sa.CheckConstraint(
            "doses_held >= 0 AND doses_held <= doses_placed", name="ck_holds_held_within_placed"
        ),
    )
    op.create_index("ix_holds_lot", "holds", ["lot_id"])
    op.create_table(
        "hold_releases",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("hold_id", sa.String(64), sa.ForeignKey("holds.id"), nullable=False),
        sa.Column("doses", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("doses > 0", name="ck_hold_releases_doses"),
    )
    op.create_index("ix_hold_releases_hold", "hold_releases", ["hold_id"])
    op.create_table(
        "shipments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("hold_id", sa.String(64), sa.ForeignKey("holds.id"), nullable=False),
        sa.Column("from_location_id", sa.String(64), nullable=False),
        sa.Column("from_lot_id", sa.String(36), sa.ForeignKey("lots.id"), nullable=False),
        sa.Column("to_location_id", sa.String(64), nullable=False),
        sa.Column("to_lot_id", sa.String(36), sa.ForeignKey("lots.id"), nullable=True),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("lot_number", sa.String(50), nullable=False),
        sa.Column("expiration_date", sa.Date, nullable=False),
        sa.Column("doses", sa.Integer, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("doses_received", sa.Integer, nullable=True),
        sa.Column("arrival_temperature_c", sa.Numeric(5, 1), nullable=True),
        sa.Column("data_logger_id", sa.String(100), nullable=True),
        sa.Column("cold_chain_ok", sa.Boolean, nullable=True),
        sa.Column("reference_id", sa.String(36), nullable=False),
        sa.CheckConstraint("doses > 0", name="ck_shipments_doses"),
        sa.CheckConstraint(
            "doses_received IS NULL OR (doses_received >= 0 AND doses_received <= doses)",
            name="ck_shipments_received",
        ),
    )
    op.create_index("ix_shipments_hold", "shipments", ["hold_id"])
    op.create_index("ix_shipments_to", "shipments", ["to_location_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_shipments_to", table_name="shipments")
    op.drop_index("ix_shipments_hold", table_name="shipments")
    op.drop_table("shipments")
    op.drop_index("ix_hold_releases_hold", table_name="hold_releases")
    op.drop_table("hold_releases")
    op.drop_index("ix_holds_lot", table_name="holds")
    op.drop_table("holds")
    with op.batch_alter_table("lots") as batch:
        batch.drop_constraint("ck_lots_held_within_on_hand", type_="check")
        batch.drop_column("doses_held")
