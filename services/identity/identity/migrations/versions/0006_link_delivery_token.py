"""A one-time link's second token: the one the notifications service delivers

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("password_links") as batch:
        batch.add_column(sa.Column("delivery_token_hash", sa.String(length=64), nullable=True))
        batch.create_index("ix_password_links_delivery_token", ["delivery_token_hash"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("password_links") as batch:
        batch.drop_index("ix_password_links_delivery_token")
        batch.drop_column("delivery_token_hash")
