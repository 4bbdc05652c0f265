"""Transfers of doses between locations, idempotent by the client's transfer id.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("from_location_id", sa.String(64), nullable=False),
        sa.Column("from_lot_id", sa.String(36), sa.ForeignKey("lots.id"), nullable=False),
        sa.Column("to_location_id", sa.String(64), nullable=False),
        sa.Column("to_lot_id", sa.String(36), sa.ForeignKey("lots.id"), nullable=False),
        sa.Column("doses", sa.Integer, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference_id", sa.String(36), nullable=False),
        sa.CheckConstraint("doses > 0", name="ck_transfers_doses"),
    )
    op.create_index("ix_transfers_from", "transfers", ["from_location_id", "recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_transfers_from", table_name="transfers")
    op.drop_table("transfers")
