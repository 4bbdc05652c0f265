"""Rows of imported Inventory Levels forms, so that importing a form twice records nothing
twice.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "form_rows",
        sa.Column("location_id", sa.String(64), primary_key=True),
        sa.Column("row_id", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("ledger_entry_ids", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(100)),
    )


def downgrade() -> None:
    op.drop_table("form_rows")
