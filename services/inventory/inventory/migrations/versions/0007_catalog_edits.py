"""Catalog editing by state admins: products can be made inactive, and an edited product is
marked so that seeding the catalog never overwrites the edit.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.add_column(
        "products",
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    op.add_column("products", sa.Column("edited_at", sa.DateTime(timezone=True)))
    op.add_column("products", sa.Column("edited_by", sa.String(100)))


def downgrade() -> None:
    for column in ("edited_by", "edited_at", "active"):
        op.drop_column("products", column)
