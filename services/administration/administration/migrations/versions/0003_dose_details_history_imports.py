"""How each dose was given (site, route, volume, who), its corrections and voids, and offline
imports with their per-row report.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

DOSE_COLUMNS = (
    ("site", sa.String(8)),
    ("route", sa.String(8)),
    ("dose_volume_ml", sa.Float),
    ("recorded_by_user_id", sa.String(36)),
    ("performer_name", sa.String(100)),
    ("import_id", sa.String(36)),
)


def upgrade() -> None:
    with op.batch_alter_table("administrations") as table:
        for name, type_ in DOSE_COLUMNS:
            table.add_column(sa.Column(name, type_, nullable=True))
        table.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="completed")
        )
    op.create_table(
        "administration_changes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "administration_id",
            sa.String(36),
            sa.ForeignKey("administrations.id"),
            nullable=False,
        ),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("changed_by_user_id", sa.String(36), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before", sa.JSON, nullable=False),
        sa.Column("after", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_administration_changes_dose",
        "administration_changes",
        ["administration_id", "changed_at"],
    )
    op.create_table(
        "administration_imports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "administration_import_rows",
        sa.Column(
            "import_id",
            sa.String(36),
            sa.ForeignKey("administration_imports.id"),
            primary_key=True,
        ),
        sa.Column("row_number", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("administration_id", sa.String(36), nullable=True),
        sa.Column("recipient_id", sa.String(36), nullable=True),
        sa.Column("errors", sa.JSON, nullable=True),
    )
    with op.batch_alter_table("products") as table:
        table.add_column(sa.Column("cap_color", sa.String(30), nullable=True))
    # The portal's claim check looks doses up by lot number and day.
    op.create_index("ix_administrations_lot_number", "administrations", ["lot_number"])


def downgrade() -> None:
    op.drop_index("ix_administrations_lot_number", "administrations")
    with op.batch_alter_table("products") as table:
        table.drop_column("cap_color")
    op.drop_table("administration_import_rows")
    op.drop_table("administration_imports")
    op.drop_index("ix_administration_changes_dose", "administration_changes")
    op.drop_table("administration_changes")
    with op.batch_alter_table("administrations") as table:
        for name in ("status", *(n for n, _ in reversed(DOSE_COLUMNS))):
            table.drop_column(name)
