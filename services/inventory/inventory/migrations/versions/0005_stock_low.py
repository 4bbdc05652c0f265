"""Stock thresholds per location and the `stock_low` notices announced (once a day), and an
index on when ledger entries were recorded: the job reads every location's last 7 days.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "stock_thresholds",
        sa.Column("location_id", sa.String(64), primary_key=True),
        sa.Column("threshold_days", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100)),
    )
    op.create_table(
        "stock_low_notices",
        sa.Column("location_id", sa.String(64), primary_key=True),
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("days_of_supply", sa.Numeric(10, 2), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_index("ix_ledger_recorded", "ledger_entries", ["recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_ledger_recorded", table_name="ledger_entries")
    op.drop_table("stock_low_notices")
    op.drop_table("stock_thresholds")
