"""The registration form's fields, overrides of clinical checks, and the products projection.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

RECIPIENT_COLUMNS = (
    ("sex", sa.String(1)),
    ("race", sa.String(16)),
    ("ethnicity", sa.String(16)),
    ("address_line1", sa.String(200)),
    ("address_line2", sa.String(200)),
    ("city", sa.String(100)),
    ("state", sa.String(2)),
    ("postal_code", sa.String(10)),
    ("phone", sa.String(32)),
    ("email", sa.String(254)),
)
CHANNELS = ("contact_email", "contact_sms", "contact_phone", "contact_mail")


def upgrade() -> None:
    with op.batch_alter_table("recipients") as table:
        for name, type_ in RECIPIENT_COLUMNS:
            table.add_column(sa.Column(name, type_, nullable=True))
        table.add_column(
            sa.Column("preferred_language", sa.String(2), nullable=False, server_default="en")
        )
        for name in CHANNELS:
            table.add_column(sa.Column(name, sa.Boolean, nullable=False, server_default=sa.false()))
    with op.batch_alter_table("administrations") as table:
        table.add_column(sa.Column("overridden_rules", sa.JSON, nullable=True))
        table.add_column(sa.Column("override_reason", sa.Text, nullable=True))
        table.add_column(sa.Column("flags", sa.JSON, nullable=True))
    op.create_table(
        "products",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("manufacturer", sa.String(200), nullable=False),
        sa.Column("mvx_code", sa.String(10), nullable=False),
        sa.Column("cvx_code", sa.String(10), nullable=False),
        sa.Column("dose_volume_ml", sa.Float, nullable=False),
        sa.Column("min_age_years", sa.Integer, nullable=False),
        sa.Column("series_doses", sa.Integer, nullable=False),
        sa.Column("min_interval_days", sa.Integer, nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("products")
    with op.batch_alter_table("administrations") as table:
        for name in ("flags", "override_reason", "overridden_rules"):
            table.drop_column(name)
    with op.batch_alter_table("recipients") as table:
        for name in (*CHANNELS, "preferred_language", *(n for n, _ in reversed(RECIPIENT_COLUMNS))):
            table.drop_column(name)
