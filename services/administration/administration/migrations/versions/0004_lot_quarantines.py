"""Which lots are quarantined, from inventory's lot_quarantined and lot_released events.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "lot_quarantines",
        sa.Column("lot_id", sa.String(36), primary_key=True),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lot_quarantines")
