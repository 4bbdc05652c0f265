"""A covering index for the inventory levels report.

The report sums a location's ledger entries before the end of a range, grouped by product. With
entries ordered by (location, product, recorded_at) and carrying what the sums read, PostgreSQL
answers one location's report with an index-only scan, already grouped, never reading the table.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_index(
        "ix_ledger_report",
        "ledger_entries",
        ["location_id", "product_id", "recorded_at"],
        # INCLUDE is PostgreSQL's (ignored elsewhere, where it is a plain index).
        postgresql_include=["lot_id", "reason", "wastage_reason", "delta"],
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_report", table_name="ledger_entries")
