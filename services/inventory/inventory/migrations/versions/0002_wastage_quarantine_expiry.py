"""Wastage reasons on ledger entries, lot status (quarantine), excursions, expiry notices.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # Plain ADD COLUMNs (no table rebuild on SQLite, where ledger rows reference lots).
    op.add_column("ledger_entries", sa.Column("wastage_reason", sa.String(30)))
    op.add_column(
        "lots", sa.Column("status", sa.String(20), nullable=False, server_default="usable")
    )
    op.add_column("lots", sa.Column("excursion_id", sa.String(36)))
    op.add_column("lots", sa.Column("quarantined_at", sa.DateTime(timezone=True)))
    op.add_column("lots", sa.Column("expiring_notified_at", sa.DateTime(timezone=True)))
    if op.get_bind().dialect.name != "sqlite":  # SQLite cannot add a constraint in place
        op.create_check_constraint("ck_lots_status", "lots", "status IN ('usable', 'quarantined')")
    op.create_index("ix_lots_location_storage_unit", "lots", ["location_id", "storage_unit"])
    op.create_index("ix_lots_expiration", "lots", ["expiration_date"])
    op.create_index("ix_ledger_lot_recorded", "ledger_entries", ["lot_id", "recorded_at"])
    op.create_table(
        "excursions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("storage_unit", sa.String(100), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("min_c", sa.Numeric(5, 1)),
        sa.Column("max_c", sa.Numeric(5, 1)),
        sa.Column("temperature_c", sa.Numeric(5, 1)),
        sa.Column("note", sa.Text),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_excursions_location_unit", "excursions", ["location_id", "storage_unit"])


def downgrade() -> None:
    op.drop_index("ix_excursions_location_unit", table_name="excursions")
    op.drop_table("excursions")
    op.drop_index("ix_ledger_lot_recorded", table_name="ledger_entries")
    op.drop_index("ix_lots_expiration", table_name="lots")
    op.drop_index("ix_lots_location_storage_unit", table_name="lots")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("ck_lots_status", "lots", type_="check")
    for column in ("expiring_notified_at", "quarantined_at", "excursion_id", "status"):
        op.drop_column("lots", column)
    op.drop_column("ledger_entries", "wastage_reason")
