"""Recipients, administrations, known lots, outbox and inbox.

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
        "recipients",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_recipients_identity", "recipients", ["family_name", "given_name", "birth_date"]
    )
    op.create_table(
        "administrations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("recipient_id", sa.String(36), sa.ForeignKey("recipients.id"), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("lot_id", sa.String(36), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("lot_number", sa.String(50), nullable=False),
        sa.Column("dose_number", sa.Integer, nullable=False),
        sa.Column("administered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
    )
    op.create_index(
        "ix_administrations_recipient", "administrations", ["recipient_id", "administered_at"]
    )
    op.create_index(
        "ix_administrations_location", "administrations", ["location_id", "administered_at"]
    )
    op.create_table(
        "known_lots",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("lot_number", sa.String(50), nullable=False),
        sa.Column("expiration_date", sa.Date, nullable=False),
    )
    create_messaging_tables(op)


def downgrade() -> None:
    drop_messaging_tables(op)
    for table in ("known_lots", "administrations", "recipients"):
        op.drop_table(table)
