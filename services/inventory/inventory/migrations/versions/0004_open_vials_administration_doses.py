"""Open multi-dose vials (beyond-use time), the vial each dose was drawn from, and what
administration last said about each dose (voids and corrections).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("vial_id", sa.String(36)))
    op.create_table(
        "open_vials",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("lot_id", sa.String(36), sa.ForeignKey("lots.id"), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("doses_in_vial", sa.Integer, nullable=False),
        sa.Column("doses_left", sa.Integer, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beyond_use_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_reason", sa.String(20)),
        sa.CheckConstraint("doses_left >= 0", name="ck_open_vials_doses_left"),
    )
    op.create_index("ix_open_vials_lot", "open_vials", ["lot_id", "closed_at"])
    op.create_index("ix_open_vials_location", "open_vials", ["location_id", "closed_at"])
    op.create_index("ix_open_vials_open_until", "open_vials", ["closed_at", "beyond_use_at"])
    op.create_table(
        "administration_doses",
        sa.Column("administration_id", sa.String(36), primary_key=True),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("lot_id", sa.String(36), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("administered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided", sa.Boolean, nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    )
    # Voids and corrections find a dose's ledger entries by administration id.
    op.create_index("ix_ledger_reference", "ledger_entries", ["reference_id"])
    op.create_index("ix_discrepancies_administration", "discrepancies", ["administration_id"])


def downgrade() -> None:
    op.drop_index("ix_discrepancies_administration", table_name="discrepancies")
    op.drop_index("ix_ledger_reference", table_name="ledger_entries")
    op.drop_table("administration_doses")
    op.drop_index("ix_open_vials_open_until", table_name="open_vials")
    op.drop_index("ix_open_vials_location", table_name="open_vials")
    op.drop_index("ix_open_vials_lot", table_name="open_vials")
    op.drop_table("open_vials")
    op.drop_column("ledger_entries", "vial_id")
